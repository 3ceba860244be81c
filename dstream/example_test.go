package dstream_test

import (
	stdctx "context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/rdd"
)

// A word count on a manual clock: two batches of lines are queued, and a
// graceful Stop runs a batch for each without the clock moving.
func Example() {
	ssc, err := context.NewStreamingContext(time.Second, context.WithClock(context.NewManualClock(time.Time{})))
	if err != nil {
		panic(err)
	}
	q := context.NewQueue[string]()
	q.PushSlice([]string{"to be or", "not to be"}, 2)
	q.PushSlice([]string{"be quick"}, 1)

	lines := context.QueueStream(ssc, q, true)
	words := dstream.FlatMap(lines, strings.Fields)
	pairs := dstream.Map(words, func(w string) rdd.Pair[string, int] { return rdd.KV(w, 1) })
	counts := dstream.ReduceByKey(pairs, func(a, b int) int { return a + b })
	sorted := dstream.Transform(counts, func(r *rdd.RDD[rdd.Pair[string, int]]) *rdd.RDD[rdd.Pair[string, int]] {
		return rdd.SortByKey(r, true, 1)
	})
	sorted.Print(10)

	if err := ssc.Start(); err != nil {
		panic(err)
	}
	if err := ssc.Stop(true); err != nil {
		panic(err)
	}
	// Output:
	// -------------------------------------------
	// Time: 1000 ms
	// -------------------------------------------
	// (be,2)
	// (not,1)
	// (or,1)
	// (to,2)
	//
	// -------------------------------------------
	// Time: 2000 ms
	// -------------------------------------------
	// (be,1)
	// (quick,1)
}

// ForeachRDD runs any action on each batch's RDD, with the batch time.
func ExampleDStream_ForeachRDD() {
	ssc, _ := context.NewStreamingContext(time.Second, context.WithClock(context.NewManualClock(time.Time{})))
	q := context.NewQueue[int]()
	q.PushSlice([]int{3, 1, 2}, 2)
	q.PushSlice([]int{}, 1)
	q.PushSlice([]int{5}, 1)

	squares := dstream.Map(context.QueueStream(ssc, q, true), func(x int) int { return x * x })
	squares.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[int], batchTime time.Time) error {
		xs, err := r.Collect(ctx)
		if err != nil {
			return err
		}
		slices.Sort(xs)
		fmt.Println(dstream.FormatTime(batchTime), xs)
		return nil
	})
	_ = ssc.Start()
	_ = ssc.Stop(true)
	// Output:
	// 1000 ms [1 4 9]
	// 2000 ms []
	// 3000 ms [25]
}

// Count gives one element per batch, 0 for an empty batch; Reduce gives
// none for an empty batch.
func ExampleDStream_Count() {
	ssc, _ := context.NewStreamingContext(time.Second, context.WithClock(context.NewManualClock(time.Time{})))
	q := context.NewQueue[int]()
	q.PushSlice([]int{1, 2, 3}, 2)
	q.PushSlice(nil, 1)
	in := context.QueueStream(ssc, q, true)
	in.Count().ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[int64], t time.Time) error {
		n, err := r.Collect(ctx)
		fmt.Println(dstream.FormatTime(t), "count", n)
		return err
	})
	_ = ssc.Start()
	_ = ssc.Stop(true)
	// Output:
	// 1000 ms count [3]
	// 2000 ms count [0]
}

// Join pairs the values of each key present in both streams, batch by batch.
func ExampleJoin() {
	ssc, _ := context.NewStreamingContext(time.Second, context.WithClock(context.NewManualClock(time.Time{})))
	clicks, views := context.NewQueue[rdd.Pair[string, int]](), context.NewQueue[rdd.Pair[string, string]]()
	clicks.PushSlice([]rdd.Pair[string, int]{rdd.KV("ad1", 3), rdd.KV("ad2", 1)}, 1)
	views.PushSlice([]rdd.Pair[string, string]{rdd.KV("ad1", "home")}, 1)
	joined := dstream.Join(context.QueueStream(ssc, clicks, true), context.QueueStream(ssc, views, true))
	joined.Print(10)
	_ = ssc.Start()
	_ = ssc.Stop(true)
	// Output:
	// -------------------------------------------
	// Time: 1000 ms
	// -------------------------------------------
	// (ad1,(3,home))
}
