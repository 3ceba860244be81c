package dstream_test

import (
	"cmp"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
)

// Ports of the cases of Spark's WindowOperationsSuite
// (streaming/src/test/scala/org/apache/spark/streaming/WindowOperationsSuite.scala)
// whose pipeline window_test.go does not already have verbatim, run as
// Spark's TestSuiteBase.testOperation runs them: a 1 s batch, input in 2
// partitions, numBatches = len(expected) × slide / batch, and each batch's
// output compared as a set (useSet = true; here as a sorted slice, which
// checks multiplicity too).
//
// Spark's testWindow cases (basic, tumbling, larger, non-overlapping), its
// naive testReduceByKeyAndWindow cases, countByWindow and
// countByValueAndWindow are in window_test.go verbatim (TestWindow,
// TestReduceByKeyAndWindow, TestCountByWindow, TestCountByValueAndWindow)
// and are not repeated here. The cases below differ from window_test.go's
// by what Spark's pipelines add: the checkpoint interval of 100 s (and
// persist) of the windows with an inverse, the groups mapped to sets.

type swsPair = rdd.Pair[string, int]

func swsKV(k string, v int) swsPair { return rdd.KV(k, v) }

func swsAdd(a, b int) int { return a + b }
func swsSub(a, b int) int { return a - b }

func swsNumBatches(expected int, slide time.Duration) int {
	return expected * int(slide/time.Second)
}

// swsConsumeEveryBatch makes in take its input at every batch, as Spark's
// TestInputStream, indexed by batch time, does; dstreamtest's queue input
// is consumed only by the batches that compute it.
func swsConsumeEveryBatch[T any](in dstream.DStream[T]) {
	in.ForeachRDD(func(context.Context, *rdd.RDD[T], time.Time) error { return nil })
}

func swsSorted[K cmp.Ordered, V cmp.Ordered](batches [][]rdd.Pair[K, V]) [][]rdd.Pair[K, V] {
	for _, b := range batches {
		slices.SortFunc(b, func(x, y rdd.Pair[K, V]) int {
			return cmp.Or(cmp.Compare(x.Key, y.Key), cmp.Compare(x.Value, y.Value))
		})
	}
	return batches
}

var (
	swsLargerSlideInput = [][]swsPair{
		{swsKV("a", 1)},
		{swsKV("a", 2)}, // 1st window from here
		{swsKV("a", 3)},
		{swsKV("a", 4)}, // 2nd window from here
		{swsKV("a", 5)},
		{swsKV("a", 6)}, // 3rd window from here
		{},
		{}, // 4th window from here
	}
	swsLargerSlideReduceOutput = [][]swsPair{{swsKV("a", 3)}, {swsKV("a", 10)}, {swsKV("a", 18)}, {swsKV("a", 11)}}

	swsBigInput = [][]swsPair{
		{swsKV("a", 1)},
		{swsKV("a", 1), swsKV("b", 1)},
		{swsKV("a", 1), swsKV("b", 1), swsKV("c", 1)},
		{swsKV("a", 1), swsKV("b", 1)},
		{swsKV("a", 1)},
		{},
		{swsKV("a", 1)},
		{swsKV("a", 1), swsKV("b", 1)},
		{swsKV("a", 1), swsKV("b", 1), swsKV("c", 1)},
		{swsKV("a", 1), swsKV("b", 1)},
		{swsKV("a", 1)},
		{},
	}
	swsBigReduceOutput = [][]swsPair{
		{swsKV("a", 1)},
		{swsKV("a", 2), swsKV("b", 1)},
		{swsKV("a", 2), swsKV("b", 2), swsKV("c", 1)},
		{swsKV("a", 2), swsKV("b", 2), swsKV("c", 1)},
		{swsKV("a", 2), swsKV("b", 1)},
		{swsKV("a", 1)},
		{swsKV("a", 1)},
		{swsKV("a", 2), swsKV("b", 1)},
		{swsKV("a", 2), swsKV("b", 2), swsKV("c", 1)},
		{swsKV("a", 2), swsKV("b", 2), swsKV("c", 1)},
		{swsKV("a", 2), swsKV("b", 1)},
		{swsKV("a", 1)},
	}
	// With an inverse and no filter no key leaves the window: a key whose
	// value drops to 0 stays, at 0.
	swsBigReduceInvOutput = [][]swsPair{
		{swsKV("a", 1)},
		{swsKV("a", 2), swsKV("b", 1)},
		{swsKV("a", 2), swsKV("b", 2), swsKV("c", 1)},
		{swsKV("a", 2), swsKV("b", 2), swsKV("c", 1)},
		{swsKV("a", 2), swsKV("b", 1), swsKV("c", 0)},
		{swsKV("a", 1), swsKV("b", 0), swsKV("c", 0)},
		{swsKV("a", 1), swsKV("b", 0), swsKV("c", 0)},
		{swsKV("a", 2), swsKV("b", 1), swsKV("c", 0)},
		{swsKV("a", 2), swsKV("b", 2), swsKV("c", 1)},
		{swsKV("a", 2), swsKV("b", 2), swsKV("c", 1)},
		{swsKV("a", 2), swsKV("b", 1), swsKV("c", 0)},
		{swsKV("a", 1), swsKV("b", 0), swsKV("c", 0)},
	}
)

type swsReduceCase struct {
	name          string
	input, want   [][]swsPair
	window, slide time.Duration
}

