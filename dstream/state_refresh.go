package dstream

import (
	"math"

	"github.com/sluice-io/sluice/rdd"
)

// This file holds the rolling rewrite of a state stream's live keys, which
// keeps its chain of checkpoint files bounded without full snapshots.
//
// A data checkpoint of a state stream writes the keys changed since the
// previous one (a delta). A restore reads the files back in order, so the
// deltas alone would pile up for ever; the store's own remedy is a full
// snapshot once the deltas outgrow the last one, which over a large state
// is a stall: 10M keys took 1.7 s to copy, encode and write, in which the
// batches waited. Instead, each data checkpoint also rewrites the live keys
// of the next range of the hash space (the refresh), about as many keys as
// it has changes, and at least 1/maxRefreshCycle of the state. Once a
// sweep of the hash space is done, every live key has been written since
// the sweep's first range, so the files before the checkpoint that wrote
// it are no longer needed (checkpoint.StateSnapshot.Base), and the full
// snapshot goes too. The entries written stay about twice the changes, as
// with the store's rule, and a restore reads about twice the live keys,
// but no checkpoint writes much more than its changes.
//
// Why the files from Base on are enough: take a key whose hash fell in the
// range rewritten at checkpoint R, Base or later. If it changed after R,
// the delta of its last change holds its entry. If not, it was live at R
// and R's file holds it, or it was not and the last record of it in the
// files read (if any: it was written at Base or later) is its removal,
// logged after that record and before R.

// maxRefreshCycle is the most data checkpoints a sweep takes: each
// rewrites at least this share of the state, so that a stream with few
// changes keeps few files (a restore opens each, and every metadata file
// names them all).
const maxRefreshCycle = 128

// refreshMark is a range of the hash space rewritten at a data checkpoint:
// from the end of the previous mark of its sweep (0 for the first) to hi,
// inclusive.
type refreshMark struct {
	sweep int
	hi    uint64
	batch int64 // the data checkpoint's batch time, Unix nanoseconds
}

// refresher tracks a stream's sweeps of the hash space. Used between
// batches, by the data checkpoint.
type refresher struct {
	sweep int
	next  uint64 // the start of the next range
	// marks are the ranges rewritten that no later range covers yet,
	// oldest first; empty until the first full snapshot.
	marks []refreshMark
}

// full records a full snapshot at batch, which rewrites every key: a sweep
// of its own, after which a new one starts.
func (r *refresher) full(batch int64) {
	r.marks = append(r.marks[:0], refreshMark{sweep: r.sweep, hi: math.MaxUint64, batch: batch})
	r.sweep, r.next = r.sweep+1, 0
}

// nextRange returns the next range to rewrite, share of the hash space
// (at most to the end of the space: a sweep ends there).
func (r *refresher) nextRange(share float64) (lo, hi uint64) {
	lo = r.next
	width := share * math.Exp2(64)
	if width >= float64(math.MaxUint64-lo) {
		return lo, math.MaxUint64
	}
	return lo, lo + max(uint64(width), 1) - 1
}

// rewrote records that the range from nextRange ending at hi was
// rewritten at batch, and forgets the marks it makes obsolete: those of
// earlier sweeps that the current one has covered since.
func (r *refresher) rewrote(hi uint64, batch int64) {
	r.marks = append(r.marks, refreshMark{sweep: r.sweep, hi: hi, batch: batch})
	obsolete := 0
	for _, m := range r.marks[:len(r.marks)-1] {
		if m.sweep < r.sweep-1 || m.sweep == r.sweep-1 && m.hi <= hi {
			obsolete++
			continue
		}
		break
	}
	r.marks = append(r.marks[:0], r.marks[obsolete:]...)
	if hi == math.MaxUint64 {
		r.sweep, r.next = r.sweep+1, 0
	} else {
		r.next = hi + 1
	}
}

// base returns the batch time of the oldest data checkpoint whose files a
// restore needs (see checkpoint.StateSnapshot.Base), or 0 before the first
// full snapshot.
func (r *refresher) base() int64 {
	if len(r.marks) == 0 {
		return 0
	}
	return r.marks[0].batch
}

// refreshShare returns the share of the hash space a data checkpoint with
// records changes over live keys rewrites; 1 or more means all of it (a
// full snapshot).
func refreshShare(records, live int) float64 {
	if live == 0 {
		return 1
	}
	return max(float64(records)/float64(live), 1.0/maxRefreshCycle)
}

// takeRefresh returns a copy of the live keys, in every partition, whose
// table hash is in [lo, hi], in the store's spare buffer. Like takeChanges
// it must not run concurrently with a batch's update.
func (st *stateStore[K, S]) takeRefresh(lo, hi uint64) []rdd.Pair[K, stateEntry[S]] {
	st.spareMu.Lock()
	out := st.spareRefresh[:0]
	st.spareRefresh = nil
	st.spareMu.Unlock()
	for i := range st.parts {
		sp := &st.parts[i]
		sp.mu.RLock()
		sp.m.inRange(lo, hi, func(k K, e *stateEntry[S]) {
			out = append(out, rdd.Pair[K, stateEntry[S]]{Key: k, Value: *e})
		})
		sp.mu.RUnlock()
	}
	return out
}

// recycleRefresh hands a copy from takeRefresh back once it is encoded,
// for the next one to copy into: over a large state fresh memory costs
// more than the copy.
func (st *stateStore[K, S]) recycleRefresh(r []rdd.Pair[K, stateEntry[S]]) {
	clear(r)
	st.spareMu.Lock()
	if cap(r) > cap(st.spareRefresh) {
		st.spareRefresh = r[:0]
	}
	st.spareMu.Unlock()
}

// pendingRecords returns the number of records logged since the last
// takeChanges, and the number of live keys.
func (st *stateStore[K, S]) pendingRecords() (records, live int) {
	for i := range st.parts {
		sp := &st.parts[i]
		sp.mu.RLock()
		records += len(sp.log)
		live += sp.m.len()
		sp.mu.RUnlock()
	}
	return records, live
}

// markAllChanged makes the next takeChanges report every live key, as a
// full snapshot.
func (st *stateStore[K, S]) markAllChanged() {
	for i := range st.parts {
		sp := &st.parts[i]
		sp.mu.Lock()
		sp.all = true
		sp.mu.Unlock()
	}
}
