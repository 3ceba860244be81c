package rdd

// Ports of the data cases of Spark core's PairRDDFunctionsSuite and of the
// RDDSuite cases about operations this package has
// (core/src/test/scala/org/apache/spark/rdd/{PairRDDFunctionsSuite,RDDSuite}.scala).
//
// Conventions of the port:
//   - sc.parallelize(xs) without a slice count uses the suites' SharedSparkContext,
//     "local[4]": four slices (spsDefaultParallelism).
//   - Scala Chars ('x') become one-letter Go strings.
//   - Where Spark compares toSet (often with a size check), the port compares
//     sets and lengths; where Spark compares Lists or Arrays, the port compares
//     slices exactly, order included.
//   - Spark's mutating zero values and combiners (HashSet, ArrayBuffer,
//     HashMap) become functions that return new maps and slices, as this
//     package's docs require of FoldByKey, CombineByKey and Aggregate.

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// spsDefaultParallelism is sc.defaultParallelism for "local[4]".
const spsDefaultParallelism = 4

// spsSet is Scala's toSet.
func spsSet[T comparable](xs []T) map[T]struct{} {
	s := make(map[T]struct{}, len(xs))
	for _, x := range xs {
		s[x] = struct{}{}
	}
	return s
}

// spsStrings formats each element with fmt.Sprint, for values that are not
// comparable (slices inside).
func spsStrings[T any](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fmt.Sprint(x)
	}
	return out
}

// spsRange is Scala's from to to (inclusive).
func spsRange(from, to int) []int {
	var xs []int
	for i := from; i <= to; i++ {
		xs = append(xs, i)
	}
	return xs
}

func spsRepeat(x, n int) []int { return slices.Repeat([]int{x}, n) }

// spsKeyIsPartition is the suites' `getPartition(key) = key.asInstanceOf[Int]`.
type spsKeyIsPartition struct{ n int }

func (p spsKeyIsPartition) NumPartitions() int    { return p.n }
func (p spsKeyIsPartition) Partition(key int) int { return key }

// The join inputs shared by several PairRDDFunctionsSuite cases.
var (
	spsRDD1 = []Pair[int, int]{KV(1, 1), KV(1, 2), KV(2, 1), KV(3, 1)}
	spsRDD2 = []Pair[int, string]{KV(1, "x"), KV(2, "y"), KV(2, "z"), KV(4, "w")}
)

// ---------------------------------------------------------------------------
// PairRDDFunctionsSuite

// aggregateByKey, through CombineByKey: aggregateByKey(zero)(seqOp, combOp)
// is combineByKey(v => seqOp(copy of zero, v), seqOp, combOp).
func TestSparkPairSuite_AggregateByKey(t *testing.T) {
	pairs := Parallelize([]Pair[int, int]{KV(1, 1), KV(1, 1), KV(3, 2), KV(5, 1), KV(5, 3)}, 2)
	seqOp := func(s map[int]bool, v int) map[int]bool { s[v] = true; return s }
	sets := collect(t, CombineByKey(pairs,
		func(v int) map[int]bool { return seqOp(map[int]bool{}, v) },
		seqOp,
		func(a, b map[int]bool) map[int]bool { out := maps.Clone(a); maps.Copy(out, b); return out }))
	require.Len(t, sets, 3)
	got := map[int][]int{}
	for _, kv := range sets {
		got[kv.Key] = slices.Sorted(maps.Keys(kv.Value))
	}
	require.Equal(t, map[int][]int{1: {1}, 3: {2}, 5: {1, 3}}, got)
}

