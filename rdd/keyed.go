package rdd

import (
	"fmt"
	"math"
	"slices"
)

// ShuffleOption sets how a keyed operation partitions its output.
type ShuffleOption func(*shuffleConfig)

type shuffleConfig struct {
	partitions    int
	partitionsSet bool // WithPartitions was given, so 0 is an error, not "default"
	partitioner   any
}

// WithPartitions makes a keyed operation hash-partition its output into n
// partitions. The default is, as in Spark (2.3 on), the partitioning of the
// parent whose partitioner has the most partitions, unless the largest
// parent has ten times as many partitions or more: then, as when no parent
// has a partitioner, a hash partitioning into the largest parent's
// partition count.
func WithPartitions(n int) ShuffleOption {
	return func(c *shuffleConfig) { c.partitions, c.partitionsSet, c.partitioner = n, true, nil }
}

// WithPartitioner makes a keyed operation place its output with p. Its key
// type must be the operation's key type.
func WithPartitioner[K comparable](p Partitioner[K]) ShuffleOption {
	return func(c *shuffleConfig) { c.partitioner, c.partitions, c.partitionsSet = p, 0, false }
}

// choosePartitioner applies opts, falling back to Spark's default
// partitioner over the parents.
func choosePartitioner[K comparable](op string, opts []ShuffleOption, parents ...*lineage) (Partitioner[K], error) {
	var c shuffleConfig
	for _, o := range opts {
		o(&c)
	}
	switch {
	case c.partitioner != nil:
		p, ok := c.partitioner.(Partitioner[K])
		if !ok {
			return nil, fmt.Errorf("rdd: %s: %w: partitioner %T does not partition this key type", op, ErrInvalidArgument, c.partitioner)
		}
		if n := p.NumPartitions(); n < 1 {
			return nil, fmt.Errorf("rdd: %s: %w: partitioner %T has %d partitions, need at least 1", op, ErrInvalidArgument, p, n)
		}
		return p, nil
	case c.partitionsSet:
		if err := checkPartitions(op, c.partitions); err != nil {
			return nil, err
		}
		return NewHashPartitioner[K](c.partitions), nil
	}
	// Spark's Partitioner.defaultPartitioner (2.3 on): the parents'
	// partitioner of the most partitions, if its count is within an order
	// of magnitude of the largest parent's partition count, else a hash
	// partitioner over that count.
	var best Partitioner[K]
	most := 0
	for _, l := range parents {
		if p, ok := l.partitioner.(Partitioner[K]); ok && p.NumPartitions() > 0 && (best == nil || p.NumPartitions() > best.NumPartitions()) {
			best = p
		}
		most = max(most, l.parts)
	}
	if best != nil && (most <= best.NumPartitions() || math.Log10(float64(most))-math.Log10(float64(best.NumPartitions())) < 1) {
		return best, nil
	}
	return NewHashPartitioner[K](max(most, 1)), nil
}

// failed returns an RDD whose every task fails with err: invalid arguments
// to a transformation surface as the error of the first action.
func failed[T any](op string, err error) *RDD[T] {
	var out *RDD[T]
	out = newRDD(op, 1, nil, nil, func(tc *taskContext, _ int, _ func(T) bool) error {
		tc.op = out.op()
		return err
	})
	return out
}

// CombineByKey combines the values of each key with createCombiner,
// mergeValue and mergeCombiners, Spark's combineByKey. Values are combined on
// the map side before the shuffle; if r is already partitioned like the
// output, no shuffle happens at all.
//
// mergeValue may modify and return the combiner it is given, as in Spark:
// it is one that createCombiner made in the same task. Unlike Spark's,
// mergeCombiners must not modify the combiners it is given when they hold
// memory of their own (a map, a slice's elements, what a pointer points
// to), but return a new one: the map side's combiners are kept in memory
// for every job that reads the shuffle, not deserialized afresh as Spark's
// are, so one merged in place would change what the next job reads.
func CombineByKey[K comparable, V, C any](r *RDD[Pair[K, V]], createCombiner func(V) C,
	mergeValue func(C, V) C, mergeCombiners func(C, C) C, opts ...ShuffleOption) *RDD[Pair[K, C]] {
	return combineByKey("CombineByKey", r, aggregator[V, C]{create: createCombiner, mergeValue: mergeValue, mergeCombiners: mergeCombiners}, opts)
}

