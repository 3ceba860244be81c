package context

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/rdd"
)

// State is the lifecycle state of a StreamingContext.
type State int

// The states, in the only order a context goes through them.
const (
	Initialized State = iota // streams may be added; not started
	Active                   // started: batches are generated and run
	Stopped                  // stopped for good; cannot start again
)

func (s State) String() string {
	return [...]string{"INITIALIZED", "ACTIVE", "STOPPED"}[s]
}

// Option configures a StreamingContext. Each option's doc names the
// default it overrides.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	logger            hclog.Logger
	clock             Clock
	workers           int
	continueOnFailure bool
	backpressure      bool
}

// WithLogger sets the logger. The default discards everything.
func WithLogger(l hclog.Logger) Option { return optionFunc(func(c *config) { c.logger = l }) }

// WithClock sets the clock that times batches. The default is SystemClock;
// tests pass a *ManualClock and advance it by hand.
func WithClock(clk Clock) Option { return optionFunc(func(c *config) { c.clock = clk }) }

// WithWorkers sets how many tasks run at once across all jobs. The default
// is GOMAXPROCS.
func WithWorkers(n int) Option { return optionFunc(func(c *config) { c.workers = n }) }

// WithContinueOnBatchFailure keeps the context running after a batch fails:
// the failure is logged and reported to listeners and the next batch runs.
// By default the first failing batch stops the context, and
// AwaitTermination returns its error.
func WithContinueOnBatchFailure() Option {
	return optionFunc(func(c *config) { c.continueOnFailure = true })
}

// WithBackpressure makes receiver streams adapt their rate to how fast
// batches are processed, with Spark's PID rate estimator (Spark's
// spark.streaming.backpressure.enabled). The default is off: receivers take
// what comes, up to their maximum rate.
func WithBackpressure() Option { return optionFunc(func(c *config) { c.backpressure = true }) }

// inputSource is the lifecycle side of an input stream, owned by the context.
type inputSource interface {
	start(ctx context.Context) error
	// stop stops receiving; graceful keeps what was received for the
	// remaining batches.
	stop(graceful bool)
	// pending reports whether input is queued that no batch has taken yet.
	pending() bool
}

// StreamingContext is the entry point of a streaming program, Spark's
// StreamingContext: it owns the batch interval, the clock, the graph of
// streams, the goroutines that generate and run batches, and the listeners.
// Build streams on it, register output operations, then Start.
type StreamingContext struct {
	batchInterval time.Duration
	cfg           config
	graph         *dstream.Graph
	executor      *rdd.Executor
	bus           *listenerBus

	mu         sync.Mutex
	state      State
	inputs     []inputSource
	stopOnce   sync.Once
	stopCh     chan struct{} // closed when a stop begins
	graceful   bool
	cancelRun  context.CancelFunc // cancels the job generator
	cancelJobs context.CancelFunc // cancels running jobs
	done       chan struct{}      // closed when the context has stopped
	err        error              // why it stopped, nil for Stop

	queue     *batchQueue
	startTime time.Time
}

// NewStreamingContext returns a context that cuts time into batches of
// batchInterval. The interval must be positive.
func NewStreamingContext(batchInterval time.Duration, opts ...Option) (*StreamingContext, error) {
	if batchInterval <= 0 {
		return nil, fmt.Errorf("context: %w: batch interval must be positive, got %v", ErrInvalidDuration, batchInterval)
	}
	var cfg config
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if cfg.logger == nil {
		cfg.logger = hclog.NewNullLogger()
	}
	if cfg.clock == nil {
		cfg.clock = SystemClock{}
	}
	if cfg.workers < 0 {
		return nil, fmt.Errorf("context: number of workers must not be negative, got %d", cfg.workers)
	}
	return &StreamingContext{
		batchInterval: batchInterval,
		cfg:           cfg,
		graph:         dstream.NewGraph(batchInterval, cfg.logger),
		executor:      rdd.NewExecutor(cfg.workers),
		bus:           newListenerBus(cfg.logger),
		stopCh:        make(chan struct{}),
		done:          make(chan struct{}),
		queue:         newBatchQueue(),
	}, nil
}

// Graph returns the graph the context's streams belong to.
func (ssc *StreamingContext) Graph() *dstream.Graph { return ssc.graph }

