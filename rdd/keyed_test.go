package rdd

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func add(a, b int) int { return a + b }

func words(parts int, ws ...string) *RDD[Pair[string, int]] {
	return Map(Parallelize(ws, parts), func(w string) Pair[string, int] { return KV(w, 1) })
}

func TestReduceByKey(t *testing.T) {
	for _, in := range []int{1, 3, 10} {
		for _, out := range []int{1, 2, 10} {
			t.Run(strconv.Itoa(in)+"to"+strconv.Itoa(out), func(t *testing.T) {
				r := ReduceByKey(words(in, "a", "b", "a", "c", "a", "b"), add, WithPartitions(out))
				require.Equal(t, out, r.NumPartitions())
				require.Equal(t, []Pair[string, int]{KV("a", 3), KV("b", 2), KV("c", 1)}, sortedPairs(collect(t, r)))
			})
		}
	}
	t.Run("default partitions is the parent's", func(t *testing.T) {
		require.Equal(t, 3, ReduceByKey(words(3, "a"), add).NumPartitions())
	})
	t.Run("empty", func(t *testing.T) {
		r := ReduceByKey(Empty[Pair[string, int]](), add)
		require.Equal(t, 1, r.NumPartitions())
		require.Empty(t, collect(t, r))
		require.Empty(t, collect(t, ReduceByKey(words(4), add, WithPartitions(3))))
	})
	t.Run("each key in one partition", func(t *testing.T) {
		r := ReduceByKey(words(5, "a", "b", "c", "d", "e", "a", "b"), add, WithPartitions(3))
		seen := map[string]int{}
		for p, part := range partitions(t, r) {
			for _, kv := range part {
				_, dup := seen[kv.Key]
				require.False(t, dup, "key %q in two partitions", kv.Key)
				seen[kv.Key] = p
				require.Equal(t, NewHashPartitioner[string](3).Partition(kv.Key), p)
			}
		}
	})
}

func TestCombineByKey(t *testing.T) {
	pairs := Parallelize([]Pair[string, int]{KV("a", 1), KV("b", 5), KV("a", 2), KV("a", 3)}, 3)
	type avg struct{ sum, n int }
	r := CombineByKey(pairs,
		func(v int) avg { return avg{v, 1} },
		func(c avg, v int) avg { return avg{c.sum + v, c.n + 1} },
		func(a, b avg) avg { return avg{a.sum + b.sum, a.n + b.n} }, WithPartitions(2))
	got := map[string]avg{}
	for _, kv := range collect(t, r) {
		got[kv.Key] = kv.Value
	}
	require.Equal(t, map[string]avg{"a": {6, 3}, "b": {5, 1}}, got)
}

func TestFoldByKey(t *testing.T) {
	// Partitions {a:1} and {a:2, a:3}: zero is applied once per key per partition.
	pairs := Parallelize([]Pair[string, int]{KV("a", 1), KV("a", 2), KV("a", 3)}, 2)
	require.Equal(t, []Pair[string, int]{KV("a", 26)}, collect(t, FoldByKey(pairs, 10, add, WithPartitions(1))))
	require.Empty(t, collect(t, FoldByKey(Empty[Pair[string, int]](), 0, add)))
}

func TestGroupByKey(t *testing.T) {
	pairs := Parallelize([]Pair[int, string]{KV(1, "x"), KV(2, "y"), KV(1, "z"), KV(1, "x")}, 3)
	got := collect(t, GroupByKey(pairs, WithPartitions(2)))
	for i := range got {
		slices.Sort(got[i].Value)
	}
	slices.SortFunc(got, func(a, b Pair[int, []string]) int { return a.Key - b.Key })
	require.Equal(t, []Pair[int, []string]{KV(1, []string{"x", "x", "z"}), KV(2, []string{"y"})}, got)
}

func TestDistinct(t *testing.T) {
	r := Parallelize([]int{3, 1, 3, 2, 1, 3}, 4)
	require.Equal(t, []int{1, 2, 3}, sorted(collect(t, Distinct(r))))
	require.Equal(t, 2, Distinct(r, WithPartitions(2)).NumPartitions())
	require.Empty(t, collect(t, Distinct(Empty[int]())))
}

