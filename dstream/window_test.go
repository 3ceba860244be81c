package dstream_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"
	"weak"

	"github.com/stretchr/testify/require"

	sctx "github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
)

// Ports of Spark's WindowOperationsSuite. The batch interval is 1 s and,
// as there, numBatches = len(expected) × slide / batch.

type kv = rdd.Pair[string, int]

func p(k string, v int) kv { return rdd.KV(k, v) }

// sortBatches sorts the pairs of every batch by key, then value.
func sortBatches[K cmp.Ordered, V cmp.Ordered](batches [][]rdd.Pair[K, V]) [][]rdd.Pair[K, V] {
	for _, b := range batches {
		slices.SortFunc(b, func(x, y rdd.Pair[K, V]) int { return cmp.Or(cmp.Compare(x.Key, y.Key), cmp.Compare(x.Value, y.Value)) })
	}
	return batches
}

// queueInput is an input stream fed by pushing into its queue while the
// context runs.
type queueInput[T any] struct {
	queue  *sctx.Queue[T]
	stream dstream.DStream[T]
}

func newQueue[T any](h *dstreamtest.Harness) queueInput[T] {
	q := sctx.NewQueue[T]()
	return queueInput[T]{q, sctx.QueueStream(h.Context(), q, true)}
}

// consumeEveryBatch makes in take its input at every batch. dstreamtest's
// input is a queue that a batch consumes only when some stream computes
// it, whereas Spark's test input is indexed by batch time; a window whose
// slide is longer than itself skips batches, so without this it would see
// the skipped batches' input later.
func consumeEveryBatch[T any](in dstream.DStream[T]) {
	in.ForeachRDD(func(context.Context, *rdd.RDD[T], time.Time) error { return nil })
}

func numBatches(expected int, slide time.Duration) int { return expected * int(slide/time.Second) }

var (
	largerSlideInput = [][]kv{
		{p("a", 1)},
		{p("a", 2)}, // 1st window from here
		{p("a", 3)},
		{p("a", 4)}, // 2nd window from here
		{p("a", 5)},
		{p("a", 6)}, // 3rd window from here
		{},
		{}, // 4th window from here
	}
	largerSlideReduceOutput = [][]kv{{p("a", 3)}, {p("a", 10)}, {p("a", 18)}, {p("a", 11)}}

	bigInput = [][]kv{
		{p("a", 1)},
		{p("a", 1), p("b", 1)},
		{p("a", 1), p("b", 1), p("c", 1)},
		{p("a", 1), p("b", 1)},
		{p("a", 1)},
		{},
		{p("a", 1)},
		{p("a", 1), p("b", 1)},
		{p("a", 1), p("b", 1), p("c", 1)},
		{p("a", 1), p("b", 1)},
		{p("a", 1)},
		{},
	}
	bigReduceOutput = [][]kv{
		{p("a", 1)},
		{p("a", 2), p("b", 1)},
		{p("a", 2), p("b", 2), p("c", 1)},
		{p("a", 2), p("b", 2), p("c", 1)},
		{p("a", 2), p("b", 1)},
		{p("a", 1)},
		{p("a", 1)},
		{p("a", 2), p("b", 1)},
		{p("a", 2), p("b", 2), p("c", 1)},
		{p("a", 2), p("b", 2), p("c", 1)},
		{p("a", 2), p("b", 1)},
		{p("a", 1)},
	}
	// With an inverse but no filter, keys whose value drops to 0 stay.
	bigReduceInvOutput = [][]kv{
		{p("a", 1)},
		{p("a", 2), p("b", 1)},
		{p("a", 2), p("b", 2), p("c", 1)},
		{p("a", 2), p("b", 2), p("c", 1)},
		{p("a", 2), p("b", 1), p("c", 0)},
		{p("a", 1), p("b", 0), p("c", 0)},
		{p("a", 1), p("b", 0), p("c", 0)},
		{p("a", 2), p("b", 1), p("c", 0)},
		{p("a", 2), p("b", 2), p("c", 1)},
		{p("a", 2), p("b", 2), p("c", 1)},
		{p("a", 2), p("b", 1), p("c", 0)},
		{p("a", 1), p("b", 0), p("c", 0)},
	}
)