func TestSparkPairSuite_GroupByKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []Pair[int, int]
		opts []ShuffleOption
		want map[int][]int // key -> sorted values
	}{
		{"groupByKey", []Pair[int, int]{KV(1, 1), KV(1, 2), KV(1, 3), KV(2, 1)}, nil,
			map[int][]int{1: {1, 2, 3}, 2: {1}}},
		{"groupByKey with duplicates", []Pair[int, int]{KV(1, 1), KV(1, 2), KV(1, 3), KV(1, 1), KV(2, 1)}, nil,
			map[int][]int{1: {1, 1, 2, 3}, 2: {1}}},
		{"groupByKey with negative key hash codes", []Pair[int, int]{KV(-1, 1), KV(-1, 2), KV(-1, 3), KV(2, 1)}, nil,
			map[int][]int{-1: {1, 2, 3}, 2: {1}}},
		{"groupByKey with many output partitions", []Pair[int, int]{KV(1, 1), KV(1, 2), KV(1, 3), KV(2, 1)},
			[]ShuffleOption{WithPartitions(10)}, map[int][]int{1: {1, 2, 3}, 2: {1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			groups := collect(t, GroupByKey(Parallelize(tc.in, spsDefaultParallelism), tc.opts...))
			require.Len(t, groups, len(tc.want))
			got := map[int][]int{}
			for _, g := range groups {
				got[g.Key] = slices.Sorted(slices.Values(g.Value))
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestSparkPairSuite_ReduceByKey(t *testing.T) {
	in := []Pair[int, int]{KV(1, 1), KV(1, 2), KV(1, 3), KV(1, 1), KV(2, 1)}
	for _, tc := range []struct {
		name string
		opts []ShuffleOption
	}{
		{"reduceByKey", nil},
		{"reduceByKey with many output partitions", []ShuffleOption{WithPartitions(10)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sums := collect(t, ReduceByKey(Parallelize(in, spsDefaultParallelism), add, tc.opts...))
			require.Equal(t, spsSet([]Pair[int, int]{KV(1, 7), KV(2, 1)}), spsSet(sums))
		})
	}
	t.Run("reduceByKey with collectAsMap", func(t *testing.T) {
		sums := map[int]int{}
		for _, kv := range collect(t, ReduceByKey(Parallelize(in, spsDefaultParallelism), add)) {
			sums[kv.Key] = kv.Value
		}
		require.Len(t, sums, 2)
		require.Equal(t, 7, sums[1])
		require.Equal(t, 1, sums[2])
	})
}

func TestSparkPairSuite_ReduceByKeyWithPartitioner(t *testing.T) {
	p := spsKeyIsPartition{2}
	pairs := PartitionBy(Parallelize([]Pair[int, int]{KV(1, 1), KV(1, 2), KV(1, 1), KV(0, 1)}, spsDefaultParallelism),
		WithPartitioner[int](p))
	sums := ReduceByKey(pairs, add)
	require.Equal(t, spsSet([]Pair[int, int]{KV(1, 4), KV(0, 1)}), spsSet(collect(t, sums)))
	require.Equal(t, any(p), sums.lin.partitioner, "sums.partitioner === Some(p)")
	require.Equal(t, 1, shuffleCount(sums), "only the partitionBy shuffle")
}

func TestSparkPairSuite_Join(t *testing.T) {
	type J = Pair[int, Joined[int, string]]
	j := func(k, v int, w string) J { return KV(k, Joined[int, string]{v, w}) }
	for _, tc := range []struct {
		name string
		a    []Pair[int, int]
		b    []Pair[int, string]
		opts []ShuffleOption
		want []J
	}{
		{"join", spsRDD1, spsRDD2, nil, []J{j(1, 1, "x"), j(1, 2, "x"), j(2, 1, "y"), j(2, 1, "z")}},
		{"join all-to-all", []Pair[int, int]{KV(1, 1), KV(1, 2), KV(1, 3)}, []Pair[int, string]{KV(1, "x"), KV(1, "y")}, nil,
			[]J{j(1, 1, "x"), j(1, 1, "y"), j(1, 2, "x"), j(1, 2, "y"), j(1, 3, "x"), j(1, 3, "y")}},
		{"join with no matches", spsRDD1, []Pair[int, string]{KV(4, "x"), KV(5, "y"), KV(5, "z"), KV(6, "w")}, nil, nil},
		{"join with many output partitions", spsRDD1, spsRDD2, []ShuffleOption{WithPartitions(10)},
			[]J{j(1, 1, "x"), j(1, 2, "x"), j(2, 1, "y"), j(2, 1, "z")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			joined := collect(t, Join(Parallelize(tc.a, spsDefaultParallelism), Parallelize(tc.b, spsDefaultParallelism), tc.opts...))
			require.Len(t, joined, len(tc.want))
			require.Equal(t, spsSet(tc.want), spsSet(joined))
		})
	}
}

func TestSparkPairSuite_OuterJoins(t *testing.T) {
	a := Parallelize(spsRDD1, spsDefaultParallelism)
	b := Parallelize(spsRDD2, spsDefaultParallelism)
	t.Run("leftOuterJoin", func(t *testing.T) {
		type J = Pair[int, Joined[int, Option[string]]]
		j := func(k, v int, w Option[string]) J { return KV(k, Joined[int, Option[string]]{v, w}) }
		want := []J{j(1, 1, Some("x")), j(1, 2, Some("x")), j(2, 1, Some("y")), j(2, 1, Some("z")), j(3, 1, None[string]())}
		joined := collect(t, LeftOuterJoin(a, b))
		require.Len(t, joined, 5)
		require.Equal(t, spsSet(want), spsSet(joined))
	})
	t.Run("rightOuterJoin", func(t *testing.T) {
		type J = Pair[int, Joined[Option[int], string]]
		j := func(k int, v Option[int], w string) J { return KV(k, Joined[Option[int], string]{v, w}) }
		want := []J{j(1, Some(1), "x"), j(1, Some(2), "x"), j(2, Some(1), "y"), j(2, Some(1), "z"), j(4, None[int](), "w")}
		joined := collect(t, RightOuterJoin(a, b))
		require.Len(t, joined, 5)
		require.Equal(t, spsSet(want), spsSet(joined))
	})
	t.Run("fullOuterJoin", func(t *testing.T) {
		type J = Pair[int, Joined[Option[int], Option[string]]]
		j := func(k int, v Option[int], w Option[string]) J {
			return KV(k, Joined[Option[int], Option[string]]{v, w})
		}
		want := []J{j(1, Some(1), Some("x")), j(1, Some(2), Some("x")), j(2, Some(1), Some("y")), j(2, Some(1), Some("z")),
			j(3, Some(1), None[string]()), j(4, None[int](), Some("w"))}
		joined := collect(t, FullOuterJoin(a, b))
		require.Len(t, joined, 6)
		require.Equal(t, spsSet(want), spsSet(joined))
	})
}

// groupWith: Spark compares each key's values as Lists, so in order.
func TestSparkPairSuite_GroupWith(t *testing.T) {
	joined := collect(t, Cogroup(Parallelize(spsRDD1, spsDefaultParallelism), Parallelize(spsRDD2, spsDefaultParallelism)))
	require.Len(t, joined, 4)
	got := map[int]CoGrouped[int, string]{}
	for _, kv := range joined {
		got[kv.Key] = kv.Value
	}
	want := map[int]CoGrouped[int, string]{
		1: {[]int{1, 2}, []string{"x"}},
		2: {[]int{1}, []string{"y", "z"}},
		3: {[]int{1}, nil},
		4: {nil, []string{"w"}},
	}
	require.Equal(t, len(want), len(got))
	for k, w := range want {
		g := got[k]
		require.Equal(t, fmt.Sprint(w.Left), fmt.Sprint(g.Left), "key %d left (List(...) order)", k)
		require.Equal(t, fmt.Sprint(w.Right), fmt.Sprint(g.Right), "key %d right (List(...) order)", k)
	}
}

func TestSparkPairSuite_CogroupWithEmpty(t *testing.T) {
	rdd1 := Parallelize(spsRDD1, spsDefaultParallelism)
	for _, tc := range []struct {
		name string
		rdd2 *RDD[Pair[int, []int]]
	}{
		// emptyRDD[(Int, Int)], grouped here so both cases share a type.
		{"cogroup with empty RDD", MapValues(Empty[Pair[int, int]](), func(v int) []int { return []int{v} })},
		{"cogroup with groupByed RDD having 0 partitions",
			GroupByKey(Map(Empty[int](), func(x int) Pair[int, int] { return KV(5, x) }))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			joined := collect(t, Cogroup(rdd1, tc.rdd2))
			require.NotEmpty(t, joined, "joined.size > 0")
		})
	}
}

// SPARK-22465; the defaultParallelism variants have no equivalent (no
// spark.default.parallelism here).
func TestSparkPairSuite_CogroupDefaultPartitioner(t *testing.T) {
	thousand := make([]Pair[int, int], 0, 1000)
	for x := 1; x <= 1000; x++ {
		thousand = append(thousand, KV(x, x))
	}
	rdd2 := PartitionBy(Parallelize(spsRDD1, spsDefaultParallelism), WithPartitions(10))
	for _, tc := range []struct {
		name  string
		parts int
		want  int
	}{
		{"cogroup between multiple RDD with an order of magnitude difference in number of partitions", 1000, 1000},
		{"cogroup between multiple RDD with number of partitions similar in order of magnitude", 20, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rdd1 := Parallelize(thousand, tc.parts)
			require.Equal(t, tc.want, Cogroup(rdd1, rdd2).NumPartitions())
		})
	}
}

func TestSparkPairSuite_ZeroPartitionRDD(t *testing.T) {
	file := TextFile(t.TempDir(), 2) // textFile's defaultMinPartitions: min(defaultParallelism, 2)
	require.Zero(t, file.NumPartitions(), "file.partitions.isEmpty")
	require.Empty(t, collect(t, file))
	// a shuffle on the file works
	require.Empty(t, collect(t, ReduceByKey(Map(file, func(line string) Pair[string, int] { return KV(line, 1) }), add)))
}

func TestSparkPairSuite_KeysAndValues(t *testing.T) {
	r := Parallelize([]Pair[int, string]{KV(1, "a"), KV(2, "b")}, spsDefaultParallelism)
	require.Equal(t, []int{1, 2}, collect(t, Keys(r)))
	require.Equal(t, []string{"a", "b"}, collect(t, Values(r)))
}

func TestSparkPairSuite_DefaultPartitioner(t *testing.T) {
	t.Run("default partitioner uses partition size", func(t *testing.T) {
		a := Parallelize([]int{1, 2, 3, 4}, 2000)
		b := Map(a, func(a int) Pair[int, string] { return KV(a, strconv.Itoa(a*2)) })
		require.Equal(t, 2000, GroupByKey(b).NumPartitions())
	})
	t.Run("default partitioner uses largest partitioner", func(t *testing.T) {
		a := Parallelize([]Pair[int, string]{KV(1, "a"), KV(2, "b")}, 2)
		b := Parallelize([]Pair[int, string]{KV(1, "a"), KV(2, "b")}, 2000)
		require.Equal(t, 2000, Join(a, b).NumPartitions())
	})
}

func TestSparkPairSuite_FoldByKey(t *testing.T) {
	in := []Pair[int, int]{KV(1, 1), KV(1, 2), KV(1, 3), KV(1, 1), KV(2, 1)}
	t.Run("foldByKey", func(t *testing.T) {
		sums := collect(t, FoldByKey(Parallelize(in, spsDefaultParallelism), 0, add))
		require.Equal(t, spsSet([]Pair[int, int]{KV(1, 7), KV(2, 1)}), spsSet(sums))
	})
	t.Run("foldByKey with mutable result type", func(t *testing.T) {
		bufs := MapValues(Parallelize(in, spsDefaultParallelism), func(v int) []int { return []int{v} }).Cache()
		defer bufs.Unpersist()
		// Spark folds with ++= in place; here f returns a new slice, as
		// FoldByKey's doc requires. ArrayBuffer equality is ordered.
		sums := collect(t, FoldByKey(bufs, nil, func(a, b []int) []int { return slices.Concat(a, b) }))
		require.Equal(t, spsSet([]string{"(1,[1 2 3 1])", "(2,[1])"}), spsSet(spsStrings(sums)))
		// the values of the original RDD were not changed
		require.Equal(t, spsSet([]string{"(1,[1])", "(1,[2])", "(1,[3])", "(1,[1])", "(2,[1])"}),
			spsSet(spsStrings(collect(t, bufs))))
	})
}

// ---------------------------------------------------------------------------
// RDDSuite

func TestSparkPairSuite_RDDBasicOperations(t *testing.T) {
	ctx := context.Background()
	nums := Parallelize([]int{1, 2, 3, 4}, 2)
	require.Equal(t, 2, nums.NumPartitions())
	require.Equal(t, []int{1, 2, 3, 4}, collect(t, nums))
	var local []int
	for x, err := range nums.All(ctx) {
		require.NoError(t, err)
		local = append(local, x)
	}
	require.Equal(t, []int{1, 2, 3, 4}, local, "toLocalIterator")

	dups := Parallelize([]int{1, 1, 2, 2, 3, 3, 4, 4}, 2)
	n, err := Distinct(dups).Count(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 4, n)
	require.Equal(t, collect(t, Distinct(dups)), collect(t, Distinct(dups)), "dups.distinct().collect === dups.distinct().collect")
	require.Equal(t, collect(t, Distinct(dups)), collect(t, Distinct(dups, WithPartitions(2))), "distinct(2) === distinct()")

	sum, err := nums.Reduce(ctx, add)
	require.NoError(t, err)
	require.Equal(t, 10, sum)
	folded, err := nums.Fold(ctx, 0, add)
	require.NoError(t, err)
	require.Equal(t, 10, folded)

	for _, tc := range []struct {
		name string
		got  any
		want any
	}{
		{"map", collect(t, Map(nums, strconv.Itoa)), []string{"1", "2", "3", "4"}},
		{"filter", collect(t, nums.Filter(func(x int) bool { return x > 2 })), []int{3, 4}},
		{"flatMap", collect(t, FlatMap(nums, func(x int) []int { return spsRange(1, x) })), []int{1, 1, 2, 1, 2, 3, 1, 2, 3, 4}},
		{"union", collect(t, nums.Union(nums)), []int{1, 2, 3, 4, 1, 2, 3, 4}},
		{"glom", collect(t, Glom(nums)), [][]int{{1, 2}, {3, 4}}},
		{"collect(partial function)", collect(t, FlatMap(nums, func(i int) []string {
			if i >= 3 {
				return []string{strconv.Itoa(i)}
			}
			return nil
		})), []string{"3", "4"}},
		{"keyBy", collect(t, Map(nums, func(x int) Pair[string, int] { return KV(strconv.Itoa(x), x) })),
			[]Pair[string, int]{KV("1", 1), KV("2", 2), KV("3", 3), KV("4", 4)}},
		{"mapPartitions", collect(t, MapPartitions(nums, func(s iter.Seq[int]) iter.Seq[int] {
			return func(yield func(int) bool) {
				sum := 0
				for x := range s {
					sum += x
				}
				yield(sum)
			}
		})), []int{3, 7}},
		{"mapPartitionsWithIndex", collect(t, MapPartitionsWithIndex(nums, func(split int, s iter.Seq[int]) iter.Seq[Pair[int, int]] {
			return func(yield func(Pair[int, int]) bool) {
				sum := 0
				for x := range s {
					sum += x
				}
				yield(KV(split, sum))
			}
		})), []Pair[int, int]{KV(0, 3), KV(1, 7)}},
	} {
		require.Equal(t, tc.want, tc.got, tc.name)
	}
	hi, err := Max(ctx, nums)
	require.NoError(t, err)
	require.Equal(t, 4, hi)
	lo, err := Min(ctx, nums)
	require.NoError(t, err)
	require.Equal(t, 1, lo)
	_, err = nums.Filter(func(x int) bool { return x > 5 }).Reduce(ctx, add)
	require.ErrorIs(t, err, ErrEmpty, "UnsupportedOperationException")
}

func TestSparkPairSuite_RDDDistinctWithKnownPartitioner(t *testing.T) {
	pairs := Map(Parallelize(spsRange(1, 100), 10), func(x int) Pair[int, int] { return KV(x%10, x%10) })
	r := SortByKey(pairs, true, 10) // sortByKey's default numPartitions: the parent's
	same := collect(t, Distinct(r))
	different := collect(t, Distinct(r, WithPartitions(5)))
	require.Equal(t, sortedPairs(same), sortedPairs(different))
}

func TestSparkPairSuite_RDDSparkContextUnion(t *testing.T) {
	nums := Parallelize([]int{1, 2, 3, 4}, 2)
	for _, tc := range []struct {
		name string
		rdds []*RDD[int]
		want []int
	}{
		{"union(nums)", []*RDD[int]{nums}, []int{1, 2, 3, 4}},
		{"union(nums, nums)", []*RDD[int]{nums, nums}, []int{1, 2, 3, 4, 1, 2, 3, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, collect(t, Union(tc.rdds...)))
		})
	}
	t.Run("SPARK-23778: empty RDD in union", func(t *testing.T) {
		empty := Empty[Pair[int, bool]]()
		require.Empty(t, collect(t, Union(empty, empty)))
	})
}

func TestSparkPairSuite_RDDFold(t *testing.T) {
	var xs []int
	for i := -1000; i < 1000; i++ {
		xs = append(xs, i)
	}
	sum, err := Parallelize(xs, 10).Fold(context.Background(), 0, func(c, x int) int { return c + x })
	require.NoError(t, err)
	require.Equal(t, -1000, sum)
}

func TestSparkPairSuite_RDDAggregate(t *testing.T) {
	pairs := Parallelize([]Pair[string, int]{KV("a", 1), KV("b", 2), KV("a", 2), KV("c", 5), KV("a", 3)}, spsDefaultParallelism)
	// Spark mutates a HashMap zero; Aggregate's doc forbids that, so each op
	// returns a new map (the zero is nil).
	mergeElement := func(m map[string]int, p Pair[string, int]) map[string]int {
		out := maps.Clone(m)
		if out == nil {
			out = map[string]int{}
		}
		out[p.Key] += p.Value
		return out
	}
	mergeMaps := func(m1, m2 map[string]int) map[string]int {
		out := maps.Clone(m1)
		if out == nil {
			out = map[string]int{}
		}
		for k, v := range m2 {
			out[k] += v
		}
		return out
	}
	result, err := Aggregate(context.Background(), pairs, map[string]int(nil), mergeElement, mergeMaps)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"a": 6, "b": 2, "c": 5}, result)
}

