package dstream

import (
	"context"
	"fmt"
	"iter"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/sluice-io/sluice/rdd"
)

// This file holds the storage of stateful streams (UpdateStateByKey,
// MapWithState) and the applier that runs their per-batch updates exactly
// once and in batch order.
//
// # Storage
//
// A stateStore is P partitions, keys placed by an rdd.Partitioner (a
// HashPartitioner by default). Each partition is a stateTable (a hash
// table built for prefetching, see state_table.go) from key to a compact
// entry {state, batch time of the last update}, owned by the stream and
// updated in place. A batch's records are routed with the same
// partitioner into buffers the stream keeps (stateInbox), and one task per
// partition applies them (eachPartition), so exactly one goroutine writes a
// partition at a time (it also holds the partition's write lock, for
// readers of snapshots).
//
// # Changed keys
//
// Once startTrackingChanges is called (by the checkpoint integration), each
// partition appends every update and removal, with the key's entry after
// it, to a log: an append per change on the batch path, no lookup. A key
// changed again since the last take is counted as a repeat (its previous
// update time is after the take), so the encoder knows whether the log is
// worth deduplicating. takeChanges hands the logs over and starts new ones:
// the delta for an incremental checkpoint, taken between batches at the
// cost of swapping a slice per partition, and read by the checkpoint
// encoder without touching the state. A batch that calls the update of
// every key (UpdateStateByKey) logs the keys whose state changed when the
// state holds no pointers (compared byte for byte, so a state returned as
// it was is no change); over a state with pointers, which may change
// behind them, it marks the partition allChanged instead of growing the
// log, and takeChanges copies every live key. Without tracking nothing is
// recorded, so there is no cost. Records without pointers wait in a small
// buffer of the partition (pending) and join the log a buffer at a time
// through non-temporal stores where the machine has them (flushPending);
// a writer moves what is pending to the log before it releases the
// partition (unlock), so no other reader ever sees a pending record.
//
// # Timeouts
//
// With a timeout each partition keeps an expiry index: a queue of buckets,
// one per batch time at which keys were updated, oldest first, each holding
// the keys updated then. A key updated again goes into the newer bucket too;
// its stale copy in the older bucket is skipped when that bucket is popped
// (its entry's update time no longer matches). At batch T the buckets older
// than T - timeout are popped, so finding the keys that time out costs what
// was indexed, never a scan of the state.

// stateEntry is one key's state and the batch time (Unix nanoseconds) of its
// last update.
type stateEntry[S any] struct {
	state   S
	updated int64
}

// changeRecord is one change in a partition's log: the key's entry after
// it, or its removal (an entry updated at removedAt, see removal). The
// removal is not a field of its own: over a large state the log's writes
// compete with the batch's lookups for the caches, and a flag would pad
// the record of an int64 key and state from 24 bytes to 32.
type changeRecord[K comparable, S any] struct {
	key   K
	entry stateEntry[S]
}

// removedAt is the update time of a removal record: no batch has it
// (it is minBatchTime, before every batch).
const removedAt = minBatchTime

// removal returns the record of k's removal.
func removal[K comparable, S any](k K) changeRecord[K, S] {
	return changeRecord[K, S]{key: k, entry: stateEntry[S]{updated: removedAt}}
}

// removed reports whether r records a removal.
func (r changeRecord[K, S]) removed() bool { return r.entry.updated == removedAt }

// expiryBucket holds the keys updated at one batch time.
type expiryBucket[K comparable] struct {
	time int64
	keys []K
}

