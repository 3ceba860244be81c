package context_test

import (
	stdctx "context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/checkpoint"
	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/rdd"
)

// results records, per output and batch time, what a batch output (sorted),
// the last run of a batch winning: outputs are at least once.
type results struct {
	mu sync.Mutex
	m  map[string]string // "name@ms" → sorted elements
}

func newResults() *results { return &results{m: map[string]string{}} }

func collectInto[T any](r *results, name string, d dstream.DStream[T]) {
	d.ForeachRDD(func(ctx stdctx.Context, rd *rdd.RDD[T], t time.Time) error {
		elems, err := sortedElems(ctx, rd)
		if err != nil {
			return err
		}
		r.mu.Lock()
		r.m[fmt.Sprintf("%s@%d", name, t.UnixMilli())] = elems
		r.mu.Unlock()
		return nil
	})
}

// sortedElems is the elements of rd, printed, sorted and joined by spaces.
func sortedElems[T any](ctx stdctx.Context, rd *rdd.RDD[T]) (string, error) {
	xs, err := rd.Collect(ctx)
	if err != nil {
		return "", err
	}
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	slices.Sort(s)
	return strings.Join(s, " "), nil
}

func (r *results) snapshot() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]string, len(r.m))
	for k, v := range r.m {
		out[k] = v
	}
	return out
}

// run is a context recovered (or created) with GetOrCreate on a manual clock.
type run struct {
	t     *testing.T
	ssc   *context.StreamingContext
	clock *context.ManualClock
	done  chan context.BatchInfo
}

type completions struct {
	context.NoopListener
	ch chan context.BatchInfo
}

func (c *completions) OnBatchCompleted(b context.BatchInfo) { c.ch <- b }

// startRun builds the context with GetOrCreate on a manual clock reading
// at and starts it; the batches re-run after a restart complete before the
// next step's.
func startRun(t *testing.T, dir string, at time.Duration, setup func(*context.StreamingContext) error) *run {
	t.Helper()
	clock := context.NewManualClock(time.UnixMilli(at.Milliseconds()))
	ssc, err := context.GetOrCreate(dir, setup, time.Second, context.WithClock(clock))
	require.NoError(t, err)
	r := &run{t: t, ssc: ssc, clock: clock, done: make(chan context.BatchInfo, 1024)}
	ssc.AddStreamingListener(&completions{ch: r.done})
	require.NoError(t, ssc.Start())
	t.Cleanup(func() { _ = ssc.Stop(false) })
	return r
}

func (r *run) waitFor(bt time.Time) {
	r.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case b := <-r.done:
			if !b.BatchTime.Before(bt) {
				return
			}
		case <-r.ssc.Done():
			r.t.Fatalf("context stopped before batch %s: %v", dstream.FormatTime(bt), r.ssc.AwaitTermination())
		case <-timeout:
			r.t.Fatalf("batch %s did not complete", dstream.FormatTime(bt))
		}
	}
}

// steps advances the clock batch by batch up to time `to`.
func (r *run) steps(to time.Duration) {
	r.t.Helper()
	for r.clock.Now().Before(time.UnixMilli(to.Milliseconds())) {
		r.clock.Advance(time.Second)
		r.waitFor(r.clock.Now())
	}
}

func randomBatches(seed uint64, n int) [][]string {
	rng := rand.New(rand.NewPCG(seed, seed))
	words := []string{"a", "b", "c", "d", "e", "f", "g"}
	out := make([][]string, n)
	for i := range out {
		for range rng.IntN(8) {
			out[i] = append(out[i], words[rng.IntN(len(words))])
		}
	}
	return out
}

// wordPairs is a queue stream of batches, one batch at a time in parts
// partitions, as (word, 1) pairs.
func wordPairs(ssc *context.StreamingContext, batches [][]string, parts int) dstream.DStream[rdd.Pair[string, int]] {
	q := context.NewQueue[string]()
	for _, b := range batches {
		q.PushSlice(b, parts)
	}
	in := context.QueueStream(ssc, q, true)
	return dstream.Map(in, func(w string) rdd.Pair[string, int] { return rdd.KV(w, 1) })
}

