package receivers

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/vmihailenco/msgpack/v5"
)

// DefaultWALSegmentBytes is the size past which the write-ahead log starts a
// new segment file.
const DefaultWALSegmentBytes = 64 << 20

// maxWALRecordBytes bounds one record's payload; a larger length is corruption.
const maxWALRecordBytes = 1 << 30

const walFrameHeader = 8 // uint32 payload length, uint32 CRC-32C of the payload

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Kinds of write-ahead-log records.
const (
	walBlock     uint8 = 1
	walAllocated uint8 = 2
	walProcessed uint8 = 3
)

// walEntry is one write-ahead-log record, msgpack-encoded.
type walEntry[T any] struct {
	Kind    uint8     `msgpack:"k"`
	ID      BlockID   `msgpack:"i,omitempty"`
	Records []T       `msgpack:"r,omitempty"`
	Time    int64     `msgpack:"t,omitempty"` // batch time, Unix nanoseconds
	IDs     []BlockID `msgpack:"b,omitempty"`
}

// WALOption configures a WAL.
type WALOption interface{ applyWAL(*walConfig) }

type walOptionFunc func(*walConfig)

func (f walOptionFunc) applyWAL(c *walConfig) { f(c) }

type walConfig struct {
	segmentBytes int64
	logger       hclog.Logger
}

// WithWALSegmentBytes sets the size past which a new segment file is started
// (default DefaultWALSegmentBytes, 64 MiB).
func WithWALSegmentBytes(n int64) WALOption {
	return walOptionFunc(func(c *walConfig) { c.segmentBytes = n })
}

// WithWALLogger sets the logger of recovery warnings (default hclog.Default()).
func WithWALLogger(l hclog.Logger) WALOption {
	return walOptionFunc(func(c *walConfig) { c.logger = l })
}

// ReplayedBlock is a block recovered from a write-ahead log that was not
// processed before the crash. If Allocated, it had been allocated to the batch
// at BatchTime; otherwise it was never allocated.
type ReplayedBlock[T any] struct {
	Block     Block[T]
	Allocated bool
	BatchTime time.Time
}

// walFile is what the write-ahead log needs of a segment file (*os.File); a
// test puts a failing one behind it.
type walFile interface {
	io.WriteSeeker
	Sync() error
	Truncate(size int64) error
	Close() error
}

type walSegment struct {
	index  int64
	path   string
	blocks []BlockID
}

// WAL is a receiver's write-ahead log under one directory (Spark's
// FileBasedWriteAheadLog used by WriteAheadLogBasedBlockHandler and
// ReceivedBlockTracker). Each record is length-prefixed, CRC-32C checksummed,
// msgpack-encoded and fsynced before the call that wrote it returns. It holds
// blocks, allocations of blocks to batch times and completions of batches;
// segment files whose blocks all belong to processed batches are deleted.
// Open it with OpenWAL, which recovers what a previous process left; give it
// to a Supervisor with WithWAL. A failed write or fsync leaves nothing of its
// record in front of later ones: the segment is cut back to its last
// complete record, or, if that fails, abandoned for a new one. Safe for
// concurrent use.
type WAL[T any] struct {
	dir string
	cfg walConfig
	log hclog.Logger

	mu         sync.Mutex
	closed     bool
	active     walFile       // nil after a failed write whose segment was abandoned: the next append starts one
	activeSize int64         // bytes of complete, fsynced records in active
	segments   []*walSegment // oldest first; the last one is active (or abandoned, if active is nil)
	blockBatch map[BlockID]int64
	processed  map[int64]bool
	replay     []ReplayedBlock[T]
	maxSeq     map[int]int64
	buf        []byte
}

func (*WAL[T]) isWAL() {}

type walWriter interface{ isWAL() }

