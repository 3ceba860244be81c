package checkpoint

import (
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCRC32Combine(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 1<<20+3)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	for _, cut := range []int{0, 1, 7, 4096, len(data) - 1, len(data)} {
		a, b := data[:cut], data[cut:]
		got := crc32Combine(crc32.Checksum(a, castagnoli), crc32.Checksum(b, castagnoli), int64(len(b)))
		require.Equal(t, crc32.Checksum(data, castagnoli), got, "cut at %d", cut)
	}
}

// aheadRun drives one stream the way a context does: a full snapshot,
// then batches whose changes are handed over Ahead in metadata-only
// checkpoints, then a checkpoint whose Changed is all of them.
type aheadRun struct {
	t     *testing.T
	dir   string
	s     *Store
	steps []faultPoint
	m     *model
	// next is the stream's next Changed so far, built by appending.
	next  Entries
	batch int
}

func newAheadRun(t *testing.T, opts ...Option) *aheadRun {
	a := &aheadRun{t: t, dir: t.TempDir(), m: newModel("words", 1000)}
	a.s, _ = openTest(t, a.dir, opts...)
	a.s.faults = func(step, path string) error {
		a.steps = append(a.steps, faultPoint{step, path})
		return nil
	}
	a.write(a.m.snapshot(t))
	return a
}

// changes applies a batch of updates to the model and returns them.
func (a *aheadRun) changes(r *rand.Rand) Entries {
	a.m.batch(r, 50)
	return a.m.snapshot(a.t).Changed
}

func (a *aheadRun) write(st StateSnapshot) *Metadata {
	a.t.Helper()
	a.batch++
	m := testMetadata(a.batch)
	require.NoError(a.t, a.s.Write(&Checkpoint{Metadata: m, State: []StateSnapshot{st}}))
	return m
}

// ahead hands over one batch's changes ahead.
func (a *aheadRun) ahead(r *rand.Rand) {
	a.next.AppendList(a.changes(r))
	a.write(StateSnapshot{StreamID: a.m.id, Ahead: a.next})
}

// commit writes the checkpoint with the changes handed over ahead, then
// those of one more batch, and checks the state read back.
func (a *aheadRun) commit(r *rand.Rand) *Metadata {
	a.t.Helper()
	a.next.AppendList(a.changes(r))
	m := a.write(StateSnapshot{StreamID: a.m.id, Changed: a.next})
	a.next = Entries{}
	checkState(a.t, a.s, m, a.m.id, a.m.live)
	return m
}

// synced returns the files fsynced since the last call.
func (a *aheadRun) synced() []string {
	var out []string
	for _, p := range a.steps {
		if p.step == stepSync {
			out = append(out, filepath.Base(p.path))
		}
	}
	a.steps = nil
	return out
}

func (a *aheadRun) tempFiles() []string {
	a.t.Helper()
	var tmps []string
	require.NoError(a.t, filepath.WalkDir(a.dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, tmpSuffix) {
			tmps = append(tmps, path)
		}
		return err
	}))
	return tmps
}

// TestWriteAhead checks that the entries handed over Ahead go to the file
// of the next delta before that delta is committed, that the commit syncs
// that file (not a new one) into a delta identical byte for byte to one
// written whole, and that the state reads back.
func TestWriteAhead(t *testing.T) {
	a := newAheadRun(t)
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 3 {
		a.synced()
		for range 4 {
			a.ahead(r)
		}
		require.Len(t, a.tempFiles(), 1, "round %d: the delta written ahead", round)
		for _, name := range a.synced() {
			require.True(t, strings.HasPrefix(name, metaPrefix), "round %d: only metadata is synced before the commit, not %s", round, name)
		}
		m := a.commit(r)
		synced := a.synced()
		require.True(t, strings.HasPrefix(synced[0], "ahead-"), "round %d: the delta is the file written ahead: %v", round, synced)
		require.Empty(t, a.tempFiles())
		ref := m.State[a.m.id]
		delta := ref.Deltas[len(ref.Deltas)-1]
		got, err := os.ReadFile(filepath.Join(a.dir, stateDir, a.m.id, delta))
		require.NoError(t, err)
		parts, err := stateFile(a.m.id, m.Time.UnixNano(), false, a.lastChanged(t, got))
		require.NoError(t, err)
		require.Equal(t, slices.Concat(parts...), got, "round %d", round)
	}
	require.Equal(t, int64(3), a.s.Stats().Deltas)
	require.Equal(t, int64(3), a.s.Stats().DeltasAhead)
}

// lastChanged returns the entries of a delta file.
func (a *aheadRun) lastChanged(t *testing.T, file []byte) Entries {
	var es Entries
	_, err := decodeState(file, func(key string, value []byte, deleted bool) bool {
		es.Append(Entry{Key: []byte(key), Value: value, Deleted: deleted})
		return true
	})
	require.NoError(t, err)
	return es
}