func TestWindow(t *testing.T) {
	input := [][]int{{0}, {1}, {2}, {3}, {4}, {5}}
	for _, tc := range []struct {
		name          string
		window, slide time.Duration
		want          [][]int
	}{
		{"basic window", 2 * time.Second, time.Second, [][]int{{0}, {0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}}},
		{"tumbling window", 2 * time.Second, 2 * time.Second, [][]int{{0, 1}, {2, 3}, {4, 5}}},
		{"larger window", 4 * time.Second, 2 * time.Second, [][]int{{0, 1}, {0, 1, 2, 3}, {2, 3, 4, 5}, {4, 5}}},
		{"non-overlapping window", 2 * time.Second, 3 * time.Second, [][]int{{1, 2}, {4, 5}}},
		{"default slide", 2 * time.Second, 0, [][]int{{0}, {0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slide := cmp.Or(tc.slide, time.Second)
			out := dstreamtest.Run(t, time.Second, input, func(in dstream.DStream[int]) dstream.DStream[int] {
				consumeEveryBatch(in)
				w := in.Window(tc.window, tc.slide)
				require.Equal(t, slide, w.SlideDuration())
				return w
			}, numBatches(len(tc.want), slide))
			for _, b := range out {
				slices.Sort(b)
			}
			require.Equal(t, tc.want, out)
		})
	}
}

type reduceCase struct {
	name          string
	input         [][]kv
	want          [][]kv
	window, slide time.Duration
}

func reduceCases(keyRemoved []kv, big [][]kv) []reduceCase {
	return []reduceCase{
		{"basic reduction", [][]kv{{p("a", 1), p("a", 3)}}, [][]kv{{p("a", 4)}}, 2 * time.Second, time.Second},
		{"key already in window and new value added into window", [][]kv{{p("a", 1)}, {p("a", 1)}},
			[][]kv{{p("a", 1)}, {p("a", 2)}}, 2 * time.Second, time.Second},
		{"new key added into window", [][]kv{{p("a", 1)}, {p("a", 1), p("b", 1)}},
			[][]kv{{p("a", 1)}, {p("a", 2), p("b", 1)}}, 2 * time.Second, time.Second},
		{"key removed from window", [][]kv{{p("a", 1)}, {p("a", 1)}, {}, {}},
			[][]kv{{p("a", 1)}, {p("a", 2)}, {p("a", 1)}, keyRemoved}, 2 * time.Second, time.Second},
		{"larger slide time", largerSlideInput, largerSlideReduceOutput, 4 * time.Second, 2 * time.Second},
		{"big test", bigInput, big, 2 * time.Second, time.Second},
	}
}

func add(a, b int) int { return a + b }
func sub(a, b int) int { return a - b }

func runReduceCases(t *testing.T, cases []reduceCase, opts ...dstream.Option) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := dstreamtest.Run(t, time.Second, tc.input, func(in dstream.DStream[kv]) dstream.DStream[kv] {
				return dstream.ReduceByKeyAndWindow(in, add, tc.window, tc.slide, opts...)
			}, numBatches(len(tc.want), tc.slide))
			require.Equal(t, tc.want, sortBatches(out))
		})
	}
}

func TestReduceByKeyAndWindow(t *testing.T) {
	runReduceCases(t, reduceCases([]kv{}, bigReduceOutput))
}

func TestReduceByKeyAndWindowWithInverse(t *testing.T) {
	runReduceCases(t, reduceCases([]kv{p("a", 0)}, bigReduceInvOutput), dstream.WithInverse(sub))
}

func TestReduceByKeyAndWindowWithFilteredInverse(t *testing.T) {
	nonZero := func(x kv) bool { return x.Value != 0 }
	runReduceCases(t, reduceCases([]kv{}, bigReduceOutput), dstream.WithInverse(sub), dstream.WithFilter(nonZero))
}

