package receivers

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// appendThreeBlocks appends the blocks input-0-0 ("a"), input-0-1 ("b") and
// input-0-2 ("c") to a new log in dir, all in one segment, calls after (if
// not nil) and crashes. It returns the segment and four offsets: where each
// of the three records starts, then the segment's size.
func appendThreeBlocks(t *testing.T, dir string, after func(*WAL[string])) (seg string, offsets []int64) {
	t.Helper()
	w := mustOpen(t, dir)
	offsets = []int64{0}
	for i, rec := range []string{"a", "b", "c"} {
		if err := w.AppendBlock(block(int64(i), rec, strings.Repeat(rec, 20))); err != nil {
			t.Fatal(err)
		}
		w.mu.Lock()
		offsets = append(offsets, w.activeSize)
		w.mu.Unlock()
	}
	seg = w.segments[len(w.segments)-1].path
	if after != nil {
		after(w)
	}
	crash(w)
	return seg, offsets
}

// walCorruption damages the record of data that starts at off and is n bytes
// long without touching its length field; recovery reports it with an error
// containing logged.
type walCorruption struct {
	name    string
	logged  string
	corrupt func(data []byte, off, n int64)
}

// walCorruptions are the ways a record is corrupted in place.
var walCorruptions = []walCorruption{
	{"checksum mismatch", "checksum mismatch", func(data []byte, off, n int64) {
		data[off+walFrameHeader+2] ^= 0x10
	}},
	{"payload does not decode", "msgpack", func(data []byte, off, n int64) {
		payload := data[off+walFrameHeader : off+n]
		for i := range payload {
			payload[i] = 0xc1 // never used in msgpack
		}
		binary.LittleEndian.PutUint32(data[off+4:], crc32.Checksum(payload, castagnoli))
	}},
}

// rewriteSegment rewrites the file at path with change applied to its bytes.
func rewriteSegment(t *testing.T, path string, change func([]byte)) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	change(data)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// segmentSize returns the size of the file at path.
func segmentSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// openWALLogged opens the log in dir with its warnings logged to the buffer
// it returns.
func openWALLogged(t *testing.T, dir string) (*WAL[string], *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	w, err := OpenWAL[string](dir, WithWALLogger(bufferLogger(logs)))
	if err != nil {
		t.Fatal(err)
	}
	return w, logs
}

// A corrupt first record of the last segment costs that record only: the
// two after it are replayed and stay in the segment, read again by the next
// recovery. Before, the segment was cut at the corrupt record and deleted.
func TestWALCorruptRecordInLastSegmentLosesOnlyItself(t *testing.T) {
	for _, c := range walCorruptions {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			seg, offsets := appendThreeBlocks(t, dir, nil)
			rewriteSegment(t, seg, func(data []byte) { c.corrupt(data, 0, offsets[1]) })

			w, logs := openWALLogged(t, dir)
			got := w.Replay()
			if ids := replayIDs(got); !slices.Equal(ids, []string{"input-0-1", "input-0-2"}) {
				t.Fatalf("replay %v, want the two intact blocks", ids)
			}
			if got[1].Block.Records[0] != "c" {
				t.Errorf("replayed %v", got[1].Block)
			}
			if size := segmentSize(t, seg); size != offsets[3] {
				t.Errorf("segment cut to %d bytes, want all %d kept", size, offsets[3])
			}
			log := logs.String()
			for _, want := range []string{"skipping corrupt write-ahead log record", "segment=" + seg, "offset=0 ", c.logged} {
				if !strings.Contains(log, want) {
					t.Errorf("log %q does not contain %q", log, want)
				}
			}
			if strings.Contains(log, "torn") || strings.Contains(log, "rest of its segment") {
				t.Errorf("log %q: the record after the corrupt one was not read", log)
			}
			crash(w)

			w2 := mustOpen(t, dir) // the segment is now an older one
			defer w2.Close()
			if ids := replayIDs(w2.Replay()); !slices.Equal(ids, []string{"input-0-1", "input-0-2"}) {
				t.Fatalf("second replay %v", ids)
			}
		})
	}
}

// The same in an older segment: the records after the corrupt one are
// replayed, not dropped with the rest of the segment.
func TestWALCorruptRecordInOlderSegmentLosesOnlyItself(t *testing.T) {
	for _, c := range walCorruptions {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			seg, offsets := appendThreeBlocks(t, dir, nil)
			w := mustOpen(t, dir) // starts a new segment
			if err := w.AppendBlock(block(3, "d")); err != nil {
				t.Fatal(err)
			}
			crash(w)
			rewriteSegment(t, seg, func(data []byte) { c.corrupt(data, 0, offsets[1]) })

			w2, logs := openWALLogged(t, dir)
			defer w2.Close()
			if ids := replayIDs(w2.Replay()); !slices.Equal(ids, []string{"input-0-1", "input-0-2", "input-0-3"}) {
				t.Fatalf("replay %v, want every intact block", ids)
			}
			if size := segmentSize(t, seg); size != offsets[3] {
				t.Errorf("older segment cut to %d bytes, want %d", size, offsets[3])
			}
			log := logs.String()
			for _, want := range []string{"skipping corrupt write-ahead log record", "segment=" + seg, "offset=0 ", c.logged} {
				if !strings.Contains(log, want) {
					t.Errorf("log %q does not contain %q", log, want)
				}
			}
			if strings.Contains(log, "rest of its segment") {
				t.Errorf("log %q: the rest of the segment was dropped", log)
			}
		})
	}
}