func TestSparkPairSuite_RDDBasicCaching(t *testing.T) {
	r := Parallelize([]int{1, 2, 3, 4}, 2).Cache()
	defer r.Unpersist()
	for range 3 {
		require.Equal(t, []int{1, 2, 3, 4}, collect(t, r))
	}
}

func TestSparkPairSuite_RDDEmptyRDD(t *testing.T) {
	ctx := context.Background()
	empty := Empty[int]()
	n, err := empty.Count(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Empty(t, collect(t, empty))
	_, err = empty.Reduce(ctx, add)
	require.ErrorIs(t, err, ErrEmpty)
	require.Contains(t, err.Error(), "empty")

	emptyKv := Empty[Pair[int, int]]()
	r := Map(Parallelize([]int{1, 2}, 2), func(x int) Pair[int, int] { return KV(x, x) })
	for _, tc := range []struct {
		name string
		size func() int
		want int
	}{
		{"join", func() int { return len(collect(t, Join(r, emptyKv))) }, 0},
		{"rightOuterJoin", func() int { return len(collect(t, RightOuterJoin(r, emptyKv))) }, 0},
		{"leftOuterJoin", func() int { return len(collect(t, LeftOuterJoin(r, emptyKv))) }, 2},
		{"fullOuterJoin", func() int { return len(collect(t, FullOuterJoin(r, emptyKv))) }, 2},
		{"cogroup", func() int { return len(collect(t, Cogroup(r, emptyKv))) }, 2},
		{"union", func() int { return len(collect(t, r.Union(emptyKv))) }, 2},
	} {
		t.Run(tc.name, func(t *testing.T) { require.Equal(t, tc.want, tc.size()) })
	}
}

func TestSparkPairSuite_RDDRepartitionedRDDs(t *testing.T) {
	data := Parallelize(spsRange(1, 1000), 10)
	_, err := data.Repartition(0).Collect(context.Background())
	require.ErrorIs(t, err, ErrInvalidArgument, "IllegalArgumentException")
	for _, n := range []int{2, 20} { // coalesce partitions, split partitions
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			r := data.Repartition(n)
			require.Equal(t, n, r.NumPartitions())
			parts := partitions(t, r)
			require.NotEmpty(t, parts[0])
			require.NotEmpty(t, parts[n-1])
			require.Equal(t, spsSet(spsRange(1, 1000)), spsSet(collect(t, r)))
		})
	}
}

