package checkpoint

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func openTest(t *testing.T, dir string, opts ...Option) (*Store, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	s, err := Open(dir, append([]Option{WithLogger(testLogger(logs))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s, logs
}

func TestMetadataRoundTrip(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	if _, err := s.LatestMetadata(); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("empty dir: got %v, want ErrNoCheckpoint", err)
	}
	want := testMetadata(1)
	want.LastCompleted = time.Time{} // a zero time round-trips as zero
	want.Data = map[string][]byte{"words": {1, 2, 3}}
	if err := s.WriteMetadata(want); err != nil {
		t.Fatal(err)
	}
	got, err := s.LatestMetadata()
	if err != nil {
		t.Fatal(err)
	}
	if want.State == nil {
		t.Fatal("WriteMetadata left State nil")
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "checkpoint-01700000001000000000.meta")); err != nil {
		t.Fatal(err)
	}
}

func TestWriteSameBatchTwiceReplaces(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	m := testMetadata(1)
	if err := s.WriteMetadata(m); err != nil {
		t.Fatal(err)
	}
	m2 := testMetadata(1)
	m2.Pending = nil
	m2.LastCompleted = batchTime(1)
	if err := s.WriteMetadata(m2); err != nil {
		t.Fatal(err)
	}
	got, err := s.LatestMetadata()
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Pending) != 0 || !got.LastCompleted.Equal(batchTime(1)) {
		t.Fatalf("second write at the same batch time did not replace the first: %+v", got)
	}
}

func TestWriteRejectsBadTime(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	for _, tm := range []time.Time{{}, time.Unix(-5, 0)} {
		if err := s.WriteMetadata(&Metadata{Time: tm}); err == nil {
			t.Errorf("time %v: no error", tm)
		}
	}
}

// TestIncrementalState checks that state is written as deltas between
// periodic full snapshots and that every retained checkpoint restores the
// exact state of its batch.
func TestIncrementalState(t *testing.T) {
	const fullEvery, batches = 4, 11
	s, _ := openTest(t, t.TempDir(), WithFullSnapshotEvery(fullEvery), WithRetain(batches))
	r := rand.New(rand.NewPCG(1, 2))
	words, win := newModel("words", 500), newModel("win/../dow", 50)
	want := map[int][2]map[int]int64{}
	var metas []*Metadata
	for i := range batches {
		if i > 0 {
			words.batch(r, 40)
			win.batch(r, 5)
		}
		c := &Checkpoint{Metadata: testMetadata(i + 1), State: []StateSnapshot{words.snapshot(t), win.snapshot(t)}}
		before := s.Stats()
		if err := s.Write(c); err != nil {
			t.Fatal(err)
		}
		after := s.Stats()
		wantFull := i%fullEvery == 0
		if gotFull := after.FullSnapshots-before.FullSnapshots == 2; gotFull != wantFull {
			t.Fatalf("batch %d: full snapshots written %d, want full=%v", i, after.FullSnapshots-before.FullSnapshots, wantFull)
		}
		if !wantFull && after.Entries-before.Entries > 45 {
			t.Fatalf("batch %d: delta wrote %d entries for at most 45 changes", i, after.Entries-before.Entries)
		}
		if ref := c.Metadata.State["words"]; len(ref.Deltas) != i%fullEvery {
			t.Fatalf("batch %d: ref %+v", i, ref)
		}
		want[i] = [2]map[int]int64{clone(words.live), clone(win.live)}
		metas = append(metas, c.Metadata)
	}
	s2, _ := openTest(t, s.Dir()) // a restart reads what the first store wrote
	for i, m := range metas {
		checkState(t, s2, m, "words", want[i][0])
		checkState(t, s2, m, "win/../dow", want[i][1])
	}
	latest, err := s2.LatestMetadata()
	if err != nil {
		t.Fatal(err)
	}
	checkState(t, s2, latest, "words", words.live)
	if _, err := s2.ReadState(latest, "nope"); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("unknown stream: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "state", "win%2F%2E%2E%2Fdow")); err != nil {
		t.Fatalf("escaped stream directory: %v", err)
	}
}

