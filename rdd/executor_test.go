package rdd

import (
	"context"
	"errors"
	"iter"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

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

// TestPanicNamesRecord: a panicking per-element function fails its task
// with a TaskError that names the element it was given, in Record and in
// the message, for every operation that calls one; a panic further down
// the chain (in an operation without a per-element function) names no
// record of the operations above it.
func TestPanicNamesRecord(t *testing.T) {
	ctx := context.Background()
	words := Parallelize([]string{"a b", "c bad", "d"}, 2)
	pairs := Parallelize([]Pair[string, int]{KV("x", 1), KV("y", 2), KV("x", 3), KV("z", 4)}, 2)
	boom := func(bad bool) {
		if bad {
			panic("boom")
		}
	}
	run := map[string]struct {
		op     string
		record string
		action func() error
	}{
		"Map": {"Map", `"c bad"`, func() error {
			_, err := Map(words, func(s string) int { boom(s == "c bad"); return 1 }).Collect(ctx)
			return err
		}},
		"FlatMap": {"FlatMap", `"d"`, func() error {
			_, err := FlatMap(words, func(s string) []string { boom(s == "d"); return nil }).Collect(ctx)
			return err
		}},
		"FlatMapSeq": {"FlatMap", `"a b"`, func() error {
			_, err := FlatMapSeq(words, func(s string) iter.Seq[string] { boom(s == "a b"); return strings.FieldsSeq(s) }).Collect(ctx)
			return err
		}},
		"Filter": {"Filter", `"d"`, func() error {
			_, err := words.Filter(func(s string) bool { boom(s == "d"); return true }).Collect(ctx)
			return err
		}},
		"MapValues": {"MapValues", "(y,2)", func() error {
			_, err := MapValues(pairs, func(v int) int { boom(v == 2); return v }).Collect(ctx)
			return err
		}},
		"FlatMapValues": {"FlatMapValues", "(z,4)", func() error {
			_, err := FlatMapValues(pairs, func(v int) []int { boom(v == 4); return nil }).Collect(ctx)
			return err
		}},
		"ReduceByKey map side": {"ReduceByKey", "(x,3)", func() error {
			_, err := ReduceByKey(pairs, func(a, b int) int { boom(b == 3); return a + b }, WithPartitions(3)).Collect(ctx)
			return err
		}},
		"CombineByKey reduce side": {"CombineByKey", "(x,[3])", func() error {
			_, err := CombineByKey(pairs, func(v int) []int { return []int{v} },
				func(c []int, v int) []int { return append(c, v) },
				func(a, b []int) []int { boom(true); return append(a, b...) }, WithPartitions(1)).Collect(ctx)
			return err
		}},
		"Foreach": {"Foreach", `"c bad"`, func() error {
			return words.Foreach(ctx, func(s string) { boom(s == "c bad") })
		}},
		"Reduce": {"Reduce", `"d"`, func() error {
			_, err := words.Reduce(ctx, func(a, b string) string { boom(b == "d"); return a })
			return err
		}},
		"Aggregate": {"Aggregate", `"c bad"`, func() error {
			_, err := Aggregate(ctx, words, 0, func(n int, s string) int { boom(s == "c bad"); return n }, func(a, b int) int { return a + b })
			return err
		}},
	}
	for name, tc := range run {
		t.Run(name, func(t *testing.T) {
			err := tc.action()
			var te *TaskError
			require.ErrorAs(t, err, &te)
			require.ErrorIs(t, err, ErrUserPanic)
			require.Equal(t, tc.op, te.Op)
			require.Equal(t, tc.record, te.Record)
			require.ErrorContains(t, err, "record "+tc.record+": user function panicked: boom")
		})
	}

	t.Run("a panic below names no record above", func(t *testing.T) {
		m := Map(words, func(s string) string { return s })
		_, err := MapPartitions(m, func(seq iter.Seq[string]) iter.Seq[string] {
			return func(yield func(string) bool) {
				for s := range seq {
					boom(s == "d")
					yield(s)
				}
			}
		}).Collect(ctx)
		var te *TaskError
		require.ErrorAs(t, err, &te)
		require.Equal(t, "MapPartitions", te.Op)
		require.Empty(t, te.Record)
		require.NotContains(t, err.Error(), "record")
	})
}

// TestDescribeRecord: strings are quoted, long records cut at a rune
// boundary with their size.
func TestDescribeRecord(t *testing.T) {
	require.Equal(t, `"a\tb\x00"`, describeRecord("a\tb\x00"))
	require.Equal(t, "(k,1)", describeRecord(KV("k", 1)))
	long := describeRecord(strings.Repeat("é", 300))
	require.True(t, utf8.ValidString(long), long)
	require.Contains(t, long, "... (602 bytes)")
	require.LessOrEqual(t, len(long), maxRecordBytes+len("... (602 bytes)"))
}

// TestPreparePanicIsTaskError: a panic in Prepare's function, which runs
// on the caller's goroutine before the job's tasks, fails the job with a
// *TaskError naming Prepare instead of escaping to the caller.
func TestPreparePanicIsTaskError(t *testing.T) {
	r := Prepare(Parallelize([]int{1}, 1), func(context.Context) error { panic("boom") })
	_, err := r.Collect(context.Background())
	te := requireTaskError(t, err, "Prepare", r.ID(), -1, true)
	require.Contains(t, te.Error(), "boom")
	r = Prepare(Parallelize([]int{1}, 1), func(context.Context) error { return errors.New("refused") })
	_, err = r.Collect(context.Background())
	require.ErrorContains(t, err, "refused")
}
