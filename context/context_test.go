package context_test

import (
	stdctx "context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func noop[T any](stdctx.Context, *rdd.RDD[T], time.Time) error { return nil }

func TestInvalidDurations(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second} {
		_, err := context.NewStreamingContext(d)
		require.ErrorIs(t, err, context.ErrInvalidDuration, "batch interval %v", d)
	}
	ssc, err := context.NewStreamingContext(time.Second, context.WithClock(context.NewManualClock(time.Time{})))
	require.NoError(t, err)
	for _, d := range []time.Duration{0, -time.Second} {
		require.ErrorIs(t, ssc.Remember(d), context.ErrInvalidDuration, "remember %v", d)
	}
	require.NoError(t, ssc.Remember(5*time.Second))
	_, err = context.NewStreamingContext(time.Second, context.WithWorkers(-1))
	require.Error(t, err)
}

func TestStates(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	ssc := h.Context()
	require.Equal(t, context.Initialized, ssc.State())
	require.Equal(t, "INITIALIZED", ssc.State().String())
	dstreamtest.Input(h, [][]int{{1}}).ForeachRDD(noop[int])
	h.Start()
	require.Equal(t, context.Active, ssc.State())
	require.Equal(t, "ACTIVE", ssc.State().String())
	require.NoError(t, ssc.Start(), "starting an active context again does nothing")
	require.ErrorIs(t, ssc.Remember(time.Second), context.ErrNotInitialized)
	require.ErrorContains(t, ssc.Checkpoint(t.TempDir()), "the context is ACTIVE")
	h.Step()
	require.NoError(t, ssc.Stop(false))
	require.Equal(t, context.Stopped, ssc.State())
	require.Equal(t, "STOPPED", ssc.State().String())
	require.EqualError(t, ssc.Remember(time.Second), "context: Remember: only allowed before the StreamingContext starts: the context is STOPPED")
}

func TestStartWithNoOutput(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	dstream.Map(dstreamtest.Input(h, [][]int{{1}}), func(x int) int { return x })
	err := h.Context().Start()
	require.ErrorIs(t, err, dstream.ErrNoOutputs)
	require.EqualError(t, err, "No output operations registered, so nothing to execute")
	// Unlike Spark, a refused Start leaves the context usable: nothing ran.
	require.Equal(t, context.Initialized, h.Context().State())
}

// The default logger writes to stderr, as Spark does: a stream added after
// Start, refused with an error only the graph kept, and the other problems
// reported without failing a batch were discarded by the default logger.
func TestDefaultLoggerIsNotSilent(t *testing.T) {
	ssc, err := context.NewStreamingContext(time.Second)
	require.NoError(t, err)
	require.True(t, ssc.Logger().IsWarn(), "warnings logged")
	require.True(t, ssc.Logger().IsError(), "errors logged")
	require.NoError(t, ssc.Stop(false))
	require.Equal(t, "State(7)", context.State(7).String())
}

func TestAddStreamAfterStart(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	in := dstreamtest.Input(h, [][]int{{1}, {2}})
	out := dstreamtest.Collect(in)
	h.Start()
	var ran atomic.Bool
	late := dstream.Map(in, func(x int) int { ran.Store(true); return x })
	late.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[int], _ time.Time) error {
		ran.Store(true)
		_, err := r.Collect(ctx)
		return err
	})
	err := h.Context().Graph().Err()
	require.ErrorIs(t, err, dstream.ErrStarted)
	require.ErrorContains(t, err, "Map")
	require.ErrorContains(t, err, "ForeachRDD")
	h.Step()
	h.Step()
	require.False(t, ran.Load(), "a stream added after start never runs")
	require.Equal(t, [][]int{{1}, {2}}, out.Batches())
}

func TestStopBeforeStart(t *testing.T) {
	ssc, err := context.NewStreamingContext(time.Second)
	require.NoError(t, err)
	q := context.NewQueue[int]()
	context.QueueStream(ssc, q, true).ForeachRDD(noop[int])
	require.NoError(t, ssc.Stop(false))
	require.Equal(t, context.Stopped, ssc.State())
	require.NoError(t, ssc.AwaitTermination())
	require.NoError(t, ssc.Stop(true), "stopping again is a no-op")
	require.ErrorIs(t, ssc.Start(), context.ErrStopped)
}

func TestStopTwiceAndConcurrently(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	dstreamtest.Input(h, [][]int{{1}}).ForeachRDD(noop[int])
	h.Start()
	h.Step()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { require.NoError(t, h.Context().Stop(i%2 == 0)) })
	}
	wg.Wait()
	require.NoError(t, h.Context().Stop(false))
	require.Equal(t, context.Stopped, h.Context().State())
	require.NoError(t, h.Context().AwaitTermination())
}