func clone(m map[int]int64) map[int]int64 {
	out := make(map[int]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestUnchangedStateWritesNoFile(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	words := newModel("words", 10)
	for i := 1; i <= 3; i++ {
		if err := s.Write(&Checkpoint{Metadata: testMetadata(i), State: []StateSnapshot{words.snapshot(t)}}); err != nil {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.FullSnapshots != 1 || st.Deltas != 0 || st.Checkpoints != 3 {
		t.Fatalf("stats %+v", st)
	}
	m, err := s.LatestMetadata()
	if err != nil {
		t.Fatal(err)
	}
	checkState(t, s, m, "words", words.live)
}

func TestRetentionRemovesUnreferencedFiles(t *testing.T) {
	s, _ := openTest(t, t.TempDir(), WithRetain(3), WithFullSnapshotEvery(2))
	words := newModel("words", 20)
	r := rand.New(rand.NewPCG(3, 4))
	for i := 1; i <= 9; i++ {
		words.batch(r, 3)
		if err := s.Write(&Checkpoint{Metadata: testMetadata(i), State: []StateSnapshot{words.snapshot(t)}}); err != nil {
			t.Fatal(err)
		}
	}
	metas, err := s.metaFiles()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"checkpoint-01700000009000000000.meta", "checkpoint-01700000008000000000.meta", "checkpoint-01700000007000000000.meta"}; !slices.Equal(metas, want) {
		t.Fatalf("retained %v, want %v", metas, want)
	}
	// Batches 7, 8, 9 with a full snapshot every 2: 7 is a full (1 3 5 7 9
	// are), 8 its delta, 9 a new full: three state files in all.
	files, err := os.ReadDir(filepath.Join(s.Dir(), "state", "words"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("state files %v, want 3", files)
	}
	for i := 7; i <= 9; i++ {
		m, err := s.readMetadataFile(metaName(batchTime(i).UnixNano()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReadState(m, "words"); err != nil {
			t.Fatal(err)
		}
	}
}

// wordsWriter returns a model stream "words" of 20 keys and a function that
// changes 3 of them (randomly, from seed) and writes batch i's checkpoint
// of it to a store.
func wordsWriter(t *testing.T, seed uint64) (*model, func(s *Store, i int)) {
	words := newModel("words", 20)
	r := rand.New(rand.NewPCG(seed, seed+1))
	return words, func(s *Store, i int) {
		t.Helper()
		words.batch(r, 3)
		require.NoError(t, s.Write(&Checkpoint{Metadata: testMetadata(i), State: []StateSnapshot{words.snapshot(t)}}))
	}
}

// TestRetentionAcrossOpen checks retention by a store that did not write
// the retained checkpoints: it learns what they refer to from their files,
// keeps those state files while they are retained, and removes them after.
func TestRetentionAcrossOpen(t *testing.T) {
	dir := t.TempDir()
	words, write := wordsWriter(t, 5)
	first, _ := openTest(t, dir, WithRetain(3), WithFullSnapshotEvery(100))
	for i := 1; i <= 4; i++ {
		write(first, i)
	}
	// The second store writes a full snapshot (its first since Open), then
	// deltas; until batch 4 leaves retention the first store's chain stays.
	second, _ := openTest(t, dir, WithRetain(3), WithFullSnapshotEvery(100))
	for i := 5; i <= 8; i++ {
		write(second, i)
		metas, err := second.metaFiles()
		require.NoError(t, err)
		for _, name := range metas {
			m, err := second.readMetadataFile(name)
			require.NoError(t, err)
			_, err = second.ReadState(m, "words")
			require.NoError(t, err, "batch %d: retained %s restores", i, name)
		}
	}
	m, err := second.LatestMetadata()
	require.NoError(t, err)
	checkState(t, second, m, "words", words.live)
	require.Len(t, stateFiles(t, dir, "words"), 4, "batches 6-8 hold the full snapshot of 5 and deltas 6, 7 and 8")
}

func TestOpenRemovesTempFiles(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"checkpoint-01700000001000000000.meta.tmp", "state/words/x.full.tmp"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, logs := openTest(t, dir)
	for _, p := range []string{"checkpoint-01700000001000000000.meta.tmp", "state/words/x.full.tmp"} {
		if _, err := os.Stat(filepath.Join(dir, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: %v", p, err)
		}
	}
	if !strings.Contains(logs.String(), "interrupted checkpoint write") {
		t.Errorf("no warning logged: %q", logs.String())
	}
}

// damage describes one way a file goes bad.
var damages = []struct {
	name string
	do   func(b []byte) []byte
}{
	{"empty", func(b []byte) []byte { return nil }},
	{"truncated header", func(b []byte) []byte { return b[:7] }},
	{"truncated payload", func(b []byte) []byte { return b[:len(b)/2] }},
	{"truncated checksum", func(b []byte) []byte { return b[:len(b)-1] }},
	{"trailing bytes", func(b []byte) []byte { return append(b, 0) }},
	{"flipped payload bit", func(b []byte) []byte { b[headerSize+3] ^= 0x10; return b }},
	{"flipped checksum bit", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }},
	{"flipped version bit", func(b []byte) []byte { b[5] ^= 0x04; return b }},
	{"bad magic", func(b []byte) []byte { copy(b, "SLCX"); return b }},
	{"version 0 with good checksum", func(b []byte) []byte { return reframe(b, 0) }},
	{"zeroed", func(b []byte) []byte { clear(b); return b }},
}

// reframe rewrites a file's version and recomputes its checksum.
func reframe(b []byte, version uint16) []byte {
	binary.BigEndian.PutUint16(b[4:], version)
	body := b[:len(b)-trailerSize]
	binary.BigEndian.PutUint32(b[len(body):], crc32.Checksum(body, castagnoli))
	return b
}

func TestCorruptMetadataFallsBack(t *testing.T) {
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			s, logs := openTest(t, t.TempDir())
			for i := 1; i <= 3; i++ {
				if err := s.WriteMetadata(testMetadata(i)); err != nil {
					t.Fatal(err)
				}
			}
			newest := filepath.Join(s.Dir(), metaName(batchTime(3).UnixNano()))
			b, err := os.ReadFile(newest)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(newest, d.do(b), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := s.readMetadataFile(filepath.Base(newest)); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), filepath.Base(newest)) {
				t.Fatalf("reading the damaged file: %v, want ErrCorrupt naming the file", err)
			}
			m, err := s.LatestMetadata()
			if err != nil {
				t.Fatal(err)
			}
			if !m.Time.Equal(batchTime(2)) {
				t.Fatalf("fell back to %v, want %v", m.Time, batchTime(2))
			}
			if !strings.Contains(logs.String(), "skipping unreadable checkpoint") || !strings.Contains(logs.String(), filepath.Base(newest)) {
				t.Fatalf("no warning naming the file: %q", logs.String())
			}
		})
	}
}

func TestAllMetadataCorrupt(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	if err := s.WriteMetadata(testMetadata(1)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir(), metaName(batchTime(1).UnixNano())), []byte("SLCK"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Not a fresh start: that would silently drop the state it held.
	if _, err := s.LatestMetadata(); !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNoCheckpoint) || !strings.Contains(err.Error(), "unreadable") {
		t.Fatalf("got %v", err)
	}
}

func TestMissingStateFileFallsBack(t *testing.T) {
	s, logs := openTest(t, t.TempDir(), WithFullSnapshotEvery(1))
	words := newModel("words", 10)
	for i := 1; i <= 2; i++ {
		words.set(100+i, 1)
		if err := s.Write(&Checkpoint{Metadata: testMetadata(i), State: []StateSnapshot{words.snapshot(t)}}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := s.LatestMetadata()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(s.Dir(), "state", "words", m.State["words"].Full)); err != nil {
		t.Fatal(err)
	}
	m, err = s.LatestMetadata()
	if err != nil {
		t.Fatal(err)
	}
	if !m.Time.Equal(batchTime(1)) || !strings.Contains(logs.String(), "skipping") {
		t.Fatalf("got %v, logs %q", m.Time, logs.String())
	}
}

func TestCorruptStateFile(t *testing.T) {
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			s, _ := openTest(t, t.TempDir())
			words := newModel("words", 10)
			if err := s.Write(&Checkpoint{Metadata: testMetadata(1), State: []StateSnapshot{words.snapshot(t)}}); err != nil {
				t.Fatal(err)
			}
			m, err := s.LatestMetadata()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(s.Dir(), "state", "words", m.State["words"].Full)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, d.do(b), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = s.ReadState(m, "words")
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), m.State["words"].Full) {
				t.Fatalf("got %v, want ErrCorrupt naming the file", err)
			}
		})
	}
}

