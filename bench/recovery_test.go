package bench

import (
	stdctx "context"
	"testing"
	"time"

	"github.com/sluice-io/sluice/checkpoint"
	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/rdd"
)

// recoveryKeys is the size of the state BenchmarkRecovery restores.
const recoveryKeys = 1_000_000

// recoverySetup is a MapWithState over int64 keys whose initial state is
// keys 0..recoveryKeys-1, with a foreachRDD count.
func recoverySetup(ssc *context.StreamingContext) error {
	initial := make([]rdd.Pair[int64, int64], recoveryKeys)
	for i := range initial {
		initial[i] = rdd.KV(int64(i), int64(i))
	}
	spec := dstream.StateSpecFunc(func(_ time.Time, _ int64, v rdd.Option[int64], st *dstream.State[int64]) rdd.Option[int64] {
		st.Update(st.GetOption().Value + v.Value)
		return rdd.None[int64]()
	}).InitialState(rdd.Parallelize(initial, 4))
	in := context.QueueStream(ssc, context.NewQueue[rdd.Pair[int64, int64]](), true)
	dstream.MapWithState(in, spec).ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[int64], _ time.Time) error {
		_, err := r.Count(ctx)
		return err
	})
	return nil
}

// BenchmarkRecovery restarts a program from the checkpoint of a
// 1,000,000-key MapWithState state: an op is GetOrCreate and Start (which
// restores the state) and Stop. The baseline reads the same state with
// the checkpoint store alone, into a map of encoded keys (ReadState).
func BenchmarkRecovery(b *testing.B) {
	dir := b.TempDir()
	clock := context.NewManualClock(time.Unix(0, 0))
	ssc, err := context.GetOrCreate(dir, recoverySetup, time.Second, context.WithClock(clock))
	if err != nil {
		b.Fatal(err)
	}
	if err := ssc.Start(); err != nil {
		b.Fatal(err)
	}
	for range 10 { // the first data checkpoint, at 10 s, holds the state
		clock.Advance(time.Second)
	}
	if err := ssc.AwaitCheckpoint(stdctx.Background(), time.Unix(10, 0)); err != nil {
		b.Fatal(err)
	}
	if err := ssc.Stop(false); err != nil {
		b.Fatal(err)
	}
	b.Run("restart", func(b *testing.B) {
		for b.Loop() {
			ssc, err := context.GetOrCreate(dir, recoverySetup, time.Second, context.WithClock(context.NewManualClock(time.Unix(10, 0))))
			if err != nil {
				b.Fatal(err)
			}
			if err := ssc.Start(); err != nil {
				b.Fatal(err)
			}
			if err := ssc.Stop(false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline/ReadState", func(b *testing.B) {
		store, err := checkpoint.Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		m, err := store.LatestMetadata()
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			var n int
			for id := range m.State {
				state, err := store.ReadState(m, id)
				if err != nil {
					b.Fatal(err)
				}
				n += len(state)
			}
			if n != recoveryKeys {
				b.Fatalf("%d keys read, want %d", n, recoveryKeys)
			}
		}
	})
}