func TestPartitionBy(t *testing.T) {
	pairs := Parallelize([]Pair[int, int]{KV(1, 1), KV(2, 2), KV(1, 3), KV(3, 4)}, 2)
	out := PartitionBy(pairs, WithPartitions(3))
	require.Equal(t, 3, out.NumPartitions())
	for p, part := range partitions(t, out) {
		for _, kv := range part {
			require.Equal(t, NewHashPartitioner[int](3).Partition(kv.Key), p)
		}
	}
	require.Equal(t, []Pair[int, int]{KV(1, 1), KV(1, 3), KV(2, 2), KV(3, 4)}, sortedPairs(collect(t, out)), "duplicates kept")
	require.Same(t, out, PartitionBy(out, WithPartitions(3)), "already partitioned: no shuffle")
	require.NotSame(t, out, PartitionBy(out, WithPartitions(2)))
}

// evenOdd is a user partitioner: even keys to 0, odd keys to 1.
type evenOdd struct{}

func (evenOdd) NumPartitions() int    { return 2 }
func (evenOdd) Partition(key int) int { return key & 1 }

func TestWithPartitioner(t *testing.T) {
	pairs := Parallelize([]Pair[int, int]{KV(1, 1), KV(2, 2), KV(3, 3), KV(4, 4), KV(1, 1)}, 3)
	red := ReduceByKey(pairs, add, WithPartitioner[int](evenOdd{}))
	require.Equal(t, [][]Pair[int, int]{{KV(2, 2), KV(4, 4)}, {KV(1, 2), KV(3, 3)}}, mapSlices(partitions(t, red), sortedPairs))
	_, err := ReduceByKey(pairs, add, WithPartitioner[string](NewHashPartitioner[string](2))).Collect(context.Background())
	require.ErrorIs(t, err, ErrInvalidArgument)
}

func mapSlices[T any](xs []T, f func(T) T) []T {
	for i := range xs {
		xs[i] = f(xs[i])
	}
	return xs
}

func TestRepartition(t *testing.T) {
	r := Parallelize(slices.Collect(func(yield func(int) bool) {
		for i := range 100 {
			yield(i)
		}
	}), 3)
	out := r.Repartition(7)
	require.Equal(t, 7, out.NumPartitions())
	for _, part := range partitions(t, out) {
		require.InDelta(t, 100/7, len(part), 3, "evenly spread")
	}
	require.Equal(t, collect(t, r), sorted(collect(t, out)))
	require.Equal(t, []int{1, 2}, sorted(collect(t, Parallelize([]int{1, 2}, 1).Repartition(5))))
	require.Empty(t, collect(t, Empty[int]().Repartition(2)))
}

func TestInvalidPartitionCounts(t *testing.T) {
	ctx := context.Background()
	pairs := words(2, "a", "b")
	other := Parallelize([]Pair[string, string]{KV("a", "x")}, 1)
	for name, r := range map[string]interface {
		Count(context.Context) (int64, error)
	}{
		"ReduceByKey/0":  ReduceByKey(pairs, add, WithPartitions(0)),
		"ReduceByKey/-1": ReduceByKey(pairs, add, WithPartitions(-1)),
		"GroupByKey":     GroupByKey(pairs, WithPartitions(0)),
		"FoldByKey":      FoldByKey(pairs, 0, add, WithPartitions(-3)),
		"Distinct":       Distinct(Keys(pairs), WithPartitions(0)),
		"PartitionBy":    PartitionBy(pairs, WithPartitions(0)),
		"Join":           Join(pairs, other, WithPartitions(0)),
		"Cogroup":        Cogroup(pairs, other, WithPartitions(-1)),
		"Repartition":    pairs.Repartition(0),
		"Coalesce":       pairs.Coalesce(-1),
		"SortBy":         SortBy(pairs, func(kv Pair[string, int]) string { return kv.Key }, true, 0),
		"SortByKey":      SortByKey(pairs, false, -2),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := r.Count(ctx)
			require.ErrorIs(t, err, ErrInvalidArgument)
		})
	}
}

