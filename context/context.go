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

// String returns Spark's name of the state (INITIALIZED, ACTIVE, STOPPED).
func (s State) String() string {
	if s < Initialized || s > Stopped {
		return fmt.Sprintf("State(%d)", int(s))
	}
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
	writeAheadLog     bool
	// gracefulStopTimeout bounds a graceful stop; 0 until NewStreamingContext
	// sets the default, 10 batch intervals.
	gracefulStopTimeout    time.Duration
	gracefulStopTimeoutSet bool
}

// WithLogger sets the logger. The default is hclog.Default(), which writes
// to stderr at Info level, as Spark logs by default: lifecycle messages,
// and the warnings and errors of what goes wrong without failing a batch
// (a stream added after Start, a missing input directory, a receiver
// error). hclog.NewNullLogger() discards everything.
func WithLogger(l hclog.Logger) Option { return optionFunc(func(c *config) { c.logger = l }) }

// WithClock sets the clock that times batches. The default is SystemClock;
// tests pass a *ManualClock and advance it by hand.
func WithClock(clk Clock) Option { return optionFunc(func(c *config) { c.clock = clk }) }

// WithWorkers sets how many tasks run at once across all jobs. The default
// is GOMAXPROCS.
func WithWorkers(n int) Option { return optionFunc(func(c *config) { c.workers = n }) }

// WithContinueOnBatchFailure keeps the context running after a batch fails:
// the failure is logged and reported to listeners and the next batch runs.
// The failed batch's input is then skipped for good, as in Spark: it is not
// run again, and the next batch's checkpoint (and Kafka commit) goes past
// it; a restart before the next batch completes does run it again. By
// default the first failing batch stops the context, and AwaitTermination
// returns its error, so a restart runs it again; the batch's output
// operations after the one that failed do not run (Spark submits them
// all). With this option they all run.
func WithContinueOnBatchFailure() Option {
	return optionFunc(func(c *config) { c.continueOnFailure = true })
}

// WithBackpressure makes receiver streams adapt their rate to how fast
// batches are processed, with Spark's PID rate estimator (Spark's
// spark.streaming.backpressure.enabled). The default is off: receivers take
// what comes, up to their maximum rate.
func WithBackpressure() Option { return optionFunc(func(c *config) { c.backpressure = true }) }

// WithWriteAheadLog makes receiver streams write every received block to a
// log under the checkpoint directory (a block of Store's records when it is
// cut; StoreMany's before it returns, so a reliable receiver acknowledges
// its source after StoreMany), and replay after a crash the blocks of the
// batches a restart runs again (those after the checkpoint's recovery
// point): zero data loss with a reliable receiver (Spark's
// spark.streaming.receiver.writeAheadLog.enable). It needs a checkpoint
// directory. The default is off.
func WithWriteAheadLog() Option { return optionFunc(func(c *config) { c.writeAheadLog = true }) }

// WithGracefulStopTimeout bounds a graceful Stop, Spark's
// spark.streaming.gracefulStopTimeout. The stop drains inputs by running
// batches whose times go at most d past the clock's time when the stop
// began (without waiting for the clock), and drops with a warning what an
// input still holds then; if the clock itself reaches that time before the
// context has stopped, the stop turns ungraceful: the running batch is
// cancelled and the rest dropped. The default is 10 batch intervals, as in
// Spark; d must be positive.
func WithGracefulStopTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.gracefulStopTimeout, c.gracefulStopTimeoutSet = d, true })
}

// Input is an input stream's source as the context drives it: it computes
// the batch's RDD (dstream.Source), starts with the context, stops with it,
// and says whether it holds input no batch has taken yet, so a graceful Stop
// can drain it. The context's own inputs (queues, files, receivers) and
// those of other packages (Kafka) implement it; register one with
// NewInputStream. An input may also implement BatchCompletionHandler and
// BatchMetadataProvider.
type Input[T any] interface {
	dstream.Source[T]
	// Start starts the input; ctx is cancelled when the context stops.
	Start(ctx context.Context) error
	// Stop stops taking new input; graceful keeps what was taken for the
	// batches that drain it.
	Stop(graceful bool)
	// Pending reports whether input is held that no batch has taken yet.
	Pending() bool
}

// BatchCompletionHandler is implemented by inputs that act when a batch
// has completed: a write-ahead log marking it processed, a rate estimator,
// Kafka committing offsets.
type BatchCompletionHandler interface {
	BatchCompleted(BatchInfo)
}

// BatchMetadataProvider is implemented by inputs that describe what a batch
// took (Kafka's offset ranges); the description reaches listeners in
// BatchInfo.InputMetadata.
type BatchMetadataProvider interface {
	BatchMetadata(batchTime time.Time) any
}

// inputSource is the untyped side of an Input the context keeps.
type inputSource interface {
	Start(ctx context.Context) error
	Stop(graceful bool)
	Pending() bool
}

// registeredInput is an input with its stream's ID.
type registeredInput struct {
	inputSource
	streamID int
}