func combineByKey[K comparable, V, C any](op string, r *RDD[Pair[K, V]], agg aggregator[V, C], opts []ShuffleOption) *RDD[Pair[K, C]] {
	part, err := choosePartitioner[K](op, opts, &r.lin)
	if err != nil {
		return failed[Pair[K, C]](op, err)
	}
	var out *RDD[Pair[K, C]]
	if samePartitioner(r.lin.partitioner, part) {
		out = newRDD(op, r.lin.parts, []node{r}, nil, func(tc *taskContext, p int, yield func(Pair[K, C]) bool) error {
			index := make(map[K]int32)
			var keys []K
			var vals []C
			self := out.op()
			var cur Pair[K, V]
			track(tc, self, &cur)
			err := r.iterate(tc, p, func(kv Pair[K, V]) bool {
				tc.op, cur = self, kv
				if i, ok := index[kv.Key]; ok {
					vals[i] = agg.mergeValue(vals[i], kv.Value)
				} else {
					index[kv.Key] = int32(len(keys))
					keys = append(keys, kv.Key)
					vals = append(vals, agg.create(kv.Value))
				}
				return true
			})
			if err != nil {
				return err
			}
			for i, k := range keys {
				if !yield(Pair[K, C]{k, vals[i]}) {
					break
				}
			}
			return nil
		})
	} else {
		s := &combineShuffle[K, V, C]{parent: r, part: part, agg: agg}
		out = newRDD(op, part.NumPartitions(), nil, []shuffleStage{s}, s.reduceSide(func() *opInfo { return out.op() }))
		s.op = out.op()
	}
	out.lin.partitioner = part
	return out
}

func samePartitioner(have, want any) (same bool) {
	if have == nil {
		return false
	}
	defer func() {
		if recover() != nil { // an uncomparable user partitioner
			same = false
		}
	}()
	return have == want
}

// ReduceByKey merges the values of each key with the associative and
// commutative function f, Spark's reduceByKey. Values are combined on the
// map side, so one shuffle moves one value per distinct key per map
// partition; an input already partitioned like the output is reduced with no
// shuffle. The output has the partitioning chosen by opts (default: the
// parent's partitioner, else its partition count) and keys in no specified
// order.
func ReduceByKey[K comparable, V any](r *RDD[Pair[K, V]], f func(V, V) V, opts ...ShuffleOption) *RDD[Pair[K, V]] {
	return combineByKey("ReduceByKey", r, aggregator[V, V]{create: func(v V) V { return v }, mergeValue: f, mergeCombiners: f}, opts)
}

// FoldByKey merges the values of each key with f, starting from zero for
// each key in each partition, Spark's foldByKey: zero is applied once per key
// per map partition, so it should be f's identity. Costs what ReduceByKey
// does. zero is copied by assignment, not cloned per key as in Spark, and
// the values are kept as CombineByKey keeps its combiners: f must not
// modify a map or slice it is given (zero included), but return a new one.
func FoldByKey[K comparable, V any](r *RDD[Pair[K, V]], zero V, f func(V, V) V, opts ...ShuffleOption) *RDD[Pair[K, V]] {
	return combineByKey("FoldByKey", r, aggregator[V, V]{create: func(v V) V { return f(zero, v) }, mergeValue: f, mergeCombiners: f}, opts)
}

// GroupByKey groups the values of each key into one slice. The order of
// values within a group is not specified. Prefer ReduceByKey or
// CombineByKey when the values are to be aggregated.
func GroupByKey[K comparable, V any](r *RDD[Pair[K, V]], opts ...ShuffleOption) *RDD[Pair[K, []V]] {
	return combineByKey("GroupByKey", r, groupAggregator[V](), opts)
}

func groupAggregator[V any]() aggregator[V, []V] {
	return aggregator[V, []V]{
		create:     func(v V) []V { return []V{v} },
		mergeValue: func(c []V, v V) []V { return append(c, v) },
		// a is this job's copy (fresh), so appending to it writes into no
		// stored shuffle output.
		mergeCombiners: func(a, b []V) []V { return append(a, b...) },
		fresh:          slices.Clone[[]V],
	}
}

