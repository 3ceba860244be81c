package rdd

import (
	"fmt"
	"sync/atomic"
)

var nextID atomic.Int64

// opInfo identifies the operation whose user code is running, so a panic can
// be blamed on it.
type opInfo struct {
	op   string
	rdd  int64
	name atomic.Pointer[string]
}

func (o *opInfo) displayName() string {
	if p := o.name.Load(); p != nil {
		return *p
	}
	return ""
}

// node is the untyped view of an RDD that the scheduler walks.
type node interface {
	meta() *lineage
	fullyCached() bool
}

// lineage is the part of an RDD that does not depend on its element type.
type lineage struct {
	info        opInfo
	parts       int
	narrow      []node         // parents this RDD reads partition by partition
	shuffles    []shuffleStage // parents this RDD reads through a shuffle
	partitioner any            // a Partitioner[K] when the RDD's keys are hash-placed
}

// RDD is an immutable, partitioned, lazily evaluated collection with lineage,
// Spark's resilient distributed dataset on one machine. Transformations build
// new RDDs without computing anything; actions (Collect, Count, ...) run one
// task per partition on a bounded pool of goroutines. Chains of narrow
// transformations (Map, Filter, FlatMap, ...) are fused: each element flows
// through the whole chain in one pass with no intermediate slice.
type RDD[T any] struct {
	lin     lineage
	compute func(tc *taskContext, p int, yield func(T) bool) error
	cache   atomic.Pointer[partitionCache[T]]
}

func newRDD[T any](op string, parts int, narrow []node, shuffles []shuffleStage,
	compute func(tc *taskContext, p int, yield func(T) bool) error) *RDD[T] {
	r := &RDD[T]{compute: compute}
	r.lin = lineage{parts: parts, narrow: narrow, shuffles: shuffles}
	r.lin.info.op = op
	r.lin.info.rdd = nextID.Add(1)
	return r
}

func (r *RDD[T]) meta() *lineage { return &r.lin }

func (r *RDD[T]) op() *opInfo { return &r.lin.info }

// ID returns the RDD's unique identifier within the process.
func (r *RDD[T]) ID() int64 { return r.lin.info.rdd }

// NumPartitions returns the number of partitions.
func (r *RDD[T]) NumPartitions() int { return r.lin.parts }

// Name returns the name set with SetName, or "".
func (r *RDD[T]) Name() string { return r.lin.info.displayName() }

// SetName names the RDD in errors and debug output and returns it.
func (r *RDD[T]) SetName(name string) *RDD[T] {
	r.lin.info.name.Store(&name)
	return r
}

// String describes the RDD as Op[id], with its name when set.
func (r *RDD[T]) String() string {
	if n := r.Name(); n != "" {
		return fmt.Sprintf("%s %s[%d]", n, r.lin.info.op, r.lin.info.rdd)
	}
	return fmt.Sprintf("%s[%d]", r.lin.info.op, r.lin.info.rdd)
}

// iterate pushes the elements of partition p to yield, from the cache when
// the RDD is persisted. It stops early, returning nil, when yield returns false.
func (r *RDD[T]) iterate(tc *taskContext, p int, yield func(T) bool) error {
	if c := r.cache.Load(); c != nil {
		return c.iterate(tc, p, r.compute, yield)
	}
	return r.compute(tc, p, yield)
}

// partitionSeq returns an iterator over partition p for user code that runs
// inside a task (MapPartitions, ForeachPartition). Control returning to the
// user's loop is attributed to self; an error ends the iteration and is
// stored in *err.
func (r *RDD[T]) partitionSeq(tc *taskContext, p int, self *opInfo, err *error) func(func(T) bool) {
	return func(yield func(T) bool) {
		*err = r.iterate(tc, p, func(x T) bool {
			tc.op = self
			return yield(x)
		})
	}
}
