package context_test

import (
	"bytes"
	stdctx "context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
	"github.com/sluice-io/sluice/receivers"
)

// stopAfterBatches is a listener that stops the context from the listener
// bus once n batches have completed, and hands over what Stop returned.
type stopAfterBatches struct {
	context.NoopListener
	ssc       *context.StreamingContext
	n         int
	completed int
	stopErr   chan error
}

func (l *stopAfterBatches) OnBatchCompleted(context.BatchInfo) {
	if l.completed++; l.completed == l.n {
		l.stopErr <- l.ssc.Stop(true)
	}
}

// TestStopFromListenerIsRefused: Stop called from a listener returns
// ErrStopWithinListener at once and stops nothing, as Spark refuses it
// (SPARK-11761); it used to wait for the listener bus, which was waiting for
// the listener, for ever. In a synctest bubble that hang is a deadlock.
func TestStopFromListenerIsRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := dstreamtest.NewHarness(t, time.Second)
		ssc := h.Context()
		stopper := &stopAfterBatches{ssc: ssc, n: 2, stopErr: make(chan error, 1)}
		ssc.AddStreamingListener(stopper)
		out := dstreamtest.Collect(dstreamtest.Input(h, [][]int{{1}, {2}, {3}}))
		h.Start()
		h.Step()
		h.Step()
		err := <-stopper.stopErr
		require.ErrorIs(t, err, context.ErrStopWithinListener)
		require.EqualError(t, err, "context: Stop(true): Cannot stop StreamingContext within listener bus thread")
		require.Equal(t, context.Active, ssc.State(), "the refused Stop stopped nothing")
		h.Step()
		require.Equal(t, [][]int{{1}, {2}, {3}}, out.Batches())
		require.NoError(t, ssc.Stop(false), "from another goroutine Stop works")
		require.NoError(t, ssc.AwaitTermination())
	})
}

// idleReceiver stores nothing; it records that it was stopped.
type idleReceiver struct {
	mu      sync.Mutex
	stopped bool
}

func (*idleReceiver) OnStart(*receivers.Handle[int]) {}
func (r *idleReceiver) OnStop() {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
}

// syncBuffer is a bytes.Buffer safe for the logger's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestGracefulStopEndsWithReceiverStreamNoOutputReads: a receiver stream
// that no output operation reads from stays pending after a graceful stop
// (only its Compute would drain it), so the drain used to generate batches
// for ever. It now stops at the graceful stop timeout, 10 batch intervals
// of batch time by default (Spark's spark.streaming.gracefulStopTimeout),
// without the clock moving, and warns.
func TestGracefulStopEndsWithReceiverStreamNoOutputReads(t *testing.T) {
	clock := context.NewManualClock(time.Time{})
	logs := &syncBuffer{}
	logger := hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Warn})
	ssc, err := context.NewStreamingContext(time.Second, context.WithClock(clock), context.WithLogger(logger))
	require.NoError(t, err)
	recv := &idleReceiver{}
	context.ReceiverStream[int](ssc, recv, receivers.WithBlockTicks(make(chan time.Time))) // no output
	q := context.NewQueue[int]()
	q.PushSlice([]int{1}, 1)
	out := dstreamtest.Collect(context.QueueStream(ssc, q, true))
	submitted := &submittedCounter{submitted: make(chan time.Time, 64)}
	ssc.AddStreamingListener(submitted)
	require.NoError(t, ssc.Start())

	stopped := make(chan error, 1)
	go func() { stopped <- ssc.Stop(true) }()
	var times []int64
	for done := false; !done; {
		select {
		case err := <-stopped:
			require.NoError(t, err)
			done = true
		case bt := <-submitted.submitted:
			times = append(times, bt.UnixMilli())
			if len(times) > 10 {
				t.Fatalf("the graceful stop is still generating batches: %v", times)
			}
		}
	}
	for len(submitted.submitted) > 0 {
		times = append(times, (<-submitted.submitted).UnixMilli())
	}
	require.Equal(t, []int64{1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000}, times)
	require.Equal(t, [][]int{{1}, {}, {}, {}, {}, {}, {}, {}, {}, {}}, out.Batches())
	require.Equal(t, int64(0), clock.Now().UnixMilli(), "the clock did not move")
	require.Equal(t, context.Stopped, ssc.State())
	require.NoError(t, ssc.AwaitTermination())
	recv.mu.Lock()
	require.True(t, recv.stopped, "the receiver was stopped")
	recv.mu.Unlock()
	require.Contains(t, logs.String(), "graceful stop timed out")
}

