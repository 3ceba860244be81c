package context

import (
	"bytes"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// BatchInfo describes one batch: when it was due, when it was submitted,
// processed and finished, how many records each input stream gave it, and
// how each output operation went. Spark's BatchInfo.
type BatchInfo struct {
	BatchTime           time.Time
	SubmissionTime      time.Time
	ProcessingStartTime time.Time // zero until the batch starts
	ProcessingEndTime   time.Time // zero until the batch ends
	// InputRecords maps input stream ID to the records it contributed, for
	// inputs that know their count.
	InputRecords map[int]int64
	// InputMetadata maps input stream ID to what the input says the batch
	// took, for inputs that implement BatchMetadataProvider (Kafka's offset
	// ranges).
	InputMetadata map[int]any
	// OutputOperations holds one entry per output operation, by output
	// operation ID: in the submitted and started events those the batch is
	// to run, not started yet (zero StartTime), as in Spark; in the
	// completed event those that ran (a failing batch skips the rest by
	// default, see context.WithContinueOnBatchFailure).
	OutputOperations map[int]OutputOperationInfo

	// generationErr is why the batch's RDDs and jobs could not be generated
	// (a missing parent RDD, a panicking transform); no output ran then.
	generationErr error
}

// NumRecords returns the records of every input stream together.
func (b BatchInfo) NumRecords() int64 {
	var n int64
	for _, c := range b.InputRecords {
		n += c
	}
	return n
}

// SchedulingDelay is how long the batch waited before processing started.
func (b BatchInfo) SchedulingDelay() time.Duration {
	if b.ProcessingStartTime.IsZero() {
		return 0
	}
	return b.ProcessingStartTime.Sub(b.SubmissionTime)
}

// ProcessingDelay is how long the batch's jobs took.
func (b BatchInfo) ProcessingDelay() time.Duration {
	if b.ProcessingEndTime.IsZero() || b.ProcessingStartTime.IsZero() {
		return 0
	}
	return b.ProcessingEndTime.Sub(b.ProcessingStartTime)
}

// TotalDelay is the scheduling delay plus the processing delay.
func (b BatchInfo) TotalDelay() time.Duration {
	if b.ProcessingEndTime.IsZero() {
		return 0
	}
	return b.ProcessingEndTime.Sub(b.SubmissionTime)
}

// Err returns why the batch failed, or nil: the failure to generate its
// jobs (then no output operation ran), else the failure of the output
// operation with the lowest ID among those that failed. The IDs of the
// operations that ran need not be 0..n-1: an output on a window runs only at
// the batches its slide is due.
func (b BatchInfo) Err() error {
	if b.generationErr != nil {
		return b.generationErr
	}
	var failed *OutputOperationInfo
	for _, o := range b.OutputOperations {
		if o.Err != nil && (failed == nil || o.ID < failed.ID) {
			failed = &o
		}
	}
	if failed == nil {
		return nil
	}
	return failed.Err
}

// OutputOperationInfo describes one output operation of one batch.
type OutputOperationInfo struct {
	BatchTime time.Time
	ID        int
	Name      string
	StartTime time.Time
	EndTime   time.Time // zero while running
	Err       error     // the failure, nil on success
}

// Duration is how long the operation ran.
func (o OutputOperationInfo) Duration() time.Duration {
	if o.EndTime.IsZero() {
		return 0
	}
	return o.EndTime.Sub(o.StartTime)
}

// ReceiverInfo describes a receiver in receiver events.
type ReceiverInfo struct {
	StreamID int
	Name     string
	Active   bool
	// LastError and LastErrorMessage are set on error events.
	LastErrorMessage string
	LastError        error
	Time             time.Time
}

// StreamingListener receives the context's events, Spark's
// StreamingListener. Events arrive in order on one goroutine, so a listener
// needs no locking of its own but must not block for long. Embed
// NoopListener to implement only the methods you need. A listener that
// wants the context stopped (after N batches, say) must have another
// goroutine call Stop: called from a listener, Stop returns
// ErrStopWithinListener.
type StreamingListener interface {
	// OnStreamingStarted fires once, when Start has started the inputs,
	// before the first batch.
	OnStreamingStarted(startTime time.Time)
	// OnBatchSubmitted fires when a batch's jobs have been generated and queued.
	OnBatchSubmitted(BatchInfo)
	// OnBatchStarted fires when a batch leaves the queue and begins to run
	// its jobs.
	OnBatchStarted(BatchInfo)
	// OnBatchCompleted fires when a batch has finished: its output
	// operations ran, or it failed and the rest were skipped.
	OnBatchCompleted(BatchInfo)
	// OnOutputOperationStarted fires before each output operation of a batch runs.
	OnOutputOperationStarted(OutputOperationInfo)
	// OnOutputOperationCompleted fires after each output operation of a
	// batch has run, with its error if any.
	OnOutputOperationCompleted(OutputOperationInfo)
	// OnReceiverStarted fires each time a receiver is started, restarts included.
	OnReceiverStarted(ReceiverInfo)
	// OnReceiverError fires when a receiver reports an error or panics, or
	// when an input stream such as a file stream fails to read; the context
	// goes on.
	OnReceiverError(ReceiverInfo)
	// OnReceiverStopped fires each time a receiver has stopped, before a
	// restart or when the context stops.
	OnReceiverStopped(ReceiverInfo)
}

// NoopListener implements every StreamingListener method as a no-op.
type NoopListener struct{}

// OnStreamingStarted does nothing.
func (NoopListener) OnStreamingStarted(time.Time) {}

// OnBatchSubmitted does nothing.
func (NoopListener) OnBatchSubmitted(BatchInfo) {}

// OnBatchStarted does nothing.
func (NoopListener) OnBatchStarted(BatchInfo) {}

// OnBatchCompleted does nothing.
func (NoopListener) OnBatchCompleted(BatchInfo) {}

// OnOutputOperationStarted does nothing.
func (NoopListener) OnOutputOperationStarted(OutputOperationInfo) {}

// OnOutputOperationCompleted does nothing.
func (NoopListener) OnOutputOperationCompleted(OutputOperationInfo) {}

// OnReceiverStarted does nothing.
func (NoopListener) OnReceiverStarted(ReceiverInfo) {}

// OnReceiverError does nothing.
func (NoopListener) OnReceiverError(ReceiverInfo) {}

// OnReceiverStopped does nothing.
func (NoopListener) OnReceiverStopped(ReceiverInfo) {}

// listenerBus delivers events in order on one goroutine.
type listenerBus struct {
	mu        sync.Mutex
	listeners []StreamingListener
	queue     []func(StreamingListener)
	wake      chan struct{}
	closed    bool
	done      chan struct{}
	logger    hclog.Logger
	goroutine atomic.Uint64 // the ID of run's goroutine, 0 before run
}

func newListenerBus(logger hclog.Logger) *listenerBus {
	return &listenerBus{wake: make(chan struct{}, 1), done: make(chan struct{}), logger: logger}
}

func (b *listenerBus) add(l StreamingListener) {
	b.mu.Lock()
	b.listeners = append(b.listeners, l)
	b.mu.Unlock()
}

func (b *listenerBus) remove(l StreamingListener) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, x := range b.listeners {
		if x == l {
			b.listeners = append(b.listeners[:i:i], b.listeners[i+1:]...)
			return
		}
	}
}

