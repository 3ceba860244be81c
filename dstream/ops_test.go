package dstream_test

import (
	stdctx "context"
	"fmt"
	"iter"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Tests in this file port the cases of Spark's BasicOperationsSuite; each
// subtest is named after the Spark test it mirrors. Window and state cases
// live with the window and state operations.

func seq(from, to int) []int {
	out := make([]int, 0, to-from+1)
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// strs formats every element with fmt.Sprint, so that batches whose element
// order is unspecified, or whose elements hold nil-or-empty slices, compare
// as multisets of their printed form.
func strs[T any](batches [][]T) [][]string {
	out := make([][]string, len(batches))
	for i, b := range batches {
		out[i] = []string{}
		for _, x := range b {
			out[i] = append(out[i], fmt.Sprint(x))
		}
	}
	return out
}

// requireUnordered checks want and got batch by batch, ignoring the order
// within a batch (Spark's useSet).
func requireUnordered(t *testing.T, want [][]string, got [][]string) {
	t.Helper()
	require.Len(t, got, len(want), "number of batches: got %v", got)
	for i := range want {
		require.ElementsMatch(t, want[i], got[i], "batch %d", i)
	}
}

// timedInput is Spark's TestInputStream: the RDD of batch k (from 1) is
// input[k-1] in parts partitions, an empty RDD after the input, and no RDD
// at all where input holds nil. It is computed from the batch time, so a
// forgotten RDD can be recomputed (as Slice does).
func timedInput[T any](h *dstreamtest.Harness, input [][]T, parts int) dstream.DStream[T] {
	ssc := h.Context()
	g := ssc.Graph()
	return dstream.NewInputStream(g, "TestInputStream", dstream.SourceFunc[T](func(t time.Time) (*rdd.RDD[T], int64, error) {
		i := int(t.Sub(g.ZeroTime())/ssc.BatchInterval()) - 1
		if i < 0 || i >= len(input) {
			return rdd.Empty[T](), 0, nil
		}
		if input[i] == nil {
			return nil, -1, nil
		}
		return rdd.Parallelize(input[i], parts), int64(len(input[i])), nil
	}))
}

func TestBasicOperations(t *testing.T) {
	in := [][]int{seq(1, 4), seq(5, 8), seq(9, 12)}
	words := [][]string{{"a", "a", "b"}, {"", ""}, {}}
	ones := func(s dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int]] {
		return dstream.Map(s, func(x string) rdd.Pair[string, int] { return rdd.KV(x, 1) })
	}
	add := func(a, b int) int { return a + b }
	tests := []struct {
		name string
		run  func(t *testing.T) [][]string
		want [][]string
	}{
		{"map", func(t *testing.T) [][]string {
			return strs(dstreamtest.Run(t, time.Second, in, func(s dstream.DStream[int]) dstream.DStream[string] {
				return dstream.Map(s, strconv.Itoa)
			}, 3))
		}, [][]string{{"1", "2", "3", "4"}, {"5", "6", "7", "8"}, {"9", "10", "11", "12"}}},
		{"flatMap", func(t *testing.T) [][]string {
			return strs(dstreamtest.Run(t, time.Second, in, func(s dstream.DStream[int]) dstream.DStream[int] {
				return dstream.FlatMap(s, func(x int) []int { return []int{x, 2 * x} })
			}, 3))
		}, [][]string{{"1", "2", "2", "4", "3", "6", "4", "8"}, {"5", "10", "6", "12", "7", "14", "8", "16"}, {"9", "18", "10", "20", "11", "22", "12", "24"}}},
		{"filter", func(t *testing.T) [][]string {
			return strs(dstreamtest.Run(t, time.Second, in, func(s dstream.DStream[int]) dstream.DStream[int] {
				return s.Filter(func(x int) bool { return x%2 == 0 })
			}, 3))
		}, [][]string{{"2", "4"}, {"6", "8"}, {"10", "12"}}},
		{"glom", func(t *testing.T) [][]string {
			require.Equal(t, 2, dstreamtest.Partitions, "number of input partitions has been changed from 2")
			return strs(dstreamtest.Run(t, time.Second, in, dstream.Glom[int], 3))
		}, [][]string{{"[1 2]", "[3 4]"}, {"[5 6]", "[7 8]"}, {"[9 10]", "[11 12]"}}},
		{"mapPartitions", func(t *testing.T) [][]string {
			return strs(dstreamtest.Run(t, time.Second, in, func(s dstream.DStream[int]) dstream.DStream[int] {
				return dstream.MapPartitions(s, func(xs iter.Seq[int]) iter.Seq[int] {
					return func(yield func(int) bool) {
						sum := 0
						for x := range xs {
							sum += x
						}
						yield(sum)
					}
				})
			}, 3))
		}, [][]string{{"3", "7"}, {"11", "15"}, {"19", "23"}}},
		{"groupByKey", func(t *testing.T) [][]string {
			return strs(dstreamtest.Run(t, time.Second, words, func(s dstream.DStream[string]) dstream.DStream[rdd.Pair[string, []int]] {
				return dstream.GroupByKey(ones(s))
			}, 3))
		}, [][]string{{"(a,[1 1])", "(b,[1])"}, {"(,[1 1])"}, {}}},
		{"reduceByKey", func(t *testing.T) [][]string {
			return strs(dstreamtest.Run(t, time.Second, words, func(s dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int]] {
				return dstream.ReduceByKey(ones(s), add)
			}, 3))
		}, [][]string{{"(a,2)", "(b,1)"}, {"(,2)"}, {}}},
		{"reduce", func(t *testing.T) [][]string {
			return strs(dstreamtest.Run(t, time.Second, in, func(s dstream.DStream[int]) dstream.DStream[int] {
				return s.Reduce(add)
			}, 3))
		}, [][]string{{"10"}, {"26"}, {"42"}}},
		{"reduce of an empty batch has no element", func(t *testing.T) [][]string {
			return strs(dstreamtest.Run(t, time.Second, [][]int{{}, {1}}, func(s dstream.DStream[int]) dstream.DStream[int] {
				return s.Reduce(add)
			}, 2))
		}, [][]string{{}, {"1"}}},
		{"count", func(t *testing.T) [][]string {
			return strs(dstreamtest.Run(t, time.Second, [][]int{{}, seq(1, 1), seq(1, 2), seq(1, 3), seq(1, 4)},
				func(s dstream.DStream[int]) dstream.DStream[int64] { return s.Count() }, 5))
		}, [][]string{{"0"}, {"1"}, {"2"}, {"3"}, {"4"}}},
		{"countByValue", func(t *testing.T) [][]string {
			return strs(dstreamtest.Run(t, time.Second, [][]int{{1}, {1, 1, 1}, {1, 2}, {1, 1, 2, 2}},
				func(s dstream.DStream[int]) dstream.DStream[rdd.Pair[int, int64]] { return dstream.CountByValue(s) }, 4))
		}, [][]string{{"(1,1)"}, {"(1,3)"}, {"(1,1)", "(2,1)"}, {"(2,2)", "(1,2)"}}},
		{"mapValues", func(t *testing.T) [][]string {
			return strs(dstreamtest.Run(t, time.Second, words, func(s dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int]] {
				return dstream.MapValues(dstream.ReduceByKey(ones(s), add), func(v int) int { return v + 10 })
			}, 3))
		}, [][]string{{"(a,12)", "(b,11)"}, {"(,12)"}, {}}},
		{"flatMapValues", func(t *testing.T) [][]string {
			return strs(dstreamtest.Run(t, time.Second, words, func(s dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int]] {
				return dstream.FlatMapValues(dstream.ReduceByKey(ones(s), add), func(v int) []int { return []int{v, v + 10} })
			}, 3))
		}, [][]string{{"(a,2)", "(a,12)", "(b,1)", "(b,11)"}, {"(,2)", "(,12)"}, {}}},
		{"union", func(t *testing.T) [][]string {
			return strs(dstreamtest.Run(t, time.Second, [][]int{seq(1, 4), seq(101, 104), seq(201, 204)},
				func(s dstream.DStream[int]) dstream.DStream[int] {
					return s.Union(dstream.Map(s, func(x int) int { return x + 4 }))
				}, 3))
		}, strs([][]int{seq(1, 8), seq(101, 108), seq(201, 208)})},
		{"StreamingContext.union", func(t *testing.T) [][]string {
			return strs(dstreamtest.Run(t, time.Second, [][]int{seq(1, 4), seq(101, 104), seq(201, 204)},
				func(s dstream.DStream[int]) dstream.DStream[int] {
					return dstream.Union(s, dstream.Map(s, func(x int) int { return x + 4 }), dstream.Map(s, func(x int) int { return x + 8 }))
				}, 3))
		}, strs([][]int{seq(1, 12), seq(101, 112), seq(201, 212)})},
		{"transform", func(t *testing.T) [][]string {
			return strs(dstreamtest.Run(t, time.Second, in, func(s dstream.DStream[int]) dstream.DStream[string] {
				return dstream.Transform(s, func(r *rdd.RDD[int]) *rdd.RDD[string] { return rdd.Map(r, strconv.Itoa) })
			}, 3))
		}, [][]string{{"1", "2", "3", "4"}, {"5", "6", "7", "8"}, {"9", "10", "11", "12"}}},
		{"StreamingContext.transform", func(t *testing.T) [][]string {
			return strs(dstreamtest.Run(t, time.Second, [][]int{seq(1, 4), seq(101, 104), seq(201, 204)},
				func(s dstream.DStream[int]) dstream.DStream[int] {
					three := []dstream.DStream[int]{s, dstream.Map(s, func(x int) int { return x + 4 }), dstream.Map(s, func(x int) int { return x + 8 })}
					return dstream.TransformAll(three, func(rs []*rdd.RDD[int], _ time.Time) *rdd.RDD[int] { return rdd.Union(rs...) }, "")
				}, 3))
		}, strs([][]int{seq(1, 12), seq(101, 112), seq(201, 212)})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { requireUnordered(t, tc.want, tc.run(t)) })
	}
}

