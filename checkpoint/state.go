package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// Entry is one key of a stream's state in a state checkpoint. Key and Value
// are msgpack-encoded by the caller ([EncodeEntry] does it for typed keys and
// values); equal keys must encode to equal bytes. Deleted marks a key removed
// since the previous checkpoint, in a delta only.
type Entry struct {
	Key     []byte
	Value   []byte
	Deleted bool
}

// StateSnapshot is the state of one stream as of one batch, handed to
// [Store.Write] after the batch took it, so writing never races the batch
// that goes on changing the live state. It takes one of two forms.
//
// Keyed state (Changed and All) is incremental: usually only Changed is
// written (a delta). A full snapshot is written when the deltas since the
// last one would hold more entries than it does (or every
// [WithFullSnapshotEvery] checkpoints): from All when given, otherwise by
// merging the previous full snapshot and deltas on disk with Changed, off the
// batch path. So the entries written, full snapshots included, are at most
// about twice the entries changed, whatever the size of the state, and a
// restore reads at most about twice the live entries. All is required for a
// stream's first checkpoint since [Open], when the store has nothing on disk
// to build on. A stream can bound its chain itself instead, by writing its
// keys again a range at a time beside its changes (Base): then no full
// snapshot follows the first.
//
// Segmented data (Segments) is a set of immutable named parts: each is
// written once, when it first appears, and kept by name for as long as later
// snapshots list it, so a checkpoint costs the segments that are new, not
// the whole. An inverse window checkpoints this way: one segment per batch
// reduction still in the window.
type StateSnapshot struct {
	// StreamID is the [StreamIdentity.ID] of the stream.
	StreamID string
	// Changed lists the keys updated or deleted since the previous
	// StateSnapshot of this stream handed to the store, in order: a key
	// listed more than once takes its last entry. A delta file is
	// Changed's bytes as they are. An empty Changed (and nil All and
	// Segments) writes no file at all: the stream's files of the previous
	// checkpoint stay.
	Changed Entries
	// All is every live key of the snapshot (none Deleted), each once, or
	// nil. It is written as it is when a full snapshot is written. It may
	// share Changed's buffer (see [Entries.Skip]): a snapshot whose Changed
	// lists its removals first and then every live key hands over the whole
	// state at no cost.
	All *Entries
	// Segments, when not nil, is the stream's whole data as segments; then
	// Changed and All must be empty. Keys must be distinct across segments.
	Segments []Segment
	// Ahead, in a snapshot with nothing else (no Changed, All or
	// Segments), is the start of the stream's next Changed: the changes
	// since its previous snapshot, which this checkpoint does not commit.
	// The store writes what it has not written of them yet to the file of
	// the stream's next delta and starts its writeback, so that the
	// checkpoint that commits them, whose Changed holds them and then the
	// changes after them, waits only for those (see ahead.go). Build it by
	// appending to one Entries ([Entries.AppendList]) and hand it over
	// after each batch. It is a hint: a Changed that does not start with
	// it is written whole.
	Ahead Entries
	// Base, when not zero, makes the stream's chain a rolling one: Base is
	// the batch time of the oldest of the stream's checkpoints whose state
	// files a restore still needs, because every live key that only older
	// files hold has been written again since (the stream rewrites its
	// keys a range at a time, beside its changes, so that no checkpoint
	// has to write them all at once). The store drops the older files
	// from the chain, its full snapshot too once older, and writes no full
	// snapshot of its own accord (the size rule, [WithFullSnapshotEvery]):
	// the stream bounds the chain. The first snapshot since [Open] must
	// still hand over All.
	Base time.Time
}

// Segment is one immutable part of a segmented [StateSnapshot].
type Segment struct {
	// Name identifies the segment among the stream's segments.
	Name string
	// Keep reports that an earlier snapshot of the stream handed the
	// segment over: the store keeps the file it wrote then, and Entries is
	// not read. Write fails if the store has no such segment (it was never
	// written, or the store was opened since); hand it over again then.
	Keep bool
	// Entries are the segment's entries (none Deleted) when Keep is false.
	Entries Entries
}

// State file names: <20-digit batch unix nanos>-<8 hex random>.full,
// .delta or .seg, inside state/<escaped stream ID>/. The random part keeps a
// rewrite at the same batch time from replacing a file that an older
// checkpoint still refers to.
const (
	stateDir    = "state"
	fullSuffix  = ".full"
	deltaSuffix = ".delta"
	segSuffix   = ".seg"
)

func newStateFileName(batchNanos int64, suffix string) string {
	return fmt.Sprintf("%020d-%08x%s", batchNanos, rand.Uint32(), suffix)
}