// OpenWAL opens (creating if needed) the write-ahead log in dir and reads
// what it holds. A torn record at the tail of the last segment (a crash in
// mid-write) is logged as a warning and truncated. A complete record that is
// corrupt (a checksum or decoding failure) is logged and skipped, and the
// records after it are read; only a record whose length is itself corrupt
// ends the reading of its segment, and if intact records follow it they are
// saved to the file <segment>.<offset>.unread for salvage.
// Blocks of an unprocessed batch lost that way are logged too. Replay
// returns the blocks found that were not processed. New records go to a new
// segment.
func OpenWAL[T any](dir string, opts ...WALOption) (*WAL[T], error) {
	cfg := walConfig{segmentBytes: DefaultWALSegmentBytes}
	for _, o := range opts {
		o.applyWAL(&cfg)
	}
	if cfg.segmentBytes <= 0 {
		return nil, fmt.Errorf("%w: WAL segment size %d", ErrInvalidConfig, cfg.segmentBytes)
	}
	log := cfg.logger
	if log == nil {
		log = hclog.Default()
	}
	w := &WAL[T]{
		dir: dir, cfg: cfg, log: log.Named("wal"),
		blockBatch: map[BlockID]int64{}, processed: map[int64]bool{}, maxSeq: map[int]int64{},
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open WAL %s: %w", dir, err)
	}
	if err := w.recover(); err != nil {
		return nil, err
	}
	if err := w.rotateLocked(); err != nil {
		return nil, err
	}
	if err := w.deleteDoneLocked(); err != nil {
		return nil, err
	}
	return w, nil
}

func segmentName(index int64) string { return fmt.Sprintf("wal-%016d.log", index) }

