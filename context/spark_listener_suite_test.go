package context_test

// Ports of cases of Spark's StreamingListenerSuite
// (streaming/src/test/scala/org/apache/spark/streaming/StreamingListenerSuite.scala).
//
// Spark's cases run on the system clock (100 ms batches, actuallyWait) and
// wait with eventually(...); these run on the dstreamtest manual-clock
// harness and wait for events through channels with a real-time deadline.
// Spark's Option-valued delays (None before the batch starts or ends) are
// read here from the zero ProcessingStartTime / ProcessingEndTime, and
// Spark's failureReason (Option[String]) from OutputOperationInfo.Err.
//
// Not ported: "registering listeners via spark.streaming.listeners" (the
// library has no configuration-by-class-name; listeners are added with
// AddStreamingListener only).

import (
	stdctx "context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
	"github.com/sluice-io/sluice/receivers"
)

// slsDeadline bounds, in real time, every wait of these tests.
const slsDeadline = 30 * time.Second

// slsWait polls cond until it holds or the deadline passes.
func slsWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(slsDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// slsBatchInfoCollector is Spark's BatchInfoCollector, also recording every
// event as a line, in the order delivered.
type slsBatchInfoCollector struct {
	mu               sync.Mutex
	streamingStarted []time.Time
	submitted        []context.BatchInfo
	started          []context.BatchInfo
	completed        []context.BatchInfo
	opsStarted       []context.OutputOperationInfo
	opsCompleted     []context.OutputOperationInfo
	events           []string
}

func (c *slsBatchInfoCollector) log(format string, args ...any) {
	c.events = append(c.events, fmt.Sprintf(format, args...))
}

func (c *slsBatchInfoCollector) OnStreamingStarted(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.streamingStarted = append(c.streamingStarted, t)
	c.log("streaming started")
}

func (c *slsBatchInfoCollector) OnBatchSubmitted(b context.BatchInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.submitted = append(c.submitted, b)
	c.log("submitted %d", b.BatchTime.UnixMilli())
}

func (c *slsBatchInfoCollector) OnBatchStarted(b context.BatchInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.started = append(c.started, b)
	c.log("started %d", b.BatchTime.UnixMilli())
}

func (c *slsBatchInfoCollector) OnBatchCompleted(b context.BatchInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.completed = append(c.completed, b)
	c.log("completed %d", b.BatchTime.UnixMilli())
}

func (c *slsBatchInfoCollector) OnOutputOperationStarted(o context.OutputOperationInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.opsStarted = append(c.opsStarted, o)
	c.log("op started %d #%d", o.BatchTime.UnixMilli(), o.ID)
}

func (c *slsBatchInfoCollector) OnOutputOperationCompleted(o context.OutputOperationInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.opsCompleted = append(c.opsCompleted, o)
	c.log("op completed %d #%d", o.BatchTime.UnixMilli(), o.ID)
}

func (c *slsBatchInfoCollector) OnReceiverStarted(context.ReceiverInfo) {}
func (c *slsBatchInfoCollector) OnReceiverError(context.ReceiverInfo)   {}
func (c *slsBatchInfoCollector) OnReceiverStopped(context.ReceiverInfo) {}

func (c *slsBatchInfoCollector) snapshot() slsBatchInfoCollector {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slsBatchInfoCollector{
		streamingStarted: slices.Clone(c.streamingStarted),
		submitted:        slices.Clone(c.submitted),
		started:          slices.Clone(c.started),
		completed:        slices.Clone(c.completed),
		opsStarted:       slices.Clone(c.opsStarted),
		opsCompleted:     slices.Clone(c.opsCompleted),
		events:           slices.Clone(c.events),
	}
}

// slsIncreasing is Spark's isInIncreasingOrder (non-decreasing).
func slsIncreasing(ts []time.Time) bool {
	for i := 1; i < len(ts); i++ {
		if ts[i-1].After(ts[i]) {
			return false
		}
	}
	return true
}

func slsTimes(bs []context.BatchInfo, f func(context.BatchInfo) time.Time) []time.Time {
	out := make([]time.Time, len(bs))
	for i, b := range bs {
		out[i] = f(b)
	}
	return out
}

// test("batch info reporting")
func TestSparkListenerSuite_BatchInfoReporting(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	collector := &slsBatchInfoCollector{}
	h.Context().AddStreamingListener(collector)
	input := [][]int{{1}, {2}, {3}, {4}} // (1 to 4).map(Seq(_))
	in := dstreamtest.Input(h, input)
	require.Equal(t, 0, in.ID())
	out := dstreamtest.Collect(dstream.Map(in, func(x int) int { return x }))
	// A second output takes 100 ms of the manual clock at the last batch, so
	// that one batch has a positive processing delay (Spark's batches take
	// real time); Step keys batches by time, so only the last may advance.
	in.ForeachRDD(func(_ stdctx.Context, _ *rdd.RDD[int], bt time.Time) error {
		if bt.UnixMilli() == 4000 {
			h.Clock().Advance(100 * time.Millisecond)
		}
		return nil
	})
	h.Start()
	for range input {
		require.NoError(t, h.Step().Err())
	}
	h.Stop()
	require.Equal(t, input, out.Batches())
	c := collector.snapshot()

	// SPARK-6766: batch info should be submitted.
	require.Len(t, c.submitted, 4)
	for _, info := range c.submitted {
		require.True(t, info.ProcessingStartTime.IsZero(), "schedulingDelay None")
		require.True(t, info.ProcessingEndTime.IsZero(), "processingDelay and totalDelay None")
		require.Zero(t, info.SchedulingDelay())
		require.Zero(t, info.ProcessingDelay())
		require.Zero(t, info.TotalDelay())
		require.Equal(t, int64(1), info.NumRecords())
		require.Equal(t, map[int]int64{0: 1}, info.InputRecords)
		// The operations to run, none started.
		require.Len(t, info.OutputOperations, 2)
		for id, o := range info.OutputOperations {
			require.Equal(t, id, o.ID)
			require.Equal(t, "ForeachRDD", o.Name)
			require.Equal(t, info.BatchTime, o.BatchTime)
			require.True(t, o.StartTime.IsZero())
			require.True(t, o.EndTime.IsZero())
			require.NoError(t, o.Err)
		}
	}
	require.True(t, slsIncreasing(slsTimes(c.submitted, func(b context.BatchInfo) time.Time { return b.SubmissionTime })))

	// SPARK-6766: processingStartTime should be set when starting.
	require.Len(t, c.started, 4)
	for _, info := range c.started {
		require.False(t, info.ProcessingStartTime.IsZero(), "schedulingDelay not None")
		require.GreaterOrEqual(t, info.SchedulingDelay(), time.Duration(0))
		require.True(t, info.ProcessingEndTime.IsZero(), "processingDelay and totalDelay None")
		require.Zero(t, info.ProcessingDelay())
		require.Zero(t, info.TotalDelay())
		require.Equal(t, int64(1), info.NumRecords())
		require.Equal(t, map[int]int64{0: 1}, info.InputRecords)
	}
	require.True(t, slsIncreasing(slsTimes(c.started, func(b context.BatchInfo) time.Time { return b.SubmissionTime })))
	require.True(t, slsIncreasing(slsTimes(c.started, func(b context.BatchInfo) time.Time { return b.ProcessingStartTime })))

	// onBatchCompleted.
	require.Len(t, c.completed, 4)
	for i, info := range c.completed {
		require.False(t, info.ProcessingStartTime.IsZero())
		require.False(t, info.ProcessingEndTime.IsZero())
		require.GreaterOrEqual(t, info.SchedulingDelay(), time.Duration(0))
		require.GreaterOrEqual(t, info.ProcessingDelay(), time.Duration(0))
		require.GreaterOrEqual(t, info.TotalDelay(), time.Duration(0))
		require.Equal(t, info.SchedulingDelay()+info.ProcessingDelay(), info.TotalDelay())
		require.Equal(t, int64(1), info.NumRecords())
		require.Equal(t, map[int]int64{0: 1}, info.InputRecords)
		require.NoError(t, info.Err())
		bt := time.UnixMilli(int64(i+1) * 1000).UTC()
		require.Equal(t, bt, info.BatchTime)
		// Every output operation ran, within the batch's processing.
		require.Len(t, info.OutputOperations, 2)
		for id, o := range info.OutputOperations {
			require.Equal(t, id, o.ID)
			require.Equal(t, "ForeachRDD", o.Name)
			require.Equal(t, bt, o.BatchTime)
			require.False(t, o.StartTime.IsZero())
			require.False(t, o.EndTime.IsZero())
			require.False(t, o.StartTime.Before(info.ProcessingStartTime))
			require.False(t, o.EndTime.After(info.ProcessingEndTime))
			require.GreaterOrEqual(t, o.Duration(), time.Duration(0))
			require.NoError(t, o.Err)
		}
		require.False(t, info.OutputOperations[1].StartTime.Before(info.OutputOperations[0].EndTime), "outputs run in order")
	}
	last := c.completed[3]
	require.Equal(t, 100*time.Millisecond, last.ProcessingDelay())
	require.Equal(t, 100*time.Millisecond, last.OutputOperations[1].Duration())
	require.True(t, slsIncreasing(slsTimes(c.completed, func(b context.BatchInfo) time.Time { return b.SubmissionTime })))
	require.True(t, slsIncreasing(slsTimes(c.completed, func(b context.BatchInfo) time.Time { return b.ProcessingStartTime })))
	require.True(t, slsIncreasing(slsTimes(c.completed, func(b context.BatchInfo) time.Time { return b.ProcessingEndTime })))

	// The events of each batch come in order, the batches one after another:
	// a batch completes only once its whole job set has (every output
	// operation's completed event comes before the batch's).
	var want []string
	want = append(want, "streaming started")
	for i := 1; i <= 4; i++ {
		ms := i * 1000
		want = append(want, fmt.Sprintf("submitted %d", ms), fmt.Sprintf("started %d", ms),
			fmt.Sprintf("op started %d #0", ms), fmt.Sprintf("op completed %d #0", ms),
			fmt.Sprintf("op started %d #1", ms), fmt.Sprintf("op completed %d #1", ms),
			fmt.Sprintf("completed %d", ms))
	}
	require.Equal(t, want, c.events)
	require.Len(t, c.opsStarted, 8)
	require.Len(t, c.opsCompleted, 8)
	for i, o := range c.opsCompleted {
		require.Equal(t, c.completed[i/2].OutputOperations[o.ID], o, "completed op event matches the batch's info")
	}
}

// slsReceiver is Spark's StreamingListenerSuiteReceiver: it reports an error,
// then stops itself (with a message, no error).
type slsReceiver struct{}

func (slsReceiver) OnStart(h *receivers.Handle[any]) {
	h.Go(func(stdctx.Context) {
		h.ReportError("test report error", errors.New("test report exception"))
		h.Stop("test stop error", nil)
	})
}

func (slsReceiver) OnStop() {}

// slsReceiverInfoCollector is Spark's ReceiverInfoCollector.
type slsReceiverInfoCollector struct {
	context.NoopListener
	mu      sync.Mutex
	started []int
	stopped []int
	errors  []context.ReceiverInfo
}

func (c *slsReceiverInfoCollector) OnReceiverStarted(i context.ReceiverInfo) {
	c.mu.Lock()
	c.started = append(c.started, i.StreamID)
	c.mu.Unlock()
}

func (c *slsReceiverInfoCollector) OnReceiverStopped(i context.ReceiverInfo) {
	c.mu.Lock()
	c.stopped = append(c.stopped, i.StreamID)
	c.mu.Unlock()
}

func (c *slsReceiverInfoCollector) OnReceiverError(i context.ReceiverInfo) {
	c.mu.Lock()
	c.errors = append(c.errors, i)
	c.mu.Unlock()
}

// test("receiver info reporting")
func TestSparkListenerSuite_ReceiverInfoReporting(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	ssc := h.Context()
	inputStream := context.ReceiverStream[any](ssc, slsReceiver{})
	inputStream.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[any], _ time.Time) error {
		_, err := r.Count(ctx)
		return err
	})
	collector := &slsReceiverInfoCollector{}
	ssc.AddStreamingListener(collector)
	h.Start()
	slsWait(t, "the receiver's stopped event", func() bool {
		collector.mu.Lock()
		defer collector.mu.Unlock()
		return len(collector.stopped) > 0
	})
	collector.mu.Lock()
	started, stopped, errs := slices.Clone(collector.started), slices.Clone(collector.stopped), slices.Clone(collector.errors)
	collector.mu.Unlock()
	h.Stop()

	require.Equal(t, []int{0}, started)
	require.Equal(t, []int{0}, stopped)
	require.Len(t, errs, 1)
	require.Equal(t, 0, errs[0].StreamID)
	require.Contains(t, errs[0].LastErrorMessage, "report error")
	require.ErrorContains(t, errs[0].LastError, "report exception")
}

