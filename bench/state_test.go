package bench

import (
	stdctx "context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
)

// stateUpdates is the number of records (random existing keys) per batch of
// the state benchmark.
const stateUpdates = 10_000

// statePipeline is queue → MapWithState or UpdateStateByKey over int64 keys
// → foreachRDD counting the output, on a manual clock, with the state
// prefilled with keys 0..keys-1 through the initial-state RDD in an untimed
// first batch.
type statePipeline struct {
	h       *dstreamtest.Harness
	q       *context.Queue[rdd.Pair[int64, int64]]
	batches [][]rdd.Pair[int64, int64]
	i       int
}

func newStatePipeline(tb testing.TB, op string, keys int) *statePipeline {
	s := &statePipeline{h: dstreamtest.NewHarness(tb, time.Second), q: context.NewQueue[rdd.Pair[int64, int64]]()}
	in := context.QueueStream(s.h.Context(), s.q, true, nil)
	initial := make([]rdd.Pair[int64, int64], keys)
	for i := range initial {
		initial[i] = rdd.KV(int64(i), int64(1))
	}
	initRDD := rdd.Parallelize(initial, dstreamtest.Partitions)
	count := func(ctx stdctx.Context, r *rdd.RDD[int64], _ time.Time) error {
		_, err := r.Count(ctx)
		return err
	}
	switch op {
	case "MapWithState":
		spec := dstream.StateSpecFunc(func(_ time.Time, _ int64, v rdd.Option[int64], st *dstream.State[int64]) rdd.Option[int64] {
			n := st.GetOption().Value + v.Value
			st.Update(n)
			return rdd.Some(n)
		}).InitialState(initRDD)
		dstream.MapWithState(in, spec).ForeachRDD(count)
	case "UpdateStateByKey":
		st := dstream.UpdateStateByKey(in, func(vs []int64, st rdd.Option[int64]) rdd.Option[int64] {
			for _, v := range vs {
				st.Value += v
			}
			return st
		}, dstream.WithInitialState(initRDD))
		dstream.Map(st, func(p rdd.Pair[int64, int64]) int64 { return p.Value }).ForeachRDD(count)
	default:
		tb.Fatalf("unknown op %q", op)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	s.batches = make([][]rdd.Pair[int64, int64], 16)
	for i := range s.batches {
		s.batches[i] = make([]rdd.Pair[int64, int64], stateUpdates)
		for j := range s.batches[i] {
			s.batches[i][j] = rdd.KV(rng.Int64N(int64(keys)), int64(1))
		}
	}
	s.h.Start()
	s.h.Step() // loads the initial state
	return s
}

func (s *statePipeline) step() {
	s.q.PushSlice(s.batches[s.i%len(s.batches)], dstreamtest.Partitions)
	s.h.Step()
	s.i++
}

// BenchmarkState times one batch of 10,000 records with random existing
// keys over a state of 10k, 1M and 10M int64 keys. MapWithState touches
// only the batch's keys, so its time per batch should not grow with the
// state (target: 10M within 1.5x of 10k, measured by the interleaved case,
// each half timed with a runtime.GC() after it);
// UpdateStateByKey visits every key every batch, so it grows linearly. It
// runs at 10k and 1M only: at 10M one batch is a 10M-entry map iteration
// (several seconds here) and adds nothing the 1M figure does not say.
func BenchmarkState(b *testing.B) {
	for _, tc := range []struct {
		op   string
		keys int
	}{
		{"MapWithState", 10_000},
		{"MapWithState", 1_000_000},
		{"MapWithState", 10_000_000},
		{"UpdateStateByKey", 10_000},
		{"UpdateStateByKey", 1_000_000},
	} {
		b.Run(fmt.Sprintf("%s/keys=%d", tc.op, tc.keys), func(b *testing.B) {
			s := newStatePipeline(b, tc.op, tc.keys)
			s.step()
			b.ResetTimer()
			for range b.N {
				s.step()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/batch")
			b.ReportMetric(stateUpdates*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			s.h.Stop()
		})
	}
	b.Run("MapWithState/interleaved", func(b *testing.B) {
		small, large := newStatePipeline(b, "MapWithState", 10_000), newStatePipeline(b, "MapWithState", 10_000_000)
		small.step()
		large.step()
		b.ResetTimer()
		var ts, tl time.Duration
		for range b.N {
			start := time.Now()
			small.step()
			runtime.GC()
			mid := time.Now()
			large.step()
			runtime.GC()
			ts, tl = ts+mid.Sub(start), tl+time.Since(mid)
		}
		b.ReportMetric(float64(ts.Nanoseconds())/float64(b.N), "keys10k-ns/batch")
		b.ReportMetric(float64(tl.Nanoseconds())/float64(b.N), "keys10M-ns/batch")
		b.ReportMetric(tl.Seconds()/ts.Seconds(), "keys10M/keys10k")
	})
}
