package rdd

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// counted returns an RDD over data whose Map counts how often it runs.
func counted(data []int, parts int) (*RDD[int], *atomic.Int64) {
	var calls atomic.Int64
	return Map(Parallelize(data, parts), func(x int) int { calls.Add(1); return x }), &calls
}

func TestPersistCachesAndUnpersistReleases(t *testing.T) {
	ctx := context.Background()
	r, calls := counted([]int{1, 2, 3, 4}, 2)
	require.False(t, r.IsPersisted())
	require.Same(t, r, r.Persist())
	require.True(t, r.IsPersisted())

	require.Equal(t, []int{1, 2, 3, 4}, collect(t, r))
	require.EqualValues(t, 4, calls.Load())
	n, err := r.Count(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 4, n)
	require.Equal(t, []int{2, 4, 6, 8}, collect(t, Map(r, func(x int) int { return 2 * x })), "children read the cache")
	require.EqualValues(t, 4, calls.Load(), "computed once")

	r.Unpersist()
	require.False(t, r.IsPersisted())
	require.Equal(t, []int{1, 2, 3, 4}, collect(t, r))
	require.EqualValues(t, 8, calls.Load(), "recomputed after Unpersist")
}

func TestCacheKeepsWholePartitionsForEarlyStops(t *testing.T) {
	ctx := context.Background()
	r, calls := counted([]int{1, 2, 3, 4}, 2)
	r.Cache()
	first, err := r.First(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, first)
	require.EqualValues(t, 2, calls.Load(), "partition 0 computed whole")
	require.Equal(t, []int{1, 2, 3, 4}, collect(t, r))
	require.EqualValues(t, 4, calls.Load(), "partition 0 came from the cache")
}

func TestFullyCachedRDDSkipsItsShuffles(t *testing.T) {
	ctx := context.Background()
	pairs, calls := counted([]int{1, 2, 1, 3}, 2)
	red := ReduceByKey(Map(pairs, func(x int) Pair[int, int] { return KV(x, 1) }), add).Persist()
	require.Equal(t, []Pair[int, int]{KV(1, 2), KV(2, 1), KV(3, 1)}, sortedPairs(collect(t, red)))
	require.EqualValues(t, 4, calls.Load())
	n, err := Keys(red).Count(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 3, n)
	require.EqualValues(t, 4, calls.Load())
}

func TestPersistFailureCachesNothing(t *testing.T) {
	ctx := context.Background()
	fail := atomic.Bool{}
	fail.Store(true)
	r := Map(Parallelize([]int{1, 2}, 1), func(x int) int {
		if fail.Load() {
			panic("first time")
		}
		return x
	}).Persist()
	_, err := r.Collect(ctx)
	require.ErrorIs(t, err, ErrUserPanic)
	fail.Store(false)
	require.Equal(t, []int{1, 2}, collect(t, r))
}

func TestPersistEmpty(t *testing.T) {
	require.Empty(t, collect(t, Empty[int]().Persist()))
	require.Empty(t, collect(t, Parallelize([]int{}, 3).Cache()))
}

// TestUnmaterializedShuffleIsAnError covers a reduce task that runs without
// its shuffle, as when a fully cached RDD is unpersisted between the
// scheduling of an action and its tasks: an error, not an index panic.
func TestUnmaterializedShuffleIsAnError(t *testing.T) {
	pairs := words(2, "a", "b")
	for _, r := range []*RDD[Pair[string, int]]{ReduceByKey(pairs, add), PartitionBy(pairs, WithPartitions(3))} {
		err := runTask(context.Background(), r.op(), 0, func(tc *taskContext) error {
			return r.iterate(tc, 0, func(Pair[string, int]) bool { return true })
		})
		require.ErrorIs(t, err, errNotMaterialized)
	}
}
