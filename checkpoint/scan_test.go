package checkpoint

import (
	"errors"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestScanState checks that ScanState yields a full snapshot's entries and
// then each delta's, in order, so that applying them rebuilds the state
// ReadState returns; that a damaged file fails the scan before any entry
// is yielded; and that an error from the callback stops it.
func TestScanState(t *testing.T) {
	s, _ := openTest(t, t.TempDir(), WithFullSnapshotEvery(1<<20))
	m := newModel("words", 300)
	r := rand.New(rand.NewPCG(7, 7))
	var meta *Metadata
	for i := 1; i <= 5; i++ {
		if i > 1 {
			m.batch(r, 80) // updates, insertions and deletions in the deltas
		}
		c := &Checkpoint{Metadata: testMetadata(i), State: []StateSnapshot{m.snapshot(t)}}
		if err := s.Write(c); err != nil {
			t.Fatal(err)
		}
		meta = c.Metadata
	}
	ref := meta.State["words"]
	if ref.Full == "" || len(ref.Deltas) != 4 {
		t.Fatalf("checkpoint refers to %+v, want a full snapshot and 4 deltas", ref)
	}
	scanned := map[string][]byte{}
	deletes := 0
	err := s.ScanState(meta, "words", func(key string, value []byte, deleted bool) error {
		if deleted {
			deletes++
			delete(scanned, key)
		} else {
			scanned[key] = value
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if deletes == 0 {
		t.Fatal("no deletion scanned: the deltas were not read after the full snapshot")
	}
	read, err := s.ReadState(meta, "words")
	if err != nil {
		t.Fatal(err)
	}
	if !maps.EqualFunc(scanned, read, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Fatalf("scanned %d keys, ReadState %d", len(scanned), len(read))
	}
	got, err := DecodeState[int, int64](scanned)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, m.live) {
		t.Fatalf("scanned state: %s", diffSummary(got, m.live))
	}

	// The callback's error stops the scan and is returned.
	stop := errors.New("stop")
	calls := 0
	err = s.ScanState(meta, "words", func(string, []byte, bool) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Fatalf("callback failing on call 3: %d calls, error %v", calls, err)
	}

	// A delta that is whole but not the file expected (the full
	// snapshot's bytes in its place) fails the scan before the first entry.
	dir := filepath.Join(s.Dir(), stateDir, escapeStreamID("words"))
	last := filepath.Join(dir, ref.Deltas[len(ref.Deltas)-1])
	data, err := os.ReadFile(last)
	if err != nil {
		t.Fatal(err)
	}
	full, err := os.ReadFile(filepath.Join(dir, ref.Full))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(last, full, 0o644); err != nil {
		t.Fatal(err)
	}
	calls = 0
	err = s.ScanState(meta, "words", func(string, []byte, bool) error { calls++; return nil })
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "expected stream") || calls != 0 {
		t.Fatalf("scan with a full snapshot in a delta's place: %v after %d entries, want ErrCorrupt before any", err, calls)
	}

	// A damaged delta fails the scan before the first entry.
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(last, data, 0o644); err != nil {
		t.Fatal(err)
	}
	calls = 0
	err = s.ScanState(meta, "words", func(string, []byte, bool) error { calls++; return nil })
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), ref.Deltas[len(ref.Deltas)-1]) {
		t.Fatalf("scan of a damaged delta: %v, want ErrCorrupt naming the file", err)
	}
	if calls != 0 {
		t.Fatalf("%d entries yielded before the damaged file was found", calls)
	}
	if err := s.ScanState(meta, "nope", func(string, []byte, bool) error { return nil }); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("scan of a stream without state: %v, want ErrNoCheckpoint", err)
	}
}