// Repartition to fewer than one partition is refused at Start, as
// WithPartitions(-3) is, instead of failing the first batch.
func TestRepartitionNonPositiveRefusedAtStart(t *testing.T) {
	for _, n := range []int{0, -2} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			h := dstreamtest.NewHarness(t, time.Second)
			in := dstreamtest.Input(h, [][]int{{1, 2, 3}})
			dstreamtest.Collect(in.Repartition(n))
			err := h.Context().Start()
			require.ErrorIs(t, err, dstream.ErrInvalidStream)
			require.ErrorContains(t, err, "Repartition")
			require.ErrorContains(t, err, fmt.Sprintf("number of partitions (%d) must be positive", n))
		})
	}
}

func TestRepartition(t *testing.T) {
	for _, tc := range []struct {
		name       string
		inputParts int
		n          int
	}{
		{"repartition (more partitions)", 2, 5},
		{"repartition (fewer partitions)", 5, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := dstreamtest.NewHarness(t, time.Second)
			in := timedInput(h, [][]int{seq(1, 100), seq(101, 200), seq(201, 300)}, tc.inputParts)
			out := dstreamtest.Collect(dstream.Glom(in.Repartition(tc.n)))
			h.Start()
			for range 3 {
				h.Step()
			}
			h.Stop()
			batches := out.Batches()
			require.Len(t, batches, 3)
			for i, parts := range batches {
				require.Len(t, parts, tc.n, "batch %d", i)
				require.ElementsMatch(t, seq(100*i+1, 100*i+100), slices.Concat(parts...), "batch %d", i)
			}
		})
	}
}

