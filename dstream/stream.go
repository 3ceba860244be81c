package dstream

import (
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-io/sluice/rdd"
)

// node is the untyped view of a stream that the graph walks.
type node interface {
	info() *streamInfo
	initialize(zero time.Time)
	rememberFor(d time.Duration)
	clearOld(t time.Time)
	validate() error
}

// streamInfo is the part of a stream that does not depend on its element type.
type streamInfo struct {
	graph   *Graph
	id      int
	kind    string
	name    atomic.Pointer[string] // SetName's; read by describe, which runs under other locks
	slide   time.Duration
	parents []node

	mu       sync.Mutex
	zeroTime time.Time
	ready    bool
	// remember is how long generated RDDs are kept after their batch time.
	remember time.Duration
	// parentExtra is added to remember for the parents: the window length
	// for windowed streams.
	parentExtra time.Duration
	// pushed is the largest remember rememberFor has asked of the parents
	// (pushedAny once it has): a stream reached by many paths passes a
	// duration on once, not once per path (a graph of shared parents took
	// time exponential in its depth to start).
	pushed    time.Duration
	pushedAny bool
	// mustCheckpoint and checkpointInterval follow Spark's rules for
	// stateful and inverse-window streams.
	mustCheckpoint     bool
	checkpointInterval time.Duration
	// slidesPerCheckpoint, when set, makes the default interval that many
	// slides (MapWithState's, Spark's InternalMapWithStateDStream: 10)
	// instead of DefaultCheckpointInterval.
	slidesPerCheckpoint int
	// checkpointer is set on streams that hold data across batches
	// (checkpoint.go).
	checkpointer checkpointer
	validateFn   func() error
}

func (in *streamInfo) info() *streamInfo { return in }

// initialize fixes the zero time, the checkpoint interval and the minimum
// remember duration as Spark's DStream.initialize does, then recurses.
func (in *streamInfo) initialize(zero time.Time) {
	in.mu.Lock()
	if in.ready {
		in.mu.Unlock()
		return
	}
	in.zeroTime, in.ready = zero, true
	if in.mustCheckpoint && in.checkpointInterval == 0 {
		in.checkpointInterval = DefaultCheckpointInterval(in.slide)
		if in.slidesPerCheckpoint > 0 {
			in.checkpointInterval = time.Duration(in.slidesPerCheckpoint) * in.slide
		}
	}
	minRemember := in.slide
	if in.checkpointInterval != 0 && minRemember <= in.checkpointInterval {
		minRemember = 2 * in.checkpointInterval
	}
	in.remember = max(in.remember, minRemember)
	in.mu.Unlock()
	for _, p := range in.parents {
		p.initialize(zero)
	}
}

// DefaultCheckpointInterval is Spark's default for streams that must
// checkpoint: the smallest multiple of the slide that is at least 10 s.
func DefaultCheckpointInterval(slide time.Duration) time.Duration {
	n := (10*time.Second + slide - 1) / slide
	return slide * max(n, 1)
}

// rememberFor raises the remember duration to d and propagates it, plus
// the parent extra, to the parents.
func (in *streamInfo) rememberFor(d time.Duration) {
	in.mu.Lock()
	in.remember = max(in.remember, d)
	parentRemember := in.remember + in.parentExtra
	if in.pushedAny && parentRemember <= in.pushed {
		in.mu.Unlock()
		return // the parents remember that long already
	}
	in.pushed, in.pushedAny = parentRemember, true
	in.mu.Unlock()
	for _, p := range in.parents {
		p.rememberFor(parentRemember)
	}
}

func (in *streamInfo) validate() error {
	if in.validateFn != nil {
		return in.validateFn()
	}
	return nil
}

// isTimeValid reports whether the stream produces an RDD at t: after the
// zero time and on a multiple of the slide from it.
func (in *streamInfo) isTimeValid(t time.Time) bool {
	in.mu.Lock()
	zero, ready := in.zeroTime, in.ready
	in.mu.Unlock()
	if !ready || !t.After(zero) {
		return false
	}
	return t.Sub(zero)%in.slide == 0
}

// streamName returns the name set with SetName, or "".
func (in *streamInfo) streamName() string {
	if p := in.name.Load(); p != nil {
		return *p
	}
	return ""
}

func (in *streamInfo) describe() string {
	if name := in.streamName(); name != "" {
		return fmt.Sprintf("%s %q (stream %d)", in.kind, name, in.id)
	}
	return fmt.Sprintf("%s (stream %d)", in.kind, in.id)
}

// stream is a DStream's implementation: how to compute its RDD at a batch
// time, and the RDDs already generated.
type stream[T any] struct {
	streamInfo
	compute func(t time.Time) (*rdd.RDD[T], error)

	genMu     sync.Mutex
	generated map[int64]*rdd.RDD[T] // batch time (UnixNano) → RDD, nil for none
	persist   bool
}

// DStream is a discretized stream: a sequence of RDDs of T, one per batch
// time at which the stream produces one. It is a small handle; copy it
// freely. Operations that change the element type are package functions
// (Map, FlatMap, ReduceByKey, ...); those that keep it are also methods.
type DStream[T any] struct {
	s *stream[T]
}

// newStream creates and registers a stream.
func newStream[T any](g *Graph, kind string, slide time.Duration, parents []node,
	compute func(t time.Time) (*rdd.RDD[T], error)) DStream[T] {
	s := &stream[T]{compute: compute, generated: map[int64]*rdd.RDD[T]{}}
	s.graph, s.kind, s.slide, s.parents = g, kind, slide, parents
	s.id = g.register(s)
	return DStream[T]{s}
}

