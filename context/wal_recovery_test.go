package context_test

import (
	stdctx "context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/rdd"
	"github.com/sluice-io/sluice/receivers"
)

// feedReceiver stores each slice sent on feed as one block, reliably, and
// acknowledges it on stored.
type feedReceiver struct {
	feed   chan []int
	stored chan struct{}
}

func newFeedReceiver() *feedReceiver {
	return &feedReceiver{feed: make(chan []int), stored: make(chan struct{})}
}

func (r *feedReceiver) OnStart(h *receivers.Handle[int]) {
	h.Go(func(ctx stdctx.Context) {
		for {
			select {
			case xs := <-r.feed:
				if err := h.StoreMany(xs); err != nil {
					h.ReportError("store", err)
					return
				}
				r.stored <- struct{}{}
			case <-ctx.Done():
				return
			}
		}
	})
}

func (r *feedReceiver) OnStop() {}

// walCounts is a running count over a receiver stream with the write-ahead
// log, data checkpoints every 4 batches; a run of it (life) starts at at,
// from dir's checkpoint if any, and steps through feed, a block a batch.
// block, when it returns true for a batch time, holds that batch's output
// until the context stops.
type walCounts struct {
	t     *testing.T
	block func(time.Time) bool
}

var walBatches = [][]int{{1, 2}, {2, 3}, {3, 4, 5}, {1}, {2, 2}, {5, 6}, {1, 6}}

func (w walCounts) life(dir string, at time.Duration, feed [][]int, steps int) (*results, *context.StreamingContext, *context.ManualClock) {
	t := w.t
	out := newResults()
	rcv := newFeedReceiver()
	setup := func(ssc *context.StreamingContext) error {
		in := context.ReceiverStream[int](ssc, rcv)
		pairs := dstream.Map(in, func(x int) rdd.Pair[int, int] { return rdd.KV(x, 1) })
		counts := dstream.UpdateStateByKey(pairs, func(vs []int, s rdd.Option[int]) rdd.Option[int] {
			return rdd.Some(s.Value + len(vs))
		})
		counts.Checkpoint(4 * time.Second)
		collectInto(out, "counts", counts)
		if w.block != nil {
			counts.ForeachRDD(func(ctx stdctx.Context, _ *rdd.RDD[rdd.Pair[int, int]], t time.Time) error {
				if w.block(t) {
					<-ctx.Done()
					return ctx.Err()
				}
				return nil
			})
		}
		return nil
	}
	clock := context.NewManualClock(time.UnixMilli(at.Milliseconds()))
	ssc, err := context.GetOrCreate(dir, setup, time.Second, context.WithClock(clock), context.WithWriteAheadLog())
	require.NoError(t, err)
	r := &run{t: t, ssc: ssc, clock: clock, done: make(chan context.BatchInfo, 1024)}
	ssc.AddStreamingListener(&completions{ch: r.done})
	require.NoError(t, ssc.Start())
	t.Cleanup(func() { _ = ssc.Stop(false) })
	for i := range steps {
		if i < len(feed) {
			rcv.feed <- feed[i]
			<-rcv.stored
		}
		clock.Advance(time.Second)
		r.waitFor(clock.Now())
	}
	return out, ssc, clock
}

// TestWriteAheadLogRecoveryRerunsBatchesWithTheirBlocks crashes a running
// count over a receiver stream with the write-ahead log after the batches
// following its last data checkpoint completed, and restarts it: the
// batches re-run after the recovery point get the blocks they had, so the
// counts come out as in a run without the crash. (Marking a batch
// processed as soon as it completed dropped those blocks: the re-run
// batches were empty and the state lost their records.)
func TestWriteAheadLogRecoveryRerunsBatchesWithTheirBlocks(t *testing.T) {
	batches, life := walBatches, walCounts{t: t}.life
	want, ssc, _ := life(t.TempDir(), 0, batches, len(batches))
	require.NoError(t, ssc.Stop(false))

	// The crash: the data checkpoint of batch 4 s is the recovery point;
	// batches 5 s to 7 s completed and their metadata is durable, but
	// nothing more is written (Stop(false) writes no final checkpoint).
	dir := t.TempDir()
	_, ssc, _ = life(dir, 0, batches, len(batches))
	require.NoError(t, ssc.AwaitCheckpoint(stdctx.Background(), time.UnixMilli(7000)))
	require.NoError(t, ssc.Stop(false))

	// The restart re-runs 5 s to 7 s from the state as of 4 s.
	got, _, _ := life(dir, 7*time.Second, nil, 0)
	require.Eventually(t, func() bool { return len(got.snapshot()) == 3 }, 30*time.Second, 10*time.Millisecond)
	wantSnap := want.snapshot()
	for _, bt := range []int64{5000, 6000, 7000} {
		key := fmt.Sprintf("counts@%d", bt)
		require.Equal(t, wantSnap[key], got.snapshot()[key], key)
	}
}
