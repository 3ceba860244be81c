package rdd

import (
	"cmp"
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSortBy(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, size := range []int{0, 1, 5, 1000} {
		data := make([]int, size)
		for i := range data {
			data[i] = rng.IntN(size/3 + 1) // with duplicates
		}
		for _, in := range []int{1, 3, 8} {
			for _, out := range []int{1, 4, 16} {
				t.Run(strconv.Itoa(size)+"/"+strconv.Itoa(in)+"to"+strconv.Itoa(out), func(t *testing.T) {
					want := slices.Sorted(slices.Values(data))
					up := SortBy(Parallelize(data, in), func(x int) int { return x }, true, out)
					require.Equal(t, out, up.NumPartitions())
					got := collect(t, up)
					if size == 0 {
						require.Empty(t, got)
						return
					}
					require.Equal(t, want, got)
					slices.Reverse(want)
					require.Equal(t, want, collect(t, SortBy(Parallelize(data, in), func(x int) int { return x }, false, out)))
				})
			}
		}
	}
	require.Empty(t, collect(t, SortBy(Empty[int](), func(x int) int { return x }, true, 3)))
}

func TestSortByBalancesPartitions(t *testing.T) {
	data := make([]int, 10_000)
	for i := range data {
		data[i] = (i * 7919) % len(data)
	}
	parts := partitions(t, SortBy(Parallelize(data, 5), func(x int) int { return x }, true, 4))
	for _, p := range parts {
		require.InDelta(t, 2500, len(p), 1000, "sampled bounds split evenly")
	}
}

func TestSortByIsStableWithinEqualKeys(t *testing.T) {
	type rec struct {
		name string
		age  int
	}
	people := []rec{{"ann", 30}, {"bob", 25}, {"cid", 30}, {"dee", 25}, {"eve", 40}}
	got := collect(t, SortBy(Parallelize(people, 1), func(r rec) int { return r.age }, true, 1))
	require.Equal(t, []rec{{"bob", 25}, {"dee", 25}, {"ann", 30}, {"cid", 30}, {"eve", 40}}, got)
}

func TestSortByKey(t *testing.T) {
	pairs := Parallelize([]Pair[string, int]{KV("b", 1), KV("a", 2), KV("c", 3), KV("a", 4)}, 3)
	up := collect(t, SortByKey(pairs, true, 2))
	require.Equal(t, []string{"a", "a", "b", "c"}, collect(t, Keys(Parallelize(up, 1))))
	down := SortByKey(pairs, false, 3)
	require.Equal(t, []string{"c", "b", "a", "a"}, collect(t, Keys(down)))
	require.Contains(t, down.String(), "SortByKey")
	// SortByKey composes with a shuffle upstream.
	counts := SortByKey(ReduceByKey(pairs, add, WithPartitions(2)), true, 2)
	require.Equal(t, []Pair[string, int]{KV("a", 6), KV("b", 1), KV("c", 3)}, collect(t, counts))
}

func TestSortByFloatsAndStrings(t *testing.T) {
	fs := []float64{3.5, -1, 2, 0, 2}
	require.Equal(t, []float64{-1, 0, 2, 2, 3.5}, collect(t, SortBy(Parallelize(fs, 2), func(x float64) float64 { return x }, true, 3)))
	ss := []string{"pear", "Apple", "fig", "apple"}
	require.Equal(t, []string{"pear", "fig", "apple", "Apple"}, collect(t, SortBy(Parallelize(ss, 2), func(s string) string { return s }, false, 2)))
}

func TestSortByKeyFunctionPanics(t *testing.T) {
	r := Map(Parallelize([]int{1, 2, 3}, 2), func(x int) int { return x })
	// With one output partition the key is first needed by the sort of
	// reduce partition 0; with more, by the sampling of map partition 1.
	for n, partition := range map[int]int{1: 0, 3: 1} {
		s := SortBy(r, func(x int) int {
			if x == 3 {
				panic("key")
			}
			return x
		}, true, n)
		_, err := s.Collect(context.Background())
		requireTaskError(t, err, "SortBy", s.ID(), partition, true)
	}
}

func TestSortByEvaluatesLazily(t *testing.T) {
	r, calls := counted([]int{3, 1, 2}, 2)
	s := SortBy(r, func(x int) int { return x }, true, 2)
	require.Zero(t, calls.Load(), "nothing runs before an action")
	require.Equal(t, []int{1, 2, 3}, collect(t, s))
	require.EqualValues(t, 6, calls.Load(), "one pass to sample, one to shuffle")
	require.Equal(t, []int{1, 2, 3}, collect(t, s))
	require.EqualValues(t, 6, calls.Load(), "the shuffle is kept")
	require.True(t, slices.IsSortedFunc(collect(t, s), cmp.Compare[int]))
}