// slsOutputOperationInfoCollector is Spark's OutputOperationInfoCollector,
// keeping the whole infos.
type slsOutputOperationInfoCollector struct {
	context.NoopListener
	mu        sync.Mutex
	started   []context.OutputOperationInfo
	completed []context.OutputOperationInfo
	batches   chan context.BatchInfo
}

func (c *slsOutputOperationInfoCollector) OnOutputOperationStarted(o context.OutputOperationInfo) {
	c.mu.Lock()
	c.started = append(c.started, o)
	c.mu.Unlock()
}

func (c *slsOutputOperationInfoCollector) OnOutputOperationCompleted(o context.OutputOperationInfo) {
	c.mu.Lock()
	c.completed = append(c.completed, o)
	c.mu.Unlock()
}

func (c *slsOutputOperationInfoCollector) OnBatchCompleted(b context.BatchInfo) {
	select {
	case c.batches <- b:
	default:
	}
}

func (c *slsOutputOperationInfoCollector) ids() (started, completed []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, o := range c.started {
		started = append(started, o.ID)
	}
	for _, o := range c.completed {
		completed = append(completed, o.ID)
	}
	return started, completed
}

// test("output operation reporting")
func TestSparkListenerSuite_OutputOperationReporting(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	ssc := h.Context()
	inputStream := context.ReceiverStream[any](ssc, slsReceiver{})
	inputStream.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[any], _ time.Time) error {
		_, err := r.Count(ctx)
		return err
	})
	inputStream.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[any], _ time.Time) error {
		_, err := r.Collect(ctx)
		return err
	})
	inputStream.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[any], _ time.Time) error {
		_, err := r.Count(ctx)
		return err
	})
	collector := &slsOutputOperationInfoCollector{batches: make(chan context.BatchInfo, 1)}
	ssc.AddStreamingListener(collector)
	h.Start()
	require.NoError(t, h.Step().Err())
	b := <-collector.batches // the collector's own completion: its op events came before
	h.Stop()

	started, completed := collector.ids()
	require.Equal(t, []int{0, 1, 2}, started[:3])
	require.Equal(t, []int{0, 1, 2}, completed[:3])
	require.Len(t, b.OutputOperations, 3)
	for id, o := range b.OutputOperations {
		require.Equal(t, id, o.ID)
		require.NoError(t, o.Err)
	}
}

