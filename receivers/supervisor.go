package receivers

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

// Default settings of a Supervisor; each option's doc names the one it overrides.
const (
	// DefaultBlockInterval is how often stored records are cut into a block.
	DefaultBlockInterval = 200 * time.Millisecond
	// DefaultMaxPendingBlocks bounds the blocks cut but not yet allocated.
	DefaultMaxPendingBlocks = 1024
	// DefaultRestartMinBackoff is the first wait before restarting a failed receiver.
	DefaultRestartMinBackoff = 100 * time.Millisecond
	// DefaultRestartMaxBackoff caps the doubling wait between restarts.
	DefaultRestartMaxBackoff = 10 * time.Second
)

// Option configures a Supervisor.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	name          string
	streamID      int
	blockInterval time.Duration
	ticks         <-chan time.Time
	maxPending    int
	maxRate       float64
	now           func() time.Time
	minBackoff    time.Duration
	maxBackoff    time.Duration
	listeners     []Listener
	logger        hclog.Logger
	wal           walWriter
}

// WithName names the receiver in logs and events (default "receiver-<stream id>").
func WithName(name string) Option { return optionFunc(func(c *config) { c.name = name }) }

// WithStreamID sets the input stream id carried by block ids and events (default 0).
func WithStreamID(id int) Option { return optionFunc(func(c *config) { c.streamID = id }) }

// WithBlockInterval sets how often stored records are cut into a block
// (Spark's spark.streaming.blockInterval; default DefaultBlockInterval, 200 ms).
func WithBlockInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.blockInterval = d })
}

// WithBlockTicks replaces the supervisor's block ticker by ticks: a block is
// cut at every value received. For tests; the default is a time.Ticker of the
// block interval.
func WithBlockTicks(ticks <-chan time.Time) Option {
	return optionFunc(func(c *config) { c.ticks = ticks })
}

// WithMaxPendingBlocks bounds the blocks cut but not yet allocated (default
// DefaultMaxPendingBlocks); Store and StoreMany block while the bound is
// reached, until AllocateBlocks makes room or the run ends.
func WithMaxPendingBlocks(n int) Option { return optionFunc(func(c *config) { c.maxPending = n }) }

// WithMaxRate caps the records stored per second (Spark's
// spark.streaming.receiver.maxRate; default 0, unlimited).
func WithMaxRate(recordsPerSecond float64) Option {
	return optionFunc(func(c *config) { c.maxRate = recordsPerSecond })
}

// WithClock sets the clock of the rate limiter (default time.Now). For tests.
func WithClock(now func() time.Time) Option { return optionFunc(func(c *config) { c.now = now }) }

// WithRestartBackoff sets the exponential backoff between a failure and the
// next start when Restart gives no delay (default DefaultRestartMinBackoff
// doubling up to DefaultRestartMaxBackoff). It resets once a run stores a
// record. A min of 0 restarts a failed receiver at once, every time.
func WithRestartBackoff(min, max time.Duration) Option {
	return optionFunc(func(c *config) { c.minBackoff, c.maxBackoff = min, max })
}

// WithListener adds a listener of receiver events (default none).
func WithListener(l Listener) Option {
	return optionFunc(func(c *config) { c.listeners = append(c.listeners, l) })
}

// WithLogger sets the logger (default hclog.Default()).
func WithLogger(l hclog.Logger) Option { return optionFunc(func(c *config) { c.logger = l }) }

// WithWAL makes the supervisor write every block to w before it is queued for
// allocation and record every allocation in it (Spark's
// spark.streaming.receiver.writeAheadLog.enable). Blocks that w recovered and
// that were never allocated are queued ahead of new ones; the ones allocated
// to unprocessed batches are returned by Supervisor.RecoveredBatches. A
// block cut by the ticker whose append fails is reported and kept; it is
// appended again when blocks are allocated, and AllocateBlocks fails
// (keeping every block for the next call) while that append fails: no batch
// is given a block a restart could not replay. The caller owns w: it closes
// w after Supervisor.Stop.
func WithWAL[T any](w *WAL[T]) Option {
	return optionFunc(func(c *config) { c.wal = w })
}