// recover reads every segment of the log, oldest first, into w: the blocks,
// the allocations of blocks to batches, the completed batches and the
// unprocessed blocks to replay. It never deletes a record that may be intact:
//
//   - A record whose frame is complete (its declared length fits in the
//     segment) but whose checksum or payload does not decode is corrupt:
//     recovery logs a warning naming the segment, the offset and the error,
//     steps over exactly that record and goes on with the next one, in any
//     segment. The segment is left as it is.
//   - A record whose frame cannot be delimited (its header cut short, a
//     length of 0 or over maxWALRecordBytes, or a length past the end of the
//     segment) leaves no way to find the next record: nothing more of its
//     segment is read (no resynchronization, which could take bytes inside a
//     payload for a record). If an intact record (a complete frame whose
//     checksum matches) starts anywhere after it (looked for with bounded
//     work, past which one is assumed to), the bad length is
//     corruption, not a torn write: recovery logs a warning and saves the
//     unread bytes to the file <segment>.<offset>.unread, which it ignores,
//     so that they outlive the segment (deleted once the blocks read from it
//     are processed) for an operator to salvage; the segment is not
//     truncated. Otherwise, in the last segment it is a torn tail (a crash in
//     mid-write, or a tail a crash left zero-filled): recovery logs a warning
//     and truncates the segment at its offset; in an older one (such as a
//     segment abandoned after a failed write) it logs a warning only.
//
// A block lost that way (skipped, or in the unread rest of a segment) that an
// unprocessed batch was allocated is logged as a warning naming the batch
// and the blocks; the batch is replayed without them. Allocations naming
// blocks whose segments were deleted after their batch was processed are
// dropped without a warning: that is how the log forgets.
func (w *WAL[T]) recover() error {
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return fmt.Errorf("open WAL %s: %w", w.dir, err)
	}
	var indexes []int64
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "wal-") || !strings.HasSuffix(name, ".log") {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(name, "wal-"), ".log"), 10, 64)
		if err != nil {
			continue
		}
		indexes = append(indexes, n)
	}
	slices.Sort(indexes)
	blocks := map[BlockID]Block[T]{}
	var order []BlockID
	for i, idx := range indexes {
		seg := &walSegment{index: idx, path: filepath.Join(w.dir, segmentName(idx))}
		data, err := os.ReadFile(seg.path)
		if err != nil {
			return fmt.Errorf("open WAL %s: %w", w.dir, err)
		}
		off := 0
		for off < len(data) {
			payload, n, err := decodeFrame(data[off:])
			if n == 0 { // no frame to step over: nothing more of this segment can be read
				if err := w.recoverUndelimited(seg.path, data, off, i == len(indexes)-1, err); err != nil {
					return err
				}
				break
			}
			var e walEntry[T]
			if err == nil {
				err = decodeEntry(payload, &e)
			}
			if err != nil {
				w.log.Warn("skipping corrupt write-ahead log record", "segment", seg.path, "offset", off, "bytes", n, "error", err)
				off += n
				continue
			}
			off += n
			switch e.Kind {
			case walBlock:
				if _, dup := blocks[e.ID]; !dup {
					order = append(order, e.ID)
				}
				blocks[e.ID] = Block[T]{ID: e.ID, Records: e.Records}
				seg.blocks = append(seg.blocks, e.ID)
				w.maxSeq[e.ID.StreamID] = max(w.maxSeq[e.ID.StreamID], e.ID.Seq+1)
			case walAllocated:
				for _, id := range e.IDs {
					w.blockBatch[id] = e.Time
					// The block's own record may be in a segment already
					// deleted: its sequence number is still taken.
					w.maxSeq[id.StreamID] = max(w.maxSeq[id.StreamID], id.Seq+1)
				}
			case walProcessed:
				w.processed[e.Time] = true
			}
		}
		w.segments = append(w.segments, seg)
	}
	// Allocations of blocks whose segments are gone describe nothing any
	// more; kept, they would count a new block of the same ID as done. A
	// segment is deleted only once all its blocks' batches are processed,
	// and a batch's completion is recorded after its allocation, so a missing
	// block of an unprocessed batch was lost to corruption: say so.
	lost := map[int64][]BlockID{}
	for id, t := range w.blockBatch {
		if _, ok := blocks[id]; !ok {
			if !w.processed[t] {
				lost[t] = append(lost[t], id)
			}
			delete(w.blockBatch, id)
		}
	}
	for _, t := range slices.Sorted(maps.Keys(lost)) {
		ids := lost[t]
		slices.SortFunc(ids, compareBlockIDs)
		names := make([]string, len(ids))
		for i, id := range ids {
			names[i] = id.String()
		}
		w.log.Warn("blocks allocated to an unprocessed batch are lost: their write-ahead log records are corrupt or missing; the batch is replayed without them",
			"batch", fmt.Sprintf("%d ms", time.Unix(0, t).UnixMilli()), "blocks", strings.Join(names, ","))
	}
	slices.SortStableFunc(order, compareBlockIDs)
	for _, id := range order {
		t, allocated := w.blockBatch[id]
		if allocated && w.processed[t] {
			continue
		}
		rb := ReplayedBlock[T]{Block: blocks[id], Allocated: allocated}
		if allocated {
			rb.BatchTime = time.Unix(0, t)
		}
		w.replay = append(w.replay, rb)
	}
	return nil
}

// recoverUndelimited handles, for recover, a record at offset off of the
// segment at path (whose bytes are data) that decodeFrame could not
// delimit, failing with err. If an intact record may follow it, the rest of
// the segment is saved beside it; else, in the last segment, it is a torn
// tail, truncated. Either way nothing more of the segment is read.
func (w *WAL[T]) recoverUndelimited(path string, data []byte, off int, last bool, err error) error {
	if intactRecordMayFollow(data[off:]) {
		saved, serr := saveUnread(path, off, data[off:])
		if serr != nil {
			return fmt.Errorf("open WAL %s: save the unreadable rest of segment %s from offset %d: %w", filepath.Dir(path), path, off, serr)
		}
		w.log.Warn("skipping corrupt write-ahead log record and the rest of its segment, which holds intact records; they are not replayed, saved for salvage",
			"segment", path, "offset", off, "saved", saved, "error", err)
		return nil
	}
	if !last {
		w.log.Warn("skipping corrupt write-ahead log record and the rest of its segment", "segment", path, "offset", off, "error", err)
		return nil
	}
	w.log.Warn("skipping torn record at the tail of the write-ahead log", "segment", path, "offset", off, "error", err)
	if terr := os.Truncate(path, int64(off)); terr != nil {
		return fmt.Errorf("truncate torn WAL tail %s at offset %d: %w", path, off, terr)
	}
	return nil
}

