package rdd

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"runtime/debug"
)

// Collect returns every element, partition by partition in order, Spark's
// collect. The whole RDD is held in memory; an RDD with no elements gives an
// empty slice.
func (r *RDD[T]) Collect(ctx context.Context) ([]T, error) {
	parts := make([][]T, r.lin.parts)
	err := runJob(ctx, r, func(tc *taskContext, p int) error {
		var buf []T
		err := r.iterate(tc, p, func(x T) bool { buf = append(buf, x); return true })
		parts[p] = buf
		return err
	})
	if err != nil {
		return nil, err
	}
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	all := make([]T, 0, n)
	for _, p := range parts {
		all = append(all, p...)
	}
	return all, nil
}

// Count returns the number of elements, Spark's count. It computes every
// partition but keeps nothing.
func (r *RDD[T]) Count(ctx context.Context) (int64, error) {
	counts := make([]int64, r.lin.parts)
	err := runJob(ctx, r, func(tc *taskContext, p int) error {
		// A count of its own per task, stored once: the tasks' counts
		// share cache lines, which incrementing them in place for
		// every element sent back and forth between the cores.
		var n int64
		err := r.iterate(tc, p, func(T) bool { n++; return true })
		counts[p] = n
		return err
	})
	if err != nil {
		return 0, err
	}
	var n int64
	for _, c := range counts {
		n += c
	}
	return n, nil
}

// Fold aggregates the elements with f, starting from zero in each partition
// and again when merging the partitions' results, as Spark's fold. zero is
// copied by assignment: it must not be a map or slice that f mutates.
func (r *RDD[T]) Fold(ctx context.Context, zero T, f func(T, T) T) (T, error) {
	return aggregate(ctx, "Fold", r, zero, f, f)
}

// Aggregate aggregates the elements of each partition with seqOp starting
// from zero, then merges the partitions' results with combOp starting from
// zero again, Spark's aggregate. The result type may differ from the
// element type. zero is copied by assignment: it must not be a map or slice
// that seqOp or combOp mutates. A panic in combOp is reported as a
// *TaskError with Partition -1.
func Aggregate[T, U any](ctx context.Context, r *RDD[T], zero U, seqOp func(U, T) U, combOp func(U, U) U) (U, error) {
	return aggregate(ctx, "Aggregate", r, zero, seqOp, combOp)
}

func aggregate[T, U any](ctx context.Context, op string, r *RDD[T], zero U, seqOp func(U, T) U, combOp func(U, U) U) (U, error) {
	self := &opInfo{op: op, rdd: r.ID()}
	results := make([]U, r.lin.parts)
	err := runJob(ctx, r, func(tc *taskContext, p int) error {
		acc := zero
		var cur T
		track(tc, self, &cur)
		err := r.iterate(tc, p, func(x T) bool { tc.op, cur = self, x; acc = seqOp(acc, x); return true })
		results[p] = acc
		return err
	})
	if err != nil {
		return zero, err
	}
	acc := zero
	err = onDriver(self, func() {
		for _, x := range results {
			acc = combOp(acc, x)
		}
	})
	if err != nil {
		return zero, err
	}
	return acc, nil
}

// onDriver runs the driver-side part of an action (merging the partitions'
// results), turning a panic in user code into a *TaskError with Partition -1.
func onDriver(op *opInfo, body func()) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &TaskError{Op: op.op, RDD: op.rdd, Partition: -1,
				Err: fmt.Errorf("%w: %v", ErrUserPanic, v), Panic: v, Stack: debug.Stack()}
		}
	}()
	body()
	return nil
}

// Reduce aggregates the elements with the associative, commutative function
// f. It returns ErrEmpty for an RDD with no elements.
func (r *RDD[T]) Reduce(ctx context.Context, f func(T, T) T) (T, error) {
	type partial struct {
		v  T
		ok bool
	}
	self := &opInfo{op: "Reduce", rdd: r.ID()}
	results := make([]partial, r.lin.parts)
	err := runJob(ctx, r, func(tc *taskContext, p int) error {
		var acc partial
		var cur T
		track(tc, self, &cur)
		err := r.iterate(tc, p, func(x T) bool {
			tc.op, cur = self, x
			if acc.ok {
				acc.v = f(acc.v, x)
			} else {
				acc = partial{x, true}
			}
			return true
		})
		results[p] = acc
		return err
	})
	var acc partial
	if err != nil {
		return acc.v, err
	}
	err = onDriver(self, func() {
		for _, x := range results {
			switch {
			case !x.ok:
			case acc.ok:
				acc.v = f(acc.v, x.v)
			default:
				acc = x
			}
		}
	})
	if err != nil {
		var zero T
		return zero, err
	}
	if !acc.ok {
		return acc.v, fmt.Errorf("rdd: Reduce of %v: %w", r, ErrEmpty)
	}
	return acc.v, nil
}

