package rdd

import (
	"fmt"
)

// Parallelize distributes data over numSlices partitions of nearly equal
// size, in order, Spark's SparkContext.parallelize. A numSlices below 1
// means one partition. The slice is not copied: do not change it afterwards.
func Parallelize[T any](data []T, numSlices int) *RDD[T] {
	numSlices = max(numSlices, 1)
	n := len(data)
	return newRDD("Parallelize", numSlices, nil, nil, func(tc *taskContext, p int, yield func(T) bool) error {
		start, end := p*n/numSlices, (p+1)*n/numSlices
		return yieldAll(tc, data[start:end], yield)
	})
}

// Empty returns an RDD with no partitions and no elements, Spark's
// SparkContext.emptyRDD.
func Empty[T any]() *RDD[T] {
	return newRDD("Empty", 0, nil, nil, func(*taskContext, int, func(T) bool) error {
		return nil
	})
}

func checkPartitions(op string, n int) error {
	if n < 1 {
		return fmt.Errorf("rdd: %s: %w: number of partitions (%d) must be positive", op, ErrInvalidArgument, n)
	}
	return nil
}
