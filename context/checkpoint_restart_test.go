package context_test

import (
	stdctx "context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/checkpoint"
)

// A life that restores a checkpoint and is stopped gracefully before any
// batch completes must not overwrite that checkpoint with one naming no
// state.
func TestIdleGracefulRestartKeepsState(t *testing.T) {
	batches := [][]string{{"a", "b"}, {"a"}, {"b", "c"}, {"a"}, {"c", "c"}}
	setup := wordCounts(batches, 2*time.Second)
	want := uninterrupted(t, 6, setup)

	dir := t.TempDir()
	r := startRun(t, dir, 0, setup(newResults()))
	r.steps(5 * time.Second)
	require.NoError(t, r.ssc.Stop(true)) // final checkpoint at 5 s

	r = startRun(t, dir, 5*time.Second, setup(newResults())) // nothing to re-run
	require.NoError(t, r.ssc.Stop(true))                     // before batch 6 s

	st, err := checkpoint.Open(dir)
	require.NoError(t, err)
	m, err := st.LatestMetadata()
	require.NoError(t, err)
	require.Contains(t, m.State, "counts", "the checkpoint names the state")

	got := newResults()
	r = startRun(t, dir, 5*time.Second, setup(got))
	r.steps(6 * time.Second)
	require.NoError(t, r.ssc.Stop(false))
	require.Equal(t, want.snapshot()["counts@6000"], got.snapshot()["counts@6000"])
}

// The data checkpoint of the last completed batch (4 s) fails in the
// encoder; then a graceful stop. Its final checkpoint must not claim
// recovery point 4 s over the state files of 2 s.
func TestFinalCheckpointAfterLostDataCheckpoint(t *testing.T) {
	batches := [][]string{{"a"}, {"b"}, {"a", "c"}, {"a"}}
	setup := gatedWordCounts(batches)
	want := uninterrupted(t, 6, setup)

	dir := t.TempDir()
	r := startRun(t, dir, 0, setup(newResults()))
	r.steps(3 * time.Second)
	require.NoError(t, r.ssc.AwaitCheckpoint(stdctx.Background(), time.UnixMilli(3000)))
	failEncodingAt(t, r, 4*time.Second) // 4 s's data checkpoint fails in the encoder
	require.NoError(t, r.ssc.Stop(true))

	store, err := checkpoint.Open(dir)
	require.NoError(t, err)
	m, err := store.LatestMetadata()
	require.NoError(t, err)
	if m.Time.Equal(time.UnixMilli(4000)) { // the final checkpoint, then of the data of 4 s
		require.Equal(t, time.UnixMilli(4000), m.LastCompleted.Local())
	}

	got := newResults()
	r = startRun(t, dir, 4*time.Second, setup(got))
	r.steps(6 * time.Second)
	require.NoError(t, r.ssc.Stop(false))
	require.Equal(t, want.snapshot()["counts@6000"], got.snapshot()["counts@6000"])
}

// Crash, restart, crash again after the second life's first re-run batch
// (a durable data checkpoint, recovery point 5 s) but before it re-ran
// 6 s and 7 s. The third life must not go back to the first life's
// checkpoint of 7 s (recovery point 4 s): the write-ahead log already
// dropped batch 5 s's blocks on the strength of the newer checkpoint. The
// second run's checkpoint of 5 s removed the first run's of 6 s and 7 s.
func TestCheckpointsOfACrashedRunDoNotShadowTheRestartedRun(t *testing.T) {
	var blockAt6 atomic.Bool
	batches := walBatches
	life := walCounts{t: t, block: func(t time.Time) bool { return blockAt6.Load() && t.UnixMilli() == 6000 }}.life
	want, ssc, _ := life(t.TempDir(), 0, batches, len(batches))
	require.NoError(t, ssc.Stop(false))

	dir := t.TempDir()
	_, ssc, _ = life(dir, 0, batches, len(batches))
	require.NoError(t, ssc.AwaitCheckpoint(stdctx.Background(), time.UnixMilli(7000)))
	require.NoError(t, ssc.Stop(false)) // crash 1: recovery point 4 s, metadata up to 7 s

	blockAt6.Store(true)
	_, ssc, _ = life(dir, 7*time.Second, nil, 0) // re-runs 5 s (data checkpoint), blocks in 6 s
	require.NoError(t, ssc.AwaitCheckpoint(stdctx.Background(), time.UnixMilli(5000)))
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, ssc.Stop(false)) // crash 2
	blockAt6.Store(false)

	st, err := checkpoint.Open(dir)
	require.NoError(t, err)
	m, err := st.LatestMetadata()
	require.NoError(t, err)
	require.Equal(t, time.UnixMilli(5000), m.Time.Local(), "the second run's checkpoint of 5 s is the latest")

	got, _, _ := life(dir, 7*time.Second, nil, 0)
	require.Eventually(t, func() bool { _, ok := got.snapshot()["counts@7000"]; return ok }, 30*time.Second, 10*time.Millisecond)
	wantSnap := want.snapshot()
	for _, bt := range []int64{6000, 7000} {
		key := fmt.Sprintf("counts@%d", bt)
		require.Equal(t, wantSnap[key], got.snapshot()[key], key)
	}
}
