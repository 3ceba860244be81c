package dstream_test

import (
	stdctx "context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/rdd"
)

// printEachBatch prints every batch of d with its time, the elements
// formatted and sorted: the order within a batch is unspecified.
func printEachBatch[T any](d dstream.DStream[T]) {
	d.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[T], batchTime time.Time) error {
		xs, err := r.Collect(ctx)
		lines := make([]string, len(xs))
		for i, x := range xs {
			lines[i] = rdd.Format(x)
		}
		slices.Sort(lines)
		fmt.Println(dstream.FormatTime(batchTime), lines)
		return err
	})
}

// LeftOuterJoin keeps every key of the left stream; the right side is None
// where the right stream's batch lacks the key.
func ExampleLeftOuterJoin() {
	ssc, _ := context.NewStreamingContext(time.Second, context.WithClock(context.NewManualClock(time.Time{})))
	clicks, views := context.NewQueue[rdd.Pair[string, int]](), context.NewQueue[rdd.Pair[string, string]]()
	clicks.PushSlice([]rdd.Pair[string, int]{rdd.KV("ad1", 3), rdd.KV("ad2", 1)}, 2)
	views.PushSlice([]rdd.Pair[string, string]{rdd.KV("ad1", "home"), rdd.KV("ad3", "news")}, 1)
	joined := dstream.LeftOuterJoin(context.QueueStream(ssc, clicks, true), context.QueueStream(ssc, views, true))
	printEachBatch(joined)
	_ = ssc.Start()
	_ = ssc.Stop(true)
	// Output:
	// 1000 ms [(ad1,(3,Some(home))) (ad2,(1,None))]
}

// FullOuterJoin keeps every key of either stream, with None on the side
// whose batch lacks it.
func ExampleFullOuterJoin() {
	ssc, _ := context.NewStreamingContext(time.Second, context.WithClock(context.NewManualClock(time.Time{})))
	clicks, views := context.NewQueue[rdd.Pair[string, int]](), context.NewQueue[rdd.Pair[string, string]]()
	clicks.PushSlice([]rdd.Pair[string, int]{rdd.KV("ad1", 3), rdd.KV("ad2", 1)}, 2)
	views.PushSlice([]rdd.Pair[string, string]{rdd.KV("ad1", "home"), rdd.KV("ad3", "news")}, 1)
	joined := dstream.FullOuterJoin(context.QueueStream(ssc, clicks, true), context.QueueStream(ssc, views, true))
	printEachBatch(joined)
	_ = ssc.Start()
	_ = ssc.Stop(true)
	// Output:
	// 1000 ms [(ad1,(Some(3),Some(home))) (ad2,(Some(1),None)) (ad3,(None,Some(news)))]
}

// Cogroup gathers, batch by batch, every value of each key in either
// stream; a key missing from one side has an empty group there. The order
// within a group is unspecified, so the groups are sorted before printing.
func ExampleCogroup() {
	ssc, _ := context.NewStreamingContext(time.Second, context.WithClock(context.NewManualClock(time.Time{})))
	clicks, views := context.NewQueue[rdd.Pair[string, int]](), context.NewQueue[rdd.Pair[string, string]]()
	clicks.PushSlice([]rdd.Pair[string, int]{rdd.KV("ad1", 3), rdd.KV("ad1", 1), rdd.KV("ad2", 5)}, 2)
	clicks.PushSlice([]rdd.Pair[string, int]{rdd.KV("ad2", 2)}, 1)
	views.PushSlice([]rdd.Pair[string, string]{rdd.KV("ad1", "news"), rdd.KV("ad1", "home")}, 1)
	groups := dstream.Cogroup(context.QueueStream(ssc, clicks, true), context.QueueStream(ssc, views, true))
	sorted := dstream.MapValues(groups, func(g rdd.CoGrouped[int, string]) rdd.CoGrouped[int, string] {
		slices.Sort(g.Left)
		slices.Sort(g.Right)
		return g
	})
	printEachBatch(sorted)
	_ = ssc.Start()
	_ = ssc.Stop(true) // runs a batch for each queued input
	// Output:
	// 1000 ms [(ad1,([1 3],[home news])) (ad2,([5],[]))]
	// 2000 ms [(ad2,([2],[]))]
}