// BatchInterval returns the batch interval.
func (ssc *StreamingContext) BatchInterval() time.Duration { return ssc.batchInterval }

// Clock returns the context's clock.
func (ssc *StreamingContext) Clock() Clock { return ssc.cfg.clock }

// Logger returns the context's logger.
func (ssc *StreamingContext) Logger() hclog.Logger { return ssc.cfg.logger }

// State returns the lifecycle state.
func (ssc *StreamingContext) State() State {
	ssc.mu.Lock()
	defer ssc.mu.Unlock()
	return ssc.state
}

// AddStreamingListener registers l for the context's events.
func (ssc *StreamingContext) AddStreamingListener(l StreamingListener) { ssc.bus.add(l) }

// RemoveStreamingListener unregisters l.
func (ssc *StreamingContext) RemoveStreamingListener(l StreamingListener) { ssc.bus.remove(l) }

// Remember makes every stream keep its RDDs for at least d, so that
// RDDs of past batches can be queried (Slice) after their batch; only
// before Start.
func (ssc *StreamingContext) Remember(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("context: Remember: %w: duration must be positive, got %v", ErrInvalidDuration, d)
	}
	if ssc.State() != Initialized {
		return fmt.Errorf("context: Remember: %w", ErrNotInitialized)
	}
	return ssc.graph.Remember(d)
}

// addInput registers an input's lifecycle; after Start the input is not
// started (its stream was refused by the graph with dstream.ErrStarted).
func (ssc *StreamingContext) addInput(in inputSource) {
	ssc.mu.Lock()
	defer ssc.mu.Unlock()
	if ssc.state == Initialized {
		ssc.inputs = append(ssc.inputs, in)
	}
}

// Start validates the graph and starts generating and running batches: the
// first batch time is the next multiple of the batch interval after now.
// Start refuses a graph with no output operation, a graph with errors from
// its construction, and a stopped context. Starting an active context again
// does nothing, as in Spark.
func (ssc *StreamingContext) Start() error {
	ssc.mu.Lock()
	defer ssc.mu.Unlock()
	switch ssc.state {
	case Active:
		ssc.cfg.logger.Warn("StreamingContext has already been started")
		return nil
	case Stopped:
		return ErrStopped
	}
	now := ssc.cfg.clock.Now()
	first := nextBatchTime(now, ssc.batchInterval)
	if err := ssc.graph.Start(first.Add(-ssc.batchInterval)); err != nil {
		return err
	}
	runCtx, cancelRun := context.WithCancel(context.Background())
	jobsCtx, cancelJobs := context.WithCancel(rdd.WithExecutor(context.Background(), ssc.executor))
	ssc.cancelRun, ssc.cancelJobs = cancelRun, cancelJobs
	for i, in := range ssc.inputs {
		if err := in.start(runCtx); err != nil {
			for _, started := range ssc.inputs[:i] {
				started.stop(false)
			}
			cancelRun()
			cancelJobs()
			return err
		}
	}
	ssc.state = Active
	ssc.startTime = now
	go ssc.bus.run()
	ssc.bus.post(func(l StreamingListener) { l.OnStreamingStarted(now) })
	var wg sync.WaitGroup
	wg.Go(func() { ssc.generate(runCtx, first) })
	wg.Go(func() { ssc.runBatches(jobsCtx) })
	go func() {
		wg.Wait()
		ssc.finish()
	}()
	ssc.cfg.logger.Info("StreamingContext started", "batchInterval", ssc.batchInterval, "firstBatch", dstream.FormatTime(first))
	return nil
}

// nextBatchTime is Spark's RecurringTimer start: the first multiple of
// interval strictly after now.
func nextBatchTime(now time.Time, interval time.Duration) time.Time {
	ns := now.UnixNano()
	k := ns / int64(interval)
	if ns < 0 && ns%int64(interval) != 0 {
		k--
	}
	return time.Unix(0, (k+1)*int64(interval)).UTC()
}