// saveUnread writes rest, the bytes of the segment at path from offset off
// that recovery cannot read, to the file path.<off>.unread beside it (which
// recovery ignores), and fsyncs the file and the directory: the log deletes
// the segment once the blocks it could read are processed, and an operator
// may still salvage the records in rest. A later recovery that meets the
// same bytes writes the same file again. It returns the file's path.
func saveUnread(path string, off int, rest []byte) (string, error) {
	saved := fmt.Sprintf("%s.%d.unread", path, off)
	f, err := os.OpenFile(saved, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return saved, err
	}
	_, err = f.Write(rest)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	return saved, err
}

// intactRecordMayFollow reports whether a complete record that passes its
// checksum starts anywhere in data after its first byte, which begins a
// record that cannot be delimited: if one does, that record is not a torn
// tail. Its payload is not decoded, so that a record of another type T
// still counts. The checksums it computes are bounded (4 bytes per byte of
// data, plus 1 MiB); past the bound it gives up and reports true, as the
// caller then keeps the bytes rather than truncating what may be intact.
func intactRecordMayFollow(data []byte) bool {
	budget := 4*int64(len(data)) + 1<<20
	for p := 1; len(data)-p > walFrameHeader; p++ {
		size := binary.LittleEndian.Uint32(data[p:])
		if size == 0 || uint64(size) > uint64(len(data)-p-walFrameHeader) {
			continue
		}
		if budget -= int64(size); budget < 0 {
			return true
		}
		if _, _, err := decodeFrame(data[p:]); err == nil {
			return true
		}
	}
	return false
}

// compareBlockIDs orders block IDs by stream, then by sequence number.
func compareBlockIDs(a, b BlockID) int {
	if c := cmp.Compare(a.StreamID, b.StreamID); c != 0 {
		return c
	}
	return cmp.Compare(a.Seq, b.Seq)
}

// Replay returns the blocks OpenWAL recovered that were not processed,
// ordered by stream and block sequence number: the ones allocated to a batch
// (with its time) and the ones never allocated.
func (w *WAL[T]) Replay() []ReplayedBlock[T] {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.replay)
}

// recovered splits the replayed blocks of one stream for a Supervisor.
func (w *WAL[T]) recovered(streamID int) (unallocated []Block[T], batches []BatchBlocks[T]) {
	byTime := map[int64]int{}
	for _, rb := range w.Replay() {
		if rb.Block.ID.StreamID != streamID {
			continue
		}
		if !rb.Allocated {
			unallocated = append(unallocated, rb.Block)
			continue
		}
		t := rb.BatchTime.UnixNano()
		i, ok := byTime[t]
		if !ok {
			i = len(batches)
			byTime[t] = i
			batches = append(batches, BatchBlocks[T]{Time: rb.BatchTime})
		}
		batches[i].Blocks = append(batches[i].Blocks, rb.Block)
	}
	slices.SortStableFunc(batches, func(a, b BatchBlocks[T]) int { return a.Time.Compare(b.Time) })
	return unallocated, batches
}

func (w *WAL[T]) nextSeq(streamID int) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.maxSeq[streamID]
}

// AppendBlock appends a block and fsyncs it.
func (w *WAL[T]) AppendBlock(b Block[T]) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.appendLocked(walEntry[T]{Kind: walBlock, ID: b.ID, Records: b.Records}); err != nil {
		return fmt.Errorf("WAL append block %v: %w", b.ID, err)
	}
	w.segments[len(w.segments)-1].blocks = append(w.segments[len(w.segments)-1].blocks, b.ID)
	w.maxSeq[b.ID.StreamID] = max(w.maxSeq[b.ID.StreamID], b.ID.Seq+1)
	return nil
}

