package dstream_test

// Ports of cases of Spark's BasicOperationsSuite
// (streaming/src/test/scala/org/apache/spark/streaming/BasicOperationsSuite.scala)
// compared exactly as Spark's TestSuiteBase.verifyOutput does: batch by
// batch, as ordered lists where the Spark case passes useSet = false (the
// order of rdd.collect: partition by partition), and otherwise regardless
// of order (here as multisets, which is at least as strict as Spark's
// toSet on these outputs, none of which repeats an element).
//
// Cases already ported with Spark's inputs, expectations and comparison
// (ops_test.go TestBasicOperations, TestRepartition, TestTwoInputOperations,
// TestMissingRDD, TestTransformWithNULL, TestSlice; state_test.go
// TestUpdateStateByKey, TestUpdateStateByKeySimpleWithInitial,
// TestUpdateStateByKeyObjectLifecycle) are not repeated here, with two
// exceptions: the cases of TestBasicOperations whose Spark comparison is
// ordered (TestBasicOperations compares regardless of order), and the
// cogroup and outer join cases, compared here as typed values (rdd.Option,
// rdd.Joined, rdd.CoGrouped) rather than as printed strings, in which an
// rdd.Option that is not Valid prints None whatever its Value holds.

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
)

// sbsInput is the input of Spark's map, flatMap, filter, glom and
// transform cases: Seq(1 to 4, 5 to 8, 9 to 12).
func sbsInput() [][]int { return [][]int{seq(1, 4), seq(5, 8), seq(9, 12)} }

// sbsUnionInput is the input of Spark's union cases: Seq(1 to 4, 101 to
// 104, 201 to 204).
func sbsUnionInput() [][]int { return [][]int{seq(1, 4), seq(101, 104), seq(201, 204)} }

// sbsMapBatches is Scala's input.map(_.map(f)).
func sbsMapBatches[T, U any](in [][]T, f func(T) U) [][]U {
	out := make([][]U, len(in))
	for i, b := range in {
		out[i] = make([]U, 0, len(b))
		for _, x := range b {
			out[i] = append(out[i], f(x))
		}
	}
	return out
}

// sbsKV builds a batch of (string, V) pairs from alternating keys and
// values.
func sbsKV[V any](kvs ...any) []rdd.Pair[string, V] {
	out := []rdd.Pair[string, V]{}
	for i := 0; i < len(kvs); i += 2 {
		out = append(out, rdd.KV(kvs[i].(string), kvs[i+1].(V)))
	}
	return out
}

// Spark: test("map"), ordered.
func TestSparkBasicSuite_Map(t *testing.T) {
	in := sbsInput()
	out := dstreamtest.Run(t, time.Second, in, func(r dstream.DStream[int]) dstream.DStream[string] {
		return dstream.Map(r, strconv.Itoa)
	}, len(in))
	require.Equal(t, sbsMapBatches(in, strconv.Itoa), out)
}

// Spark: test("flatMap"), ordered.
func TestSparkBasicSuite_FlatMap(t *testing.T) {
	in := sbsInput()
	out := dstreamtest.Run(t, time.Second, in, func(r dstream.DStream[int]) dstream.DStream[int] {
		return dstream.FlatMap(r, func(x int) []int { return []int{x, x * 2} })
	}, len(in))
	want := [][]int{
		{1, 2, 2, 4, 3, 6, 4, 8},
		{5, 10, 6, 12, 7, 14, 8, 16},
		{9, 18, 10, 20, 11, 22, 12, 24},
	}
	require.Equal(t, want, out)
}

// Spark: test("filter"), ordered.
func TestSparkBasicSuite_Filter(t *testing.T) {
	in := sbsInput()
	out := dstreamtest.Run(t, time.Second, in, func(r dstream.DStream[int]) dstream.DStream[int] {
		return r.Filter(func(x int) bool { return x%2 == 0 })
	}, len(in))
	require.Equal(t, [][]int{{2, 4}, {6, 8}, {10, 12}}, out)
}

