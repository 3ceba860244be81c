package checkpoint

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// windowModel is a segmented stream as an inverse window keeps it: one
// segment per batch, holding keys batch*1000+k, the newest `keep` batches
// live.
type windowModel struct {
	id      string
	keep    int
	perSeg  int
	written map[string]bool // segments handed to the store and not since dropped
}

func newWindowModel(id string, keep, perSeg int) *windowModel {
	return &windowModel{id: id, keep: keep, perSeg: perSeg, written: map[string]bool{}}
}

func segName(batch int) string { return fmt.Sprintf("batch-%d", batch) }

// snapshot lists the segments of batch i's window: the new batch with its
// entries, the older ones kept (or handed over again when not written).
func (w *windowModel) snapshot(t testing.TB, i int) (StateSnapshot, map[int]int64) {
	st := StateSnapshot{StreamID: w.id, Segments: []Segment{}}
	want := map[int]int64{}
	for b := max(1, i-w.keep+1); b <= i; b++ {
		seg := Segment{Name: segName(b)}
		if w.written[seg.Name] {
			seg.Keep = true
		}
		for k := range w.perSeg {
			key, v := b*1000+k, int64(b*k)
			want[key] = v
			if !seg.Keep {
				e, err := EncodeEntry(key, v)
				if err != nil {
					t.Fatal(err)
				}
				seg.Entries.Append(e)
			}
		}
		st.Segments = append(st.Segments, seg)
	}
	return st, want
}

// written records that the snapshot of batch i was written.
func (w *windowModel) wrote(i int) {
	clear(w.written)
	for b := max(1, i-w.keep+1); b <= i; b++ {
		w.written[segName(b)] = true
	}
}