func swsRunReduce(t *testing.T, cases []swsReduceCase, build func(t *testing.T, in dstream.DStream[swsPair], window, slide time.Duration) dstream.DStream[swsPair]) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := dstreamtest.Run(t, time.Second, tc.input, func(in dstream.DStream[swsPair]) dstream.DStream[swsPair] {
				swsConsumeEveryBatch(in)
				return build(t, in, tc.window, tc.slide)
			}, swsNumBatches(len(tc.want), tc.slide))
			require.Equal(t, tc.want, swsSorted(out))
		})
	}
}

// TestSparkWindowSuite_ReduceByKeyAndWindowWithInverse is
// testReduceByKeyAndWindowWithInverse, with Spark's
// .checkpoint(Seconds(100)) ("large value to avoid effect of RDD
// checkpointing"): no data checkpoint falls within these runs, where the
// default interval (10 s) would checkpoint the big test at 10 s.
func TestSparkWindowSuite_ReduceByKeyAndWindowWithInverse(t *testing.T) {
	swsRunReduce(t, []swsReduceCase{
		{"basic reduction", [][]swsPair{{swsKV("a", 1), swsKV("a", 3)}}, [][]swsPair{{swsKV("a", 4)}}, 2 * time.Second, time.Second},
		{"key already in window and new value added into window", [][]swsPair{{swsKV("a", 1)}, {swsKV("a", 1)}},
			[][]swsPair{{swsKV("a", 1)}, {swsKV("a", 2)}}, 2 * time.Second, time.Second},
		{"new key added into window", [][]swsPair{{swsKV("a", 1)}, {swsKV("a", 1), swsKV("b", 1)}},
			[][]swsPair{{swsKV("a", 1)}, {swsKV("a", 2), swsKV("b", 1)}}, 2 * time.Second, time.Second},
		// The key stays, at 0, once its values have left the window.
		{"key removed from window", [][]swsPair{{swsKV("a", 1)}, {swsKV("a", 1)}, {}, {}},
			[][]swsPair{{swsKV("a", 1)}, {swsKV("a", 2)}, {swsKV("a", 1)}, {swsKV("a", 0)}}, 2 * time.Second, time.Second},
		{"larger slide time", swsLargerSlideInput, swsLargerSlideReduceOutput, 4 * time.Second, 2 * time.Second},
		{"big test", swsBigInput, swsBigReduceInvOutput, 2 * time.Second, time.Second},
	}, func(t *testing.T, in dstream.DStream[swsPair], window, slide time.Duration) dstream.DStream[swsPair] {
		w := dstream.ReduceByKeyAndWindow(in, swsAdd, window, slide, dstream.WithInverse(swsSub))
		w.Checkpoint(100 * time.Second)
		require.Equal(t, 100*time.Second, w.CheckpointInterval())
		return w
	})
}

// TestSparkWindowSuite_ReduceByKeyAndWindowWithFilteredInverse is
// testReduceByKeyAndWindowWithFilteredInverse: the filter p._2 != 0, and
// Spark's .persist().checkpoint(Seconds(100)).
func TestSparkWindowSuite_ReduceByKeyAndWindowWithFilteredInverse(t *testing.T) {
	nonZero := func(p swsPair) bool { return p.Value != 0 }
	swsRunReduce(t, []swsReduceCase{
		{"big test", swsBigInput, swsBigReduceOutput, 2 * time.Second, time.Second},
	}, func(t *testing.T, in dstream.DStream[swsPair], window, slide time.Duration) dstream.DStream[swsPair] {
		w := dstream.ReduceByKeyAndWindow(in, swsAdd, window, slide, dstream.WithInverse(swsSub), dstream.WithFilter(nonZero))
		w.Persist().Checkpoint(100 * time.Second)
		require.Equal(t, 100*time.Second, w.CheckpointInterval())
		return w
	})
}

// TestSparkWindowSuite_GroupByKeyAndWindow is test("groupByKeyAndWindow"):
// each group mapped to the set of its values (x._2.toSet, here a sorted
// slice without repeats) and persisted, as Spark does.
func TestSparkWindowSuite_GroupByKeyAndWindow(t *testing.T) {
	type group = rdd.Pair[string, []int]
	g := rdd.KV[string, []int]
	one := []int{1}
	// Spark's bigGroupByOutput mapped to sets: Seq(1, 1).toSet is Set(1).
	want := [][]group{
		{g("a", one)},
		{g("a", one), g("b", one)},
		{g("a", one), g("b", one), g("c", one)},
		{g("a", one), g("b", one), g("c", one)},
		{g("a", one), g("b", one)},
		{g("a", one)},
		{g("a", one)},
		{g("a", one), g("b", one)},
		{g("a", one), g("b", one), g("c", one)},
		{g("a", one), g("b", one), g("c", one)},
		{g("a", one), g("b", one)},
		{g("a", one)},
	}
	for _, tc := range []struct {
		name          string
		window, slide time.Duration
	}{
		{"big test", 2 * time.Second, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := dstreamtest.Run(t, time.Second, swsBigInput, func(in dstream.DStream[swsPair]) dstream.DStream[group] {
				swsConsumeEveryBatch(in)
				w := dstream.GroupByKeyAndWindow(in, tc.window, tc.slide)
				return dstream.MapValues(w, func(vs []int) []int {
					set := slices.Clone(vs)
					slices.Sort(set)
					return slices.Compact(set)
				}).Persist()
			}, swsNumBatches(len(want), tc.slide))
			for _, b := range out {
				slices.SortFunc(b, func(x, y group) int { return cmp.Compare(x.Key, y.Key) })
			}
			require.Equal(t, want, out)
		})
	}
}