// PartitionBy returns the pairs placed by the option's partitioner (see
// WithPartitions and WithPartitioner), keeping duplicates. No shuffle happens
// if r is already partitioned that way.
func PartitionBy[K comparable, V any](r *RDD[Pair[K, V]], opt ShuffleOption) *RDD[Pair[K, V]] {
	part, err := choosePartitioner[K]("PartitionBy", []ShuffleOption{opt}, &r.lin)
	if err != nil {
		return failed[Pair[K, V]]("PartitionBy", err)
	}
	if samePartitioner(r.lin.partitioner, part) {
		return r
	}
	out := shuffleMove("PartitionBy", r, part.NumPartitions(), func(_, _ int, kv Pair[K, V]) int { return part.Partition(kv.Key) })
	out.lin.partitioner = part
	return out
}

// Repartition returns the elements spread evenly over numPartitions
// partitions through a shuffle, round-robin from each parent partition. As
// in Spark, the parents start their rounds at positions spread over the
// output (Spark draws them at random from the partition's index; here
// parent m of P starts at m×numPartitions/P), so parents with fewer elements
// than there are outputs still fill every output.
func (r *RDD[T]) Repartition(numPartitions int) *RDD[T] {
	if err := checkPartitions("Repartition", numPartitions); err != nil {
		return failed[T]("Repartition", err)
	}
	parents := max(r.lin.parts, 1)
	return shuffleMove("Repartition", r, numPartitions, func(m, seq int, _ T) int {
		return (m*numPartitions/parents + seq) % numPartitions
	})
}

// Distinct returns the distinct elements, in no specified order, Spark's
// distinct. Costs one shuffle with map-side de-duplication.
func Distinct[T comparable](r *RDD[T], opts ...ShuffleOption) *RDD[T] {
	pairs := Map(r, func(x T) Pair[T, struct{}] { return Pair[T, struct{}]{Key: x} })
	red := combineByKey("Distinct", pairs, aggregator[struct{}, struct{}]{
		create:         func(struct{}) struct{} { return struct{}{} },
		mergeValue:     func(struct{}, struct{}) struct{} { return struct{}{} },
		mergeCombiners: func(struct{}, struct{}) struct{} { return struct{}{} },
	}, opts)
	return Keys(red)
}

// Cogroup groups, for each key in either RDD, its values in a and its values
// in b, Spark's cogroup (groupWith). Each side not already partitioned like
// the output is shuffled once; all values of a key are held in memory. The
// default output partitioning is that of WithPartitions' doc.
func Cogroup[K comparable, V, W any](a *RDD[Pair[K, V]], b *RDD[Pair[K, W]], opts ...ShuffleOption) *RDD[Pair[K, CoGrouped[V, W]]] {
	part, err := choosePartitioner[K]("Cogroup", opts, &a.lin, &b.lin)
	if err != nil {
		return failed[Pair[K, CoGrouped[V, W]]]("Cogroup", err)
	}
	with := WithPartitioner(part)
	ga := combineByKey("Cogroup", a, groupAggregator[V](), []ShuffleOption{with})
	gb := combineByKey("Cogroup", b, groupAggregator[W](), []ShuffleOption{with})
	out := newRDD("Cogroup", part.NumPartitions(), []node{ga, gb}, nil, func(tc *taskContext, p int, yield func(Pair[K, CoGrouped[V, W]]) bool) error {
		index := make(map[K]int32)
		var keys []K
		var groups []CoGrouped[V, W]
		err := ga.iterate(tc, p, func(kv Pair[K, []V]) bool {
			index[kv.Key] = int32(len(keys))
			keys = append(keys, kv.Key)
			groups = append(groups, CoGrouped[V, W]{Left: kv.Value})
			return true
		})
		if err != nil {
			return err
		}
		err = gb.iterate(tc, p, func(kv Pair[K, []W]) bool {
			if i, ok := index[kv.Key]; ok {
				groups[i].Right = kv.Value
			} else {
				index[kv.Key] = int32(len(keys))
				keys = append(keys, kv.Key)
				groups = append(groups, CoGrouped[V, W]{Right: kv.Value})
			}
			return true
		})
		if err != nil {
			return err
		}
		for i, k := range keys {
			if !yield(Pair[K, CoGrouped[V, W]]{k, groups[i]}) {
				break
			}
		}
		return nil
	})
	out.lin.partitioner = part
	return out
}