// Supervisor runs one Receiver: it starts it, restarts it with backoff when it
// asks or fails, cuts what it stores into blocks, and stops it (Spark's
// ReceiverSupervisor with its BlockGenerator and RateLimiter). The streaming
// context calls AllocateBlocks at each batch time and UpdateRate after each
// batch. All methods are safe for concurrent use.
type Supervisor[T any] struct {
	recv    Receiver[T]
	cfg     config
	name    string
	log     hclog.Logger
	limiter *tokenBucket
	blocks  *blockBuffer[T]
	events  *dispatcher

	recovered []BatchBlocks[T]

	mu        sync.Mutex
	started   bool
	current   *Handle[T]
	info      ReceiverInfo
	stopOnce  sync.Once
	stopCh    chan struct{} // closed by Stop
	done      chan struct{} // closed when the run loop has exited
	tickQuit  chan struct{}
	tickDone  chan struct{}
	stopErr   error
	stopEnded chan struct{}
}

// BatchBlocks is the blocks allocated to one batch time.
type BatchBlocks[T any] struct {
	Time   time.Time
	Blocks []Block[T]
}

// NewSupervisor returns a supervisor for r; nothing runs before Start.
func NewSupervisor[T any](r Receiver[T], opts ...Option) (*Supervisor[T], error) {
	cfg := config{
		blockInterval: DefaultBlockInterval,
		maxPending:    DefaultMaxPendingBlocks,
		now:           time.Now,
		minBackoff:    DefaultRestartMinBackoff,
		maxBackoff:    DefaultRestartMaxBackoff,
	}
	for _, o := range opts {
		o.apply(&cfg)
	}
	if cfg.name == "" {
		cfg.name = fmt.Sprintf("receiver-%d", cfg.streamID)
	}
	switch {
	case r == nil:
		return nil, fmt.Errorf("%w: nil receiver", ErrInvalidConfig)
	case cfg.blockInterval <= 0 && cfg.ticks == nil:
		return nil, fmt.Errorf("%w: block interval %v must be positive", ErrInvalidConfig, cfg.blockInterval)
	case cfg.maxPending <= 0:
		return nil, fmt.Errorf("%w: max pending blocks %d must be positive", ErrInvalidConfig, cfg.maxPending)
	case cfg.maxRate < 0:
		return nil, fmt.Errorf("%w: max rate %v must not be negative", ErrInvalidConfig, cfg.maxRate)
	case cfg.minBackoff < 0 || cfg.maxBackoff < cfg.minBackoff:
		return nil, fmt.Errorf("%w: restart backoff %v..%v", ErrInvalidConfig, cfg.minBackoff, cfg.maxBackoff)
	}
	log := cfg.logger
	if log == nil {
		log = hclog.Default()
	}
	log = log.Named(cfg.name)
	s := &Supervisor[T]{
		recv:      r,
		cfg:       cfg,
		name:      cfg.name,
		log:       log,
		limiter:   newTokenBucket(cfg.maxRate, cfg.now),
		stopCh:    make(chan struct{}),
		done:      make(chan struct{}),
		tickQuit:  make(chan struct{}),
		tickDone:  make(chan struct{}),
		stopEnded: make(chan struct{}),
		info:      ReceiverInfo{StreamID: cfg.streamID, Name: cfg.name},
	}
	s.events = newDispatcher(log, cfg.listeners)
	s.blocks = newBlockBuffer[T](cfg.streamID, cfg.maxPending, log, func(msg string, err error) {
		s.reportError(-1, msg, err)
	})
	if cfg.wal != nil {
		w, ok := cfg.wal.(*WAL[T])
		if !ok {
			return nil, fmt.Errorf("%w: write-ahead log of another record type", ErrInvalidConfig)
		}
		s.blocks.wal = w
		unallocated, batches := w.recovered(cfg.streamID)
		s.recovered = batches
		s.blocks.restore(unallocated, w.nextSeq(cfg.streamID))
	}
	return s, nil
}

// Name returns the receiver's name.
func (s *Supervisor[T]) Name() string { return s.name }

// Info returns a snapshot of the receiver's state.
func (s *Supervisor[T]) Info() ReceiverInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info
}

// Start starts the receiver, the block ticker and the event goroutine. It
// returns at once; OnStart is called from the supervisor's goroutine.
func (s *Supervisor[T]) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return fmt.Errorf("%w: %s", ErrAlreadyStarted, s.name)
	}
	select {
	case <-s.stopCh:
		return fmt.Errorf("%w: %s stopped before start", ErrStopped, s.name)
	default:
	}
	s.started = true
	s.events.start()
	ticks, stopTicker := s.cfg.ticks, func() {}
	if ticks == nil {
		t := time.NewTicker(s.cfg.blockInterval)
		ticks, stopTicker = t.C, t.Stop
	}
	go s.tickLoop(ticks, stopTicker)
	go s.run()
	return nil
}

