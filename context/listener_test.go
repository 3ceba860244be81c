package context_test

import (
	stdctx "context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
)

// recorder records every event as a line, and the BatchInfo of each batch
// event.
type recorder struct {
	mu        sync.Mutex
	events    []string
	completed []context.BatchInfo
	ops       []context.OutputOperationInfo
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	r.events = append(r.events, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *recorder) OnStreamingStarted(t time.Time) { r.add("started %d", t.UnixMilli()) }
func (r *recorder) OnBatchSubmitted(b context.BatchInfo) {
	r.add("submitted %d records=%d outputs=%d", b.BatchTime.UnixMilli(), b.NumRecords(), len(b.OutputOperations))
}
func (r *recorder) OnBatchStarted(b context.BatchInfo) {
	started := 0
	for _, o := range b.OutputOperations {
		if !o.StartTime.IsZero() {
			started++
		}
	}
	r.add("batch started %d outputs=%d started=%d", b.BatchTime.UnixMilli(), len(b.OutputOperations), started)
}
func (r *recorder) OnBatchCompleted(b context.BatchInfo) {
	r.add("batch completed %d outputs=%d", b.BatchTime.UnixMilli(), len(b.OutputOperations))
	r.mu.Lock()
	r.completed = append(r.completed, b)
	r.mu.Unlock()
}
func (r *recorder) OnOutputOperationStarted(o context.OutputOperationInfo) {
	r.add("op started %d #%d %s", o.BatchTime.UnixMilli(), o.ID, o.Name)
}
func (r *recorder) OnOutputOperationCompleted(o context.OutputOperationInfo) {
	r.add("op completed %d #%d %s failed=%v", o.BatchTime.UnixMilli(), o.ID, o.Name, o.Err != nil)
	r.mu.Lock()
	r.ops = append(r.ops, o)
	r.mu.Unlock()
}
func (r *recorder) OnReceiverStarted(context.ReceiverInfo) {}
func (r *recorder) OnReceiverError(context.ReceiverInfo)   {}
func (r *recorder) OnReceiverStopped(context.ReceiverInfo) {}

var errSink = errors.New("sink unavailable")

func TestListenerEvents(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second, context.WithContinueOnBatchFailure())
	ssc := h.Context()
	rec := &recorder{}
	ssc.AddStreamingListener(rec)
	a := dstreamtest.Input(h, [][]string{{"x", "y", "z"}, {}})
	b := dstreamtest.Input(h, [][]string{{"p", "q"}, {"r"}})
	a.Union(b).ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[string], t time.Time) error {
		// The batch takes 250 ms on the manual clock.
		if t.UnixMilli() == 2000 {
			h.Clock().Advance(250 * time.Millisecond)
		}
		_, err := r.Count(ctx)
		return err
	})
	b.ForeachRDD(func(_ stdctx.Context, _ *rdd.RDD[string], t time.Time) error {
		if t.UnixMilli() == 1000 {
			return errSink
		}
		return nil
	})
	h.Start()
	first := h.Step()
	second := h.Step()
	h.Stop()

	// Events arrive in order.
	require.Equal(t, []string{
		"started 0",
		"submitted 1000 records=5 outputs=2",
		"batch started 1000 outputs=2 started=0",
		"op started 1000 #0 ForeachRDD",
		"op completed 1000 #0 ForeachRDD failed=false",
		"op started 1000 #1 ForeachRDD",
		"op completed 1000 #1 ForeachRDD failed=true",
		"batch completed 1000 outputs=2",
		"submitted 2000 records=1 outputs=2",
		"batch started 2000 outputs=2 started=0",
		"op started 2000 #0 ForeachRDD",
		"op completed 2000 #0 ForeachRDD failed=false",
		"op started 2000 #1 ForeachRDD",
		"op completed 2000 #1 ForeachRDD failed=false",
		"batch completed 2000 outputs=2",
	}, rec.events)

	// Records per input stream, from PushSlice.
	require.Equal(t, map[int]int64{a.ID(): 3, b.ID(): 2}, first.InputRecords)
	require.Equal(t, int64(5), first.NumRecords())
	require.Equal(t, map[int]int64{a.ID(): 0, b.ID(): 1}, second.InputRecords)

	// Times and delays on the manual clock: the first batch took no time,
	// the second 250 ms of processing.
	t1, t2 := time.UnixMilli(1000).UTC(), time.UnixMilli(2000).UTC()
	require.Equal(t, t1, first.BatchTime)
	require.Equal(t, t1, first.SubmissionTime)
	require.Equal(t, t1, first.ProcessingStartTime)
	require.Equal(t, t1, first.ProcessingEndTime)
	require.Zero(t, first.SchedulingDelay())
	require.Zero(t, first.ProcessingDelay())
	require.Equal(t, t2, second.SubmissionTime)
	require.Equal(t, t2, second.ProcessingStartTime)
	require.Equal(t, t2.Add(250*time.Millisecond), second.ProcessingEndTime)
	require.Equal(t, time.Duration(0), second.SchedulingDelay())
	require.Equal(t, 250*time.Millisecond, second.ProcessingDelay())
	require.Equal(t, 250*time.Millisecond, second.TotalDelay())

	// Output operation infos, with the failure.
	require.Len(t, first.OutputOperations, 2)
	ok, failed := first.OutputOperations[0], first.OutputOperations[1]
	require.Equal(t, context.OutputOperationInfo{BatchTime: t1, ID: 0, Name: "ForeachRDD", StartTime: t1, EndTime: t1}, ok)
	require.Equal(t, 1, failed.ID)
	require.ErrorIs(t, failed.Err, errSink)
	require.ErrorContains(t, failed.Err, "output operation 1 (ForeachRDD) at batch 1000 ms")
	require.ErrorIs(t, first.Err(), errSink)
	require.NoError(t, second.Err())
	require.Equal(t, 250*time.Millisecond, second.OutputOperations[0].Duration())
	require.Len(t, rec.completed, 2)
	require.Equal(t, first, rec.completed[0])
}