var errSLSFailedJob = errors.New("This is a failed job")
var errSLSAnotherFailedJob = errors.New("This is another failed job")

// A variant of "output operation reporting": of three outputs, the middle
// one fails. In Spark every job of the batch's job set runs; the failing
// one's OutputOperationInfo has a failureReason, the others none. Here, by
// default, the outputs after a failing one do not run (documented at
// WithContinueOnBatchFailure): output 2 has no events and no info.
func TestSparkListenerSuite_OutputOperationReportingWithOneFailing(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	ssc := h.Context()
	in := dstreamtest.Input(h, [][]int{{1}})
	for i := range 3 {
		in.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[int], _ time.Time) error {
			if i == 1 {
				return errSLSFailedJob
			}
			_, err := r.Count(ctx)
			return err
		})
	}
	collector := &slsOutputOperationInfoCollector{batches: make(chan context.BatchInfo, 1)}
	ssc.AddStreamingListener(collector)
	h.Start()
	_, _ = h.TryStep()
	b := <-collector.batches
	h.Stop()

	_, completed := collector.ids()
	require.Equal(t, []int{0, 1}, completed, "the output after the failing one did not run (Spark's: [0 1 2])")
	require.Len(t, b.OutputOperations, 2)
	require.NoError(t, b.OutputOperations[0].Err)
	require.ErrorIs(t, b.OutputOperations[1].Err, errSLSFailedJob)
}