func TestStateFileForAnotherStreamIsCorrupt(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	a, b := newModel("a", 3), newModel("b", 3)
	if err := s.Write(&Checkpoint{Metadata: testMetadata(1), State: []StateSnapshot{a.snapshot(t), b.snapshot(t)}}); err != nil {
		t.Fatal(err)
	}
	m, err := s.LatestMetadata()
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(s.Dir(), "state", "b", m.State["b"].Full)
	dst := filepath.Join(s.Dir(), "state", "a", m.State["a"].Full)
	if err := os.Rename(src, dst); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadState(m, "a"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v", err)
	}
}

func TestNewerVersionRefused(t *testing.T) {
	s, logs := openTest(t, t.TempDir())
	for i := 1; i <= 2; i++ {
		if err := s.WriteMetadata(testMetadata(i)); err != nil {
			t.Fatal(err)
		}
	}
	newest := filepath.Join(s.Dir(), metaName(batchTime(2).UnixNano()))
	b, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(newest, reframe(b, FormatVersion+1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = s.LatestMetadata()
	if !errors.Is(err, ErrNewerVersion) || !strings.Contains(err.Error(), filepath.Base(newest)) || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("got %v, want ErrNewerVersion naming the file and version", err)
	}
	if strings.Contains(logs.String(), "recovering from an older") {
		t.Fatal("fell back past a newer-version checkpoint")
	}
	// Writing more must not remove the newer file's state, nor the file.
	if err := s.WriteMetadata(testMetadata(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(newest); err != nil {
		t.Fatal(err)
	}
}

func TestCheckGraph(t *testing.T) {
	m := testMetadata(1)
	same := slices.Clone(m.Streams)
	same[1].Name = "renamed" // names are informative only
	if err := m.CheckGraph(same); err != nil {
		t.Fatal(err)
	}
	for name, streams := range map[string][]StreamIdentity{
		"kind differs": {m.Streams[0], {ID: "words", Kind: "ReduceByKeyAndWindow"}},
		"id differs":   {m.Streams[0], {ID: "other", Kind: "UpdateStateByKey"}},
		"extra":        append(slices.Clone(m.Streams), StreamIdentity{ID: "x", Kind: "Map"}),
		"missing":      m.Streams[:1],
	} {
		err := m.CheckGraph(streams)
		if !errors.Is(err, ErrGraphMismatch) {
			t.Errorf("%s: got %v", name, err)
			continue
		}
		if !strings.Contains(err.Error(), "stream 1") && !strings.Contains(err.Error(), "stream 2 x") {
			t.Errorf("%s: %v does not say which stream", name, err)
		}
	}
}

func TestFullSnapshotNeedsAll(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	err := s.Write(&Checkpoint{Metadata: testMetadata(1), State: []StateSnapshot{{StreamID: "words"}}})
	if err == nil || !strings.Contains(err.Error(), "All is nil") {
		t.Fatalf("got %v", err)
	}
	if _, err := s.LatestMetadata(); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("a failed write left a checkpoint: %v", err)
	}
}

func TestStateFileNames(t *testing.T) {
	name := newStateFileName(batchTime(1).UnixNano(), fullSuffix)
	if !validStateFile(name) || !validStateFile(newStateFileName(5, deltaSuffix)) {
		t.Fatalf("%s not valid", name)
	}
	for _, bad := range []string{"", "../../etc/passwd", "01700000001000000000-0000000g.full", "01700000001000000000-00000000.meta", "x1700000001000000000-00000000.full"} {
		if validStateFile(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
	for id, want := range map[string]string{"": "%", "..": "%2E%2E", "a/b": "a%2Fb", "ok-1_x": "ok-1_x"} {
		if got := escapeStreamID(id); got != want {
			t.Errorf("escape(%q) = %q, want %q", id, got, want)
		}
	}
}

// TestFullSnapshotByCompaction hands the store only changed keys after the
// first checkpoint; the periodic full snapshots are built from the files on
// disk, and every checkpoint restores exactly.
func TestFullSnapshotByCompaction(t *testing.T) {
	s, _ := openTest(t, t.TempDir(), WithFullSnapshotEvery(3), WithRetain(2))
	words := newModel("words", 200)
	r := rand.New(rand.NewPCG(9, 10))
	for i := 1; i <= 8; i++ {
		if i > 1 {
			words.batch(r, 20)
		}
		st := words.snapshot(t)
		if i > 1 {
			st.All = nil
		}
		c := &Checkpoint{Metadata: testMetadata(i), State: []StateSnapshot{st}}
		if err := s.Write(c); err != nil {
			t.Fatal(err)
		}
		if ref := c.Metadata.State["words"]; len(ref.Deltas) != (i-1)%3 {
			t.Fatalf("batch %d: %+v", i, ref)
		}
		checkState(t, s, c.Metadata, "words", words.live)
	}
	if st := s.Stats(); st.FullSnapshots != 3 {
		t.Fatalf("%+v: want full snapshots at batches 1, 4 and 7", st)
	}
	s2, _ := openTest(t, s.Dir())
	err := s2.Write(&Checkpoint{Metadata: testMetadata(9), State: []StateSnapshot{{StreamID: "words"}}})
	if err == nil || !strings.Contains(err.Error(), "first checkpoint since Open") {
		t.Fatalf("first write after Open without All: %v", err)
	}
}

// TestRollingChain checks a chain whose stream rewrites its keys a range at
// a time (StateSnapshot.Base): the store drops the files older than Base,
// the full snapshot too, never writes a full snapshot of its own accord
// although the deltas outgrow the full snapshot, and the state reads back
// right at every checkpoint, from a store opened afresh too.
func TestRollingChain(t *testing.T) {
	s, _ := openTest(t, t.TempDir(), WithRetain(2))
	m := newModel("words", 40)
	first := m.snapshot(t)
	first.Base = batchTime(1)
	require.NoError(t, s.Write(&Checkpoint{Metadata: testMetadata(1), State: []StateSnapshot{first}}))
	r := rand.New(rand.NewPCG(5, 6))
	const cycle = 4 // checkpoints to rewrite every key: those k%4 == j at the j-th
	var meta *Metadata
	for i := 2; i <= 14; i++ {
		m.batch(r, 3)
		snap := m.snapshot(t)
		snap.All = nil
		for k, v := range m.live {
			if k%cycle == (i-2)%cycle {
				e, err := EncodeEntry(k, v)
				require.NoError(t, err)
				snap.Changed.Append(e)
			}
		}
		// The oldest checkpoint still needed: the full snapshot until the
		// first cycle is complete, then the first of the last cycle.
		base := 1
		if i-2 >= cycle {
			base = i - cycle + 1
		}
		snap.Base = batchTime(base)
		meta = testMetadata(i)
		require.NoError(t, s.Write(&Checkpoint{Metadata: meta, State: []StateSnapshot{snap}}))
		ref := meta.State[m.id]
		require.Equal(t, base == 1, ref.Full != "", "batch %d: %+v", i, ref)
		require.Len(t, ref.Deltas, i-max(base, 2)+1, "batch %d: %+v", i, ref)
		checkState(t, s, meta, m.id, m.live)
	}
	require.Equal(t, int64(1), s.Stats().FullSnapshots)
	require.Zero(t, s.Stats().Compactions)

	// Only the files of the two retained checkpoints are left.
	files, err := os.ReadDir(filepath.Join(s.Dir(), "state", "words"))
	require.NoError(t, err)
	require.Len(t, files, cycle+1, "the deltas of batches 10 to 14")

	s2, _ := openTest(t, s.Dir())
	latest, err := s2.LatestMetadata()
	require.NoError(t, err)
	require.Equal(t, meta.Time, latest.Time)
	checkState(t, s2, latest, m.id, m.live)
}

// TestCollectKeepsStateOfUnreadableMetadata checks that a retained metadata
// file the store cannot read for a reason other than corruption (here a
// directory in its place, as a transient I/O error would do) keeps every
// state file: it may name any of them. (Such a file used to be treated as
// unusable, and the files only it named were deleted.)
func TestCollectKeepsStateOfUnreadableMetadata(t *testing.T) {
	dir := t.TempDir()
	_, write := wordsWriter(t, 7)
	first, _ := openTest(t, dir, WithRetain(3), WithFullSnapshotEvery(100))
	for i := 1; i <= 4; i++ {
		write(first, i)
	}
	before := stateFiles(t, dir, "words")
	metas, err := first.metaFiles()
	require.NoError(t, err)
	latest := filepath.Join(dir, metas[0])
	require.NoError(t, os.Remove(latest))
	require.NoError(t, os.Symlink(filepath.Base(latest), latest)) // reading it fails, not as corrupt
	second, _ := openTest(t, dir, WithRetain(3), WithFullSnapshotEvery(100))
	write(second, 5)
	after := stateFiles(t, dir, "words")
	for _, f := range before {
		require.Contains(t, after, f, "state file of a retained checkpoint removed")
	}
}

// A run restarted from a checkpoint writes checkpoints named before the
// later ones of the run that crashed; its first one removes those, so that
// a restart after a second crash does not go back to the older run's
// recovery point (whose input a write-ahead log may have dropped).
func TestWriteRemovesCheckpointsOfTheCrashedRun(t *testing.T) {
	dir := t.TempDir()
	first, _ := openTest(t, dir)
	for i := 5; i <= 7; i++ {
		if err := first.Write(&Checkpoint{Metadata: testMetadata(i)}); err != nil {
			t.Fatal(err)
		}
	}
	second, _ := openTest(t, dir)
	if err := second.Write(&Checkpoint{Metadata: testMetadata(5)}); err != nil {
		t.Fatal(err)
	}
	names, err := second.metaFiles()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{metaName(batchTime(5).UnixNano())}; !slices.Equal(names, want) {
		t.Fatalf("metadata files %v, want %v", names, want)
	}
	m, err := second.LatestMetadata()
	if err != nil || !m.Time.Equal(batchTime(5)) {
		t.Fatalf("latest %v, %v: want batch 5", m, err)
	}
	// Its own later checkpoints stay when it writes an earlier one (a
	// graceful stop's final checkpoint is of the last completed batch).
	for _, i := range []int{7, 6} {
		if err := second.Write(&Checkpoint{Metadata: testMetadata(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if names, _ = second.metaFiles(); len(names) != 3 {
		t.Fatalf("metadata files %v, want 3", names)
	}
}
