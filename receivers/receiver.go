package receivers

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Receiver is a source of records, Spark's Receiver in Go. A Supervisor calls
// OnStart once per run of the receiver (again after every restart) and OnStop
// when that run ends. Both must return promptly: OnStart starts the receiver's
// own goroutines (preferably with Handle.Go, so the supervisor waits for them
// and recovers their panics) and OnStop releases what OnStart acquired. The
// Handle passed to OnStart belongs to that run only: its Context is cancelled
// when the run must end, and its Store methods fail with ErrStopped afterwards.
type Receiver[T any] interface {
	OnStart(h *Handle[T])
	OnStop()
}

// Handle is a receiver's view of its supervisor for one run (Spark's
// Receiver.store, reportError, restart, stop, isStarted and isStopped). It is
// safe for concurrent use by the receiver's goroutines.
type Handle[T any] struct {
	sup    *Supervisor[T]
	gen    int
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	reqOnce   sync.Once
	requested chan struct{} // closed by the first Restart or Stop of this run
	req       runRequest

	started atomic.Bool
	stored  atomic.Bool
}

type runRequest struct {
	stop  bool
	msg   string
	err   error
	delay time.Duration
}

func newHandle[T any](s *Supervisor[T], gen int) *Handle[T] {
	ctx, cancel := context.WithCancel(context.Background())
	return &Handle[T]{sup: s, gen: gen, ctx: ctx, cancel: cancel, requested: make(chan struct{})}
}

// Context returns a context that is cancelled when this run of the receiver
// must end: on Restart, on Stop, or when the supervisor stops. Blocking reads
// and dials should use it so that a stop never waits on the network.
func (h *Handle[T]) Context() context.Context { return h.ctx }

// Logger returns the supervisor's logger, named after the receiver.
func (h *Handle[T]) Logger() hclog.Logger { return h.sup.log }

// Store adds one record to the block being built (Spark's store(dataItem)).
// It waits for the rate limiter and for room in the buffer of unallocated
// blocks, and returns ErrStopped if the run ends meanwhile. A record for which
// Store returned nil is in the batch allocated next or an earlier one; with a
// write-ahead log it is made durable when its block is cut, not before Store
// returns: use StoreMany when the source must be acknowledged.
func (h *Handle[T]) Store(rec T) error {
	if h.ctx.Err() != nil {
		return fmt.Errorf("%w: store in %s", ErrStopped, h.sup.name)
	}
	if err := h.sup.limiter.wait(h.ctx, 1); err != nil {
		return fmt.Errorf("%w: store in %s", ErrStopped, h.sup.name)
	}
	if err := h.sup.blocks.add(h.ctx, rec); err != nil {
		return fmt.Errorf("%w: store in %s", err, h.sup.name)
	}
	h.stored.Store(true)
	return nil
}

// StoreMany stores records as one block of their own (Spark's
// store(ArrayBuffer)), after the records stored before it. It returns only
// once the block is safely held: queued for allocation and, with a
// write-ahead log, appended and fsynced. A reliable receiver acknowledges its
// source after StoreMany returns nil. The slice is copied.
func (h *Handle[T]) StoreMany(recs []T) error {
	if h.ctx.Err() != nil {
		return fmt.Errorf("%w: store in %s", ErrStopped, h.sup.name)
	}
	if len(recs) == 0 {
		return nil
	}
	if err := h.sup.limiter.wait(h.ctx, len(recs)); err != nil {
		return fmt.Errorf("%w: store in %s", ErrStopped, h.sup.name)
	}
	if err := h.sup.blocks.addMany(h.ctx, recs); err != nil {
		return fmt.Errorf("store %d records in %s: %w", len(recs), h.sup.name, err)
	}
	h.stored.Store(true)
	return nil
}

// ReportError reports an error that does not stop the receiver (Spark's
// reportError): it is logged and delivered to listeners as a receiver error.
func (h *Handle[T]) ReportError(msg string, err error) {
	h.sup.reportError(h.gen, msg, err)
}

// Restart ends this run and starts the receiver again after delay (Spark's
// restart). It does not block: the supervisor cancels the Context, calls
// OnStop, waits for the goroutines started with Go, waits delay and calls
// OnStart with a new Handle. A delay of zero or less uses the supervisor's
// exponential backoff. A non-nil err is reported as a receiver error. Only the
// first Restart or Stop of a run takes effect.
func (h *Handle[T]) Restart(msg string, err error, delay time.Duration) {
	h.request(runRequest{msg: msg, err: err, delay: delay})
}

// Stop ends this run and the receiver for good (Spark's stop). It does not
// block; the supervisor's Done channel is closed once OnStop has returned and
// the receiver's goroutines have exited. A non-nil err is reported.
func (h *Handle[T]) Stop(msg string, err error) {
	h.request(runRequest{stop: true, msg: msg, err: err})
}

func (h *Handle[T]) request(r runRequest) {
	h.reqOnce.Do(func() {
		h.req = r
		if r.err != nil {
			h.sup.reportError(h.gen, r.msg, r.err)
		} else if r.msg != "" {
			h.sup.log.Info("receiver run ending", "generation", h.gen, "reason", r.msg, "stop", r.stop)
		}
		h.cancel()
		close(h.requested)
	})
}

// IsStarted reports whether OnStart has been called for this run and the run
// has not been asked to end.
func (h *Handle[T]) IsStarted() bool { return h.started.Load() && h.ctx.Err() == nil }

// IsStopped reports whether this run has been asked to end (by Restart, Stop
// or the supervisor). A receiver's loops should exit when it returns true.
func (h *Handle[T]) IsStopped() bool { return h.ctx.Err() != nil }

// Go runs f in a goroutine owned by the supervisor: the run does not end until
// f returns, so f must return when ctx (the Handle's Context) is done. A panic
// in f is recovered and restarts the receiver with an error wrapping ErrPanic.
// Call Go from OnStart or from a goroutine already started with Go.
func (h *Handle[T]) Go(f func(ctx context.Context)) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		if err := callRecovered(func() { f(h.ctx) }); err != nil {
			h.Restart("panic in receiver goroutine", err, 0)
		}
	}()
}

// callRecovered calls f and turns a panic into an error wrapping ErrPanic.
func callRecovered(f func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v\n%s", ErrPanic, p, debug.Stack())
		}
	}()
	f()
	return nil
}

// ReceiverInfo describes a receiver in listener events (Spark's ReceiverInfo).
type ReceiverInfo struct {
	// StreamID is the input stream's id, set with WithStreamID.
	StreamID int
	// Name is the receiver's name, set with WithName.
	Name string
	// Active is true between a run's start and its stop.
	Active bool
	// Generation counts the runs: 0 for the first, one more after each restart.
	Generation int
	// LastErrorMessage, LastError and LastErrorTime describe the most recent error.
	LastErrorMessage string
	LastError        error
	LastErrorTime    time.Time
}

// Listener receives a supervisor's events, in the order they happened, from
// one goroutine owned by the supervisor (Spark's StreamingListener
// onReceiverStarted, onReceiverError and onReceiverStopped). Each run of the
// receiver yields a started event and, when it ends, a stopped event; errors
// come in between. Methods must not block for long; they may call the
// Supervisor.
type Listener interface {
	OnReceiverStarted(info ReceiverInfo)
	OnReceiverError(info ReceiverInfo)
	OnReceiverStopped(info ReceiverInfo)
}