// slsStoppingCollector is Spark's StreamingContextStoppingCollector: at the
// first completed batch it calls Stop from the listener.
type slsStoppingCollector struct {
	context.NoopListener
	ssc     *context.StreamingContext
	first   bool
	stopErr chan error
}

func (l *slsStoppingCollector) OnBatchCompleted(context.BatchInfo) {
	if l.first {
		l.first = false
		l.stopErr <- l.ssc.Stop(false) // Spark's ssc.stop(): not graceful
	}
}

// test("don't call ssc.stop in listener"). The library documents that Stop
// called from a listener returns ErrStopWithinListener and stops nothing,
// as Spark throws a SparkException from it.
func TestSparkListenerSuite_DontCallStopInListener(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	ssc := h.Context()
	inputStream := context.ReceiverStream[any](ssc, slsReceiver{})
	inputStream.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[any], _ time.Time) error {
		_, err := r.Count(ctx)
		return err
	})
	stopper := &slsStoppingCollector{ssc: ssc, first: true, stopErr: make(chan error, 1)}
	ssc.AddStreamingListener(stopper)
	h.Start()
	h.Step() // make sure at least one batch runs

	var stopErr error
	select {
	case stopErr = <-stopper.stopErr:
	case <-time.After(slsDeadline):
		t.Fatal("Stop called from the listener did not return: deadlock")
	}
	require.ErrorIs(t, stopErr, context.ErrStopWithinListener)
	require.Equal(t, context.Active, ssc.State(), "the refused Stop stopped nothing")

	// Stopping from the test goroutine now works, and does not deadlock.
	done := make(chan error, 1)
	go func() { done <- ssc.Stop(false) }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(slsDeadline):
		t.Fatal("Stop deadlocked")
	}
	require.Equal(t, context.Stopped, ssc.State())
	require.NoError(t, ssc.AwaitTermination())
}