// Spark: test("glom"), ordered: one sequence per input partition, in
// partition order.
func TestSparkBasicSuite_Glom(t *testing.T) {
	require.Equal(t, 2, dstreamtest.Partitions, "Number of input partitions has been changed from 2")
	in := sbsInput()
	out := dstreamtest.Run(t, time.Second, in, dstream.Glom[int], len(in))
	want := [][][]int{
		{{1, 2}, {3, 4}},
		{{5, 6}, {7, 8}},
		{{9, 10}, {11, 12}},
	}
	require.Equal(t, want, out)
}

// Spark: test("union"), ordered: s's elements, then those of s.map(_ + 4).
func TestSparkBasicSuite_Union(t *testing.T) {
	in := sbsUnionInput()
	out := dstreamtest.Run(t, time.Second, in, func(s dstream.DStream[int]) dstream.DStream[int] {
		return s.Union(dstream.Map(s, func(x int) int { return x + 4 }))
	}, len(in))
	require.Equal(t, [][]int{seq(1, 8), seq(101, 108), seq(201, 208)}, out)
}

// Spark: test("StreamingContext.union"), ordered: union over 3 DStreams.
func TestSparkBasicSuite_StreamingContextUnion(t *testing.T) {
	in := sbsUnionInput()
	out := dstreamtest.Run(t, time.Second, in, func(s dstream.DStream[int]) dstream.DStream[int] {
		return dstream.Union(s, dstream.Map(s, func(x int) int { return x + 4 }), dstream.Map(s, func(x int) int { return x + 8 }))
	}, len(in))
	require.Equal(t, [][]int{seq(1, 12), seq(101, 112), seq(201, 212)}, out)
}

// Spark: test("transform"), ordered: RDD.map in transform.
func TestSparkBasicSuite_Transform(t *testing.T) {
	in := sbsInput()
	out := dstreamtest.Run(t, time.Second, in, func(r dstream.DStream[int]) dstream.DStream[string] {
		return dstream.Transform(r, func(x *rdd.RDD[int]) *rdd.RDD[string] { return rdd.Map(x, strconv.Itoa) })
	}, len(in))
	require.Equal(t, sbsMapBatches(in, strconv.Itoa), out)
}

// Spark: test("StreamingContext.transform"), ordered: transform over 3
// DStreams by doing union of the 3 RDDs.
func TestSparkBasicSuite_StreamingContextTransform(t *testing.T) {
	in := sbsUnionInput()
	out := dstreamtest.Run(t, time.Second, in, func(s dstream.DStream[int]) dstream.DStream[int] {
		three := []dstream.DStream[int]{s, dstream.Map(s, func(x int) int { return x + 4 }), dstream.Map(s, func(x int) int { return x + 8 })}
		return dstream.TransformAll(three, func(rs []*rdd.RDD[int], _ time.Time) *rdd.RDD[int] { return rdd.Union(rs...) }, "")
	}, len(in))
	require.Equal(t, [][]int{seq(1, 12), seq(101, 112), seq(201, 212)}, out)
}

// sbsStateInput is the input of Spark's updateStateByKey cases.
func sbsStateInput() [][]string {
	return [][]string{{"a"}, {"a", "b"}, {"a", "b", "c"}, {"a", "b"}, {"a"}, {}}
}

// Spark: test("updateStateByKey - testing time stamps as input"), useSet.
// The state of a key is the sum of the batch times (ms) at which it had
// values, from an initial state of 0 for a and c. Spark also passes
// rememberPartitioner = false, which has no counterpart here.
func TestSparkBasicSuite_UpdateStateByKeyTimeStampsAsInput(t *testing.T) {
	initial := rdd.Parallelize(sbsKV[int64]("a", int64(0), "c", int64(0)), dstreamtest.Partitions)
	in := sbsStateInput()
	out := dstreamtest.Run(t, time.Second, in, func(s dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int64]] {
		update := func(bt time.Time, _ string, values []int, state rdd.Option[int64]) rdd.Option[int64] {
			// Update only if we receive values for this key during the batch.
			if len(values) > 0 {
				return rdd.Some(bt.UnixMilli() + state.Value)
			}
			return rdd.Some(state.Value)
		}
		return dstream.UpdateStateByKeyWithTime(ones(s), update,
			dstream.WithPartitioner(rdd.NewHashPartitioner[string](dstreamtest.Partitions)), dstream.WithInitialState(initial))
	}, len(in))
	want := [][]rdd.Pair[string, int64]{
		sbsKV[int64]("a", int64(1000), "c", int64(0)),                       // t = 1000
		sbsKV[int64]("a", int64(3000), "b", int64(2000), "c", int64(0)),     // t = 2000
		sbsKV[int64]("a", int64(6000), "b", int64(5000), "c", int64(3000)),  // t = 3000
		sbsKV[int64]("a", int64(10000), "b", int64(9000), "c", int64(3000)), // t = 4000
		sbsKV[int64]("a", int64(15000), "b", int64(9000), "c", int64(3000)), // t = 5000
		sbsKV[int64]("a", int64(15000), "b", int64(9000), "c", int64(3000)), // t = 6000
	}
	require.Equal(t, want, sortBatches(out))
}

