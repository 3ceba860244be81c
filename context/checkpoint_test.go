package context_test

import (
	stdctx "context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/sluice-io/sluice/checkpoint"
	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
)

func stateOf(ssc *context.StreamingContext) dstream.DStream[rdd.Pair[string, int]] {
	in := context.QueueStream(ssc, context.NewQueue[string](), true)
	pairs := dstream.Map(in, func(w string) rdd.Pair[string, int] { return rdd.KV(w, 1) })
	return dstream.UpdateStateByKey(pairs, func(vs []int, s rdd.Option[int]) rdd.Option[int] { return rdd.Some(s.Value + len(vs)) })
}

// TestCheckpointValidation checks Spark's rules and messages at Start.
func TestCheckpointValidation(t *testing.T) {
	for _, tc := range []struct {
		name     string
		dir      bool
		interval time.Duration
		want     string
	}{
		{"no directory", false, 0, "The checkpoint directory has not been set. Please set it by StreamingContext.checkpoint()."},
		{"below the slide", true, 500 * time.Millisecond, "The checkpoint interval for UpdateStateByKey (stream 2) has been set to 500ms which is lower than its slide time (1s). Please set it to at least 1s."},
		{"not a multiple", true, 1500 * time.Millisecond, "The checkpoint interval for UpdateStateByKey (stream 2) has been set to 1.5s which not a multiple of its slide time (1s). Please set it to a multiple of 1s."},
		{"fine", true, 3 * time.Second, ""},
		{"default", true, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ssc, err := context.NewStreamingContext(time.Second, context.WithClock(context.NewManualClock(time.Time{})))
			require.NoError(t, err)
			if tc.dir {
				require.NoError(t, ssc.Checkpoint(t.TempDir()))
			}
			st := stateOf(ssc)
			if tc.interval != 0 {
				st = st.Checkpoint(tc.interval)
			}
			st.ForeachRDD(noop)
			err = ssc.Start()
			defer ssc.Stop(false)
			if tc.want == "" {
				require.NoError(t, err)
				if tc.interval == 0 {
					require.Equal(t, 10*time.Second, st.CheckpointInterval(), "Spark's default")
				}
				return
			}
			require.ErrorContains(t, err, tc.want)
			if !tc.dir {
				require.ErrorIs(t, err, dstream.ErrCheckpointDirNotSet)
			}
		})
	}
}

// TestMetadataWrittenAfterEveryBatch reads the checkpoints back with the
// store.
func TestMetadataWrittenAfterEveryBatch(t *testing.T) {
	dir := t.TempDir()
	r := startRun(t, dir, 0, statefulSetup(randomBatches(9, 5), newResults()))
	r.steps(3 * time.Second)
	require.NoError(t, r.ssc.Stop(false))
	files, err := filepath.Glob(filepath.Join(dir, "checkpoint-*.meta"))
	require.NoError(t, err)
	require.Len(t, files, 3, "one per batch")
	store, err := checkpoint.Open(dir)
	require.NoError(t, err)
	m, err := store.LatestMetadata()
	require.NoError(t, err)
	require.Equal(t, time.UnixMilli(3000).UTC(), m.Time)
	require.Equal(t, time.UnixMilli(3000).UTC(), m.LastCompleted)
	require.Equal(t, time.Second, m.BatchInterval)
	require.Empty(t, m.Pending)
	require.Equal(t, checkpoint.StreamIdentity{ID: "totals", Kind: "UpdateStateByKey", Name: "totals"}, m.Streams[2])
	require.Equal(t, checkpoint.StreamIdentity{ID: "0", Kind: "QueueInputStream"}, m.Streams[0])
	require.Contains(t, m.Inputs, "0", "the queue's position")
	require.Contains(t, m.State, "totals", "state as of batch 2 s, the data checkpoint")
	require.Contains(t, m.State, "running")
	require.Contains(t, m.State, "window")
	state, err := store.ReadState(m, "totals")
	require.NoError(t, err)
	require.NotEmpty(t, state)
}