// post queues an event; it never blocks.
func (b *listenerBus) post(ev func(StreamingListener)) {
	b.mu.Lock()
	if b.closed || len(b.listeners) == 0 {
		b.mu.Unlock()
		return
	}
	b.queue = append(b.queue, ev)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// run delivers events until close, then drains the queue.
func (b *listenerBus) run() {
	defer close(b.done)
	b.goroutine.Store(goroutineID())
	for {
		b.mu.Lock()
		evs, ls, closed := b.queue, b.listeners, b.closed
		b.queue = nil
		b.mu.Unlock()
		for _, ev := range evs {
			for _, l := range ls {
				b.deliver(l, ev)
			}
		}
		if len(evs) > 0 {
			continue
		}
		if closed {
			return
		}
		<-b.wake
	}
}

// deliver calls one listener, containing its panic: a broken listener must
// not take the context down.
func (b *listenerBus) deliver(l StreamingListener, ev func(StreamingListener)) {
	defer func() {
		if v := recover(); v != nil {
			b.logger.Error("streaming listener panicked", "listener", fmt.Sprintf("%T", l), "panic", v)
		}
	}()
	ev(l)
}

func (b *listenerBus) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	<-b.done
}

// onBusGoroutine reports whether the caller runs on the bus's goroutine,
// that is, inside a listener.
func (b *listenerBus) onBusGoroutine() bool {
	id := b.goroutine.Load()
	return id != 0 && id == goroutineID()
}

// goroutineID returns the calling goroutine's ID, read from the first line
// of its stack trace ("goroutine 18 [running]:"). Go has no goroutine-local
// variables; Spark checks a thread-local to refuse a stop from its
// listener bus. IDs are never reused, so a goroutine that has ended matches
// no caller.
func goroutineID() uint64 {
	var buf [64]byte
	line := bytes.TrimPrefix(buf[:runtime.Stack(buf[:], false)], []byte("goroutine "))
	if i := bytes.IndexByte(line, ' '); i >= 0 {
		line = line[:i]
	}
	id, _ := strconv.ParseUint(string(line), 10, 64)
	return id
}