// Spark: test("updateStateByKey - with initial value RDD"), useSet: the
// form of the update that sees the key (Spark's iterator of (key, values,
// state)), with a HashPartitioner over numInputPartitions and an initial
// state. Spark's rememberPartitioner = true is what happens here anyway
// (the state store keeps its partitioner).
func TestSparkBasicSuite_UpdateStateByKeyWithInitialValueRDD(t *testing.T) {
	initial := rdd.Parallelize(sbsKV[int]("a", 1, "c", 2), dstreamtest.Partitions)
	in := sbsStateInput()
	out := dstreamtest.Run(t, time.Second, in, func(s dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int]] {
		update := func(_ time.Time, _ string, values []int, state rdd.Option[int]) rdd.Option[int] {
			return sumUpdate(values, state)
		}
		return dstream.UpdateStateByKeyWithTime(ones(s), update,
			dstream.WithPartitioner(rdd.NewHashPartitioner[string](dstreamtest.Partitions)), dstream.WithInitialState(initial))
	}, len(in))
	want := [][]rdd.Pair[string, int]{
		sbsKV[int]("a", 2, "c", 2),
		sbsKV[int]("a", 3, "b", 1, "c", 2),
		sbsKV[int]("a", 4, "b", 2, "c", 3),
		sbsKV[int]("a", 5, "b", 3, "c", 3),
		sbsKV[int]("a", 6, "b", 3, "c", 3),
		sbsKV[int]("a", 6, "b", 3, "c", 3),
	}
	require.Equal(t, want, sortBatches(out))
}

// sbsCleanupInput is Spark's cleanupTestInput: (0 until 10).map(x =>
// Seq(x, x + 1)).
func sbsCleanupInput() [][]int {
	in := make([][]int, 10)
	for x := range in {
		in[x] = []int{x, x + 1}
	}
	return in
}

// sbsContains reports whether times holds ms.
func sbsContains(times []int64, ms int64) bool { return slices.Contains(times, ms) }

// Spark: test("rdd cleanup - map and window"): with ssc.remember(3 s),
// map, window(2 s, 1 s), window(4 s, 2 s) over 10 batches gives 5 outputs;
// each stream remembers its child's duration plus the child's window, and
// after the batch at 10 s the RDDs older than that are forgotten.
func TestSparkBasicSuite_RDDCleanupMapAndWindow(t *testing.T) {
	input := sbsCleanupInput()
	h := dstreamtest.NewHarness(t, time.Second)
	mapped := dstream.Map(dstreamtest.Input(h, input), func(x int) rdd.Pair[int, int] { return rdd.KV(x%10, 1) })
	windowed1 := mapped.Window(2*time.Second, time.Second)
	windowed2 := windowed1.Window(4*time.Second, 2*time.Second)
	out := dstreamtest.Collect(windowed2)
	rememberDuration := 3 * time.Second
	require.NoError(t, h.Context().Remember(rememberDuration))
	h.Start()
	for range input {
		h.Step()
	}
	require.Equal(t, int64(10000), h.Clock().Now().UnixMilli())
	require.Len(t, out.Batches(), len(input)/2, "number of outputs")

	// Checkpoint remember durations.
	require.Equal(t, rememberDuration, windowed2.RememberDuration())
	require.Equal(t, rememberDuration+4*time.Second, windowed1.RememberDuration())
	require.Equal(t, rememberDuration+4*time.Second+2*time.Second, mapped.RememberDuration())

	// WindowedStream2 should remember till 7 seconds: 10, 9, 8, 7
	// WindowedStream1 should remember till 4 seconds: 10, 9, 8, 7, 6, 5, 4
	// MappedStream should remember till 2 seconds:    10, 9, 8, 7, 6, 5, 4, 3, 2
	w2, w1, m := dstream.GeneratedTimes(windowed2), dstream.GeneratedTimes(windowed1), dstream.GeneratedTimes(mapped)
	require.True(t, sbsContains(w2, 10000), "windowed2 %v", w2)
	require.True(t, sbsContains(w2, 8000), "windowed2 %v", w2)
	require.False(t, sbsContains(w2, 6000), "windowed2 %v", w2)
	require.True(t, sbsContains(w1, 10000), "windowed1 %v", w1)
	require.True(t, sbsContains(w1, 4000), "windowed1 %v", w1)
	require.False(t, sbsContains(w1, 3000), "windowed1 %v", w1)
	require.True(t, sbsContains(m, 10000), "mapped %v", m)
	require.True(t, sbsContains(m, 2000), "mapped %v", m)
	require.False(t, sbsContains(m, 1000), "mapped %v", m)
	h.Stop()
}