func stateFiles(t testing.TB, dir, id string) []string {
	entries, err := os.ReadDir(filepath.Join(dir, "state", escapeStreamID(id)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestSegmentsWrittenOnce checks that a segmented stream writes each
// segment once, whatever the number of segments kept, that every retained
// checkpoint restores exactly its segments, and that the files of segments
// no retained checkpoint lists are removed.
func TestSegmentsWrittenOnce(t *testing.T) {
	const keep, perSeg, batches, retain = 6, 50, 20, 3
	s, _ := openTest(t, t.TempDir(), WithRetain(retain))
	w := newWindowModel("window", keep, perSeg)
	wants := map[int]map[int]int64{}
	var metas []*Metadata
	for i := 1; i <= batches; i++ {
		st, want := w.snapshot(t, i)
		before := s.Stats()
		c := &Checkpoint{Metadata: testMetadata(i), State: []StateSnapshot{st}}
		if err := s.Write(c); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		w.wrote(i)
		after := s.Stats()
		if got := after.Segments - before.Segments; got != 1 {
			t.Fatalf("batch %d: wrote %d segment files, want 1 (the new batch)", i, got)
		}
		if got := after.Entries - before.Entries; got != perSeg {
			t.Fatalf("batch %d: wrote %d entries, want %d", i, got, perSeg)
		}
		if got := len(c.Metadata.State["window"].Segments); got != min(i, keep) {
			t.Fatalf("batch %d: %d segments referenced, want %d", i, got, min(i, keep))
		}
		wants[i] = want
		metas = append(metas, c.Metadata)
		checkState(t, s, c.Metadata, "window", want)
		// Files: the segments of the retained checkpoints, no more.
		if got, want := len(stateFiles(t, s.Dir(), "window")), min(i, keep+retain-1); got != want {
			t.Fatalf("batch %d: %d state files on disk, want %d", i, got, want)
		}
	}
	s2, _ := openTest(t, s.Dir())
	for _, m := range metas[len(metas)-retain:] {
		i := int(m.Time.Unix() - batchTime(0).Unix())
		checkState(t, s2, m, "window", wants[i])
	}
}

// TestSegmentsRefused checks the errors of malformed segmented snapshots:
// a segment to keep that the store has not written (never, or not since
// Open), a name listed twice, no segment at all, segments with Changed.
func TestSegmentsRefused(t *testing.T) {
	dir := t.TempDir()
	s, _ := openTest(t, dir)
	one := EntriesOf(must(EncodeEntry(1, int64(1))))
	write := func(s *Store, i int, st StateSnapshot) error {
		st.StreamID = "window"
		return s.Write(&Checkpoint{Metadata: testMetadata(i), State: []StateSnapshot{st}})
	}
	for _, tc := range []struct {
		name string
		st   StateSnapshot
		want string
	}{
		{"unknown keep", StateSnapshot{Segments: []Segment{{Name: "a", Keep: true}}}, `segment "a" is to be kept but the store has not written it since Open`},
		{"twice", StateSnapshot{Segments: []Segment{{Name: "a", Entries: one}, {Name: "a", Entries: one}}}, `segment "a" is listed twice`},
		{"none", StateSnapshot{Segments: []Segment{}}, "at least one segment"},
		{"with changed", StateSnapshot{Segments: []Segment{{Name: "a", Entries: one}}, Changed: one}, "no Changed or All"},
	} {
		if err := write(s, 1, tc.st); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "stream window") {
			t.Errorf("%s: got %v, want an error naming the stream and saying %q", tc.name, err, tc.want)
		}
	}
	if err := write(s, 1, StateSnapshot{Segments: []Segment{{Name: "a", Entries: one}}}); err != nil {
		t.Fatal(err)
	}
	if err := write(s, 2, StateSnapshot{Segments: []Segment{{Name: "a", Keep: true}}}); err != nil {
		t.Fatal(err)
	}
	// A metadata-only checkpoint keeps the stream's segments.
	if err := write(s, 3, StateSnapshot{}); err != nil {
		t.Fatal(err)
	}
	m, err := s.LatestMetadata()
	if err != nil {
		t.Fatal(err)
	}
	checkState(t, s, m, "window", map[int]int64{1: 1})
	s2, _ := openTest(t, dir)
	if err := write(s2, 4, StateSnapshot{Segments: []Segment{{Name: "a", Keep: true}}}); err == nil || !strings.Contains(err.Error(), "since Open") {
		t.Fatalf("keep after Open: %v", err)
	}
	if err := write(s2, 4, StateSnapshot{Segments: []Segment{{Name: "a", Entries: one}}}); err != nil {
		t.Fatalf("handing the segment over again after Open: %v", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestSegmentsCrashAtEveryStep crashes the write of a segmented checkpoint
// before each of its steps, reopens the directory and checks that the
// newest readable checkpoint is the previous batch or this one with exactly
// its segments, and that writing goes on (every segment handed over again,
// as after a restart).
func TestSegmentsCrashAtEveryStep(t *testing.T) {
	const keep, perSeg, crashed = 3, 20, 5
	run := func(t *testing.T, dir string, faults func(step, path string) error) (*windowModel, map[int]map[int]int64, error) {
		s, _ := openTest(t, dir, WithRetain(2))
		w := newWindowModel("window", keep, perSeg)
		wants := map[int]map[int]int64{}
		for i := 1; i <= crashed; i++ {
			st, want := w.snapshot(t, i)
			wants[i] = want
			if i == crashed {
				s.faults = faults
			}
			if err := s.Write(&Checkpoint{Metadata: testMetadata(i), State: []StateSnapshot{st}}); err != nil {
				return w, wants, err
			}
			w.wrote(i)
		}
		return w, wants, nil
	}
	var points []faultPoint
	dryDir := t.TempDir()
	if _, _, err := run(t, dryDir, func(step, path string) error {
		points = append(points, faultPoint{step, strings.TrimPrefix(path, dryDir)})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	metaRenamed := metaRenameStep(t, points)
	if !strings.Contains(fmt.Sprint(points), segSuffix) {
		t.Fatalf("dry run: no segment written among %v", points)
	}
	for k, p := range points {
		t.Run(fmt.Sprintf("step%02d-%s", k, p.step), func(t *testing.T) {
			dir := t.TempDir()
			calls := 0
			w, wants, err := run(t, dir, func(step, path string) error {
				calls++
				if calls-1 == k {
					return errors.New("power cut")
				}
				return nil
			})
			if !errors.Is(err, errCrash) {
				t.Fatalf("write: got %v, want the injected crash", err)
			}
			s, m, want := reopenAfterCrash(t, dir, k > metaRenamed, crashed, WithRetain(2))
			checkState(t, s, m, "window", wants[want])
			clear(w.written) // a new store has written nothing yet
			for i := crashed + 1; i <= crashed+2; i++ {
				st, want := w.snapshot(t, i)
				if err := s.Write(&Checkpoint{Metadata: testMetadata(i), State: []StateSnapshot{st}}); err != nil {
					t.Fatal(err)
				}
				w.wrote(i)
				m, err := s.LatestMetadata()
				if err != nil {
					t.Fatal(err)
				}
				checkState(t, s, m, "window", want)
			}
		})
	}
}

// TestFullSnapshotWhenDeltasOutgrowIt checks the default rule: deltas until
// the entries written in deltas since the last full snapshot would exceed
// that snapshot's entries, then a full snapshot by compaction, so the
// entries written stay within about twice the entries changed and every
// checkpoint restores exactly.
func TestFullSnapshotWhenDeltasOutgrowIt(t *testing.T) {
	const keys, perBatch, batches = 1000, 150, 25
	s, _ := openTest(t, t.TempDir(), WithRetain(batches))
	m := newModel("words", keys)
	r := rand.New(rand.NewPCG(5, 6))
	deltaEntries, fullEntries := 0, keys
	changedTotal := 0
	for i := 1; i <= batches; i++ {
		if i > 1 {
			for _, k := range r.Perm(keys)[:perBatch] { // distinct keys: a delta of perBatch entries
				if r.IntN(5) == 0 {
					m.del(k)
				} else {
					m.set(k, r.Int64())
				}
			}
			changedTotal += perBatch
		}
		live := maps.Clone(m.live)
		st := m.snapshot(t)
		if i > 1 {
			st.All = nil // full snapshots after the first come from the files
		}
		before := s.Stats()
		c := &Checkpoint{Metadata: testMetadata(i), State: []StateSnapshot{st}}
		if err := s.Write(c); err != nil {
			t.Fatal(err)
		}
		after := s.Stats()
		wantFull := i == 1 || deltaEntries+perBatch > fullEntries
		if gotFull := after.FullSnapshots > before.FullSnapshots; gotFull != wantFull {
			t.Fatalf("batch %d: full snapshot %v, want %v (deltas %d entries, full %d)", i, gotFull, wantFull, deltaEntries, fullEntries)
		}
		if wantFull {
			deltaEntries, fullEntries = 0, len(live)
		} else {
			deltaEntries += perBatch
		}
		checkState(t, s, c.Metadata, "words", live)
	}
	st := s.Stats()
	if st.FullSnapshots < 3 {
		t.Fatalf("%+v: want several compactions over %d changed entries", st, changedTotal)
	}
	if limit := int64(keys + 2*changedTotal + keys); st.Entries > limit {
		t.Fatalf("wrote %d entries for %d changes over %d keys, want at most %d", st.Entries, changedTotal, keys, limit)
	}
}

// TestDeltaWithRepeatedKeys checks that a key listed more than once in
// Changed takes its last entry: in a delta read back, in a compaction, and
// after a failed write carried into the next delta.
func TestDeltaWithRepeatedKeys(t *testing.T) {
	s, _ := openTest(t, t.TempDir(), WithFullSnapshotEvery(2))
	set := func(k int, v int64) Entry { return must(EncodeEntry(k, v)) }
	del := func(k int) Entry { return must(DeletedEntry(k)) }
	write := func(i int, changed []Entry, all map[int]int64) *Metadata {
		st := StateSnapshot{StreamID: "words", Changed: EntriesOf(changed...)}
		if all != nil {
			st.All = allEntries(t, all)
		}
		c := &Checkpoint{Metadata: testMetadata(i), State: []StateSnapshot{st}}
		require.NoError(t, s.Write(c))
		return c.Metadata
	}
	write(1, []Entry{set(1, 1), set(2, 2)}, map[int]int64{1: 1, 2: 2})
	m := write(2, []Entry{set(1, 10), set(1, 11), del(2), set(2, 20), set(3, 3), del(3)}, nil)
	checkState(t, s, m, "words", map[int]int64{1: 11, 2: 20})
	m = write(3, []Entry{del(1), set(1, 12), set(4, 4), set(4, 40)}, nil) // a full snapshot, by compaction
	require.Empty(t, m.State["words"].Deltas)
	checkState(t, s, m, "words", map[int]int64{1: 12, 2: 20, 4: 40})
	s.faults = func(step, path string) error {
		if step == stepRename && strings.HasSuffix(path, metaSuffix) {
			return errors.New("disk full")
		}
		return nil
	}
	require.Error(t, s.Write(&Checkpoint{Metadata: testMetadata(4), State: []StateSnapshot{{StreamID: "words", Changed: EntriesOf(set(5, 5), set(5, 50))}}}))
	s.faults = nil
	m = write(5, []Entry{set(5, 51), del(4)}, nil)
	checkState(t, s, m, "words", map[int]int64{1: 12, 2: 20, 5: 51})
}

// TestStateRefShapeChecked checks that metadata whose state reference has
// both state files (a full snapshot, deltas) and segments, or neither,
// reads as corrupt, and that deltas alone (a rolling chain) do not.
func TestStateRefShapeChecked(t *testing.T) {
	full, seg := newStateFileName(1, fullSuffix), newStateFileName(1, segSuffix)
	for name, ref := range map[string]StateRef{
		"both":                {Full: full, Segments: []SegmentRef{{Name: "a", File: seg}}},
		"neither":             {},
		"deltas and segments": {Deltas: []string{newStateFileName(1, deltaSuffix)}, Segments: []SegmentRef{{Name: "a", File: seg}}},
	} {
		m := testMetadata(1)
		m.State = map[string]StateRef{"window": ref}
		data, err := encodeMetadata(m)
		require.NoError(t, err)
		_, err = decodeMetadata(data)
		require.ErrorIs(t, err, ErrCorrupt, name)
	}
	for _, ref := range []StateRef{{Full: full}, {Segments: []SegmentRef{{Name: "a", File: seg}}}, {Deltas: []string{newStateFileName(1, deltaSuffix)}}} {
		m := testMetadata(1)
		m.State = map[string]StateRef{"window": ref}
		data, err := encodeMetadata(m)
		require.NoError(t, err)
		_, err = decodeMetadata(data)
		require.NoError(t, err)
	}
}

// TestStreamChangesForm checks a stream going from segments to keyed state
// (which needs a full snapshot, All) and back.
func TestStreamChangesForm(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	one := must(EncodeEntry(1, int64(1)))
	write := func(i int, st StateSnapshot) (*Metadata, error) {
		st.StreamID = "s"
		c := &Checkpoint{Metadata: testMetadata(i), State: []StateSnapshot{st}}
		return c.Metadata, s.Write(c)
	}
	_, err := write(1, StateSnapshot{Segments: []Segment{{Name: "a", Entries: EntriesOf(one)}}})
	require.NoError(t, err)
	_, err = write(2, StateSnapshot{Changed: EntriesOf(must(EncodeEntry(2, int64(2))))})
	require.ErrorContains(t, err, "must be a full snapshot")
	m, err := write(3, StateSnapshot{Changed: EntriesOf(must(EncodeEntry(2, int64(2)))), All: allEntries(t, map[int]int64{2: 2})})
	require.NoError(t, err)
	require.NotEmpty(t, m.State["s"].Full)
	checkState(t, s, m, "s", map[int]int64{2: 2})
	m, err = write(4, StateSnapshot{Segments: []Segment{{Name: "b", Entries: EntriesOf(one)}}})
	require.NoError(t, err)
	require.Empty(t, m.State["s"].Full)
	checkState(t, s, m, "s", map[int]int64{1: 1})
}

// TestCheckpointWithoutSegmentsAfterUnwrittenOnes: once a checkpoint with a
// stream's segments fails (here its metadata, after the segments) or is
// dropped by the writer's full queue, a checkpoint without segments is
// refused until segments are written again: it would name the older
// segments with its own batch's positions, and a restore from it would miss
// the batches in between. Keyed streams need no such rule: their changes
// are carried (TestFailedWriteCarriesChanges).
func TestCheckpointWithoutSegmentsAfterUnwrittenOnes(t *testing.T) {
	one, two := EntriesOf(must(EncodeEntry(1, int64(1)))), EntriesOf(must(EncodeEntry(2, int64(2))))
	snap := func(segs ...Segment) []StateSnapshot {
		return []StateSnapshot{{StreamID: "window", Segments: segs}}
	}
	keep := func() []StateSnapshot { // a checkpoint without data
		return []StateSnapshot{{StreamID: "window"}}
	}
	for _, how := range []string{"failed", "dropped"} {
		t.Run(how, func(t *testing.T) {
			s, _ := openTest(t, t.TempDir())
			write := func(i int, st []StateSnapshot) error {
				return s.Write(&Checkpoint{Metadata: testMetadata(i), State: st})
			}
			require.NoError(t, write(1, snap(Segment{Name: "a", Entries: one})))
			unwritten := &Checkpoint{Metadata: testMetadata(2), State: snap(Segment{Name: "a", Keep: true}, Segment{Name: "b", Entries: two})}
			if how == "failed" {
				s.faults = func(step, path string) error {
					if step == stepRename && strings.HasSuffix(path, metaSuffix) {
						return errors.New("disk full")
					}
					return nil
				}
				require.Error(t, s.Write(unwritten))
				s.faults = nil
			} else {
				s.addDropped(s.takeDropped(), unwritten)
			}
			err := write(3, keep())
			require.ErrorContains(t, err, "stream window")
			require.ErrorContains(t, err, "last checkpoint with segments was not written")
			m, err := s.LatestMetadata()
			require.NoError(t, err)
			require.Equal(t, batchTime(1), m.Time, "the newest checkpoint is still batch 1's")
			checkState(t, s, m, "window", map[int]int64{1: 1})

			require.NoError(t, write(4, snap(Segment{Name: "a", Keep: true}, Segment{Name: "b", Entries: two})))
			require.NoError(t, write(5, keep()), "segments written again")
			m, err = s.LatestMetadata()
			require.NoError(t, err)
			require.Equal(t, batchTime(5), m.Time)
			checkState(t, s, m, "window", map[int]int64{1: 1, 2: 2})
		})
	}
}