// slsFailureReasonsCollector is Spark's FailureReasonsCollector: the latest
// failure reason of each output operation ID, from the completed batches.
type slsFailureReasonsCollector struct {
	context.NoopListener
	mu             sync.Mutex
	failureReasons map[int]string
}

func (c *slsFailureReasonsCollector) OnBatchCompleted(b context.BatchInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, o := range b.OutputOperations {
		if o.Err != nil {
			c.failureReasons[id] = o.Err.Error()
		}
	}
}

// slsCollectFailureReasons is Spark's
// startStreamingContextAndCollectFailureReasons: it runs one batch and, for
// a failing one, expects the context to terminate with an error.
func slsCollectFailureReasons(t *testing.T, h *dstreamtest.Harness, isFailed bool) map[int]string {
	t.Helper()
	ssc := h.Context()
	collector := &slsFailureReasonsCollector{failureReasons: map[int]string{}}
	ssc.AddStreamingListener(collector)
	h.Start()
	_, stepErr := h.TryStep()
	if isFailed {
		stopped, err := ssc.AwaitTerminationOrTimeout(10 * time.Second)
		require.True(t, stopped, "a failed batch terminates the context")
		require.Error(t, err)
	} else {
		require.NoError(t, stepErr)
	}
	require.NoError(t, ssc.Stop(false))
	collector.mu.Lock()
	defer collector.mu.Unlock()
	return maps.Clone(collector.failureReasons)
}

// test("onBatchCompleted with successful batch")
func TestSparkListenerSuite_OnBatchCompletedWithSuccessfulBatch(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	inputStream := context.ReceiverStream[any](h.Context(), slsReceiver{})
	inputStream.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[any], _ time.Time) error {
		_, err := r.Count(ctx)
		return err
	})
	failureReasons := slsCollectFailureReasons(t, h, false)
	require.NotNil(t, failureReasons)
	require.Empty(t, failureReasons, "a successful batch should not set a failure reason")
}

