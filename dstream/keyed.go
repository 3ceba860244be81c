package dstream

import (
	"time"

	"github.com/sluice-io/sluice/rdd"
)

// ReduceByKey merges the values of each key within each batch with the
// associative function f, combining on the map side before the shuffle.
func ReduceByKey[K comparable, V any](d DStream[rdd.Pair[K, V]], f func(V, V) V, opts ...Option) DStream[rdd.Pair[K, V]] {
	c := configure(d.s.graph, "ReduceByKey", opts, optPartitioning|optName)
	sopts := shuffleOptions[K](d.s.graph, "ReduceByKey", c)
	return named(c, derive(d, "ReduceByKey", func(r *rdd.RDD[rdd.Pair[K, V]], _ time.Time) *rdd.RDD[rdd.Pair[K, V]] {
		return rdd.ReduceByKey(r, f, sopts...)
	}))
}

// GroupByKey groups the values of each key within each batch.
func GroupByKey[K comparable, V any](d DStream[rdd.Pair[K, V]], opts ...Option) DStream[rdd.Pair[K, []V]] {
	c := configure(d.s.graph, "GroupByKey", opts, optPartitioning|optName)
	sopts := shuffleOptions[K](d.s.graph, "GroupByKey", c)
	return named(c, derive(d, "GroupByKey", func(r *rdd.RDD[rdd.Pair[K, V]], _ time.Time) *rdd.RDD[rdd.Pair[K, []V]] {
		return rdd.GroupByKey(r, sopts...)
	}))
}

// CombineByKey combines the values of each key within each batch, Spark's
// combineByKey.
func CombineByKey[K comparable, V, C any](d DStream[rdd.Pair[K, V]], createCombiner func(V) C,
	mergeValue func(C, V) C, mergeCombiners func(C, C) C, opts ...Option) DStream[rdd.Pair[K, C]] {
	c := configure(d.s.graph, "CombineByKey", opts, optPartitioning|optName)
	sopts := shuffleOptions[K](d.s.graph, "CombineByKey", c)
	return named(c, derive(d, "CombineByKey", func(r *rdd.RDD[rdd.Pair[K, V]], _ time.Time) *rdd.RDD[rdd.Pair[K, C]] {
		return rdd.CombineByKey(r, createCombiner, mergeValue, mergeCombiners, sopts...)
	}))
}

// MapValues applies f to each value, keeping keys and partitioning.
func MapValues[K comparable, V, W any](d DStream[rdd.Pair[K, V]], f func(V) W) DStream[rdd.Pair[K, W]] {
	return derive(d, "MapValues", func(r *rdd.RDD[rdd.Pair[K, V]], _ time.Time) *rdd.RDD[rdd.Pair[K, W]] {
		return rdd.MapValues(r, f)
	})
}

// FlatMapValues applies f to each value and pairs each result with the key.
func FlatMapValues[K comparable, V, W any](d DStream[rdd.Pair[K, V]], f func(V) []W) DStream[rdd.Pair[K, W]] {
	return derive(d, "FlatMapValues", func(r *rdd.RDD[rdd.Pair[K, V]], _ time.Time) *rdd.RDD[rdd.Pair[K, W]] {
		return rdd.FlatMapValues(r, f)
	})
}

// keyedWith combines two keyed streams batch by batch with an rdd join.
func keyedWith[K comparable, V, W, R any](kind string, a DStream[rdd.Pair[K, V]], b DStream[rdd.Pair[K, W]], opts []Option,
	join func(*rdd.RDD[rdd.Pair[K, V]], *rdd.RDD[rdd.Pair[K, W]], ...rdd.ShuffleOption) *rdd.RDD[rdd.Pair[K, R]]) DStream[rdd.Pair[K, R]] {
	c := configure(a.s.graph, kind, opts, optPartitioning|optName)
	sopts := shuffleOptions[K](a.s.graph, kind, c)
	return named(c, transformWith(a, b, kind, func(ra *rdd.RDD[rdd.Pair[K, V]], rb *rdd.RDD[rdd.Pair[K, W]], _ time.Time) *rdd.RDD[rdd.Pair[K, R]] {
		return join(ra, rb, sopts...)
	}))
}

// Cogroup groups, per batch and key, the values of a and those of b.
func Cogroup[K comparable, V, W any](a DStream[rdd.Pair[K, V]], b DStream[rdd.Pair[K, W]], opts ...Option) DStream[rdd.Pair[K, rdd.CoGrouped[V, W]]] {
	return keyedWith("Cogroup", a, b, opts, rdd.Cogroup[K, V, W])
}

// Join is the inner join of a and b batch by batch.
func Join[K comparable, V, W any](a DStream[rdd.Pair[K, V]], b DStream[rdd.Pair[K, W]], opts ...Option) DStream[rdd.Pair[K, rdd.Joined[V, W]]] {
	return keyedWith("Join", a, b, opts, rdd.Join[K, V, W])
}

// LeftOuterJoin keeps every key of a, with None where b lacks it.
func LeftOuterJoin[K comparable, V, W any](a DStream[rdd.Pair[K, V]], b DStream[rdd.Pair[K, W]], opts ...Option) DStream[rdd.Pair[K, rdd.Joined[V, rdd.Option[W]]]] {
	return keyedWith("LeftOuterJoin", a, b, opts, rdd.LeftOuterJoin[K, V, W])
}

// RightOuterJoin keeps every key of b, with None where a lacks it.
func RightOuterJoin[K comparable, V, W any](a DStream[rdd.Pair[K, V]], b DStream[rdd.Pair[K, W]], opts ...Option) DStream[rdd.Pair[K, rdd.Joined[rdd.Option[V], W]]] {
	return keyedWith("RightOuterJoin", a, b, opts, rdd.RightOuterJoin[K, V, W])
}

// FullOuterJoin keeps every key of either stream, with None on the side
// that lacks it.
func FullOuterJoin[K comparable, V, W any](a DStream[rdd.Pair[K, V]], b DStream[rdd.Pair[K, W]], opts ...Option) DStream[rdd.Pair[K, rdd.Joined[rdd.Option[V], rdd.Option[W]]]] {
	return keyedWith("FullOuterJoin", a, b, opts, rdd.FullOuterJoin[K, V, W])
}