func (s *Supervisor[T]) tickLoop(ticks <-chan time.Time, stopTicker func()) {
	defer close(s.tickDone)
	defer stopTicker()
	for {
		select {
		case <-ticks:
			s.blocks.cut()
		case <-s.tickQuit:
			return
		}
	}
}

// run is the supervisor's main goroutine: one iteration per run of the receiver.
func (s *Supervisor[T]) run() {
	defer close(s.done)
	failures := 0
	for gen := 0; ; gen++ {
		h := newHandle(s, gen)
		s.mu.Lock()
		s.current = h
		s.info.Active, s.info.Generation = true, gen
		startInfo := s.info
		s.mu.Unlock()
		s.log.Info("starting receiver", "generation", gen)
		s.events.post(func(l Listener) { l.OnReceiverStarted(startInfo) })
		h.started.Store(true)
		if err := callRecovered(func() { s.recv.OnStart(h) }); err != nil {
			h.Restart("panic in OnStart", err, 0)
		}
		select {
		case <-h.requested:
		case <-s.stopCh:
			h.Stop("supervisor stopped", nil)
		}
		<-h.requested
		if err := callRecovered(s.recv.OnStop); err != nil {
			s.reportError(gen, "panic in OnStop", err)
		}
		h.wg.Wait()
		s.mu.Lock()
		s.info.Active = false
		stopInfo := s.info
		s.mu.Unlock()
		s.log.Info("receiver stopped", "generation", gen)
		s.events.post(func(l Listener) { l.OnReceiverStopped(stopInfo) })
		if h.req.stop {
			return
		}
		delay := h.req.delay
		if h.stored.Load() {
			failures = 0
		}
		if delay <= 0 {
			delay = restartBackoff(s.cfg.minBackoff, s.cfg.maxBackoff, failures)
			failures++
		}
		s.log.Info("restarting receiver", "delay", delay, "reason", h.req.msg)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-s.stopCh:
			t.Stop()
			return
		}
	}
}

// restartBackoff is the wait before the restart that follows the given
// number of consecutive failures: first doubled that many times, capped at
// limit. A first of 0 restarts at once, every time; the doubling stops at
// limit, so it cannot overflow.
func restartBackoff(first, limit time.Duration, failures int) time.Duration {
	if first <= 0 {
		return 0
	}
	d := first
	for range failures {
		if d > limit/2 {
			return limit
		}
		d *= 2
	}
	return min(d, limit)
}

func (s *Supervisor[T]) reportError(gen int, msg string, err error) {
	s.mu.Lock()
	s.info.LastErrorMessage, s.info.LastError, s.info.LastErrorTime = msg, err, time.Now()
	info := s.info
	s.mu.Unlock()
	s.log.Warn(msg, "error", err, "generation", gen)
	s.events.post(func(l Listener) { l.OnReceiverError(info) })
}

// Done returns a channel closed when the receiver has stopped for good: after
// Handle.Stop or Supervisor.Stop, once OnStop has returned and the receiver's
// goroutines have exited.
func (s *Supervisor[T]) Done() <-chan struct{} { return s.done }

// Stop stops the receiver and waits: the current run's Context is cancelled,
// OnStop is called, the goroutines started with Handle.Go are waited for, the
// partial block is cut (so a last AllocateBlocks returns it), the ticker stops
// and every event is delivered. Stop is idempotent; Store blocked on a full
// buffer returns ErrStopped, so Stop never deadlocks on a slow consumer.
// Called from a Listener, Stop waits for all of that but the events still
// queued: the event goroutine, which is running the listener, delivers them
// (the stopped event among them) once the listener returns. The receiver's
// own code (OnStart, OnStop, a goroutine started with Handle.Go) must not
// call it, as it would wait for itself: it calls Handle.Stop, which does
// not wait.
func (s *Supervisor[T]) Stop() error {
	fromListener := s.events.onLoop()
	s.stopOnce.Do(func() {
		close(s.stopCh)
		s.mu.Lock()
		started := s.started
		s.mu.Unlock()
		if started {
			<-s.done
			close(s.tickQuit)
			<-s.tickDone
			s.blocks.cut()
			s.events.close()
		}
		close(s.stopEnded)
	})
	<-s.stopEnded
	if !fromListener {
		s.events.wait()
	}
	return s.stopErr
}

