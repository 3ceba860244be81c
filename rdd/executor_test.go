package rdd

import (
	"context"
	"errors"
	"iter"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNewExecutor(t *testing.T) {
	require.Equal(t, 3, NewExecutor(3).Workers())
	require.Equal(t, runtime.GOMAXPROCS(0), NewExecutor(0).Workers())
	require.Equal(t, runtime.GOMAXPROCS(0), NewExecutor(-5).Workers())
}

func TestExecutorBoundsConcurrency(t *testing.T) {
	for _, workers := range []int{1, 2, 4} {
		ctx := WithExecutor(context.Background(), NewExecutor(workers))
		var running, peak atomic.Int64
		err := Parallelize(make([]int, 64), 16).ForeachPartition(ctx, func(int, iter.Seq[int]) error {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			runtime.Gosched()
			running.Add(-1)
			return nil
		})
		require.NoError(t, err)
		require.LessOrEqual(t, peak.Load(), int64(workers))
	}
}

func TestCancelledContextFailsEveryAction(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := Parallelize([]int{1}, 1)
	_, err := r.Collect(ctx)
	require.ErrorIs(t, err, context.Canceled)
	_, err = r.Count(ctx)
	require.ErrorIs(t, err, context.Canceled)
	_, err = ReduceByKey(Map(r, func(x int) Pair[int, int] { return KV(x, x) }), add).Collect(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, r.Foreach(ctx, func(int) {}), context.Canceled)
	_, err = r.Take(ctx, 1)
	require.ErrorIs(t, err, context.Canceled)
}

// endless yields 0, 1, 2, ... until stopped.
func endless(int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := 0; yield(i); i++ {
		}
	}
}

// runAndCancel runs action with a context that is cancelled once the action
// has seen 10 elements, and requires it to return context.Canceled promptly.
func runAndCancel(t *testing.T, action func(ctx context.Context, seen func()) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int64
	done := make(chan error, 1)
	go func() {
		done <- action(ctx, func() {
			if n.Add(1) == 10 {
				cancel()
			}
		})
	}()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(20 * time.Second):
		t.Fatal("the action did not stop after cancellation")
	}
}

func TestCancellationStopsLongComputations(t *testing.T) {
	t.Run("narrow", func(t *testing.T) {
		runAndCancel(t, func(ctx context.Context, seen func()) error {
			return FlatMapSeq(Parallelize([]int{0, 1}, 2), endless).Foreach(ctx, func(int) { seen() })
		})
	})
	t.Run("source", func(t *testing.T) {
		runAndCancel(t, func(ctx context.Context, seen func()) error {
			big := make([]int, 1_000_000)
			_, err := Map(Parallelize(big, 2), func(x int) int { seen(); return x }).Count(ctx)
			return err
		})
	})
	t.Run("shuffle map stage", func(t *testing.T) {
		runAndCancel(t, func(ctx context.Context, seen func()) error {
			pairs := Map(FlatMapSeq(Parallelize([]int{0}, 1), endless), func(x int) Pair[int, int] { seen(); return KV(x%7, 1) })
			_, err := ReduceByKey(pairs, add).Collect(ctx)
			return err
		})
	})
	t.Run("sort sampling", func(t *testing.T) {
		runAndCancel(t, func(ctx context.Context, seen func()) error {
			xs := FlatMapSeq(Parallelize([]int{0}, 1), endless)
			_, err := SortBy(xs, func(x int) int { seen(); return x }, true, 2).Collect(ctx)
			return err
		})
	})
}

func TestFirstErrorCancelsOtherTasks(t *testing.T) {
	ctx := WithExecutor(context.Background(), NewExecutor(2))
	errStop := errors.New("stop")
	// Partition 0 fails at once; partition 1 is endless and must be cancelled.
	r := FlatMapSeq(Parallelize([]int{0, 1}, 2), func(x int) iter.Seq[int] {
		if x == 0 {
			return func(func(int) bool) {}
		}
		return endless(x)
	})
	err := r.ForeachPartition(ctx, func(p int, elems iter.Seq[int]) error {
		if p == 0 {
			return errStop
		}
		for range elems {
		}
		return nil
	})
	require.ErrorIs(t, err, errStop)
	requireTaskError(t, err, "ForeachPartition", r.ID(), 0, false)
}