// Spark: test("rdd cleanup - updateStateByKey"): a state stream
// checkpointed every 3 s remembers two checkpoint intervals, so after the
// batch at 10 s it has the RDD at 10 s and not the one at 4 s.
func TestSparkBasicSuite_RDDCleanupUpdateStateByKey(t *testing.T) {
	input := sbsCleanupInput()
	h := dstreamtest.NewHarness(t, time.Second)
	keyed := dstream.Map(dstreamtest.Input(h, input), func(x int) rdd.Pair[int, int] { return rdd.KV(x, 1) })
	state := dstream.UpdateStateByKey(keyed, sumUpdate).Checkpoint(3 * time.Second)
	out := dstreamtest.Collect(state)
	h.Start()
	for range input {
		h.Step()
	}
	require.Equal(t, int64(10000), h.Clock().Now().UnixMilli())
	require.Len(t, out.Batches(), len(input), "number of outputs")
	require.Equal(t, 3*time.Second, state.CheckpointInterval())
	require.Equal(t, 2*state.CheckpointInterval(), state.RememberDuration())
	times := dstream.GeneratedTimes(state)
	require.True(t, sbsContains(times, 10000), "state %v", times)
	require.False(t, sbsContains(times, 4000), "state %v", times)
	h.Stop()
}

// sbsJoinInput1 and sbsJoinInput2 are the inputs of Spark's join cases.
func sbsJoinInput1() [][]string { return [][]string{{"a", "b"}, {"a", ""}, {""}, {}} }
func sbsJoinInput2() [][]string { return [][]string{{"a", "b"}, {"b", ""}, {}, {""}} }

// sbsX is Spark's s2.map(x => (x, "x")).
func sbsX(s dstream.DStream[string]) dstream.DStream[rdd.Pair[string, string]] {
	return dstream.Map(s, func(x string) rdd.Pair[string, string] { return rdd.KV(x, "x") })
}

// sbsRequireSets is Spark's useSet comparison: as many batches, each with
// the same elements regardless of order.
func sbsRequireSets[T any](t *testing.T, want, got [][]T) {
	t.Helper()
	require.Len(t, got, len(want), "number of batches: got %v", got)
	for i := range want {
		require.ElementsMatch(t, want[i], got[i], "batch %d", i)
	}
}

type sbsCogrouped = rdd.Pair[string, rdd.CoGrouped[int, string]]

func sbsCG(k string, left []int, right []string) sbsCogrouped {
	return rdd.KV(k, rdd.CoGrouped[int, string]{Left: left, Right: right})
}

