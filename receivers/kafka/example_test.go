package kafka_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	streaming "github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/rdd"
	"github.com/sluice-io/sluice/receivers/kafka"
)

// A word count over a Kafka topic, on an in-process kfake cluster and a
// manual clock: each batch prints its offset ranges and counts.
func ExampleNewDirectStream() {
	c, _ := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(1, "wc"))
	defer c.Close()
	producer, _ := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("wc"))
	producer.ProduceSync(context.Background(), &kgo.Record{Value: []byte("to be or not to be")})
	producer.Close()

	clock := streaming.NewManualClock(time.Time{})
	ssc, _ := streaming.NewStreamingContext(time.Second, streaming.WithClock(clock))
	ds, err := kafka.NewDirectStream(ssc, c.ListenAddrs(), kafka.Subscribe([]string{"wc"}, nil),
		kafka.BytesDecoder, kafka.StringDecoder, kafka.WithStartFromEarliest())
	if err != nil {
		fmt.Println(err)
		return
	}
	done := make(chan struct{})
	ds.Stream().ForeachRDD(func(ctx context.Context, r *rdd.RDD[kafka.Record[[]byte, string]], _ time.Time) error {
		ranges, _ := kafka.OffsetRangesOf(r)
		fmt.Println(ranges)
		lines := rdd.Map(r, func(rec kafka.Record[[]byte, string]) string { return rec.Value })
		words := rdd.FlatMapSeq(lines, strings.FieldsSeq)
		counts, err := rdd.CountByValue(ctx, words)
		fmt.Println(counts["to"], counts["be"], counts["or"])
		close(done)
		return err
	})
	ssc.Start()
	clock.Advance(time.Second)
	<-done
	ssc.Stop(false)
	// Output:
	// [wc[0] [0, 1)]
	// 2 2 1
}