// statePartition is one partition of a stateStore.
type statePartition[K comparable, S any] struct {
	mu sync.RWMutex
	m  *stateTable[K, S]
	// tracking is set by startTrackingChanges; then log holds the changes
	// since takeChanges in order (the last record of a key wins), repeats
	// counts the records of keys already in it, and since is the batch time
	// of the last take. all reports that every key may have changed since
	// takeChanges; the log then holds removals only.
	tracking bool
	log      []changeRecord[K, S]
	repeats  int
	since    int64
	all      bool
	// staged is how many records at the start of log were handed over
	// ahead of the checkpoint (takeAhead). What was handed over is read
	// by the encoder while the batches go on, so a log's records are
	// never written again once handed over, until the encoder is done
	// with them: the batches only append, and a log with staged records
	// is reused only through recycle. staged is 0 only in a log that no
	// takeAhead has seen (takeChanges and going allChanged start one).
	staged int
	// spareLog is a log the checkpoint encoder is done with, emptied, for
	// the next takeChanges to record into (see recycle).
	spareLog []changeRecord[K, S]
	// pending holds the latest records of the log, not yet in it, when
	// the records hold no pointers and the machine has non-temporal
	// stores (nil otherwise): see flushPending. It is empty whenever the
	// partition's write lock is free (see unlock), so only the writer of
	// the partition ever sees records in it.
	pending []changeRecord[K, S]
	expiry  []expiryBucket[K]
	spare   [][]K // emptied bucket slices, reused
}

// stateStore is the state of one stateful stream.
type stateStore[K comparable, S any] struct {
	part    rdd.Partitioner[K]
	timeout time.Duration
	parts   []statePartition[K, S]
	// applied is the batch time (Unix nanoseconds) of the last batch applied.
	applied atomic.Int64
	// plainState reports that S holds no pointers, so two states with the
	// same bytes are the same state (see sameBytes).
	plainState bool
	// plainRecords reports that neither K nor S holds pointers.
	plainRecords bool
	// spareRefresh is a copy takeRefresh made that the encoder is done
	// with, emptied, for the next one to copy into.
	spareMu      sync.Mutex
	spareRefresh []rdd.Pair[K, stateEntry[S]]
}

// sameBytes reports whether a and b hold the same bytes: for a type
// without pointers, the same value (NaNs of the same bits included; 0 and
// -0, or padding that differs, count as different).
func sameBytes[S any](a, b *S) bool {
	n := unsafe.Sizeof(*a)
	return string(unsafe.Slice((*byte)(unsafe.Pointer(a)), n)) == string(unsafe.Slice((*byte)(unsafe.Pointer(b)), n))
}

