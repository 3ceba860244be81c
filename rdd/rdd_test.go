package rdd

import (
	"context"
	"errors"
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
