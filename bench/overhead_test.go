// Package bench holds benchmarks of Sluice as a whole.
package bench

import (
	stdctx "context"
	"testing"
	"time"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
)

// pipeline is the benchmarked pipeline: map → reduceByKey → foreachRDD
// counting the result, so every batch runs a shuffle.
func pipeline(in dstream.DStream[int], sink *int64) {
	pairs := dstream.Map(in, func(x int) rdd.Pair[int, int] { return rdd.KV(x%100, 1) })
	counts := dstream.ReduceByKey(pairs, func(a, b int) int { return a + b })
	counts.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[rdd.Pair[int, int]], _ time.Time) error {
		n, err := r.Count(ctx)
		*sink += n
		return err
	})
}

// BenchmarkBatchOverhead measures the cost of one batch of
// queue → map → reduceByKey → foreachRDD, on empty batches and on batches of
// 1,000 records, two ways:
//
//   - harness: through a StreamingContext on a manual clock, stepped with
//     dstreamtest.Harness.Step; this includes the job generator and job
//     runner goroutines, the listener bus and the harness's channel hop.
//   - graph: the same graph driven in a loop (GenerateJobs, Run,
//     ClearMetadata) on the calling goroutine: the cost of the DStream and
//     RDD machinery alone.
func BenchmarkBatchOverhead(b *testing.B) {
	records := make([]int, 1000)
	for i := range records {
		records[i] = i
	}
	for _, size := range []struct {
		name string
		data []int
	}{{"empty", nil}, {"1000records", records}} {
		b.Run("harness/"+size.name, func(b *testing.B) {
			h := dstreamtest.NewHarness(b, time.Second)
			q := context.NewQueue[int]()
			var sink int64
			pipeline(context.QueueStream(h.Context(), q, true), &sink)
			h.Start()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if size.data != nil {
					q.PushSlice(size.data, dstreamtest.Partitions)
				}
				h.Step()
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/batch")
			h.Stop()
		})
		b.Run("graph/"+size.name, func(b *testing.B) {
			g := dstream.NewGraph(time.Second, nil)
			data := size.data
			in := dstream.NewInputStream(g, "QueueInputStream", dstream.SourceFunc[int](func(time.Time) (*rdd.RDD[int], int64, error) {
				if data == nil {
					return rdd.Empty[int](), 0, nil
				}
				return rdd.Parallelize(data, dstreamtest.Partitions), int64(len(data)), nil
			}))
			var sink int64
			pipeline(in, &sink)
			zero := time.UnixMilli(0)
			if err := g.Start(zero); err != nil {
				b.Fatal(err)
			}
			ctx := rdd.WithExecutor(stdctx.Background(), rdd.NewExecutor(0))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				t := zero.Add(time.Duration(i+1) * time.Second)
				jobs, _, err := g.GenerateJobs(t)
				if err != nil {
					b.Fatal(err)
				}
				for _, j := range jobs {
					if err := j.Run(ctx); err != nil {
						b.Fatal(err)
					}
				}
				g.ClearMetadata(t)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/batch")
		})
	}
}