// NewInputStream registers in as an input stream of kind (e.g.
// "KafkaDirectStream"): the context starts and stops it and takes its RDD at
// every batch time. Only before Start.
func NewInputStream[T any](ssc *StreamingContext, kind string, in Input[T]) dstream.DStream[T] {
	d := dstream.NewInputStream[T](ssc.graph, kind, in)
	ssc.addInput(in, d.ID())
	return d
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
	inputs     []registeredInput
	stopOnce   sync.Once
	stopCh     chan struct{} // closed when a stop begins
	graceful   bool
	cancelRun  context.CancelFunc // cancels the job generator
	cancelJobs context.CancelFunc // cancels running jobs
	done       chan struct{}      // closed when the context has stopped
	err        error              // why it stopped, nil for Stop

	// drainDeadline is, on a graceful stop, the clock's time when it began
	// plus the graceful stop timeout: the drain generates no batch after
	// it, and stopWatch turns the stop ungraceful (graceful false) when the
	// clock reaches it; so does Stop(false).
	drainDeadline time.Time
	cancelWatch   context.CancelFunc // ends stopWatch; nil without a graceful stop
	stopWatch     sync.WaitGroup     // the goroutine that waits for drainDeadline

	queue     *batchQueue
	startTime time.Time
	ckpt      *checkpointer // nil without a checkpoint directory (checkpoint.go)
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
		cfg.logger = hclog.Default()
	}
	if cfg.clock == nil {
		cfg.clock = SystemClock{}
	}
	if cfg.workers < 0 {
		return nil, fmt.Errorf("context: number of workers must not be negative, got %d", cfg.workers)
	}
	if !cfg.gracefulStopTimeoutSet {
		cfg.gracefulStopTimeout = 10 * batchInterval
	} else if cfg.gracefulStopTimeout <= 0 {
		return nil, fmt.Errorf("context: %w: graceful stop timeout must be positive, got %v", ErrInvalidDuration, cfg.gracefulStopTimeout)
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
	if st := ssc.State(); st != Initialized {
		return fmt.Errorf("context: Remember: %w: the context is %v", ErrNotInitialized, st)
	}
	return ssc.graph.Remember(d)
}