func TestSparkPairSuite_RDDRepartitionLoadBalancing(t *testing.T) {
	t.Run("coalesce partitions", func(t *testing.T) {
		input := spsRepeat(1, 1000)
		initialPartitions := 10
		r := Parallelize(input, initialPartitions).Repartition(2)
		require.Equal(t, 2, r.NumPartitions())
		parts := partitions(t, r)
		require.Less(t, spsAbs(len(parts[0])-500), initialPartitions)
		require.Less(t, spsAbs(len(parts[1])-500), initialPartitions)
		require.Equal(t, input, collect(t, r))
	})
	for _, tc := range []struct {
		input                              []int
		initialPartitions, finalPartitions int
	}{
		// Each parent of 10 elements deals them round-robin from a start
		// spread over the 20 outputs: every output gets some (starting
		// each parent at its own index left the last output empty).
		{spsRepeat(1, 100), 10, 20},
		{append(spsRepeat(1, 10000), spsRepeat(2, 10000)...), 20, 100},
		{spsRepeat(1, 1000), 250, 128},
	} {
		t.Run(fmt.Sprintf("split %d/%d to %d", len(tc.input), tc.initialPartitions, tc.finalPartitions), func(t *testing.T) {
			r := Parallelize(tc.input, tc.initialPartitions).Repartition(tc.finalPartitions)
			require.Equal(t, tc.finalPartitions, r.NumPartitions())
			got := collect(t, r)
			slices.Sort(got)
			require.Equal(t, slices.Sorted(slices.Values(tc.input)), got, "all elements are present")
			avg := len(tc.input) / tc.finalPartitions
			maxPossible := avg + tc.initialPartitions
			for i, part := range partitions(t, r) {
				require.LessOrEqual(t, len(part), maxPossible, "partition %d overloaded", i)
				require.NotEmpty(t, part, "partition %d empty", i)
			}
		})
	}
}

