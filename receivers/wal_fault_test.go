package receivers

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

var errDiskFull = errors.New("test: no space left on device")

// faultyFile is a segment file whose next Write or Sync fails the way a full
// disk makes them fail.
type faultyFile struct {
	walFile
	shortWrite   bool // the next Write writes half its bytes, then fails
	failSync     bool // the next Sync fails
	failTruncate bool // every Truncate fails
}

func (f *faultyFile) Write(p []byte) (int, error) {
	if !f.shortWrite {
		return f.walFile.Write(p)
	}
	f.shortWrite = false
	n, err := f.walFile.Write(p[:len(p)/2])
	if err != nil {
		return n, err
	}
	return n, errDiskFull
}

func (f *faultyFile) Sync() error {
	if f.failSync {
		f.failSync = false
		return errDiskFull
	}
	return f.walFile.Sync()
}

func (f *faultyFile) Truncate(size int64) error {
	if f.failTruncate {
		return errDiskFull
	}
	return f.walFile.Truncate(size)
}

// A failed append (block 1) leaves nothing in front of the records appended
// after it: every record reported durable is replayed, the failed one is not.
func TestWALRecordsAfterAFailedWriteAreRecovered(t *testing.T) {
	frame, err := encodeRecord(nil, &walEntry[string]{Kind: walBlock, ID: BlockID{0, 0}, Records: []string{"A"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name         string
		fault        faultyFile
		segmentBytes int64  // 0: the default
		segments     int    // segments before Close
		recoveryLog  string // "": a clean log
	}{
		{name: "short write cut off", fault: faultyFile{shortWrite: true}, segments: 1},
		{name: "failed fsync cut off", fault: faultyFile{failSync: true}, segments: 1},
		{
			// The segment of the failed write is followed by others: A and C
			// fill it, the allocation fills the second, D is in the third.
			name: "short write cut off then rotation", fault: faultyFile{shortWrite: true},
			segmentBytes: 2 * int64(len(frame)), segments: 3,
		},
		{
			name: "short write not cut off: new segment", fault: faultyFile{shortWrite: true, failTruncate: true},
			segments: 2, recoveryLog: "rest of its segment",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var opts []WALOption
			if tc.segmentBytes > 0 {
				opts = append(opts, WithWALSegmentBytes(tc.segmentBytes))
			}
			w := mustOpen(t, dir, opts...)
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(w.AppendBlock(block(0, "A")))
			f := tc.fault
			f.walFile = w.active
			w.active = &f
			err := w.AppendBlock(block(1, "B", strings.Repeat("b", 100)))
			if !errors.Is(err, errDiskFull) || !strings.Contains(err.Error(), "WAL append block input-0-1") {
				t.Fatalf("failed append: %v", err)
			}
			must(w.AppendBlock(block(2, "C")))
			must(w.RecordAllocation(time.Unix(1, 0), []BlockID{{0, 0}, {0, 2}}))
			must(w.AppendBlock(block(3, "D")))
			if n := w.Segments(); n != tc.segments {
				t.Errorf("%d segments, want %d", n, tc.segments)
			}
			must(w.Close())

			var logs syncBuffer
			w2, err := OpenWAL[string](dir, WithWALLogger(bufferLogger(&logs)))
			must(err)
			defer w2.Close()
			got := w2.Replay()
			want := []string{"input-0-0@00:00:01", "input-0-2@00:00:01", "input-0-3"}
			if ids := replayIDs(got); !slices.Equal(ids, want) {
				t.Fatalf("replay %v, want %v", ids, want)
			}
			for i, rec := range []string{"A", "C", "D"} {
				if !slices.Equal(got[i].Block.Records, []string{rec}) {
					t.Errorf("block %v holds %v, want [%s]", got[i].Block.ID, got[i].Block.Records, rec)
				}
			}
			if tc.recoveryLog == "" && logs.String() != "" {
				t.Errorf("warning on recovery: %q", logs.String())
			}
			if tc.recoveryLog != "" && !strings.Contains(logs.String(), tc.recoveryLog) {
				t.Errorf("recovery log %q, want %q", logs.String(), tc.recoveryLog)
			}
		})
	}
}

// failingFile is a segment file whose writes fail while fail is set.
type failingFile struct {
	walFile
	fail *bool
}

func (f failingFile) Write(p []byte) (int, error) {
	if *f.fail {
		return 0, errDiskFull
	}
	return f.walFile.Write(p)
}

// A block cut by the ticker whose append fails is not given to a batch until
// it is in the log: the allocation fails (the block stays pending) while
// the append keeps failing, and once it succeeds, the block and its
// allocation are both replayed after a crash. Before, the allocation was
// recorded without the block, and a restart replayed the batch without it.
func TestCutBlockNotInTheWALIsNotAllocated(t *testing.T) {
	for _, persists := range []bool{false, true} {
		t.Run(fmt.Sprintf("fault persists=%v", persists), func(t *testing.T) {
			dir := t.TempDir()
			w := mustOpen(t, dir)
			var reported []string
			b := newBlockBuffer[string](0, 16, quietLogger(), func(msg string, err error) { reported = append(reported, msg+": "+err.Error()) })
			b.wal = w
			fail := true
			w.active = failingFile{walFile: w.active, fail: &fail}
			if err := b.add(t.Context(), "A"); err != nil {
				t.Fatal(err)
			}
			b.cut()
			if len(reported) != 1 || !strings.Contains(reported[0], "no space left") {
				t.Fatalf("reported %q", reported)
			}
			// The failed write was cut off the segment, which stays active.
			if _, ok := w.active.(failingFile); !ok {
				t.Fatalf("active segment %T", w.active)
			}
			at := time.Unix(1, 0)
			if persists {
				if _, err := b.allocate(at); !errors.Is(err, errDiskFull) || !strings.Contains(err.Error(), "block input-0-0 (1 records) is not in the write-ahead log") {
					t.Fatalf("allocation with the block unlogged: %v", err)
				}
				at = time.Unix(2, 0)
			}
			fail = false
			got, err := b.allocate(at)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || !slices.Equal(got[0].Records, []string{"A"}) {
				t.Fatalf("allocated %v", got)
			}
			crash(w)
			w2 := mustOpen(t, dir)
			defer w2.Close()
			replayed := w2.Replay()
			if ids, want := replayIDs(replayed), []string{"input-0-0@" + at.UTC().Format("15:04:05")}; !slices.Equal(ids, want) {
				t.Fatalf("replay %v, want %v", ids, want)
			}
			if !slices.Equal(replayed[0].Block.Records, []string{"A"}) {
				t.Fatalf("replayed %v", replayed[0].Block.Records)
			}
		})
	}
}