// AllocateBlocks cuts the block being built and returns every block not yet
// allocated, oldest first, recording the allocation to batchTime in the
// write-ahead log if there is one (Spark's ReceivedBlockTracker.allocateBlocksToBatch).
// Everything for which Store or StoreMany returned before the call is in the
// result or in an earlier one. Call it once per batch time, in increasing order.
func (s *Supervisor[T]) AllocateBlocks(batchTime time.Time) ([]Block[T], error) {
	blocks, err := s.blocks.allocate(batchTime)
	if err != nil {
		return nil, fmt.Errorf("allocate blocks of %s to batch %v: %w", s.name, batchTime, err)
	}
	return blocks, nil
}

// MarkProcessed records that the batch at batchTime completed, so the
// write-ahead log may delete the segments it no longer needs. Without a
// write-ahead log it does nothing.
func (s *Supervisor[T]) MarkProcessed(batchTime time.Time) error {
	if s.blocks.wal == nil {
		return nil
	}
	if err := s.blocks.wal.MarkProcessed(batchTime); err != nil {
		return fmt.Errorf("mark batch %v processed in %s: %w", batchTime, s.name, err)
	}
	return nil
}

// RecoveredBatches returns the batches the write-ahead log recovered that
// were allocated but not marked processed, in batch-time order, so the
// context can run them again. It is nil without a write-ahead log.
func (s *Supervisor[T]) RecoveredBatches() []BatchBlocks[T] { return s.recovered }

// UpdateRate sets the rate estimated by backpressure (Spark's
// RateController publishing to the receiver's RateLimiter): the receiver then
// stores at most min(newRate, max rate) records per second. A rate of zero or
// less is ignored.
func (s *Supervisor[T]) UpdateRate(newRate float64) {
	if newRate <= 0 {
		return
	}
	if s.cfg.maxRate > 0 {
		newRate = min(newRate, s.cfg.maxRate)
	}
	s.limiter.setRate(newRate)
}

// Rate returns the current limit in records per second, 0 when unlimited.
func (s *Supervisor[T]) Rate() float64 { return s.limiter.currentRate() }

// dispatcher delivers events to listeners in order from one goroutine.
type dispatcher struct {
	log       hclog.Logger
	listeners []Listener
	mu        sync.Mutex
	queue     []func(Listener)
	wake      chan struct{}
	quit      chan struct{}
	done      chan struct{}
	running   bool
	goroutine atomic.Uint64 // the ID of loop's goroutine, 0 before loop
}

func newDispatcher(log hclog.Logger, ls []Listener) *dispatcher {
	return &dispatcher{log: log, listeners: ls, wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
}

func (d *dispatcher) start() {
	d.running = true
	go d.loop()
}

func (d *dispatcher) post(ev func(Listener)) {
	if len(d.listeners) == 0 {
		return
	}
	d.mu.Lock()
	d.queue = append(d.queue, ev)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *dispatcher) loop() {
	defer close(d.done)
	d.goroutine.Store(goroutineID())
	for {
		select {
		case <-d.wake:
			d.drain()
		case <-d.quit:
			d.drain()
			return
		}
	}
}

func (d *dispatcher) drain() {
	for {
		d.mu.Lock()
		q := d.queue
		d.queue = nil
		d.mu.Unlock()
		if len(q) == 0 {
			return
		}
		for _, ev := range q {
			for _, l := range d.listeners {
				if err := callRecovered(func() { ev(l) }); err != nil {
					d.log.Error("listener panicked", "error", err)
				}
			}
		}
	}
}

// close makes the loop deliver the events queued and exit; it does not
// wait, so that a listener may call it. Call it once, after start if start
// was called.
func (d *dispatcher) close() {
	if d.running {
		close(d.quit)
	}
}

// wait waits for the loop to exit, after close.
func (d *dispatcher) wait() {
	if d.running {
		<-d.done
	}
}

// onLoop reports whether the caller runs on the loop's goroutine, that is,
// inside a listener.
func (d *dispatcher) onLoop() bool {
	id := d.goroutine.Load()
	return id != 0 && id == goroutineID()
}

// goroutineID returns the calling goroutine's ID, read from the first line
// of its stack trace ("goroutine 18 [running]:"); Go has no goroutine-local
// variables. IDs are never reused, so a goroutine that has ended matches no
// caller.
func goroutineID() uint64 {
	var buf [64]byte
	line := bytes.TrimPrefix(buf[:runtime.Stack(buf[:], false)], []byte("goroutine "))
	if i := bytes.IndexByte(line, ' '); i >= 0 {
		line = line[:i]
	}
	id, _ := strconv.ParseUint(string(line), 10, 64)
	return id
}