func spsAbs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestSparkPairSuite_RDDCoalescedRDDs(t *testing.T) {
	data := Parallelize(spsRange(1, 10), 10)
	_, err := data.Coalesce(0).Collect(context.Background())
	require.ErrorIs(t, err, ErrInvalidArgument, "IllegalArgumentException")
	singletons := make([][]int, 10)
	for i := range singletons {
		singletons[i] = []int{i + 1}
	}
	for _, tc := range []struct {
		n    int
		want [][]int
	}{
		{2, [][]int{{1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}}},
		{3, [][]int{{1, 2, 3}, {4, 5, 6}, {7, 8, 9, 10}}},
		{10, singletons},
		{20, singletons}, // more than the parent's: keeps the parent's count
	} {
		t.Run(strconv.Itoa(tc.n), func(t *testing.T) {
			c := data.Coalesce(tc.n)
			require.Equal(t, spsRange(1, 10), collect(t, c))
			require.Equal(t, tc.want, partitions(t, c))
		})
	}
	t.Run("shuffle=true increases partitions", func(t *testing.T) {
		c := data.Repartition(20) // coalesce(20, shuffle = true)
		require.Equal(t, 20, c.NumPartitions())
		require.Equal(t, spsSet(spsRange(1, 10)), spsSet(collect(t, c)))
	})
}