// statefulSetup is a pipeline with UpdateStateByKey, MapWithState (with a
// timeout) and an inverse window over a queue fed with batches.
func statefulSetup(batches [][]string, out *results) func(*context.StreamingContext) error {
	return func(ssc *context.StreamingContext) error {
		pairs := wordPairs(ssc, batches, 2)
		totals := dstream.UpdateStateByKey(pairs, func(vs []int, s rdd.Option[int]) rdd.Option[int] {
			n := s.Value
			for _, v := range vs {
				n += v
			}
			if n > 6 {
				return rdd.None[int]() // keys come and go
			}
			return rdd.Some(n)
		}, dstream.WithName("totals"))
		totals.Checkpoint(2 * time.Second)
		collectInto(out, "totals", totals)
		spec := dstream.StateSpecFunc(func(_ time.Time, w string, one rdd.Option[int], s *dstream.State[int]) rdd.Option[string] {
			if s.IsTimingOut() {
				return rdd.Some("timeout:" + w)
			}
			n := one.Value
			if s.Exists() {
				n += s.Get()
			}
			s.Update(n)
			return rdd.Some(fmt.Sprintf("%s=%d", w, n))
		}).Timeout(3 * time.Second)
		running := dstream.MapWithState(pairs, spec)
		running.SetName("running")
		collectInto(out, "running", running.DStream)
		collectInto(out, "snapshots", running.StateSnapshots())
		add := func(a, b int) int { return a + b }
		sub := func(a, b int) int { return a - b }
		win := dstream.ReduceByKeyAndWindow(pairs, add, 4*time.Second, 2*time.Second, dstream.WithInverse(sub),
			dstream.WithFilter(func(p rdd.Pair[string, int]) bool { return p.Value > 0 }), dstream.WithName("window"))
		collectInto(out, "window", win)
		return nil
	}
}

// TestRestartStatefulEqualsUninterrupted crashes a pipeline with
// UpdateStateByKey, MapWithState and an inverse window at several batches
// (stopping it without a final checkpoint), restarts it from its checkpoint
// with GetOrCreate, and compares every batch's output with a run without
// the crash.
func TestRestartStatefulEqualsUninterrupted(t *testing.T) {
	const n = 14
	batches := randomBatches(42, n)
	want := newResults()
	r := startRun(t, t.TempDir(), 0, statefulSetup(batches, want))
	r.steps(n * time.Second)
	require.NoError(t, r.ssc.Stop(false))

	checkRestarts(t, n, []int{3, 6, 7, 11}, want, func(out *results) func(*context.StreamingContext) error {
		return statefulSetup(batches, out)
	})
}

// checkRestarts runs the pipeline of setup for n batches, crashing it after
// each batch of crashes in turn (stopping it without a final checkpoint)
// and restarting it from its checkpoint with GetOrCreate, and compares
// every batch's output with want, that of a run without the crash.
func checkRestarts(t *testing.T, n int, crashes []int, want *results, setup func(*results) func(*context.StreamingContext) error) {
	t.Helper()
	for _, crashAt := range crashes {
		t.Run(fmt.Sprintf("crash after batch %d", crashAt), func(t *testing.T) {
			require.Equal(t, want.snapshot(), crashAndRestart(t, crashAt, n, setup).snapshot())
		})
	}
}

// uninterrupted runs the pipeline of setup for n one-second batches and
// returns its outputs.
func uninterrupted(t *testing.T, n int, setup func(*results) func(*context.StreamingContext) error) *results {
	t.Helper()
	out := newResults()
	r := startRun(t, t.TempDir(), 0, setup(out))
	r.steps(time.Duration(n) * time.Second)
	require.NoError(t, r.ssc.Stop(false))
	return out
}

// crashAndRestart runs the pipeline of setup for crashAt batches, stops it
// without a final checkpoint (a crash), restarts it from its checkpoint
// and runs it to batch n; it returns the outputs of both lives.
func crashAndRestart(t *testing.T, crashAt, n int, setup func(*results) func(*context.StreamingContext) error) *results {
	t.Helper()
	dir := t.TempDir()
	got := newResults()
	first := startRun(t, dir, 0, setup(got))
	first.steps(time.Duration(crashAt) * time.Second)
	require.NoError(t, first.ssc.Stop(false))
	second := startRun(t, dir, time.Duration(crashAt)*time.Second, setup(got))
	second.steps(time.Duration(n) * time.Second)
	require.NoError(t, second.ssc.Stop(false))
	return got
}