func TestCogroup(t *testing.T) {
	a := Parallelize([]Pair[string, int]{KV("x", 1), KV("y", 2), KV("x", 3)}, 2)
	b := Parallelize([]Pair[string, string]{KV("y", "Y"), KV("z", "Z")}, 3)
	got := collect(t, Cogroup(a, b))
	m := map[string]CoGrouped[int, string]{}
	for _, kv := range got {
		slices.Sort(kv.Value.Left)
		m[kv.Key] = kv.Value
	}
	require.Equal(t, map[string]CoGrouped[int, string]{
		"x": {Left: []int{1, 3}},
		"y": {Left: []int{2}, Right: []string{"Y"}},
		"z": {Right: []string{"Z"}},
	}, m)
	require.Equal(t, 3, Cogroup(a, b).NumPartitions(), "largest parent")
	require.Empty(t, collect(t, Cogroup(Empty[Pair[string, int]](), Empty[Pair[string, int]]())))
}

func TestJoinFamily(t *testing.T) {
	a := Parallelize([]Pair[string, int]{KV("x", 1), KV("y", 2), KV("y", 3)}, 2)
	b := Parallelize([]Pair[string, string]{KV("y", "Y1"), KV("y", "Y2"), KV("z", "Z")}, 3)
	t.Run("Join", func(t *testing.T) {
		require.Equal(t, []string{"(y,(2,Y1))", "(y,(2,Y2))", "(y,(3,Y1))", "(y,(3,Y2))"},
			sorted(collect(t, Map(Join(a, b), Pair[string, Joined[int, string]].String))))
	})
	t.Run("LeftOuterJoin", func(t *testing.T) {
		require.Equal(t, []string{"(x,(1,None))", "(y,(2,Some(Y1)))", "(y,(2,Some(Y2)))", "(y,(3,Some(Y1)))", "(y,(3,Some(Y2)))"},
			sorted(collect(t, Map(LeftOuterJoin(a, b), Pair[string, Joined[int, Option[string]]].String))))
	})
	t.Run("RightOuterJoin", func(t *testing.T) {
		require.Equal(t, []string{"(y,(Some(2),Y1))", "(y,(Some(2),Y2))", "(y,(Some(3),Y1))", "(y,(Some(3),Y2))", "(z,(None,Z))"},
			sorted(collect(t, Map(RightOuterJoin(a, b), Pair[string, Joined[Option[int], string]].String))))
	})
	t.Run("FullOuterJoin", func(t *testing.T) {
		require.Equal(t, []string{"(x,(Some(1),None))", "(y,(Some(2),Some(Y1)))", "(y,(Some(2),Some(Y2)))",
			"(y,(Some(3),Some(Y1)))", "(y,(Some(3),Some(Y2)))", "(z,(None,Some(Z)))"},
			sorted(collect(t, Map(FullOuterJoin(a, b), Pair[string, Joined[Option[int], Option[string]]].String))))
	})
	t.Run("empty side", func(t *testing.T) {
		none := Empty[Pair[string, string]]()
		require.Empty(t, collect(t, Join(a, none)))
		require.Len(t, collect(t, LeftOuterJoin(a, none)), 3)
		require.Empty(t, collect(t, RightOuterJoin(a, none)))
		require.Len(t, collect(t, FullOuterJoin(a, none)), 3)
	})
	t.Run("Take stops early", func(t *testing.T) {
		xs, err := Join(a, b, WithPartitions(1)).Take(context.Background(), 1)
		require.NoError(t, err)
		require.Len(t, xs, 1)
	})
}

func TestCoPartitionedOperationsDoNotShuffleAgain(t *testing.T) {
	ctx := context.Background()
	a := ReduceByKey(words(3, "a", "b", "a", "c"), add, WithPartitions(4))
	b := ReduceByKey(words(2, "a", "c", "d"), add, WithPartitions(4))
	require.Equal(t, 1, shuffleCount(a))

	again := ReduceByKey(MapValues(a, func(v int) int { return v * 10 }), add)
	require.Equal(t, 0, shuffleCount(again, a), "ReduceByKey of a hash-partitioned RDD")
	require.Equal(t, a.lin.partitioner, again.lin.partitioner)
	require.Equal(t, []Pair[string, int]{KV("a", 20), KV("b", 10), KV("c", 10)}, sortedPairs(collect(t, again)))

	j := Join(a, b)
	require.Equal(t, 0, shuffleCount(j, a, b), "Join of co-partitioned RDDs")
	require.Equal(t, 4, j.NumPartitions())
	got, err := j.Collect(ctx)
	require.NoError(t, err)
	require.Equal(t, []Pair[string, Joined[int, int]]{KV("a", Joined[int, int]{2, 1}), KV("c", Joined[int, int]{1, 1})},
		sortedPairs(got))

	// Only the side that is not partitioned that way is shuffled.
	c := words(5, "a", "b")
	require.Equal(t, 1, shuffleCount(Join(a, c), a))
	require.Equal(t, 1, shuffleCount(ReduceByKey(a, add, WithPartitions(3)), a), "a different count shuffles")
}

