package rdd

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// Partitioner decides which partition a key belongs to in a shuffle.
// Two RDDs partitioned by equal partitioners (==) are co-partitioned.
type Partitioner[K comparable] interface {
	// NumPartitions returns how many partitions the keys are spread over.
	NumPartitions() int
	// Partition returns the partition of key, a value in
	// [0, NumPartitions()); the same key must always get the same one.
	Partition(key K) int
}

// hashSeed is shared by every HashPartitioner in the process so that equal
// keys land in equal partitions across RDDs.
var hashSeed = maphash.MakeSeed()

// HashPartitioner places a key by its hash modulo the partition count,
// Spark's HashPartitioner. It works for any comparable key.
type HashPartitioner[K comparable] struct{ n int }

// NewHashPartitioner returns a hash partitioner over n partitions (at least 1).
func NewHashPartitioner[K comparable](n int) HashPartitioner[K] {
	return HashPartitioner[K]{n: max(n, 1)}
}

// NumPartitions returns the partition count.
func (h HashPartitioner[K]) NumPartitions() int { return h.n }

// Partition returns the key's partition.
func (h HashPartitioner[K]) Partition(key K) int {
	if h.n == 1 {
		return 0
	}
	return int(maphash.Comparable(hashSeed, key) % uint64(h.n))
}

// shuffleStage is a shuffle dependency: a map stage over a parent RDD whose
// output the child reads by reduce partition.
type shuffleStage interface {
	parentNode() node
	materialize(ctx context.Context, ex *Executor) error
}

// aggregator combines values of one key, Spark's Aggregator.
type aggregator[V, C any] struct {
	create         func(V) C
	mergeValue     func(C, V) C
	mergeCombiners func(C, C) C
	// fresh, when set, copies a combiner of the stored map output when the
	// reduce side takes it, so that mergeCombiners may append to its first
	// argument and a job that changes a combiner (a group's values, sorted
	// in place or appended to) changes it for itself only, as when Spark
	// reads a shuffle afresh for every job.
	fresh func(C) C
}

// stageLock serialises the materialisation of a stage, whose first job
// computes it while the others wait; a job whose context ends stops
// waiting (a sync.Mutex would keep it until the other job's map stage is
// done). The zero value is unlocked.
type stageLock struct {
	once sync.Once
	ch   chan struct{}
}

