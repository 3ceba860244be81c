package rdd_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sluice-io/sluice/rdd"
)

func sortedStrings[T any](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fmt.Sprint(x)
	}
	slices.Sort(out)
	return out
}

func ExampleMap() {
	nums := rdd.Parallelize([]int{1, 2, 3, 4}, 2)
	squares, _ := rdd.Map(nums, func(x int) int { return x * x }).Collect(context.Background())
	fmt.Println(squares)
	// Output: [1 4 9 16]
}

func ExampleFlatMap() {
	lines := rdd.Parallelize([]string{"to be", "or not to be"}, 2)
	words, _ := rdd.FlatMap(lines, strings.Fields).Collect(context.Background())
	fmt.Println(words)
	// Output: [to be or not to be]
}

func ExampleRDD_Filter() {
	nums := rdd.Parallelize([]int{1, 2, 3, 4, 5, 6}, 3)
	even, _ := nums.Filter(func(x int) bool { return x%2 == 0 }).Collect(context.Background())
	fmt.Println(even)
	// Output: [2 4 6]
}

func ExampleReduceByKey() {
	words := rdd.Parallelize([]string{"a", "b", "a", "c", "a"}, 2)
	pairs := rdd.Map(words, func(w string) rdd.Pair[string, int] { return rdd.KV(w, 1) })
	counts, _ := rdd.ReduceByKey(pairs, func(a, b int) int { return a + b }).Collect(context.Background())
	fmt.Println(sortedStrings(counts)) // the order of keys is not specified
	// Output: [(a,3) (b,1) (c,1)]
}

func ExampleGroupByKey() {
	pairs := rdd.Parallelize([]rdd.Pair[string, int]{rdd.KV("x", 1), rdd.KV("y", 2), rdd.KV("x", 3)}, 2)
	groups, _ := rdd.GroupByKey(pairs).Collect(context.Background())
	for _, g := range groups {
		slices.Sort(g.Value)
	}
	fmt.Println(sortedStrings(groups))
	// Output: [(x,[1 3]) (y,[2])]
}

func ExampleJoin() {
	ages := rdd.Parallelize([]rdd.Pair[string, int]{rdd.KV("ann", 31), rdd.KV("bob", 42)}, 2)
	towns := rdd.Parallelize([]rdd.Pair[string, string]{rdd.KV("ann", "Oslo"), rdd.KV("cid", "Rome")}, 1)
	joined, _ := rdd.Join(ages, towns).Collect(context.Background())
	fmt.Println(joined)
	left, _ := rdd.LeftOuterJoin(ages, towns).Collect(context.Background())
	fmt.Println(sortedStrings(left))
	// Output:
	// [(ann,(31,Oslo))]
	// [(ann,(31,Some(Oslo))) (bob,(42,None))]
}

func ExampleRDD_Collect() {
	r := rdd.Parallelize([]string{"a", "b", "c"}, 3)
	xs, err := r.Collect(context.Background())
	fmt.Println(xs, err)
	// Output: [a b c] <nil>
}

// All ranges over the elements a partition at a time, as Spark's
// toLocalIterator: only the partitions reached are computed.
func ExampleRDD_All() {
	r := rdd.Parallelize([]string{"a", "b", "c", "d"}, 2)
	for x, err := range r.All(context.Background()) {
		if err != nil {
			fmt.Println("error:", err)
			break
		}
		fmt.Println(x)
		if x == "c" {
			break
		}
	}
	// Output:
	// a
	// b
	// c
}

func ExampleRDD_Count() {
	n, _ := rdd.Parallelize([]int{5, 6, 7}, 2).Count(context.Background())
	fmt.Println(n)
	// Output: 3
}

func ExampleRDD_Reduce() {
	ctx := context.Background()
	sum, _ := rdd.Parallelize([]int{1, 2, 3, 4}, 2).Reduce(ctx, func(a, b int) int { return a + b })
	fmt.Println(sum)
	_, err := rdd.Empty[int]().Reduce(ctx, func(a, b int) int { return a + b })
	fmt.Println(errors.Is(err, rdd.ErrEmpty))
	// Output:
	// 10
	// true
}

func ExampleRDD_Take() {
	first, _ := rdd.Parallelize([]int{10, 20, 30, 40}, 4).Take(context.Background(), 2)
	fmt.Println(first)
	// Output: [10 20]
}

func ExampleSortBy() {
	words := rdd.Parallelize([]string{"pear", "fig", "banana", "kiwi"}, 2)
	byLength := rdd.SortBy(words, func(w string) int { return len(w) }, true, 2)
	xs, _ := byLength.Collect(context.Background())
	fmt.Println(xs)
	// Output: [fig pear kiwi banana]
}

func ExampleSortByKey() {
	pairs := rdd.Parallelize([]rdd.Pair[int, string]{rdd.KV(3, "c"), rdd.KV(1, "a"), rdd.KV(2, "b")}, 2)
	xs, _ := rdd.SortByKey(pairs, false, 2).Collect(context.Background())
	fmt.Println(xs)
	// Output: [(3,c) (2,b) (1,a)]
}

func ExampleRDD_SaveAsTextFile() {
	tmp, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "counts")
	pairs := rdd.Parallelize([]rdd.Pair[string, int]{rdd.KV("a", 1), rdd.KV("b", 2)}, 2)
	if err := pairs.SaveAsTextFile(context.Background(), dir); err != nil {
		fmt.Println(err)
	}
	lines, _ := rdd.TextFile(dir, 1).Collect(context.Background())
	fmt.Println(lines)
	// Output: [(a,1) (b,2)]
}

func ExampleObjectFile() {
	tmp, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "pairs")
	pairs := rdd.Parallelize([]rdd.Pair[string, float64]{rdd.KV("pi", 3.14), rdd.KV("e", 2.72)}, 2)
	if err := pairs.SaveAsObjectFile(context.Background(), dir); err != nil {
		fmt.Println(err)
	}
	back, _ := rdd.ObjectFile[rdd.Pair[string, float64]](dir, 1).Collect(context.Background())
	fmt.Println(back)
	// Output: [(pi,3.14) (e,2.72)]
}

func ExampleAggregate() {
	nums := rdd.Parallelize([]int{3, 1, 4, 1, 5}, 2)
	type stats struct{ sum, n int }
	s, _ := rdd.Aggregate(context.Background(), nums, stats{},
		func(s stats, x int) stats { return stats{s.sum + x, s.n + 1} },
		func(a, b stats) stats { return stats{a.sum + b.sum, a.n + b.n} })
	fmt.Printf("mean %.1f\n", float64(s.sum)/float64(s.n))
	// Output: mean 2.8
}

func ExampleCountByValue() {
	counts, _ := rdd.CountByValue(context.Background(), rdd.Parallelize([]string{"x", "y", "x"}, 2))
	fmt.Println(counts)
	// Output: map[x:2 y:1]
}

func ExampleTaskError() {
	nums := rdd.Parallelize([]int{1, 2, 0}, 3)
	inverse := rdd.Map(nums, func(x int) int { return 100 / x })
	_, err := inverse.Collect(context.Background())
	var te *rdd.TaskError
	if errors.As(err, &te) {
		fmt.Println(te.Op, te.Partition, errors.Is(err, rdd.ErrUserPanic))
	}
	// Output: Map 2 true
}