// Stop stops the context. With graceful true it first stops receiving,
// then runs a batch for every input still queued and finishes every batch
// already generated; otherwise it cancels the running batch and drops the
// rest. Stop waits until every goroutine of the context has ended; it is
// safe to call more than once and from several goroutines, but not from
// inside an output operation (that would wait for itself).
func (ssc *StreamingContext) Stop(graceful bool) error {
	ssc.mu.Lock()
	if ssc.state == Initialized {
		ssc.state = Stopped
		ssc.mu.Unlock()
		ssc.stopOnce.Do(func() { close(ssc.stopCh); close(ssc.done) })
		return nil
	}
	ssc.mu.Unlock()
	ssc.beginStop(graceful, nil)
	<-ssc.done
	return nil
}

// beginStop starts stopping without waiting; err is the reason (nil for a
// requested stop).
func (ssc *StreamingContext) beginStop(graceful bool, err error) {
	ssc.stopOnce.Do(func() {
		ssc.mu.Lock()
		ssc.graceful = graceful
		ssc.err = err
		ssc.mu.Unlock()
		if !graceful {
			ssc.cancelRun()
			ssc.cancelJobs()
		}
		close(ssc.stopCh)
	})
}

// finish runs once both loops have ended.
func (ssc *StreamingContext) finish() {
	ssc.mu.Lock()
	inputs := ssc.inputs
	ssc.mu.Unlock()
	for _, in := range inputs {
		in.stop(false)
	}
	ssc.cancelRun()
	ssc.cancelJobs()
	ssc.bus.close()
	ssc.mu.Lock()
	ssc.state = Stopped
	ssc.mu.Unlock()
	ssc.cfg.logger.Info("StreamingContext stopped")
	close(ssc.done)
}

// AwaitTermination blocks until the context stops and returns the error
// that stopped it: nil after Stop, a batch's error when a failing batch
// stopped it.
func (ssc *StreamingContext) AwaitTermination() error {
	<-ssc.done
	ssc.mu.Lock()
	defer ssc.mu.Unlock()
	return ssc.err
}

// AwaitTerminationOrTimeout waits at most timeout (in real time) for the
// context to stop. It reports whether it stopped and, if so, why.
func (ssc *StreamingContext) AwaitTerminationOrTimeout(timeout time.Duration) (bool, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-ssc.done:
		return true, ssc.AwaitTermination()
	case <-timer.C:
		return false, nil
	}
}

// Done returns a channel closed when the context has stopped.
func (ssc *StreamingContext) Done() <-chan struct{} { return ssc.done }

// generate is the job generator: at each batch time it computes the
// batch's RDDs and jobs and queues them for runBatches.
func (ssc *StreamingContext) generate(ctx context.Context, next time.Time) {
	defer ssc.queue.close()
	// waitCtx ends the wait for the clock when a stop begins.
	waitCtx, cancel := context.WithCancel(ctx)
	var watcher sync.WaitGroup
	watcher.Go(func() {
		select {
		case <-ssc.stopCh:
			cancel()
		case <-waitCtx.Done():
		}
	})
	defer watcher.Wait()
	defer cancel()
	for {
		if err := ssc.cfg.clock.WaitUntil(waitCtx, next); err != nil {
			ssc.drainInputs(ctx, next)
			return
		}
		select {
		case <-ssc.stopCh:
			ssc.drainInputs(ctx, next)
			return
		default:
		}
		ssc.generateBatch(next)
		next = next.Add(ssc.batchInterval)
	}
}

// drainInputs runs, on a graceful stop, the batches needed to take every
// queued input, without waiting for the clock.
func (ssc *StreamingContext) drainInputs(ctx context.Context, next time.Time) {
	ssc.mu.Lock()
	graceful, inputs := ssc.graceful, ssc.inputs
	ssc.mu.Unlock()
	if !graceful {
		return
	}
	for _, in := range inputs {
		in.stop(true)
	}
	for ctx.Err() == nil && anyPending(inputs) {
		ssc.generateBatch(next)
		next = next.Add(ssc.batchInterval)
	}
}

func anyPending(inputs []inputSource) bool {
	for _, in := range inputs {
		if in.pending() {
			return true
		}
	}
	return false
}

// generateBatch computes the jobs of batch time t and queues them.
func (ssc *StreamingContext) generateBatch(t time.Time) {
	jobs, records, err := ssc.graph.GenerateJobs(t)
	info := BatchInfo{BatchTime: t, SubmissionTime: ssc.cfg.clock.Now(), InputRecords: records,
		OutputOperations: map[int]OutputOperationInfo{}, generationErr: err}
	ssc.bus.post(func(l StreamingListener) { l.OnBatchSubmitted(info) })
	ssc.queue.push(batch{info: info, jobs: jobs, err: err})
}