func TestReduceByKeyAndWindowPartitions(t *testing.T) {
	for _, inverse := range []bool{false, true} {
		t.Run(fmt.Sprint("inverse=", inverse), func(t *testing.T) {
			opts := []dstream.Option{dstream.WithPartitions(3)}
			if inverse {
				opts = append(opts, dstream.WithInverse(sub))
			}
			h := dstreamtest.NewHarness(t, time.Second)
			w := dstream.ReduceByKeyAndWindow(dstreamtest.Input(h, bigInput), add, 2*time.Second, 0, opts...)
			var parts []int
			w.ForeachRDD(func(_ context.Context, r *rdd.RDD[kv], _ time.Time) error {
				parts = append(parts, r.NumPartitions())
				return nil
			})
			h.Start()
			for range 4 {
				h.Step()
			}
			require.Equal(t, []int{3, 3, 3, 3}, parts)
		})
	}
}

func TestGroupByKeyAndWindow(t *testing.T) {
	g := rdd.KV[string, []int]
	want := [][]rdd.Pair[string, []int]{
		{g("a", []int{1})},
		{g("a", []int{1, 1}), g("b", []int{1})},
		{g("a", []int{1, 1}), g("b", []int{1, 1}), g("c", []int{1})},
		{g("a", []int{1, 1}), g("b", []int{1, 1}), g("c", []int{1})},
		{g("a", []int{1, 1}), g("b", []int{1})},
		{g("a", []int{1})},
		{g("a", []int{1})},
		{g("a", []int{1, 1}), g("b", []int{1})},
		{g("a", []int{1, 1}), g("b", []int{1, 1}), g("c", []int{1})},
		{g("a", []int{1, 1}), g("b", []int{1, 1}), g("c", []int{1})},
		{g("a", []int{1, 1}), g("b", []int{1})},
		{g("a", []int{1})},
	}
	out := dstreamtest.Run(t, time.Second, bigInput, func(in dstream.DStream[kv]) dstream.DStream[rdd.Pair[string, []int]] {
		return dstream.GroupByKeyAndWindow(in, 2*time.Second, time.Second)
	}, numBatches(len(want), time.Second))
	for _, b := range out {
		slices.SortFunc(b, func(x, y rdd.Pair[string, []int]) int { return cmp.Compare(x.Key, y.Key) })
	}
	require.Equal(t, want, out)
}

func TestCountByWindow(t *testing.T) {
	out := dstreamtest.Run(t, time.Second, [][]int{{1}, {1}, {1, 2}, {0}, {}, {}},
		func(in dstream.DStream[int]) dstream.DStream[int64] {
			return dstream.CountByWindow(in, 2*time.Second, time.Second)
		}, 6)
	require.Equal(t, [][]int64{{1}, {2}, {3}, {3}, {1}, {0}}, out)
}

func TestCountByWindowBeforeFirstElement(t *testing.T) {
	// As in Spark, a count appears only once the window has seen an element.
	out := dstreamtest.Run(t, time.Second, [][]int{{}, {}, {7}, {}, {}},
		func(in dstream.DStream[int]) dstream.DStream[int64] {
			return dstream.CountByWindow(in, 2*time.Second, time.Second)
		}, 5)
	require.Equal(t, [][]int64{{}, {}, {1}, {1}, {0}}, out)
}

func TestCountByValueAndWindow(t *testing.T) {
	out := dstreamtest.Run(t, time.Second, [][]string{{"a"}, {"b", "b"}, {"a", "b"}},
		func(in dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int64]] {
			return dstream.CountByValueAndWindow(in, 2*time.Second, time.Second)
		}, 3)
	require.Equal(t, [][]rdd.Pair[string, int64]{
		{rdd.KV("a", int64(1))},
		{rdd.KV("a", int64(1)), rdd.KV("b", int64(2))},
		{rdd.KV("a", int64(1)), rdd.KV("b", int64(3))},
	}, sortBatches(out))
}

func TestCountByValueAndWindowRemovesZeroCounts(t *testing.T) {
	out := dstreamtest.Run(t, time.Second, [][]string{{"a"}, {"b"}, {}, {}},
		func(in dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int64]] {
			return dstream.CountByValueAndWindow(in, 2*time.Second, time.Second)
		}, 4)
	require.Equal(t, [][]rdd.Pair[string, int64]{
		{rdd.KV("a", int64(1))},
		{rdd.KV("a", int64(1)), rdd.KV("b", int64(1))},
		{rdd.KV("b", int64(1))},
		{},
	}, sortBatches(out))
}

