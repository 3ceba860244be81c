package kafka_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	streaming "github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
	"github.com/sluice-io/sluice/receivers/kafka"
)

// TestRerunBatchesReadTheirRangesAgain crashes a stateful pipeline with
// data checkpoints every 4 batches after batch 6 and restarts it after
// more records arrived: the batches re-run, 5 and 6, must read exactly
// the ranges they read before the crash, and batch 7 the rest. (They were
// given new ranges from the partitions' end offsets at the restart: batch
// 5 read everything, batch 6 nothing, so an output already written for
// them no longer matched.)
func TestRerunBatchesReadTheirRangesAgain(t *testing.T) {
	c := newCluster(t, 2, "t")
	dir := t.TempDir()
	parts := []int32{0, 1}
	at := batchAt
	var col *collector[string, string] // the collector of the life that runs
	start := func(now time.Duration) *life {
		t.Helper()
		col = newCollector[string, string]()
		return startLife(t, dir, now, func(ssc *streaming.StreamingContext) error {
			ds, err := kafka.NewDirectStream(ssc, c.ListenAddrs(), kafka.Subscribe([]string{"t"}, nil),
				kafka.StringDecoder, kafka.StringDecoder, kafka.WithStartFromEarliest())
			if err != nil {
				return err
			}
			col.attach(ds)
			countPerPartition(ds)
			return nil
		})
	}

	first := start(0)
	for i := 1; i <= 6; i++ {
		produce(t, c, "t", parts, 10*i, i) // batch i reads i records per partition
		first.clock.Advance(time.Second)
		first.waitFor(t, at(i))
	}
	require.NoError(t, first.ssc.AwaitCheckpoint(context.Background(), at(6)))
	var before [7][]kafka.OffsetRange
	var beforeRecs [7][]kafka.Record[string, string]
	for i := 1; i <= 6; i++ {
		beforeRecs[i], before[i] = col.batch(at(i))
		require.Len(t, beforeRecs[i], 2*i, "batch %d", i)
	}
	require.NoError(t, first.ssc.Stop(false)) // a crash: the last data checkpoint is that of 4 s
	produce(t, c, "t", parts, 100, 7)

	second := start(6 * time.Second) // re-runs 5 and 6
	second.waitFor(t, at(6))
	for _, i := range []int{5, 6} {
		recs, ranges := col.batch(at(i))
		require.Equal(t, before[i], ranges, "re-run batch %d must read the ranges it read before the crash", i)
		require.Equal(t, values(beforeRecs[i]), values(recs), "re-run batch %d", i)
	}
	second.clock.Advance(time.Second)
	second.waitFor(t, at(7))
	recs, ranges := col.batch(at(7))
	var want []kafka.OffsetRange
	for _, o := range before[6] {
		want = append(want, kafka.OffsetRange{Topic: o.Topic, Partition: o.Partition, FromOffset: o.UntilOffset, UntilOffset: o.UntilOffset + 7})
	}
	require.Equal(t, want, ranges, "batch 7 reads what arrived since batch 6")
	require.Len(t, recs, 14)
	require.NoError(t, second.ssc.Stop(false))
}

func values(recs []kafka.Record[string, string]) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Value
	}
	return out
}

// FuzzRestoreGenerated feeds RestoreGenerated arbitrary bytes: it either
// refuses them with ErrInvalidPosition or accepts them, never panics.
func FuzzRestoreGenerated(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("junk"))
	f.Add([]byte{0x82, 0xa1, 'v', 0x01, 0xa1, 'b', 0x91, 0x82, 0xa1, 't', 0x01, 0xa1, 'r', 0x90})
	ssc, err := streaming.NewStreamingContext(time.Second)
	require.NoError(f, err)
	ds, err := kafka.NewDirectStream(ssc, []string{"localhost:1"}, kafka.Subscribe([]string{"t"}, nil),
		kafka.StringDecoder, kafka.StringDecoder)
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := ds.RestoreGenerated(b); err != nil {
			require.ErrorIs(t, err, kafka.ErrInvalidPosition)
		}
	})
}

