package dstream

import (
	"hash/maphash"
	"math"
	"math/bits"
	"unsafe"
)

// stateTable is the map of one state partition, from key to stateEntry: a
// hash table of our own rather than a Go map, so that a batch's lookups can
// be prefetched (prefetchFor). Over a large state nearly every lookup
// misses the cache twice, on the group's control word and then on the
// slot, and a Go map lookup must wait for each miss before the next lookup
// can start; with prefetching, the misses of the next keys are in flight
// while a record is applied. On this project's benchmark machine a
// read-modify-write of a random key among 5M took 160-210 ns in a Go map,
// 95-135 ns in this table, and 56-90 ns prefetched, over this session's
// runs of BenchmarkStateTable (about half the Go map's time prefetched,
// in each run).
//
// The layout is a Swiss table (as Go's maps and Abseil's): slots in groups
// of 8, one control byte per slot (empty, deleted, or 7 bits of the key's
// hash), probed a group at a time. Unlike a Go map, a part keeps its
// control words in an array of their own, 1 byte a slot, which stays in the
// last-level cache far longer than the slots do (keeping each group's word
// beside its slots measured 20-60% slower at 5M keys). The table is split into parts by the top
// bits of the hash (extendible hashing, also as Go's maps): a part grows by
// doubling up to maxPartGroups groups and then splits in two, so a growing
// state rehashes at most one part at a time, never the whole partition.
// A lookup reads the directory entry (which holds the part's arrays) and
// then the part's control word and slot, without the part's header. The
// memory of full-size parts comes from slabs on huge pages once a table is
// large (blockPool): with 4 KiB pages, nearly every lookup in a large state
// also misses the TLB, which on a virtual machine costs a walk of two
// levels of page tables.
//
// Entries do not move except when their part grows or splits, which only an
// insert can cause: a pointer from lookup stays valid until the next insert,
// and keys may be removed (not inserted) while iterating with all.
type stateTable[K comparable, S any] struct {
	seed maphash.Seed
	// dir maps the top bits of a hash to its part: dir[h >> shift]. A
	// part of local depth d occupies 1<<(depth-d) consecutive entries,
	// where depth = 64-shift is the directory's.
	dir   []dirEntry[K, S]
	shift uint
	n     int
	// blocks hands out the memory of full-size parts (see blockPool).
	blocks blockPool[K, S]
}

// dirEntry is a directory entry: a part, and a copy of its control words
// and slots (which do not change for the part's life), so that a lookup
// reads the directory, one array, and not the part's header, which over
// a large state is yet another cache and TLB miss.
type dirEntry[K comparable, S any] struct {
	ctrl  []uint64
	slots []tableSlot[K, S]
	part  *tablePart[K, S]
}

// entry returns the directory entry of p.
func (p *tablePart[K, S]) entry() dirEntry[K, S] {
	return dirEntry[K, S]{ctrl: p.ctrl, slots: p.slots, part: p}
}

// tablePart is one part of a stateTable.
type tablePart[K comparable, S any] struct {
	// ctrl holds a word per group; byte i of it is the control byte of
	// the group's slot i: ctrlEmpty, ctrlDeleted, or the low 7 bits of
	// the hash of the key in the slot.
	ctrl  []uint64
	slots []tableSlot[K, S] // len(ctrl)*groupSlots
	// depth is the number of top hash bits all keys of the part share.
	depth uint
	used  int // full slots
	// growthLeft is the number of empty slots that may still be filled
	// before the part grows (deleted slots are reused without counting).
	growthLeft int
	// block holds ctrl and slots when the part is full-size, for the
	// table to reuse once the part is dropped.
	block *fullBlock[K, S]
}

// tableSlot is one key and its entry.
type tableSlot[K comparable, S any] struct {
	key   K
	entry stateEntry[S]
}

const (
	groupSlots  = 8
	ctrlEmpty   = 0x80
	ctrlDeleted = 0xfe
	ctrlLSBs    = 0x0101010101010101
	ctrlMSBs    = 0x8080808080808080
	// maxPartGroups bounds a part: 8192 slots, a split rehashes at most
	// about 7,000 keys.
	maxPartGroups = 1024
)

func newStateTable[K comparable, S any]() *stateTable[K, S] {
	t := &stateTable[K, S]{seed: maphash.MakeSeed(), shift: 64}
	t.dir = []dirEntry[K, S]{t.newPart(1, 0).entry()}
	return t
}

