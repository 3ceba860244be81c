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
// of the next range of each partition's hash space (the refresh), about as
// many keys as it has changes, and at least 1/maxRefreshCycle of the
// state; the ranges are taken after each batch too, and written ahead
// (stateCheckpointer.ahead). Once a partition's sweep of its hash space is
// done, every live key of it has been written since the sweep's first
// range, so the files before the checkpoint that wrote that range are no
// longer needed (checkpoint.StateSnapshot.Base: the oldest such
// checkpoint over the partitions), and the full snapshot goes too. The entries written stay about twice the changes, as
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

// refreshMark is a range of the hash space of one partition's table
// rewritten at a data checkpoint: from the end of the previous mark of its
// sweep (0 for the first) to hi, inclusive.
type refreshMark struct {
	sweep int
	hi    uint64
	batch int64 // the data checkpoint's batch time, Unix nanoseconds
}

// refresher tracks the sweeps of one partition's hash space. Each range
// ends where a part of its table ends (stateTable.partsFrom), so that a
// sweep reads whole parts and hashes no key.
type refresher struct {
	sweep int
	next  uint64 // the start of the next range
	// marks are the ranges written that no later range covers yet, oldest
	// first; empty until the first full snapshot.
	marks []refreshMark
	// taken are the ranges taken since the last data checkpoint, to be
	// written by the next one.
	taken []refreshMark
}

// full records a full snapshot at batch, which writes every key: a sweep
// of its own, after which a new one starts. The ranges taken since the
// previous data checkpoint are in it too.
func (r *refresher) full(batch int64) {
	r.marks = append(r.marks[:0], refreshMark{sweep: r.sweep, hi: math.MaxUint64, batch: batch})
	r.sweep, r.next, r.taken = r.sweep+1, 0, r.taken[:0]
}

// took records that the range from next to hi was taken, to be written by
// the next data checkpoint, and moves past it (a sweep ends at the end of
// the space).
func (r *refresher) took(hi uint64) {
	r.taken = append(r.taken, refreshMark{sweep: r.sweep, hi: hi})
	if hi == math.MaxUint64 {
		r.sweep, r.next = r.sweep+1, 0
	} else {
		r.next = hi + 1
	}
}

// commit records that the ranges taken since the last data checkpoint are
// written by the one at batch, and forgets the marks they make obsolete:
// those of the previous sweep that the current one has covered since, and
// any older.
func (r *refresher) commit(batch int64) {
	for _, t := range r.taken {
		t.batch = batch
		obsolete := 0
		for _, m := range r.marks {
			if m.sweep < t.sweep-1 || m.sweep == t.sweep-1 && m.hi <= t.hi {
				obsolete++
				continue
			}
			break
		}
		r.marks = append(append(r.marks[:0], r.marks[obsolete:]...), t)
	}
	r.taken = r.taken[:0]
}

// base returns the batch time of the oldest data checkpoint whose files a
// restore needs for this partition, or 0 before the first full snapshot.
func (r *refresher) base() int64 {
	if len(r.marks) == 0 {
		return 0
	}
	return r.marks[0].batch
}

// rolling is the rewrite of one state stream: a refresher per partition,
// and what was taken since the last data checkpoint. Used between
// batches, on the job loop.
type rolling struct {
	parts []refresher
	// taken is the number of keys taken since the last data checkpoint,
	// and records the records logged since then that they answer for.
	taken, records int
}

// full records a full snapshot at batch of a store of partitions.
func (r *rolling) full(batch int64, partitions int) {
	if len(r.parts) != partitions {
		r.parts = make([]refresher, partitions)
	}
	for i := range r.parts {
		r.parts[i].full(batch)
	}
	r.taken, r.records = 0, 0
}

// commit records that what was taken since the last data checkpoint is
// written by the one at batch.
func (r *rolling) commit(batch int64) {
	for i := range r.parts {
		r.parts[i].commit(batch)
	}
	r.taken, r.records = 0, 0
}

// base returns the batch time of the oldest data checkpoint whose files a
// restore needs (see checkpoint.StateSnapshot.Base), or 0 before the first
// full snapshot.
func (r *rolling) base() int64 {
	if len(r.parts) == 0 {
		return 0
	}
	b := int64(math.MaxInt64)
	for i := range r.parts {
		pb := r.parts[i].base()
		if pb == 0 {
			return 0
		}
		b = min(b, pb)
	}
	return b
}

// refreshWanted returns how many keys a data checkpoint with records
// changes over live keys rewrites: as many as its changes, and at least
// 1/maxRefreshCycle of the state. live or more means all of them (a full
// snapshot).
func refreshWanted(records, live int) int {
	return max(records, (live+maxRefreshCycle-1)/maxRefreshCycle)
}

// takeRefresh returns a copy of about n of the store's live keys, the
// next ones of each partition's sweep (in proportion to its keys, whole
// parts of its table, at least one), in the store's spare buffer, and
// records the ranges taken in r. Like takeChanges it must not run
// concurrently with a batch's update.
func (st *stateStore[K, S]) takeRefresh(r *rolling, n, live int) []rdd.Pair[K, stateEntry[S]] {
	st.spareMu.Lock()
	out := st.spareRefresh[:0]
	st.spareRefresh = nil
	st.spareMu.Unlock()
	live = max(live, 1)
	for i := range st.parts {
		sp := &st.parts[i]
		sp.mu.RLock()
		np := max(1, int((int64(n)*int64(sp.m.len())+int64(live)-1)/int64(live)))
		hi := sp.m.partsFrom(r.parts[i].next, np, func(k K, e *stateEntry[S]) {
			out = append(out, rdd.Pair[K, stateEntry[S]]{Key: k, Value: *e})
		})
		sp.mu.RUnlock()
		r.parts[i].took(hi)
	}
	r.taken += len(out)
	return out
}

// recycleRefresh hands a copy from takeRefresh back once it is encoded,
// for the next one to copy into: over a large state fresh memory costs
// more than the copy.
func (st *stateStore[K, S]) recycleRefresh(r []rdd.Pair[K, stateEntry[S]]) {
	st.spareMu.Lock()
	if cap(r) > cap(st.spareRefresh) {
		forget(r, st.plainRecords)
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
