package rdd

import (
	"context"
	"errors"
	"iter"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCollectAndCount(t *testing.T) {
	ctx := context.Background()
	for _, parts := range []int{1, 3, 10} {
		r := Parallelize([]int{5, 6, 7}, parts)
		require.Equal(t, []int{5, 6, 7}, collect(t, r), "partition order")
		n, err := r.Count(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 3, n)
	}
	xs, err := Empty[int]().Collect(ctx)
	require.NoError(t, err)
	require.Empty(t, xs)
	n, err := Empty[int]().Count(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestFoldReduceAggregate(t *testing.T) {
	ctx := context.Background()
	r := Parallelize([]int{1, 2, 3, 4}, 3)
	sum, err := r.Reduce(ctx, add)
	require.NoError(t, err)
	require.Equal(t, 10, sum)
	folded, err := r.Fold(ctx, 1, add) // zero once per partition and once more when merging
	require.NoError(t, err)
	require.Equal(t, 14, folded)
	agg, err := Aggregate(ctx, r, "", func(acc string, x int) string { return acc + string(rune('a'+x)) },
		func(a, b string) string { return a + b })
	require.NoError(t, err)
	require.Equal(t, "bcde", agg)

	_, err = Empty[int]().Reduce(ctx, add)
	require.ErrorIs(t, err, ErrEmpty)
	_, err = Parallelize([]int{}, 4).Reduce(ctx, add)
	require.ErrorIs(t, err, ErrEmpty)
	one, err := Parallelize([]int{7}, 4).Reduce(ctx, add) // empty partitions around one element
	require.NoError(t, err)
	require.Equal(t, 7, one)
	z, err := Empty[int]().Fold(ctx, 5, add)
	require.NoError(t, err)
	require.Equal(t, 5, z)
}

func TestMaxMin(t *testing.T) {
	ctx := context.Background()
	r := Parallelize([]string{"pear", "apple", "zoo", "fig"}, 3)
	hi, err := Max(ctx, r)
	require.NoError(t, err)
	require.Equal(t, "zoo", hi)
	lo, err := Min(ctx, r)
	require.NoError(t, err)
	require.Equal(t, "apple", lo)
	_, err = Max(ctx, Empty[int]())
	require.ErrorIs(t, err, ErrEmpty)
}

func TestActionFunctionPanics(t *testing.T) {
	ctx := context.Background()
	r := Parallelize([]int{1, 2, 3, 4}, 2)
	m := Map(r, func(x int) int { return x })
	boom := func(a, b int) int {
		if b == 4 {
			panic("in task")
		}
		return a + b
	}
	_, err := m.Reduce(ctx, boom)
	requireTaskError(t, err, "Reduce", m.ID(), 1, true)
	_, err = m.Fold(ctx, 0, boom)
	requireTaskError(t, err, "Fold", m.ID(), 1, true)
	_, err = m.Reduce(ctx, func(a, b int) int {
		if a+b == 10 { // only the merge of the partitions' results, 3 + 7
			panic("on driver")
		}
		return a + b
	})
	requireTaskError(t, err, "Reduce", m.ID(), -1, true)
	_, err = Aggregate(ctx, m, 0, add, func(int, int) int { panic("combine") })
	requireTaskError(t, err, "Aggregate", m.ID(), -1, true)
}

func TestTake(t *testing.T) {
	ctx := context.Background()
	r := Parallelize([]int{1, 2, 3, 4, 5, 6, 7}, 7)
	for _, tt := range []struct {
		n    int
		want []int
	}{{0, nil}, {-1, nil}, {1, []int{1}}, {3, []int{1, 2, 3}}, {7, []int{1, 2, 3, 4, 5, 6, 7}}, {100, []int{1, 2, 3, 4, 5, 6, 7}}} {
		got, err := r.Take(ctx, tt.n)
		require.NoError(t, err)
		require.Equal(t, tt.want, got, "Take(%d)", tt.n)
	}
	got, err := Parallelize([]int{1, 2}, 9).Take(ctx, 2) // mostly empty partitions
	require.NoError(t, err)
	require.Equal(t, []int{1, 2}, got)
	got, err = Empty[int]().Take(ctx, 3)
	require.NoError(t, err)
	require.Empty(t, got)
}

func TestTakeScansFewPartitions(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	computed := map[int]bool{}
	r := MapPartitionsWithIndex(Parallelize(make([]int, 1000), 100), func(p int, s iter.Seq[int]) iter.Seq[int] {
		mu.Lock()
		computed[p] = true
		mu.Unlock()
		return s
	})
	got, err := r.Take(ctx, 5)
	require.NoError(t, err)
	require.Len(t, got, 5)
	require.Equal(t, map[int]bool{0: true}, computed, "the first partition has enough")

	clear(computed)
	ints := make([]int, 1000)
	for i := range ints {
		ints[i] = i
	}
	// Only partition 3 has an element: Take scans partition 0, then 1 to 4.
	sparse := MapPartitionsWithIndex(Parallelize(ints, 100), func(p int, s iter.Seq[int]) iter.Seq[int] {
		mu.Lock()
		computed[p] = true
		mu.Unlock()
		return s
	}).Filter(func(x int) bool { return x == 35 })
	got, err = sparse.Take(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, []int{35}, got)
	require.Len(t, computed, 5)
}

func TestFirst(t *testing.T) {
	ctx := context.Background()
	x, err := Parallelize([]string{"a", "b"}, 2).First(ctx)
	require.NoError(t, err)
	require.Equal(t, "a", x)
	_, err = Empty[string]().First(ctx)
	require.ErrorIs(t, err, ErrEmpty)
	_, err = Parallelize([]string{}, 3).First(ctx)
	require.ErrorIs(t, err, ErrEmpty)
}

func TestForeach(t *testing.T) {
	ctx := context.Background()
	var sum atomic.Int64
	require.NoError(t, Parallelize([]int{1, 2, 3}, 2).Foreach(ctx, func(x int) { sum.Add(int64(x)) }))
	require.EqualValues(t, 6, sum.Load())
	require.NoError(t, Empty[int]().Foreach(ctx, func(int) { t.Fatal("called") }))

	r := Map(Parallelize([]int{1, 2, 3}, 3), func(x int) int { return x })
	err := r.Foreach(ctx, func(x int) {
		if x == 3 {
			panic("foreach")
		}
	})
	requireTaskError(t, err, "Foreach", r.ID(), 2, true)
}

func TestForeachPartition(t *testing.T) {
	ctx := context.Background()
	r := Parallelize([]int{1, 2, 3, 4, 5}, 3)
	var mu sync.Mutex
	got := map[int][]int{}
	err := r.ForeachPartition(ctx, func(p int, elems iter.Seq[int]) error {
		mu.Lock()
		defer mu.Unlock()
		for x := range elems {
			got[p] = append(got[p], x)
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, map[int][]int{0: {1}, 1: {2, 3}, 2: {4, 5}}, got)

	errSink := errors.New("sink down")
	m := Map(r, func(x int) int { return x })
	err = m.ForeachPartition(ctx, func(p int, elems iter.Seq[int]) error {
		for x := range elems {
			if x == 3 {
				return errSink
			}
		}
		return nil
	})
	te := requireTaskError(t, err, "ForeachPartition", m.ID(), 1, false)
	require.ErrorIs(t, err, errSink)
	require.Nil(t, te.Panic)

	err = m.ForeachPartition(ctx, func(p int, elems iter.Seq[int]) error {
		for range elems {
			if p == 2 {
				panic("partition sink")
			}
		}
		return nil
	})
	requireTaskError(t, err, "ForeachPartition", m.ID(), 2, true)
}

func TestCountByKeyAndValue(t *testing.T) {
	ctx := context.Background()
	byKey, err := CountByKey(ctx, words(3, "a", "b", "a", "a"))
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"a": 3, "b": 1}, byKey)
	byValue, err := CountByValue(ctx, Parallelize([]int{1, 1, 2}, 5))
	require.NoError(t, err)
	require.Equal(t, map[int]int64{1: 2, 2: 1}, byValue)
	empty, err := CountByValue(ctx, Empty[int]())
	require.NoError(t, err)
	require.Empty(t, empty)
}

// All yields every element in partition order, computing a partition only
// when the iteration reaches it: stopping after the first partition's
// elements computes no other, and a failing partition ends the iteration
// with its error, once, after the elements before it.
func TestAll(t *testing.T) {
	ctx := t.Context()
	var computed [4]atomic.Int32
	r := MapPartitionsWithIndex(Parallelize([]int{1, 2, 3, 4, 5, 6, 7, 8}, 4), func(p int, xs iter.Seq[int]) iter.Seq[int] {
		computed[p].Add(1)
		return xs
	})
	var got []int
	for x, err := range r.All(ctx) {
		require.NoError(t, err)
		got = append(got, x)
	}
	require.Equal(t, []int{1, 2, 3, 4, 5, 6, 7, 8}, got)

	for p := range computed {
		computed[p].Store(0)
	}
	got = got[:0]
	for x, err := range r.All(ctx) {
		require.NoError(t, err)
		got = append(got, x)
		if len(got) == 2 {
			break
		}
	}
	require.Equal(t, []int{1, 2}, got)
	require.Equal(t, [4]int32{1, 0, 0, 0}, [4]int32{computed[0].Load(), computed[1].Load(), computed[2].Load(), computed[3].Load()})

	failing := Map(Parallelize([]int{1, 2, 3, 4}, 2), func(x int) int {
		if x == 3 {
			panic("boom")
		}
		return x
	})
	var errs []error
	got = got[:0]
	for x, err := range failing.All(ctx) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got = append(got, x)
	}
	require.Equal(t, []int{1, 2}, got)
	require.Len(t, errs, 1)
	require.ErrorIs(t, errs[0], ErrUserPanic)
}