func TestStartAfterStop(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	dstreamtest.Input(h, [][]int{{1}}).ForeachRDD(noop[int])
	h.Start()
	require.NoError(t, h.Context().Stop(false))
	err := h.Context().Start()
	require.ErrorIs(t, err, context.ErrStopped)
	require.EqualError(t, err, "StreamingContext has already been stopped")
}

// TestGracefulStopDrainsQueue: a graceful stop runs a batch for every RDD
// still queued, without the clock moving.
func TestGracefulStopDrainsQueue(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	q := context.NewQueue[int]()
	for i := range 5 {
		q.PushSlice([]int{i, 10 * i}, 2)
	}
	out := dstreamtest.Collect(context.QueueStream(h.Context(), q, true))
	h.Start()
	require.NoError(t, h.Context().Stop(true))
	require.Equal(t, [][]int{{0, 0}, {1, 10}, {2, 20}, {3, 30}, {4, 40}}, out.Batches())
	require.Zero(t, q.Len())
	require.Equal(t, int64(5), q.Taken())
	require.Equal(t, int64(0), h.Clock().Now().UnixMilli(), "the clock did not move")
}

type submittedCounter struct {
	context.NoopListener
	submitted chan time.Time
}

func (l *submittedCounter) OnBatchSubmitted(b context.BatchInfo) { l.submitted <- b.BatchTime }

// TestGracefulStopFinishesGeneratedBatches: batches already generated when a
// graceful stop begins all run to completion, uncancelled.
func TestGracefulStopFinishesGeneratedBatches(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	ssc := h.Context()
	counter := &submittedCounter{submitted: make(chan time.Time, 16)}
	ssc.AddStreamingListener(counter)
	started, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var done []int64
	dstreamtest.Input(h, [][]int{{1}, {2}, {3}}).ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[int], t time.Time) error {
		if t.UnixMilli() == 1000 {
			close(started)
			<-release
		}
		if _, err := r.Collect(ctx); err != nil {
			return err
		}
		mu.Lock()
		done = append(done, t.UnixMilli())
		mu.Unlock()
		return nil
	})
	h.Start()
	h.Clock().Advance(3 * time.Second) // generates batches 1 s, 2 s and 3 s
	<-started
	for range 3 {
		<-counter.submitted
	}
	stopped := make(chan error)
	go func() { stopped <- ssc.Stop(true) }()
	<-context.StopRequested(ssc)
	close(release)
	require.NoError(t, <-stopped)
	require.NoError(t, ssc.AwaitTermination())
	require.Equal(t, []int64{1000, 2000, 3000}, done)
}

// TestStopCancelsRunningBatch: Stop(false) cancels the running job's
// context and returns without waiting for the job to finish on its own.
func TestStopCancelsRunningBatch(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	ssc := h.Context()
	started := make(chan struct{})
	var jobErr error
	dstreamtest.Input(h, [][]int{{1, 2, 3, 4}}).ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[int], _ time.Time) error {
		close(started)
		<-ctx.Done()
		jobErr = ctx.Err()
		return jobErr
	})
	h.Start()
	h.Clock().Advance(time.Second)
	<-started
	begin := time.Now()
	require.NoError(t, ssc.Stop(false))
	require.Less(t, time.Since(begin), 5*time.Second)
	require.ErrorIs(t, jobErr, stdctx.Canceled)
	require.NoError(t, ssc.AwaitTermination(), "a requested stop is not a failure")
}

// TestAwaitTerminationReturnsBatchError: a panic in a user function fails
// the batch and stops the context; AwaitTermination returns the error,
// which names the batch time, the operation and the record.
func TestAwaitTerminationReturnsBatchError(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	in := dstreamtest.Input(h, [][]int{{1, 2}, {3}})
	out := dstreamtest.Collect(dstream.Map(in, func(x int) int {
		if x == 3 {
			panic("boom")
		}
		return x
	}))
	h.Start()
	h.Step()
	_, _ = h.TryStep()
	err := h.Context().AwaitTermination()
	require.ErrorIs(t, err, rdd.ErrUserPanic)
	require.ErrorContains(t, err, "2000 ms")
	require.ErrorContains(t, err, "Map")
	require.ErrorContains(t, err, "record 3: user function panicked: boom")
	require.Equal(t, context.Stopped, h.Context().State())
	require.Equal(t, [][]int{{1, 2}}, out.Batches())
	stopped, err2 := h.Context().AwaitTerminationOrTimeout(time.Hour)
	require.True(t, stopped)
	require.Equal(t, err, err2)
}