// newPart returns an empty part of the given groups and depth.
func (t *stateTable[K, S]) newPart(groups int, depth uint) *tablePart[K, S] {
	p := &tablePart[K, S]{depth: depth, growthLeft: groups * groupSlots * 7 / 8}
	if groups == maxPartGroups {
		p.block = t.blocks.get()
		p.ctrl, p.slots = p.block.ctrl[:], p.block.slots[:]
	} else {
		p.ctrl, p.slots = make([]uint64, groups), make([]tableSlot[K, S], groups*groupSlots)
	}
	for g := range p.ctrl {
		p.ctrl[g] = ctrlEmpty * ctrlLSBs
	}
	return p
}

// dropPart lets go of p, which no directory entry holds any more.
func (t *stateTable[K, S]) dropPart(p *tablePart[K, S]) {
	if p.block != nil {
		t.blocks.put(p.block)
	}
	*p = tablePart[K, S]{}
}

// fullBlock is the memory of a full-size part (maxPartGroups groups).
type fullBlock[K comparable, S any] struct {
	ctrl  [maxPartGroups]uint64
	slots [maxPartGroups * groupSlots]tableSlot[K, S]
}

// blockPool allocates the blocks of a table's full-size parts, and takes
// back those of parts that were replaced, for the next part to reuse.
// Once a table holds slabMinBytes of blocks, it carves them out of slabs:
// large allocations whose memory is advised to be backed by huge pages
// (adviseHugePages). Over a large state nearly every lookup lands on a
// page whose address translation is not cached, and under virtualization
// each such miss walks two levels of page tables: updates of random keys
// among 10M (two partitions of 5M, prefetched, BenchmarkStateTable's
// parallel case) took 2-3x as long on 4 KiB pages on this project's
// benchmark machine. A small table never allocates a slab.
type blockPool[K comparable, S any] struct {
	free  []*fullBlock[K, S] // blocks of dropped parts, slots cleared
	slab  []fullBlock[K, S]  // the part of the newest slab not handed out
	bytes int                // the bytes of the blocks handed out
}

// Slab sizes: a table allocates its first slab once its full-size parts
// hold slabMinBytes, then slabs the size of what it holds, up to
// slabMaxBytes, so that the unused part of a slab is never larger than
// the table.
var (
	slabMinBytes = 8 << 20
	slabMaxBytes = 32 << 20
)

// get returns a block with zeroed slots; its control words are the
// caller's to set.
func (b *blockPool[K, S]) get() *fullBlock[K, S] {
	if k := len(b.free); k > 0 {
		blk := b.free[k-1]
		b.free[k-1] = nil
		b.free = b.free[:k-1]
		return blk
	}
	size := int(unsafe.Sizeof(fullBlock[K, S]{}))
	b.bytes += size
	if len(b.slab) == 0 {
		if b.bytes <= slabMinBytes {
			return new(fullBlock[K, S])
		}
		b.slab = make([]fullBlock[K, S], max(min(b.bytes, slabMaxBytes)/size, 1))
		_ = adviseHugePages(unsafe.Pointer(&b.slab[0]), len(b.slab)*size) // advice: see its doc
	}
	blk := &b.slab[0]
	b.slab = b.slab[1:]
	return blk
}

// put takes back the block of a part no longer used.
func (b *blockPool[K, S]) put(blk *fullBlock[K, S]) {
	clear(blk.slots[:]) // let go of what keys and states hold; get returns zeroed slots
	b.free = append(b.free, blk)
}

// matchH2 returns a mask with the top bit of each byte of c equal to h2
// set. It may also set the bit of a full slot's byte just above a match
// (a borrow), which a key comparison rules out; it never sets the bit of
// an empty or deleted slot.
func matchH2(c, h2 uint64) uint64 {
	x := c ^ (h2 * ctrlLSBs)
	return (x - ctrlLSBs) &^ x & ctrlMSBs
}

// matchEmpty returns a mask with the top bit of each empty slot's byte set.
func matchEmpty(c uint64) uint64 { return c &^ (c << 6) & ctrlMSBs }

// matchFull returns a mask with the top bit of each full slot's byte set.
func matchFull(c uint64) uint64 { return ^c & ctrlMSBs }