func TestTwoInputOperations(t *testing.T) {
	in1 := [][]string{{"a", "b"}, {"a", ""}, {""}, {}}
	in2 := [][]string{{"a", "b"}, {"b", ""}, {}, {""}}
	left := func(s dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int]] {
		return dstream.Map(s, func(x string) rdd.Pair[string, int] { return rdd.KV(x, 1) })
	}
	right := func(s dstream.DStream[string]) dstream.DStream[rdd.Pair[string, string]] {
		return dstream.Map(s, func(x string) rdd.Pair[string, string] { return rdd.KV(x, "x") })
	}
	tests := []struct {
		name string
		run  func(t *testing.T) [][]string
		want [][]string
	}{
		{"transformWith", func(t *testing.T) [][]string {
			return strs(dstreamtest.Run2(t, time.Second, in1, in2, func(a, b dstream.DStream[string]) dstream.DStream[rdd.Pair[string, rdd.Joined[int, string]]] {
				return dstream.TransformWith(left(a), right(b), func(ra *rdd.RDD[rdd.Pair[string, int]], rb *rdd.RDD[rdd.Pair[string, string]], _ time.Time) *rdd.RDD[rdd.Pair[string, rdd.Joined[int, string]]] {
					return rdd.Join(ra, rb)
				})
			}, 4))
		}, [][]string{{"(a,(1,x))", "(b,(1,x))"}, {"(,(1,x))"}, {}, {}}},
		{"cogroup", func(t *testing.T) [][]string {
			return strs(dstreamtest.Run2(t, time.Second, [][]string{{"a", "a", "b"}, {"a", ""}, {""}, {}}, [][]string{{"a", "a", "b"}, {"b", ""}, {}, {}},
				func(a, b dstream.DStream[string]) dstream.DStream[rdd.Pair[string, rdd.CoGrouped[int, string]]] {
					return dstream.Cogroup(left(a), right(b))
				}, 4))
		}, [][]string{
			{"(a,([1 1],[x x]))", "(b,([1],[x]))"},
			{"(a,([1],[]))", "(b,([],[x]))", "(,([1],[x]))"},
			{"(,([1],[]))"},
			{},
		}},
		{"join", func(t *testing.T) [][]string {
			return strs(dstreamtest.Run2(t, time.Second, in1, in2, func(a, b dstream.DStream[string]) dstream.DStream[rdd.Pair[string, rdd.Joined[int, string]]] {
				return dstream.Join(left(a), right(b))
			}, 4))
		}, [][]string{{"(a,(1,x))", "(b,(1,x))"}, {"(,(1,x))"}, {}, {}}},
		{"leftOuterJoin", func(t *testing.T) [][]string {
			return strs(dstreamtest.Run2(t, time.Second, in1, in2, func(a, b dstream.DStream[string]) dstream.DStream[rdd.Pair[string, rdd.Joined[int, rdd.Option[string]]]] {
				return dstream.LeftOuterJoin(left(a), right(b))
			}, 4))
		}, [][]string{{"(a,(1,Some(x)))", "(b,(1,Some(x)))"}, {"(,(1,Some(x)))", "(a,(1,None))"}, {"(,(1,None))"}, {}}},
		{"rightOuterJoin", func(t *testing.T) [][]string {
			return strs(dstreamtest.Run2(t, time.Second, in1, in2, func(a, b dstream.DStream[string]) dstream.DStream[rdd.Pair[string, rdd.Joined[rdd.Option[int], string]]] {
				return dstream.RightOuterJoin(left(a), right(b))
			}, 4))
		}, [][]string{{"(a,(Some(1),x))", "(b,(Some(1),x))"}, {"(,(Some(1),x))", "(b,(None,x))"}, {}, {"(,(None,x))"}}},
		{"fullOuterJoin", func(t *testing.T) [][]string {
			return strs(dstreamtest.Run2(t, time.Second, in1, in2, func(a, b dstream.DStream[string]) dstream.DStream[rdd.Pair[string, rdd.Joined[rdd.Option[int], rdd.Option[string]]]] {
				return dstream.FullOuterJoin(left(a), right(b))
			}, 4))
		}, [][]string{
			{"(a,(Some(1),Some(x)))", "(b,(Some(1),Some(x)))"},
			{"(,(Some(1),Some(x)))", "(a,(Some(1),None))", "(b,(None,Some(x)))"},
			{"(,(Some(1),None))"},
			{"(,(None,Some(x)))"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { requireUnordered(t, tc.want, tc.run(t)) })
	}
}

// runUntilFailure runs len(input) batches of build over timedInput (nil
// entries have no RDD) and returns what the output collected and the error
// that stopped the context.
func runUntilFailure[T, U any](t *testing.T, input [][]T, build func(h *dstreamtest.Harness, in dstream.DStream[T]) dstream.DStream[U]) ([][]U, error) {
	t.Helper()
	h := dstreamtest.NewHarness(t, time.Second)
	out := dstreamtest.Collect(build(h, timedInput(h, input, dstreamtest.Partitions)))
	h.Start()
	for range input {
		if _, err := h.TryStep(); err != nil {
			break
		}
	}
	stopped, err := h.Context().AwaitTerminationOrTimeout(dstreamtest.StepTimeout)
	require.True(t, stopped, "the failing batch must stop the context")
	return out.Batches(), err
}

// TestMissingRDD checks what an operation does when a parent has no RDD at
// a batch time (Spark's "input stream return None" cases): operations of
// one parent have no RDD either, and their outputs skip the batch; Union,
// Transform and joins fail the batch with ErrMissingRDD, and the failure
// names the batch time and the operation.
func TestMissingRDD(t *testing.T) {
	in := [][]int{seq(1, 4), seq(101, 104), seq(201, 204), nil}
	plus := func(k int) func(int) int { return func(x int) int { return x + k } }
	tests := []struct {
		name string
		op   string
		at   string // the failing batch
		want [][]string
		run  func(t *testing.T) ([][]string, error)
	}{
		{"union with input stream return None", "Union", "4000 ms", strs([][]int{seq(1, 8), seq(101, 108), seq(201, 208)}), func(t *testing.T) ([][]string, error) {
			out, err := runUntilFailure(t, in, func(_ *dstreamtest.Harness, s dstream.DStream[int]) dstream.DStream[int] {
				return s.Union(dstream.Map(s, plus(4)))
			})
			return strs(out), err
		}},
		{"transform with input stream return None", "Transform", "4000 ms", strs([][]int{seq(1, 4), seq(101, 104), seq(201, 204)}), func(t *testing.T) ([][]string, error) {
			out, err := runUntilFailure(t, in, func(_ *dstreamtest.Harness, s dstream.DStream[int]) dstream.DStream[int] {
				return dstream.Transform(s, func(r *rdd.RDD[int]) *rdd.RDD[int] { return r })
			})
			return strs(out), err
		}},
		{"StreamingContext.transform with input stream return None", "Transform", "4000 ms", strs([][]int{seq(1, 12), seq(101, 112), seq(201, 212)}), func(t *testing.T) ([][]string, error) {
			out, err := runUntilFailure(t, in, func(_ *dstreamtest.Harness, s dstream.DStream[int]) dstream.DStream[int] {
				three := []dstream.DStream[int]{s, dstream.Map(s, plus(4)), dstream.Map(s, plus(8))}
				return dstream.TransformAll(three, func(rs []*rdd.RDD[int], _ time.Time) *rdd.RDD[int] { return rdd.Union(rs...) }, "")
			})
			return strs(out), err
		}},
		{"transformWith with input stream return None", "TransformWith", "4000 ms", [][]string{{"a", "b", "a", "b"}, {"a", "b", "", ""}, {""}}, func(t *testing.T) ([][]string, error) {
			h := dstreamtest.NewHarness(t, time.Second)
			s1 := timedInput(h, [][]string{{"a", "b"}, {"a", ""}, {""}, nil}, 2)
			s2 := timedInput(h, [][]string{{"a", "b"}, {"b", ""}, {}, nil}, 2)
			out := dstreamtest.Collect(dstream.TransformWith(s1, s2, func(a, b *rdd.RDD[string], _ time.Time) *rdd.RDD[string] { return a.Union(b) }))
			h.Start()
			for range 4 {
				if _, err := h.TryStep(); err != nil {
					break
				}
			}
			_, err := h.Context().AwaitTerminationOrTimeout(dstreamtest.StepTimeout)
			return out.Batches(), err
		}},
		{"join with input stream return None", "Join", "2000 ms", [][]string{{"(1,(1,x))"}}, func(t *testing.T) ([][]string, error) {
			out, err := runUntilFailure(t, [][]int{{1}, nil}, func(h *dstreamtest.Harness, s dstream.DStream[int]) dstream.DStream[rdd.Pair[int, rdd.Joined[int, string]]] {
				other := dstreamtest.Input(h, [][]rdd.Pair[int, string]{{rdd.KV(1, "x")}, {rdd.KV(1, "y")}})
				return dstream.Join(dstream.Map(s, func(x int) rdd.Pair[int, int] { return rdd.KV(x, x) }), other)
			})
			return strs(out), err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.run(t)
			require.ErrorIs(t, err, dstream.ErrMissingRDD)
			require.ErrorContains(t, err, tc.op)
			require.ErrorContains(t, err, tc.at)
			requireUnordered(t, tc.want, got)
		})
	}
}

// TestMissingRDDThroughOneParent: a stream of one parent has no RDD where
// its parent has none, its output operation skips that batch without
// failing it, and the next batch runs.
func TestMissingRDDThroughOneParent(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	in := timedInput(h, [][]int{{1, 2}, nil, {3}}, 2)
	out := dstreamtest.Collect(dstream.Map(in, func(x int) int { return 10 * x }).Count())
	h.Start()
	for range 3 {
		b := h.Step()
		require.NoError(t, b.Err())
	}
	h.Stop()
	require.Equal(t, [][]int64{{2}, {1}}, out.Batches())
	require.Equal(t, []time.Time{time.UnixMilli(1000).UTC(), time.UnixMilli(3000).UTC()}, out.Times())
}

func TestTransformWithNULL(t *testing.T) {
	_, err := runUntilFailure(t, [][]int{seq(1, 4)}, func(_ *dstreamtest.Harness, s dstream.DStream[int]) dstream.DStream[int] {
		return dstream.Transform(s, func(*rdd.RDD[int]) *rdd.RDD[int] { return nil })
	})
	require.ErrorIs(t, err, dstream.ErrNilRDD)
	require.ErrorContains(t, err, "1000 ms")
}

func TestUnionIncompatibleStreams(t *testing.T) {
	t.Run("union with different slide durations", func(t *testing.T) {
		h := dstreamtest.NewHarness(t, time.Second)
		a := dstreamtest.Input(h, [][]int{{1}})
		b := dstream.NewSlidingInput[int](h.Context().Graph(), 2*time.Second)
		dstreamtest.Collect(a.Union(b))
		err := h.Context().Start()
		require.ErrorIs(t, err, dstream.ErrInvalidStream)
		require.ErrorContains(t, err, "different slide durations")
	})
	t.Run("union with streams of different contexts", func(t *testing.T) {
		h1 := dstreamtest.NewHarness(t, time.Second)
		h2 := dstreamtest.NewHarness(t, time.Second)
		a := dstreamtest.Input(h1, [][]int{{1}})
		b := dstreamtest.Input(h2, [][]int{{2}})
		dstreamtest.Collect(a.Union(b))
		err := h1.Context().Start()
		require.ErrorIs(t, err, dstream.ErrInvalidStream)
		require.ErrorContains(t, err, "different contexts")
	})
}

func TestSlice(t *testing.T) {
	t.Run("slice", func(t *testing.T) {
		h := dstreamtest.NewHarness(t, time.Second)
		stream := timedInput(h, [][]int{{1}, {2}, {3}, {4}}, 2)
		stream.ForeachRDD(func(stdctx.Context, *rdd.RDD[int], time.Time) error { return nil })
		h.Start()
		for range 4 {
			h.Step()
		}
		fromSlice := func(from, to int64) []int {
			rs, err := stream.Slice(time.UnixMilli(from), time.UnixMilli(to))
			require.NoError(t, err)
			var all []int
			for _, r := range rs {
				xs, err := r.Collect(stdctx.Background())
				require.NoError(t, err)
				all = append(all, xs...)
			}
			slices.Sort(all)
			return all
		}
		require.Equal(t, []int{1}, fromSlice(0, 1000))
		require.Equal(t, []int{1, 2}, fromSlice(0, 2000))
		require.Equal(t, []int{1, 2}, fromSlice(1000, 2000))
		require.Equal(t, []int{2, 3, 4}, fromSlice(2000, 4000))
		require.Equal(t, []int{2, 3, 4}, fromSlice(2500, 4999), "bounds are aligned down to the slide")
		// From the zero time.Time, "the beginning": it walked every second
		// since year 1.
		rs, err := stream.Slice(time.Time{}, time.UnixMilli(4000))
		require.NoError(t, err)
		require.Len(t, rs, 4)
	})
	t.Run("slice - has not been initialized", func(t *testing.T) {
		h := dstreamtest.NewHarness(t, time.Second)
		stream := timedInput(h, [][]int{{1}}, 2)
		_, err := stream.Slice(time.UnixMilli(0), time.UnixMilli(1000))
		require.ErrorIs(t, err, dstream.ErrInvalidStream)
		require.ErrorContains(t, err, "has not been started")
	})
}

// TestRDDCleanup is Spark's "rdd cleanup - map and window" without the
// windows (ported with the window operations): with ssc.remember(3 s) every
// stream of the chain remembers 3 s, and after the batch at 10 s the RDDs
// at or before 7 s are forgotten; without Remember only the last batch is.
func TestRDDCleanup(t *testing.T) {
	input := make([][]int, 10)
	for i := range input {
		input[i] = []int{i, i + 1}
	}
	for _, tc := range []struct {
		name     string
		remember time.Duration
		want     []int64
		duration time.Duration
	}{
		{"rdd cleanup - map with remember", 3 * time.Second, []int64{8000, 9000, 10000}, 3 * time.Second},
		{"rdd cleanup - map without remember", 0, []int64{10000}, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := dstreamtest.NewHarness(t, time.Second)
			in := timedInput(h, input, 2)
			mapped := dstream.Map(in, func(x int) rdd.Pair[int, int] { return rdd.KV(x%10, 1) })
			reduced := dstream.ReduceByKey(mapped, func(a, b int) int { return a + b })
			out := dstreamtest.Collect(reduced)
			if tc.remember > 0 {
				require.NoError(t, h.Context().Remember(tc.remember))
			}
			h.Start()
			for range 10 {
				h.Step()
			}
			require.Equal(t, int64(10000), h.Clock().Now().UnixMilli())
			require.Len(t, out.Batches(), 10)
			for _, d := range []interface {
				RememberDuration() time.Duration
			}{in, mapped, reduced} {
				require.Equal(t, tc.duration, d.RememberDuration())
			}
			require.Equal(t, tc.want, dstream.GeneratedTimes(in))
			require.Equal(t, tc.want, dstream.GeneratedTimes(mapped))
			require.Equal(t, tc.want, dstream.GeneratedTimes(reduced))
		})
	}
}

