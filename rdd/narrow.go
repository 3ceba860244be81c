package rdd

import (
	"cmp"
	"iter"
)

// Map returns an RDD of f applied to each element. Narrow: fused with its
// neighbours into one pass per partition.
func Map[T, U any](r *RDD[T], f func(T) U) *RDD[U] {
	var out *RDD[U]
	out = newRDD("Map", r.lin.parts, []node{r}, nil, func(tc *taskContext, p int, yield func(U) bool) error {
		op := out.op()
		var cur T
		track(tc, op, &cur)
		return r.iterate(tc, p, func(x T) bool {
			tc.op, cur = op, x
			return yield(f(x))
		})
	})
	return out
}

// FlatMap returns an RDD of every element of f applied to each element.
// Narrow and fused like Map; the results are streamed, never collected.
func FlatMap[T, U any](r *RDD[T], f func(T) []U) *RDD[U] {
	var out *RDD[U]
	out = newRDD("FlatMap", r.lin.parts, []node{r}, nil, func(tc *taskContext, p int, yield func(U) bool) error {
		op := out.op()
		var cancelled error
		var cur T
		track(tc, op, &cur)
		err := r.iterate(tc, p, func(x T) bool {
			tc.op, cur = op, x
			for _, u := range f(x) {
				if cancelled = tc.tick(); cancelled != nil || !yield(u) {
					return false
				}
			}
			return true
		})
		return cmp.Or(err, cancelled)
	})
	return out
}

// FlatMapSeq is FlatMap for a function that returns an iterator, such as
// strings.FieldsSeq, so no slice is built per element.
func FlatMapSeq[T, U any](r *RDD[T], f func(T) iter.Seq[U]) *RDD[U] {
	var out *RDD[U]
	out = newRDD("FlatMap", r.lin.parts, []node{r}, nil, func(tc *taskContext, p int, yield func(U) bool) error {
		op := out.op()
		var cancelled error
		stopped := false
		// The loop body is built once per partition and the iterator called
		// directly: a range-over-func loop inside the per-element callback
		// would allocate its body closure for every element.
		body := func(u U) bool {
			if stopped {
				return false
			}
			if cancelled = tc.tick(); cancelled != nil || !yield(u) {
				stopped = true
				return false
			}
			tc.op = op
			return true
		}
		var cur T
		track(tc, op, &cur)
		err := r.iterate(tc, p, func(x T) bool {
			tc.op, cur = op, x
			f(x)(body)
			return !stopped
		})
		return cmp.Or(err, cancelled)
	})
	return out
}

// Filter returns an RDD of the elements for which keep returns true. Narrow
// and fused like Map; it keeps the partitioning, so a filtered keyed RDD is
// still co-partitioned with its parent.
func (r *RDD[T]) Filter(keep func(T) bool) *RDD[T] {
	var out *RDD[T]
	out = newRDD("Filter", r.lin.parts, []node{r}, nil, func(tc *taskContext, p int, yield func(T) bool) error {
		op := out.op()
		var cur T
		track(tc, op, &cur)
		return r.iterate(tc, p, func(x T) bool {
			tc.op, cur = op, x
			if keep(x) {
				return yield(x)
			}
			return true
		})
	})
	out.lin.partitioner = r.lin.partitioner
	return out
}

// Filter is the function form of r.Filter.
func Filter[T any](r *RDD[T], keep func(T) bool) *RDD[T] { return r.Filter(keep) }

// MapPartitions returns an RDD of f applied to each whole partition, Spark's
// mapPartitions. f gets the partition as an iterator and returns an iterator
// of results; it runs once per partition per action, so per-partition setup
// (a connection, a buffer) goes before its loop. Narrow and fused: nothing is
// materialised unless f does it.
func MapPartitions[T, U any](r *RDD[T], f func(iter.Seq[T]) iter.Seq[U]) *RDD[U] {
	return MapPartitionsWithIndex(r, func(_ int, s iter.Seq[T]) iter.Seq[U] { return f(s) })
}

// MapPartitionsWithIndex is MapPartitions with the partition's index.
func MapPartitionsWithIndex[T, U any](r *RDD[T], f func(int, iter.Seq[T]) iter.Seq[U]) *RDD[U] {
	var out *RDD[U]
	out = newRDD("MapPartitions", r.lin.parts, []node{r}, nil, func(tc *taskContext, p int, yield func(U) bool) error {
		op := out.op()
		var err error
		tc.op = op
		for u := range f(p, r.partitionSeq(tc, p, op, &err)) {
			if err != nil || !yield(u) {
				break
			}
			tc.op = op
		}
		return err
	})
	return out
}