// All returns an iterator over the elements, partition by partition in
// order, Spark's toLocalIterator: each partition is computed by a job of
// its own when the iteration reaches it, so memory holds one partition at a
// time rather than the whole RDD, and stopping early computes no further
// partition. The iterator yields the elements on the caller's goroutine; an
// error (a failed task, a cancelled ctx) is yielded once, with the zero T,
// and ends the iteration. Each range over it computes the partitions again
// unless the RDD is persisted.
func (r *RDD[T]) All(ctx context.Context) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var buf []T
		for p := range r.lin.parts {
			buf = buf[:0]
			err := runJobOn(ctx, r, p, p+1, func(tc *taskContext, p int) error {
				return r.iterate(tc, p, func(x T) bool { buf = append(buf, x); return true })
			})
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, x := range buf {
				if !yield(x, nil) {
					return
				}
			}
		}
	}
}

// Take returns the first n elements in partition order. Like Spark it scans
// one partition first, then ever more at a time, so a small n on a large RDD
// computes few partitions.
func (r *RDD[T]) Take(ctx context.Context, n int) ([]T, error) {
	var out []T
	if n <= 0 {
		return out, nil
	}
	for from, step := 0, 1; from < r.lin.parts && len(out) < n; from, step = from+step, step*4 {
		to := min(from+step, r.lin.parts)
		want := n - len(out)
		parts := make([][]T, to-from)
		err := runJobOn(ctx, r, from, to, func(tc *taskContext, p int) error {
			var part []T // stored once, as Count's counts
			err := r.iterate(tc, p, func(x T) bool {
				part = append(part, x)
				return len(part) < want
			})
			parts[p-from] = part
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, p := range parts {
			out = append(out, p[:min(len(p), n-len(out))]...)
		}
	}
	return out, nil
}

// First returns the first element, or ErrEmpty.
func (r *RDD[T]) First(ctx context.Context) (T, error) {
	xs, err := r.Take(ctx, 1)
	if err != nil || len(xs) == 0 {
		var zero T
		if err == nil {
			err = fmt.Errorf("rdd: First of %v: %w", r, ErrEmpty)
		}
		return zero, err
	}
	return xs[0], nil
}

// Foreach calls f on every element, Spark's foreach: concurrently across
// partitions (f must be safe for that), in order within one. A panic in f
// fails the action with a *TaskError whose Op is "Foreach".
func (r *RDD[T]) Foreach(ctx context.Context, f func(T)) error {
	self := &opInfo{op: "Foreach", rdd: r.ID()}
	return runJob(ctx, r, func(tc *taskContext, p int) error {
		var cur T
		track(tc, self, &cur)
		return r.iterate(tc, p, func(x T) bool { tc.op, cur = self, x; f(x); return true })
	})
}

// ForeachPartition calls f once per partition with an iterator over it,
// concurrently across partitions. An error from f fails the action.
func (r *RDD[T]) ForeachPartition(ctx context.Context, f func(p int, elems iter.Seq[T]) error) error {
	self := &opInfo{op: "ForeachPartition", rdd: r.ID()}
	return runJob(ctx, r, func(tc *taskContext, p int) error {
		var err error
		tc.op = self
		if ferr := f(p, r.partitionSeq(tc, p, self, &err)); ferr != nil {
			return ferr
		}
		return err
	})
}

// CountByKey returns the number of pairs of each key, Spark's countByKey.
// The whole map is built in memory: for many keys use ReduceByKey.
func CountByKey[K comparable, V any](ctx context.Context, r *RDD[Pair[K, V]]) (map[K]int64, error) {
	return CountByValue(ctx, Keys(r))
}

// CountByValue returns how many times each distinct element occurs; counts
// are combined inside each partition before they are merged.
func CountByValue[T comparable](ctx context.Context, r *RDD[T]) (map[T]int64, error) {
	partials := make([]map[T]int64, r.lin.parts)
	err := runJob(ctx, r, func(tc *taskContext, p int) error {
		m := make(map[T]int64)
		err := r.iterate(tc, p, func(x T) bool { m[x]++; return true })
		partials[p] = m
		return err
	})
	if err != nil {
		return nil, err
	}
	total := make(map[T]int64)
	for _, m := range partials {
		for k, c := range m {
			total[k] += c
		}
	}
	return total, nil
}

// Max returns the largest element, Spark's max with the natural ordering. It
// returns ErrEmpty for an RDD with no elements.
func Max[T cmp.Ordered](ctx context.Context, r *RDD[T]) (T, error) {
	return r.Reduce(ctx, func(a, b T) T { return max(a, b) })
}

// Min returns the smallest element, Spark's min with the natural ordering. It
// returns ErrEmpty for an RDD with no elements.
func Min[T cmp.Ordered](ctx context.Context, r *RDD[T]) (T, error) {
	return r.Reduce(ctx, func(a, b T) T { return min(a, b) })
}
