package rdd

import (
	"context"
	"fmt"
)

// FromPartitions returns an RDD whose partitions are exactly the given
// slices, in order: how an input stream turns received blocks or files into
// a batch's RDD with one partition each. The slices are not copied.
func FromPartitions[T any](parts [][]T) *RDD[T] {
	return newRDD("FromPartitions", len(parts), nil, nil, func(tc *taskContext, p int, yield func(T) bool) error {
		return yieldAll(tc, parts[p], yield)
	})
}

// yieldAll pushes xs to yield, checking for cancellation as sources do.
func yieldAll[T any](tc *taskContext, xs []T, yield func(T) bool) error {
	for _, x := range xs {
		if err := tc.tick(); err != nil {
			return err
		}
		if !yield(x) {
			return nil
		}
	}
	return nil
}

// Generate returns an RDD of n partitions (0 for an empty RDD) whose partition p is what compute
// yields for p: Spark's custom RDD with its own compute, for inputs that read
// external data inside the tasks (Kafka ranges, say). ctx is the task's
// context, cancelled when the job fails or is cancelled. An error from
// compute fails the task with a *TaskError that wraps it, so errors.Is sees
// the cause; compute must stop when yield returns false.
func Generate[T any](n int, compute func(ctx context.Context, p int, yield func(T) bool) error) *RDD[T] {
	if n < 0 {
		return failed[T]("Generate", fmt.Errorf("rdd: Generate: %w: number of partitions (%d) must not be negative", ErrInvalidArgument, n))
	}
	var out *RDD[T]
	out = newRDD("Generate", n, nil, nil, func(tc *taskContext, p int, yield func(T) bool) error {
		self := out.op()
		tc.op = self
		return compute(tc.ctx, p, func(x T) bool {
			more := yield(x)
			tc.op = self // control returns to the user's compute
			return more
		})
	})
	return out
}
