package checkpoint

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"iter"
	"math/rand/v2"
	"strings"

	"github.com/vmihailenco/msgpack/v5"
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
// that goes on changing the live state.
//
// Checkpoints of state are incremental: usually only Changed is written (a
// delta), and every full-snapshot period (see [WithFullSnapshotEvery]), or
// when the store has no unbroken chain of deltas for the stream (its first
// checkpoint since Open, or after a failed or dropped one), All is read and
// written whole.
type StateSnapshot struct {
	// StreamID is the [StreamIdentity.ID] of the stream.
	StreamID string
	// Changed lists the keys updated or deleted since the previous
	// StateSnapshot of this stream handed to the store, each once. An empty
	// Changed writes no file at all.
	Changed []Entry
	// All yields every live key of the snapshot (Deleted false), each once.
	// It is called only when a full snapshot is due, from the writing
	// goroutine, so it must read an immutable copy.
	All iter.Seq[Entry]
}

// State file names: <20-digit batch unix nanos>-<8 hex random>.full or
// .delta, inside state/<escaped stream ID>/. The random part keeps a
// rewrite at the same batch time from replacing a file that an older
// checkpoint still refers to.
const (
	stateDir    = "state"
	fullSuffix  = ".full"
	deltaSuffix = ".delta"
)

func newStateFileName(batchNanos int64, full bool) string {
	suffix := deltaSuffix
	if full {
		suffix = fullSuffix
	}
	return fmt.Sprintf("%020d-%08x%s", batchNanos, rand.Uint32(), suffix)
}

// validStateFile reports whether name could have come from newStateFileName,
// so a corrupt reference can never point outside the stream's directory.
func validStateFile(name string) bool {
	base, ok := strings.CutSuffix(name, fullSuffix)
	if !ok {
		base, ok = strings.CutSuffix(name, deltaSuffix)
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

// encodeState builds a whole state file. Payload: a msgpack array of
// stream ID, batch unix nanos, full flag and the entries, each an array of
// key, value (nil when deleted) and deleted flag. The entries' array length
// is written as array32 and patched at the end, so entries stream from an
// iterator in one pass.
func encodeState(streamID string, batchNanos int64, full bool, entries iter.Seq[Entry], sizeHint int) ([]byte, int, error) {
	f := newFrameBuffer(sizeHint)
	enc := msgpack.NewEncoder(f)
	if err := enc.EncodeArrayLen(4); err != nil {
		return nil, 0, err
	}
	if err := enc.EncodeString(streamID); err != nil {
		return nil, 0, err
	}
	if err := enc.EncodeInt(batchNanos); err != nil {
		return nil, 0, err
	}
	if err := enc.EncodeBool(full); err != nil {
		return nil, 0, err
	}
	f.WriteByte(0xdd) // array32
	countAt := f.Len()
	f.Write([]byte{0, 0, 0, 0})
	n := 0
	var err error
	for e := range entries {
		if full && e.Deleted {
			err = fmt.Errorf("checkpoint: stream %s: full snapshot yielded a deleted entry", streamID)
			break
		}
		if err = encodeEntry(enc, e); err != nil {
			break
		}
		n++
	}
	if err != nil {
		return nil, 0, err
	}
	binary.BigEndian.PutUint32(f.Bytes()[countAt:], uint32(n))
	return f.finish(), n, nil
}

func encodeEntry(enc *msgpack.Encoder, e Entry) error {
	if err := enc.EncodeArrayLen(3); err != nil {
		return err
	}
	if err := enc.EncodeBytes(e.Key); err != nil {
		return err
	}
	value := e.Value
	if e.Deleted {
		value = nil
	}
	if err := enc.EncodeBytes(value); err != nil {
		return err
	}
	return enc.EncodeBool(e.Deleted)
}

// stateHeader is what a state file says about itself.
type stateHeader struct {
	streamID   string
	batchNanos int64
	full       bool
}

// decodeState checks a whole state file and calls apply for each entry in
// order. Key and value slices are fresh for every entry. Errors do not name
// the file.
func decodeState(data []byte, apply func(key, value []byte, deleted bool)) (stateHeader, error) {
	var h stateHeader
	payload, err := decodeFrame(data)
	if err != nil {
		return h, err
	}
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
	for i := range n {
		if l, err := dec.DecodeArrayLen(); err != nil || l != 3 {
			return h, corrupt(fmt.Sprintf("entry %d", i), err)
		}
		key, err := dec.DecodeBytes()
		if err != nil {
			return h, corrupt(fmt.Sprintf("entry %d key", i), err)
		}
		value, err := dec.DecodeBytes()
		if err != nil {
			return h, corrupt(fmt.Sprintf("entry %d value", i), err)
		}
		deleted, err := dec.DecodeBool()
		if err != nil {
			return h, corrupt(fmt.Sprintf("entry %d deleted flag", i), err)
		}
		if key == nil {
			key = []byte{}
		}
		apply(key, value, deleted)
	}
	if r.Len() != 0 {
		return h, corrupt(fmt.Sprintf("%d trailing bytes", r.Len()), nil)
	}
	return h, nil
}