// TestGenerationPanicStopsContext: a panicking Transform fails while the
// batch's jobs are generated; the error names the stream and the batch.
func TestGenerationPanicStopsContext(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	in := dstreamtest.Input(h, [][]int{{1}})
	dstreamtest.Collect(dstream.Transform(in, func(*rdd.RDD[int]) *rdd.RDD[int] { panic("bad transform") }))
	h.Start()
	b, _ := h.TryStep()
	err := h.Context().AwaitTermination()
	require.ErrorIs(t, err, dstream.ErrUserPanic)
	require.ErrorContains(t, err, "Transform")
	require.ErrorContains(t, err, "1000 ms")
	if !b.BatchTime.IsZero() {
		require.ErrorIs(t, b.Err(), dstream.ErrUserPanic, "BatchInfo reports a generation failure")
	}
}

func TestContinueOnBatchFailure(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second, context.WithContinueOnBatchFailure())
	in := dstreamtest.Input(h, [][]int{{1}, {2}, {3}})
	out := dstreamtest.Collect(dstream.Map(in, func(x int) int {
		if x == 2 {
			panic("boom")
		}
		return x
	}))
	h.Start()
	require.NoError(t, h.Step().Err())
	b := h.Step()
	require.ErrorIs(t, b.Err(), rdd.ErrUserPanic)
	require.ErrorContains(t, b.Err(), "2000 ms")
	require.NoError(t, h.Step().Err())
	require.Equal(t, context.Active, h.Context().State())
	h.Stop()
	require.NoError(t, h.Context().AwaitTermination())
	require.Equal(t, [][]int{{1}, {3}}, out.Batches())
}

func TestAwaitTerminationOrTimeout(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	dstreamtest.Input(h, [][]int{{1}}).ForeachRDD(noop[int])
	h.Start()
	stopped, err := h.Context().AwaitTerminationOrTimeout(time.Millisecond)
	require.False(t, stopped)
	require.NoError(t, err)
	h.Stop()
	stopped, err = h.Context().AwaitTerminationOrTimeout(time.Millisecond)
	require.True(t, stopped)
	require.NoError(t, err)
}

// TestRefusedStartLeavesGraphUsable: a Start refused by the graph's checks
// (a stateful stream without a checkpoint directory) leaves the graph as
// before: once the directory is set, streams and outputs may still be
// added, and the next Start runs them all.
func TestRefusedStartLeavesGraphUsable(t *testing.T) {
	dir := t.TempDir() // before the harness: removed after it stopped writing
	h := dstreamtest.NewHarness(t, time.Second)
	ssc := h.Context()
	in := dstreamtest.Input(h, [][]int{{1, 2}, {3}})
	pairs := dstream.Map(in, func(x int) rdd.Pair[int, int] { return rdd.KV(x%2, x) })
	counts := dstream.UpdateStateByKey(pairs, func(vs []int, s rdd.Option[int]) rdd.Option[int] {
		return rdd.Some(s.Value + len(vs))
	})
	states := dstreamtest.Collect(counts)
	require.Error(t, ssc.Start(), "no checkpoint directory")
	require.Equal(t, context.Initialized, ssc.State())
	require.NoError(t, ssc.Checkpoint(dir))
	raw := dstreamtest.Collect(in) // added after the refused Start
	require.NoError(t, ssc.Graph().Err())
	h.Start()
	h.Step()
	h.Step()
	require.Equal(t, [][]int{{1, 2}, {3}}, raw.Batches())
	require.Len(t, states.Batches(), 2)
}

// TestAwaitTerminationOrTimeoutOnStoppedContext: a stopped context reports
// it is stopped, also with a timeout of 0 (both cases of a select were
// ready and Go picked one at random) or a negative one (which waits, as in
// Spark).
func TestAwaitTerminationOrTimeoutOnStoppedContext(t *testing.T) {
	ssc, err := context.NewStreamingContext(time.Second, context.WithClock(context.NewManualClock(time.Time{})))
	require.NoError(t, err)
	require.NoError(t, ssc.Stop(false))
	for range 100 {
		stopped, err := ssc.AwaitTerminationOrTimeout(0)
		require.True(t, stopped)
		require.NoError(t, err)
	}
	stopped, _ := ssc.AwaitTerminationOrTimeout(-1)
	require.True(t, stopped)
}