// groupMask returns the mask that takes a hash to a group of a part whose
// control words are ctrl (a power of two of them).
func groupMask(ctrl []uint64) uint64 { return uint64(len(ctrl) - 1) }

// slotIn returns the index within its group of the slot of mask bit m.
func slotIn(m uint64) uint64 { return uint64(bits.TrailingZeros64(m)) >> 3 }

// hash returns the hash of k.
func (t *stateTable[K, S]) hash(k K) uint64 { return maphash.Comparable(t.seed, k) }

// len returns the number of keys.
func (t *stateTable[K, S]) len() int { return t.n }

// lookup returns the entry of k, whose hash is h, or nil.
func (t *stateTable[K, S]) lookup(k K, h uint64) *stateEntry[S] {
	if d, i, ok := t.find(k, h); ok {
		return &d.slots[i].entry
	}
	return nil
}

// find returns the directory entry of hash h and the index of k's slot in
// its part; ok is false when k is not in the table.
func (t *stateTable[K, S]) find(k K, h uint64) (d *dirEntry[K, S], i uint64, ok bool) {
	d = &t.dir[h>>t.shift]
	h2 := h & 0x7f
	mask := groupMask(d.ctrl)
	g := (h >> 7) & mask
	for step := uint64(1); ; step++ {
		c := d.ctrl[g]
		for m := matchH2(c, h2); m != 0; m &= m - 1 {
			if i := g*groupSlots + slotIn(m); d.slots[i].key == k {
				return d, i, true
			}
		}
		if matchEmpty(c) != 0 {
			return d, 0, false
		}
		g = (g + step) & mask
	}
}

// get returns the entry of k.
func (t *stateTable[K, S]) get(k K) (stateEntry[S], bool) {
	if e := t.lookup(k, t.hash(k)); e != nil {
		return *e, true
	}
	return stateEntry[S]{}, false
}

// set sets the entry of k.
func (t *stateTable[K, S]) set(k K, e stateEntry[S]) {
	h := t.hash(k)
	if old := t.lookup(k, h); old != nil {
		*old = e
		return
	}
	t.insert(k, h, e)
}

// insert adds k, whose hash is h and which must not be in the table, with
// entry e.
func (t *stateTable[K, S]) insert(k K, h uint64, e stateEntry[S]) {
	for {
		p := t.dir[h>>t.shift].part
		mask := groupMask(p.ctrl)
		g := (h >> 7) & mask
		for i := uint64(1); ; i++ {
			m := p.ctrl[g] & ctrlMSBs // empty or deleted
			if m == 0 {
				g = (g + i) & mask
				continue
			}
			j := slotIn(m)
			shift := j * 8
			if byte(p.ctrl[g]>>shift) == ctrlEmpty {
				if p.growthLeft == 0 {
					break // grow, then look again
				}
				p.growthLeft--
			}
			p.ctrl[g] = p.ctrl[g]&^(0xff<<shift) | (h&0x7f)<<shift
			p.slots[g*groupSlots+j] = tableSlot[K, S]{key: k, entry: e}
			p.used++
			t.n++
			return
		}
		t.grow(p, h)
	}
}

// remove deletes k, whose hash is h, and reports whether it was there.
func (t *stateTable[K, S]) remove(k K, h uint64) bool {
	d, i, ok := t.find(k, h)
	if !ok {
		return false
	}
	p := d.part
	p.slots[i] = tableSlot[K, S]{} // let go of what the key and state hold
	// A probe for another key stops at a group with an empty slot, so in
	// such a group the slot can be empty again; elsewhere it must stay a
	// tombstone.
	g, shift := i/groupSlots, i%groupSlots*8
	mark := uint64(ctrlDeleted)
	if matchEmpty(p.ctrl[g]) != 0 {
		mark = ctrlEmpty
		p.growthLeft++
	}
	p.ctrl[g] = p.ctrl[g]&^(0xff<<shift) | mark<<shift
	p.used--
	t.n--
	return true
}

// grow makes room in part p, which holds hash h: it rehashes p at the same
// size when its keys fill at most 3/4 of what it may hold (the rest are
// tombstones), at twice the
// size up to maxPartGroups, and beyond that splits it in two.
func (t *stateTable[K, S]) grow(p *tablePart[K, S], h uint64) {
	capacity := len(p.slots) * 7 / 8
	switch {
	case p.used <= capacity*3/4:
		t.replace(p, t.rehash(p, len(p.ctrl)), h)
	case len(p.ctrl) < maxPartGroups:
		t.replace(p, t.rehash(p, 2*len(p.ctrl)), h)
	default:
		t.split(p, h)
	}
}