// Spark: test("cogroup"), useSet. Spark's Seq() is an empty group; nil and
// empty slices are taken as the same here.
func TestSparkBasicSuite_Cogroup(t *testing.T) {
	in1 := [][]string{{"a", "a", "b"}, {"a", ""}, {""}, {}}
	in2 := [][]string{{"a", "a", "b"}, {"b", ""}, {}, {}}
	out := dstreamtest.Run2(t, time.Second, in1, in2, func(s1, s2 dstream.DStream[string]) dstream.DStream[sbsCogrouped] {
		return dstream.Cogroup(ones(s1), sbsX(s2))
	}, len(in1))
	for _, b := range out {
		for i := range b {
			if len(b[i].Value.Left) == 0 {
				b[i].Value.Left = nil
			}
			if len(b[i].Value.Right) == 0 {
				b[i].Value.Right = nil
			}
		}
	}
	want := [][]sbsCogrouped{
		{sbsCG("a", []int{1, 1}, []string{"x", "x"}), sbsCG("b", []int{1}, []string{"x"})},
		{sbsCG("a", []int{1}, nil), sbsCG("b", nil, []string{"x"}), sbsCG("", []int{1}, []string{"x"})},
		{sbsCG("", []int{1}, nil)},
		{},
	}
	sbsRequireSets(t, want, out)
}

// Spark: test("leftOuterJoin"), useSet.
func TestSparkBasicSuite_LeftOuterJoin(t *testing.T) {
	type rec = rdd.Pair[string, rdd.Joined[int, rdd.Option[string]]]
	j := func(k string, w rdd.Option[string]) rec {
		return rdd.KV(k, rdd.Joined[int, rdd.Option[string]]{Left: 1, Right: w})
	}
	in1, in2 := sbsJoinInput1(), sbsJoinInput2()
	out := dstreamtest.Run2(t, time.Second, in1, in2, func(s1, s2 dstream.DStream[string]) dstream.DStream[rec] {
		return dstream.LeftOuterJoin(ones(s1), sbsX(s2))
	}, len(in1))
	want := [][]rec{
		{j("a", rdd.Some("x")), j("b", rdd.Some("x"))},
		{j("", rdd.Some("x")), j("a", rdd.None[string]())},
		{j("", rdd.None[string]())},
		{},
	}
	sbsRequireSets(t, want, out)
}

// Spark: test("rightOuterJoin"), useSet.
func TestSparkBasicSuite_RightOuterJoin(t *testing.T) {
	type rec = rdd.Pair[string, rdd.Joined[rdd.Option[int], string]]
	j := func(k string, v rdd.Option[int]) rec {
		return rdd.KV(k, rdd.Joined[rdd.Option[int], string]{Left: v, Right: "x"})
	}
	in1, in2 := sbsJoinInput1(), sbsJoinInput2()
	out := dstreamtest.Run2(t, time.Second, in1, in2, func(s1, s2 dstream.DStream[string]) dstream.DStream[rec] {
		return dstream.RightOuterJoin(ones(s1), sbsX(s2))
	}, len(in1))
	want := [][]rec{
		{j("a", rdd.Some(1)), j("b", rdd.Some(1))},
		{j("", rdd.Some(1)), j("b", rdd.None[int]())},
		{},
		{j("", rdd.None[int]())},
	}
	sbsRequireSets(t, want, out)
}

// Spark: test("fullOuterJoin"), useSet.
func TestSparkBasicSuite_FullOuterJoin(t *testing.T) {
	type rec = rdd.Pair[string, rdd.Joined[rdd.Option[int], rdd.Option[string]]]
	j := func(k string, v rdd.Option[int], w rdd.Option[string]) rec {
		return rdd.KV(k, rdd.Joined[rdd.Option[int], rdd.Option[string]]{Left: v, Right: w})
	}
	in1, in2 := sbsJoinInput1(), sbsJoinInput2()
	out := dstreamtest.Run2(t, time.Second, in1, in2, func(s1, s2 dstream.DStream[string]) dstream.DStream[rec] {
		return dstream.FullOuterJoin(ones(s1), sbsX(s2))
	}, len(in1))
	want := [][]rec{
		{j("a", rdd.Some(1), rdd.Some("x")), j("b", rdd.Some(1), rdd.Some("x"))},
		{j("", rdd.Some(1), rdd.Some("x")), j("a", rdd.Some(1), rdd.None[string]()), j("b", rdd.None[int](), rdd.Some("x"))},
		{j("", rdd.Some(1), rdd.None[string]())},
		{j("", rdd.None[int](), rdd.Some("x"))},
	}
	sbsRequireSets(t, want, out)
}
