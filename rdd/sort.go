package rdd

import (
	"cmp"
	"context"
	"math/rand/v2"
	"slices"
)

// SortBy returns the elements sorted by key, Spark's sortBy: Collect gives
// them in total order, ascending or descending. It range-partitions r into
// numPartitions partitions through one shuffle, with bounds taken from a
// sample of the keys, then sorts each partition; elements with equal keys
// keep their relative order within a partition. Like Spark, the sample is
// drawn by an extra pass over r when the first action runs, so r is computed
// twice unless it is persisted. Partitions may be uneven (or empty) when keys
// repeat. A numPartitions below 1 fails the first action with
// ErrInvalidArgument.
func SortBy[T any, K cmp.Ordered](r *RDD[T], key func(T) K, ascending bool, numPartitions int) *RDD[T] {
	if err := checkPartitions("SortBy", numPartitions); err != nil {
		return failed[T]("SortBy", err)
	}
	rp := &rangePlan[T, K]{parent: r, key: key, ascending: ascending, n: numPartitions}
	s := &moveShuffle[T]{parent: r, n: numPartitions, route: rp.route, plan: rp.sample}
	var out *RDD[T]
	out = newRDD("SortBy", numPartitions, nil, []shuffleStage{s}, func(tc *taskContext, p int, yield func(T) bool) error {
		var elems []T
		if err := s.reduceSide(tc, p, func(x T) bool { elems = append(elems, x); return true }); err != nil {
			return err
		}
		tc.op = out.op()
		keys := make([]K, len(elems))
		order := make([]int32, len(elems))
		for i, x := range elems {
			keys[i] = key(x)
			order[i] = int32(i)
		}
		compare := cmp.Compare[K]
		if !ascending {
			compare = func(a, b K) int { return cmp.Compare(b, a) }
		}
		slices.SortStableFunc(order, func(i, j int32) int { return compare(keys[i], keys[j]) })
		for _, i := range order {
			if !yield(elems[i]) {
				return nil
			}
		}
		return nil
	})
	s.op = out.op()
	rp.op = out.op()
	return out
}

// SortByKey returns the pairs sorted by key, Spark's sortByKey; see SortBy
// for the cost and the edge cases.
func SortByKey[K cmp.Ordered, V any](r *RDD[Pair[K, V]], ascending bool, numPartitions int) *RDD[Pair[K, V]] {
	out := SortBy(r, func(kv Pair[K, V]) K { return kv.Key }, ascending, numPartitions)
	out.lin.info.op = "SortByKey"
	return out
}

// rangePlan is the range partitioning of a SortBy: bounds sampled from the
// parent's keys when the shuffle materialises, Spark's RangePartitioner.
type rangePlan[T any, K cmp.Ordered] struct {
	parent    *RDD[T]
	key       func(T) K
	ascending bool
	n         int
	op        *opInfo
	bounds    []K // ascending upper bounds of the partitions but the last
}

// sample draws a reservoir sample of keys from every parent partition and
// sets the bounds at weighted quantiles, like Spark's RangePartitioner:
// about 20 keys per output partition, at most a million in all.
func (rp *rangePlan[T, K]) sample(ctx context.Context, ex *Executor) error {
	if rp.n == 1 || rp.parent.lin.parts == 0 {
		return nil
	}
	nMap := rp.parent.lin.parts
	total := min(20*rp.n, 1_000_000)
	perPart := max((3*total+nMap-1)/nMap, 1)
	type partSample struct {
		keys []K
		seen int
	}
	samples := make([]partSample, nMap)
	err := ex.run(ctx, nMap, func(ctx context.Context, m int) error {
		return runTask(ctx, rp.parent.op(), m, func(tc *taskContext) error {
			rng := rand.New(rand.NewPCG(uint64(m), 0x5eed))
			var ps partSample
			err := rp.parent.iterate(tc, m, func(x T) bool {
				tc.op = rp.op
				if len(ps.keys) < perPart {
					ps.keys = append(ps.keys, rp.key(x))
				} else if j := rng.IntN(ps.seen + 1); j < perPart {
					ps.keys[j] = rp.key(x)
				}
				ps.seen++
				return true
			})
			samples[m] = ps
			return err
		})
	})
	if err != nil {
		return err
	}
	type weighted struct {
		key    K
		weight float64
	}
	var all []weighted
	sum := 0.0
	for _, ps := range samples {
		if len(ps.keys) == 0 {
			continue
		}
		w := float64(ps.seen) / float64(len(ps.keys))
		for _, k := range ps.keys {
			all = append(all, weighted{k, w})
		}
		sum += float64(ps.seen)
	}
	slices.SortFunc(all, func(a, b weighted) int { return cmp.Compare(a.key, b.key) })
	// Spark's RangePartitioner.determineBounds: walk the sorted sample and
	// cut each time the cumulative weight passes the next 1/n step,
	// skipping repeated keys.
	step := sum / float64(rp.n)
	cum, target := 0.0, step
	var bounds []K
	for i, wk := range all {
		cum += wk.weight
		if cum >= target && (len(bounds) == 0 || cmp.Compare(wk.key, bounds[len(bounds)-1]) > 0) {
			if i == len(all)-1 { // a bound at the largest key would leave the last partition empty
				break
			}
			bounds = append(bounds, wk.key)
			target += step
			if len(bounds) == rp.n-1 {
				break
			}
		}
	}
	rp.bounds = bounds
	return nil
}

// route returns the partition of x: the first whose bound is at least its
// key, mirrored for a descending sort.
func (rp *rangePlan[T, K]) route(_, _ int, x T) int {
	if len(rp.bounds) == 0 {
		return 0
	}
	k := rp.key(x)
	i, _ := slices.BinarySearchFunc(rp.bounds, k, cmp.Compare[K])
	if rp.ascending {
		return i
	}
	return len(rp.bounds) - i
}