// rehash returns a new part of the given groups and p's depth holding the
// keys of p.
func (t *stateTable[K, S]) rehash(p *tablePart[K, S], groups int) *tablePart[K, S] {
	np := t.newPart(groups, p.depth)
	t.moveAll(p, func(uint64) *tablePart[K, S] { return np })
	return np
}

// moveAll adds every key of p, hashed once, to the part that to returns
// for its hash.
func (t *stateTable[K, S]) moveAll(p *tablePart[K, S], to func(h uint64) *tablePart[K, S]) {
	for g, c := range p.ctrl {
		for m := matchFull(c); m != 0; m &= m - 1 {
			s := &p.slots[uint64(g)*groupSlots+slotIn(m)]
			h := t.hash(s.key)
			to(h).add(s.key, h, s.entry)
		}
	}
}

// add puts a key known to be absent into a part that has room, without
// growing it.
func (p *tablePart[K, S]) add(k K, h uint64, e stateEntry[S]) {
	mask := groupMask(p.ctrl)
	g := (h >> 7) & mask
	for i := uint64(1); ; i++ {
		if m := matchEmpty(p.ctrl[g]); m != 0 {
			j := slotIn(m)
			p.ctrl[g] = p.ctrl[g]&^(0xff<<(j*8)) | (h&0x7f)<<(j*8)
			p.slots[g*groupSlots+j] = tableSlot[K, S]{key: k, entry: e}
			p.used++
			p.growthLeft--
			return
		}
		g = (g + i) & mask
	}
}

// span returns the first directory index and the number of entries of the
// part of depth d that holds hash h.
func (t *stateTable[K, S]) span(d uint, h uint64) (first, n int) {
	n = 1 << (64 - t.shift - d)
	return int(h>>t.shift) &^ (n - 1), n
}

// replace puts np in the directory entries of p, which holds hash h, and
// drops p.
func (t *stateTable[K, S]) replace(p, np *tablePart[K, S], h uint64) {
	first, n := t.span(p.depth, h)
	for i := range n {
		t.dir[first+i] = np.entry()
	}
	t.dropPart(p)
}

// split replaces p, which holds hash h, by two parts of one more bit of
// depth, doubling the directory first when p's depth is the directory's.
func (t *stateTable[K, S]) split(p *tablePart[K, S], h uint64) {
	if p.depth == 64-t.shift {
		dir := make([]dirEntry[K, S], 2*len(t.dir))
		for i, q := range t.dir {
			dir[2*i], dir[2*i+1] = q, q
		}
		t.dir, t.shift = dir, t.shift-1
	}
	bit := uint64(1) << (63 - p.depth) // the first bit the parts do not share
	low, high := t.newPart(len(p.ctrl), p.depth+1), t.newPart(len(p.ctrl), p.depth+1)
	t.moveAll(p, func(h uint64) *tablePart[K, S] {
		if h&bit == 0 {
			return low
		}
		return high
	})
	first, n := t.span(p.depth, h)
	for i := range n {
		if i < n/2 {
			t.dir[first+i] = low.entry()
		} else {
			t.dir[first+i] = high.entry()
		}
	}
	t.dropPart(p)
}

// all yields every key and its entry, which the caller may change. yield
// may remove keys but not insert any.
func (t *stateTable[K, S]) all(yield func(k K, e *stateEntry[S]) bool) {
	depth := 64 - t.shift
	for i := 0; i < len(t.dir); i += 1 << (depth - t.dir[i].part.depth) {
		p := t.dir[i].part
		for g := range p.ctrl {
			for m := matchFull(p.ctrl[g]); m != 0; m = (m & (m - 1)) & matchFull(p.ctrl[g]) {
				s := &p.slots[uint64(g)*groupSlots+slotIn(m)]
				if !yield(s.key, &s.entry) {
					return
				}
			}
		}
	}
}

// Prefetching: a run of lookups (a batch's records in a partition) calls
// prefetchFor before each lookup, which starts loading the control word of
// the key prefetchDistance lookups ahead and the slot of the key half as
// far ahead, whose control word should have arrived by then. So each
// lookup finds its lines in the cache, and the misses of many keys are in
// flight at once instead of one after the other.
const (
	prefetchDistance = 16
	// prefetchMinBytes is the size of the slots below which a table is
	// taken to stay in the cache, and is not prefetched (for such a
	// table prefetching only costs its instructions).
	prefetchMinBytes = 4 << 20
)