// RecordAllocation records that the blocks ids were allocated to the batch at
// batchTime, and fsyncs. Supervisor.AllocateBlocks calls it.
func (w *WAL[T]) RecordAllocation(batchTime time.Time, ids []BlockID) error {
	if len(ids) == 0 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	t := batchTime.UnixNano()
	if err := w.appendLocked(walEntry[T]{Kind: walAllocated, Time: t, IDs: ids}); err != nil {
		return fmt.Errorf("WAL allocate %d blocks to batch %v: %w", len(ids), batchTime, err)
	}
	for _, id := range ids {
		w.blockBatch[id] = t
	}
	return nil
}

// MarkProcessed records that the batch at batchTime completed, fsyncs, and
// deletes the oldest segments whose blocks all belong to processed batches.
func (w *WAL[T]) MarkProcessed(batchTime time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := batchTime.UnixNano()
	if err := w.appendLocked(walEntry[T]{Kind: walProcessed, Time: t}); err != nil {
		return fmt.Errorf("WAL mark batch %v processed: %w", batchTime, err)
	}
	w.processed[t] = true
	if active := w.segments[len(w.segments)-1]; len(active.blocks) > 0 && w.segmentDoneLocked(active) {
		if err := w.rotateLocked(); err != nil {
			return err
		}
	}
	return w.deleteDoneLocked()
}

func (w *WAL[T]) segmentDoneLocked(s *walSegment) bool {
	for _, id := range s.blocks {
		t, ok := w.blockBatch[id]
		if !ok || !w.processed[t] {
			return false
		}
	}
	return true
}

// deleteDoneLocked deletes the longest prefix of inactive segments that are
// done. Only a prefix: an allocation record in a later segment may describe
// blocks of an earlier one, and must outlive them.
func (w *WAL[T]) deleteDoneLocked() error {
	n := 0
	for n < len(w.segments)-1 && w.segmentDoneLocked(w.segments[n]) {
		n++
	}
	for _, s := range w.segments[:n] {
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("WAL delete segment %s: %w", s.path, err)
		}
		for _, id := range s.blocks {
			delete(w.blockBatch, id)
		}
	}
	w.segments = slices.Delete(w.segments, 0, n)
	// A processed batch matters only while the log holds a block of it;
	// no block is allocated to a batch after it completed.
	live := make(map[int64]bool, len(w.processed))
	for _, t := range w.blockBatch {
		live[t] = true
	}
	for t := range w.processed {
		if !live[t] {
			delete(w.processed, t)
		}
	}
	return nil
}

// Segments returns the number of segment files, the active one included.
func (w *WAL[T]) Segments() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.segments)
}

func (w *WAL[T]) appendLocked(e walEntry[T]) error {
	if w.closed {
		return ErrWALClosed
	}
	if w.active == nil || w.activeSize >= w.cfg.segmentBytes {
		if err := w.rotateLocked(); err != nil {
			return err
		}
	}
	var err error
	w.buf, err = encodeRecord(w.buf[:0], &e)
	if err != nil {
		return err
	}
	if _, err := w.active.Write(w.buf); err != nil {
		return w.discardFailedLocked(err)
	}
	if err := w.active.Sync(); err != nil {
		return w.discardFailedLocked(err)
	}
	w.activeSize += int64(len(w.buf))
	return nil
}