// TestRestartAfterDowntimeRunsMissedBatches restarts with the clock
// several batches past the crash: the batches that fell due meanwhile run
// first, with the same results.
func TestRestartAfterDowntimeRunsMissedBatches(t *testing.T) {
	const n = 12
	batches := randomBatches(7, n)
	want := newResults()
	r := startRun(t, t.TempDir(), 0, statefulSetup(batches, want))
	r.steps(n * time.Second)
	require.NoError(t, r.ssc.Stop(false))

	dir := t.TempDir()
	got := newResults()
	first := startRun(t, dir, 0, statefulSetup(batches, got))
	first.steps(5 * time.Second)
	require.NoError(t, first.ssc.Stop(false))
	second := startRun(t, dir, 9*time.Second, statefulSetup(batches, got)) // down for 4 batches
	second.steps(n * time.Second)
	require.NoError(t, second.ssc.Stop(false))
	require.Equal(t, want.snapshot(), got.snapshot())
}

// newestMeta returns the path of the newest metadata file in dir.
func newestMeta(t *testing.T, dir string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "checkpoint-*.meta"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	slices.Sort(files)
	return files[len(files)-1]
}

// TestCrashBeforeMetadataWriteRerunsBatch loses the metadata of the last
// completed batch (the process died after the batch and before the
// background write), or finds it corrupt: recovery falls back to the
// previous checkpoint and runs the batch again, with the same results.
func TestCrashBeforeMetadataWriteRerunsBatch(t *testing.T) {
	const n, crashAt = 9, 6 // batch 6 is a data checkpoint time
	batches := randomBatches(3, n)
	want := newResults()
	r := startRun(t, t.TempDir(), 0, statefulSetup(batches, want))
	r.steps(n * time.Second)
	require.NoError(t, r.ssc.Stop(false))

	for _, damage := range []string{"lost", "corrupt"} {
		t.Run(damage, func(t *testing.T) {
			dir := t.TempDir()
			got := newResults()
			first := startRun(t, dir, 0, statefulSetup(batches, got))
			first.steps(crashAt * time.Second)
			require.NoError(t, first.ssc.Stop(false))
			meta := newestMeta(t, dir)
			require.Contains(t, meta, fmt.Sprintf("%020d", int64(crashAt*time.Second)))
			if damage == "lost" {
				require.NoError(t, os.Remove(meta))
			} else {
				data, err := os.ReadFile(meta)
				require.NoError(t, err)
				data[len(data)/2] ^= 0xff
				require.NoError(t, os.WriteFile(meta, data, 0o644))
			}
			// Mark what batch 6 output, to see it run again.
			got.mu.Lock()
			for k := range got.m {
				if strings.HasSuffix(k, fmt.Sprintf("@%d", crashAt*1000)) {
					got.m[k] = "stale"
				}
			}
			got.mu.Unlock()
			store, err := checkpoint.Open(dir)
			require.NoError(t, err)
			m, err := store.LatestMetadata()
			require.NoError(t, err)
			require.Equal(t, time.UnixMilli((crashAt-1)*1000).UTC(), m.LastCompleted)

			second := startRun(t, dir, crashAt*time.Second, statefulSetup(batches, got))
			second.steps(n * time.Second)
			require.NoError(t, second.ssc.Stop(false))
			require.Equal(t, want.snapshot(), got.snapshot())
		})
	}
}

// TestGetOrCreateRefusesDifferentGraph names the stream that differs.
func TestGetOrCreateRefusesDifferentGraph(t *testing.T) {
	dir := t.TempDir()
	batches := randomBatches(1, 3)
	r := startRun(t, dir, 0, statefulSetup(batches, newResults()))
	r.steps(2 * time.Second)
	require.NoError(t, r.ssc.Stop(true))

	other := func(ssc *context.StreamingContext) error {
		q := context.NewQueue[string]()
		in := context.QueueStream(ssc, q, true)
		pairs := dstream.Map(in, func(w string) rdd.Pair[string, int] { return rdd.KV(w, 1) })
		counts := dstream.ReduceByKey(pairs, func(a, b int) int { return a + b }) // not UpdateStateByKey
		counts.ForeachRDD(noop)
		return nil
	}
	_, err := context.GetOrCreate(dir, other, time.Second, context.WithClock(context.NewManualClock(time.Time{})))
	require.ErrorIs(t, err, checkpoint.ErrGraphMismatch)
	require.ErrorIs(t, err, context.ErrCheckpointMismatch)
	require.ErrorContains(t, err, "stream 2 is 2 (ReduceByKey) in the graph but totals (UpdateStateByKey)")

	_, err = context.GetOrCreate(dir, statefulSetup(batches, newResults()), 2*time.Second)
	require.ErrorIs(t, err, context.ErrCheckpointMismatch)
	require.ErrorContains(t, err, "batch interval 1s, the program has 2s")
}

