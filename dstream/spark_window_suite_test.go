package dstream_test

import (
	"cmp"
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

// The helpers and Spark's data tables (largerSlideInput, bigInput, ...)
// are window_test.go's.

// swsRunReduce is runReduceCases with the window built by build.
func swsRunReduce(t *testing.T, cases []reduceCase, build func(t *testing.T, in dstream.DStream[kv], window, slide time.Duration) dstream.DStream[kv]) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := dstreamtest.Run(t, time.Second, tc.input, func(in dstream.DStream[kv]) dstream.DStream[kv] {
				consumeEveryBatch(in)
				return build(t, in, tc.window, tc.slide)
			}, numBatches(len(tc.want), tc.slide))
			require.Equal(t, tc.want, sortBatches(out))
		})
	}
}

// TestSparkWindowSuite_ReduceByKeyAndWindowWithInverse is
// testReduceByKeyAndWindowWithInverse, with Spark's
// .checkpoint(Seconds(100)) ("large value to avoid effect of RDD
// checkpointing"): no data checkpoint falls within these runs, where the
// default interval (10 s) would checkpoint the big test at 10 s.
func TestSparkWindowSuite_ReduceByKeyAndWindowWithInverse(t *testing.T) {
	// The key removed from the window stays, at 0.
	swsRunReduce(t, reduceCases([]kv{p("a", 0)}, bigReduceInvOutput), func(t *testing.T, in dstream.DStream[kv], window, slide time.Duration) dstream.DStream[kv] {
		w := dstream.ReduceByKeyAndWindow(in, add, window, slide, dstream.WithInverse(sub))
		w.Checkpoint(100 * time.Second)
		require.Equal(t, 100*time.Second, w.CheckpointInterval())
		return w
	})
}

// TestSparkWindowSuite_ReduceByKeyAndWindowWithFilteredInverse is
// testReduceByKeyAndWindowWithFilteredInverse: the filter p._2 != 0, and
// Spark's .persist().checkpoint(Seconds(100)).
func TestSparkWindowSuite_ReduceByKeyAndWindowWithFilteredInverse(t *testing.T) {
	nonZero := func(p kv) bool { return p.Value != 0 }
	swsRunReduce(t, []reduceCase{
		{"big test", bigInput, bigReduceOutput, 2 * time.Second, time.Second},
	}, func(t *testing.T, in dstream.DStream[kv], window, slide time.Duration) dstream.DStream[kv] {
		w := dstream.ReduceByKeyAndWindow(in, add, window, slide, dstream.WithInverse(sub), dstream.WithFilter(nonZero))
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
			out := dstreamtest.Run(t, time.Second, bigInput, func(in dstream.DStream[kv]) dstream.DStream[group] {
				consumeEveryBatch(in)
				w := dstream.GroupByKeyAndWindow(in, tc.window, tc.slide)
				return dstream.MapValues(w, func(vs []int) []int {
					set := slices.Clone(vs)
					slices.Sort(set)
					return slices.Compact(set)
				}).Persist()
			}, numBatches(len(want), tc.slide))
			for _, b := range out {
				slices.SortFunc(b, func(x, y group) int { return cmp.Compare(x.Key, y.Key) })
			}
			require.Equal(t, want, out)
		})
	}
}