// TestFlatMemoryOver100000Batches runs 100,000 batches of a small pipeline
// on the manual clock and checks that nothing accumulates per batch: the
// heap in use after a GC at batch 100,000 is within a small bound of what
// it was at batch 10,000, and every stream remembers at most two RDDs.
func TestFlatMemoryOver100000Batches(t *testing.T) {
	const sampleAt, batches = 10_000, 100_000
	if testing.Short() {
		t.Skip("runs 100,000 batches")
	}
	h := dstreamtest.NewHarness(t, time.Second)
	q := context.NewQueue[int]()
	in := context.QueueStream(h.Context(), q, true)
	pairs := dstream.Map(in, func(x int) rdd.Pair[int, int] { return rdd.KV(x%3, x) })
	sums := dstream.ReduceByKey(pairs, func(a, b int) int { return a + b })
	var total int64
	sums.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[rdd.Pair[int, int]], _ time.Time) error {
		n, err := r.Count(ctx)
		total += n
		return err
	})
	heapInUse := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	h.Start()
	data := []int{1, 2, 3, 4, 5, 6}
	var base uint64
	for i := 1; i <= batches; i++ {
		q.PushSlice(data, 2)
		h.Step()
		if i == sampleAt {
			base = heapInUse()
		}
	}
	end := heapInUse()
	require.Equal(t, int64(3*batches), total)
	for name, n := range map[string]int{"input": dstream.GeneratedCount(in), "map": dstream.GeneratedCount(pairs), "reduceByKey": dstream.GeneratedCount(sums)} {
		require.LessOrEqual(t, n, 2, "%s remembers %d RDDs", name, n)
	}
	const bound = 2 << 20
	t.Logf("HeapInuse at batch %d: %d B, at batch %d: %d B", sampleAt, base, batches, end)
	require.Less(t, int64(end)-int64(base), int64(bound), "heap grew from %d B to %d B", base, end)
}

