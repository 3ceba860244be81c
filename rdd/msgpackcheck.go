package rdd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// errImplausibleLength is the error of checkedElement for a msgpack header
// that declares more elements or bytes than the file has left.
var errImplausibleLength = errors.New("msgpack length larger than the rest of the file")

// checkedElement reads the next msgpack value from r into buf (reused, and
// returned) after checking that no array, map, string, binary or extension
// in it declares more than the left bytes of the file can hold. The msgpack
// library allocates a slice at the length its header declares (v5.4.1
// ignores its own allocation limit for slices), so a damaged or foreign
// file of a few bytes could claim billions of elements and end the process
// out of memory; checked first, it fails with an error instead.
func checkedElement(r io.Reader, left int64, buf []byte) ([]byte, error) {
	buf = buf[:0]
	// take reads n bytes: a length a header declared when declared, else
	// the fixed size of a header or value.
	take := func(n int64, declared bool) ([]byte, error) {
		switch {
		case n > left && declared:
			return nil, fmt.Errorf("%w: %d bytes declared, %d left", errImplausibleLength, n, left)
		case n > left:
			return nil, io.ErrUnexpectedEOF
		}
		start := len(buf)
		buf = slices.Grow(buf, int(n))[:start+int(n)]
		if _, err := io.ReadFull(r, buf[start:]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		left -= n
		return buf[start:], nil
	}
	size := func(width int64) (int64, error) {
		b, err := take(width, false)
		if err != nil {
			return 0, err
		}
		switch width {
		case 1:
			return int64(b[0]), nil
		case 2:
			return int64(binary.BigEndian.Uint16(b)), nil
		default:
			return int64(binary.BigEndian.Uint32(b)), nil
		}
	}
	// pending counts the values still to read: each needs at least a byte.
	for pending := int64(1); pending > 0; pending-- {
		b, err := take(1, false)
		if err != nil {
			return nil, err
		}
		// The children to read, and the payload bytes to skip: declared by
		// the header, or fixed by its code.
		var items, bytes int64
		declared := true
		switch c := b[0]; {
		case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
			declared = false
		case c <= 0x8f: // fixmap
			items = 2 * int64(c&0x0f)
		case c <= 0x9f: // fixarray
			items = int64(c & 0x0f)
		case c <= 0xbf: // fixstr
			bytes = int64(c & 0x1f)
		case c == 0xc1:
			return nil, fmt.Errorf("msgpack: invalid code 0xc1")
		case c <= 0xc6: // bin 8, 16, 32
			bytes, err = size(1 << (c - 0xc4))
		case c <= 0xc9: // ext 8, 16, 32: length, type, data
			bytes, err = size(1 << (c - 0xc7))
			bytes++
		case c <= 0xcb: // float 32, 64
			bytes, declared = 4<<(c-0xca), false
		case c <= 0xd3: // uint, int 8-64
			bytes, declared = 1<<((c-0xcc)%4), false
		case c <= 0xd8: // fixext 1-16: type, data
			bytes, declared = 1+1<<(c-0xd4), false
		case c <= 0xdb: // str 8, 16, 32
			bytes, err = size(1 << (c - 0xd9))
		case c <= 0xdd: // array 16, 32
			items, err = size(2 << (c - 0xdc))
		default: // map 16, 32
			items, err = size(2 << (c - 0xde))
			items *= 2
		}
		if err != nil {
			return nil, err
		}
		if items > left-pending+1 {
			return nil, fmt.Errorf("%w: %d values declared, %d bytes left", errImplausibleLength, items, left)
		}
		pending += items
		if _, err := take(bytes, declared); err != nil {
			return nil, err
		}
	}
	return buf, nil
}
