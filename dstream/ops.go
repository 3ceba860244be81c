package dstream

import (
	"fmt"
	"iter"
	"time"

	"github.com/sluice-io/sluice/rdd"
)

// derive returns a stream whose RDD at t is f of the parent's RDD at t, and
// none when the parent has none: Spark's MappedDStream and friends.
func derive[T, U any](parent DStream[T], kind string, f func(r *rdd.RDD[T], t time.Time) *rdd.RDD[U]) DStream[U] {
	p := parent.s
	return newStream(p.graph, kind, p.slide, []node{p}, func(t time.Time) (*rdd.RDD[U], error) {
		r, err := p.getOrCompute(t)
		if err != nil || r == nil {
			return nil, err
		}
		return f(r, t), nil
	})
}

// Map returns a stream of f applied to each element.
func Map[T, U any](d DStream[T], f func(T) U) DStream[U] {
	return derive(d, "Map", func(r *rdd.RDD[T], _ time.Time) *rdd.RDD[U] { return rdd.Map(r, f) })
}

// FlatMap returns a stream of every element of f applied to each element.
func FlatMap[T, U any](d DStream[T], f func(T) []U) DStream[U] {
	return derive(d, "FlatMap", func(r *rdd.RDD[T], _ time.Time) *rdd.RDD[U] { return rdd.FlatMap(r, f) })
}

// FlatMapSeq is FlatMap for a function returning an iterator, such as
// strings.FieldsSeq, so no slice is built per element.
func FlatMapSeq[T, U any](d DStream[T], f func(T) iter.Seq[U]) DStream[U] {
	return derive(d, "FlatMap", func(r *rdd.RDD[T], _ time.Time) *rdd.RDD[U] { return rdd.FlatMapSeq(r, f) })
}

// Filter returns a stream of the elements for which keep returns true.
func (d DStream[T]) Filter(keep func(T) bool) DStream[T] {
	return derive(d, "Filter", func(r *rdd.RDD[T], _ time.Time) *rdd.RDD[T] { return r.Filter(keep) })
}

// Filter is the function form of d.Filter.
func Filter[T any](d DStream[T], keep func(T) bool) DStream[T] { return d.Filter(keep) }

// Glom returns a stream whose RDDs hold one slice per partition.
func Glom[T any](d DStream[T]) DStream[[]T] {
	return derive(d, "Glom", func(r *rdd.RDD[T], _ time.Time) *rdd.RDD[[]T] { return rdd.Glom(r) })
}

// MapPartitions applies f to each partition of each RDD.
func MapPartitions[T, U any](d DStream[T], f func(iter.Seq[T]) iter.Seq[U]) DStream[U] {
	return derive(d, "MapPartitions", func(r *rdd.RDD[T], _ time.Time) *rdd.RDD[U] { return rdd.MapPartitions(r, f) })
}

// Repartition spreads each RDD evenly over n partitions through a shuffle.
// An n below 1 is refused: Start returns an error wrapping ErrInvalidStream.
func (d DStream[T]) Repartition(n int) DStream[T] {
	if n < 1 {
		d.s.graph.fail(fmt.Errorf("dstream: Repartition of %s: %w: number of partitions (%d) must be positive", d.s.describe(), ErrInvalidStream, n))
	}
	return derive(d, "Repartition", func(r *rdd.RDD[T], _ time.Time) *rdd.RDD[T] { return r.Repartition(n) })
}

// Union returns the elements of d and of every other stream, batch by
// batch. Every stream must belong to the same context and slide at the same
// interval; a stream without an RDD at a batch time fails the batch, as in
// Spark.
func (d DStream[T]) Union(others ...DStream[T]) DStream[T] { return Union(d, others...) }

// Union returns the elements of every stream, batch by batch, Spark's
// StreamingContext.union; see DStream.Union.
func Union[T any](first DStream[T], others ...DStream[T]) DStream[T] {
	return TransformAll(append([]DStream[T]{first}, others...), func(rs []*rdd.RDD[T], _ time.Time) *rdd.RDD[T] { return rdd.Union(rs...) }, "Union")
}

// Count returns a stream with one element per batch: the number of elements
// in the batch, 0 for an empty batch.
func (d DStream[T]) Count() DStream[int64] {
	return derive(d, "Count", func(r *rdd.RDD[T], _ time.Time) *rdd.RDD[int64] {
		ones := rdd.Map(r, func(T) rdd.Pair[struct{}, int64] { return rdd.Pair[struct{}, int64]{Value: 1} })
		zero := rdd.Parallelize([]rdd.Pair[struct{}, int64]{{}}, 1)
		sum := rdd.ReduceByKey(ones.Union(zero), func(a, b int64) int64 { return a + b }, rdd.WithPartitions(1))
		return rdd.Values(sum)
	})
}