// consumingSource is a dstream.Consuming source of one element a batch,
// its batch time in seconds, recording the times it was asked for.
type consumingSource struct{ asked []int64 }

func (c *consumingSource) ConsumesInput() {}

func (c *consumingSource) Compute(bt time.Time) (*rdd.RDD[int], int64, error) {
	c.asked = append(c.asked, bt.Unix())
	return rdd.Parallelize([]int{int(bt.Unix())}, 1), 1, nil
}

// TestConsumingInputPastTimeIsNotAsked: a consuming input stream computed
// again at a batch time already past (an RDD forgotten and asked for
// again, a window before a recovery point) does not ask its source, which
// would hand that time the next batch's data: it gets an empty RDD, and
// the source is asked once per batch time, in order. (A source that is not
// consuming is asked again: TestSlice.)
func TestConsumingInputPastTimeIsNotAsked(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	src := &consumingSource{}
	in := dstream.NewInputStream[int](h.Context().Graph(), "CountingInputStream", src)
	out := dstreamtest.Collect(in)
	h.Start()
	for range 3 {
		h.Step()
	}
	old, err := in.GetOrCompute(time.Unix(1, 0))
	require.NoError(t, err)
	xs, err := old.Collect(stdctx.Background())
	require.NoError(t, err)
	require.Empty(t, xs)
	h.Step()
	require.Equal(t, []int64{1, 2, 3, 4}, src.asked)
	require.Equal(t, [][]int{{1}, {2}, {3}, {4}}, out.Batches())
}

