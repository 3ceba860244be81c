package checkpoint

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// FormatVersion is the version of the on-disk format this package writes.
// A file with a newer version is refused with [ErrNewerVersion]; the frame
// around the payload (magic, version, length, checksum) stays the same in
// every version, so a newer file is recognised as newer, not as corrupt.
const FormatVersion = 1

// The frame of every file: magic "SLCK", version (uint16), payload length
// (uint64), payload (msgpack), CRC-32C of everything before it (uint32),
// integers big-endian.
const (
	magic       = "SLCK"
	headerSize  = len(magic) + 2 + 8
	trailerSize = 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frameBuffer collects one file: the header with a placeholder length,
// then the payload written by the caller, then finish adds the checksum.
type frameBuffer struct {
	bytes.Buffer
}

func newFrameBuffer(sizeHint int) *frameBuffer {
	f := &frameBuffer{}
	f.Grow(headerSize + sizeHint + trailerSize)
	f.WriteString(magic)
	var h [headerSize - len(magic)]byte
	binary.BigEndian.PutUint16(h[:2], FormatVersion)
	f.Write(h[:])
	return f
}

// finish patches the payload length and appends the checksum, returning the
// whole file.
func (f *frameBuffer) finish() []byte {
	b := f.Bytes()
	binary.BigEndian.PutUint64(b[len(magic)+2:headerSize], uint64(len(b)-headerSize))
	f.Write(binary.BigEndian.AppendUint32(nil, crc32.Checksum(b, castagnoli)))
	return f.Bytes()
}

// decodeFrame checks a whole file and returns its payload. The checksum is
// checked before the version, so a flipped bit in the version field reads as
// corruption, while an intact file from a newer Sluice reads as
// ErrNewerVersion. Errors do not name the file; callers add it.
func decodeFrame(data []byte) (payload []byte, err error) {
	if err := checkHeader(data, int64(len(data))); err != nil {
		return nil, err
	}
	version := binary.BigEndian.Uint16(data[len(magic):])
	body := data[:len(data)-trailerSize]
	want := binary.BigEndian.Uint32(data[len(body):])
	if got := crc32.Checksum(body, castagnoli); got != want {
		return nil, fmt.Errorf("%w: checksum mismatch (stored %08x, computed %08x)", ErrCorrupt, want, got)
	}
	switch {
	case version > FormatVersion:
		return nil, fmt.Errorf("%w: file has format version %d, this build reads up to %d", ErrNewerVersion, version, FormatVersion)
	case version == 0:
		return nil, fmt.Errorf("%w: format version 0", ErrCorrupt)
	}
	return data[headerSize:len(body)], nil
}

// checkHeader checks the frame header at the start of head (at least
// headerSize bytes when size allows) of a file of size bytes: its magic, and
// a payload length that fills the file exactly. Errors wrap ErrCorrupt.
func checkHeader(head []byte, size int64) error {
	if size < int64(headerSize+trailerSize) {
		return fmt.Errorf("%w: truncated: %d bytes, the frame alone is %d", ErrCorrupt, size, headerSize+trailerSize)
	}
	if string(head[:len(magic)]) != magic {
		return fmt.Errorf("%w: bad magic %q", ErrCorrupt, head[:len(magic)])
	}
	room := size - int64(headerSize+trailerSize)
	if n := binary.BigEndian.Uint64(head[len(magic)+2:]); n != uint64(room) {
		return fmt.Errorf("%w: payload length %d but file has room for %d (truncated or trailing bytes)", ErrCorrupt, n, room)
	}
	return nil
}