func TestKeyedPanicsNameTheOperation(t *testing.T) {
	ctx := context.Background()
	t.Run("map-side combine", func(t *testing.T) {
		pairs := words(2, "a", "b", "c", "c")
		r := ReduceByKey(pairs, func(a, b int) int { panic("merge value") }, WithPartitions(3))
		_, err := Map(r, func(kv Pair[string, int]) int { return kv.Value }).Collect(ctx)
		requireTaskError(t, err, "ReduceByKey", r.ID(), 1, true) // map partition 1 holds c, c
	})
	t.Run("reduce-side merge", func(t *testing.T) {
		pairs := words(2, "a", "b", "a", "b")
		r := CombineByKey(pairs, func(v int) int { return v }, add,
			func(int, int) int { panic("merge combiners") }, WithPartitions(1))
		_, err := Map(r, func(kv Pair[string, int]) int { return kv.Value }).Collect(ctx)
		requireTaskError(t, err, "CombineByKey", r.ID(), 0, true)
	})
	t.Run("narrow combine of a partitioned RDD", func(t *testing.T) {
		a := ReduceByKey(words(2, "a", "a"), add, WithPartitions(1))
		r := ReduceByKey(a, func(int, int) int { panic("never: one value per key") })
		require.Equal(t, []Pair[string, int]{KV("a", 2)}, collect(t, r))
		g := FoldByKey(a, 0, func(int, int) int { panic("fold") })
		_, err := g.Collect(ctx)
		requireTaskError(t, err, "FoldByKey", g.ID(), 0, true)
	})
	t.Run("join emit", func(t *testing.T) {
		a := Parallelize([]Pair[string, int]{KV("x", 1)}, 1)
		b := Parallelize([]Pair[string, int]{KV("x", 2)}, 1)
		j := Join(a, b)
		m := MapValues(j, func(Joined[int, int]) int { panic("after join") })
		_, err := m.Collect(ctx)
		requireTaskError(t, err, "MapValues", m.ID(), 0, true)
	})
	t.Run("user partitioner", func(t *testing.T) {
		r := PartitionBy(Parallelize([]Pair[int, int]{KV(-1, 0)}, 1), WithPartitioner[int](badPartitioner{}))
		_, err := r.Collect(ctx)
		requireTaskError(t, err, "PartitionBy", r.ID(), 0, true)
	})
}

type badPartitioner struct{}

func (badPartitioner) NumPartitions() int { return 2 }
func (badPartitioner) Partition(int) int  { panic("bad partitioner") }

func TestGroupByKeyShuffleReadByConcurrentJobs(t *testing.T) {
	ctx := context.Background()
	// Map partition 0 groups 17 values of key 0 (a slice with spare
	// capacity); the other map partitions hold one value of key 0 each, so
	// the reduce-side merge fits in that spare capacity.
	var pairs []Pair[int, int]
	for m := range 4 {
		for i := range 20 {
			k := 1 + i%3
			if (m == 0 && i < 17) || (m > 0 && i == 0) {
				k = 0
			}
			pairs = append(pairs, KV(k, m*100+i))
		}
	}
	g := GroupByKey(Parallelize(pairs, 4), WithPartitions(1))
	want, err := g.Collect(ctx)
	require.NoError(t, err)
	// Several jobs read the same stored shuffle output at once; the merge
	// must not write into the stored buckets (go test -race sees it).
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			got, err := g.Collect(ctx)
			require.NoError(t, err)
			require.Equal(t, len(want), len(got))
			for i := range got {
				require.ElementsMatch(t, want[i].Value, got[i].Value)
			}
		})
	}
	wg.Wait()
}