// TestWindowCheckpointWritesEachBatchOnce checks that an inverse window's
// data checkpoints write each per-batch reduction once, in the first data
// checkpoint after it entered the window, and later ones refer to the same
// file until the batch leaves the window.
func TestWindowCheckpointWritesEachBatchOnce(t *testing.T) {
	dir := t.TempDir()
	// Opened before the context writes: Open removes the *.tmp files it
	// finds, such as a delta being written ahead.
	store, err := checkpoint.Open(dir)
	require.NoError(t, err)
	r := startRun(t, dir, 0, statefulSetup(randomBatches(11, 12), newResults()))
	segments := func() map[string]string {
		m, err := store.LatestMetadata()
		require.NoError(t, err)
		out := map[string]string{}
		for _, sg := range m.State["window"].Segments {
			out[sg.Name] = sg.File
		}
		return out
	}
	// Data checkpoints every 2 s (the totals stream's interval); the window
	// is 4 s with a 2 s slide over 1 s batches. Each checkpoint is waited
	// for: one dropped by the writer's full queue (a loaded machine) makes
	// the next data checkpoint whole, writing the segments again.
	r.stepsDurable(6 * time.Second)
	at6 := segments()
	r.stepsDurable(8 * time.Second)
	at8 := segments()
	require.NoError(t, r.ssc.Stop(false))
	ms := func(s int64) string { return fmt.Sprint(s * int64(time.Second)) }
	want6 := []string{ms(6) + "-window", ms(3) + "-batch", ms(4) + "-batch", ms(5) + "-batch", ms(6) + "-batch"}
	want8 := []string{ms(8) + "-window", ms(5) + "-batch", ms(6) + "-batch", ms(7) + "-batch", ms(8) + "-batch"}
	require.ElementsMatch(t, want6, slices.Collect(maps.Keys(at6)))
	require.ElementsMatch(t, want8, slices.Collect(maps.Keys(at8)))
	for _, kept := range []string{ms(5) + "-batch", ms(6) + "-batch"} {
		require.Equal(t, at6[kept], at8[kept], "batch %s written again", kept)
	}
	for _, fresh := range []string{ms(7) + "-batch", ms(8) + "-batch", ms(8) + "-window"} {
		require.NotContains(t, slices.Collect(maps.Values(at6)), at8[fresh])
	}
	// Every checkpoint is retained: one file per batch reduction (1..8 s)
	// and per window (2, 4, 6, 8 s), none written twice.
	files, err := filepath.Glob(filepath.Join(dir, "state", "window", "*.seg"))
	require.NoError(t, err)
	require.Len(t, files, 12)
}

// TestAwaitCheckpoint waits for checkpoints written off the batch path and
// reports a write that failed (the directory removed under the context)
// and a context without a checkpoint directory.
func TestAwaitCheckpoint(t *testing.T) {
	dir := t.TempDir()
	store, err := checkpoint.Open(dir) // before the context writes, as above
	require.NoError(t, err)
	r := startRun(t, dir, 0, statefulSetup(randomBatches(3, 4), newResults()))
	r.steps(2 * time.Second)
	require.NoError(t, r.ssc.AwaitCheckpoint(stdctx.Background(), time.UnixMilli(2000)))
	m, err := store.LatestMetadata()
	require.NoError(t, err)
	require.Equal(t, time.UnixMilli(2000).UTC(), m.Time)
	require.NoError(t, r.ssc.AwaitCheckpoint(stdctx.Background(), time.UnixMilli(1000)), "an older batch is covered")

	ctx, cancel := stdctx.WithTimeout(stdctx.Background(), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, r.ssc.AwaitCheckpoint(ctx, time.UnixMilli(9000)), stdctx.DeadlineExceeded)

	require.NoError(t, os.RemoveAll(dir))
	r.steps(3 * time.Second)
	err = r.ssc.AwaitCheckpoint(stdctx.Background(), time.UnixMilli(3000))
	require.ErrorContains(t, err, "the checkpoint of batch 3000 ms was not written")

	ssc, err := context.NewStreamingContext(time.Second)
	require.NoError(t, err)
	require.ErrorContains(t, ssc.AwaitCheckpoint(stdctx.Background(), time.UnixMilli(1000)), "no checkpoint directory")

	// A context that stops before the batch is checkpointed.
	r = startRun(t, t.TempDir(), 0, statefulSetup(randomBatches(3, 4), newResults()))
	r.steps(time.Second)
	require.NoError(t, r.ssc.AwaitCheckpoint(stdctx.Background(), time.UnixMilli(1000)))
	require.NoError(t, r.ssc.Stop(false))
	require.ErrorContains(t, r.ssc.AwaitCheckpoint(stdctx.Background(), time.UnixMilli(5000)),
		"the context stopped with the newest checkpoint at batch 1000 ms")
	require.NoError(t, r.ssc.AwaitCheckpoint(stdctx.Background(), time.UnixMilli(1000)))
}