type batch struct {
	info BatchInfo
	jobs []dstream.Job
	err  error // generating the jobs failed
}

// runBatches runs queued batches one at a time, in order.
func (ssc *StreamingContext) runBatches(ctx context.Context) {
	for {
		b, ok := ssc.queue.pop()
		if !ok || ctx.Err() != nil {
			return
		}
		ssc.runBatch(ctx, b)
	}
}

func (ssc *StreamingContext) runBatch(ctx context.Context, b batch) {
	clock := ssc.cfg.clock
	info := b.info
	info.ProcessingStartTime = clock.Now()
	started := info
	ssc.bus.post(func(l StreamingListener) { l.OnBatchStarted(started) })
	// The submitted and started events hold the map from generateBatch;
	// fill a new one so listeners never read a map the runner writes.
	info.OutputOperations = make(map[int]OutputOperationInfo, len(b.jobs))
	failure := b.err
	if failure != nil {
		ssc.cfg.logger.Error("generating jobs failed", "batch", dstream.FormatTime(info.BatchTime), "error", failure)
	}
	for _, job := range b.jobs {
		if failure != nil && !ssc.cfg.continueOnFailure {
			break
		}
		op := OutputOperationInfo{BatchTime: info.BatchTime, ID: job.OutputID, Name: job.Name, StartTime: clock.Now()}
		startedOp := op
		ssc.bus.post(func(l StreamingListener) { l.OnOutputOperationStarted(startedOp) })
		err := job.Run(ctx)
		op.EndTime, op.Err = clock.Now(), err
		info.OutputOperations[op.ID] = op
		doneOp := op
		ssc.bus.post(func(l StreamingListener) { l.OnOutputOperationCompleted(doneOp) })
		if err != nil && ctx.Err() == nil {
			ssc.cfg.logger.Error("output operation failed", "batch", dstream.FormatTime(info.BatchTime),
				"operation", job.OutputID, "name", job.Name, "error", err)
			if failure == nil {
				failure = err
			}
		}
	}
	info.ProcessingEndTime = clock.Now()
	ssc.graph.ClearMetadata(info.BatchTime)
	ssc.mu.Lock()
	inputs := ssc.inputs
	ssc.mu.Unlock()
	for _, in := range inputs {
		if bc, ok := in.(interface{ batchCompleted(BatchInfo) }); ok {
			bc.batchCompleted(info)
		}
	}
	ssc.bus.post(func(l StreamingListener) { l.OnBatchCompleted(info) })
	if failure != nil && !ssc.cfg.continueOnFailure && ctx.Err() == nil {
		ssc.beginStop(false, fmt.Errorf("context: batch %s failed: %w", dstream.FormatTime(info.BatchTime), failure))
	}
}

// batchQueue is the unbounded FIFO between the generator and the runner.
type batchQueue struct {
	mu     sync.Mutex
	items  []batch
	closed bool
	wake   chan struct{}
}

func newBatchQueue() *batchQueue { return &batchQueue{wake: make(chan struct{}, 1)} }

func (q *batchQueue) push(b batch) {
	q.mu.Lock()
	q.items = append(q.items, b)
	q.mu.Unlock()
	q.signal()
}

func (q *batchQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *batchQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

// pop returns the next batch, waiting for one; false once closed and empty.
func (q *batchQueue) pop() (batch, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			b := q.items[0]
			q.items[0] = batch{}
			q.items = q.items[1:]
			q.mu.Unlock()
			return b, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return batch{}, false
		}
		<-q.wake
	}
}

// reportInputError logs an input stream's error and reports it to listeners
// as a receiver error of that stream; the context goes on.
func (ssc *StreamingContext) reportInputError(streamID int, name, msg string, err error) {
	ssc.cfg.logger.Error(msg, "stream", streamID, "source", name, "error", err)
	info := ReceiverInfo{StreamID: streamID, Name: name, Active: true, LastErrorMessage: msg, LastError: err, Time: ssc.cfg.clock.Now()}
	ssc.bus.post(func(l StreamingListener) { l.OnReceiverError(info) })
}
