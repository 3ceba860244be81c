package rdd

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGenerateYieldsPerPartitionAndWrapsErrors(t *testing.T) {
	ctx := context.Background()
	r := Generate(3, func(_ context.Context, p int, yield func(int) bool) error {
		for i := range p + 1 {
			if !yield(p*10 + i) {
				return nil
			}
		}
		return nil
	})
	got, err := r.Collect(ctx)
	require.NoError(t, err)
	require.Equal(t, []int{0, 10, 11, 20, 21, 22}, got)
	first, err := r.Take(ctx, 2)
	require.NoError(t, err)
	require.Equal(t, []int{0, 10}, first)

	errBad := errors.New("bad record at offset 7")
	failing := Generate(2, func(_ context.Context, p int, yield func(int) bool) error {
		if p == 1 {
			return errBad
		}
		return nil
	})
	_, err = Map(failing, func(x int) int { return x }).Collect(ctx)
	require.ErrorIs(t, err, errBad)
	var te *TaskError
	require.ErrorAs(t, err, &te)
	require.Equal(t, "Generate", te.Op)
	require.Equal(t, 1, te.Partition)

	// A panic in compute after a downstream operation ran is still blamed
	// on Generate.
	panicky := Generate(1, func(_ context.Context, _ int, yield func(int) bool) error {
		yield(1)
		panic("after yield")
	})
	_, err = Map(panicky, func(x int) int { return x }).Collect(ctx)
	require.ErrorAs(t, err, &te)
	require.Equal(t, "Generate", te.Op)

	none, err := Generate(0, func(context.Context, int, func(int) bool) error { return nil }).Collect(ctx)
	require.NoError(t, err)
	require.Empty(t, none)
	_, err = Generate(-1, func(context.Context, int, func(int) bool) error { return nil }).Collect(ctx)
	require.ErrorIs(t, err, ErrInvalidArgument)
}

func TestGenerateSeesCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := Generate(1, func(ctx context.Context, _ int, yield func(int) bool) error {
		cancel()
		<-ctx.Done()
		return ctx.Err()
	})
	_, err := r.Collect(ctx)
	require.ErrorIs(t, err, context.Canceled)
}