// TestGracefulStopWritesFinalCheckpoint: after Stop(true) the checkpoint
// holds the data as of the last batch, so a restart re-runs nothing.
func TestGracefulStopWritesFinalCheckpoint(t *testing.T) {
	dir := t.TempDir()
	batches := randomBatches(5, 5)
	first := newResults()
	r := startRun(t, dir, 0, statefulSetup(batches, first))
	r.steps(5 * time.Second) // data checkpoint at 4 s, final at 5 s
	require.NoError(t, r.ssc.Stop(true))

	store, err := checkpoint.Open(dir)
	require.NoError(t, err)
	m, err := store.LatestMetadata()
	require.NoError(t, err)
	require.Equal(t, time.UnixMilli(5000).UTC(), m.LastCompleted)
	require.Contains(t, m.State, "totals")

	again := newResults()
	r2 := startRun(t, dir, 5*time.Second, statefulSetup(batches, again))
	r2.steps(6 * time.Second)
	require.NoError(t, r2.ssc.Stop(false))
	for k := range again.snapshot() {
		require.True(t, strings.HasSuffix(k, "@6000"), "only batch 6 runs, not %s", k)
	}
}

// mapWithStateSetup is a queue of batches of int keys (two partitions each)
// → MapWithState with spec, named "counts" and checkpointed every, whose
// output and state snapshots are collected into out.
func mapWithStateSetup(batches [][]int, every time.Duration, spec dstream.StateSpec[int, int, int, string], out *results) func(*context.StreamingContext) error {
	return func(ssc *context.StreamingContext) error {
		q := context.NewQueue[int]()
		for _, keys := range batches {
			q.PushSlice(keys, 2)
		}
		in := context.QueueStream(ssc, q, true)
		counts := dstream.MapWithState(dstream.Map(in, func(k int) rdd.Pair[int, int] { return rdd.KV(k, 1) }), spec)
		counts.SetName("counts")
		counts.Checkpoint(every)
		collectInto(out, "counts", counts.DStream)
		collectInto(out, "snapshots", counts.StateSnapshots())
		return nil
	}
}

// aheadSetup is MapWithState over keys that are mostly new in each batch
// (so its changes are handed over ahead of each data checkpoint), with
// some updated again and some removed, and a data checkpoint every four
// batches.
func aheadSetup(n int, out *results) func(*context.StreamingContext) error {
	batches := make([][]int, n)
	for i := range n {
		for j := range 40 {
			batches[i] = append(batches[i], i*40+j)
		}
		if i > 0 {
			batches[i] = append(batches[i], (i-1)*40, (i-1)*40+1) // again: removed
		}
	}
	spec := dstream.StateSpecFunc(func(_ time.Time, k int, _ rdd.Option[int], s *dstream.State[int]) rdd.Option[string] {
		if s.Exists() {
			s.Remove()
			return rdd.Some(fmt.Sprintf("%d removed", k))
		}
		s.Update(k * 3)
		return rdd.Some(fmt.Sprintf("%d=%d", k, k*3))
	})
	return mapWithStateSetup(batches, 4*time.Second, spec, out)
}

// TestRestartWithChangesWrittenAhead crashes a pipeline whose state changes
// are written ahead of each data checkpoint, before and after data
// checkpoints, restarts it and compares every batch's output with a run
// without the crash: what was written ahead and not committed is neither
// lost nor applied twice. The deltas are committed from the files written
// ahead.
func TestRestartWithChangesWrittenAhead(t *testing.T) {
	const n = 13
	want := newResults()
	r := startRun(t, t.TempDir(), 0, aheadSetup(n, want))
	r.steps(n * time.Second)
	require.NoError(t, r.ssc.AwaitCheckpoint(stdctx.Background(), time.UnixMilli(n*1000)))
	stats := context.CheckpointStats(r.ssc)
	require.NoError(t, r.ssc.Stop(false))
	require.Equal(t, int64(3), stats.DeltasAhead, "the data checkpoints at 8 s, 10 s and 12 s (4 s is the first, full)")
	require.Equal(t, stats.Deltas, stats.DeltasAhead)

	checkRestarts(t, n, []int{3, 5, 6, 9, 10}, want, func(out *results) func(*context.StreamingContext) error {
		return aheadSetup(n, out)
	})
}

// stepsDurable is steps, waiting after each batch until its checkpoint is
// written, as the checkpoints of one-second batches are before the next.
func (r *run) stepsDurable(to time.Duration) {
	r.t.Helper()
	for r.clock.Now().Before(time.UnixMilli(to.Milliseconds())) {
		r.clock.Advance(time.Second)
		r.waitFor(r.clock.Now())
		require.NoError(r.t, r.ssc.AwaitCheckpoint(stdctx.Background(), r.clock.Now()))
	}
}