// pointerFree reports whether values of t hold no pointers: booleans,
// numbers, and arrays and structs of them.
func pointerFree(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return t.Len() == 0 || pointerFree(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !pointerFree(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}

func newStateStore[K comparable, S any](part rdd.Partitioner[K], timeout time.Duration) *stateStore[K, S] {
	st := &stateStore[K, S]{part: part, timeout: timeout, parts: make([]statePartition[K, S], part.NumPartitions()),
		plainState: pointerFree(reflect.TypeFor[S]())}
	st.plainRecords = st.plainState && pointerFree(reflect.TypeFor[K]())
	pendingLen := pendingBytes / int(unsafe.Sizeof(changeRecord[K, S]{}))
	buffered := nonTemporalStores && st.plainRecords && unsafe.Sizeof(changeRecord[K, S]{})%8 == 0 && pendingLen > 1
	for i := range st.parts {
		st.parts[i].m = newStateTable[K, S]()
		if buffered {
			st.parts[i].pending = make([]changeRecord[K, S], 0, pendingLen)
		}
	}
	st.applied.Store(minBatchTime)
	return st
}

const minBatchTime = -1 << 63

// startTrackingChanges makes the store record which keys change, for
// incremental checkpoints. Until then takeChanges reports everything.
func (st *stateStore[K, S]) startTrackingChanges() {
	for i := range st.parts {
		sp := &st.parts[i]
		sp.mu.Lock()
		if !sp.tracking {
			sp.tracking, sp.since = true, minBatchTime
			sp.all = true // what is there now has not been reported
		}
		sp.mu.Unlock()
	}
}

// stateChanges is what changed in a store since the previous takeChanges.
type stateChanges[K comparable, S any] struct {
	// Changed holds, per partition, its log of changes in order, the last
	// record of a key winning; the caller owns the logs. For a partition in
	// Live, only its removals.
	Changed [][]changeRecord[K, S]
	// Repeats holds, per partition, how many records of Changed are of a
	// key changed earlier in the same log.
	Repeats []int
	// Staged holds, per partition, how many records at the start of its
	// log were handed over by takeAhead since the previous takeChanges:
	// only the records after them are new. Nil means none.
	Staged []int
	// Live holds a copy of every live key of the partitions where every key
	// may have changed (tracking just started, or an UpdateStateByKey
	// batch).
	Live []rdd.Pair[K, stateEntry[S]]
	// Full reports that every partition is in Live: Live is the whole
	// state.
	Full bool
}

// len returns the number of records.
func (c stateChanges[K, S]) len() int {
	n := len(c.Live)
	for _, log := range c.Changed {
		n += len(log)
	}
	return n
}

// takeChanges returns the changes since the previous call (or since
// startTrackingChanges) and starts recording anew. It must not run
// concurrently with a batch's update (the checkpoint takes it after the
// batch, in the job loop). Its cost is a slice swap per partition, except
// for partitions where every key may have changed, which are copied.
func (st *stateStore[K, S]) takeChanges() stateChanges[K, S] {
	out := stateChanges[K, S]{Full: true, Changed: make([][]changeRecord[K, S], len(st.parts)),
		Repeats: make([]int, len(st.parts)), Staged: make([]int, len(st.parts))}
	now := st.applied.Load()
	for i := range st.parts {
		sp := &st.parts[i]
		sp.mu.Lock()
		if sp.all || !sp.tracking {
			// One allocation for the whole copy: over a large state,
			// growing it would page-fault twice its size.
			out.Live = slices.Grow(out.Live, sp.m.len())
			for k, e := range sp.m.all {
				out.Live = append(out.Live, rdd.Pair[K, stateEntry[S]]{Key: k, Value: *e})
			}
			var removed []changeRecord[K, S]
			for _, r := range sp.log {
				if !r.removed() {
					continue
				}
				if _, ok := sp.m.get(r.key); !ok {
					removed = append(removed, r)
				}
			}
			// Removals may repeat a key. A log handed over ahead is not
			// written again (see staged): the next one starts anew.
			out.Changed[i], out.Repeats[i] = removed, len(removed)
			if sp.staged == 0 {
				forget(sp.log, st.plainRecords)
				sp.log = sp.log[:0]
			} else {
				sp.log = nil
			}
		} else {
			out.Full = false
			out.Changed[i], out.Repeats[i], out.Staged[i] = sp.log, sp.repeats, sp.staged
			next := sp.spareLog
			if cap(next) < len(sp.log) {
				next = make([]changeRecord[K, S], 0, len(sp.log))
			}
			sp.log, sp.spareLog = next, nil
		}
		sp.repeats, sp.since, sp.all, sp.staged = 0, now, false, 0
		sp.mu.Unlock()
	}
	return out
}

// takeAhead returns the records logged since the previous takeAhead or
// takeChanges, in the partitions whose logs are worth handing over ahead
// of the checkpoint that commits them: those that repeat few keys (see
// dedupWorth), whose records the checkpoint would write anyway. They are
// the log's own records, not a copy (copying them cost a large state's
// batches more than the encoding, in caches): the encoder may read them
// while later batches append to the log, until recycle. Like takeChanges
// it must not run concurrently with a batch's update. The next
// takeChanges reports every record of the logs, with how many were handed
// over (Staged).
func (st *stateStore[K, S]) takeAhead() [][]changeRecord[K, S] {
	out := make([][]changeRecord[K, S], len(st.parts))
	for i := range st.parts {
		sp := &st.parts[i]
		sp.mu.Lock()
		if sp.tracking && !sp.all && len(sp.log) > sp.staged && !dedupWorth(sp.repeats, len(sp.log)) {
			out[i] = sp.log[sp.staged:len(sp.log):len(sp.log)]
			sp.staged = len(sp.log)
		}
		sp.mu.Unlock()
	}
	return out
}

// dedupWorth reports whether a log of n records, repeats of them of a key
// logged earlier, is worth deduplicating before it is encoded: when a
// quarter or more repeat. A log with fewer repeats costs at most a third
// more entries written as it is.
func dedupWorth(repeats, n int) bool {
	return repeats > 0 && repeats*4 >= n
}

// recycle hands the logs of c back to their partitions once the encoder
// is done with them, for the next takeChanges to record into: a log is as
// large as the changes of a checkpoint interval, and allocating it afresh
// every interval costs a large state more than its changes (new memory
// comes cache-cold and page-faulted).
func (st *stateStore[K, S]) recycle(c stateChanges[K, S]) {
	for i, log := range c.Changed {
		sp := &st.parts[i]
		sp.mu.Lock()
		if cap(log) > cap(sp.spareLog) {
			forget(log, st.plainRecords)
			sp.spareLog = log[:0]
		}
		sp.mu.Unlock()
	}
}

// forget clears s, so that it no longer keeps alive what its elements
// point to, unless they hold no pointers (plain): then there is nothing to
// let go of, and clearing the megabytes of a log between batches would
// only evict the state the next batch reads from the caches.
func forget[E any](s []E, plain bool) {
	if !plain {
		clear(s)
	}
}

// dedupChanges returns the records of log that are the last of their key,
// in order.
func dedupChanges[K comparable, S any](log []changeRecord[K, S]) []changeRecord[K, S] {
	last := make(map[K]int, len(log))
	for i, r := range log {
		last[r.key] = i
	}
	out := make([]changeRecord[K, S], 0, len(last))
	for i, r := range log {
		if last[r.key] == i {
			out = append(out, r)
		}
	}
	return out
}

// len returns the number of keys in the store.
func (st *stateStore[K, S]) len() int {
	n := 0
	for i := range st.parts {
		sp := &st.parts[i]
		sp.mu.RLock()
		n += sp.m.len()
		sp.mu.RUnlock()
	}
	return n
}

// maxChangedShare bounds a partition's log to this share of its keys
// (beyond a floor of minChangedBound): past it, the partition counts every
// key as changed, as a batch of UpdateStateByKey does, and keeps only its
// removals. A long checkpoint interval then costs at most half the state
// again in memory, not a copy of it, and the next checkpoint copies the
// partition, which costs about what the log would.
const (
	maxChangedShare = 2
	minChangedBound = 4096
)

// record logs a change whose key was last updated at batch time prev
// (minBatchTime for a new key). In an allChanged partition only removals
// are logged.
func (sp *statePartition[K, S]) record(r changeRecord[K, S], prev int64) {
	if !sp.tracking || sp.all && !r.removed() {
		return
	}
	if prev > sp.since {
		sp.repeats++ // changed since the take: an earlier record has it
	}
	if sp.pending != nil {
		sp.pending = append(sp.pending, r)
		if len(sp.pending) == cap(sp.pending) {
			sp.flushPending()
		}
		return
	}
	sp.log = append(sp.log, r)
	sp.bound()
}

// bound makes the partition allChanged once its log holds more records
// than maxChangedShare allows.
func (sp *statePartition[K, S]) bound() {
	if n := len(sp.log); !sp.all && n > minChangedBound && n > sp.m.len()/maxChangedShare {
		sp.all = true
		// In place, unless records of the log were handed over ahead
		// (see staged): then into a new one.
		var kept []changeRecord[K, S]
		if sp.staged == 0 {
			kept = sp.log[:0]
		}
		for _, rec := range sp.log {
			if rec.removed() {
				kept = append(kept, rec)
			}
		}
		if sp.staged == 0 {
			clear(sp.log[len(kept):])
		}
		sp.log, sp.staged = kept, 0
	}
}

// pendingBytes is the size of a partition's pending records (see
// flushPending): small enough to stay in the first-level cache.
const pendingBytes = 4 << 10

// flushPending moves the pending records to the end of the log with
// non-temporal stores. Over a large state the batch's lookups miss the
// caches, and the CPU holds only so many misses in flight (one fill buffer
// each, about a dozen per core): appending each record to the log directly
// costs a fill of the log's next line every two or three records, which
// takes a buffer the lookups need and, for a log of megabytes, waits on
// memory for a line that is about to be overwritten whole. Records are
// appended to pending instead, which stays in the first-level cache, and
// copied out pendingBytes at a time by stores that write whole lines without
// reading them. In a paced batch of 10,000 updates over 10M int64 keys
// this took 9-10% off the batch (the same process, alternating ops with
// and without); over 10k keys it changed nothing measurable.
func (sp *statePartition[K, S]) flushPending() {
	k := len(sp.pending)
	if k == 0 {
		return
	}
	n := len(sp.log)
	sp.log = slices.Grow(sp.log, k)[:n+k]
	copyNonTemporal(unsafe.Pointer(&sp.log[n]), unsafe.Pointer(&sp.pending[0]), uintptr(k)*unsafe.Sizeof(sp.pending[0])/8)
	sp.pending = sp.pending[:0]
	sp.bound()
}

// unlock moves the pending records to the log and releases the partition's
// write lock. Every writer of a partition releases it through unlock.
func (sp *statePartition[K, S]) unlock() {
	sp.flushPending()
	sp.mu.Unlock()
}

// put sets k's state, updated at batch time t; h is k's hash, at its
// entry in the table (nil when it has none), and prev is the update time of
// that entry, or minBatchTime. With a timeout the key is indexed in t's
// bucket.
func (sp *statePartition[K, S]) put(k K, h uint64, at *stateEntry[S], s S, t, prev int64, timeout bool) {
	e := stateEntry[S]{state: s, updated: t}
	if at != nil {
		*at = e
	} else {
		sp.m.insert(k, h, e)
	}
	sp.record(changeRecord[K, S]{key: k, entry: e}, prev)
	if timeout && prev != t {
		sp.index(k, t)
	}
}

// remove deletes k, whose hash is h, last updated at batch time prev.
func (sp *statePartition[K, S]) remove(k K, h uint64, prev int64) {
	sp.m.remove(k, h)
	sp.record(removal[K, S](k), prev)
}

// index adds k to the expiry bucket of batch time t, the newest bucket.
func (sp *statePartition[K, S]) index(k K, t int64) {
	if n := len(sp.expiry); n > 0 && sp.expiry[n-1].time == t {
		sp.expiry[n-1].keys = append(sp.expiry[n-1].keys, k)
		return
	}
	var keys []K
	if n := len(sp.spare); n > 0 {
		keys, sp.spare = sp.spare[n-1][:0], sp.spare[:n-1]
	}
	sp.expiry = append(sp.expiry, expiryBucket[K]{time: t, keys: append(keys, k)})
}

// expire removes every key last updated before threshold, calling visit
// with each (before removing it). Only buckets older than threshold are
// read.
func (sp *statePartition[K, S]) expire(threshold int64, visit func(k K, s S)) {
	n := 0
	for n < len(sp.expiry) && sp.expiry[n].time < threshold {
		b := sp.expiry[n]
		for _, k := range b.keys {
			h := sp.m.hash(k)
			e := sp.m.lookup(k, h)
			if e == nil || e.updated != b.time {
				continue // removed, or updated again later
			}
			visit(k, e.state)
			sp.remove(k, h, e.updated)
		}
		if cap(b.keys) <= 1<<16 {
			clear(b.keys)
			sp.spare = append(sp.spare, b.keys[:0])
		}
		n++
	}
	if n > 0 {
		clear(sp.expiry[:n])
		sp.expiry = slices.Delete(sp.expiry, 0, n)
	}
}

// load puts the pairs of an initial state RDD into the store at batch time t.
// Of pairs with the same key, the last one in the RDD's order wins, as in
// Spark's MapWithState (a put per pair), or the first one when keepFirst is
// set, as in Spark's UpdateStateByKey (the head of the key's cogrouped
// states).
func (st *stateStore[K, S]) load(ctx context.Context, initial *rdd.RDD[rdd.Pair[K, S]], t int64, keepFirst bool) error {
	placed := rdd.PartitionBy(initial, rdd.WithPartitioner(st.part))
	timeout := st.timeout > 0
	return placed.ForeachPartition(ctx, func(p int, pairs iter.Seq[rdd.Pair[K, S]]) error {
		sp := &st.parts[p]
		sp.mu.Lock()
		defer sp.unlock()
		for kv := range pairs {
			h := sp.m.hash(kv.Key)
			e := sp.m.lookup(kv.Key, h)
			prev := int64(minBatchTime)
			if e != nil {
				if keepFirst {
					continue
				}
				prev = e.updated
			}
			sp.put(kv.Key, h, e, kv.Value, t, prev, timeout)
		}
		return nil
	})
}

// snapshotRDD returns an RDD of the store's (key, state) pairs after batch
// t, read from the live store when a job computes it. prepare must bring the
// store to batch t; if a later batch has already changed the store, the job
// fails with ErrStateUnavailable instead of showing a later state.
func snapshotRDD[K comparable, S any](st *stateStore[K, S], desc string, t time.Time,
	prepare func(ctx context.Context) error) *rdd.RDD[rdd.Pair[K, S]] {
	n := len(st.parts)
	tn := t.UnixNano()
	base := rdd.MapPartitionsWithIndex(rdd.Parallelize(make([]struct{}, n), n),
		func(p int, _ iter.Seq[struct{}]) iter.Seq[rdd.Pair[K, S]] {
			return func(yield func(rdd.Pair[K, S]) bool) {
				sp := &st.parts[p]
				sp.mu.RLock()
				defer sp.mu.RUnlock()
				for k, e := range sp.m.all {
					if !yield(rdd.Pair[K, S]{Key: k, Value: e.state}) {
						return
					}
				}
			}
		})
	return rdd.Prepare(base, func(ctx context.Context) error {
		if err := prepare(ctx); err != nil {
			return err
		}
		if now := st.applied.Load(); now != tn {
			return fmt.Errorf("dstream: %s at batch %s: %w: batch %s has changed the state since; read the state of a batch during that batch, or Persist the stream",
				desc, FormatTime(t), ErrStateUnavailable, FormatTime(time.Unix(0, now)))
		}
		return nil
	})
}

// stateApplier runs the state updates of a stateful stream's batches once
// each, in batch order. A stream's compute (at job-generation time) queues
// a batch's update; the RDDs of that batch run applyThrough(t) before any of
// their partitions are read (rdd.Prepare), at job-run time, which applies
// every queued batch up to t first. So batches apply in order even when the
// job generator runs ahead of the job runner or a batch's RDD is never read.
type stateApplier struct {
	desc  func() string
	slide time.Duration

	mu      sync.Mutex
	pending []*stateBatch // queued, not applied, in batch order
	batches map[int64]*stateBatch
	last    int64 // time of the newest queued batch
	applied int64 // time of the last applied batch
	broken  error // set when an update failed: the state is no longer whole
}

// stateBatch is one batch's update and what it produced.
type stateBatch struct {
	time  time.Time
	apply func(ctx context.Context) error
	// out is set by apply: the mapped records of each partition.
	out any
}

func newStateApplier(desc func() string, slide time.Duration) *stateApplier {
	return &stateApplier{desc: desc, slide: slide, batches: map[int64]*stateBatch{},
		last: minBatchTime, applied: minBatchTime}
}

// queue returns the batch of time t, creating it with mk the first time.
// The batches between the newest queued one and t are created first, so
// no batch is skipped. keep is how long queued batches are remembered
// after they apply, for streams that compute the same batch again.
func (a *stateApplier) queue(t time.Time, keep time.Duration, mk func(t time.Time) (*stateBatch, error)) (*stateBatch, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	tn := t.UnixNano()
	if b, ok := a.batches[tn]; ok {
		return b, nil
	}
	if tn <= a.last {
		return nil, fmt.Errorf("dstream: %s at batch %s: %w: the batch's update was applied and forgotten", a.desc(), FormatTime(t), ErrStateUnavailable)
	}
	first := t
	if a.last != minBatchTime {
		first = time.Unix(0, a.last).Add(a.slide)
	}
	for bt := first; !bt.After(t); bt = bt.Add(a.slide) {
		b, err := mk(bt)
		if err != nil {
			return nil, err
		}
		b.time = bt
		a.pending = append(a.pending, b)
		a.batches[bt.UnixNano()] = b
		a.last = bt.UnixNano()
	}
	cutoff := t.Add(-keep - a.slide).UnixNano()
	for k := range a.batches {
		if k < cutoff && k <= a.applied {
			delete(a.batches, k)
		}
	}
	return a.batches[tn], nil
}

// applyThrough applies every queued batch up to t, in order. After a
// failed update every later call fails: part of the state may have been
// updated and part not.
func (a *stateApplier) applyThrough(ctx context.Context, t time.Time) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.broken != nil {
		return a.broken
	}
	for len(a.pending) > 0 && !a.pending[0].time.After(t) {
		b := a.pending[0]
		if err := b.apply(ctx); err != nil {
			a.broken = fmt.Errorf("dstream: %s: %w: the update of batch %s failed: %w", a.desc(), ErrStateUnavailable, FormatTime(b.time), err)
			return err
		}
		a.pending[0] = nil
		a.pending = a.pending[1:]
		a.applied = b.time.UnixNano()
	}
	return nil
}

// stateInbox holds one batch's records routed to the state partitions of
// their keys, in buffers kept from batch to batch: once the buffers have
// grown to the batch size, the routing of a MapWithState batch allocates
// only a copy of each task's slice headers (see fill). A shuffle would
// allocate its buckets anew every batch, and a large state makes fresh
// memory expensive: it comes cache-cold, and often page-faulted. The
// stateApplier runs one batch at a time, so one inbox
// serves every batch of a stream.
type stateInbox[K comparable, V any] struct {
	// byTask[m][p] are the records of input partition m whose keys belong
	// to state partition p, in order; only the first tasks entries are of
	// the current batch.
	byTask [][][]rdd.Pair[K, V]
	tasks  int
	// hashes[p] holds the hashes of the keys of state partition p's
	// records, in the order records yields them (see hash).
	hashes [][]uint64
}

// fill reads every partition of in, one task each, and routes its records
// to the state partitions of their keys.
func (ib *stateInbox[K, V]) fill(ctx context.Context, in *rdd.RDD[rdd.Pair[K, V]], part rdd.Partitioner[K]) error {
	ib.tasks = in.NumPartitions()
	for len(ib.byTask) < ib.tasks {
		ib.byTask = append(ib.byTask, make([][]rdd.Pair[K, V], part.NumPartitions()))
	}
	if ib.hashes == nil {
		ib.hashes = make([][]uint64, part.NumPartitions())
	}
	return in.ForeachPartition(ctx, func(m int, recs iter.Seq[rdd.Pair[K, V]]) error {
		// The records are appended through a copy of the task's slice
		// headers, written back once: the tasks' headers sit side by
		// side in memory, and updating them in place for every record
		// sent their cache lines back and forth between the cores.
		bufs := append([][]rdd.Pair[K, V](nil), ib.byTask[m]...)
		for p := range bufs {
			bufs[p] = bufs[p][:0]
		}
		for kv := range recs {
			p := part.Partition(kv.Key)
			bufs[p] = append(bufs[p], kv)
		}
		copy(ib.byTask[m], bufs)
		return nil
	})
}

// records yields the records of state partition p, a run per input
// partition, in the order of the input partitions.
func (ib *stateInbox[K, V]) records(p int) iter.Seq[[]rdd.Pair[K, V]] {
	return func(yield func([]rdd.Pair[K, V]) bool) {
		for _, bufs := range ib.byTask[:ib.tasks] {
			if !yield(bufs[p]) {
				return
			}
		}
	}
}

// hash returns the hash of the key of every record of state partition p,
// in the order records yields them: the run of lookups that prefetching
// reads ahead in. The slice is reused by the next batch.
func (ib *stateInbox[K, V]) hash(p int, hash func(K) uint64) []uint64 {
	hs := ib.hashes[p][:0]
	for recs := range ib.records(p) {
		for _, kv := range recs {
			hs = append(hs, hash(kv.Key))
		}
	}
	ib.hashes[p] = hs
	return hs
}

// eachPartition runs f once per partition of the store, one task each on
// the executor, each holding its partition's write lock.
func (st *stateStore[K, S]) eachPartition(ctx context.Context, f func(p int, sp *statePartition[K, S]) error) error {
	n := len(st.parts)
	return rdd.Parallelize(make([]struct{}, n), n).ForeachPartition(ctx, func(p int, _ iter.Seq[struct{}]) error {
		sp := &st.parts[p]
		sp.mu.Lock()
		defer sp.unlock()
		return f(p, sp)
	})
}

// release drops what the batch's records hold, so a batch's keys and values
// are not kept alive until the next batch, and the buffers much larger than
// this batch needed, so one burst does not hold its memory for good.
func (ib *stateInbox[K, V]) release() {
	for _, bufs := range ib.byTask[:ib.tasks] {
		for p, b := range bufs {
			if cap(b) > 4*len(b)+1024 {
				bufs[p] = nil
				continue
			}
			clear(b)
		}
	}
	for p, hs := range ib.hashes {
		if cap(hs) > 4*len(hs)+1024 {
			ib.hashes[p] = nil
		}
	}
}