func TestSparkPairSuite_RDDCollectLargeNumberOfEmptyPartitions(t *testing.T) {
	// SPARK-4019
	r := Parallelize(spsRange(0, 9), 1000).Repartition(2001)
	require.Equal(t, spsSet(spsRange(0, 9)), spsSet(collect(t, r)))
}

func TestSparkPairSuite_RDDTake(t *testing.T) {
	ctx := context.Background()
	for _, parts := range []int{1, 2, 100, 1000} {
		nums := Parallelize(spsRange(1, 999), parts) // Range(1, 1000)
		for _, tc := range []struct {
			n    int
			want []int
		}{
			{0, nil}, {1, []int{1}}, {3, []int{1, 2, 3}}, {500, spsRange(1, 500)}, {501, spsRange(1, 501)},
			{999, spsRange(1, 999)}, {1000, spsRange(1, 999)},
		} {
			t.Run(fmt.Sprintf("%d partitions/take %d", parts, tc.n), func(t *testing.T) {
				got, err := nums.Take(ctx, tc.n)
				require.NoError(t, err)
				if tc.want == nil {
					require.Empty(t, got)
					return
				}
				require.Equal(t, tc.want, got)
			})
		}
	}
	got, err := Parallelize([]int{1, 2}, 2).Take(ctx, 2147483638)
	require.NoError(t, err)
	require.Len(t, got, 2)
}