// A last record cut short is still a torn tail, truncated, also behind a
// corrupt record (which is kept: nothing is cut before the torn one).
func TestWALTornTailIsTruncatedAfterCorruptRecords(t *testing.T) {
	for _, corruptFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("corrupt first record=%v", corruptFirst), func(t *testing.T) {
			dir := t.TempDir()
			seg, offsets := appendThreeBlocks(t, dir, nil)
			rewriteSegment(t, seg, func(data []byte) {
				if corruptFirst {
					walCorruptions[0].corrupt(data, 0, offsets[1])
				}
			})
			if err := os.Truncate(seg, offsets[2]+(offsets[3]-offsets[2])/2); err != nil {
				t.Fatal(err)
			}

			w, logs := openWALLogged(t, dir)
			want := []string{"input-0-0", "input-0-1"}
			if corruptFirst {
				want = want[1:]
			}
			if ids := replayIDs(w.Replay()); !slices.Equal(ids, want) {
				t.Fatalf("replay %v, want %v", ids, want)
			}
			if size := segmentSize(t, seg); size != offsets[2] {
				t.Errorf("segment of %d bytes, want it cut at the torn record, %d", size, offsets[2])
			}
			if log := logs.String(); !strings.Contains(log, "torn record") || !strings.Contains(log, fmt.Sprintf("offset=%d ", offsets[2])) {
				t.Errorf("log %q does not report the torn record at %d", log, offsets[2])
			}
			crash(w)
		})
	}
}

// A segment that a crash extended with zeros (its size written, not its
// data) has a torn tail, truncated.
func TestWALZeroFilledTailIsTruncated(t *testing.T) {
	dir := t.TempDir()
	seg, offsets := appendThreeBlocks(t, dir, nil)
	f, err := os.OpenFile(seg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(make([]byte, 100))
	f.Close()

	w, logs := openWALLogged(t, dir)
	defer w.Close()
	if ids := replayIDs(w.Replay()); !slices.Equal(ids, []string{"input-0-0", "input-0-1", "input-0-2"}) {
		t.Fatalf("replay %v", ids)
	}
	if size := segmentSize(t, seg); size != offsets[3] {
		t.Errorf("segment of %d bytes, want the zeros cut off at %d", size, offsets[3])
	}
	if log := logs.String(); strings.Count(log, "torn record") != 1 {
		t.Errorf("log %q, want one torn record", log)
	}
}

// A corrupt length field leaves no way to find the next record: the rest of
// the segment is not read, but as intact records follow, it is neither
// truncated nor lost with the segment: it is saved beside it. Before, the
// last segment was cut at the bad record, then deleted.
func TestWALCorruptLengthSavesTheUnreadRecords(t *testing.T) {
	for _, tc := range []struct {
		name   string
		length uint32
	}{
		{"past the end", 1 << 20},
		{"absurd", 0xffffffff},
		{"zero", 0},
	} {
		for _, older := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/older segment=%v", tc.name, older), func(t *testing.T) {
				dir := t.TempDir()
				seg, offsets := appendThreeBlocks(t, dir, nil)
				var want []string
				if older {
					w := mustOpen(t, dir)
					if err := w.AppendBlock(block(3, "d")); err != nil {
						t.Fatal(err)
					}
					crash(w)
					want = []string{"input-0-3"}
				}
				var corrupted []byte
				rewriteSegment(t, seg, func(data []byte) {
					binary.LittleEndian.PutUint32(data, tc.length)
					corrupted = slices.Clone(data)
				})

				w, logs := openWALLogged(t, dir)
				if ids := replayIDs(w.Replay()); !slices.Equal(ids, want) {
					t.Errorf("replay %v, want %v", ids, want)
				}
				// seg held no block that could be read: it is done, deleted.
				if _, err := os.Stat(seg); !os.IsNotExist(err) {
					t.Errorf("segment with no readable block: %v", err)
				}
				saved := seg + ".0.unread"
				data, err := os.ReadFile(saved)
				if err != nil {
					t.Fatalf("unread records not saved: %v", err)
				}
				if !slices.Equal(data, corrupted) {
					t.Fatalf("saved %d bytes, want the %d of the segment", len(data), len(corrupted))
				}
				for i, rec := range []string{"b", "c"} {
					payload, _, err := decodeFrame(data[offsets[i+1]:])
					var e walEntry[string]
					if err == nil {
						err = decodeEntry(payload, &e)
					}
					if err != nil || e.Records[0] != rec {
						t.Errorf("saved record %d: %+v, %v", i+1, e, err)
					}
				}
				log := logs.String()
				for _, s := range []string{"rest of its segment", "segment=" + seg, "offset=0 ", "saved=" + saved} {
					if !strings.Contains(log, s) {
						t.Errorf("log %q does not contain %q", log, s)
					}
				}
				if strings.Contains(log, "torn") {
					t.Errorf("log %q: a torn record", log)
				}
				crash(w)
				w2 := mustOpen(t, dir) // the saved file is no segment
				defer w2.Close()
				if ids := replayIDs(w2.Replay()); !slices.Equal(ids, want) {
					t.Errorf("second replay %v, want %v", ids, want)
				}
			})
		}
	}
}

