package context_test

import (
	stdctx "context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
	"github.com/sluice-io/sluice/receivers"
)

// listReceiver stores its records once, reliably, and says when they are
// safely held.
type listReceiver struct {
	records []int
	stored  chan struct{}
}

func (r *listReceiver) OnStart(h *receivers.Handle[int]) {
	h.Go(func(stdctx.Context) {
		if len(r.records) > 0 {
			if err := h.StoreMany(r.records); err != nil {
				h.ReportError("store", err)
				return
			}
		}
		close(r.stored)
	})
}

func (r *listReceiver) OnStop() {}

// walRun runs one program life on dir: a receiver stream with the
// write-ahead log whose output fails when fail is set.
func walRun(t *testing.T, dir string, records []int, fail bool, steps int) ([]int, error) {
	h := dstreamtest.NewHarness(t, time.Second, context.WithWriteAheadLog())
	require.NoError(t, h.Context().Checkpoint(dir))
	rcv := &listReceiver{records: records, stored: make(chan struct{})}
	var got []int
	context.ReceiverStream[int](h.Context(), rcv).ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[int], _ time.Time) error {
		xs, err := r.Collect(ctx)
		if err != nil {
			return err
		}
		if fail && len(xs) > 0 {
			return errors.New("the sink is down")
		}
		got = append(got, xs...)
		return nil
	})
	h.Start()
	<-rcv.stored
	var err error
	for range steps {
		var b context.BatchInfo
		if b, err = h.TryStep(); err == nil {
			err = b.Err()
		}
		if err != nil {
			break
		}
	}
	h.Stop()
	slices.Sort(got)
	return got, err
}

func TestWriteAheadLogReplaysBatchesThatNeverCompleted(t *testing.T) {
	dir := t.TempDir()
	// First life: the records are logged, allocated to batch 1, and the
	// batch fails, which stops the program before the batch completes.
	got, err := walRun(t, dir, []int{1, 2, 3, 4, 5}, true, 1)
	require.Error(t, err)
	require.Empty(t, got)
	// Second life: the receiver has nothing new; the log gives back the
	// blocks of the batch that never completed, once.
	got, err = walRun(t, dir, nil, false, 3)
	require.NoError(t, err)
	require.Equal(t, []int{1, 2, 3, 4, 5}, got)
	// Third life: they were processed; nothing comes back.
	got, err = walRun(t, dir, []int{6}, false, 2)
	require.NoError(t, err)
	require.Equal(t, []int{6}, got)
}

func TestWriteAheadLogNeedsCheckpointDirectory(t *testing.T) {
	ssc, err := context.NewStreamingContext(time.Second, context.WithWriteAheadLog())
	require.NoError(t, err)
	context.ReceiverStream[int](ssc, &listReceiver{stored: make(chan struct{})}).ForeachRDD(
		func(stdctx.Context, *rdd.RDD[int], time.Time) error { return nil })
	require.ErrorContains(t, ssc.Start(), "needs a checkpoint directory")
}

// handleReceiver hands its Handle over and stores nothing by itself.
type handleReceiver struct{ handles chan *receivers.Handle[int] }

func (r *handleReceiver) OnStart(h *receivers.Handle[int]) { r.handles <- h }
func (r *handleReceiver) OnStop()                          {}

// TestReceiverStreamOldTimeTakesNoBlocks: computing a receiver stream at a
// batch time already past (an RDD forgotten and asked for again, as a
// window recomputing batches before a recovery point does) gets what was
// allocated to that time, nothing, not the blocks received since, which
// belong to the next batch (Spark reads a batch's allocated blocks; it
// does not allocate for an old time).
func TestReceiverStreamOldTimeTakesNoBlocks(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	rcv := &handleReceiver{handles: make(chan *receivers.Handle[int], 1)}
	in := context.ReceiverStream[int](h.Context(), rcv)
	out := dstreamtest.Collect(in)
	h.Start()
	handle := <-rcv.handles
	for range 3 {
		h.Step()
	}
	require.NoError(t, handle.StoreMany([]int{7}))
	old, err := in.GetOrCompute(time.UnixMilli(1000))
	require.NoError(t, err)
	xs, err := old.Collect(stdctx.Background())
	require.NoError(t, err)
	require.Empty(t, xs, "batch 1 s, computed again, took the new block")
	h.Step()
	require.Equal(t, [][]int{{}, {}, {}, {7}}, out.Batches())
}