type panickingListener struct{ context.NoopListener }

func (panickingListener) OnBatchStarted(context.BatchInfo)   { panic("listener bug") }
func (panickingListener) OnBatchCompleted(context.BatchInfo) { panic("listener bug") }

// TestPanickingListener: a listener that panics neither breaks the context
// nor keeps the other listeners from their events.
func TestPanickingListener(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	h.Context().AddStreamingListener(panickingListener{})
	rec := &recorder{}
	h.Context().AddStreamingListener(rec)
	out := dstreamtest.Collect(dstreamtest.Input(h, [][]int{{1}, {2}}))
	h.Start()
	h.Step()
	h.Step()
	h.Stop()
	require.NoError(t, h.Context().AwaitTermination())
	require.Equal(t, [][]int{{1}, {2}}, out.Batches())
	require.Len(t, rec.completed, 2)
}

func TestRemoveStreamingListener(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	rec := &recorder{}
	h.Context().AddStreamingListener(rec)
	dstreamtest.Collect(dstreamtest.Input(h, [][]int{{1}, {2}}))
	h.Start()
	h.Step()
	h.Context().RemoveStreamingListener(rec)
	h.Step()
	h.Stop()
	require.Len(t, rec.completed, 1)
}

var errWindowSink = errors.New("window sink unavailable")

// TestBatchErrFindsFailureOfOutputAfterOutputsNotDue: outputs 0 and 1 are
// on a window sliding every two batches, so at odd batches only output 2
// runs and the IDs that ran are not 0..n-1; Err must still report its
// failure (else the write-ahead log and Kafka take the batch as processed).
// When several outputs fail, Err reports the lowest output ID's failure.
func TestBatchErrFindsFailureOfOutputAfterOutputsNotDue(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second, context.WithContinueOnBatchFailure())
	in := dstreamtest.Input(h, [][]int{{1}, {2}, {3}, {4}})
	win := in.Window(2*time.Second, 2*time.Second)
	// Outputs 0 and 1 run at 2 s and 4 s; output 1 fails at 4 s.
	dstreamtest.Collect(win)
	win.ForeachRDD(func(_ stdctx.Context, _ *rdd.RDD[int], t time.Time) error {
		if t.UnixMilli() == 4000 {
			return errWindowSink
		}
		return nil
	})
	// Output 2 runs at every batch and fails at odd ones and at 4 s.
	in.ForeachRDD(func(_ stdctx.Context, _ *rdd.RDD[int], t time.Time) error {
		if t.UnixMilli()/1000%2 == 1 || t.UnixMilli() == 4000 {
			return errSink
		}
		return nil
	})
	h.Start()
	for i := 1; i <= 4; i++ {
		b := h.Step()
		switch i {
		case 1, 3:
			require.Equal(t, []int{2}, slices.Sorted(maps.Keys(b.OutputOperations)), "batch %d", i)
			require.ErrorIs(t, b.Err(), errSink, "batch %d", i)
		case 2:
			require.Len(t, b.OutputOperations, 3)
			require.NoError(t, b.Err())
		case 4:
			for range 20 { // the map's order varies from call to call
				require.ErrorIs(t, b.Err(), errWindowSink)
			}
		}
	}
}