// Glom returns an RDD with one element per partition: the partition's
// elements as a slice (empty, not nil, for an empty partition), Spark's glom.
// Each partition is held in memory whole.
func Glom[T any](r *RDD[T]) *RDD[[]T] {
	return newRDD("Glom", r.lin.parts, []node{r}, nil, func(tc *taskContext, p int, yield func([]T) bool) error {
		all := []T{}
		if err := r.iterate(tc, p, func(x T) bool { all = append(all, x); return true }); err != nil {
			return err
		}
		yield(all)
		return nil
	})
}

// Union returns the elements of r and of every other RDD, keeping
// duplicates, Spark's union; its partitions are the parents' partitions in
// order. No shuffle: it reads the parents as they are, and the result has no
// partitioner.
func (r *RDD[T]) Union(others ...*RDD[T]) *RDD[T] {
	return Union(append([]*RDD[T]{r}, others...)...)
}

// Union returns the elements of every RDD, keeping duplicates, Spark's
// SparkContext.union; see RDD.Union. With no RDDs it is empty.
func Union[T any](rdds ...*RDD[T]) *RDD[T] {
	type span struct {
		r     *RDD[T]
		local int
	}
	var spans []span
	parents := make([]node, 0, len(rdds))
	for _, r := range rdds {
		parents = append(parents, r)
		for i := range r.lin.parts {
			spans = append(spans, span{r, i})
		}
	}
	return newRDD("Union", len(spans), parents, nil, func(tc *taskContext, p int, yield func(T) bool) error {
		return spans[p].r.iterate(tc, spans[p].local, yield)
	})
}

// Coalesce returns an RDD with numPartitions partitions made by joining
// neighbouring partitions, without a shuffle. Like Spark's coalesce without
// shuffle it never increases the count; use Repartition for that. A
// numPartitions below 1 fails the first action with ErrInvalidArgument.
func (r *RDD[T]) Coalesce(numPartitions int) *RDD[T] {
	if err := checkPartitions("Coalesce", numPartitions); err != nil {
		return failed[T]("Coalesce", err)
	}
	n := min(numPartitions, r.lin.parts)
	if r.lin.parts == 0 {
		return r
	}
	parts := r.lin.parts
	return newRDD("Coalesce", n, []node{r}, nil, func(tc *taskContext, p int, yield func(T) bool) error {
		for q := p * parts / n; q < (p+1)*parts/n; q++ {
			stopped := false
			if err := r.iterate(tc, q, func(x T) bool {
				if !yield(x) {
					stopped = true
					return false
				}
				return true
			}); err != nil || stopped {
				return err
			}
		}
		return nil
	})
}

// Keys returns the key of each pair, Spark's keys. Narrow.
func Keys[K comparable, V any](r *RDD[Pair[K, V]]) *RDD[K] {
	return Map(r, func(kv Pair[K, V]) K { return kv.Key })
}

// Values returns the value of each pair, Spark's values. Narrow.
func Values[K comparable, V any](r *RDD[Pair[K, V]]) *RDD[V] {
	return Map(r, func(kv Pair[K, V]) V { return kv.Value })
}

// MapValues applies f to each value, keeping the key and the partitioning,
// Spark's mapValues: unlike Map, a later ReduceByKey or Join with the same
// partitioner does not shuffle again.
func MapValues[K comparable, V, W any](r *RDD[Pair[K, V]], f func(V) W) *RDD[Pair[K, W]] {
	out := Map(r, func(kv Pair[K, V]) Pair[K, W] { return Pair[K, W]{kv.Key, f(kv.Value)} })
	out.lin.info.op = "MapValues"
	out.lin.partitioner = r.lin.partitioner
	return out
}

// FlatMapValues applies f to each value and pairs every result with the key,
// keeping the partitioning, Spark's flatMapValues.
func FlatMapValues[K comparable, V, W any](r *RDD[Pair[K, V]], f func(V) []W) *RDD[Pair[K, W]] {
	var out *RDD[Pair[K, W]]
	out = newRDD("FlatMapValues", r.lin.parts, []node{r}, nil, func(tc *taskContext, p int, yield func(Pair[K, W]) bool) error {
		op := out.op()
		var cancelled error
		var cur Pair[K, V]
		track(tc, op, &cur)
		err := r.iterate(tc, p, func(kv Pair[K, V]) bool {
			tc.op, cur = op, kv
			for _, w := range f(kv.Value) {
				if cancelled = tc.tick(); cancelled != nil || !yield(Pair[K, W]{kv.Key, w}) {
					return false
				}
			}
			return true
		})
		return cmp.Or(err, cancelled)
	})
	out.lin.partitioner = r.lin.partitioner
	return out
}
