package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
)

// A delta written ahead is the file of a stream's next delta, written a
// piece at a time as the stream's changes come in ([StateSnapshot.Ahead]),
// before the checkpoint that commits it: the entries go to a temporary
// file after room left for the head, and their writeback to the disk
// starts at once. The checkpoint that commits them writes only the entries
// that came after, the head (whose length depends on the stream ID alone,
// see stateHead) and the checksum, and its fsync waits for little more
// than those: over a large state the entries changed in a checkpoint
// interval are megabytes, and their fsync had taken as long as the batches
// of the interval.
//
// Nothing written ahead is committed until then: a crash leaves a *.tmp
// file, which the next Open removes, and the checkpoints before it as they
// were. Written ahead or not, a snapshot's Changed holds every change, so
// a file that does not match it (the changes of a failed or dropped
// checkpoint merged in, a full snapshot due, an error while writing ahead)
// is only dropped, and the delta is written whole.

// aheadFile is the delta written ahead for one stream.
type aheadFile struct {
	f       *os.File
	tmp     string
	headLen int
	// written is the length of the entries in the file, after the head;
	// crc is their CRC-32C, and base the first byte of the buffer they were
	// last written from, reuse that list's Entries.reuse.
	written int
	crc     uint32
	base    *byte
	reuse   uint64
}

// extends reports whether the entries in a's file are the start of es.
// An Entries grown by appending keeps its buffer until it outgrows it, so
// usually this compares a pointer and a number: the buffer (which base
// keeps from being freed and allocated again) and which use of it
// (Entries.Reuse gives the same buffer to a new list). Otherwise the bytes
// written are checked against their checksum.
func (a *aheadFile) extends(es Entries) bool {
	switch {
	case len(es.data) < a.written:
		return false
	case a.written == 0 || &es.data[0] == a.base && es.reuse == a.reuse:
		return true
	}
	return crc32.Checksum(es.data[:a.written], castagnoli) == a.crc
}

// writeAhead writes the entries of es that are not in the stream's delta
// written ahead yet, starting one when there is none or es does not extend
// it.
func (s *Store) writeAhead(id string, es Entries) error {
	a := s.ahead[id]
	if a != nil && !a.extends(es) {
		s.dropAhead(id)
		a = nil
	}
	if es.Len() == 0 {
		return nil
	}
	if a == nil {
		dir, err := s.streamDir(id)
		if err != nil {
			return err
		}
		if err := s.fault(stepCreate, filepath.Join(dir, "ahead"+tmpSuffix)); err != nil {
			return err
		}
		f, err := os.CreateTemp(dir, "ahead-*"+tmpSuffix)
		if err != nil {
			return fmt.Errorf("checkpoint: create a delta written ahead: %w", err)
		}
		a = &aheadFile{f: f, tmp: f.Name(), headLen: stateHeadLen(id)}
		s.ahead[id] = a
	}
	if err := s.appendAhead(a, es); err != nil {
		s.dropAhead(id)
		return err
	}
	return nil
}

// appendAhead writes the entries of es after those in a's file.
func (s *Store) appendAhead(a *aheadFile, es Entries) error {
	p := es.data[a.written:]
	off := int64(a.headLen + a.written)
	if err := s.fault(stepWrite, a.tmp); err != nil {
		_, _ = a.f.WriteAt(p[:len(p)/2], off) // a torn write
		return err
	}
	if _, err := a.f.WriteAt(p, off); err != nil {
		return fmt.Errorf("checkpoint: write %s: %w", a.tmp, err)
	}
	startWriteback(a.f, off, int64(len(p)))
	a.written, a.crc, a.base, a.reuse = len(es.data), crc32.Update(a.crc, castagnoli, p), &es.data[0], es.reuse
	s.stats.BytesWritten += int64(len(p))
	return nil
}

