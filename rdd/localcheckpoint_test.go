package rdd

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"weak"

	"github.com/stretchr/testify/require"
)

func TestLocalCheckpointKeepsElementsAndPartitioning(t *testing.T) {
	pairs := Parallelize([]Pair[string, int]{{"a", 1}, {"b", 2}, {"a", 3}, {"c", 4}}, 3)
	red := ReduceByKey(pairs, func(a, b int) int { return a + b }, WithPartitions(2))
	cp := red.LocalCheckpoint()
	require.Equal(t, red.NumPartitions(), cp.NumPartitions())
	require.Equal(t, red.lin.partitioner, cp.lin.partitioner)
	require.Equal(t, partitions(t, red), partitions(t, cp))
	// Co-partitioned with its source: a reduce over it needs no shuffle.
	again := ReduceByKey(cp, func(a, b int) int { return a + b }, WithPartitions(2))
	require.Empty(t, again.lin.shuffles)
	require.Equal(t, []Pair[string, int]{{"a", 4}, {"b", 2}, {"c", 4}}, sortedPairs(collect(t, again)))
}

func TestLocalCheckpointComputesParentOnce(t *testing.T) {
	var calls atomic.Int64
	src := Map(Parallelize([]int{1, 2, 3, 4}, 2), func(x int) int { calls.Add(1); return x * 10 })
	cp := src.LocalCheckpoint()
	require.Equal(t, []int{10, 20, 30, 40}, collect(t, cp))
	require.Equal(t, []int{10, 20, 30, 40}, collect(t, Map(cp, func(x int) int { return x })))
	require.Equal(t, int64(4), calls.Load())
}

func TestLocalCheckpointSharesPersistedPartitions(t *testing.T) {
	var calls atomic.Int64
	src := Map(Parallelize([]int{1, 2, 3}, 2), func(x int) int { calls.Add(1); return x }).Persist()
	_, err := src.Take(context.Background(), 1) // caches partition 0 only
	require.NoError(t, err)
	cp := src.LocalCheckpoint()
	require.Equal(t, []int{1, 2, 3}, collect(t, cp))
	require.Equal(t, int64(3), calls.Load())
	c := src.cache.Load()
	s := cp.lin.shuffles[0].(*checkpointStage[int])
	for p := range 2 {
		require.Same(t, &c.parts[p][0], &s.parts[p][0], "partition %d copied", p)
	}
}

func TestLocalCheckpointReleasesLineage(t *testing.T) {
	parent := Map(Parallelize(make([]int, 1000), 2), func(x int) int { return x + 1 })
	gone := weak.Make(parent)
	cp := parent.LocalCheckpoint()
	parent = nil
	n, err := cp.Count(context.Background())
	require.NoError(t, err)
	require.Equal(t, int64(1000), n)
	runtime.GC()
	require.Nil(t, gone.Value(), "the parent is still reachable from the checkpoint")
	n, err = cp.Count(context.Background())
	require.NoError(t, err)
	require.Equal(t, int64(1000), n)
}

func TestLocalCheckpointFailureIsRetried(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	src := Map(Parallelize([]int{1, 2}, 1), func(x int) int {
		if fail.Load() {
			panic("boom")
		}
		return x
	})
	cp := src.LocalCheckpoint()
	_, err := cp.Collect(context.Background())
	require.ErrorIs(t, err, ErrUserPanic)
	fail.Store(false)
	require.Equal(t, []int{1, 2}, collect(t, cp))
}