// addInput registers an input's lifecycle; after Start the input is not
// started (its stream was refused by the graph with dstream.ErrStarted).
func (ssc *StreamingContext) addInput(in inputSource, streamID int) {
	ssc.mu.Lock()
	defer ssc.mu.Unlock()
	if ssc.state == Initialized && streamID >= 0 {
		ssc.inputs = append(ssc.inputs, registeredInput{in, streamID})
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
	zero, first, err := ssc.startTimes(now)
	if err != nil {
		return err
	}
	if err := ssc.graph.Start(zero); err != nil {
		return err
	}
	if err := ssc.prepareCheckpoints(zero); err != nil {
		ssc.closeCheckpoints(false)
		return err
	}
	runCtx, cancelRun := context.WithCancel(context.Background())
	jobsCtx, cancelJobs := context.WithCancel(rdd.WithExecutor(context.Background(), ssc.executor))
	ssc.cancelRun, ssc.cancelJobs = cancelRun, cancelJobs
	for i, in := range ssc.inputs {
		if err := in.Start(runCtx); err != nil {
			for _, started := range ssc.inputs[:i] {
				started.Stop(false)
			}
			cancelRun()
			cancelJobs()
			ssc.closeCheckpoints(false)
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
// already generated, within the graceful stop timeout (10 batch intervals
// unless WithGracefulStopTimeout says otherwise): input still held after
// the batches that timeout allows is dropped with a warning (an input no
// output operation reads from is never drained, so a graceful stop with
// one always takes that long in batch time), and once the clock reaches
// the timeout the stop goes on as an ungraceful one. Otherwise Stop cancels
// the running batch and drops the rest; Stop(false) during a graceful stop
// does that too, cutting it short. Stop waits until every goroutine of the
// context has ended; it is safe to call more than once and from several
// goroutines, but not from inside an output operation (that would wait for
// itself). Called from a StreamingListener, Stop stops nothing and returns
// ErrStopWithinListener, as Spark throws: the listener bus, which the stop
// waits for, would be waiting for the listener. Have another goroutine
// call it, e.g. go ssc.Stop(true).
func (ssc *StreamingContext) Stop(graceful bool) error {
	if ssc.bus.onBusGoroutine() {
		return fmt.Errorf("context: Stop(%t): %w", graceful, ErrStopWithinListener)
	}
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
// requested stop). A requested ungraceful stop after a graceful one has
// begun cuts the graceful one short.
func (ssc *StreamingContext) beginStop(graceful bool, err error) {
	first := false
	ssc.stopOnce.Do(func() {
		first = true
		ssc.mu.Lock()
		ssc.graceful = graceful
		ssc.err = err
		if graceful {
			timeout := ssc.cfg.gracefulStopTimeout
			deadline := ssc.cfg.clock.Now().Add(timeout)
			watchCtx, cancel := context.WithCancel(context.Background())
			ssc.drainDeadline, ssc.cancelWatch = deadline, cancel
			ssc.stopWatch.Go(func() {
				if ssc.cfg.clock.WaitUntil(watchCtx, deadline) == nil {
					ssc.abortGracefulStop("graceful stop timed out", "timeout", timeout)
				}
			})
		}
		ssc.mu.Unlock()
		if !graceful {
			ssc.cancelRun()
			ssc.cancelJobs()
		}
		close(ssc.stopCh)
	})
	switch {
	case first || graceful:
	case err != nil:
		// A batch failed while a graceful stop drains: the failure stops
		// the context as it would have without the stop (the batches
		// after it are not run, and AwaitTermination returns it).
		ssc.mu.Lock()
		if ssc.err == nil {
			ssc.err = err
		}
		ssc.mu.Unlock()
		ssc.abortGracefulStop("a batch failed during a graceful stop", "error", err)
	default:
		ssc.abortGracefulStop("Stop(false) during a graceful stop")
	}
}

// abortGracefulStop turns a graceful stop in progress into an ungraceful
// one: the drain ends, the running batch is cancelled, the rest dropped.
func (ssc *StreamingContext) abortGracefulStop(msg string, args ...any) {
	ssc.mu.Lock()
	if !ssc.graceful || ssc.state == Stopped {
		ssc.mu.Unlock()
		return
	}
	ssc.graceful = false
	ssc.mu.Unlock()
	ssc.cfg.logger.Warn(msg+": stopping without waiting for the batches left", args...)
	ssc.cancelRun()
	ssc.cancelJobs()
}

// finish runs once both loops have ended.
func (ssc *StreamingContext) finish() {
	ssc.mu.Lock()
	cancelWatch := ssc.cancelWatch
	ssc.mu.Unlock()
	if cancelWatch != nil {
		cancelWatch()
	}
	ssc.stopWatch.Wait()
	ssc.mu.Lock()
	inputs, graceful := ssc.inputs, ssc.graceful && ssc.err == nil
	ssc.mu.Unlock()
	ssc.closeCheckpoints(graceful)
	for _, in := range inputs {
		in.Stop(false)
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
// context to stop. It reports whether it stopped and, if so, why. A
// stopped context reports so even with a timeout of 0; a negative timeout
// waits as long as it takes, as in Spark.
func (ssc *StreamingContext) AwaitTerminationOrTimeout(timeout time.Duration) (bool, error) {
	select {
	case <-ssc.done:
		return true, ssc.AwaitTermination()
	default:
	}
	if timeout < 0 {
		return true, ssc.AwaitTermination()
	}
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
// queued input, without waiting for the clock, up to the drain deadline:
// an input no output reads from stays pending for ever.
func (ssc *StreamingContext) drainInputs(ctx context.Context, next time.Time) {
	ssc.mu.Lock()
	graceful, inputs, deadline := ssc.graceful, ssc.inputs, ssc.drainDeadline
	ssc.mu.Unlock()
	if !graceful {
		return
	}
	for _, in := range inputs {
		in.Stop(true)
	}
	for ctx.Err() == nil {
		pending := pendingStreams(inputs)
		if len(pending) == 0 {
			return
		}
		if next.After(deadline) {
			ssc.cfg.logger.Warn("graceful stop timed out: dropping the input not taken yet (does an output operation use these streams?)",
				"timeout", ssc.cfg.gracefulStopTimeout, "streams", pending, "nextBatch", dstream.FormatTime(next))
			return
		}
		ssc.generateBatch(next)
		next = next.Add(ssc.batchInterval)
	}
}

// pendingStreams returns the IDs of the input streams holding input no
// batch has taken.
func pendingStreams(inputs []registeredInput) []int {
	var ids []int
	for _, in := range inputs {
		if in.Pending() {
			ids = append(ids, in.streamID)
		}
	}
	return ids
}

// generateBatch computes the jobs of batch time t and queues them.
func (ssc *StreamingContext) generateBatch(t time.Time) {
	jobs, records, err := ssc.graph.GenerateJobs(t)
	info := BatchInfo{BatchTime: t, SubmissionTime: ssc.cfg.clock.Now(), InputRecords: records,
		OutputOperations: make(map[int]OutputOperationInfo, len(jobs)), generationErr: err}
	for _, job := range jobs { // the operations to run, not started (Spark's submitted BatchInfo)
		info.OutputOperations[job.OutputID] = OutputOperationInfo{BatchTime: t, ID: job.OutputID, Name: job.Name}
	}
	ssc.mu.Lock()
	inputs := ssc.inputs
	ssc.mu.Unlock()
	for _, in := range inputs {
		if mp, ok := in.inputSource.(BatchMetadataProvider); ok {
			if md := mp.BatchMetadata(t); md != nil {
				if info.InputMetadata == nil {
					info.InputMetadata = map[int]any{}
				}
				info.InputMetadata[in.streamID] = md
			}
		}
	}
	ssc.ckpt.batchGenerated(t)
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
		if bc, ok := in.inputSource.(BatchCompletionHandler); ok {
			bc.BatchCompleted(info)
		}
	}
	ssc.checkpointBatch(ctx, info, failure)
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