// commitAhead writes es, a stream's delta at batch, from the stream's
// delta written ahead, and returns the file's name; ok is false when there
// is none that es extends (it is dropped), and nothing was written.
func (s *Store) commitAhead(id string, batch int64, es Entries) (name string, ok bool, err error) {
	a := s.ahead[id]
	if a == nil {
		return "", false, nil
	}
	if !a.extends(es) {
		s.dropAhead(id)
		return "", false, nil
	}
	delete(s.ahead, id)
	committed := false
	defer func() {
		if !committed {
			s.removeAhead(a)
		}
	}()
	if len(es.data) > a.written {
		if err := s.appendAhead(a, es); err != nil {
			return "", true, err
		}
	}
	// The head has the length reserved: it depends on the stream ID alone.
	head := stateHead(id, batch, false, es.n, len(es.data))
	sum := crc32Combine(crc32.Checksum(head, castagnoli), a.crc, int64(a.written))
	if _, err := a.f.WriteAt(head, 0); err != nil {
		return "", true, fmt.Errorf("checkpoint: write %s: %w", a.tmp, err)
	}
	if _, err := a.f.WriteAt(binary.BigEndian.AppendUint32(nil, sum), int64(a.headLen+a.written)); err != nil {
		return "", true, fmt.Errorf("checkpoint: write %s: %w", a.tmp, err)
	}
	name = newStateFileName(batch, deltaSuffix)
	if err := s.commitFile(a.f, a.tmp, filepath.Join(filepath.Dir(a.tmp), name)); err != nil {
		return "", true, err
	}
	committed = true
	s.stats.BytesWritten += int64(len(head) + trailerSize)
	s.stats.Entries += int64(es.n)
	s.stats.DeltasAhead++
	return name, true, nil
}

// dropAhead removes the stream's delta written ahead, if any.
func (s *Store) dropAhead(id string) {
	if a := s.ahead[id]; a != nil {
		delete(s.ahead, id)
		s.removeAhead(a)
	}
}

// removeAhead closes and removes the file of a, which is no longer in
// s.ahead. A file that cannot be removed is logged; Open removes it.
func (s *Store) removeAhead(a *aheadFile) {
	err := errors.Join(a.f.Close(), os.Remove(a.tmp))
	if err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, os.ErrClosed) {
		s.cfg.logger.Warn("removing a delta written ahead failed", "file", a.tmp, "error", err)
	}
}

// DropAhead removes the deltas written ahead that no checkpoint committed
// ([StateSnapshot.Ahead]); [AsyncWriter.Close] calls it. Their changes are
// not lost: the next checkpoint's Changed holds them too.
func (s *Store) DropAhead() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.ahead {
		s.dropAhead(id)
	}
}

// crc32Combine returns the CRC-32C of a+b from crcA, that of a, crcB, that
// of b, and the length of b: zlib's crc32_combine, which appends len(b)
// zero bits to crcA by squaring the operator of one zero bit (so it costs
// O(log len(b)), not a pass over b) and adds crcB. A delta written ahead
// knows its head, and so the CRC of head+entries, only at its commit, long
// after the entries were written.
func crc32Combine(crcA, crcB uint32, lenB int64) uint32 {
	if lenB <= 0 {
		return crcA
	}
	var even, odd [32]uint32
	odd[0] = crc32.Castagnoli // the operator of one zero bit
	row := uint32(1)
	for n := 1; n < 32; n++ {
		odd[n] = row
		row <<= 1
	}
	gf2Square(&even, &odd) // two zero bits
	gf2Square(&odd, &even) // four
	for {
		// Apply len(b) zero bytes, a bit of lenB at a time.
		gf2Square(&even, &odd)
		if lenB&1 != 0 {
			crcA = gf2Times(&even, crcA)
		}
		if lenB >>= 1; lenB == 0 {
			break
		}
		gf2Square(&odd, &even)
		if lenB&1 != 0 {
			crcA = gf2Times(&odd, crcA)
		}
		if lenB >>= 1; lenB == 0 {
			break
		}
	}
	return crcA ^ crcB
}

// gf2Times multiplies the 32×32 bit matrix mat by vec over GF(2).
func gf2Times(mat *[32]uint32, vec uint32) uint32 {
	var sum uint32
	for i := 0; vec != 0; i, vec = i+1, vec>>1 {
		if vec&1 != 0 {
			sum ^= mat[i]
		}
	}
	return sum
}

// gf2Square sets square to mat × mat.
func gf2Square(square, mat *[32]uint32) {
	for n := range mat {
		square[n] = gf2Times(mat, mat[n])
	}
}
