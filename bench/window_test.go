package bench

import (
	stdctx "context"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
)

// windowKeys is the number of keys of each batch of the window benchmark:
// every batch carries every key once.
const windowKeys = 100_000

// windowPipeline is queue → ReduceByKeyAndWindow (slide one batch) →
// foreachRDD counting the window's keys, on a manual clock, with the window
// already full.
type windowPipeline struct {
	h    *dstreamtest.Harness
	q    *context.Queue[rdd.Pair[int, int]]
	data []rdd.Pair[int, int]
	keys int64 // keys in the last window
	// interval is the number of batches between data checkpoints (the
	// inverse window's default interval: 10 one-second batches), or 1
	// without checkpoints.
	interval int
	batch    int // batches stepped
}

func newWindowPipeline(tb testing.TB, batches int, inverse bool) *windowPipeline {
	w := &windowPipeline{h: dstreamtest.NewHarness(tb, time.Second), q: context.NewQueue[rdd.Pair[int, int]]()}
	w.data = make([]rdd.Pair[int, int], windowKeys)
	for i := range w.data {
		w.data[i] = rdd.KV(i, 1)
	}
	var opts []dstream.Option
	if inverse {
		opts = append(opts, dstream.WithInverse(func(a, b int) int { return a - b }))
	}
	in := context.QueueStream(w.h.Context(), w.q, true)
	win := dstream.ReduceByKeyAndWindow(in, func(a, b int) int { return a + b }, time.Duration(batches)*time.Second, time.Second, opts...)
	win.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[rdd.Pair[int, int]], _ time.Time) error {
		n, err := r.Count(ctx)
		w.keys = n
		return err
	})
	w.h.Start()
	w.interval = 1
	if ci := win.CheckpointInterval(); ci > 0 {
		w.interval = int(ci / time.Second)
	}
	for range batches + 1 { // fill the window
		w.step()
	}
	// Up to a data checkpoint, written: the timed ops start from rest.
	for w.batch%w.interval != 0 {
		w.step()
	}
	w.awaitCheckpoint()
	return w
}

func (w *windowPipeline) step() {
	w.q.PushSlice(w.data, dstreamtest.Partitions)
	w.h.Step()
	w.batch++
}

// op runs one data checkpoint interval of batches and waits until the
// checkpoint is written, so every op does the same checkpoint work and
// pays for it, asynchronous writes included.
func (w *windowPipeline) op() {
	for range w.interval {
		w.step()
	}
	w.awaitCheckpoint()
}

func (w *windowPipeline) awaitCheckpoint() {
	if w.h.Context().CheckpointDir() != "" {
		w.h.AwaitCheckpoint()
	}
}

func (w *windowPipeline) check(tb testing.TB) {
	if w.keys != windowKeys {
		tb.Fatalf("the window holds %d keys, want %d", w.keys, windowKeys)
	}
}

// BenchmarkWindow times ReduceByKeyAndWindow in steady state, a windowed
// sum over 100,000 keys, every key in every batch, for windows of 2, 10 and
// 60 batches, with and without the inverse function, and reports the time
// per batch (slide). With the inverse a batch adds the new batch and
// subtracts the one leaving, so its time should not depend on the window;
// without it, it grows with the window. An op is one data checkpoint
// interval (10 batches) ending with its checkpoint durable: the inverse
// window checkpoints by default (as in Spark), and its checkpoint's cost
// is part of the figure. The interleaved case alternates an op of the
// 60-batch and of the 2-batch window with the inverse and reports their
// ratio (target ≤ 1.3), each timed with a runtime.GC() after it, so each
// is charged for collecting its own garbage.
func BenchmarkWindow(b *testing.B) {
	for _, inverse := range []bool{true, false} {
		for _, batches := range []int{2, 10, 60} {
			b.Run(fmt.Sprintf("inverse=%v/window=%d", inverse, batches), func(b *testing.B) {
				w := newWindowPipeline(b, batches, inverse)
				b.ResetTimer()
				for range b.N {
					w.op()
				}
				b.StopTimer()
				w.check(b)
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*w.interval), "ns/batch")
				w.h.Stop()
			})
		}
	}
	b.Run("inverse=true/interleaved", func(b *testing.B) {
		short, long := newWindowPipeline(b, 2, true), newWindowPipeline(b, 60, true)
		ts, tl := interleave(b, short.op, long.op, true)
		b.StopTimer()
		short.check(b)
		long.check(b)
		b.ReportMetric(float64(ts.Nanoseconds())/float64(b.N*short.interval), "window2-ns/batch")
		b.ReportMetric(float64(tl.Nanoseconds())/float64(b.N*long.interval), "window60-ns/batch")
		b.ReportMetric(tl.Seconds()/ts.Seconds(), "window60/window2")
	})
}