// ID returns the stream's creation index in its context: its stable
// identity across restarts of the same program.
func (d DStream[T]) ID() int { return d.s.id }

// Kind returns the operation that made the stream, e.g. "Map".
func (d DStream[T]) Kind() string { return d.s.kind }

// Graph returns the graph the stream belongs to.
func (d DStream[T]) Graph() *Graph { return d.s.graph }

// SlideDuration returns the interval at which the stream produces RDDs.
func (d DStream[T]) SlideDuration() time.Duration { return d.s.slide }

// SetName names the stream for logs, errors and checkpoints, and returns it.
// A name makes the stream's checkpoint identity independent of creation order.
func (d DStream[T]) SetName(name string) DStream[T] {
	d.s.name.Store(&name)
	return d
}

// Name returns the name set with SetName, or "".
func (d DStream[T]) Name() string {
	return d.s.streamName()
}

// Persist makes every RDD the stream generates keep its partitions in memory
// once computed, so several output operations share the work. It returns d.
func (d DStream[T]) Persist() DStream[T] {
	d.s.genMu.Lock()
	d.s.persist = true
	d.s.genMu.Unlock()
	return d
}

// Cache is Persist.
func (d DStream[T]) Cache() DStream[T] { return d.Persist() }

// RememberDuration returns how long generated RDDs are kept; fixed at start.
func (d DStream[T]) RememberDuration() time.Duration {
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	return d.s.remember
}

// GetOrCompute returns the stream's RDD at batch time t, computing and
// remembering it the first time. It returns nil without error when the
// stream has no RDD at t (t not on its slide, or a parent had none).
func (d DStream[T]) GetOrCompute(t time.Time) (*rdd.RDD[T], error) { return d.s.getOrCompute(t) }

func (s *stream[T]) getOrCompute(t time.Time) (*rdd.RDD[T], error) {
	key := t.UnixNano()
	s.genMu.Lock()
	r, ok := s.generated[key]
	s.genMu.Unlock()
	if ok {
		return r, nil
	}
	if !s.isTimeValid(t) {
		return nil, nil
	}
	r, err := s.computeSafely(t)
	if err != nil {
		return nil, err
	}
	s.genMu.Lock()
	defer s.genMu.Unlock()
	if prev, ok := s.generated[key]; ok { // computed concurrently
		return prev, nil
	}
	if r != nil && s.persist {
		r.Persist()
	}
	s.generated[key] = r
	return r, nil
}

func (s *stream[T]) computeSafely(t time.Time) (r *rdd.RDD[T], err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("dstream: %s at batch %s: %w: %v", s.describe(), FormatTime(t), ErrUserPanic, v)
			s.graph.logger.Error("user function panicked", "error", err, "stack", string(debug.Stack()))
		}
	}()
	return s.compute(t)
}

// clearOld drops the RDDs generated at or before t minus the remember
// duration and releases their cached partitions.
func (s *stream[T]) clearOld(t time.Time) {
	s.mu.Lock()
	cutoff := t.Add(-s.remember).UnixNano()
	s.mu.Unlock()
	s.genMu.Lock()
	defer s.genMu.Unlock()
	for k, r := range s.generated {
		if k <= cutoff {
			delete(s.generated, k)
			if r != nil {
				r.Unpersist()
			}
		}
	}
}

// generatedCount is the number of remembered RDDs (for tests of memory).
func (s *stream[T]) generatedCount() int {
	s.genMu.Lock()
	defer s.genMu.Unlock()
	return len(s.generated)
}

// Slice returns the RDDs the stream has or can compute at every slide
// time in [from, to], both aligned down to the slide, Spark's slice.
func (d DStream[T]) Slice(from, to time.Time) ([]*rdd.RDD[T], error) {
	s := d.s
	s.mu.Lock()
	zero, ready := s.zeroTime, s.ready
	s.mu.Unlock()
	if !ready {
		return nil, fmt.Errorf("dstream: Slice of %s: %w: the stream has not been started", s.describe(), ErrInvalidStream)
	}
	align := func(t time.Time) time.Time {
		off := t.Sub(zero)
		rem := off % s.slide
		if rem < 0 {
			rem += s.slide
		}
		return t.Add(-rem)
	}
	if from.Before(zero) {
		// No RDD before the zero time: start there, not a slide at a time
		// from, say, time.Time{} (60 billion steps, and an offset from zero
		// that saturates).
		from = zero
	}
	var out []*rdd.RDD[T]
	for t := align(from); !t.After(align(to)); t = t.Add(s.slide) {
		r, err := s.getOrCompute(t)
		if err != nil {
			return nil, err
		}
		if r != nil {
			out = append(out, r)
		}
	}
	return out, nil
}

// sameGraph checks that every stream belongs to g and slides at the same
// interval, recording an error in g when not.
func checkCompatible(op string, streams ...node) (*Graph, time.Duration, bool) {
	g := streams[0].info().graph
	slide := streams[0].info().slide
	for _, s := range streams[1:] {
		if s.info().graph != g {
			g.fail(fmt.Errorf("dstream: %s: %w: the streams belong to different contexts", op, ErrInvalidStream))
			return g, slide, false
		}
		if s.info().slide != slide {
			g.fail(fmt.Errorf("dstream: %s: %w: some of the streams have different slide durations (%v and %v)", op, ErrInvalidStream, slide, s.info().slide))
			return g, slide, false
		}
	}
	return g, slide, true
}