func (l *stageLock) lock(ctx context.Context) error {
	l.once.Do(func() { l.ch = make(chan struct{}, 1) })
	select {
	case l.ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *stageLock) unlock() { <-l.ch }

// bucket holds one map task's combined output for one reduce partition.
type bucket[K comparable, C any] struct {
	keys []K
	vals []C
}

// combineShuffle hash-partitions pairs by key and combines the values of a key
// on the map side, so each map task sends one combiner per distinct key.
type combineShuffle[K comparable, V, C any] struct {
	parent *RDD[Pair[K, V]]
	part   Partitioner[K]
	agg    aggregator[V, C]
	op     *opInfo // the operation the user's combine functions belong to

	mu    stageLock
	done  bool
	out   [][]bucket[K, C] // [map partition][reduce partition]
	ready atomic.Bool      // out is set: reduce tasks may read it without mu
}

func (s *combineShuffle[K, V, C]) parentNode() node { return s.parent }

func (s *combineShuffle[K, V, C]) materialize(ctx context.Context, ex *Executor) error {
	if err := s.mu.lock(ctx); err != nil {
		return err
	}
	defer s.mu.unlock()
	if s.done {
		return nil
	}
	nMap := s.parent.lin.parts
	out := make([][]bucket[K, C], nMap)
	err := ex.run(ctx, nMap, func(ctx context.Context, m int) error {
		return runTask(ctx, s.parent.op(), m, func(tc *taskContext) error {
			index := make(map[K]int32)
			var keys []K
			var vals []C
			create, merge := s.agg.create, s.agg.mergeValue
			var cur Pair[K, V]
			track(tc, s.op, &cur)
			err := s.parent.iterate(tc, m, func(kv Pair[K, V]) bool {
				tc.op, cur = s.op, kv
				if i, ok := index[kv.Key]; ok {
					vals[i] = merge(vals[i], kv.Value)
				} else {
					index[kv.Key] = int32(len(keys))
					keys = append(keys, kv.Key)
					vals = append(vals, create(kv.Value))
				}
				return true
			})
			if err != nil {
				return err
			}
			out[m] = splitBuckets(keys, vals, s.part)
			return nil
		})
	})
	if err != nil {
		return err
	}
	s.out, s.done = out, true
	s.ready.Store(true)
	return nil
}

// errNotMaterialized is returned by a reduce task whose shuffle was skipped
// by prepare because the RDD was fully cached, then unpersisted before the
// task ran.
var errNotMaterialized = errors.New("rdd: shuffle output missing: an RDD was unpersisted while an action was using it; run the action again")

// splitBuckets distributes combined keys over the reduce partitions, hashing
// each distinct key once.
func splitBuckets[K comparable, C any](keys []K, vals []C, part Partitioner[K]) []bucket[K, C] {
	n := part.NumPartitions()
	buckets := make([]bucket[K, C], n)
	if n == 1 {
		buckets[0] = bucket[K, C]{keys, vals}
		return buckets
	}
	dest := make([]int32, len(keys))
	counts := make([]int, n)
	for i, k := range keys {
		d := part.Partition(k)
		dest[i] = int32(d)
		counts[d]++
	}
	for d := range buckets {
		buckets[d] = bucket[K, C]{make([]K, 0, counts[d]), make([]C, 0, counts[d])}
	}
	for i, d := range dest {
		b := &buckets[d]
		b.keys = append(b.keys, keys[i])
		b.vals = append(b.vals, vals[i])
	}
	return buckets
}

// reduceSide returns the compute function of the RDD that reads reduce
// partitions of s, merging the combiners of every map task.
func (s *combineShuffle[K, V, C]) reduceSide(op func() *opInfo) func(tc *taskContext, p int, yield func(Pair[K, C]) bool) error {
	return func(tc *taskContext, p int, yield func(Pair[K, C]) bool) error {
		if !s.ready.Load() {
			return errNotMaterialized
		}
		fresh := s.agg.fresh
		if len(s.out) == 1 { // one map task: its bucket is already combined
			b := s.out[0][p]
			for i, k := range b.keys {
				if err := tc.tick(); err != nil {
					return err
				}
				c := b.vals[i]
				if fresh != nil {
					c = fresh(c)
				}
				if !yield(Pair[K, C]{k, c}) {
					return nil
				}
			}
			return nil
		}
		size := 0
		for m := range s.out {
			size = max(size, len(s.out[m][p].keys))
		}
		index := make(map[K]int32, size)
		keys := make([]K, 0, size)
		vals := make([]C, 0, size)
		tc.op = op()
		merge := s.agg.mergeCombiners
		var cur Pair[K, C] // the key and the combiner being merged in
		track(tc, tc.op, &cur)
		for m := range s.out {
			b := s.out[m][p]
			for i, k := range b.keys {
				if err := tc.tick(); err != nil {
					return err
				}
				cur = Pair[K, C]{k, b.vals[i]}
				if j, ok := index[k]; ok {
					vals[j] = merge(vals[j], b.vals[i])
				} else {
					c := b.vals[i]
					if fresh != nil {
						c = fresh(c)
					}
					index[k] = int32(len(keys))
					keys = append(keys, k)
					vals = append(vals, c)
				}
			}
		}
		for i, k := range keys {
			if !yield(Pair[K, C]{k, vals[i]}) {
				return nil
			}
		}
		return nil
	}
}

// moveShuffle sends each element to the partition route chooses, without
// combining: Repartition, PartitionBy and SortBy.
type moveShuffle[T any] struct {
	parent *RDD[T]
	n      int
	// route returns the destination of the seq-th element x of map partition m.
	route func(m, seq int, x T) int
	// plan, when set, runs once before the map stage, with the parent's own
	// shuffles ready; SortBy samples the keys there to set the range bounds
	// that route uses.
	plan func(ctx context.Context, ex *Executor) error
	op   *opInfo

	mu    stageLock
	done  bool
	out   [][][]T     // [map partition][reduce partition]
	ready atomic.Bool // out is set: reduce tasks may read it without mu
}

func (s *moveShuffle[T]) parentNode() node { return s.parent }

func (s *moveShuffle[T]) materialize(ctx context.Context, ex *Executor) error {
	if err := s.mu.lock(ctx); err != nil {
		return err
	}
	defer s.mu.unlock()
	if s.done {
		return nil
	}
	if s.plan != nil {
		if err := s.plan(ctx, ex); err != nil {
			return err
		}
	}
	out := make([][][]T, s.parent.lin.parts)
	err := ex.run(ctx, len(out), func(ctx context.Context, m int) error {
		return runTask(ctx, s.parent.op(), m, func(tc *taskContext) error {
			buckets := make([][]T, s.n)
			seq := 0
			var cur T
			track(tc, s.op, &cur)
			err := s.parent.iterate(tc, m, func(x T) bool {
				tc.op, cur = s.op, x
				d := s.route(m, seq, x)
				seq++
				buckets[d] = append(buckets[d], x)
				return true
			})
			out[m] = buckets
			return err
		})
	})
	if err != nil {
		return err
	}
	s.out, s.done = out, true
	s.ready.Store(true)
	return nil
}

func (s *moveShuffle[T]) reduceSide(tc *taskContext, p int, yield func(T) bool) error {
	if !s.ready.Load() {
		return errNotMaterialized
	}
	for m := range s.out {
		for _, x := range s.out[m][p] {
			if err := tc.tick(); err != nil {
				return err
			}
			if !yield(x) {
				return nil
			}
		}
	}
	return nil
}

// shuffleMove builds the RDD that reads a move shuffle of r into n partitions.
func shuffleMove[T any](op string, r *RDD[T], n int, route func(m, seq int, x T) int) *RDD[T] {
	s := &moveShuffle[T]{parent: r, n: n, route: route}
	out := newRDD(op, n, nil, []shuffleStage{s}, s.reduceSide)
	s.op = out.op()
	return out
}
