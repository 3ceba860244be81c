package kafka_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
	"github.com/sluice-io/sluice/receivers/kafka"
)

// BenchmarkDirectStreamVsPlainConsumer reads the same records from kfake
// (three brokers, six partitions) twice per iteration: through a direct
// stream to a count (one batch, one task per partition), and with one plain
// kgo consumer polling them all. It reports records/s both ways and their
// ratio.
func BenchmarkDirectStreamVsPlainConsumer(b *testing.B) {
	const partitions, perPartition = 6, 50_000
	const total = partitions * perPartition
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(partitions, "bench"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("bench"),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()), kgo.ProducerLinger(0))
	if err != nil {
		b.Fatal(err)
	}
	value := make([]byte, 100)
	recs := make([]*kgo.Record, 0, 10_000)
	for i := range total {
		recs = append(recs, &kgo.Record{Key: fmt.Appendf(nil, "%d", i), Value: value})
		if len(recs) == cap(recs) {
			if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	cl.Close()

	var direct, plain time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if n := countDirect(b, c); n != total {
			b.Fatalf("direct stream counted %d, want %d", n, total)
		}
		direct += time.Since(start)
		start = time.Now()
		if n := countPlain(b, c, total); n != total {
			b.Fatalf("plain consumer counted %d, want %d", n, total)
		}
		plain += time.Since(start)
	}
	b.StopTimer()
	directRate := float64(total*b.N) / direct.Seconds()
	plainRate := float64(total*b.N) / plain.Seconds()
	b.ReportMetric(directRate, "direct-records/s")
	b.ReportMetric(plainRate, "kgo-records/s")
	b.ReportMetric(directRate/plainRate, "direct/kgo")
	b.ReportMetric(0, "ns/op")
}

func countDirect(b *testing.B, c *kfake.Cluster) int64 {
	h := dstreamtest.NewHarness(b, time.Second)
	ds, err := kafka.NewDirectStream(h.Context(), c.ListenAddrs(), kafka.Subscribe([]string{"bench"}, nil),
		kafka.BytesDecoder, kafka.BytesDecoder, kafka.WithStartFromEarliest())
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	ds.Stream().ForeachRDD(func(ctx context.Context, r *rdd.RDD[kafka.Record[[]byte, []byte]], _ time.Time) error {
		var err error
		n, err = r.Count(ctx)
		return err
	})
	h.Start()
	if err := h.Step().Err(); err != nil {
		b.Fatal(err)
	}
	h.Stop()
	return n
}

func countPlain(b *testing.B, c *kfake.Cluster, total int64) int64 {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("bench"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	var n int64
	for n < total {
		fs := cl.PollFetches(context.Background())
		if err := fs.Err(); err != nil {
			b.Fatal(err)
		}
		n += int64(fs.NumRecords())
	}
	return n
}