// Spark's JavaAPISuite.testReduceByWindow (with and without the inverse):
// [1,2,3], [4,5,6], [7,8,9] over a 2 s window sliding by 1 s give 6, 21,
// 39, 24.
func TestReduceByWindowSparkJavaAPISuite(t *testing.T) {
	input := [][]int{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}
	for _, opts := range [][]dstream.Option{nil, {dstream.WithInverse(sub)}} {
		out := dstreamtest.Run(t, time.Second, input, func(in dstream.DStream[int]) dstream.DStream[int] {
			return in.ReduceByWindow(add, 2*time.Second, time.Second, opts...)
		}, 4)
		require.Equal(t, [][]int{{6}, {21}, {39}, {24}}, out)
	}
}

func TestReduceByWindow(t *testing.T) {
	input := [][]int{{1}, {2, 3}, {}, {4}, {}, {}, {}}
	for _, tc := range []struct {
		name string
		opts []dstream.Option
		want [][]int
	}{
		{"without inverse", nil, [][]int{{1}, {6}, {5}, {4}, {4}, {}, {}}},
		// With an inverse the window keeps its value once it has one.
		{"with inverse", []dstream.Option{dstream.WithInverse(sub)}, [][]int{{1}, {6}, {5}, {4}, {4}, {0}, {0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := dstreamtest.Run(t, time.Second, input, func(in dstream.DStream[int]) dstream.DStream[int] {
				return in.ReduceByWindow(add, 2*time.Second, time.Second, tc.opts...)
			}, 7)
			require.Equal(t, tc.want, out)
		})
	}
}

func TestReduceByWindowLargerSlide(t *testing.T) {
	input := [][]int{{1}, {2}, {3}, {4}, {5}, {6}, {}, {}}
	for _, opts := range [][]dstream.Option{nil, {dstream.WithInverse(sub)}} {
		out := dstreamtest.Run(t, time.Second, input, func(in dstream.DStream[int]) dstream.DStream[int] {
			return dstream.ReduceByWindow(in, add, 4*time.Second, 2*time.Second, opts...)
		}, 8)
		require.Equal(t, [][]int{{3}, {10}, {18}, {11}}, out)
	}
}

// TestWindowInvalidDurations checks Spark's messages, which differ between
// WindowedDStream ("must be a multiple") and ReducedWindowedDStream, the
// windowed reductions with an inverse ("must be multiple").
func TestWindowInvalidDurations(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(in dstream.DStream[kv]) func(int)
		msg   string
	}{
		{"window", func(in dstream.DStream[kv]) func(int) {
			return in.Window(2*time.Second, 2*time.Second).Window(3*time.Second, 0).Print
		}, "Window: invalid stream: The window duration of windowed DStream (3s) must be a multiple of the slide duration of parent DStream (2s)"},
		{"slide", func(in dstream.DStream[kv]) func(int) {
			return in.Window(2*time.Second, 2*time.Second).Window(4*time.Second, 3*time.Second).Print
		}, "The slide duration of windowed DStream (3s) must be a multiple of the slide duration of parent DStream (2s)"},
		{"window of reduceByKeyAndWindow", func(in dstream.DStream[kv]) func(int) {
			return dstream.ReduceByKeyAndWindow(in, add, 1500*time.Millisecond, 0, dstream.WithInverse(sub)).Print
		}, "ReduceByKeyAndWindow: invalid stream: The window duration of ReducedWindowedDStream (1.5s) must be multiple of the slide duration of parent DStream (1s)"},
		{"slide of reduceByKeyAndWindow without inverse", func(in dstream.DStream[kv]) func(int) {
			return dstream.ReduceByKeyAndWindow(in, add, 2*time.Second, 1500*time.Millisecond).Print
		}, "The slide duration of windowed DStream (1.5s) must be a multiple of the slide duration of parent DStream (1s)"},
		{"slide of countByWindow", func(in dstream.DStream[kv]) func(int) {
			return dstream.CountByWindow(in, 2*time.Second, 1500*time.Millisecond).Print
		}, "CountByWindow: invalid stream: The slide duration of ReducedWindowedDStream (1.5s) must be multiple of the slide duration of parent DStream (1s)"},
		{"window of reduceByWindow without inverse", func(in dstream.DStream[kv]) func(int) {
			return in.ReduceByWindow(func(a, b kv) kv { return a }, 2500*time.Millisecond, 0).Print
		}, "The window duration of windowed DStream (2.5s) must be a multiple of the slide duration of parent DStream (1s)"},
		{"window of countByValueAndWindow", func(in dstream.DStream[kv]) func(int) {
			return dstream.CountByValueAndWindow(in, 2500*time.Millisecond, 0).Print
		}, "CountByValueAndWindow: invalid stream: The window duration of ReducedWindowedDStream (2.5s) must be multiple of the slide duration of parent DStream (1s)"},
		{"non-positive window", func(in dstream.DStream[kv]) func(int) { return in.Window(0, 0).Print },
			"The window duration of windowed DStream (0s) must be positive"},
		{"negative slide", func(in dstream.DStream[kv]) func(int) { return in.Window(time.Second, -time.Second).Print },
			"The slide duration of windowed DStream (-1s) must be positive"},
		{"inverse of another type", func(in dstream.DStream[kv]) func(int) {
			return dstream.ReduceByKeyAndWindow(in, add, 2*time.Second, 0, dstream.WithInverse(func(a, b int64) int64 { return a - b })).Print
		}, "inverse function func(int64, int64) int64 does not match the values (want func(int, int) int)"},
		{"filter of another type", func(in dstream.DStream[kv]) func(int) {
			return dstream.ReduceByKeyAndWindow(in, add, 2*time.Second, 0, dstream.WithInverse(sub),
				dstream.WithFilter(func(rdd.Pair[int, int]) bool { return true })).Print
		}, "filter function func(rdd.Pair[int,int]) bool does not match the pairs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := dstreamtest.NewHarness(t, time.Second)
			tc.build(dstreamtest.Input(h, [][]kv{}))(1)
			err := h.Context().Start()
			require.ErrorIs(t, err, dstream.ErrInvalidStream)
			require.ErrorContains(t, err, tc.msg)
		})
	}
}

