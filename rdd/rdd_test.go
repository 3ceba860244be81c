package rdd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWordCountShuffles(t *testing.T) {
	ctx := context.Background()
	lines := Parallelize([]string{"a b a", "c a", "b", "", "d d d d"}, 3)
	words := FlatMap(lines, strings.Fields)
	pairs := Map(words, func(w string) Pair[string, int] { return KV(w, 1) })
	for _, n := range []int{1, 2, 7} {
		counts, err := ReduceByKey(pairs, func(a, b int) int { return a + b }, WithPartitions(n)).Collect(ctx)
		require.NoError(t, err)
		slices.SortFunc(counts, func(a, b Pair[string, int]) int { return strings.Compare(a.Key, b.Key) })
		require.Equal(t, []Pair[string, int]{KV("a", 3), KV("b", 2), KV("c", 1), KV("d", 4)}, counts)
	}
}

func TestPanicNamesOperation(t *testing.T) {
	r := Parallelize([]int{1, 2, 3, 4}, 2)
	m := Map(r, func(x int) int { return x * 2 })
	f := m.Filter(func(x int) bool {
		if x == 6 {
			panic("boom")
		}
		return true
	})
	out := Map(f, func(x int) int { return x })
	_, err := out.Collect(context.Background())
	var te *TaskError
	require.ErrorAs(t, err, &te)
	require.Equal(t, "Filter", te.Op)
	require.Equal(t, f.ID(), te.RDD)
	require.Equal(t, 1, te.Partition)
	require.ErrorIs(t, err, ErrUserPanic)
}

func TestCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Parallelize([]int{1}, 1).Collect(ctx)
	require.True(t, errors.Is(err, context.Canceled))
}

func TestJoins(t *testing.T) {
	ctx := context.Background()
	a := Parallelize([]Pair[string, int]{KV("x", 1), KV("y", 2), KV("y", 3)}, 2)
	b := Parallelize([]Pair[string, string]{KV("y", "Y"), KV("z", "Z")}, 3)
	j, err := Join(a, b).Collect(ctx)
	require.NoError(t, err)
	require.ElementsMatch(t, []Pair[string, Joined[int, string]]{KV("y", Joined[int, string]{2, "Y"}), KV("y", Joined[int, string]{3, "Y"})}, j)
	fo, err := FullOuterJoin(a, b).Collect(ctx)
	require.NoError(t, err)
	require.Len(t, fo, 4)
	require.Equal(t, "(z,(None,Some(Z)))", func() string {
		for _, p := range fo {
			if p.Key == "z" {
				return p.String()
			}
		}
		return ""
	}())
}

func TestRDDIdentity(t *testing.T) {
	a, b := Parallelize([]int{1}, 3), Parallelize([]int{1}, 1)
	require.NotEqual(t, a.ID(), b.ID())
	require.Equal(t, 3, a.NumPartitions())
	require.Equal(t, 1, Parallelize([]int{1}, 0).NumPartitions(), "below 1 means one partition")
	require.Equal(t, 0, Empty[int]().NumPartitions())
	require.Equal(t, "", a.Name())
	require.Equal(t, fmt.Sprintf("Parallelize[%d]", a.ID()), a.String())
	require.Same(t, a, a.SetName("input"))
	require.Equal(t, "input", a.Name())
	require.Equal(t, fmt.Sprintf("input Parallelize[%d]", a.ID()), a.String())
}

func TestPrinting(t *testing.T) {
	require.Equal(t, "(a,1)", fmt.Sprint(KV("a", 1)))
	require.Equal(t, "(1,x)", Joined[int, string]{1, "x"}.String())
	require.Equal(t, "Some(3)", Some(3).String())
	require.Equal(t, "None", None[int]().String())
	require.Equal(t, "([1 2],[x])", CoGrouped[int, string]{[]int{1, 2}, []string{"x"}}.String())
	require.Equal(t, "(k,(Some(1),None))", fmt.Sprint(KV("k", Joined[Option[int], Option[int]]{Some(1), None[int]()})))
}

func TestHashPartitioner(t *testing.T) {
	h := NewHashPartitioner[string](4)
	require.Equal(t, 4, h.NumPartitions())
	require.Equal(t, 1, NewHashPartitioner[string](0).NumPartitions())
	require.Equal(t, h.Partition("key"), NewHashPartitioner[string](4).Partition("key"), "stable across partitioners")
	seen := map[int]bool{}
	for i := range 100 {
		p := h.Partition(fmt.Sprint(i))
		require.True(t, p >= 0 && p < 4)
		seen[p] = true
	}
	require.Len(t, seen, 4)
	require.Equal(t, h, NewHashPartitioner[string](4), "equal partitioners are co-partitioned")
}
