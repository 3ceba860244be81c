package receivers

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func bufferLogger(buf *syncBuffer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: buf, Level: hclog.Warn})
}

func block(seq int64, recs ...string) Block[string] {
	return Block[string]{ID: BlockID{0, seq}, Records: recs}
}

func mustOpen(t *testing.T, dir string, opts ...WALOption) *WAL[string] {
	t.Helper()
	return mustOpenAs[string](t, dir, opts...)
}

// mustOpenAs opens a log of records of type T.
func mustOpenAs[T any](t *testing.T, dir string, opts ...WALOption) *WAL[T] {
	t.Helper()
	w, err := OpenWAL[T](dir, append([]WALOption{WithWALLogger(quietLogger())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// crash abandons a WAL the way a killed process does: nothing more is written
// or synced. Only the file descriptor is released, so the test does not leak it.
func crash(w *WAL[string]) {
	if w.active != nil {
		w.active.Close()
	}
}

func replayIDs(rbs []ReplayedBlock[string]) []string {
	var out []string
	for _, rb := range rbs {
		s := rb.Block.ID.String()
		if rb.Allocated {
			s += "@" + rb.BatchTime.UTC().Format("15:04:05")
		}
		out = append(out, s)
	}
	return out
}

func TestWALCrashReplaysExactlyTheUnprocessedBlocks(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir)
	t1, t2 := time.Unix(1, 0), time.Unix(2, 0)
	for i := range int64(5) {
		if err := w.AppendBlock(block(i, "r", string(rune('a'+i)))); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.RecordAllocation(t1, []BlockID{{0, 0}, {0, 1}}))
	must(w.RecordAllocation(t2, []BlockID{{0, 2}}))
	must(w.MarkProcessed(t1))
	crash(w)

	w2 := mustOpen(t, dir)
	got := w2.Replay()
	want := []string{"input-0-2@00:00:02", "input-0-3", "input-0-4"}
	if ids := replayIDs(got); !slices.Equal(ids, want) {
		t.Fatalf("replay %v, want %v", ids, want)
	}
	if !reflect.DeepEqual(got[1].Block, block(3, "r", "d")) {
		t.Errorf("replayed block %+v", got[1].Block)
	}
	// Recovery goes on: the replayed batch completes, the rest is allocated.
	must(w2.MarkProcessed(t2))
	must(w2.RecordAllocation(time.Unix(3, 0), []BlockID{{0, 3}, {0, 4}}))
	crash(w2)
	w3 := mustOpen(t, dir)
	if ids := replayIDs(w3.Replay()); !slices.Equal(ids, []string{"input-0-3@00:00:03", "input-0-4@00:00:03"}) {
		t.Fatalf("second replay %v", ids)
	}
	must(w3.MarkProcessed(time.Unix(3, 0)))
	must(w3.Close())
	if err := w3.AppendBlock(block(9)); !errors.Is(err, ErrWALClosed) {
		t.Errorf("append after Close: %v", err)
	}
	w4 := mustOpen(t, dir)
	defer w4.Close()
	if got := w4.Replay(); len(got) != 0 {
		t.Errorf("replay after everything processed: %v", replayIDs(got))
	}
	if n := w4.Segments(); n != 1 {
		t.Errorf("%d segments left, want only the new active one", n)
	}
}

func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	segs, _ := filepath.Glob(filepath.Join(dir, "wal-*.log"))
	slices.Sort(segs)
	for i := len(segs) - 1; i >= 0; i-- {
		if st, _ := os.Stat(segs[i]); st.Size() > 0 {
			return segs[i]
		}
	}
	t.Fatal("no non-empty segment")
	return ""
}

func TestWALTornTailRecordIsSkippedWithAWarning(t *testing.T) {
	for _, cut := range []string{"header", "payload"} {
		t.Run(cut, func(t *testing.T) {
			dir := t.TempDir()
			w := mustOpen(t, dir)
			w.AppendBlock(block(0, "kept"))
			seg := lastSegment(t, dir)
			st, _ := os.Stat(seg)
			sizeAfterFirst := st.Size()
			w.AppendBlock(block(1, "torn", strings.Repeat("x", 100)))
			crash(w)
			st, _ = os.Stat(seg)
			tail := st.Size() - sizeAfterFirst
			cutAt := sizeAfterFirst + tail/2
			if cut == "header" {
				cutAt = sizeAfterFirst + 3
			}
			if err := os.Truncate(seg, cutAt); err != nil {
				t.Fatal(err)
			}

			var logs syncBuffer
			w2, err := OpenWAL[string](dir, WithWALLogger(bufferLogger(&logs)))
			if err != nil {
				t.Fatal(err)
			}
			if ids := replayIDs(w2.Replay()); !slices.Equal(ids, []string{"input-0-0"}) {
				t.Fatalf("replay %v, want only the complete block", ids)
			}
			if !strings.Contains(logs.String(), "torn record") {
				t.Errorf("no warning logged: %q", logs.String())
			}
			// The torn bytes were truncated: new records after them are read back.
			if err := w2.AppendBlock(block(1, "rewritten")); err != nil {
				t.Fatal(err)
			}
			crash(w2)
			var logs2 syncBuffer
			w3, err := OpenWAL[string](dir, WithWALLogger(bufferLogger(&logs2)))
			if err != nil {
				t.Fatal(err)
			}
			defer w3.Close()
			got := w3.Replay()
			if ids := replayIDs(got); !slices.Equal(ids, []string{"input-0-0", "input-0-1"}) || got[1].Block.Records[0] != "rewritten" {
				t.Fatalf("replay after reopen %v", got)
			}
			if logs2.String() != "" {
				t.Errorf("warning on a clean log: %q", logs2.String())
			}
		})
	}
}

func TestWALCorruptRecordInOlderSegmentIsSkipped(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir)
	w.AppendBlock(block(0, "a"))
	w.AppendBlock(block(1, "b"))
	crash(w)
	w2 := mustOpen(t, dir) // starts a new segment
	w2.AppendBlock(block(2, "c"))
	crash(w2)
	seg := filepath.Join(dir, segmentName(0))
	data, _ := os.ReadFile(seg)
	data[len(data)-2] ^= 0xff // flip a payload byte of the second record
	os.WriteFile(seg, data, 0o644)
	var logs syncBuffer
	w3, err := OpenWAL[string](dir, WithWALLogger(bufferLogger(&logs)))
	if err != nil {
		t.Fatal(err)
	}
	defer w3.Close()
	if ids := replayIDs(w3.Replay()); !slices.Equal(ids, []string{"input-0-0", "input-0-2"}) {
		t.Fatalf("replay %v", ids)
	}
	if !strings.Contains(logs.String(), "checksum mismatch") {
		t.Errorf("log %q", logs.String())
	}
}

func TestWALDeletesProcessedSegments(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, WithWALSegmentBytes(1)) // a new segment for every record
	defer w.Close()
	for i := range int64(4) {
		w.AppendBlock(block(i, "x"))
	}
	w.RecordAllocation(time.Unix(1, 0), []BlockID{{0, 0}, {0, 1}})
	w.RecordAllocation(time.Unix(2, 0), []BlockID{{0, 2}})
	before := w.Segments()
	// Batch 2 completing first deletes nothing: blocks 0 and 1 come first.
	w.MarkProcessed(time.Unix(2, 0))
	if n := w.Segments(); n < before {
		t.Fatalf("segments %d -> %d before the oldest batch completed", before, n)
	}
	w.MarkProcessed(time.Unix(1, 0))
	files, _ := filepath.Glob(filepath.Join(dir, "wal-*.log"))
	if w.Segments() != len(files) {
		t.Errorf("tracked %d segments, %d files", w.Segments(), len(files))
	}
	// Block 3 (unallocated) keeps its segment and everything after it.
	crash(w)
	w2 := mustOpen(t, dir)
	defer w2.Close()
	if ids := replayIDs(w2.Replay()); !slices.Equal(ids, []string{"input-0-3"}) {
		t.Fatalf("replay %v", ids)
	}
	for i := range int64(3) { // the segments of blocks 0, 1 and 2
		if _, err := os.Stat(filepath.Join(dir, segmentName(i))); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("segment %d of a processed block still there: %v", i, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, segmentName(3))); err != nil {
		t.Errorf("segment of the unallocated block 3: %v", err)
	}
}