func TestWindowRemembersParentForWindow(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	in := dstreamtest.Input(h, [][]int{})
	w := in.Window(30*time.Second, 10*time.Second)
	w.Print(1)
	keyed := dstream.Map(dstreamtest.Input(h, [][]int{}), func(x int) kv { return p("k", x) })
	r := dstream.ReduceByKeyAndWindow(keyed, add, 30*time.Second, 10*time.Second, dstream.WithInverse(sub))
	r.Print(1)
	h.Start()
	require.Equal(t, 10*time.Second, w.RememberDuration())
	require.Equal(t, 40*time.Second, in.RememberDuration(), "window + the window stream's remember")
	// The incremental window must checkpoint: it remembers two checkpoint
	// intervals (Spark's default: 10 s rounded up to the slide), and its
	// per-batch reductions that plus the window.
	require.Equal(t, 20*time.Second, r.RememberDuration())
	require.Equal(t, 50*time.Second, keyed.RememberDuration())
}

// TestReduceByKeyAndWindowInverseEqualsNaive is the property test: over
// random inputs, keys, windows and slides, the incremental form with a
// filter of zero values equals the naive recomputation, and without the
// filter differs from it only by keys whose value is 0.
func TestReduceByKeyAndWindowInverseEqualsNaive(t *testing.T) {
	for seed := range uint64(12) {
		rng := rand.New(rand.NewPCG(seed, 42))
		batches := 10 + rng.IntN(15)
		keys := 1 + rng.IntN(8)
		input := make([][]kv, batches)
		for i := range input {
			for range rng.IntN(6) {
				input[i] = append(input[i], p(fmt.Sprint("k", rng.IntN(keys)), 1+rng.IntN(5)))
			}
		}
		window := time.Duration(1+rng.IntN(6)) * time.Second
		slide := time.Duration(1+rng.IntN(4)) * time.Second
		var opts []dstream.Option
		if rng.IntN(2) == 0 {
			opts = append(opts, dstream.WithPartitions(1+rng.IntN(4)))
		}
		t.Run(fmt.Sprintf("seed=%d/window=%v/slide=%v", seed, window, slide), func(t *testing.T) {
			h := dstreamtest.NewHarness(t, time.Second)
			in := dstreamtest.Input(h, input)
			consumeEveryBatch(in)
			naive := dstreamtest.Collect(dstream.ReduceByKeyAndWindow(in, add, window, slide, opts...))
			inv := dstreamtest.Collect(dstream.ReduceByKeyAndWindow(in, add, window, slide, append(opts, dstream.WithInverse(sub))...))
			filtered := dstreamtest.Collect(dstream.ReduceByKeyAndWindow(in, add, window, slide,
				append(opts, dstream.WithInverse(sub), dstream.WithFilter(func(x kv) bool { return x.Value != 0 }))...))
			h.Start()
			for range batches + int(window/time.Second) + 2 {
				h.Step()
			}
			h.Stop()
			want := sortBatches(naive.Batches())
			require.NotEmpty(t, want)
			require.Equal(t, want, sortBatches(filtered.Batches()))
			got := sortBatches(inv.Batches())
			for i := range got {
				got[i] = slices.DeleteFunc(got[i], func(x kv) bool { return x.Value == 0 })
			}
			require.Equal(t, want, got)
			require.Equal(t, naive.Times(), inv.Times())
		})
	}
}