// TestQueuePositionRestored: no item is taken twice, none is lost, across
// a restart of a stateless pipeline whose setup pushes every item again.
func TestQueuePositionRestored(t *testing.T) {
	dir := t.TempDir()
	out := newResults()
	setup := func(ssc *context.StreamingContext) error {
		q := context.NewQueue[string]()
		for i := range 8 {
			q.PushSlice([]string{"item" + strconv.Itoa(i)}, 1)
		}
		collectInto(out, "in", context.QueueStream(ssc, q, true))
		return nil
	}
	r := startRun(t, dir, 0, setup)
	r.steps(3 * time.Second)
	require.NoError(t, r.ssc.Stop(false))
	r = startRun(t, dir, 3*time.Second, setup)
	r.steps(9 * time.Second)
	require.NoError(t, r.ssc.Stop(false))
	got := out.snapshot()
	for i := range 8 {
		require.Equal(t, "item"+strconv.Itoa(i), got["in@"+strconv.Itoa((i+1)*1000)])
	}
	require.Equal(t, "", got["in@9000"])
}

// TestFilePositionRestored: every file is read exactly once across a
// restart.
func TestFilePositionRestored(t *testing.T) {
	dir, in := t.TempDir(), t.TempDir()
	out := newResults()
	setup := func(ssc *context.StreamingContext) error {
		collectInto(out, "lines", context.TextFileStream(ssc, in))
		return nil
	}
	write := func(r *run, name string) {
		tmp := filepath.Join(in, ".tmp")
		require.NoError(t, os.WriteFile(tmp, []byte(name+"\n"), 0o644))
		mod := r.clock.Now().Add(time.Millisecond)
		require.NoError(t, os.Chtimes(tmp, mod, mod))
		require.NoError(t, os.Rename(tmp, filepath.Join(in, name)))
	}
	r := startRun(t, dir, 0, setup)
	for i := range 3 {
		write(r, "f"+strconv.Itoa(i))
		r.steps(time.Duration(i+1) * time.Second)
	}
	require.NoError(t, r.ssc.Stop(false))
	r = startRun(t, dir, 3*time.Second, setup)
	for i := 3; i < 5; i++ {
		write(r, "f"+strconv.Itoa(i))
		r.steps(time.Duration(i+1) * time.Second)
	}
	require.NoError(t, r.ssc.Stop(false))
	var all []string
	for k, v := range out.snapshot() {
		if v != "" {
			all = append(all, k+"="+v)
		}
	}
	require.ElementsMatch(t, []string{"lines@1000=f0", "lines@2000=f1", "lines@3000=f2", "lines@4000=f3", "lines@5000=f4"}, all)
}

// boomCount is a window value whose msgpack encoder panics.
type boomCount int

func (boomCount) EncodeMsgpack(*msgpack.Encoder) error { panic("boom") }

// TestCheckpointEncodingPanicFailsTheCheckpoint: a value whose own msgpack
// encoder panics fails its checkpoint (AwaitCheckpoint says which batch
// and why) instead of crashing the program from the encoder goroutine,
// and the batches go on.
func TestCheckpointEncodingPanicFailsTheCheckpoint(t *testing.T) {
	setup := func(ssc *context.StreamingContext) error {
		q := context.NewQueue[string]()
		for range 4 {
			q.PushSlice([]string{"a", "b", "a"}, 2)
		}
		in := context.QueueStream(ssc, q, true)
		pairs := dstream.Map(in, func(w string) rdd.Pair[string, boomCount] { return rdd.KV(w, boomCount(1)) })
		add := func(a, b boomCount) boomCount { return a + b }
		sub := func(a, b boomCount) boomCount { return a - b }
		win := dstream.ReduceByKeyAndWindow(pairs, add, 2*time.Second, time.Second, dstream.WithInverse(sub))
		win.Checkpoint(2 * time.Second)
		win.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[rdd.Pair[string, boomCount]], _ time.Time) error {
			_, err := r.Count(ctx)
			return err
		})
		return nil
	}
	r := startRun(t, t.TempDir(), 0, setup)
	r.steps(2 * time.Second)
	err := r.ssc.AwaitCheckpoint(stdctx.Background(), time.UnixMilli(2000))
	require.ErrorIs(t, err, rdd.ErrUserPanic)
	require.ErrorContains(t, err, "the checkpoint of batch 2000 ms was not written")
	require.ErrorContains(t, err, "boom")
	r.steps(3 * time.Second) // the batches go on
	require.NoError(t, r.ssc.Stop(false))
}