func TestSupervisorWithWALRecoversBatches(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir)
	ticks := make(chan time.Time)
	handles := make(chan *Handle[string], 1)
	r := &funcReceiver[string]{start: func(h *Handle[string]) { handles <- h }}
	sup, err := NewSupervisor[string](r, WithWAL(w), WithBlockTicks(ticks), WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	sup.Start()
	h := <-handles
	h.Store("a")
	if err := h.StoreMany([]string{"b", "c"}); err != nil { // durable when it returns
		t.Fatal(err)
	}
	if _, err := sup.AllocateBlocks(time.Unix(10, 0)); err != nil {
		t.Fatal(err)
	}
	h.StoreMany([]string{"d"})
	h.Store("e") // cut and logged by Stop
	sup.Stop()
	crash(w) // the batch at 10s never completed

	w2 := mustOpen(t, dir)
	defer w2.Close()
	sup2, err := NewSupervisor[string](r, WithWAL(w2), WithBlockTicks(ticks), WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	rec := sup2.RecoveredBatches()
	if len(rec) != 1 || !rec[0].Time.Equal(time.Unix(10, 0)) || len(rec[0].Blocks) != 2 ||
		!slices.Equal(rec[0].Blocks[1].Records, []string{"b", "c"}) {
		t.Fatalf("recovered batches %+v", rec)
	}
	sup2.Start()
	h2 := <-handles
	h2.Store("f")
	blocks, _ := sup2.AllocateBlocks(time.Unix(11, 0))
	var got []string
	var seqs []int64
	for _, b := range blocks {
		got = append(got, b.Records...)
		seqs = append(seqs, b.ID.Seq)
	}
	if !slices.Equal(got, []string{"d", "e", "f"}) || !slices.Equal(seqs, []int64{2, 3, 4}) {
		t.Errorf("first batch after recovery: %v in blocks %v", got, seqs)
	}
	sup2.MarkProcessed(time.Unix(10, 0))
	sup2.MarkProcessed(time.Unix(11, 0))
	sup2.Stop()
	if err := (&Supervisor[string]{blocks: &blockBuffer[string]{}}).MarkProcessed(time.Now()); err != nil {
		t.Errorf("MarkProcessed without WAL: %v", err)
	}
}

func TestWALRecordTypeMismatch(t *testing.T) {
	w, err := OpenWAL[int](t.TempDir(), WithWALLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := NewSupervisor[string](&funcReceiver[string]{}, WithWAL(w)); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("WAL[int] for a string receiver: %v", err)
	}
	if _, err := OpenWAL[int](t.TempDir(), WithWALSegmentBytes(0)); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("segment size 0: %v", err)
	}
}