// An option the operation does not take is an error at Start, not silently
// ignored (WithInverse on ReduceByKey ran unfiltered and un-inverted).
func TestOptionsAnOperationDoesNotTake(t *testing.T) {
	sum := func(a, b int) int { return a + b }
	for _, tc := range []struct {
		name  string
		build func(in dstream.DStream[int])
		msg   string
	}{
		{"inverse and filter on ReduceByKey", func(in dstream.DStream[int]) {
			pairs := dstream.Map(in, func(x int) rdd.Pair[int, int] { return rdd.KV(x, x) })
			dstream.ReduceByKey(pairs, sum, dstream.WithInverse(sum), dstream.WithFilter(func(rdd.Pair[int, int]) bool { return false })).Print(1)
		}, "ReduceByKey: invalid stream: WithInverse, WithFilter: not taken by ReduceByKey, which takes WithPartitions or WithPartitioner, WithName"},
		{"initial state on Join", func(in dstream.DStream[int]) {
			pairs := dstream.Map(in, func(x int) rdd.Pair[int, int] { return rdd.KV(x, x) })
			dstream.Join(pairs, pairs, dstream.WithInitialState(rdd.Parallelize([]rdd.Pair[int, int]{}, 1))).Print(1)
		}, "WithInitialState: not taken by Join"},
		{"partitions on ReduceByWindow", func(in dstream.DStream[int]) {
			in.ReduceByWindow(sum, 2*time.Second, time.Second, dstream.WithPartitions(2)).Print(1)
		}, "WithPartitions or WithPartitioner: not taken by ReduceByWindow, which takes WithName, WithInverse"},
		{"inverse on CountByValueAndWindow", func(in dstream.DStream[int]) {
			dstream.CountByValueAndWindow(in, 2*time.Second, time.Second, dstream.WithInverse(func(a, b int64) int64 { return a })).Print(1)
		}, "WithInverse: not taken by CountByValueAndWindow"},
		{"filter on UpdateStateByKey", func(in dstream.DStream[int]) {
			pairs := dstream.Map(in, func(x int) rdd.Pair[int, int] { return rdd.KV(x, x) })
			dstream.UpdateStateByKey(pairs, func(vs []int, s rdd.Option[int]) rdd.Option[int] { return s },
				dstream.WithFilter(func(rdd.Pair[int, int]) bool { return true })).Print(1)
		}, "WithFilter: not taken by UpdateStateByKey"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := dstreamtest.NewHarness(t, time.Second)
			tc.build(dstreamtest.Input(h, [][]int{}))
			err := h.Context().Start()
			require.ErrorIs(t, err, dstream.ErrInvalidStream)
			require.ErrorContains(t, err, tc.msg)
		})
	}
}