// TestReduceByKeyAndWindowInverseMemoryIsBounded checks that incremental
// windows do not chain up: an early window's RDD becomes garbage once the
// stream has forgotten it, and the heap does not grow over thousands of
// batches.
func TestReduceByKeyAndWindowInverseMemoryIsBounded(t *testing.T) {
	batches := 3000
	if testing.Short() {
		batches = 600
	}
	const keys = 200
	h := dstreamtest.NewHarness(t, time.Second)
	q := newQueue[kv](h)
	w := dstream.ReduceByKeyAndWindow(q.stream, add, 5*time.Second, time.Second, dstream.WithInverse(sub))
	var early weak.Pointer[rdd.RDD[kv]]
	var total int
	w.ForeachRDD(func(ctx context.Context, r *rdd.RDD[kv], bt time.Time) error {
		if bt.Unix() == 10 {
			early = weak.Make(r)
		}
		xs, err := r.Collect(ctx)
		total = 0
		for _, x := range xs {
			total += x.Value
		}
		return err
	})
	data := make([]kv, keys)
	for i := range data {
		data[i] = p(fmt.Sprint("k", i), 1)
	}
	h.Start()
	heapAt := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	var base uint64
	for i := 1; i <= batches; i++ {
		q.queue.PushSlice(data, 2)
		h.Step()
		if i == batches/4 {
			base = heapAt()
			require.Nil(t, early.Value(), "the window of batch 10 is still reachable")
		}
	}
	require.Equal(t, 5*keys, total)
	grown := int64(heapAt()) - int64(base)
	t.Logf("heap after %d batches: %+d bytes since batch %d", batches, grown, batches/4)
	require.Less(t, grown, int64(4<<20), "the heap grows with the number of batches")
}

func TestWindowOfEmptyStream(t *testing.T) {
	out := dstreamtest.Run(t, time.Second, [][]kv{}, func(in dstream.DStream[kv]) dstream.DStream[kv] {
		return dstream.ReduceByKeyAndWindow(in, add, 3*time.Second, time.Second, dstream.WithInverse(sub))
	}, 3)
	require.Equal(t, [][]kv{{}, {}, {}}, out)
}

func TestReduceByKeyAndWindowInverseFilterRemovingLiveKeyFails(t *testing.T) {
	// Spark's "Neither previous window has value for key, nor new values
	// found": the filter removed a key whose batch later leaves the window.
	err := windowFailure(t, [][]kv{{p("a", 1)}, {}, {}}, dstream.WithInverse(sub), dstream.WithFilter(func(kv) bool { return false }))
	require.ErrorContains(t, err, "neither the previous window has a value")
	require.True(t, errors.Is(err, rdd.ErrUserPanic))
}