// TestWriteAheadFallsBack checks the cases where the file written ahead is
// not the delta: a Changed built in a new buffer with the same bytes still
// uses it (checked by checksum), one that does not start with what was
// written ahead drops it and is written whole, and a full snapshot drops
// it. The state reads back in each case.
func TestWriteAheadFallsBack(t *testing.T) {
	a := newAheadRun(t, WithFullSnapshotEvery(3))
	r := rand.New(rand.NewPCG(5, 6))

	a.ahead(r)
	a.ahead(r)
	a.next = Entries{data: slices.Clone(a.next.data), n: a.next.n, deleted: a.next.deleted}
	a.synced()
	a.commit(r)
	require.True(t, strings.HasPrefix(a.synced()[0], "ahead-"), "a copy of the same bytes extends the file")

	a.ahead(r)
	// The same changes after a repeat of the first: the bytes are shifted.
	first, _ := nextEntry(a.next.data)
	shifted := EntriesOf(first)
	shifted.AppendList(a.next)
	a.next = shifted
	a.synced()
	a.commit(r)
	require.True(t, strings.HasSuffix(a.synced()[0], deltaSuffix+tmpSuffix), "a Changed that does not start with the file is written whole")
	require.Empty(t, a.tempFiles())

	a.ahead(r)
	a.synced()
	m := a.commit(r) // the third since the full snapshot: a full one
	require.Equal(t, batchTime(a.batch).UnixNano(), must(strconv.ParseInt(m.State[a.m.id].Full[:20], 10, 64)))
	require.Empty(t, m.State[a.m.id].Deltas)
	require.Empty(t, a.tempFiles(), "a full snapshot drops the file written ahead")
}

// TestWriteAheadCommitsNothing checks that what is written ahead is not in
// any checkpoint until one commits it: after a crash the newest checkpoint
// reads the state before those changes, and the next Open removes the
// file.
func TestWriteAheadCommitsNothing(t *testing.T) {
	a := newAheadRun(t)
	r := rand.New(rand.NewPCG(7, 8))
	a.ahead(r)
	a.commit(r)
	before := clone(a.m.live)
	a.ahead(r)
	a.ahead(r)
	require.Len(t, a.tempFiles(), 1)

	s, _ := openTest(t, a.dir) // the process restarts
	require.Empty(t, a.tempFiles(), "Open removes the file written ahead")
	m, err := s.LatestMetadata()
	require.NoError(t, err)
	require.Equal(t, batchTime(a.batch), m.Time)
	checkState(t, s, m, a.m.id, before)
	a.s.DropAhead()
}

// TestWriteAheadRules checks that Ahead goes alone in a snapshot, and that
// AsyncWriter.Close removes a file no checkpoint committed.
func TestWriteAheadRules(t *testing.T) {
	a := newAheadRun(t)
	r := rand.New(rand.NewPCG(9, 10))
	ch := a.changes(r)
	err := a.s.Write(&Checkpoint{Metadata: testMetadata(a.batch + 1), State: []StateSnapshot{{StreamID: a.m.id, Changed: ch, Ahead: ch}}})
	require.ErrorContains(t, err, "a snapshot with Ahead must have no Changed, All or Segments")

	w := a.s.NewAsyncWriter(1, nil)
	require.NoError(t, w.Submit(&Checkpoint{Metadata: testMetadata(a.batch + 2), State: []StateSnapshot{{StreamID: a.m.id, Ahead: ch}}}))
	require.NoError(t, w.Close())
	require.Empty(t, a.tempFiles())
}

// TestWriteAheadErrorFallsBack checks that a failed write ahead is not a
// failed checkpoint: the metadata is written, the warning names the
// stream, the file is dropped, and the delta that commits the changes is
// written whole.
func TestWriteAheadErrorFallsBack(t *testing.T) {
	logs := &logBuffer{}
	a := newAheadRun(t, WithLogger(testLogger(logs)))
	r := rand.New(rand.NewPCG(11, 12))
	a.ahead(r)
	require.NoError(t, a.s.ahead[a.m.id].f.Close()) // the next write to it fails
	a.ahead(r)
	require.Contains(t, logs.String(), "writing a delta ahead failed")
	require.Contains(t, logs.String(), "stream=words")
	require.Empty(t, a.tempFiles(), "the file is dropped")
	a.synced()
	a.commit(r)
	require.True(t, strings.HasSuffix(a.synced()[0], deltaSuffix+tmpSuffix), "the delta is written whole")
	require.Zero(t, a.s.Stats().DeltasAhead)
}

// TestWriteAheadBufferReused: a list built in the buffer of the one
// written ahead (Entries.Reuse), as long as it and with other entries, is
// not taken for its extension: the delta committed holds the new list's
// entries, not the old ones the file has.
func TestWriteAheadBufferReused(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	entry := func(k int) Entry { return must(EncodeEntry(k, int64(k))) }
	write := func(i int, st StateSnapshot) *Metadata {
		st.StreamID = "words"
		m := testMetadata(i)
		require.NoError(t, s.Write(&Checkpoint{Metadata: m, State: []StateSnapshot{st}}))
		return m
	}
	var base Entries // larger than the delta, so that no full snapshot is due
	want := map[int]int64{4: 4, 5: 5}
	for k := 100; k < 110; k++ {
		base.Append(entry(k))
		want[k] = int64(k)
	}
	write(1, StateSnapshot{Changed: base, All: &base})
	old := EntriesOf(entry(2), entry(3))
	old.Grow(old.Size()) // room, so that the next list stays in the buffer
	write(2, StateSnapshot{Ahead: old})
	reused := old.Reuse()
	reused.Append(entry(4))
	reused.Append(entry(5))
	require.Equal(t, old.Size(), reused.Size())
	require.Same(t, &old.data[0], &reused.data[0], "the same buffer")
	m := write(3, StateSnapshot{Changed: reused})
	checkState(t, s, m, "words", want)
	st := s.Stats()
	require.Zero(t, st.DeltasAhead, "the file written ahead was not committed")
	require.Equal(t, int64(1), st.Deltas)
}
