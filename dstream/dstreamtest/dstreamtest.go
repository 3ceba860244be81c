// Package dstreamtest runs DStream pipelines deterministically in tests, the
// way Spark's own suites do: one slice of input per batch, a manual clock
// advanced one batch at a time, and the output of each batch collected.
//
//	out := dstreamtest.Run(t, time.Second, [][]string{{"a", "b"}, {"a"}},
//	    func(in dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int64]] {
//	        return dstream.CountByValue(in)
//	    }, 2)
package dstreamtest

import (
	stdctx "context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/rdd"
)

// Partitions is the number of partitions each batch's input is split into,
// as in Spark's TestSuiteBase.
const Partitions = 2

// StepTimeout bounds, in real time, how long Step waits for one batch.
var StepTimeout = 30 * time.Second

// Harness is a streaming context on a manual clock with helpers to step it
// batch by batch. Build streams on Context(), register outputs, then call
// Start and Step.
type Harness struct {
	tb        testing.TB
	ssc       *context.StreamingContext
	clock     *context.ManualClock
	completed *completionListener
	stopOnce  sync.Once
}

// NewHarness returns a harness with a fresh context of the given batch
// interval on a manual clock starting at the Unix epoch. The context is
// stopped when the test ends. Its logger writes warnings and errors to
// stderr, not the lifecycle messages of every context a test makes (which
// `go test -bench` would interleave with the results); a WithLogger among
// opts replaces it.
func NewHarness(tb testing.TB, batch time.Duration, opts ...context.Option) *Harness {
	tb.Helper()
	clock := context.NewManualClock(time.Time{})
	quiet := hclog.New(&hclog.LoggerOptions{Level: hclog.Warn})
	ssc, err := context.NewStreamingContext(batch, append([]context.Option{context.WithClock(clock), context.WithLogger(quiet)}, opts...)...)
	if err != nil {
		tb.Fatalf("dstreamtest: %v", err)
	}
	h := &Harness{tb: tb, ssc: ssc, clock: clock, completed: &completionListener{byTime: map[int64]context.BatchInfo{}, added: make(chan struct{}, 1)}}
	ssc.AddStreamingListener(h.completed)
	tb.Cleanup(h.Stop)
	return h
}

// completionListener records the completed batches by time. It never
// blocks the listener bus (a bus that blocks stalls Stop), however many
// batches complete without a Step (a test advancing the clock itself).
type completionListener struct {
	context.NoopListener
	mu     sync.Mutex
	byTime map[int64]context.BatchInfo
	added  chan struct{} // signalled, without blocking, after each completion
}

func (l *completionListener) OnBatchCompleted(b context.BatchInfo) {
	l.mu.Lock()
	l.byTime[b.BatchTime.UnixNano()] = b
	l.mu.Unlock()
	select {
	case l.added <- struct{}{}:
	default:
	}
}

// take returns and forgets the completion of batch t, forgetting those
// before it too.
func (l *completionListener) take(t time.Time) (context.BatchInfo, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.byTime[t.UnixNano()]
	if ok {
		for bt := range l.byTime {
			if bt <= t.UnixNano() {
				delete(l.byTime, bt)
			}
		}
	}
	return b, ok
}

// Context returns the harness's streaming context.
func (h *Harness) Context() *context.StreamingContext { return h.ssc }

// Clock returns the manual clock.
func (h *Harness) Clock() *context.ManualClock { return h.clock }

// Start starts the context, failing the test on error. When the graph
// has a stream that must checkpoint (stateful, or a window with an inverse)
// and the context no checkpoint directory, Start gives it a temporary one,
// so that such pipelines can be tested as they are.
func (h *Harness) Start() {
	h.tb.Helper()
	if h.ssc.CheckpointDir() == "" && h.ssc.Graph().NeedsCheckpoint() {
		if err := h.ssc.Checkpoint(h.tb.TempDir()); err != nil {
			h.tb.Fatalf("dstreamtest: %v", err)
		}
		h.tb.Cleanup(h.Stop) // stop writing before the directory is removed
	}
	if err := h.ssc.Start(); err != nil {
		h.tb.Fatalf("dstreamtest: Start: %v", err)
	}
}

// Step advances the clock by one batch interval and waits until that batch
// has completed, returning its BatchInfo. It fails the test if the context
// stops first or the batch takes longer than StepTimeout.
func (h *Harness) Step() context.BatchInfo {
	h.tb.Helper()
	b, err := h.TryStep()
	if err != nil {
		h.tb.Fatalf("dstreamtest: %v", err)
	}
	return b
}

