package kafka_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/sluice-io/sluice/rdd"
	"github.com/sluice-io/sluice/receivers/kafka"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newCluster starts a kfake cluster of three brokers with the given topics,
// each of partitions partitions, closed when the test ends.
func newCluster(tb testing.TB, partitions int32, topics ...string) *kfake.Cluster {
	tb.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

// produce writes n records "topic/partition/i" to each given partition
// (value), keyed by i.
func produce(tb testing.TB, c *kfake.Cluster, topic string, partitions []int32, from, n int) {
	tb.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		tb.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for _, p := range partitions {
		for i := from; i < from+n; i++ {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Key: []byte(fmt.Sprint(i)),
				Value: []byte(fmt.Sprintf("%s/%d/%d", topic, p, i)), Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("v")}}})
		}
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		tb.Fatal(err)
	}
}

// collector keeps what each batch of a direct stream read.
type collector[K, V any] struct {
	mu      sync.Mutex
	records map[time.Time][]kafka.Record[K, V]
	ranges  map[time.Time][]kafka.OffsetRange
}

func newCollector[K, V any]() *collector[K, V] {
	return &collector[K, V]{records: map[time.Time][]kafka.Record[K, V]{}, ranges: map[time.Time][]kafka.OffsetRange{}}
}

func (c *collector[K, V]) attach(ds *kafka.DirectStream[K, V]) {
	ds.Stream().ForeachRDD(func(ctx context.Context, r *rdd.RDD[kafka.Record[K, V]], t time.Time) error {
		ranges, ok := kafka.OffsetRangesOf(r)
		if !ok {
			return fmt.Errorf("no offset ranges on the batch's RDD")
		}
		recs, err := r.Collect(ctx)
		if err != nil {
			return err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.records[t] = recs
		c.ranges[t] = ranges
		return nil
	})
}

func (c *collector[K, V]) batch(t time.Time) ([]kafka.Record[K, V], []kafka.OffsetRange) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.records[t], c.ranges[t]
}

// readCommitted returns the values of every committed record of topic, read
// with read_committed up to the last stable offset of each partition.
func readCommitted(tb testing.TB, c *kfake.Cluster, topic string) []string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	lso, err := kadm.NewClient(admin).ListCommittedOffsets(ctx, topic)
	if err != nil {
		tb.Fatal(err)
	}
	want := map[int32]int64{}
	lso.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		tb.Fatal(err)
	}
	defer cl.Close()
	var values []string
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			tb.Fatalf("reading %s: %v (still waiting for %v)", topic, ctx.Err(), want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if end, ok := want[r.Partition]; ok && r.Offset < end {
				if !r.Attrs.IsControl() {
					values = append(values, string(r.Value))
				}
				if r.Offset >= end-1 {
					delete(want, r.Partition)
				}
			}
		})
	}
	return values
}

type rddT = rdd.RDD[kafka.Record[string, string]]
