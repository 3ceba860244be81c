package dstream_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	sctx "github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
)

// BenchmarkReduceByKeyAndWindow measures the time of one batch in steady
// state (the window full) of a windowed sum over 100,000 keys, each batch
// carrying every key once, for windows of 2, 10 and 60 batches, with and
// without the inverse function. One op is one batch: push its input, step
// the clock, wait until the output has counted the window. With the inverse
// the time should not depend on the window's length; without it, it grows
// with it.
func BenchmarkReduceByKeyAndWindow(b *testing.B) {
	const keys = 100_000
	data := make([]rdd.Pair[int, int], keys)
	for i := range data {
		data[i] = rdd.KV(i, 1)
	}
	add := func(a, b int) int { return a + b }
	for _, inverse := range []bool{true, false} {
		for _, batches := range []int{2, 10, 60} {
			b.Run(fmt.Sprintf("inverse=%v/window=%d", inverse, batches), func(b *testing.B) {
				var opts []dstream.Option
				if inverse {
					opts = append(opts, dstream.WithInverse(func(a, b int) int { return a - b }))
				}
				h := dstreamtest.NewHarness(b, time.Second)
				q := sctx.NewQueue[rdd.Pair[int, int]]()
				in := sctx.QueueStream(h.Context(), q, true, nil)
				w := dstream.ReduceByKeyAndWindow(in, add, time.Duration(batches)*time.Second, time.Second, opts...)
				var windowKeys int64
				w.ForeachRDD(func(ctx context.Context, r *rdd.RDD[rdd.Pair[int, int]], _ time.Time) error {
					n, err := r.Count(ctx)
					windowKeys = n
					return err
				})
				h.Start()
				step := func() {
					q.PushSlice(data, dstreamtest.Partitions)
					h.Step()
				}
				for range batches + 1 { // fill the window
					step()
				}
				for b.Loop() {
					step()
				}
				b.StopTimer()
				if windowKeys != keys {
					b.Fatalf("the window holds %d keys, want %d", windowKeys, keys)
				}
				h.Stop()
			})
		}
	}
}