// sort an empty RDD: sortBy's default numPartitions is this.partitions.length,
// 0 for an empty RDD, and Spark returns an empty array. SortBy takes
// numPartitions explicitly and, by its doc, refuses one below 1 (a
// difference from Spark, whose RangePartitioner accepts 0): the empty RDD
// sorts into one partition.
func TestSparkPairSuite_RDDSortAnEmptyRDD(t *testing.T) {
	data := Empty[int]()
	_, err := SortBy(data, func(x int) int { return x }, true, data.NumPartitions()).Collect(context.Background())
	require.ErrorIs(t, err, ErrInvalidArgument)
	got, err := SortBy(data, func(x int) int { return x }, true, 1).Collect(context.Background())
	require.NoError(t, err)
	require.Empty(t, got)
}

func TestSparkPairSuite_RDDSortBy(t *testing.T) {
	data := Parallelize([]string{"5|50|A", "4|60|C", "6|40|B"}, spsDefaultParallelism)
	field := func(i int) func(string) string {
		return func(s string) string { return strings.Split(s, "|")[i] }
	}
	for _, tc := range []struct {
		name      string
		field     int
		ascending bool
		want      []string
	}{
		{"sortByKey/col1", 0, true, []string{"4|60|C", "5|50|A", "6|40|B"}},
		{"sortByKey/col2", 1, true, []string{"6|40|B", "5|50|A", "4|60|C"}},
		{"sortByKey/col3", 2, true, []string{"5|50|A", "6|40|B", "4|60|C"}},
		{"sortByKey ascending parameter/asc", 0, true, []string{"4|60|C", "5|50|A", "6|40|B"}},
		{"sortByKey ascending parameter/desc", 0, false, []string{"6|40|B", "5|50|A", "4|60|C"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, collect(t, SortBy(data, field(tc.field), tc.ascending, data.NumPartitions())))
		})
	}
}

// sortByKey with explicit ordering: the Orderings become keys (age; last
// name then first name, joined by a byte no name contains).
func TestSparkPairSuite_RDDSortByWithExplicitOrdering(t *testing.T) {
	data := Parallelize([]string{"Bob|Smith|50", "Jane|Smith|40", "Thomas|Williams|30", "Karen|Williams|60"}, spsDefaultParallelism)
	age := func(s string) int {
		a, err := strconv.Atoi(strings.Split(s, "|")[2])
		if err != nil {
			panic(err)
		}
		return a
	}
	name := func(s string) string {
		f := strings.Split(s, "|")
		return f[1] + "\x00" + f[0]
	}
	require.Equal(t, []string{"Thomas|Williams|30", "Jane|Smith|40", "Bob|Smith|50", "Karen|Williams|60"},
		collect(t, SortBy(data, age, true, 2)), "AgeOrdering")
	require.Equal(t, []string{"Bob|Smith|50", "Jane|Smith|40", "Karen|Williams|60", "Thomas|Williams|30"},
		collect(t, SortBy(data, name, true, 2)), "NameOrdering")
}
