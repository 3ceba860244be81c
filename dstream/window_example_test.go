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

// Word counts over the last 2 batches, every batch. With
// dstream.WithInverse(sub) they would be maintained incrementally, which
// needs a checkpoint directory, as in Spark.
func ExampleReduceByKeyAndWindow() {
	ssc, _ := context.NewStreamingContext(time.Second, context.WithClock(context.NewManualClock(time.Time{})))
	q := context.NewQueue[string]()
	q.PushSlice([]string{"a", "b"}, 1)
	q.PushSlice([]string{"a"}, 1)
	q.PushSlice([]string{"b"}, 1)

	pairs := dstream.Map(context.QueueStream(ssc, q, true), func(w string) rdd.Pair[string, int] { return rdd.KV(w, 1) })
	add := func(a, b int) int { return a + b }
	counts := dstream.ReduceByKeyAndWindow(pairs, add, 2*time.Second, time.Second)
	counts.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[rdd.Pair[string, int]], batchTime time.Time) error {
		xs, err := r.Collect(ctx)
		slices.SortFunc(xs, func(a, b rdd.Pair[string, int]) int { return strings.Compare(a.Key, b.Key) })
		fmt.Println(dstream.FormatTime(batchTime), xs)
		return err
	})
	_ = ssc.Start()
	_ = ssc.Stop(true) // runs a batch for each queued input
	// Output:
	// 1000 ms [(a,1) (b,1)]
	// 2000 ms [(a,2) (b,1)]
	// 3000 ms [(a,1) (b,1)]
}

// A window of the last 3 batches, every 2 batches: the first window is
// partial, starting at the first batch, and the graceful stop runs batches
// up to the window that holds the last input.
func ExampleDStream_Window() {
	ssc, _ := context.NewStreamingContext(time.Second, context.WithClock(context.NewManualClock(time.Time{})))
	q := context.NewQueue[int]()
	for i := 1; i <= 5; i++ {
		q.PushSlice([]int{i}, 1)
	}
	windows := context.QueueStream(ssc, q, true).Window(3*time.Second, 2*time.Second)
	windows.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[int], batchTime time.Time) error {
		xs, err := r.Collect(ctx)
		slices.Sort(xs)
		fmt.Println(dstream.FormatTime(batchTime), xs)
		return err
	})
	_ = ssc.Start()
	_ = ssc.Stop(true)
	// Output:
	// 2000 ms [1 2]
	// 4000 ms [2 3 4]
	// 6000 ms [4 5]
}