// discardFailedLocked removes what a failed write or fsync (err) may have left
// of its record, which the caller is told did not happen: a later record
// appended after a partial frame would be lost with it, as recovery cannot
// find where the partial frame ends and reads nothing more of the segment.
// It cuts the active segment back to its last complete record and fsyncs it.
// If that fails, it abandons the segment, whose partial frame is then the
// end of a segment that is not the last, and starts a new one; if that fails
// too, the next append starts it.
func (w *WAL[T]) discardFailedLocked(err error) error {
	cutErr := w.active.Truncate(w.activeSize)
	if cutErr == nil {
		_, cutErr = w.active.Seek(w.activeSize, io.SeekStart)
	}
	if cutErr == nil {
		cutErr = w.active.Sync()
	}
	if cutErr == nil {
		return err
	}
	seg := w.segments[len(w.segments)-1].path
	w.log.Warn("cannot cut a failed write off the write-ahead log segment; starting a new one", "segment", seg, "error", cutErr)
	w.active.Close() // abandoned: an error closing it loses nothing
	w.active = nil
	if rotErr := w.rotateLocked(); rotErr != nil {
		return fmt.Errorf("%w (segment %s abandoned, no new one yet: %w)", err, seg, rotErr)
	}
	return err
}

// rotateLocked closes the active segment and starts the next one.
func (w *WAL[T]) rotateLocked() error {
	next := int64(0)
	if len(w.segments) > 0 {
		next = w.segments[len(w.segments)-1].index + 1
	}
	path := filepath.Join(w.dir, segmentName(next))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("WAL new segment: %w", err)
	}
	if err := syncDir(w.dir); err != nil {
		f.Close()
		return fmt.Errorf("WAL new segment: %w", err)
	}
	if w.active != nil {
		if err := w.active.Close(); err != nil {
			f.Close()
			return fmt.Errorf("WAL close segment: %w", err)
		}
	}
	w.active, w.activeSize = f, 0
	w.segments = append(w.segments, &walSegment{index: next, path: path})
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Close closes the active segment; later calls fail with ErrWALClosed.
func (w *WAL[T]) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if w.active == nil {
		return nil
	}
	return w.active.Close()
}

// encodeRecord appends the framed record of e to dst.
func encodeRecord[T any](dst []byte, e *walEntry[T]) ([]byte, error) {
	payload, err := msgpack.Marshal(e)
	if err != nil {
		return dst, fmt.Errorf("encode WAL record: %w", err)
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.LittleEndian.AppendUint32(dst, crc32.Checksum(payload, castagnoli))
	return append(dst, payload...), nil
}

// decodeFrame returns the payload of the record at the start of data and the
// record's total length n. A record whose length fits in data but whose
// checksum does not match returns its length n and an error wrapping
// ErrCorruptRecord: the caller can step over it. A record that cannot be
// delimited returns n == 0 and an error wrapping ErrCorruptRecord: its
// header or payload cut short (wrapping io.ErrUnexpectedEOF too), or its
// length 0 (no record encodes to nothing) or over maxWALRecordBytes.
func decodeFrame(data []byte) (payload []byte, n int, err error) {
	if len(data) < walFrameHeader {
		return nil, 0, fmt.Errorf("%w: header: %w", ErrCorruptRecord, io.ErrUnexpectedEOF)
	}
	size := binary.LittleEndian.Uint32(data)
	sum := binary.LittleEndian.Uint32(data[4:])
	if size == 0 || size > maxWALRecordBytes {
		return nil, 0, fmt.Errorf("%w: length %d", ErrCorruptRecord, size)
	}
	if uint64(len(data)-walFrameHeader) < uint64(size) {
		return nil, 0, fmt.Errorf("%w: payload of %d bytes: %w", ErrCorruptRecord, size, io.ErrUnexpectedEOF)
	}
	n = walFrameHeader + int(size)
	payload = data[walFrameHeader:n]
	if crc32.Checksum(payload, castagnoli) != sum {
		return nil, n, fmt.Errorf("%w: checksum mismatch", ErrCorruptRecord)
	}
	return payload, n, nil
}

func decodeEntry[T any](payload []byte, e *walEntry[T]) error {
	if err := msgpack.Unmarshal(payload, e); err != nil {
		return fmt.Errorf("%w: %w", ErrCorruptRecord, err)
	}
	switch e.Kind {
	case walBlock, walAllocated, walProcessed:
		return nil
	}
	return fmt.Errorf("%w: unknown kind %d", ErrCorruptRecord, e.Kind)
}