// test("onBatchCompleted with failed batch and one failed job")
func TestSparkListenerSuite_OnBatchCompletedWithFailedBatchAndOneFailedJob(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	inputStream := context.ReceiverStream[any](h.Context(), slsReceiver{})
	inputStream.ForeachRDD(func(stdctx.Context, *rdd.RDD[any], time.Time) error {
		return errSLSFailedJob
	})
	failureReasons := slsCollectFailureReasons(t, h, true)
	require.Len(t, failureReasons, 1)
	require.Contains(t, failureReasons, 0)
	require.Contains(t, failureReasons[0], "This is a failed job")
	_, err := h.Context().AwaitTerminationOrTimeout(0)
	require.ErrorIs(t, err, errSLSFailedJob)
}

// test("onBatchCompleted with failed batch and multiple failed jobs").
// Differs: by default the output after the first failing one does not run
// (documented at WithContinueOnBatchFailure), so only output 0's failure
// reason is reported, where Spark reports both.
func TestSparkListenerSuite_OnBatchCompletedWithFailedBatchAndMultipleFailedJobs(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	inputStream := context.ReceiverStream[any](h.Context(), slsReceiver{})
	inputStream.ForeachRDD(func(stdctx.Context, *rdd.RDD[any], time.Time) error {
		return errSLSFailedJob
	})
	inputStream.ForeachRDD(func(stdctx.Context, *rdd.RDD[any], time.Time) error {
		return errSLSAnotherFailedJob
	})
	failureReasons := slsCollectFailureReasons(t, h, true)
	// Spark reports both reasons; here output 1 did not run.
	require.Len(t, failureReasons, 1)
	require.Contains(t, failureReasons[0], "This is a failed job")
}

// The same case under WithContinueOnBatchFailure, which the library
// documents as running every output operation of a failing batch (as Spark
// does by default): both failure reasons are reported. The context goes on
// then, so it does not terminate with the error as Spark's does.
func TestSparkListenerSuite_OnBatchCompletedWithFailedBatchAndMultipleFailedJobsContinueOnFailure(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second, context.WithContinueOnBatchFailure())
	inputStream := context.ReceiverStream[any](h.Context(), slsReceiver{})
	inputStream.ForeachRDD(func(stdctx.Context, *rdd.RDD[any], time.Time) error {
		return errSLSFailedJob
	})
	inputStream.ForeachRDD(func(stdctx.Context, *rdd.RDD[any], time.Time) error {
		return errSLSAnotherFailedJob
	})
	collector := &slsFailureReasonsCollector{failureReasons: map[int]string{}}
	h.Context().AddStreamingListener(collector)
	h.Start()
	b := h.Step()
	require.ErrorIs(t, b.Err(), errSLSFailedJob, "Err reports the lowest failed output ID")
	require.Equal(t, context.Active, h.Context().State())
	require.NoError(t, h.Context().Stop(false))
	collector.mu.Lock()
	failureReasons := maps.Clone(collector.failureReasons)
	collector.mu.Unlock()
	require.Len(t, failureReasons, 2)
	require.Contains(t, failureReasons[0], "This is a failed job")
	require.Contains(t, failureReasons[1], "This is another failed job")
}

// slsCountingListener counts every event it receives.
type slsCountingListener struct {
	mu     sync.Mutex
	events []string
}

func (l *slsCountingListener) add(e string) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *slsCountingListener) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