// A graph whose streams share parents (each level joins a stream with a map
// of itself: 2^40 paths from the output to the input) starts at once, and
// remembers as a straight chain would: Start visits each stream once, not
// once per path (it took time exponential in the depth, 2.5 s at 26
// levels).
func TestStartWithSharedParentsVisitsEachStreamOnce(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	in := dstreamtest.Input(h, [][]int{{1, 2}, {3}})
	s := in
	for range 40 {
		s = dstream.TransformWith(s, dstream.Map(s, func(x int) int { return x }),
			func(a, _ *rdd.RDD[int], _ time.Time) *rdd.RDD[int] { return a })
	}
	out := dstreamtest.Collect(s.Window(3*time.Second, time.Second))
	h.Start()
	h.Step()
	h.Step()
	h.Stop()
	got := out.Batches()
	for _, b := range got {
		slices.Sort(b)
	}
	require.Equal(t, [][]int{{1, 2}, {1, 2, 3}}, got)
	require.Equal(t, 4*time.Second, in.RememberDuration(), "the window's 3 s on top of the stream's own batch")
}

// SetName while the graph reads names (errors, checkpoints, Streams) is not
// a data race (go test -race): names are stored atomically.
func TestSetNameWhileRunningIsNotARace(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	in := dstreamtest.Input(h, [][]int{{1}, {2}})
	out := dstreamtest.Collect(in)
	h.Start()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 1000 {
			in.SetName(fmt.Sprint("input-", i))
		}
	}()
	for reading := true; reading; {
		select {
		case <-done:
			reading = false
		default:
			_ = h.Context().Graph().Streams()
		}
	}
	h.Step()
	h.Step()
	h.Stop()
	require.Len(t, out.Batches(), 2)
	require.Equal(t, "input-999", in.Name())
}
