package rdd

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Executor is a bounded pool of task slots shared by every job that runs on
// it. Each action runs one task per partition, at most Workers at a time.
type Executor struct {
	slots chan struct{}
}

// NewExecutor returns an executor that runs at most workers tasks at once.
// A value below 1 means runtime.GOMAXPROCS(0).
func NewExecutor(workers int) *Executor {
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	return &Executor{slots: make(chan struct{}, workers)}
}

// Workers returns the number of tasks the executor runs at once.
func (ex *Executor) Workers() int { return cap(ex.slots) }

var (
	defaultExecutorOnce sync.Once
	defaultExecutor     *Executor
)

type executorKey struct{}

// WithExecutor returns a context whose actions run on ex. Actions called
// with a context that carries no executor use a shared one with
// GOMAXPROCS workers.
func WithExecutor(ctx context.Context, ex *Executor) context.Context {
	return context.WithValue(ctx, executorKey{}, ex)
}

func executorFrom(ctx context.Context) *Executor {
	if ex, ok := ctx.Value(executorKey{}).(*Executor); ok && ex != nil {
		return ex
	}
	defaultExecutorOnce.Do(func() { defaultExecutor = NewExecutor(0) })
	return defaultExecutor
}

// run calls task for every index in [0, n) on at most Workers goroutines.
// The first error cancels the context the other tasks see and is returned;
// tasks not yet started are skipped. A cancelled ctx returns its error.
func (ex *Executor) run(ctx context.Context, n int, task func(ctx context.Context, i int) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		next     atomic.Int64
		errOnce  sync.Once
		firstErr error
	)
	worker := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= n || ctx.Err() != nil {
				return
			}
			select {
			case ex.slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			err := task(ctx, i)
			<-ex.slots
			if err != nil {
				errOnce.Do(func() { firstErr = err; cancel(err) })
				return
			}
		}
	}
	workers := min(n, ex.Workers())
	if workers == 1 {
		worker()
	} else {
		var wg sync.WaitGroup
		for range workers {
			wg.Go(worker)
		}
		wg.Wait()
	}
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// taskContext is the state of one running task.
type taskContext struct {
	ctx       context.Context
	partition int
	// op is the operation whose code runs now; every operation sets it when
	// control enters its code, so a panic is blamed on the right one.
	op    *opInfo
	ticks uint32
	// records holds, for each operation of the task that calls a user
	// function per element, where it keeps the element it last gave it
	// (see track), so that a panic's error names the record.
	records []opRecord
}

// opRecord is where an operation keeps the element its function is
// working on, as a function that formats it.
type opRecord struct {
	op       *opInfo
	describe func() string
}

// track registers cur as the element op's function is given: the
// operation stores each element there before it calls the function. Once
// per operation and partition; the cost per element is that store.
func track[T any](tc *taskContext, op *opInfo, cur *T) {
	tc.records = append(tc.records, opRecord{op, func() string { return describeRecord(*cur) }})
}

// record returns the element that the operation now running (tc.op) was
// working on, formatted, or "" when it does not track one.
func (tc *taskContext) record() string {
	for i := len(tc.records) - 1; i >= 0; i-- {
		if tc.records[i].op == tc.op {
			return tc.records[i].describe()
		}
	}
	return ""
}

// maxRecordBytes bounds the record a TaskError quotes.
const maxRecordBytes = 256

// describeRecord formats x for an error: %q for strings (so that a
// malformed line shows its spaces and control characters), %v otherwise,
// cut to maxRecordBytes.
func describeRecord(x any) string {
	var s string
	if str, ok := x.(string); ok {
		s = fmt.Sprintf("%q", str)
	} else {
		s = fmt.Sprintf("%v", x)
		if strings.Contains(s, "(PANIC=") {
			// Its String method panicked (perhaps what failed the task):
			// Go syntax shows it without calling String.
			s = fmt.Sprintf("%#v", x)
		}
	}
	if len(s) <= maxRecordBytes {
		return s
	}
	cut := maxRecordBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("... (%d bytes)", len(s))
}

// tick is called by sources once per element and checks for cancellation
// every 1024 elements.
func (tc *taskContext) tick() error {
	tc.ticks++
	if tc.ticks&1023 == 0 {
		return tc.ctx.Err()
	}
	return nil
}

// runTask runs body as the task for partition p of the RDD described by op,
// turning a panic into a *TaskError that names the operation that panicked.
func runTask(ctx context.Context, op *opInfo, p int, body func(tc *taskContext) error) (err error) {
	tc := &taskContext{ctx: ctx, partition: p, op: op}
	defer func() {
		if v := recover(); v != nil {
			err = &TaskError{Op: tc.op.op, RDD: tc.op.rdd, Name: tc.op.displayName(), Partition: p,
				Record: tc.record(), Err: fmt.Errorf("%w: %v", ErrUserPanic, v), Panic: v, Stack: debug.Stack()}
		}
	}()
	err = body(tc)
	if err != nil && ctx.Err() == nil {
		if _, ok := err.(*TaskError); !ok {
			err = &TaskError{Op: tc.op.op, RDD: tc.op.rdd, Name: tc.op.displayName(), Partition: p, Err: err}
		}
	}
	return err
}

// prepare materialises every shuffle that n depends on, deepest first, so
// that tasks never wait for other tasks. Fully cached RDDs cut the walk.
func prepare(ctx context.Context, ex *Executor, n node, seen map[node]bool) error {
	if seen[n] {
		return nil
	}
	seen[n] = true
	if n.fullyCached() {
		return nil
	}
	m := n.meta()
	for _, p := range m.narrow {
		if err := prepare(ctx, ex, p, seen); err != nil {
			return err
		}
	}
	for _, s := range m.shuffles {
		if err := prepare(ctx, ex, s.parentNode(), seen); err != nil {
			return err
		}
		if err := s.materialize(ctx, ex); err != nil {
			return err
		}
	}
	return nil
}

// runJob prepares r's shuffles, then runs task for each partition of r.
func runJob[T any](ctx context.Context, r *RDD[T], task func(tc *taskContext, p int) error) error {
	return runJobOn(ctx, r, 0, r.lin.parts, task)
}

// runJobOn is runJob for the partitions [from, to) of r.
func runJobOn[T any](ctx context.Context, r *RDD[T], from, to int, task func(tc *taskContext, p int) error) error {
	ex := executorFrom(ctx)
	if err := prepare(ctx, ex, r, map[node]bool{}); err != nil {
		return err
	}
	return ex.run(ctx, to-from, func(ctx context.Context, i int) error {
		return runTask(ctx, r.op(), from+i, func(tc *taskContext) error { return task(tc, from+i) })
	})
}
