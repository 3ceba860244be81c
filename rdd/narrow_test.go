package rdd

import (
	"context"
	"iter"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNarrowOperations(t *testing.T) {
	double := func(r *RDD[int]) *RDD[int] { return Map(r, func(x int) int { return 2 * x }) }
	odd := func(r *RDD[int]) *RDD[int] { return r.Filter(func(x int) bool { return x%2 == 1 }) }
	repeat := func(r *RDD[int]) *RDD[int] {
		return FlatMap(r, func(x int) []int { return slices.Repeat([]int{x}, x%3) })
	}
	repeatSeq := func(r *RDD[int]) *RDD[int] {
		return FlatMapSeq(r, func(x int) iter.Seq[int] { return slices.Values(slices.Repeat([]int{x}, x%3)) })
	}
	sumParts := func(r *RDD[int]) *RDD[int] {
		return MapPartitions(r, func(s iter.Seq[int]) iter.Seq[int] {
			return func(yield func(int) bool) {
				sum := 0
				for x := range s {
					sum += x
				}
				yield(sum)
			}
		})
	}
	tests := []struct {
		name string
		op   func(*RDD[int]) *RDD[int]
		in   []int
		want []int
	}{
		{"Map", double, []int{1, 2, 3}, []int{2, 4, 6}},
		{"Map/empty", double, nil, nil},
		{"Filter", odd, []int{1, 2, 3, 4, 5}, []int{1, 3, 5}},
		{"Filter/none kept", odd, []int{2, 4}, nil},
		{"Filter/function form", func(r *RDD[int]) *RDD[int] { return Filter(r, func(x int) bool { return x > 2 }) }, []int{1, 2, 3}, []int{3}},
		{"FlatMap", repeat, []int{1, 2, 3, 4}, []int{1, 2, 2, 4}},
		{"FlatMapSeq", repeatSeq, []int{1, 2, 3, 4}, []int{1, 2, 2, 4}},
		{"Chain", func(r *RDD[int]) *RDD[int] { return repeat(odd(double(r))) }, []int{1, 2}, nil},
		{"Chain/nonempty", func(r *RDD[int]) *RDD[int] { return repeat(double(odd(r))) }, []int{1, 2, 5}, []int{2, 2, 10}},
	}
	for _, tt := range tests {
		for _, parts := range []int{1, 2, 7} { // 7: more partitions than elements, some empty
			t.Run(tt.name+"/"+strconv.Itoa(parts), func(t *testing.T) {
				out := tt.op(Parallelize(tt.in, parts))
				require.Equal(t, parts, out.NumPartitions())
				got := collect(t, out)
				if tt.want == nil {
					require.Empty(t, got)
				} else {
					require.Equal(t, tt.want, got)
				}
				require.Empty(t, collect(t, tt.op(Empty[int]())))
			})
		}
	}
	t.Run("MapPartitions", func(t *testing.T) {
		require.Equal(t, []int{1, 5, 9}, collect(t, sumParts(Parallelize([]int{1, 2, 3, 4, 5}, 3))))
		require.Equal(t, []int{0, 1, 0, 2}, collect(t, sumParts(Parallelize([]int{1, 2}, 4))))
	})
}

func TestMapPartitionsWithIndex(t *testing.T) {
	r := Parallelize([]string{"a", "b", "c"}, 2)
	out := MapPartitionsWithIndex(r, func(p int, s iter.Seq[string]) iter.Seq[string] {
		return func(yield func(string) bool) {
			for x := range s {
				if !yield(strconv.Itoa(p) + x) {
					return
				}
			}
		}
	})
	require.Equal(t, []string{"0a", "1b", "1c"}, collect(t, out))
	first, err := out.First(context.Background()) // the downstream stops early
	require.NoError(t, err)
	require.Equal(t, "0a", first)
}

func TestGlom(t *testing.T) {
	require.Equal(t, [][]int{{1}, {2, 3}}, collect(t, Glom(Parallelize([]int{1, 2, 3}, 2))))
	require.Equal(t, [][]int{{}, {1}, {}, {2}}, collect(t, Glom(Parallelize([]int{1, 2}, 4))))
	require.Empty(t, collect(t, Glom(Empty[int]())))
}

func TestUnion(t *testing.T) {
	a := Parallelize([]int{1, 2}, 2)
	b := Parallelize([]int{2, 3, 4}, 1)
	u := a.Union(b, Empty[int]())
	require.Equal(t, 3, u.NumPartitions())
	require.Equal(t, []int{1, 2, 2, 3, 4}, collect(t, u))
	require.Equal(t, []int{2, 3, 4, 1, 2}, collect(t, Union(b, a)))
	require.Empty(t, collect(t, Union[int]()))
	require.Equal(t, []int{1, 2, 1, 2}, collect(t, a.Union(a)))
}

func TestCoalesce(t *testing.T) {
	r := Parallelize([]int{1, 2, 3, 4, 5, 6, 7}, 7)
	c := r.Coalesce(3)
	require.Equal(t, 3, c.NumPartitions())
	require.Equal(t, [][]int{{1, 2}, {3, 4}, {5, 6, 7}}, partitions(t, c))
	require.Equal(t, 7, r.Coalesce(10).NumPartitions(), "never increases")
	require.Equal(t, []int{1, 2, 3, 4, 5, 6, 7}, collect(t, r.Coalesce(1)))
	require.Empty(t, collect(t, Empty[int]().Coalesce(2)))
	taken, err := r.Coalesce(2).Take(context.Background(), 2)
	require.NoError(t, err)
	require.Equal(t, []int{1, 2}, taken)
	_, err = r.Coalesce(0).Collect(context.Background())
	require.ErrorIs(t, err, ErrInvalidArgument)
}

func TestKeysValuesAndMapValues(t *testing.T) {
	pairs := Parallelize([]Pair[string, int]{KV("a", 1), KV("b", 2), KV("a", 3)}, 2)
	require.Equal(t, []string{"a", "b", "a"}, collect(t, Keys(pairs)))
	require.Equal(t, []int{1, 2, 3}, collect(t, Values(pairs)))
	mv := MapValues(pairs, strconv.Itoa)
	require.Equal(t, []Pair[string, string]{KV("a", "1"), KV("b", "2"), KV("a", "3")}, collect(t, mv))
	fmv := FlatMapValues(pairs, func(v int) []int { return slices.Repeat([]int{v}, v-1) })
	require.Equal(t, []Pair[string, int]{KV("b", 2), KV("a", 3), KV("a", 3)}, collect(t, fmv))
	require.Empty(t, collect(t, MapValues(Empty[Pair[string, int]](), strconv.Itoa)))
}

func TestNarrowOpsKeepPartitioner(t *testing.T) {
	reduced := ReduceByKey(Parallelize([]Pair[string, int]{KV("a", 1)}, 2), func(a, b int) int { return a + b }, WithPartitions(3))
	require.NotNil(t, reduced.lin.partitioner)
	require.Equal(t, reduced.lin.partitioner, MapValues(reduced, strconv.Itoa).lin.partitioner)
	require.Equal(t, reduced.lin.partitioner, FlatMapValues(reduced, func(v int) []int { return nil }).lin.partitioner)
	require.Equal(t, reduced.lin.partitioner, reduced.Filter(func(Pair[string, int]) bool { return true }).lin.partitioner)
	require.Nil(t, Map(reduced, func(kv Pair[string, int]) Pair[string, int] { return kv }).lin.partitioner, "Map may change keys")
}

func TestNarrowPanicsNameTheOperation(t *testing.T) {
	boom := func(x int) bool { return x == 3 }
	tests := []struct {
		name string
		op   string
		make func(r *RDD[int]) (*RDD[int], int64)
	}{
		{"Map", "Map", func(r *RDD[int]) (*RDD[int], int64) {
			m := Map(r, func(x int) int {
				if boom(x) {
					panic("map")
				}
				return x
			})
			return m, m.ID()
		}},
		{"Filter", "Filter", func(r *RDD[int]) (*RDD[int], int64) {
			f := r.Filter(func(x int) bool {
				if boom(x) {
					panic("filter")
				}
				return true
			})
			return f, f.ID()
		}},
		{"FlatMap", "FlatMap", func(r *RDD[int]) (*RDD[int], int64) {
			f := FlatMap(r, func(x int) []int {
				if boom(x) {
					panic("flatMap")
				}
				return []int{x}
			})
			return f, f.ID()
		}},
		{"FlatMapSeq", "FlatMap", func(r *RDD[int]) (*RDD[int], int64) {
			f := FlatMapSeq(r, func(x int) iter.Seq[int] {
				return func(yield func(int) bool) {
					if boom(x) {
						panic("flatMapSeq")
					}
					yield(x)
				}
			})
			return f, f.ID()
		}},
		{"MapPartitions", "MapPartitions", func(r *RDD[int]) (*RDD[int], int64) {
			m := MapPartitions(r, func(s iter.Seq[int]) iter.Seq[int] {
				return func(yield func(int) bool) {
					for x := range s {
						if boom(x) {
							panic("mapPartitions")
						}
						if !yield(x) {
							return
						}
					}
				}
			})
			return m, m.ID()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Map(Parallelize([]int{1, 2, 3, 4}, 2), func(x int) int { return x })
			r, id := tt.make(in)
			// Operations after the failing one must not take the blame.
			after := Map(r, func(x int) int { return x }).Filter(func(int) bool { return true })
			_, err := after.Collect(context.Background())
			requireTaskError(t, err, tt.op, id, 1, true)
			require.Contains(t, err.Error(), tt.op)
		})
	}
}

func TestPanicErrorIncludesName(t *testing.T) {
	zero := 0
	m := Map(Parallelize([]string{"x"}, 1), func(s string) int { return len(s) / zero }).SetName("divide")
	_, err := m.Collect(context.Background())
	te := requireTaskError(t, err, "Map", m.ID(), 0, true)
	require.Equal(t, "divide", te.Name)
	require.Contains(t, err.Error(), "divide")
}