func (l *slsCountingListener) OnStreamingStarted(time.Time)           { l.add("streaming started") }
func (l *slsCountingListener) OnBatchSubmitted(context.BatchInfo)     { l.add("batch submitted") }
func (l *slsCountingListener) OnBatchStarted(context.BatchInfo)       { l.add("batch started") }
func (l *slsCountingListener) OnBatchCompleted(context.BatchInfo)     { l.add("batch completed") }
func (l *slsCountingListener) OnReceiverStarted(context.ReceiverInfo) { l.add("receiver started") }
func (l *slsCountingListener) OnReceiverError(context.ReceiverInfo)   { l.add("receiver error") }
func (l *slsCountingListener) OnReceiverStopped(context.ReceiverInfo) { l.add("receiver stopped") }
func (l *slsCountingListener) OnOutputOperationStarted(context.OutputOperationInfo) {
	l.add("op started")
}
func (l *slsCountingListener) OnOutputOperationCompleted(context.OutputOperationInfo) {
	l.add("op completed")
}

// slsHandleKeeper is a receiver that keeps its Handle, so that the test can
// report an error through it after the context has stopped.
type slsHandleKeeper struct {
	mu sync.Mutex
	h  *receivers.Handle[any]
}

func (r *slsHandleKeeper) OnStart(h *receivers.Handle[any]) {
	r.mu.Lock()
	r.h = h
	r.mu.Unlock()
}

func (r *slsHandleKeeper) OnStop() {}

// test("StreamingListener receives no events after stopping
// StreamingListenerBus"). Spark posts a ReceiverStopped event to the bus
// after the stop; the bus is internal here, so the test produces events the
// ways a program can after Stop: a receiver error through the receiver's
// handle, Stop and Start again, and the clock passing batch times.
func TestSparkListenerSuite_ReceivesNoEventsAfterStoppingListenerBus(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	ssc := h.Context()
	listener := &slsCountingListener{}
	ssc.AddStreamingListener(listener)
	recv := &slsHandleKeeper{}
	inputStream := context.ReceiverStream[any](ssc, recv)
	inputStream.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[any], _ time.Time) error {
		_, err := r.Count(ctx)
		return err
	})
	h.Start()
	h.Step()
	require.NoError(t, ssc.Stop(false))

	// What the listener received up to the stop (Spark resets its mock
	// here); the receiver's stopped event was delivered before Stop returned.
	before := listener.snapshot()
	require.Contains(t, before, "receiver stopped")

	recv.mu.Lock()
	handle := recv.h
	recv.mu.Unlock()
	require.NotNil(t, handle)
	handle.ReportError("after stop", errors.New("after stop"))
	require.NoError(t, ssc.Stop(false))
	require.ErrorIs(t, ssc.Start(), context.ErrStopped)
	h.Clock().Advance(3 * time.Second)
	time.Sleep(50 * time.Millisecond) // give a stray delivery the chance to happen

	require.Equal(t, before, listener.snapshot(), "no event after the listener bus stopped")
}

// onStreamingStarted (SPARK-21977's StreamingListenerStreamingStarted): it
// fires once, with the context's start time on its clock, before any batch
// event.
func TestSparkListenerSuite_OnStreamingStarted(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	h.Clock().Advance(1500 * time.Millisecond)
	startTime := h.Clock().Now()
	collector := &slsBatchInfoCollector{}
	h.Context().AddStreamingListener(collector)
	out := dstreamtest.Collect(dstreamtest.Input(h, [][]int{{1}, {2}}))
	h.Start()
	// The first batch is at 2 s, the next multiple of the interval: Step
	// advances 1 s, so set the clock instead.
	h.Clock().Set(time.UnixMilli(2000).UTC())
	slsWait(t, "the first batch", func() bool { return len(collector.snapshot().completed) == 1 })
	h.Clock().Set(time.UnixMilli(3000).UTC())
	slsWait(t, "the second batch", func() bool { return len(collector.snapshot().completed) == 2 })
	h.Stop()
	require.Equal(t, [][]int{{1}, {2}}, out.Batches())

	c := collector.snapshot()
	require.Len(t, c.streamingStarted, 1, "onStreamingStarted fires once")
	require.True(t, startTime.Equal(c.streamingStarted[0]), "start time %v, got %v", startTime, c.streamingStarted[0])
	require.Equal(t, "streaming started", c.events[0], "before any batch event")
	require.True(t, strings.HasPrefix(c.events[1], "submitted 2000"))
	require.False(t, c.submitted[0].SubmissionTime.Before(c.streamingStarted[0]))
}
