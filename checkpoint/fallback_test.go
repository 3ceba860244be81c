package checkpoint

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fallbackChain writes batches 1..n of stream "words" (10 keys, one changed
// a batch): a full snapshot at batch 1, then one delta a batch, every
// checkpoint naming the full snapshot. It returns the metadata of each
// batch (index i for batch i) and the live state as of each.
func fallbackChain(t *testing.T, s *Store, n int) ([]*Metadata, []map[int]int64) {
	t.Helper()
	words := newModel("words", 10)
	metas := make([]*Metadata, n+1)
	states := make([]map[int]int64, n+1)
	for i := 1; i <= n; i++ {
		if i > 1 {
			words.set(i, int64(100*i))
		}
		m := testMetadata(i)
		if err := s.Write(&Checkpoint{Metadata: m, State: []StateSnapshot{words.snapshot(t)}}); err != nil {
			t.Fatal(err)
		}
		metas[i], states[i] = m, maps.Clone(words.live)
	}
	if ref := metas[n].State["words"]; ref.Full != metas[1].State["words"].Full || len(ref.Deltas) != n-1 {
		t.Fatalf("batch %d names %+v, want batch 1's full snapshot and %d deltas", n, ref, n-1)
	}
	return metas, states
}

// sizeDamages change a state file's length or its frame header: what
// LatestMetadata's check of the header finds without reading the file.
var sizeDamages = []struct {
	name string
	do   func(b []byte) []byte
}{
	{"cut one byte", func(b []byte) []byte { return b[:len(b)-1] }},
	{"cut to half", func(b []byte) []byte { return b[:len(b)/2] }},
	{"cut within the header", func(b []byte) []byte { return b[:7] }},
	{"emptied", func(b []byte) []byte { return nil }},
	{"one garbage byte appended", func(b []byte) []byte { return append(b, 0) }},
	{"garbage appended", func(b []byte) []byte { return append(b, "SLCK garbage after the checksum"...) }},
	{"length field changed", func(b []byte) []byte { b[headerSize-1]++; return b }},
	{"bad magic", func(b []byte) []byte { copy(b, "SLCX"); return b }},
}

func damageFile(t *testing.T, path string, damage func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, damage(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDamagedNewestDeltaFallsBack damages the newest checkpoint's delta:
// LatestMetadata skips that checkpoint, with a warning naming the file and
// the damage, for the previous one, whose state reads as it was.
func TestDamagedNewestDeltaFallsBack(t *testing.T) {
	for _, d := range sizeDamages {
		t.Run(d.name, func(t *testing.T) {
			s, logs := openTest(t, t.TempDir())
			metas, states := fallbackChain(t, s, 4)
			deltas := metas[4].State["words"].Deltas
			newest := deltas[len(deltas)-1]
			damageFile(t, filepath.Join(s.Dir(), "state", "words", newest), d.do)

			m, err := s.LatestMetadata()
			if err != nil {
				t.Fatal(err)
			}
			if !m.Time.Equal(batchTime(3)) {
				t.Fatalf("restored batch %v, want %v", m.Time, batchTime(3))
			}
			checkState(t, s, m, "words", states[3])
			for _, want := range []string{"skipping unreadable checkpoint", metaName(batchTime(4).UnixNano()), newest, ErrCorrupt.Error(), "recovering from an older checkpoint"} {
				if !strings.Contains(logs.String(), want) {
					t.Fatalf("the warning does not say %q: %s", want, logs.String())
				}
			}
		})
	}
}

// TestTruncatedDeltaNamesLength checks the reason the warning gives for
// the reviewer's case: the newest delta cut by one byte.
func TestTruncatedDeltaNamesLength(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	metas, _ := fallbackChain(t, s, 4)
	deltas := metas[4].State["words"].Deltas
	path := filepath.Join(s.Dir(), "state", "words", deltas[len(deltas)-1])
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	damageFile(t, path, func(b []byte) []byte { return b[:len(b)-1] })
	err = s.checkStateFiles(metas[4])
	room := info.Size() - int64(headerSize+trailerSize)
	want := fmt.Sprintf("payload length %d but file has room for %d", room, room-1)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
		t.Fatalf("got %v, want ErrCorrupt naming %s and saying %q", err, path, want)
	}
	if err := s.checkStateFiles(metas[3]); err != nil {
		t.Fatalf("batch 3 does not name the damaged file: %v", err)
	}
}

// TestDamagedFileOfEveryCheckpoint damages the full snapshot that every
// retained checkpoint names: none is usable, and LatestMetadata says so
// as it does when every metadata file is corrupt (ErrCorrupt, not a fresh
// start), after
// a warning for each naming the file.
func TestDamagedFileOfEveryCheckpoint(t *testing.T) {
	for _, d := range sizeDamages {
		t.Run(d.name, func(t *testing.T) {
			s, logs := openTest(t, t.TempDir())
			metas, _ := fallbackChain(t, s, 4)
			full := metas[1].State["words"].Full
			damageFile(t, filepath.Join(s.Dir(), "state", "words", full), d.do)

			m, err := s.LatestMetadata()
			if !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNoCheckpoint) || !strings.Contains(err.Error(), "all 4 metadata files") {
				t.Fatalf("got %v, %v; want ErrCorrupt for all 4 metadata files", m, err)
			}
			if n := strings.Count(logs.String(), full); n != 4 {
				t.Fatalf("%d warnings name %s, want 4: %s", n, full, logs.String())
			}
		})
	}
}

// TestDamagedSegmentFallsBack damages the segment file that only the
// newest checkpoint of a segmented stream names.
func TestDamagedSegmentFallsBack(t *testing.T) {
	s, logs := openTest(t, t.TempDir())
	w := newWindowModel("window", 3, 5)
	var wants []map[int]int64
	for i := 1; i <= 2; i++ {
		st, want := w.snapshot(t, i)
		if err := s.Write(&Checkpoint{Metadata: testMetadata(i), State: []StateSnapshot{st}}); err != nil {
			t.Fatal(err)
		}
		w.wrote(i)
		wants = append(wants, want)
	}
	m, err := s.LatestMetadata()
	if err != nil {
		t.Fatal(err)
	}
	segs := m.State["window"].Segments
	newest := segs[len(segs)-1].File
	damageFile(t, filepath.Join(s.Dir(), "state", "window", newest), func(b []byte) []byte { return b[:len(b)-1] })

	if m, err = s.LatestMetadata(); err != nil {
		t.Fatal(err)
	}
	if !m.Time.Equal(batchTime(1)) || !strings.Contains(logs.String(), newest) {
		t.Fatalf("restored batch %v, logs %s; want batch %v and a warning naming %s", m.Time, logs.String(), batchTime(1), newest)
	}
	checkState(t, s, m, "window", wants[0])
}

// TestFallbackThenWriteOn restarts from the checkpoint before a damaged
// one and writes on with a short retention: the restored checkpoint's
// files stay until no retained checkpoint names them, the damaged file
// goes once the checkpoint naming it is replaced, and every checkpoint
// written after the fallback restores its state.
func TestFallbackThenWriteOn(t *testing.T) {
	dir := t.TempDir()
	first, _ := openTest(t, dir, WithRetain(2))
	metas, states := fallbackChain(t, first, 4)
	deltas := metas[4].State["words"].Deltas
	damaged := filepath.Join(dir, "state", "words", deltas[len(deltas)-1])
	damageFile(t, damaged, func(b []byte) []byte { return b[:len(b)-1] })

	s, _ := openTest(t, dir, WithRetain(2)) // the restart
	m, err := s.LatestMetadata()
	if err != nil {
		t.Fatal(err)
	}
	if !m.Time.Equal(batchTime(3)) {
		t.Fatalf("restored batch %v, want %v", m.Time, batchTime(3))
	}
	words := newModel("words", 0)
	for k, v := range states[3] {
		words.set(k, v)
	}
	for i := 4; i <= 6; i++ {
		words.set(i, int64(1000*i))
		if err := s.Write(&Checkpoint{Metadata: testMetadata(i), State: []StateSnapshot{words.snapshot(t)}}); err != nil {
			t.Fatal(err)
		}
		if i == 4 {
			if _, err := os.Stat(damaged); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the damaged file, which no retained checkpoint names, is still there: %v", err)
			}
			checkState(t, s, m, "words", states[3]) // batch 3 is still retained
		}
		latest, err := s.LatestMetadata()
		if err != nil {
			t.Fatal(err)
		}
		if !latest.Time.Equal(batchTime(i)) {
			t.Fatalf("after writing batch %d, latest is %v", i, latest.Time)
		}
		checkState(t, s, latest, "words", words.live)
	}
}