// TestGroupsAreEachJobsOwn: a job that changes the values of a group (in
// place, or by appending) changes them for itself only: the next job, and
// a job running at the same time, read the groups as the shuffle made
// them, as Spark reads a shuffle afresh for every job. With one map task
// (groups straight from the stored output) and several (merged), and
// through Cogroup.
func TestGroupsAreEachJobsOwn(t *testing.T) {
	pairs := []Pair[string, int]{KV("a", 1), KV("a", 2), KV("b", 3), KV("a", 4)}
	for _, mapTasks := range []int{1, 2} {
		g := GroupByKey(Parallelize(pairs, mapTasks), WithPartitions(1))
		scale := MapValues(g, func(vs []int) int { vs[0] *= 10; return vs[0] })
		first, second := collect(t, scale), collect(t, scale)
		require.Equal(t, first, second, "%d map tasks: the second job saw the first one's change", mapTasks)

		var wg sync.WaitGroup
		got := make([][]Pair[string, []int], 4)
		for j := range got {
			wg.Go(func() {
				grown := MapValues(g, func(vs []int) []int { return append(vs, 100+j) })
				xs, err := grown.Collect(context.Background())
				require.NoError(t, err)
				got[j] = xs
			})
		}
		wg.Wait()
		for j, xs := range got {
			for _, kv := range xs {
				require.Equal(t, 100+j, kv.Value[len(kv.Value)-1], "%d map tasks: job %d's appended value", mapTasks, j)
			}
		}

		cg := Cogroup(Parallelize(pairs, mapTasks), Parallelize(pairs[:2], mapTasks), WithPartitions(1))
		bump := MapValues(cg, func(g CoGrouped[int, int]) int {
			g.Left[0]++
			if len(g.Right) > 0 {
				g.Right[0]++
			}
			return g.Left[0]
		})
		require.Equal(t, collect(t, bump), collect(t, bump), "%d map tasks: Cogroup", mapTasks)
	}
}

// TestCancelledJobDoesNotWaitForAnothersShuffle: a job whose context ends
// while another job computes the shuffle both need returns at once with
// the context's error, not once the other job's map stage is done.
func TestCancelledJobDoesNotWaitForAnothersShuffle(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	slow := Generate(1, func(ctx context.Context, p int, yield func(Pair[string, int]) bool) error {
		select {
		case started <- struct{}{}:
		default:
		}
		<-release
		yield(KV("a", 1))
		return nil
	})
	r := ReduceByKey(slow, add, WithPartitions(1))
	done := make(chan error, 1)
	go func() { _, err := r.Collect(context.Background()); done <- err }()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	begin := time.Now()
	_, err := r.Count(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(begin), 5*time.Second)
	close(release)
	require.NoError(t, <-done)
	n, err := r.Count(context.Background())
	require.NoError(t, err)
	require.Equal(t, int64(1), n, "the shuffle the first job computed serves the next")
}

// TestPartitionerWithoutPartitions: a user partitioner claiming fewer than
// one partition fails the action with ErrInvalidArgument, as
// WithPartitions(0) does, instead of panicking in the caller.
func TestPartitionerWithoutPartitions(t *testing.T) {
	_, err := ReduceByKey(words(2, "a", "b"), add, WithPartitioner[string](negativePartitioner{})).Collect(context.Background())
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.ErrorContains(t, err, "-1 partitions")
}

type negativePartitioner struct{}

func (negativePartitioner) NumPartitions() int   { return -1 }
func (negativePartitioner) Partition(string) int { return 0 }

// TestDefaultPartitioner follows Spark's Partitioner.defaultPartitioner: a
// parent's partitioner is kept unless the largest parent has ten times as
// many partitions or more.
func TestDefaultPartitioner(t *testing.T) {
	reduced := ReduceByKey(words(4, "a", "b"), add, WithPartitions(2))
	small := Parallelize([]Pair[string, int]{KV("a", 1)}, 19)
	large := Parallelize([]Pair[string, int]{KV("a", 1)}, 25)
	require.Equal(t, 2, Join(reduced, small).NumPartitions(), "19 partitions: within an order of magnitude of 2")
	require.Equal(t, 25, Join(reduced, large).NumPartitions(), "25 partitions: more than ten times 2")
	require.Equal(t, 25, Cogroup(reduced, large).NumPartitions())
	require.Equal(t, 7, Join(words(7, "a"), words(3, "a")).NumPartitions(), "no partitioner: the largest count")
	joined, err := Join(reduced, large).Collect(context.Background())
	require.NoError(t, err)
	require.Equal(t, []Pair[string, Joined[int, int]]{{"a", Joined[int, int]{1, 1}}}, joined)
}
