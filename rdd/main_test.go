package rdd

import (
	"cmp"
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// collect runs Collect and fails the test on error.
func collect[T any](t *testing.T, r *RDD[T]) []T {
	t.Helper()
	xs, err := r.Collect(context.Background())
	require.NoError(t, err)
	return xs
}

// sorted returns xs sorted, for results whose order is unspecified.
func sorted[T cmp.Ordered](xs []T) []T {
	slices.Sort(xs)
	return xs
}

// sortedPairs returns the pairs sorted by key, then by formatted value.
func sortedPairs[K cmp.Ordered, V any](xs []Pair[K, V]) []Pair[K, V] {
	slices.SortStableFunc(xs, func(a, b Pair[K, V]) int {
		return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.String(), b.String()))
	})
	return xs
}

// partitions returns the elements of each partition.
func partitions[T any](t *testing.T, r *RDD[T]) [][]T {
	t.Helper()
	parts := collect(t, Glom(r))
	return parts
}

// requireTaskError asserts that err is a *TaskError for op on rdd at
// partition, caused by a panic when panicked is true.
func requireTaskError(t *testing.T, err error, op string, rdd int64, partition int, panicked bool) *TaskError {
	t.Helper()
	var te *TaskError
	require.ErrorAs(t, err, &te)
	require.Equal(t, op, te.Op, "op")
	require.Equal(t, rdd, te.RDD, "rdd")
	require.Equal(t, partition, te.Partition, "partition")
	if panicked {
		require.ErrorIs(t, err, ErrUserPanic)
		require.NotNil(t, te.Panic)
		require.NotEmpty(t, te.Stack)
	}
	return te
}

// shuffleCount returns the number of shuffle dependencies in r's lineage,
// not looking below the stop nodes.
func shuffleCount(n node, stop ...node) int {
	if slices.Contains(stop, n) {
		return 0
	}
	m := n.meta()
	c := len(m.shuffles)
	for _, p := range m.narrow {
		c += shuffleCount(p, stop...)
	}
	for _, s := range m.shuffles {
		c += shuffleCount(s.parentNode(), stop...)
	}
	return c
}