// rollingSetup is MapWithState over a fixed space of 200 keys, 30 records
// a batch, some removing their key, with a data checkpoint every two
// batches: each checkpoint rewrites about a third of the live keys beside
// its changes, so the state's full snapshot leaves the chain after a few.
func rollingSetup(n int, out *results) func(*context.StreamingContext) error {
	batches := make([][]int, n)
	for i := range n {
		for j := range 30 {
			batches[i] = append(batches[i], (i*37+j*7)%200)
		}
	}
	spec := dstream.StateSpecFunc(func(_ time.Time, k int, _ rdd.Option[int], s *dstream.State[int]) rdd.Option[string] {
		if s.Exists() && k%5 == 0 {
			s.Remove()
			return rdd.Some(fmt.Sprintf("%d removed", k))
		}
		n := s.GetOption().Value + 1
		s.Update(n)
		return rdd.Some(fmt.Sprintf("%d=%d", k, n))
	})
	return mapWithStateSetup(batches, 2*time.Second, spec, out)
}

// TestRestartFromRollingChain crashes a state stream whose data
// checkpoints rewrite its live keys a range at a time, after its full
// snapshot has left the chain (the restore reads deltas alone), and at
// other points, and compares every batch's output with a run without the
// crash. The only full snapshot is the first.
func TestRestartFromRollingChain(t *testing.T) {
	const n = 24
	want := newResults()
	r := startRun(t, t.TempDir(), 0, rollingSetup(n, want))
	r.stepsDurable(n * time.Second)
	stats := context.CheckpointStats(r.ssc)
	require.NoError(t, r.ssc.Stop(false))
	require.Equal(t, int64(1), stats.FullSnapshots, "%+v", stats)
	require.Zero(t, stats.Compactions, "%+v", stats)

	for _, crashAt := range []time.Duration{14 * time.Second, 19 * time.Second} {
		dir := t.TempDir()
		got := newResults()
		first := startRun(t, dir, 0, rollingSetup(n, got))
		first.stepsDurable(crashAt)
		require.NoError(t, first.ssc.Stop(false))
		store, err := checkpoint.Open(dir)
		require.NoError(t, err)
		m, err := store.LatestMetadata()
		require.NoError(t, err)
		require.Empty(t, m.State["counts"].Full, "crash after %v: the full snapshot has left the chain", crashAt)
		second := startRun(t, dir, crashAt, rollingSetup(n, got))
		second.stepsDurable(n * time.Second)
		require.NoError(t, second.ssc.Stop(false))
		require.Equal(t, want.snapshot(), got.snapshot(), "crash after %v", crashAt)
	}
	checkRestarts(t, n, []int{3, 7, 12, 17, 22}, want, func(out *results) func(*context.StreamingContext) error {
		return rollingSetup(n, out)
	})
}

// TestWindowOverQueueAfterRestart: after a restart, a window without an
// inverse recomputes its input at batch times before the recovery point;
// those take nothing from the queue (Spark gives an input stream nothing
// for times before its start), so every other stream gets its batches'
// items as in a run without the crash. The window's first result after the
// restart is partial: the batches before the recovery point are gone.
func TestWindowOverQueueAfterRestart(t *testing.T) {
	setup := func(out *results) func(*context.StreamingContext) error {
		return func(ssc *context.StreamingContext) error {
			pairs := wordPairs(ssc, [][]string{{"a"}, {"b"}, {"c"}, {"d"}, {"e"}, {"f"}}, 1)
			// The window's output first: it asks for the input at 2 s
			// before any other stream asks for 3 s.
			collectInto(out, "win", pairs.Window(2*time.Second, time.Second))
			st := dstream.UpdateStateByKey(pairs, func(vs []int, s rdd.Option[int]) rdd.Option[int] { return rdd.Some(s.Value + len(vs)) })
			st.Checkpoint(2 * time.Second)
			collectInto(out, "state", st)
			collectInto(out, "raw", pairs)
			return nil
		}
	}
	w := uninterrupted(t, 6, setup).snapshot()
	g := crashAndRestart(t, 3, 6, setup).snapshot() // the data checkpoint of 2 s is the recovery point
	require.Equal(t, "(c,1)", g["win@3000"], "the window re-run at 3 s: batch 2 s is before the recovery point")
	delete(w, "win@3000")
	delete(g, "win@3000")
	require.Equal(t, w, g)
}