// worthPrefetching reports whether the table is large enough for
// prefetchFor to pay.
func (t *stateTable[K, S]) worthPrefetching() bool {
	return t.n*int(unsafe.Sizeof(tableSlot[K, S]{})) > prefetchMinBytes
}

// prefetchFor prefetches for lookup i of a run of lookups of the hashes hs,
// in order (see prefetchDistance).
func (t *stateTable[K, S]) prefetchFor(hs []uint64, i int) {
	const half = prefetchDistance / 2
	if i == 0 {
		for j := range min(prefetchDistance, len(hs)) {
			t.prefetchGroup(hs[j])
		}
		for j := range min(half, len(hs)) {
			t.prefetchSlot(hs[j])
		}
	}
	if j := i + prefetchDistance; j < len(hs) {
		t.prefetchGroup(hs[j])
	}
	if j := i + half; j < len(hs) {
		t.prefetchSlot(hs[j])
	}
}

// prefetchGroup starts loading the control word that a lookup of hash h
// reads first.
func (t *stateTable[K, S]) prefetchGroup(h uint64) {
	d := &t.dir[h>>t.shift]
	prefetch(unsafe.Pointer(&d.ctrl[(h>>7)&groupMask(d.ctrl)]))
}

// prefetchSlot starts loading the slot that a lookup of hash h reads next:
// the first of its group whose control byte matches h (the group's last if
// none does). It reads the control word, which prefetchGroup should have
// brought in a while before.
func (t *stateTable[K, S]) prefetchSlot(h uint64) {
	d := &t.dir[h>>t.shift]
	g := (h >> 7) & groupMask(d.ctrl)
	m := matchH2(d.ctrl[g], h&0x7f) | 1<<63
	s := unsafe.Pointer(&d.slots[g*groupSlots+slotIn(m)])
	prefetch(s)
	// The slot's last byte, when it is on another cache line.
	if end := unsafe.Add(s, unsafe.Sizeof(tableSlot[K, S]{})-1); uintptr(end)>>6 != uintptr(s)>>6 {
		prefetch(end)
	}
}

// partsFrom calls yield for about n keys of the parts from the one holding
// hash lo on, with their entries: every key whose hash is from lo to the
// hi it returns. It reads whole parts while n is at least half of a part's
// keys. When n is less than that at the first part, it reads that part's
// hash range in proportion to n (hashing each of its keys to pick those
// in range), so a small budget does not rewrite a whole part; at a later
// part it stops, so a large budget reads whole parts and hashes nothing.
// It returns math.MaxUint64 when the hash space ends.
func (t *stateTable[K, S]) partsFrom(lo uint64, n int, yield func(k K, e *stateEntry[S])) (hi uint64) {
	depth := 64 - t.shift
	for i := int(lo >> t.shift); ; {
		p := t.dir[i].part
		span := 1 << (depth - p.depth)
		first := i &^ (span - 1)
		// The part's hashes; at depth 0 both shifts are by 64, giving 0.
		pLo, pHi := uint64(first)<<t.shift, uint64(first+span)<<t.shift-1
		start, end := max(lo, pLo), pHi
		share := (float64(pHi-start) + 1) / (float64(pHi-pLo) + 1) // of the part's hashes
		if float64(n) < float64(p.used)*share/2 {
			if start > lo {
				// Whole parts were read: stop at their end rather than
				// hash this one, and leave it to the next call.
				return start - 1
			}
			if w := float64(pHi-pLo) * float64(n) / float64(p.used); w < float64(pHi-start) {
				end = start + uint64(w)
			}
		}
		whole := start == pLo && end == pHi
		for g := range p.ctrl {
			for m := matchFull(p.ctrl[g]); m != 0; m &= m - 1 {
				s := &p.slots[uint64(g)*groupSlots+slotIn(m)]
				if whole {
					yield(s.key, &s.entry)
					n--
				} else if h := t.hash(s.key); start <= h && h <= end {
					yield(s.key, &s.entry)
					n--
				}
			}
		}
		if n <= 0 || end != pHi || end == math.MaxUint64 {
			return end
		}
		i = first + span
	}
}