// CountByValueAndWindow counts each element over the last 2 batches, every
// batch. It is maintained incrementally (the batch leaving the window is
// subtracted), so, as in Spark, it needs a checkpoint directory; an element
// whose count drops to 0 leaves the output.
func ExampleCountByValueAndWindow() {
	ssc, _ := context.NewStreamingContext(time.Second, context.WithClock(context.NewManualClock(time.Time{})))
	dir, _ := os.MkdirTemp("", "example-checkpoint-")
	defer os.RemoveAll(dir)
	_ = ssc.Checkpoint(dir)
	q := context.NewQueue[string]()
	q.PushSlice([]string{"a", "b", "a"}, 2)
	q.PushSlice([]string{"b"}, 1)
	q.PushSlice(nil, 1)

	counts := dstream.CountByValueAndWindow(context.QueueStream(ssc, q, true), 2*time.Second, time.Second)
	printEachBatch(counts)
	_ = ssc.Start()
	_ = ssc.Stop(true)
	// Output:
	// 1000 ms [(a,2) (b,1)]
	// 2000 ms [(a,2) (b,2)]
	// 3000 ms [(b,1)]
}

// ReduceByWindow sums the elements of the last 2 batches, every batch.
// With an inverse the window is maintained incrementally, which needs a
// checkpoint directory, and once it has seen an element it yields a value
// at every slide: 0 for a window without elements.
func ExampleDStream_ReduceByWindow() {
	ssc, _ := context.NewStreamingContext(time.Second, context.WithClock(context.NewManualClock(time.Time{})))
	dir, _ := os.MkdirTemp("", "example-checkpoint-")
	defer os.RemoveAll(dir)
	_ = ssc.Checkpoint(dir)
	q := context.NewQueue[int]()
	for _, batch := range [][]int{{1, 2}, {3}, nil, nil} {
		q.PushSlice(batch, 1)
	}

	add, sub := func(a, b int) int { return a + b }, func(a, b int) int { return a - b }
	sums := context.QueueStream(ssc, q, true).ReduceByWindow(add, 2*time.Second, time.Second, dstream.WithInverse(sub))
	printEachBatch(sums)
	_ = ssc.Start()
	_ = ssc.Stop(true)
	// Output:
	// 1000 ms [3]
	// 2000 ms [6]
	// 3000 ms [3]
	// 4000 ms [0]
}

// Repartition spreads each batch evenly over n partitions, through a
// shuffle, for more parallelism downstream than the input has.
func ExampleDStream_Repartition() {
	ssc, _ := context.NewStreamingContext(time.Second, context.WithClock(context.NewManualClock(time.Time{})))
	q := context.NewQueue[int]()
	q.PushSlice([]int{1, 2, 3, 4, 5, 6, 7}, 1)

	spread := context.QueueStream(ssc, q, true).Repartition(3)
	dstream.Glom(spread).ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[[]int], batchTime time.Time) error {
		parts, err := r.Collect(ctx)
		var sizes []int
		for _, p := range parts {
			sizes = append(sizes, len(p))
		}
		slices.Sort(sizes)
		fmt.Println(dstream.FormatTime(batchTime), "partition sizes", sizes)
		return err
	})
	_ = ssc.Start()
	_ = ssc.Stop(true)
	// Output:
	// 1000 ms partition sizes [2 2 3]
}

// Union merges streams of one type batch by batch, Spark's
// StreamingContext.union, e.g. to process several receivers as one stream.
func ExampleUnion() {
	ssc, _ := context.NewStreamingContext(time.Second, context.WithClock(context.NewManualClock(time.Time{})))
	var streams []dstream.DStream[string]
	for _, words := range [][]string{{"a", "b"}, {"c"}, {"a"}} {
		q := context.NewQueue[string]()
		q.PushSlice(words, 1)
		streams = append(streams, context.QueueStream(ssc, q, true))
	}
	all := dstream.Union(streams[0], streams[1:]...)
	printEachBatch(all)
	_ = ssc.Start()
	_ = ssc.Stop(true)
	// Output:
	// 1000 ms [a a b c]
}