// stateFileBatch returns the batch unix nanos at the start of a name from
// newStateFileName.
func stateFileBatch(name string) int64 {
	n, err := strconv.ParseInt(name[:min(len(name), 20)], 10, 64)
	if err != nil {
		return math.MinInt64 // not ours: older than any batch
	}
	return n
}

// validStateFile reports whether name could have come from newStateFileName,
// so a corrupt reference can never point outside the stream's directory.
func validStateFile(name string) bool {
	base, ok := strings.CutSuffix(name, fullSuffix)
	if !ok {
		base, ok = strings.CutSuffix(name, deltaSuffix)
	}
	if !ok {
		base, ok = strings.CutSuffix(name, segSuffix)
	}
	if !ok || len(base) != 29 || base[20] != '-' {
		return false
	}
	for i, c := range []byte(base) {
		switch {
		case i == 20:
		case i < 20 && '0' <= c && c <= '9':
		case i > 20 && ('0' <= c && c <= '9' || 'a' <= c && c <= 'f'):
		default:
			return false
		}
	}
	return true
}

// escapeStreamID turns a stream ID into a directory name: letters, digits,
// '-' and '_' stay, every other byte becomes %XX (so "." and "/" cannot
// escape the state directory).
func escapeStreamID(id string) string {
	var b strings.Builder
	for _, c := range []byte(id) {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	if b.Len() == 0 {
		return "%"
	}
	return b.String()
}

// stateFile returns the bytes of a state file of es, in three parts: the
// frame's header with the payload's (stateHead), es's bytes as they are,
// and the checksum.
func stateFile(streamID string, batchNanos int64, full bool, es Entries) ([][]byte, error) {
	if full && es.deleted > 0 {
		return nil, fmt.Errorf("checkpoint: stream %s: a full snapshot or segment cannot hold deleted entries (it holds %d)", streamID, es.deleted)
	}
	head := stateHead(streamID, batchNanos, full, es.n, len(es.data))
	sum := crc32.Update(crc32.Checksum(head, castagnoli), castagnoli, es.data)
	return [][]byte{head, es.data, binary.BigEndian.AppendUint32(nil, sum)}, nil
}

// stateHead returns the frame's header and the start of the payload of a
// state file of n entries in dataLen bytes. Payload: a msgpack array of
// stream ID, batch unix nanos, full flag and the entries, each an array of
// key, value (nil when deleted) and deleted flag. The batch time is always
// an int 64 and the entry count an array 32, so the head's length depends
// on the stream ID alone: a delta written ahead (ahead.go) reserves it
// before the batch time and the count are known.
func stateHead(streamID string, batchNanos int64, full bool, n, dataLen int) []byte {
	head := make([]byte, headerSize, headerSize+len(streamID)+24)
	copy(head, magic)
	binary.BigEndian.PutUint16(head[len(magic):], FormatVersion)
	head = append(head, msgpcode.FixedArrayLow|4)
	head = appendString(head, streamID)
	head = appendInt64(head, batchNanos)
	if full {
		head = append(head, msgpcode.True)
	} else {
		head = append(head, msgpcode.False)
	}
	head = append(head, msgpcode.Array32)
	head = binary.BigEndian.AppendUint32(head, uint32(n))
	binary.BigEndian.PutUint64(head[len(magic)+2:], uint64(len(head)-headerSize+dataLen))
	return head
}

// stateHeadLen is the length of stateHead's result for streamID.
func stateHeadLen(streamID string) int {
	return len(stateHead(streamID, 0, false, 0, 0))
}

// appendEntry appends one entry as msgpack [bin key, bin value (nil when
// deleted), bool deleted], the bytes msgpack's Encoder would write, without
// its per-call overhead.
func appendEntry(b []byte, e Entry) []byte {
	value := e.Value
	if e.Deleted {
		value = nil
	}
	b = append(b, msgpcode.FixedArrayLow|3)
	b = appendBin(b, e.Key)
	b = appendBin(b, value)
	if e.Deleted {
		return append(b, msgpcode.True)
	}
	return append(b, msgpcode.False)
}

// appendBin appends x as msgpack nil (x nil) or bin 8/16/32.
func appendBin(b, x []byte) []byte {
	if x == nil {
		return append(b, msgpcode.Nil)
	}
	return append(appendBinHeader(b, len(x)), x...)
}

// appendBinHeader appends the header of a msgpack bin of n bytes.
func appendBinHeader(b []byte, n int) []byte {
	switch {
	case n <= math.MaxUint8:
		return append(b, msgpcode.Bin8, byte(n))
	case n <= math.MaxUint16:
		return append(b, msgpcode.Bin16, byte(n>>8), byte(n))
	}
	return append(b, msgpcode.Bin32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// stateHeader is what a state file says about itself.
type stateHeader struct {
	streamID   string
	batchNanos int64
	full       bool
}

// decodeState checks a whole state file and calls apply for each entry in
// order, until apply returns false. Values alias data; keys are substrings
// of one copy of the payload, so a million keys cost one allocation, not a
// million. Errors do not name the file.
func decodeState(data []byte, apply func(key string, value []byte, deleted bool) bool) (stateHeader, error) {
	payload, err := decodeFrame(data)
	if err != nil {
		return stateHeader{}, err
	}
	return decodeStatePayload(payload, apply)
}

// decodeStatePayload is decodeState for the payload of a frame already
// checked.
func decodeStatePayload(payload []byte, apply func(key string, value []byte, deleted bool) bool) (stateHeader, error) {
	var h stateHeader
	var err error
	r := bytes.NewReader(payload)
	dec := msgpack.NewDecoder(r)
	corrupt := func(what string, err error) error {
		if err != nil {
			return fmt.Errorf("%w: state payload: %s: %w", ErrCorrupt, what, err)
		}
		return fmt.Errorf("%w: state payload: %s", ErrCorrupt, what)
	}
	if n, err := dec.DecodeArrayLen(); err != nil || n != 4 {
		return h, corrupt("header", err)
	}
	if h.streamID, err = dec.DecodeString(); err != nil {
		return h, corrupt("stream ID", err)
	}
	if h.batchNanos, err = dec.DecodeInt64(); err != nil {
		return h, corrupt("batch time", err)
	}
	if h.full, err = dec.DecodeBool(); err != nil {
		return h, corrupt("full flag", err)
	}
	n, err := dec.DecodeArrayLen()
	if err != nil || n < 0 || n > r.Len() {
		return h, corrupt("entry count", err)
	}
	// The entries are parsed straight from the payload rather than through
	// the msgpack Decoder: three allocations fewer per entry, and values
	// alias data instead of being copied. The formats accepted are the ones
	// msgpack uses for what encodeEntry writes.
	rest := payload[len(payload)-r.Len():]
	keys := string(rest)
	for i := range n {
		var key, value []byte
		var deleted bool
		at := len(keys) - len(rest)
		if key, value, deleted, rest, err = parseEntry(rest); err != nil {
			return h, corrupt(fmt.Sprintf("entry %d", i), err)
		}
		// key starts after the fixarray byte and the bin header.
		start := at + 1 + binHeaderLen(keys[at+1])
		if !apply(keys[start:start+len(key)], value, deleted) {
			return h, nil
		}
	}
	if len(rest) != 0 {
		return h, corrupt(fmt.Sprintf("%d trailing bytes", len(rest)), nil)
	}
	return h, nil
}

var errEntry = errors.New("not a [key, value, deleted] entry")

// parseEntry parses one msgpack entry, [bin key, bin-or-nil value, bool].
func parseEntry(b []byte) (key, value []byte, deleted bool, rest []byte, err error) {
	if len(b) == 0 || b[0] != msgpcode.FixedArrayLow|3 {
		return nil, nil, false, nil, errEntry
	}
	if key, b, err = parseBin(b[1:]); err != nil {
		return nil, nil, false, nil, err
	}
	if key == nil {
		key = []byte{}
	}
	if value, b, err = parseBin(b); err != nil {
		return nil, nil, false, nil, err
	}
	if len(b) == 0 || b[0] != msgpcode.True && b[0] != msgpcode.False {
		return nil, nil, false, nil, errEntry
	}
	return key, value, b[0] == msgpcode.True, b[1:], nil
}

// binHeaderLen is the length of the header of a msgpack bin (or nil) that
// parseBin accepted, from its first byte.
func binHeaderLen(code byte) int {
	switch code {
	case msgpcode.Bin8:
		return 2
	case msgpcode.Bin16:
		return 3
	case msgpcode.Bin32:
		return 5
	}
	return 1 // nil: an empty key
}

// parseBin parses msgpack nil or bin 8/16/32, returning the bytes, capped so
// that appending to them cannot overwrite what follows.
func parseBin(b []byte) (bin, rest []byte, err error) {
	if len(b) == 0 {
		return nil, nil, errEntry
	}
	var n, h int
	switch b[0] {
	case msgpcode.Nil:
		return nil, b[1:], nil
	case msgpcode.Bin8:
		if len(b) >= 2 {
			n, h = int(b[1]), 2
		}
	case msgpcode.Bin16:
		if len(b) >= 3 {
			n, h = int(binary.BigEndian.Uint16(b[1:])), 3
		}
	case msgpcode.Bin32:
		if len(b) >= 5 {
			n, h = int(binary.BigEndian.Uint32(b[1:])), 5
		}
	}
	if h == 0 || n > len(b)-h {
		return nil, nil, errEntry
	}
	return b[h : h+n : h+n], b[h+n:], nil
}