// TestInverseTumblingWindowKeepsKeys checks tumbling windows (slide equal
// to the window) with an inverse against Spark, whose formula applies to
// them too: the old batches are the previous window, so a key of the
// previous window stays, at the identity, and CountByWindow yields 0 for
// an empty window once it has seen an element.
func TestInverseTumblingWindowKeepsKeys(t *testing.T) {
	counts := dstreamtest.Run(t, time.Second, [][]int{{1}, {1, 2}, {}, {}, {5}, {}},
		func(in dstream.DStream[int]) dstream.DStream[int64] {
			return dstream.CountByWindow(in, 2*time.Second, 2*time.Second)
		}, 6)
	require.Equal(t, [][]int64{{3}, {0}, {1}}, counts)

	input := [][]kv{{p("a", 1)}, {p("b", 2)}, {p("a", 3)}, {}, {}, {}}
	reduce := func(opts ...dstream.Option) [][]kv {
		out := dstreamtest.Run(t, time.Second, input, func(in dstream.DStream[kv]) dstream.DStream[kv] {
			return dstream.ReduceByKeyAndWindow(in, add, 2*time.Second, 2*time.Second, opts...)
		}, 6)
		return sortBatches(out)
	}
	require.Equal(t, [][]kv{{p("a", 1), p("b", 2)}, {p("a", 3), p("b", 0)}, {p("a", 0), p("b", 0)}},
		reduce(dstream.WithInverse(sub)))
	require.Equal(t, [][]kv{{p("a", 1), p("b", 2)}, {p("a", 3)}, {}},
		reduce(dstream.WithInverse(sub), dstream.WithFilter(func(x kv) bool { return x.Value != 0 })))
}

// TestInverseFunctionPanicNamesRecord: the error of a panicking inverse
// function names the key and the window's sides it was merging.
func TestInverseFunctionPanicNamesRecord(t *testing.T) {
	badSub := func(a, b int) int { panic("no inverse") }
	err := windowFailure(t, [][]kv{{p("a", 1)}, {p("a", 2)}, {}}, dstream.WithInverse(badSub))
	require.ErrorIs(t, err, rdd.ErrUserPanic)
	require.ErrorContains(t, err, "record (a,previous window 3, left 1): user function panicked: no inverse")
	require.ErrorContains(t, err, "ReduceByKeyAndWindow (stream ", "the stream's operation is named, not only MapValues")
	require.ErrorContains(t, err, "inverse-reduced")
}

// TestCountByWindowWithGapsYieldsNothingWhenEmpty: with batches between
// windows (slide > window) each window is counted from its own batches, so
// an empty one yields no element (Spark's incremental formula, wrong for
// such windows, would yield 0), as documented.
func TestCountByWindowWithGapsYieldsNothingWhenEmpty(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	in := dstreamtest.Input(h, [][]int{{}, {1}, {}, {}, {}, {}})
	dstreamtest.Collect(in) // consumed every batch
	out := dstreamtest.Collect(dstream.CountByWindow(in, time.Second, 2*time.Second))
	h.Start()
	for range 6 {
		h.Step()
	}
	require.Equal(t, [][]int64{{1}, {}, {}}, out.Batches())
}

// windowFailure runs ReduceByKeyAndWindow (add, a 2 s window sliding by
// 1 s, opts) over three batches of input, the first two succeeding and the
// third failing, and returns the error that stopped the context.
func windowFailure(t *testing.T, input [][]kv, opts ...dstream.Option) error {
	t.Helper()
	h := dstreamtest.NewHarness(t, time.Second)
	dstreamtest.Collect(dstream.ReduceByKeyAndWindow(dstreamtest.Input(h, input), add, 2*time.Second, time.Second, opts...))
	h.Start()
	h.Step()
	h.Step()
	_, _ = h.TryStep()
	return h.Context().AwaitTermination()
}
