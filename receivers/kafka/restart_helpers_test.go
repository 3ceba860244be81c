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

// batchAt is the batch time s seconds after the epoch.
func batchAt(s int) time.Time { return time.UnixMilli(int64(s) * 1000).UTC() }

// life is one run of a program built by GetOrCreate on dir, on a manual
// clock reading now at the start, with the context options opts.
type life struct {
	ssc   *streaming.StreamingContext
	clock *streaming.ManualClock
	done  chan streaming.BatchInfo
}

func startLife(t *testing.T, dir string, now time.Duration, setup func(*streaming.StreamingContext) error, opts ...streaming.Option) *life {
	t.Helper()
	l := &life{clock: streaming.NewManualClock(time.UnixMilli(now.Milliseconds())), done: make(chan streaming.BatchInfo, 64)}
	ssc, err := streaming.GetOrCreate(dir, setup, time.Second, append([]streaming.Option{streaming.WithClock(l.clock)}, opts...)...)
	require.NoError(t, err)
	l.ssc = ssc
	ssc.AddStreamingListener(&completedBatches{ch: l.done})
	require.NoError(t, ssc.Start())
	t.Cleanup(func() { _ = ssc.Stop(false) })
	return l
}

// waitFor waits until batch bt has completed, failing on a failed batch.
func (l *life) waitFor(t *testing.T, bt time.Time) {
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

// countPerPartition adds to ds a running count of records per partition,
// data-checkpointed every 4 batches: a stream whose restart re-runs the
// batches after its last data checkpoint. It returns the count stream.
func countPerPartition(ds *kafka.DirectStream[string, string]) dstream.DStream[rdd.Pair[int32, int]] {
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
	return counts
}