// joinWith cogroups a and b and emits, per key, what emit makes of the groups.
func joinWith[K comparable, V, W, R any](op string, a *RDD[Pair[K, V]], b *RDD[Pair[K, W]], opts []ShuffleOption,
	emit func(g CoGrouped[V, W], yield func(R) bool) bool) *RDD[Pair[K, R]] {
	cg := Cogroup(a, b, opts...)
	var out *RDD[Pair[K, R]]
	out = newRDD(op, cg.lin.parts, []node{cg}, nil, func(tc *taskContext, p int, yield func(Pair[K, R]) bool) error {
		return cg.iterate(tc, p, func(kv Pair[K, CoGrouped[V, W]]) bool {
			tc.op = out.op()
			return emit(kv.Value, func(r R) bool { return yield(Pair[K, R]{kv.Key, r}) })
		})
	})
	out.lin.partitioner = cg.lin.partitioner
	return out
}

// Join returns, for each key in both RDDs, every pair of its values: the
// inner join, Spark's join. Built on Cogroup, so it costs one shuffle per
// side not already partitioned like the output (none for two RDDs reduced
// with the same partitioner), and a key's values are held in memory.
func Join[K comparable, V, W any](a *RDD[Pair[K, V]], b *RDD[Pair[K, W]], opts ...ShuffleOption) *RDD[Pair[K, Joined[V, W]]] {
	return joinWith("Join", a, b, opts, func(g CoGrouped[V, W], yield func(Joined[V, W]) bool) bool {
		for _, v := range g.Left {
			for _, w := range g.Right {
				if !yield(Joined[V, W]{v, w}) {
					return false
				}
			}
		}
		return true
	})
}

// LeftOuterJoin is Join that also keeps the keys of a that b lacks, with
// None on the right.
func LeftOuterJoin[K comparable, V, W any](a *RDD[Pair[K, V]], b *RDD[Pair[K, W]], opts ...ShuffleOption) *RDD[Pair[K, Joined[V, Option[W]]]] {
	return joinWith("LeftOuterJoin", a, b, opts, func(g CoGrouped[V, W], yield func(Joined[V, Option[W]]) bool) bool {
		for _, v := range g.Left {
			if len(g.Right) == 0 {
				if !yield(Joined[V, Option[W]]{v, None[W]()}) {
					return false
				}
			}
			for _, w := range g.Right {
				if !yield(Joined[V, Option[W]]{v, Some(w)}) {
					return false
				}
			}
		}
		return true
	})
}

// RightOuterJoin is Join that also keeps the keys of b that a lacks, with
// None on the left.
func RightOuterJoin[K comparable, V, W any](a *RDD[Pair[K, V]], b *RDD[Pair[K, W]], opts ...ShuffleOption) *RDD[Pair[K, Joined[Option[V], W]]] {
	return joinWith("RightOuterJoin", a, b, opts, func(g CoGrouped[V, W], yield func(Joined[Option[V], W]) bool) bool {
		for _, w := range g.Right {
			if len(g.Left) == 0 {
				if !yield(Joined[Option[V], W]{None[V](), w}) {
					return false
				}
			}
			for _, v := range g.Left {
				if !yield(Joined[Option[V], W]{Some(v), w}) {
					return false
				}
			}
		}
		return true
	})
}

// FullOuterJoin keeps every key of either RDD, with None on the side that
// lacks it.
func FullOuterJoin[K comparable, V, W any](a *RDD[Pair[K, V]], b *RDD[Pair[K, W]], opts ...ShuffleOption) *RDD[Pair[K, Joined[Option[V], Option[W]]]] {
	return joinWith("FullOuterJoin", a, b, opts, func(g CoGrouped[V, W], yield func(Joined[Option[V], Option[W]]) bool) bool {
		switch {
		case len(g.Right) == 0:
			for _, v := range g.Left {
				if !yield(Joined[Option[V], Option[W]]{Some(v), None[W]()}) {
					return false
				}
			}
		case len(g.Left) == 0:
			for _, w := range g.Right {
				if !yield(Joined[Option[V], Option[W]]{None[V](), Some(w)}) {
					return false
				}
			}
		default:
			for _, v := range g.Left {
				for _, w := range g.Right {
					if !yield(Joined[Option[V], Option[W]]{Some(v), Some(w)}) {
						return false
					}
				}
			}
		}
		return true
	})
}
