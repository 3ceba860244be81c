package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	streaming "github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/rdd"
	"github.com/sluice-io/sluice/receivers/kafka"
)

// completedBatches sends each completed batch's info.
type completedBatches struct {
	streaming.NoopListener
	ch chan streaming.BatchInfo
}

func (c *completedBatches) OnBatchCompleted(b streaming.BatchInfo) { c.ch <- b }

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
	at := func(s int) time.Time { return time.UnixMilli(int64(s) * 1000).UTC() }

	type life struct {
		ssc   *streaming.StreamingContext
		clock *streaming.ManualClock
		col   *collector[string, string]
		done  chan streaming.BatchInfo
	}
	start := func(now time.Duration) *life {
		t.Helper()
		l := &life{clock: streaming.NewManualClock(time.UnixMilli(now.Milliseconds())),
			col: newCollector[string, string](), done: make(chan streaming.BatchInfo, 64)}
		ssc, err := streaming.GetOrCreate(dir, func(ssc *streaming.StreamingContext) error {
			ds, err := kafka.NewDirectStream(ssc, c.ListenAddrs(), kafka.Subscribe([]string{"t"}, nil),
				kafka.StringDecoder, kafka.StringDecoder, kafka.WithStartFromEarliest())
			if err != nil {
				return err
			}
			l.col.attach(ds)
			pairs := dstream.Map(ds.Stream(), func(r kafka.Record[string, string]) rdd.Pair[int32, int] {
				return rdd.KV(r.Partition, 1)
			})
			counts := dstream.UpdateStateByKey(pairs, func(vs []int, s rdd.Option[int]) rdd.Option[int] {
				return rdd.Some(s.Value + len(vs))
			}, dstream.WithName("counts"))
			counts.Checkpoint(4 * time.Second)
			counts.ForeachRDD(func(ctx context.Context, r *rdd.RDD[rdd.Pair[int32, int]], _ time.Time) error {
				_, err := r.Collect(ctx)
				return err
			})
			return nil
		}, time.Second, streaming.WithClock(l.clock))
		require.NoError(t, err)
		l.ssc = ssc
		ssc.AddStreamingListener(&completedBatches{ch: l.done})
		require.NoError(t, ssc.Start())
		t.Cleanup(func() { _ = ssc.Stop(false) })
		return l
	}
	waitFor := func(l *life, bt time.Time) {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case b := <-l.done:
				require.NoError(t, b.Err(), "batch %s", dstream.FormatTime(b.BatchTime))
				if !b.BatchTime.Before(bt) {
					return
				}
			case <-timeout:
				t.Fatalf("batch %s did not complete", dstream.FormatTime(bt))
			}
		}
	}

	first := start(0)
	for i := 1; i <= 6; i++ {
		produce(t, c, "t", parts, 10*i, i) // batch i reads i records per partition
		first.clock.Advance(time.Second)
		waitFor(first, at(i))
	}
	require.NoError(t, first.ssc.AwaitCheckpoint(context.Background(), at(6)))
	var before [7][]kafka.OffsetRange
	var beforeRecs [7][]kafka.Record[string, string]
	for i := 1; i <= 6; i++ {
		beforeRecs[i], before[i] = first.col.batch(at(i))
		require.Len(t, beforeRecs[i], 2*i, "batch %d", i)
	}
	require.NoError(t, first.ssc.Stop(false)) // a crash: the last data checkpoint is that of 4 s
	produce(t, c, "t", parts, 100, 7)

	second := start(6 * time.Second) // re-runs 5 and 6
	waitFor(second, at(6))
	for _, i := range []int{5, 6} {
		recs, ranges := second.col.batch(at(i))
		require.Equal(t, before[i], ranges, "re-run batch %d must read the ranges it read before the crash", i)
		require.Equal(t, values(beforeRecs[i]), values(recs), "re-run batch %d", i)
	}
	second.clock.Advance(time.Second)
	waitFor(second, at(7))
	recs, ranges := second.col.batch(at(7))
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
