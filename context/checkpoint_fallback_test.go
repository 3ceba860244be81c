package context_test

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/checkpoint"
	"github.com/sluice-io/sluice/context"
)

// TestDamagedNewestDeltaRestoresPrevious: the newest checkpoint's delta
// state file is cut by one byte (a crash or a full disk). GetOrCreate falls
// back to the checkpoint before it, Start restores that one, and the
// batches after it run again, with the same results as without the crash.
func TestDamagedNewestDeltaRestoresPrevious(t *testing.T) {
	const n, crashAt = 8, 4
	batches := randomBatches(11, n)
	want := uninterrupted(t, n, func(out *results) func(*context.StreamingContext) error { return statefulSetup(batches, out) })

	dir := t.TempDir()
	got := newResults()
	first := startRun(t, dir, 0, statefulSetup(batches, got))
	first.steps(crashAt * time.Second)
	require.NoError(t, first.ssc.Stop(false))

	store, err := checkpoint.Open(dir)
	require.NoError(t, err)
	m, err := store.LatestMetadata()
	require.NoError(t, err)
	require.Equal(t, time.UnixMilli(crashAt*1000).UTC(), m.Time)
	// The newest delta, written for the newest checkpoint.
	var damaged string
	for _, id := range slices.Sorted(maps.Keys(m.State)) {
		deltas := m.State[id].Deltas
		if len(deltas) > 0 && strings.HasPrefix(deltas[len(deltas)-1], fmt.Sprintf("%020d", int64(crashAt*time.Second))) {
			damaged = filepath.Join(dir, "state", id, deltas[len(deltas)-1])
			break
		}
	}
	require.NotEmpty(t, damaged, "no stream has a delta of batch %d in %+v", crashAt, m.State)
	data, err := os.ReadFile(damaged)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(damaged, data[:len(data)-1], 0o644))

	m, err = store.LatestMetadata()
	require.NoError(t, err)
	require.True(t, m.Time.Before(time.UnixMilli(crashAt*1000)), "the checkpoint naming the damaged file was chosen")

	second := startRun(t, dir, crashAt*time.Second, statefulSetup(batches, got))
	second.steps(n * time.Second)
	require.NoError(t, second.ssc.Stop(false))
	require.Equal(t, want.snapshot(), got.snapshot())
}

// TestEveryCheckpointDamagedFailsGetOrCreate: when no retained checkpoint is
// usable (every metadata file damaged here), GetOrCreate fails naming the
// directory instead of starting afresh without the state the files held,
// as Spark's "Failed to read checkpoint from directory".
func TestEveryCheckpointDamagedFailsGetOrCreate(t *testing.T) {
	batches := randomBatches(11, 4)
	dir := t.TempDir()
	first := startRun(t, dir, 0, statefulSetup(batches, newResults()))
	first.steps(3 * time.Second)
	require.NoError(t, first.ssc.Stop(false))
	metas, err := filepath.Glob(filepath.Join(dir, "checkpoint-*"))
	require.NoError(t, err)
	require.NotEmpty(t, metas)
	for _, m := range metas {
		require.NoError(t, os.WriteFile(m, []byte("SLCK"), 0o644))
	}
	_, err = context.GetOrCreate(dir, statefulSetup(batches, newResults()), time.Second, context.WithClock(context.NewManualClock(time.UnixMilli(3000))))
	require.ErrorIs(t, err, checkpoint.ErrCorrupt)
	require.NotErrorIs(t, err, checkpoint.ErrNoCheckpoint)
	require.ErrorContains(t, err, dir)
}