// Reduce returns a stream with one element per non-empty batch: the batch's
// elements combined with the associative, commutative f.
func (d DStream[T]) Reduce(f func(T, T) T) DStream[T] {
	var out DStream[T]
	out = derive(d, "Reduce", func(r *rdd.RDD[T], _ time.Time) *rdd.RDD[T] {
		keyed := rdd.Map(r, func(x T) rdd.Pair[struct{}, T] { return rdd.Pair[struct{}, T]{Value: x} })
		// Named, so that f's errors name this stream, not only ReduceByKey.
		reduced := rdd.ReduceByKey(keyed, f, rdd.WithPartitions(1)).SetName(out.s.describe())
		return rdd.Values(reduced)
	})
	return out
}

// CountByValue returns, per batch, each distinct element with its count.
func CountByValue[T comparable](d DStream[T], opts ...Option) DStream[rdd.Pair[T, int64]] {
	c := configure(d.s.graph, "CountByValue", opts, optPartitioning|optName)
	sopts := shuffleOptions[T](d.s.graph, "CountByValue", c)
	out := derive(d, "CountByValue", func(r *rdd.RDD[T], _ time.Time) *rdd.RDD[rdd.Pair[T, int64]] {
		ones := rdd.Map(r, func(x T) rdd.Pair[T, int64] { return rdd.Pair[T, int64]{Key: x, Value: 1} })
		return rdd.ReduceByKey(ones, func(a, b int64) int64 { return a + b }, sopts...)
	})
	return named(c, out)
}

// Transform returns a stream of f applied to each batch's RDD, for RDD
// operations the DStream API does not mirror. f runs at job generation
// time; it must not return nil.
func Transform[T, U any](d DStream[T], f func(r *rdd.RDD[T]) *rdd.RDD[U]) DStream[U] {
	return TransformWithTime(d, func(r *rdd.RDD[T], _ time.Time) *rdd.RDD[U] { return f(r) })
}

// TransformWithTime is Transform with the batch time.
func TransformWithTime[T, U any](d DStream[T], f func(r *rdd.RDD[T], batchTime time.Time) *rdd.RDD[U]) DStream[U] {
	return TransformAll([]DStream[T]{d}, func(rs []*rdd.RDD[T], t time.Time) *rdd.RDD[U] { return f(rs[0], t) }, "Transform")
}

// TransformWith combines the RDDs of two streams at each batch time with f,
// Spark's transformWith. Both streams must have an RDD at every batch time.
func TransformWith[T, U, V any](a DStream[T], b DStream[U], f func(ra *rdd.RDD[T], rb *rdd.RDD[U], batchTime time.Time) *rdd.RDD[V]) DStream[V] {
	return transformWith(a, b, "TransformWith", f)
}

func transformWith[T, U, V any](a DStream[T], b DStream[U], kind string, f func(*rdd.RDD[T], *rdd.RDD[U], time.Time) *rdd.RDD[V]) DStream[V] {
	g, slide, _ := checkCompatible(kind, a.s, b.s)
	return newStream(g, kind, slide, []node{a.s, b.s}, func(t time.Time) (*rdd.RDD[V], error) {
		ra, err := requireRDD(a.s, kind, t)
		if err != nil {
			return nil, err
		}
		rb, err := requireRDD(b.s, kind, t)
		if err != nil {
			return nil, err
		}
		return nonNil(kind, t, f(ra, rb, t))
	})
}

// TransformAll combines the RDDs of many streams of one type at each batch
// time, Spark's StreamingContext.transform. kind names the operation in
// errors and checkpoints; "" means "Transform". It panics when streams is
// empty, as there is no context to report the mistake to.
func TransformAll[T, U any](streams []DStream[T], f func(rs []*rdd.RDD[T], batchTime time.Time) *rdd.RDD[U], kind string) DStream[U] {
	if kind == "" {
		kind = "Transform"
	}
	nodes := make([]node, len(streams))
	for i, s := range streams {
		nodes[i] = s.s
	}
	if len(nodes) == 0 {
		panic("dstream: " + kind + " needs at least one stream")
	}
	g, slide, _ := checkCompatible(kind, nodes...)
	return newStream(g, kind, slide, nodes, func(t time.Time) (*rdd.RDD[U], error) {
		rs := make([]*rdd.RDD[T], len(streams))
		for i, s := range streams {
			r, err := requireRDD(s.s, kind, t)
			if err != nil {
				return nil, err
			}
			rs[i] = r
		}
		return nonNil(kind, t, f(rs, t))
	})
}

func requireRDD[T any](s *stream[T], kind string, t time.Time) (*rdd.RDD[T], error) {
	r, err := s.getOrCompute(t)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("dstream: %s at batch %s: %w %s", kind, FormatTime(t), ErrMissingRDD, s.describe())
	}
	return r, nil
}

func nonNil[U any](kind string, t time.Time, r *rdd.RDD[U]) (*rdd.RDD[U], error) {
	if r == nil {
		return nil, fmt.Errorf("dstream: %s at batch %s: %w", kind, FormatTime(t), ErrNilRDD)
	}
	return r, nil
}
