package context_test

import (
	stdctx "context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
)

// BenchmarkCheckpointBatchTime measures the time of a batch (one op) of a
// 1,000,000-key MapWithState with 10,000 updates per batch, with
// checkpointing off (no checkpoint written at all), on at Spark's default
// interval (a data checkpoint every 10 batches, metadata every batch) and
// on with a data checkpoint every batch, so that every batch runs while
// the previous checkpoint is being written. The snapshot is taken on the
// batch path (each partition hands over its set of changed keys), encoded
// and written off it.
func BenchmarkCheckpointBatchTime(b *testing.B) {
	const keys, updates = 1_000_000, 10_000
	initial := make([]rdd.Pair[int, int64], keys)
	for i := range initial {
		initial[i] = rdd.KV(i, int64(i))
	}
	for _, mode := range []struct {
		name     string
		write    bool
		interval time.Duration
	}{{"off", false, 0}, {"on/every-10-batches", true, 0}, {"on/every-batch", true, time.Second}} {
		b.Run(mode.name, func(b *testing.B) {
			h := dstreamtest.NewHarness(b, time.Second)
			ssc := h.Context()
			if err := ssc.Checkpoint(b.TempDir()); err != nil {
				b.Fatal(err)
			}
			q := context.NewQueue[rdd.Pair[int, int64]]()
			in := context.QueueStream(ssc, q, true)
			spec := dstream.StateSpecFunc(func(_ time.Time, k int, v rdd.Option[int64], s *dstream.State[int64]) rdd.Option[int64] {
				s.Update(s.Get() + v.Value)
				return rdd.None[int64]()
			}).InitialState(rdd.Parallelize(initial, 8)).NumPartitions(8)
			st := dstream.MapWithState(in, spec)
			if mode.interval != 0 {
				st.Checkpoint(mode.interval)
			}
			st.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[int64], _ time.Time) error { _, err := r.Count(ctx); return err })
			if !mode.write {
				context.WithoutCheckpointWrites(ssc)
			}
			h.Start()
			rng := rand.New(rand.NewPCG(1, 2))
			q.PushSlice(nil, 1)
			h.Step() // loads the initial state (and takes the first, full, checkpoint)
			for b.Loop() {
				b.StopTimer()
				recs := make([]rdd.Pair[int, int64], updates)
				for i := range recs {
					recs[i] = rdd.KV(rng.IntN(keys), int64(1))
				}
				q.PushSlice(recs, 8)
				b.StartTimer()
				h.Step()
			}
			h.Stop()
		})
	}
}
