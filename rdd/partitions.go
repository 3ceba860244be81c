package rdd

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