// TestRecoveryFromDamagedStateFails: a state file damaged on disk fails
// the restart with an error naming the stream and wrapping
// checkpoint.ErrCorrupt, before any batch runs.
func TestRecoveryFromDamagedStateFails(t *testing.T) {
	dir := t.TempDir()
	r := startRun(t, dir, 0, statefulSetup(randomBatches(5, 4), newResults()))
	r.steps(2 * time.Second) // totals is checkpointed every 2 s
	require.NoError(t, r.ssc.AwaitCheckpoint(stdctx.Background(), time.UnixMilli(2000)))
	require.NoError(t, r.ssc.Stop(false))
	files, err := filepath.Glob(filepath.Join(dir, "state", "totals", "*"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		data[len(data)/2] ^= 0xff
		require.NoError(t, os.WriteFile(f, data, 0o644))
	}
	ssc, err := context.GetOrCreate(dir, statefulSetup(randomBatches(5, 4), newResults()), time.Second,
		context.WithClock(context.NewManualClock(time.UnixMilli(2000))))
	require.NoError(t, err)
	err = ssc.Start()
	require.ErrorIs(t, err, checkpoint.ErrCorrupt)
	require.ErrorContains(t, err, "restoring stream totals")
	_ = ssc.Stop(false)
}

// TestStopDuringBatchIsNotCheckpointed: a batch whose job a stop that does
// not wait cancels is not complete, so no checkpoint names it and recovery
// runs it again; the batch before it, completed, is checkpointed even
// though the stop comes while its checkpoint may still be being taken.
func TestStopDuringBatchIsNotCheckpointed(t *testing.T) {
	dir := t.TempDir()
	h := dstreamtest.NewHarness(t, time.Second)
	ssc := h.Context()
	require.NoError(t, ssc.Checkpoint(dir))
	started := make(chan struct{})
	dstreamtest.Input(h, [][]int{{1}, {2}}).ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[int], bt time.Time) error {
		if bt.Equal(time.UnixMilli(2000)) {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
	h.Start()
	h.Step()
	h.Clock().Advance(time.Second)
	<-started
	require.NoError(t, ssc.Stop(false))
	store, err := checkpoint.Open(dir)
	require.NoError(t, err)
	m, err := store.LatestMetadata()
	require.NoError(t, err)
	require.Equal(t, time.UnixMilli(1000).UTC(), m.Time, "the completed batch, not the cancelled one")
	require.Equal(t, time.UnixMilli(1000).UTC(), m.LastCompleted)
}

// TestFileStreamRestartTakesFilesNotYetTaken: after a restart from the
// checkpoint, a file that appeared while the program was down, and a file
// taken by a batch whose checkpoint was lost, are each read once; the files
// in the directory when the stream is built again at the restart are not
// ignored as if there before the stream first started (Spark keeps its
// initial threshold from the checkpoint). A file older than the first start
// is still ignored.
func TestFileStreamRestartTakesFilesNotYetTaken(t *testing.T) {
	for _, tc := range []struct {
		name      string
		lostBatch bool // the checkpoint of batch 3 s, which took the file, is lost
		want      []string
	}{
		{"file arrived while down", false, []string{"lines@1000=f0", "lines@3000=down", "lines@5000=f5"}},
		{"file taken after the last checkpoint", true, []string{"lines@1000=f0", "lines@3000=down", "lines@5000=f5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, in := t.TempDir(), t.TempDir()
			out := newResults()
			setup := func(ssc *context.StreamingContext) error {
				collectInto(out, "lines", context.TextFileStream(ssc, in))
				return nil
			}
			writeAt(t, in, "old", "old\n", time.UnixMilli(0).Add(-time.Hour))
			r := startRun(t, dir, 0, setup)
			writeAt(t, in, "f0", "f0\n", time.UnixMilli(500))
			r.stepsDurable(2 * time.Second)
			restartAt := 4 * time.Second
			if tc.lostBatch {
				writeAt(t, in, "down", "down\n", time.UnixMilli(2500))
				r.stepsDurable(3 * time.Second)
				meta := newestMeta(t, dir)
				require.Contains(t, meta, fmt.Sprintf("%020d", int64(3*time.Second)))
				require.NoError(t, r.ssc.Stop(false))
				require.NoError(t, os.Remove(meta))
				restartAt = 3 * time.Second
			} else {
				require.NoError(t, r.ssc.Stop(false))
				writeAt(t, in, "down", "down\n", time.UnixMilli(2500)) // while down
			}
			r = startRun(t, dir, restartAt, setup) // batch 3 s runs (again) first
			writeAt(t, in, "f5", "f5\n", time.UnixMilli(4500))
			r.steps(6 * time.Second)
			require.NoError(t, r.ssc.Stop(false))
			var all []string
			for k, v := range out.snapshot() {
				if v != "" {
					all = append(all, k+"="+v)
				}
			}
			require.ElementsMatch(t, tc.want, all)
		})
	}
}