// A flipped bit anywhere in the last segment but in a length field costs
// the record it hits and no other, and cuts nothing off the segment.
func TestWALFlippedBitLosesOnlyItsRecord(t *testing.T) {
	dir := t.TempDir()
	seg, offsets := appendThreeBlocks(t, dir, nil)
	clean, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	all := []string{"input-0-0", "input-0-1", "input-0-2"}
	for rec := range 3 {
		for pos := offsets[rec] + 4; pos < offsets[rec+1]; pos++ {
			data := slices.Clone(clean)
			data[pos] ^= 1 << (pos % 8)
			if err := os.WriteFile(seg, data, 0o644); err != nil {
				t.Fatal(err)
			}
			w, err := OpenWAL[string](dir, WithWALLogger(quietLogger()))
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Delete(slices.Clone(all), rec, rec+1)
			if ids := replayIDs(w.Replay()); !slices.Equal(ids, want) {
				t.Fatalf("bit flipped at byte %d (record %d): replay %v, want %v", pos, rec, ids, want)
			}
			if size := segmentSize(t, seg); size != offsets[3] {
				t.Fatalf("bit flipped at byte %d: segment cut to %d bytes", pos, size)
			}
			w.Close()
			// The next recovery must find seg the last segment again.
			for _, extra := range w.segments {
				if extra.path != seg {
					os.Remove(extra.path)
				}
			}
		}
	}
}

// A block of an unprocessed batch whose record is skipped as corrupt is
// reported lost, with its batch; the batch is replayed without it.
func TestWALLostBlockOfUnprocessedBatchIsReported(t *testing.T) {
	dir := t.TempDir()
	seg, offsets := appendThreeBlocks(t, dir, func(w *WAL[string]) {
		if err := w.RecordAllocation(time.Unix(7, 0), []BlockID{{0, 0}, {0, 1}}); err != nil {
			t.Fatal(err)
		}
	})
	rewriteSegment(t, seg, func(data []byte) { walCorruptions[0].corrupt(data, 0, offsets[1]) })

	w, logs := openWALLogged(t, dir)
	defer w.Close()
	if ids := replayIDs(w.Replay()); !slices.Equal(ids, []string{"input-0-1@00:00:07", "input-0-2"}) {
		t.Fatalf("replay %v", ids)
	}
	log := logs.String()
	if !strings.Contains(log, "lost") || !strings.Contains(log, "batch=\"7000 ms\"") || !strings.Contains(log, "blocks=input-0-0") {
		t.Errorf("log %q does not report input-0-0 of the batch at 7000 ms lost", log)
	}
}

// Blocks whose segment was deleted after their batch was processed are not
// reported, though the allocation naming them is still in the log: the log
// forgot them on purpose.
func TestWALProcessedBlocksDeletedAreNotReported(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir)
	for i := range int64(2) {
		if err := w.AppendBlock(block(i, "x")); err != nil {
			t.Fatal(err)
		}
	}
	crash(w)
	w2 := mustOpen(t, dir) // the allocation goes to a new segment
	at := time.Unix(1, 0)
	if err := w2.RecordAllocation(at, []BlockID{{0, 0}, {0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := w2.MarkProcessed(at); err != nil { // deletes the blocks' segment
		t.Fatal(err)
	}
	crash(w2)
	if _, err := os.Stat(filepath.Join(dir, segmentName(0))); !os.IsNotExist(err) {
		t.Fatalf("segment of the processed blocks not deleted: %v", err)
	}
	w3, logs := openWALLogged(t, dir)
	defer w3.Close()
	if ids := replayIDs(w3.Replay()); len(ids) != 0 {
		t.Errorf("replay %v", ids)
	}
	if log := logs.String(); log != "" {
		t.Errorf("warning about blocks processed and deleted: %q", log)
	}
}