func FuzzWALRecordDecoder(f *testing.F) {
	for _, e := range []walEntry[string]{
		{Kind: walBlock, ID: BlockID{1, 2}, Records: []string{"a", "ü", ""}},
		{Kind: walAllocated, Time: 1e9, IDs: []BlockID{{0, 1}, {0, 2}}},
		{Kind: walProcessed, Time: -5},
	} {
		rec, _ := encodeRecord(nil, &e)
		f.Add(rec)
		f.Add(rec[:len(rec)-1])
		f.Add(append(rec, rec...))
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		for len(data) > 0 {
			payload, n, err := decodeFrame(data)
			if err != nil {
				if !errors.Is(err, ErrCorruptRecord) {
					t.Fatalf("frame error %v does not wrap ErrCorruptRecord", err)
				}
				return
			}
			if n <= 0 || n > len(data) {
				t.Fatalf("frame length %d of %d bytes", n, len(data))
			}
			data = data[n:]
			var e walEntry[string]
			if err := decodeEntry(payload, &e); err != nil {
				if !errors.Is(err, ErrCorruptRecord) {
					t.Fatalf("entry error %v does not wrap ErrCorruptRecord", err)
				}
				continue
			}
			again, err := encodeRecord(nil, &e)
			if err != nil {
				t.Fatal(err)
			}
			p2, _, err := decodeFrame(again)
			var e2 walEntry[string]
			if err == nil {
				err = decodeEntry(p2, &e2)
			}
			if err != nil || !reflect.DeepEqual(e, e2) {
				t.Fatalf("re-encoded %+v decodes as %+v, %v", e, e2, err)
			}
		}
	})
}