// blockUntilCancelled registers an output whose first batch blocks until
// its context is cancelled; started is closed when it blocks, and the
// error it saw is sent on cancelled.
func blockUntilCancelled(h *dstreamtest.Harness) (started chan struct{}, cancelled chan error) {
	started, cancelled = make(chan struct{}), make(chan error, 1)
	dstreamtest.Input(h, [][]int{{1}}).ForeachRDD(func(ctx stdctx.Context, _ *rdd.RDD[int], t time.Time) error {
		if t.UnixMilli() != 1000 {
			return nil
		}
		close(started)
		<-ctx.Done()
		cancelled <- ctx.Err()
		return ctx.Err()
	})
	return started, cancelled
}

// TestStopFalseCutsGracefulStopShort: Stop(false) while a graceful stop
// waits for a batch cancels that batch, and both Stops return; Stop(false)
// used to wait for the graceful stop, for ever with a batch that only
// returns when cancelled. In a synctest bubble that hang is a deadlock.
func TestStopFalseCutsGracefulStopShort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := dstreamtest.NewHarness(t, time.Second)
		ssc := h.Context()
		started, cancelled := blockUntilCancelled(h)
		h.Start()
		h.Clock().Advance(time.Second)
		<-started
		graceful := make(chan error, 1)
		go func() { graceful <- ssc.Stop(true) }()
		<-context.StopRequested(ssc)
		require.NoError(t, ssc.Stop(false))
		require.ErrorIs(t, <-cancelled, stdctx.Canceled)
		require.NoError(t, <-graceful)
		require.Equal(t, context.Stopped, ssc.State())
		require.NoError(t, ssc.AwaitTermination(), "a requested stop is not a failure")
	})
}

// TestGracefulStopTimesOutOnTheClock: once the clock reaches the graceful
// stop timeout (WithGracefulStopTimeout) after a graceful stop began, the
// stop goes on as an ungraceful one: the batch still running is cancelled.
func TestGracefulStopTimesOutOnTheClock(t *testing.T) {
	_, err := context.NewStreamingContext(time.Second, context.WithGracefulStopTimeout(0))
	require.ErrorIs(t, err, context.ErrInvalidDuration)
	synctest.Test(t, func(t *testing.T) {
		h := dstreamtest.NewHarness(t, time.Second, context.WithGracefulStopTimeout(3*time.Second))
		ssc := h.Context()
		started, cancelled := blockUntilCancelled(h)
		h.Start()
		h.Clock().Advance(time.Second)
		<-started
		graceful := make(chan error, 1)
		go func() { graceful <- ssc.Stop(true) }()
		<-context.StopRequested(ssc)
		h.Clock().Advance(3*time.Second - time.Millisecond)
		synctest.Wait()
		select {
		case err := <-cancelled:
			t.Fatalf("the batch was cancelled before the timeout: %v", err)
		default:
		}
		h.Clock().Advance(time.Millisecond)
		require.ErrorIs(t, <-cancelled, stdctx.Canceled)
		require.NoError(t, <-graceful)
		require.Equal(t, context.Stopped, ssc.State())
	})
}

// A batch that fails while a graceful stop drains the inputs stops the
// context as it would have without the stop: the batches after it do not
// run, AwaitTermination returns its error, and with a checkpoint a restart
// runs it again. (The drain went on past it, and its input was lost.)
func TestBatchFailingDuringGracefulStopStopsTheContext(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	var ran []int
	failOn2 := true
	setup := func(ssc *context.StreamingContext) error {
		q := context.NewQueue[int]()
		for i := 1; i <= 3; i++ {
			q.PushSlice([]int{i}, 1)
		}
		context.QueueStream(ssc, q, true).ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[int], _ time.Time) error {
			xs, err := r.Collect(ctx)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			if len(xs) == 1 && xs[0] == 2 && failOn2 {
				return errors.New("boom on 2")
			}
			ran = append(ran, xs...)
			return nil
		})
		return nil
	}
	ssc, err := context.GetOrCreate(dir, setup, time.Second, context.WithClock(context.NewManualClock(time.UnixMilli(0))))
	require.NoError(t, err)
	require.NoError(t, ssc.Start())
	require.NoError(t, ssc.Stop(true)) // drains the queue without the clock
	require.ErrorContains(t, ssc.AwaitTermination(), "boom on 2")
	mu.Lock()
	require.Equal(t, []int{1}, ran, "no batch after the failed one")
	failOn2 = false
	mu.Unlock()

	ssc, err = context.GetOrCreate(dir, setup, time.Second, context.WithClock(context.NewManualClock(time.UnixMilli(5000))))
	require.NoError(t, err)
	require.NoError(t, ssc.Start())
	require.NoError(t, ssc.Stop(true))
	require.NoError(t, ssc.AwaitTermination())
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []int{1, 2, 3}, ran, "the failed batch and those after it run after the restart")
}
