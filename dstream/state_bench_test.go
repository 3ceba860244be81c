package dstream_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	sctx "github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
)

// BenchmarkStatefulBatch times one 1-second batch of 10,000 records with
// random keys over a state of 10k, 1M and 10M int64 keys. The state is
// prefilled through the initial-state RDD in an untimed first batch. One
// op is one batch: MapWithState's ns/op should not grow with the state;
// UpdateStateByKey visits every key every batch.
func BenchmarkStatefulBatch(b *testing.B) {
	const perBatch = 10_000
	for _, tc := range []struct {
		op   string
		keys int
	}{
		{"MapWithState", 10_000},
		{"MapWithState", 1_000_000},
		{"MapWithState", 10_000_000},
		{"UpdateStateByKey", 1_000_000},
	} {
		b.Run(fmt.Sprintf("%s/keys=%d", tc.op, tc.keys), func(b *testing.B) {
			h := dstreamtest.NewHarness(b, time.Second)
			q := sctx.NewQueue[rdd.Pair[int64, int64]]()
			in := sctx.QueueStream(h.Context(), q, true, nil)
			initial := make([]rdd.Pair[int64, int64], tc.keys)
			for i := range initial {
				initial[i] = rdd.KV(int64(i), int64(1))
			}
			initRDD := rdd.Parallelize(initial, dstreamtest.Partitions)
			initial = nil
			count := func(ctx context.Context, r *rdd.RDD[int64], _ time.Time) error {
				_, err := r.Count(ctx)
				return err
			}
			switch tc.op {
			case "MapWithState":
				spec := dstream.StateSpecFunc(func(_ time.Time, _ int64, v rdd.Option[int64], s *dstream.State[int64]) rdd.Option[int64] {
					n := s.GetOption().Value + v.Value
					s.Update(n)
					return rdd.Some(n)
				}).InitialState(initRDD)
				dstream.MapWithState(in, spec).ForeachRDD(count)
			case "UpdateStateByKey":
				st := dstream.UpdateStateByKey(in, func(vs []int64, s rdd.Option[int64]) rdd.Option[int64] {
					for _, v := range vs {
						s.Value += v
					}
					return s
				}, dstream.WithInitialState(initRDD))
				dstream.Map(st, func(p rdd.Pair[int64, int64]) int64 { return p.Value }).ForeachRDD(count)
			}
			initRDD = nil
			rng := rand.New(rand.NewPCG(1, 2))
			batches := make([][]rdd.Pair[int64, int64], 16)
			for i := range batches {
				batches[i] = make([]rdd.Pair[int64, int64], perBatch)
				for j := range batches[i] {
					batches[i][j] = rdd.KV(rng.Int64N(int64(tc.keys)), int64(1))
				}
			}
			h.Start()
			h.Step() // loads the initial state
			b.ResetTimer()
			i := 0
			for b.Loop() {
				q.PushSlice(batches[i%len(batches)], dstreamtest.Partitions)
				h.Step()
				i++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(i), "ns/batch")
		})
	}
}
