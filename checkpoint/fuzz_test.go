package checkpoint

import (
	"errors"
	"slices"
	"testing"
)

// frame wraps a payload in a valid frame, so the fuzzer reaches the msgpack
// decoders behind the checksum.
func frame(payload []byte) []byte {
	f := newFrameBuffer(len(payload))
	f.Write(payload)
	return f.finish()
}

func seedFiles(f *testing.F, files ...[]byte) {
	for _, b := range files {
		f.Add(b)
		f.Add(b[headerSize : len(b)-trailerSize]) // the bare payload
		for _, d := range damages {
			f.Add(d.do(slices.Clone(b)))
		}
	}
}

// checkDecodeError: a decoder may only fail with the package's errors.
func checkDecodeError(t *testing.T, err error) {
	if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNewerVersion) {
		t.Fatalf("error wraps neither ErrCorrupt nor ErrNewerVersion: %v", err)
	}
}

func FuzzDecodeMetadata(f *testing.F) {
	m := testMetadata(3)
	m.State = map[string]StateRef{"words": {Full: newStateFileName(1, fullSuffix), Deltas: []string{newStateFileName(2, deltaSuffix)}}}
	full, err := encodeMetadata(m)
	if err != nil {
		f.Fatal(err)
	}
	empty, err := encodeMetadata(&Metadata{Time: batchTime(0)})
	if err != nil {
		f.Fatal(err)
	}
	seedFiles(f, full, empty)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, b := range [][]byte{data, frame(data)} {
			m, err := decodeMetadata(b)
			checkDecodeError(t, err)
			if err != nil {
				continue
			}
			// What decodes must encode again and decode to the same.
			again, err := encodeMetadata(m)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := decodeMetadata(again); err != nil {
				t.Fatalf("re-encoded metadata does not decode: %v", err)
			}
		}
	})
}

func FuzzDecodeState(f *testing.F) {
	entries := []Entry{{Key: []byte{1}, Value: []byte{2}}, {Key: []byte("k"), Deleted: true}, {}}
	delta, err := stateFile("words", 7, false, EntriesOf(entries...))
	if err != nil {
		f.Fatal(err)
	}
	full, err := stateFile("w", 8, true, EntriesOf(entries[:1]...))
	if err != nil {
		f.Fatal(err)
	}
	seedFiles(f, slices.Concat(delta...), slices.Concat(full...))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, b := range [][]byte{data, frame(data)} {
			n := 0
			_, err := decodeState(b, func(key string, value []byte, deleted bool) bool {
				n++
				return true
			})
			checkDecodeError(t, err)
			if n > len(b) {
				t.Fatalf("%d entries from %d bytes", n, len(b))
			}
		}
	})
}