// SaveAsTextFiles writes each batch to the directory
// "<prefix>-<TIME_IN_MS>.<suffix>": one part file per partition, one
// element per line, and a _SUCCESS marker once the batch is written whole.
func ExampleDStream_SaveAsTextFiles() {
	dir, _ := os.MkdirTemp("", "example-save-")
	defer os.RemoveAll(dir)
	ssc, _ := context.NewStreamingContext(time.Second, context.WithClock(context.NewManualClock(time.Time{})))
	q := context.NewQueue[string]()
	q.PushSlice([]string{"a", "b", "c"}, 2)
	q.PushSlice([]string{"d"}, 1)
	upper := dstream.Map(context.QueueStream(ssc, q, true), strings.ToUpper)
	upper.SaveAsTextFiles(filepath.Join(dir, "letters"), "txt")
	_ = ssc.Start()
	_ = ssc.Stop(true)

	files, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
	slices.Sort(files)
	for _, f := range files {
		data, _ := os.ReadFile(f)
		rel, _ := filepath.Rel(dir, f)
		fmt.Printf("%s %q\n", filepath.ToSlash(rel), data)
	}
	// Output:
	// letters-1000.txt/_SUCCESS ""
	// letters-1000.txt/part-00000 "A\n"
	// letters-1000.txt/part-00001 "B\nC\n"
	// letters-2000.txt/_SUCCESS ""
	// letters-2000.txt/part-00000 "D\n"
}

// CountByValue counts each distinct element of every batch.
func ExampleCountByValue() {
	ssc, _ := context.NewStreamingContext(time.Second, context.WithClock(context.NewManualClock(time.Time{})))
	q := context.NewQueue[string]()
	q.PushSlice([]string{"GET", "POST", "GET", "GET"}, 2)
	q.PushSlice([]string{"PUT"}, 1)
	printEachBatch(dstream.CountByValue(context.QueueStream(ssc, q, true)))
	_ = ssc.Start()
	_ = ssc.Stop(true)
	// Output:
	// 1000 ms [(GET,3) (POST,1)]
	// 2000 ms [(PUT,1)]
}

// GroupByKey gathers the values of each key within each batch. The order
// of values within a group is unspecified: sort them when it matters (and
// prefer ReduceByKey when the values are to be aggregated).
func ExampleGroupByKey() {
	ssc, _ := context.NewStreamingContext(time.Second, context.WithClock(context.NewManualClock(time.Time{})))
	q := context.NewQueue[rdd.Pair[string, int]]()
	q.PushSlice([]rdd.Pair[string, int]{rdd.KV("eu", 3), rdd.KV("us", 1), rdd.KV("eu", 2), rdd.KV("eu", 5)}, 2)
	groups := dstream.GroupByKey(context.QueueStream(ssc, q, true))
	sorted := dstream.MapValues(groups, func(vs []int) []int { slices.Sort(vs); return vs })
	printEachBatch(sorted)
	_ = ssc.Start()
	_ = ssc.Stop(true)
	// Output:
	// 1000 ms [(eu,[2 3 5]) (us,[1])]
}

// TransformWith combines the two streams' RDDs of each batch with any RDD
// operations, Spark's transformWith: here the clicks of the users not in
// the same batch of the blocklist stream.
func ExampleTransformWith() {
	ssc, _ := context.NewStreamingContext(time.Second, context.WithClock(context.NewManualClock(time.Time{})))
	clicks, blocked := context.NewQueue[rdd.Pair[string, int]](), context.NewQueue[string]()
	clicks.PushSlice([]rdd.Pair[string, int]{rdd.KV("ann", 3), rdd.KV("bob", 1), rdd.KV("eve", 7)}, 2)
	blocked.PushSlice([]string{"eve"}, 1)
	allowed := dstream.TransformWith(context.QueueStream(ssc, clicks, true), context.QueueStream(ssc, blocked, true),
		func(c *rdd.RDD[rdd.Pair[string, int]], b *rdd.RDD[string], _ time.Time) *rdd.RDD[rdd.Pair[string, int]] {
			blocks := rdd.Map(b, func(user string) rdd.Pair[string, bool] { return rdd.KV(user, true) })
			joined := rdd.LeftOuterJoin(c, blocks)
			kept := rdd.Filter(joined, func(p rdd.Pair[string, rdd.Joined[int, rdd.Option[bool]]]) bool { return !p.Value.Right.Valid })
			return rdd.MapValues(kept, func(j rdd.Joined[int, rdd.Option[bool]]) int { return j.Left })
		})
	printEachBatch(allowed)
	_ = ssc.Start()
	_ = ssc.Stop(true)
	// Output:
	// 1000 ms [(ann,3) (bob,1)]
}