// TestTopicRecreatedWhileDown: a program restarted from its checkpoint
// after its topic was deleted and created again, with more records than
// the old one had (so no offset is out of range), fails its first batch
// with ErrLogTruncated instead of reading the new topic at the old
// offsets: the checkpoint holds the topic's ID with the position (a batch
// after the last data checkpoint) and with the ranges of the batches it
// re-runs. Subscribe and Assign alike.
func TestTopicRecreatedWhileDown(t *testing.T) {
	for _, tc := range []struct {
		name    string
		batches int    // run before the crash; data checkpoints every 4
		want    string // in the error of the first batch after the restart
	}{
		{"re-run", 1, "the batch, re-run after the restart, read offsets [0, 3) of the old topic"},
		{"after a data checkpoint", 4, "the stream was at offset 3, the new log ends at offset 8"},
	} {
		for name, strategy := range map[string]kafka.ConsumerStrategy{
			"subscribe": kafka.Subscribe([]string{"t"}, nil),
			"assign":    kafka.Assign([]kafka.TopicPartition{{Topic: "t", Partition: 0}}, nil),
		} {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				c := newCluster(t, 1, "t")
				dir := t.TempDir()
				start := func(now time.Duration) *life {
					return startLife(t, dir, now, func(ssc *streaming.StreamingContext) error {
						ds, err := kafka.NewDirectStream(ssc, c.ListenAddrs(), strategy,
							kafka.StringDecoder, kafka.StringDecoder, kafka.WithStartFromEarliest())
						if err != nil {
							return err
						}
						countPerPartition(ds)
						return nil
					})
				}
				first := start(0)
				produce(t, c, "t", []int32{0}, 0, 3)
				for i := 1; i <= tc.batches; i++ {
					first.clock.Advance(time.Second)
					first.waitFor(t, batchAt(i))
				}
				require.NoError(t, first.ssc.AwaitCheckpoint(context.Background(), batchAt(tc.batches)))
				require.NoError(t, first.ssc.Stop(false))

				admin := adminClient(t, c)
				_, err := admin.DeleteTopic(context.Background(), "t")
				require.NoError(t, err)
				_, err = admin.CreateTopic(context.Background(), 1, 1, nil, "t")
				require.NoError(t, err)
				produce(t, c, "t", []int32{0}, 100, 8)

				second := start(time.Duration(tc.batches) * time.Second)
				second.clock.Advance(time.Second)
				b := <-second.done
				require.ErrorIs(t, b.Err(), kafka.ErrLogTruncated)
				require.ErrorContains(t, b.Err(), "topic recreated")
				require.ErrorContains(t, b.Err(), tc.want)
			})
		}
	}
}

// TestStartOffsetPastTheEnd: with no topic ID to compare (an offset given
// by the user), a start offset past the partition's end fails the batch
// with ErrLogTruncated, rather than waiting for the log to grow there and
// skipping the records before.
func TestStartOffsetPastTheEnd(t *testing.T) {
	c := newCluster(t, 1, "t")
	produce(t, c, "t", []int32{0}, 0, 5)
	h := dstreamtest.NewHarness(t, time.Second, streaming.WithContinueOnBatchFailure())
	tp := kafka.TopicPartition{Topic: "t", Partition: 0}
	newStream(t, h, c, kafka.Assign([]kafka.TopicPartition{tp}, map[kafka.TopicPartition]int64{tp: 100}))
	h.Start()
	b := h.Step()
	require.ErrorIs(t, b.Err(), kafka.ErrLogTruncated)
	require.ErrorContains(t, b.Err(), "start offset 100 is after the end offset 5")
}

// TestWindowAfterRestartTakesNoNewRanges: after a restart, a window without
// an inverse recomputes the stream at batch times up to the recovery
// point; those get no new ranges, so the records that arrived while the
// program was down go to the next batch, and the running count misses
// none of them.
func TestWindowAfterRestartTakesNoNewRanges(t *testing.T) {
	c := newCluster(t, 1, "t")
	dir := t.TempDir()
	var mu sync.Mutex
	counts := map[int64]int{} // by batch time (ms): the running count
	start := func(now time.Duration) *life {
		return startLife(t, dir, now, func(ssc *streaming.StreamingContext) error {
			ds, err := kafka.NewDirectStream(ssc, c.ListenAddrs(), kafka.Subscribe([]string{"t"}, nil),
				kafka.StringDecoder, kafka.StringDecoder, kafka.WithStartFromEarliest())
			if err != nil {
				return err
			}
			countPerPartition(ds).ForeachRDD(func(ctx context.Context, r *rdd.RDD[rdd.Pair[int32, int]], bt time.Time) error {
				xs, err := r.Collect(ctx)
				if err == nil && len(xs) == 1 {
					mu.Lock()
					counts[bt.UnixMilli()] = xs[0].Value
					mu.Unlock()
				}
				return err
			})
			ds.Stream().Window(2*time.Second, time.Second).ForeachRDD(func(ctx context.Context, r *rdd.RDD[kafka.Record[string, string]], _ time.Time) error {
				_, err := r.Count(ctx)
				return err
			})
			return nil
		})
	}
	first := start(0)
	for i := 1; i <= 5; i++ {
		produce(t, c, "t", []int32{0}, 10*i, 1)
		first.clock.Advance(time.Second)
		first.waitFor(t, batchAt(i))
	}
	require.NoError(t, first.ssc.AwaitCheckpoint(context.Background(), batchAt(5)))
	require.NoError(t, first.ssc.Stop(false)) // the recovery point is the data checkpoint of 4 s
	produce(t, c, "t", []int32{0}, 100, 7)

	second := start(5 * time.Second) // re-runs 5
	second.waitFor(t, batchAt(5))
	second.clock.Advance(time.Second)
	second.waitFor(t, batchAt(6))
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 5, counts[5000], "batch 5, re-run")
	require.Equal(t, 12, counts[6000], "the 7 records produced while down, in batch 6")
}