// TestWALForgetsProcessedBatchesWithoutBlocks checks that the log's record
// of processed batches does not grow with the life of the process: a
// batch is kept only while a block of it is in the log.
func TestWALForgetsProcessedBatchesWithoutBlocks(t *testing.T) {
	w := mustOpen(t, t.TempDir(), WithWALSegmentBytes(1)) // a new segment for every record
	defer w.Close()
	for i := range int64(1000) {
		bt := time.Unix(i+1, 0)
		if i%2 == 0 { // every other batch has a block
			if err := w.AppendBlock(block(i, "x")); err != nil {
				t.Fatal(err)
			}
			if err := w.RecordAllocation(bt, []BlockID{{0, i}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.MarkProcessed(bt); err != nil {
			t.Fatal(err)
		}
	}
	w.mu.Lock()
	n := len(w.processed)
	w.mu.Unlock()
	if n > 2 {
		t.Fatalf("%d processed batches remembered after 1000 batches", n)
	}
	if s := w.Segments(); s > 3 {
		t.Fatalf("%d segments left", s)
	}
}

// TestWALSequenceSurvivesDeletedBlockSegments: when every segment holding
// blocks is gone but one with their allocation survives, a reopened log
// still numbers new blocks after them, and a new block is not taken for
// an old one already processed (it was deleted with its segment at the
// next MarkProcessed, and lost in a crash after).
func TestWALSequenceSurvivesDeletedBlockSegments(t *testing.T) {
	dir := t.TempDir()
	w1 := mustOpen(t, dir)
	for i := range int64(3) {
		if err := w1.AppendBlock(block(i, "old")); err != nil {
			t.Fatal(err)
		}
	}
	w1.Close()
	w2 := mustOpen(t, dir)
	t1 := time.Unix(100, 0)
	if err := w2.RecordAllocation(t1, []BlockID{{0, 0}, {0, 1}, {0, 2}}); err != nil {
		t.Fatal(err)
	}
	if err := w2.MarkProcessed(t1); err != nil { // deletes the blocks' segment
		t.Fatal(err)
	}
	w2.Close()
	w3 := mustOpen(t, dir)
	if got := w3.nextSeq(0); got < 3 {
		t.Fatalf("next sequence number %d: input-0-%d is taken", got, got)
	}
	if err := w3.AppendBlock(block(w3.nextSeq(0), "new")); err != nil {
		t.Fatal(err)
	}
	if err := w3.MarkProcessed(time.Unix(200, 0)); err != nil {
		t.Fatal(err)
	}
	crash(w3)
	w4 := mustOpen(t, dir)
	defer w4.Close()
	if ids := replayIDs(w4.Replay()); !slices.Equal(ids, []string{"input-0-3"}) {
		t.Fatalf("replay %v, want the new block, pending", ids)
	}
}