// mustStep is Step failing the test when the batch failed too.
func (h *Harness) mustStep() {
	h.tb.Helper()
	if err := h.Step().Err(); err != nil {
		h.tb.Fatalf("dstreamtest: %v", err)
	}
}

// TryStep is Step returning an error instead of failing the test.
func (h *Harness) TryStep() (context.BatchInfo, error) {
	h.clock.Advance(h.ssc.BatchInterval())
	want := h.clock.Now()
	timeout := time.NewTimer(StepTimeout)
	defer timeout.Stop()
	for {
		if b, ok := h.completed.take(want); ok {
			return b, nil
		}
		select {
		case <-h.completed.added:
		case <-h.ssc.Done():
			// The last batch may have completed just before the stop.
			if b, ok := h.completed.take(want); ok {
				return b, fmt.Errorf("context stopped after batch %s: %w", dstream.FormatTime(want), h.ssc.AwaitTermination())
			}
			return context.BatchInfo{}, fmt.Errorf("context stopped before batch %s completed: %w", dstream.FormatTime(want), h.ssc.AwaitTermination())
		case <-timeout.C:
			return context.BatchInfo{}, fmt.Errorf("batch %s did not complete within %v", dstream.FormatTime(want), StepTimeout)
		}
	}
}

// AwaitCheckpoint waits until the checkpoint of the last batch stepped is
// durable (checkpoints are written off the batch path), failing the test if
// it is not written within StepTimeout. The context must have a checkpoint
// directory.
func (h *Harness) AwaitCheckpoint() {
	h.tb.Helper()
	ctx, cancel := stdctx.WithTimeout(stdctx.Background(), StepTimeout)
	defer cancel()
	if err := h.ssc.AwaitCheckpoint(ctx, h.clock.Now()); err != nil {
		h.tb.Fatalf("dstreamtest: %v", err)
	}
}

// Stop stops the context without waiting for queued input. It is called
// when the test ends.
func (h *Harness) Stop() {
	h.stopOnce.Do(func() { _ = h.ssc.Stop(false) })
}

// Input returns a queue stream fed one batch per slice of input, each split
// into Partitions partitions; batches after the last slice are empty.
func Input[T any](h *Harness, input [][]T) dstream.DStream[T] {
	q := context.NewQueue[T]()
	for _, batch := range input {
		q.PushSlice(batch, Partitions)
	}
	return context.QueueStream(h.ssc, q, true)
}

// Collector gathers what a stream outputs at each batch where it has an RDD.
type Collector[T any] struct {
	mu      sync.Mutex
	batches [][]T
	times   []time.Time
}

// Collect registers an output operation on d that collects each batch.
func Collect[T any](d dstream.DStream[T]) *Collector[T] {
	c := &Collector[T]{}
	d.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[T], t time.Time) error {
		xs, err := r.Collect(ctx)
		if err != nil {
			return err
		}
		if xs == nil {
			xs = []T{}
		}
		c.mu.Lock()
		c.batches = append(c.batches, xs)
		c.times = append(c.times, t)
		c.mu.Unlock()
		return nil
	})
	return c
}

// Batches returns the collected batches in batch order.
func (c *Collector[T]) Batches() [][]T {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]T(nil), c.batches...)
}

// Times returns the batch time of each collected batch.
func (c *Collector[T]) Times() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.times...)
}

// Run feeds input to a pipeline, one slice per batch, runs numBatches
// batches and returns the output of each batch at which the output stream
// had an RDD (order within a batch unspecified). It fails the test on any
// error.
func Run[T, U any](tb testing.TB, batch time.Duration, input [][]T,
	build func(dstream.DStream[T]) dstream.DStream[U], numBatches int) [][]U {
	tb.Helper()
	h := NewHarness(tb, batch)
	out := Collect(build(Input(h, input)))
	h.Start()
	for range numBatches {
		h.mustStep()
	}
	h.Stop()
	return out.Batches()
}

// Run2 is Run for a pipeline of two inputs, for joins, unions and cogroups.
func Run2[T1, T2, U any](tb testing.TB, batch time.Duration, input1 [][]T1, input2 [][]T2,
	build func(dstream.DStream[T1], dstream.DStream[T2]) dstream.DStream[U], numBatches int) [][]U {
	tb.Helper()
	h := NewHarness(tb, batch)
	out := Collect(build(Input(h, input1), Input(h, input2)))
	h.Start()
	for range numBatches {
		h.mustStep()
	}
	h.Stop()
	return out.Batches()
}
