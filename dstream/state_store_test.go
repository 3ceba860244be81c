package dstream

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/sluice-io/sluice/checkpoint"
	"github.com/sluice-io/sluice/rdd"
)

// Spark: MapWithStateSuite "state - get, exists, update, remove".
func TestStateLifecycle(t *testing.T) {
	invalid := func(f func()) {
		t.Helper()
		defer func() {
			v := recover()
			err, ok := v.(error)
			require.True(t, ok, "panics with an error, got %v", v)
			require.ErrorIs(t, err, ErrInvalidState)
		}()
		f()
	}
	check := func(s *State[int], want rdd.Option[int], updated, removed, timingOut bool) {
		t.Helper()
		require.Equal(t, want.Valid, s.Exists())
		require.Equal(t, want, s.GetOption())
		if want.Valid {
			require.Equal(t, want.Value, s.Get())
		} else {
			invalid(func() { s.Get() })
		}
		require.Equal(t, timingOut, s.IsTimingOut())
		require.Equal(t, updated, s.isUpdated())
		require.Equal(t, removed, s.isRemoved())
		if timingOut || removed {
			invalid(func() { s.Remove() })
			invalid(func() { s.Update(-1) })
		}
	}
	var s State[int]
	check(&s, rdd.None[int](), false, false, false)
	s.wrap(0, false)
	check(&s, rdd.None[int](), false, false, false)
	s.wrap(1, true)
	check(&s, rdd.Some(1), false, false, false)
	s.Update(2)
	check(&s, rdd.Some(2), true, false, false)
	s = State[int]{}
	s.Update(2)
	check(&s, rdd.Some(2), true, false, false)
	s.Remove()
	check(&s, rdd.None[int](), false, true, false)
	s.wrapTimingOut(3)
	check(&s, rdd.Some(3), false, false, true)
}

// flatChanges is stateChanges as sorted lists, for comparisons.
type flatChanges struct {
	Updated []rdd.Pair[int, int]
	Removed []int
	Full    bool
}

func sortedChanges(c stateChanges[int, int]) flatChanges {
	out := flatChanges{Full: c.Full}
	for _, p := range c.Live {
		out.Updated = append(out.Updated, rdd.KV(p.Key, p.Value.state))
	}
	for _, log := range c.Changed {
		for _, rec := range dedupChanges(log) {
			if rec.removed() {
				out.Removed = append(out.Removed, rec.key)
			} else {
				out.Updated = append(out.Updated, rdd.KV(rec.key, rec.entry.state))
			}
		}
	}
	slices.SortFunc(out.Updated, func(a, b rdd.Pair[int, int]) int { return a.Key - b.Key })
	slices.Sort(out.Removed)
	return out
}

// takeChanges reports the keys updated or removed since the previous call,
// from a set kept per partition, not a scan of the state.
func TestStateStoreTakeChanges(t *testing.T) {
	st := newStateStore[int, int](rdd.NewHashPartitioner[int](3), time.Second)
	ctx := context.Background()
	require.NoError(t, st.load(ctx, rdd.Parallelize([]rdd.Pair[int, int]{rdd.KV(1, 10), rdd.KV(2, 20), rdd.KV(3, 30)}, 2), 0, false))
	require.Equal(t, 3, st.len())
	// Before tracking starts, everything is reported.
	c := sortedChanges(st.takeChanges())
	require.True(t, c.Full)
	require.Len(t, c.Updated, 3)

	st.startTrackingChanges()
	c = sortedChanges(st.takeChanges())
	require.True(t, c.Full, "the first take after tracking starts is full")
	require.Len(t, c.Updated, 3)
	require.Empty(t, sortedChanges(st.takeChanges()).Updated)

	put := func(k, v int, at int64) {
		sp := &st.parts[st.part.Partition(k)]
		prev := int64(minBatchTime)
		if e, ok := sp.m.get(k); ok {
			prev = e.updated
		}
		sp.set(k, v, at, prev, true)
	}
	put(1, 11, 1)
	put(4, 40, 1)
	st.parts[st.part.Partition(2)].del(2, 0)
	c = sortedChanges(st.takeChanges())
	require.False(t, c.Full)
	require.Equal(t, []rdd.Pair[int, int]{rdd.KV(1, 11), rdd.KV(4, 40)}, c.Updated)
	require.Equal(t, []int{2}, c.Removed)
	require.Empty(t, sortedChanges(st.takeChanges()).Updated)

	// Expiry: key 3 (updated at 0) expires at threshold 1; 1 and 4 do not.
	var expired []int
	for i := range st.parts {
		st.parts[i].expire(1, func(k, _ int) { expired = append(expired, k) })
		st.parts[i].flushPending() // as unlock does
	}
	require.Equal(t, []int{3}, expired)
	c = sortedChanges(st.takeChanges())
	require.Equal(t, []int{3}, c.Removed)
	require.Equal(t, 2, st.len())
	// The stale copy of key 1 in bucket 0 was dropped with the bucket; key 1
	// expires once, from bucket 1.
	expired = nil
	for i := range st.parts {
		st.parts[i].expire(5, func(k, _ int) { expired = append(expired, k) })
		st.parts[i].flushPending() // as unlock does
	}
	slices.Sort(expired)
	require.Equal(t, []int{1, 4}, expired)
	for i := range st.parts {
		require.Empty(t, st.parts[i].expiry)
	}
}

// TestStateStoreChangesHandedOver checks that the changes taken carry each
// key's entry as of each change, with its update time and the count of
// repeats, and that later batches record into new logs (the checkpoint
// encoder reads the taken ones while the next batch runs).
func TestStateStoreChangesHandedOver(t *testing.T) {
	st := newStateStore[int, int](rdd.NewHashPartitioner[int](2), 0)
	st.startTrackingChanges()
	st.applied.Store(4)
	st.takeChanges() // the first take is full
	p := st.part.Partition(7)
	sp := &st.parts[p]
	sp.set(7, 70, 5, minBatchTime, false)
	sp.set(7, 71, 6, 5, false)
	st.applied.Store(6)
	taken := st.takeChanges()
	require.False(t, taken.Full)
	sp.set(7, 72, 7, 6, false)
	sp.del(7, 7)
	want := []changeRecord[int, int]{
		{key: 7, entry: stateEntry[int]{state: 70, updated: 5}},
		{key: 7, entry: stateEntry[int]{state: 71, updated: 6}},
	}
	require.Equal(t, want, taken.Changed[p], "the later batch does not touch the log taken")
	require.Equal(t, 1, taken.Repeats[p], "the second update of 7 is a repeat")
	require.Equal(t, want[1:], dedupChanges(taken.Changed[p]))
	next := st.takeChanges()
	require.Equal(t, []changeRecord[int, int]{
		{key: 7, entry: stateEntry[int]{state: 72, updated: 7}},
		removal[int, int](7),
	}, next.Changed[p])
	require.Equal(t, 1, next.Repeats[p], "7 was updated after the take at 6")
	require.Equal(t, 2, next.len())
}

// TestStateStoreRecyclesLogs checks that a log handed back after encoding
// is recorded into by the interval after next, emptied, while the log being
// filled is never handed back to itself.
func TestStateStoreRecyclesLogs(t *testing.T) {
	st := newStateStore[int, int](rdd.NewHashPartitioner[int](1), 0)
	sp := &st.parts[0]
	st.startTrackingChanges()
	st.takeChanges()
	for k := range 100 {
		sp.set(k, k, 1, minBatchTime, false)
	}
	first := st.takeChanges()
	sp.set(1, 10, 2, 1, false)
	st.recycle(first)
	require.Len(t, sp.log, 1, "recycling does not touch the log being filled")
	require.Equal(t, cap(first.Changed[0]), cap(sp.spareLog))
	second := st.takeChanges()
	require.Equal(t, []changeRecord[int, int]{{key: 1, entry: stateEntry[int]{state: 10, updated: 2}}}, second.Changed[0])
	sp.set(2, 20, 3, 1, false)
	require.Equal(t, []changeRecord[int, int]{{key: 2, entry: stateEntry[int]{state: 20, updated: 3}}}, sp.log)
	require.Same(t, &first.Changed[0][:1][0], &sp.log[0], "the next log reuses the recycled one")
	require.Nil(t, sp.spareLog)
	st.recycle(second)
	require.Equal(t, cap(second.Changed[0]), cap(sp.spareLog))
	st.recycle(stateChanges[int, int]{Changed: [][]changeRecord[int, int]{make([]changeRecord[int, int], 0, 1)}})
	require.Equal(t, cap(second.Changed[0]), cap(sp.spareLog), "a smaller log does not replace a larger spare")
}

// TestStateStoreChangedSetBounded checks that a partition whose log
// outgrows half its keys stops recording updates one by one and reports
// every key at the next take, removals included.
func TestStateStoreChangedSetBounded(t *testing.T) {
	const keys = 3 * minChangedBound
	st := newStateStore[int, int](rdd.NewHashPartitioner[int](1), 0)
	sp := &st.parts[0]
	for k := range keys {
		sp.set(k, k, 1, minBatchTime, false)
	}
	st.startTrackingChanges()
	st.applied.Store(1)
	st.takeChanges()
	sp.del(0, 1)
	for k := 1; k <= keys/2+1; k++ {
		sp.set(k, -k, 2, 1, false)
	}
	require.True(t, sp.all, "the log outgrew half the keys")
	require.Equal(t, []changeRecord[int, int]{removal[int, int](0)}, sp.log, "only removals are kept")
	sp.del(keys-1, 1)
	c := sortedChanges(st.takeChanges())
	require.True(t, c.Full)
	require.Len(t, c.Updated, keys-2)
	require.Equal(t, -1, c.Updated[0].Value)
	require.Equal(t, []int{0, keys - 1}, c.Removed)
	require.False(t, sp.all)
	// Tracking goes on key by key after the take.
	sp.set(5, 55, 3, 2, false)
	c = sortedChanges(st.takeChanges())
	require.False(t, c.Full)
	require.Equal(t, []rdd.Pair[int, int]{rdd.KV(5, 55)}, c.Updated)
}

// TestRollingRefreshKeepsEveryKey takes the data checkpoints of a state
// whose keys change, come and go, and checks after each that the entries
// of the snapshots from its Base on, read in order as a restore reads
// them, are the live state; that the sweeps leave the first full snapshot
// behind and no checkpoint is full after it; and that the checkpoints
// rewrite about as many keys as they have changes.
func TestRollingRefreshKeepsEveryKey(t *testing.T) {
	st := newStateStore[int, int](rdd.NewHashPartitioner[int](3), 0)
	for k := range 2000 {
		st.parts[st.part.Partition(k)].set(k, k, 1, minBatchTime, false)
	}
	c := &stateCheckpointer[int, int]{store: st, applier: newStateApplier(func() string { return "test" }, time.Second)}
	c.trackChanges()
	type written struct {
		batch   int64
		entries []checkpoint.Entry
	}
	var files []written
	var ahead checkpoint.Entries
	total, checkpoints := 0, 0 // entries written after the full snapshot
	r := rand.New(rand.NewPCG(7, 8))
	for b := int64(1); b <= 61; b++ {
		st.applied.Store(b)
		if b > 1 {
			for range 150 {
				k := r.IntN(2500)
				sp := &st.parts[st.part.Partition(k)]
				prev := int64(minBatchTime)
				if e, ok := sp.m.get(k); ok {
					prev = e.updated
					if r.IntN(3) == 0 {
						sp.del(k, prev)
						continue
					}
				}
				sp.set(k, int(b), b, prev, false)
			}
		}
		if b%3 != 1 {
			// Between data checkpoints: the changes and a range of keys
			// are handed over ahead, to go first in the next one.
			if enc := c.ahead(); enc != nil {
				require.NoError(t, enc(&ahead))
			}
			continue
		}
		encode, err := c.snapshot(context.Background(), time.Unix(0, b))
		require.NoError(t, err)
		snap, err := encode("s")
		require.NoError(t, err)
		require.Equal(t, b == 1, snap.All != nil, "batch %d: only the first is full", b)
		require.False(t, snap.Base.IsZero())
		base := snap.Base.UnixNano()
		entries := append(slices.Collect(ahead.All()), slices.Collect(snap.Changed.All())...)
		ahead = checkpoint.Entries{}
		files = append(files, written{b, entries})
		if b > 1 {
			// 3 × 150 records over about 1,600 keys, and about as many
			// keys rewritten. A sweep that reaches the end of a part's
			// range reads the rest of it, less than twice its budget
			// (see partsFrom), and takes that much less later: one
			// checkpoint may rewrite up to twice its changes, the run
			// about as many on average.
			require.Less(t, len(entries), 3*3*150, "batch %d", b)
			total += len(entries)
			checkpoints++
		}
		read := map[string][]byte{}
		for _, f := range files {
			if f.batch < base {
				continue
			}
			for _, e := range f.entries {
				if e.Deleted {
					delete(read, string(e.Key))
				} else {
					read[string(e.Key)] = e.Value
				}
			}
		}
		got, err := checkpoint.DecodeState[int, storedState[int]](read)
		require.NoError(t, err)
		live := map[int]storedState[int]{}
		for i := range st.parts {
			for k, e := range st.parts[i].m.all {
				live[k] = stored(*e)
			}
		}
		require.Equal(t, live, got, "batch %d, base %d", b, base)
		if b == 61 {
			require.Greater(t, base, int64(30), "the sweeps have left the full snapshot behind")
		}
	}
	require.Less(t, total/checkpoints, 2*3*150+50, "entries a checkpoint, on average")
}

// TestRefresherMarks checks which checkpoints a partition's sweep keeps:
// the full snapshot until the sweep after it is done, then each range
// until the next sweep has covered it.
func TestRefresherMarks(t *testing.T) {
	var r refresher
	require.Zero(t, r.base(), "nothing written yet")
	r.full(10)
	q := uint64(1) << 62 // a quarter of the hash space
	for _, tc := range []struct {
		batch, base int64
		his         []uint64 // the ends of the ranges taken
	}{
		{20, 10, []uint64{q - 1}},
		{30, 10, []uint64{q + q/2, 2*q - 1}}, // two ranges, taken ahead
		{40, 10, []uint64{3*q - 1}},
		{50, 20, []uint64{math.MaxUint64}}, // the sweep ends: the full snapshot goes
		{60, 30, []uint64{q - 1}},          // 20's range is covered again
		{70, 30, []uint64{q + q/2 - 1}},    // a part of 30's: it stays
		{80, 40, []uint64{2*q + q/2 - 1}},
	} {
		for _, hi := range tc.his {
			r.took(hi)
		}
		r.commit(tc.batch)
		require.Equal(t, tc.base, r.base(), "checkpoint %d", tc.batch)
	}
	require.Equal(t, 2*q+q/2, r.next)
	r.took(3 * q)
	r.full(90)
	require.Equal(t, int64(90), r.base())
	require.Zero(t, r.next, "a new sweep after a full snapshot")
	require.Empty(t, r.taken)
}

// TestStateSnapshotHandsOverTheWholeState checks a state checkpoint when
// every key is reported (the first after tracking starts): Changed lists
// the removals, then every live key, and All is those live keys, sharing
// Changed's bytes; a later snapshot is a delta without All.
func TestStateSnapshotHandsOverTheWholeState(t *testing.T) {
	st := newStateStore[int, int](rdd.NewHashPartitioner[int](2), 0)
	for k := range 10 {
		st.parts[st.part.Partition(k)].set(k, k*10, 1, minBatchTime, false)
	}
	c := &stateCheckpointer[int, int]{store: st, applier: newStateApplier(func() string { return "test" }, time.Second)}
	c.trackChanges()
	st.parts[st.part.Partition(3)].del(3, 1)
	st.applied.Store(1)
	encode, err := c.snapshot(context.Background(), time.Unix(0, 1))
	require.NoError(t, err)
	snap, err := encode("s")
	require.NoError(t, err)
	changed := slices.Collect(snap.Changed.All())
	require.Len(t, changed, 10)
	require.True(t, changed[0].Deleted, "the removal comes first")
	deleted3, err := checkpoint.DeletedEntry(3)
	require.NoError(t, err)
	require.Equal(t, deleted3.Key, changed[0].Key)
	require.NotNil(t, snap.All)
	all := slices.Collect(snap.All.All())
	require.Equal(t, changed[1:], all)
	state := map[string][]byte{}
	for _, e := range all {
		state[string(e.Key)] = e.Value
	}
	back, err := checkpoint.DecodeState[int, storedState[int]](state)
	require.NoError(t, err)
	require.Len(t, back, 9)
	require.Equal(t, storedState[int]{State: 40, Updated: 1}, back[4])

	st.parts[st.part.Partition(4)].set(4, 41, 2, 1, false)
	st.applied.Store(2)
	encode, err = c.snapshot(context.Background(), time.Unix(0, 2))
	require.NoError(t, err)
	snap, err = encode("s")
	require.NoError(t, err)
	require.Nil(t, snap.All, "a delta")
	require.Equal(t, time.Unix(0, 1).UTC(), snap.Base, "the full snapshot is still needed")
	// The change, then the keys rewritten beside it (state_refresh.go).
	changed = slices.Collect(snap.Changed.All())
	require.GreaterOrEqual(t, len(changed), 1)
	e4, err := checkpoint.EncodeEntry(4, &storedState[int]{State: 41, Updated: 2})
	require.NoError(t, err)
	require.Equal(t, e4, changed[0])
}

// set is put for tests: it looks k up itself, and moves the pending records
// to the log after it, as a writer releasing the partition does (unlock).
func (sp *statePartition[K, S]) set(k K, s S, t, prev int64, timeout bool) {
	h := sp.m.hash(k)
	sp.put(k, h, sp.m.lookup(k, h), s, t, prev, timeout)
	sp.flushPending()
}

// del is remove for tests: it hashes k itself, and moves the pending
// records to the log after it (as set).
func (sp *statePartition[K, S]) del(k K, prev int64) {
	sp.remove(k, sp.m.hash(k), prev)
	sp.flushPending()
}

// encodeChanges over several workers writes the bytes one encoder writes
// over the same records in order (each log, deduplicated when it repeats
// many keys, then the live keys), counts the entries of the logs, and
// reports the first failure.
func TestEncodeChangesInParallel(t *testing.T) {
	rec := func(k, s int, removed bool) changeRecord[int, int] {
		if removed {
			return removal[int, int](k)
		}
		return changeRecord[int, int]{key: k, entry: stateEntry[int]{state: s, updated: int64(s)}}
	}
	var few, many []changeRecord[int, int]
	for k := range 5000 {
		few = append(few, rec(k, k, k%7 == 0))
	}
	few = append(few, rec(3, 33, false)) // one repeat: kept as it is
	for i := range 4000 {
		many = append(many, rec(i%1000, i, i%11 == 0)) // repeats: deduplicated
	}
	var live []rdd.Pair[int, stateEntry[int]]
	for k := range 2*liveChunk + 100 { // three pieces
		live = append(live, rdd.KV(100_000+k, stateEntry[int]{state: k, updated: 9}))
	}
	changes := stateChanges[int, int]{
		Changed: [][]changeRecord[int, int]{few, nil, many},
		Repeats: []int{1, 0, 3000},
		Live:    live,
	}
	want := checkpoint.NewEntryEncoder[int, storedState[int]](0)
	for _, log := range [][]changeRecord[int, int]{few, dedupChanges(many)} {
		for _, r := range log {
			if r.removed() {
				require.NoError(t, want.Delete(r.key))
			} else {
				require.NoError(t, want.Set(r.key, stored(r.entry)))
			}
		}
	}
	logged := want.Entries().Len()
	require.Equal(t, len(few)+1000, logged)
	for _, kv := range live {
		require.NoError(t, want.Set(kv.Key, stored(kv.Value)))
	}
	wantEntries := slices.Collect(want.Entries().All())
	for _, workers := range []int{1, 2, 5} {
		got, gotLogged, err := encodeChanges(changes, nil, workers)
		require.NoError(t, err)
		require.Equal(t, logged, gotLogged, "workers=%d", workers)
		require.Equal(t, len(wantEntries), got.Len(), "workers=%d", workers)
		require.Equal(t, wantEntries, slices.Collect(got.All()), "workers=%d", workers)
		require.Equal(t, wantEntries[logged:], slices.Collect(got.Skip(gotLogged).All()), "workers=%d", workers)
	}
	empty, n, err := encodeChanges(stateChanges[int, int]{Changed: make([][]changeRecord[int, int], 2), Repeats: make([]int, 2)}, nil, 2)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Zero(t, empty.Len())

	// A state msgpack cannot encode fails the whole encoding, naming the key.
	bad := stateChanges[int, chan int]{
		Changed: [][]changeRecord[int, chan int]{nil},
		Repeats: []int{0},
		Live:    []rdd.Pair[int, stateEntry[chan int]]{rdd.KV(1, stateEntry[chan int]{}), rdd.KV(7, stateEntry[chan int]{state: make(chan int)})},
	}
	_, _, err = encodeChanges(bad, nil, 2)
	require.ErrorContains(t, err, "key 1")

	// A state whose own encoder panics fails it too, on whichever
	// goroutine encodes it.
	var boom []rdd.Pair[int, stateEntry[panickyState]]
	for k := range liveChunk + 10 {
		boom = append(boom, rdd.KV(k, stateEntry[panickyState]{state: panickyState(k == liveChunk+3)}))
	}
	_, _, err = encodeChanges(stateChanges[int, panickyState]{Changed: make([][]changeRecord[int, panickyState], 1), Repeats: []int{0}, Live: boom}, nil, 2)
	require.ErrorIs(t, err, rdd.ErrUserPanic)
	require.ErrorContains(t, err, fmt.Sprintf("key %d", liveChunk+3))

	// So does a key rewritten beside the changes (state_refresh.go).
	_, _, err = encodeChanges(stateChanges[int, panickyState]{Changed: make([][]changeRecord[int, panickyState], 1), Repeats: []int{0}}, boom, 2)
	require.ErrorIs(t, err, rdd.ErrUserPanic)
	require.ErrorContains(t, err, fmt.Sprintf("key %d", liveChunk+3))

	// A key that cannot be hashed fails the deduplication of a log that
	// repeats keys, as an error.
	unhashable := []changeRecord[any, int]{{key: []int{1}}, {key: []int{1}}}
	_, _, err = encodeChanges(stateChanges[any, int]{Changed: [][]changeRecord[any, int]{unhashable}, Repeats: []int{1}}, nil, 2)
	require.ErrorIs(t, err, rdd.ErrUserPanic)
	require.ErrorContains(t, err, "deduplicating")
}

// panickyState is a state whose msgpack encoder panics when it is true.
type panickyState bool

func (s panickyState) EncodeMsgpack(enc *msgpack.Encoder) error {
	if s {
		panic("cannot encode")
	}
	return enc.EncodeBool(false)
}

// scanOf returns a ScanFunc yielding the given entries, as a checkpoint
// store does.
func scanOf(entries ...checkpoint.Entry) ScanFunc {
	return func(fn func(key string, value []byte, deleted bool) error) error {
		for _, e := range entries {
			if err := fn(string(e.Key), e.Value, e.Deleted); err != nil {
				return err
			}
		}
		return nil
	}
}

// A restore applies the entries in order straight into the tables (a
// later entry of a key wins, a deletion removes it), indexes the keys for
// timeouts by update time, and on a damaged entry fails naming it and
// leaves nothing restored.
func TestStateRestoreFromScan(t *testing.T) {
	st := newStateStore[int, int](rdd.NewHashPartitioner[int](2), 5*time.Second)
	c := &stateCheckpointer[int, int]{store: st, applier: newStateApplier(func() string { return "test" }, time.Second)}
	entry := func(k, s int, updated int64) checkpoint.Entry {
		return must(checkpoint.EncodeEntry(k, &storedState[int]{State: s, Updated: updated}))
	}
	sec := int64(time.Second)
	require.NoError(t, c.restore(scanOf(
		entry(1, 10, 3*sec), entry(2, 20, 1*sec), entry(3, 30, 2*sec),
		entry(1, 11, 4*sec), must(checkpoint.DeletedEntry(3)), entry(4, 40, 2*sec),
	), time.Unix(4, 0)))
	require.Equal(t, 3, st.len())
	for k, want := range map[int]stateEntry[int]{1: {11, 4 * sec}, 2: {20, 1 * sec}, 4: {40, 2 * sec}} {
		got, ok := st.parts[st.part.Partition(k)].m.get(k)
		require.True(t, ok, "key %d", k)
		require.Equal(t, want, got, "key %d", k)
	}
	_, ok := st.parts[st.part.Partition(3)].m.get(3)
	require.False(t, ok, "key 3 was deleted by a later entry")
	// The expiry index, oldest first: at threshold 3 s, keys 2 (1 s) and
	// 4 (2 s) time out, not 1 (4 s).
	var expired []int
	for i := range st.parts {
		st.parts[i].expire(3*sec, func(k, _ int) { expired = append(expired, k) })
		st.parts[i].flushPending() // as unlock does
	}
	slices.Sort(expired)
	require.Equal(t, []int{2, 4}, expired)

	fresh := newStateStore[int, int](rdd.NewHashPartitioner[int](2), 0)
	c = &stateCheckpointer[int, int]{store: fresh, applier: newStateApplier(func() string { return "test" }, time.Second)}
	bad := checkpoint.Entry{Key: must(msgpack.Marshal(9)), Value: []byte{0xc1}} // 0xc1 is never used
	err := c.restore(scanOf(entry(1, 10, sec), entry(2, 20, sec), bad), time.Unix(4, 0))
	require.ErrorIs(t, err, checkpoint.ErrCorrupt)
	require.ErrorContains(t, err, "key 9")
	require.Zero(t, fresh.len(), "nothing half restored")
	badKey := checkpoint.Entry{Key: []byte{0xc1}, Value: entry(5, 50, sec).Value}
	err = c.restore(scanOf(entry(1, 10, sec), badKey), time.Unix(4, 0))
	require.ErrorIs(t, err, checkpoint.ErrCorrupt)
	require.ErrorContains(t, err, "decode a key")
	require.Zero(t, fresh.len(), "nothing half restored")
}

// must returns v, panicking on err.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestPointerFree(t *testing.T) {
	type plain struct {
		A int32
		B [2]float64
		C struct{ D bool }
	}
	type withString struct {
		A int
		S string
	}
	for _, c := range []struct {
		t    reflect.Type
		want bool
	}{
		{reflect.TypeFor[int](), true}, {reflect.TypeFor[float64](), true}, {reflect.TypeFor[plain](), true},
		{reflect.TypeFor[struct{}](), true}, {reflect.TypeFor[[0]*int](), true},
		{reflect.TypeFor[string](), false}, {reflect.TypeFor[[]int](), false}, {reflect.TypeFor[*int](), false},
		{reflect.TypeFor[withString](), false}, {reflect.TypeFor[map[int]int](), false}, {reflect.TypeFor[any](), false},
		{reflect.TypeFor[[3]string](), false}, {reflect.TypeFor[func()](), false}, {reflect.TypeFor[chan int](), false},
	} {
		require.Equal(t, c.want, pointerFree(c.t), "%v", c.t)
	}
	a, b := 1.5, 1.5
	require.True(t, sameBytes(&a, &b))
	b = 2
	require.False(t, sameBytes(&a, &b))
}

// An UpdateStateByKey batch over a state without pointers logs only the
// keys whose state the function changed (or removed), so its checkpoint
// is a delta; over a state with pointers, every key counts as changed.
func TestUpdateStateByKeyLogsOnlyChangedPlainStates(t *testing.T) {
	ctx := context.Background()
	bt := time.Unix(10, 0)
	update := func(_ time.Time, k int, vs []int, s rdd.Option[int]) rdd.Option[int] {
		switch {
		case k == 5:
			return rdd.None[int]() // removed
		case k%10 == 0:
			return rdd.Some(s.Value + 1) // changed without input
		}
		for _, v := range vs {
			s.Value += v
		}
		return s // unchanged unless the batch has values for it
	}
	st := newStateStore[int, int](rdd.NewHashPartitioner[int](2), 0)
	require.True(t, st.plainState)
	for k := range 100 {
		st.parts[st.part.Partition(k)].m.set(k, stateEntry[int]{state: k, updated: 1})
	}
	st.startTrackingChanges()
	st.takeChanges() // the first take is whole
	var ib stateInbox[int, int]
	in := rdd.Parallelize([]rdd.Pair[int, int]{rdd.KV(7, 1), rdd.KV(33, 2), rdd.KV(200, 3)}, 2)
	require.NoError(t, updateAll(ctx, st, &ib, in, bt, func(t time.Time, k int, vs []int, s rdd.Option[int]) rdd.Option[int] {
		return update(t, k, vs, s)
	}))
	c := st.takeChanges()
	require.False(t, c.Full, "a delta")
	flat := sortedChanges(c)
	var updated []int
	for _, p := range flat.Updated {
		updated = append(updated, p.Key)
	}
	require.Equal(t, []int{0, 7, 10, 20, 30, 33, 40, 50, 60, 70, 80, 90, 200}, updated)
	require.Equal(t, []int{5}, flat.Removed)
	got, _ := st.parts[st.part.Partition(7)].m.get(7)
	require.Equal(t, stateEntry[int]{state: 8, updated: bt.UnixNano()}, got)
	got, _ = st.parts[st.part.Partition(8)].m.get(8)
	require.Equal(t, stateEntry[int]{state: 8, updated: 1}, got, "an unchanged state keeps its entry")

	// A state with a pointer may change behind it: every key is changed.
	ps := newStateStore[int, *int](rdd.NewHashPartitioner[int](2), 0)
	require.False(t, ps.plainState)
	for k := range 10 {
		v := k
		ps.parts[ps.part.Partition(k)].m.set(k, stateEntry[*int]{state: &v, updated: 1})
	}
	ps.startTrackingChanges()
	ps.takeChanges()
	var pib stateInbox[int, int]
	require.NoError(t, updateAll(ctx, ps, &pib, rdd.Empty[rdd.Pair[int, int]](), bt,
		func(_ time.Time, _ int, _ []int, s rdd.Option[*int]) rdd.Option[*int] { *s.Value++; return s }))
	pc := ps.takeChanges()
	require.True(t, pc.Full)
	require.Len(t, pc.Live, 10)
}

// TestStateStoreTakeAhead checks the changes handed over ahead of a data
// checkpoint: each takeAhead hands over the records logged since the previous
// one, in partitions that repeat few keys; the next takeChanges reports
// every record with how many were handed over, so the entries encoded
// ahead followed by those of the snapshot are the log once, in order;
// a partition that repeats many keys is not handed over but deduplicated
// at the snapshot; a partition that goes allChanged reports its keys
// whole.
func TestStateStoreTakeAhead(t *testing.T) {
	st := newStateStore[int, int](rdd.NewHashPartitioner[int](2), 0)
	c := &stateCheckpointer[int, int]{store: st, applier: newStateApplier(func() string { return "test" }, time.Second)}
	st.startTrackingChanges()
	st.takeChanges() // the first take is full
	fresh, repeating := &st.parts[0], &st.parts[1]
	var freshKeys, repeatKeys []int
	for k := 0; len(freshKeys) < 30 || len(repeatKeys) < 2; k++ {
		if &st.parts[st.part.Partition(k)] == fresh {
			freshKeys = append(freshKeys, k)
		} else {
			repeatKeys = append(repeatKeys, k)
		}
	}
	var ahead checkpoint.Entries
	var want []changeRecord[int, int] // of the fresh partition, in order
	for batch := int64(1); batch <= 3; batch++ {
		for _, k := range freshKeys[(batch-1)*10 : batch*10] {
			fresh.set(k, int(batch), batch, minBatchTime, false)
			want = append(want, changeRecord[int, int]{key: k, entry: stateEntry[int]{state: int(batch), updated: batch}})
		}
		for _, k := range repeatKeys[:2] {
			repeating.set(k, int(batch), batch, batch-1, false)
		}
		encode := c.ahead()
		require.NotNil(t, encode)
		require.NoError(t, encode(&ahead))
		require.Len(t, fresh.log, int(batch)*10, "the log keeps the records handed over")
	}
	require.Nil(t, c.ahead(), "nothing logged since")
	fresh.del(freshKeys[0], 1)
	want = append(want, removal[int, int](freshKeys[0]))

	changes := st.takeChanges()
	require.Equal(t, []int{30, 0}, changes.Staged, "the partition repeating its keys is not handed over")
	rest, _, err := encodeChanges(changes, nil, 2)
	require.NoError(t, err)
	ahead.AppendList(rest)

	enc := checkpoint.NewEntryEncoder[int, storedState[int]](0)
	require.NoError(t, encodeLog(enc, want))
	for _, k := range repeatKeys[:2] {
		require.NoError(t, enc.Set(k, stored(stateEntry[int]{state: 3, updated: 3})))
	}
	require.Equal(t, enc.Entries(), ahead, "the fresh partition's log once, then the other's deduplicated")
	require.Zero(t, fresh.staged)

	// A partition that goes allChanged is reported whole, not ahead.
	for k := range minChangedBound + 1 {
		fresh.set(freshKeys[len(freshKeys)-1]+2*(k+1), k, 4, minBatchTime, false)
	}
	c.ahead()
	for k := range minChangedBound + 2 {
		fresh.set(freshKeys[len(freshKeys)-1]+2*(k+1), -k, 5, 4, false)
	}
	require.True(t, fresh.all)
	require.Zero(t, fresh.staged)
	require.Nil(t, c.ahead())
	live := fresh.m.len()
	changes = st.takeChanges()
	require.Len(t, changes.Live, live, "every key of the partition")
	require.Zero(t, changes.Staged[0])
}

// TestStateStoreAheadRecordsStayIntact checks what makes handing over the
// log's own records ahead (not a copy) safe: the records handed over are
// not written again while the encoder may read them, by later batches, by
// the partition going allChanged, or by takeChanges, whether the partition
// is allChanged or not; only recycle reuses the log.
func TestStateStoreAheadRecordsStayIntact(t *testing.T) {
	for _, tc := range []struct {
		name string
		// after changes the partition once its first records were
		// handed over ahead.
		after func(st *stateStore[int, int], sp *statePartition[int, int])
	}{
		{"later batches append", func(_ *stateStore[int, int], sp *statePartition[int, int]) {
			for k := range 1000 {
				sp.set(100+k, -k, 2, minBatchTime, false)
			}
		}},
		{"the partition goes allChanged", func(_ *stateStore[int, int], sp *statePartition[int, int]) {
			for k := range minChangedBound + 1 {
				sp.set(100+k, -k, 2, minBatchTime, false)
			}
			sp.del(0, 1)
			require.True(t, sp.all)
		}},
		{"takeChanges of an allChanged partition", func(st *stateStore[int, int], sp *statePartition[int, int]) {
			st.markAllChanged()
			st.takeChanges()
			for k := range 1000 {
				sp.set(100+k, -k, 2, minBatchTime, false)
			}
			sp.del(1, 1)
		}},
		{"takeChanges, then later batches", func(st *stateStore[int, int], sp *statePartition[int, int]) {
			st.takeChanges()
			for k := range 1000 {
				sp.set(100+k, -k, 2, minBatchTime, false)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStateStore[int, int](rdd.NewHashPartitioner[int](1), 0)
			st.startTrackingChanges()
			st.takeChanges() // the first take is full
			sp := &st.parts[0]
			// As a recycled log: room for what follows, so that
			// nothing moves the log's records elsewhere first.
			sp.log = make([]changeRecord[int, int], 0, 4*minChangedBound)
			for k := range 50 {
				sp.set(k, k, 1, minBatchTime, false)
			}
			ahead := st.takeAhead()[0]
			require.Len(t, ahead, 50)
			want := slices.Clone(ahead)
			tc.after(st, sp)
			require.Equal(t, want, ahead, "the records handed over ahead")
		})
	}
}

// TestRecycleLetsGoOfPointers checks that a log handed back by recycle
// keeps nothing alive when its keys or states hold pointers (a log of
// plain records is left as it is, to be overwritten).
func TestRecycleLetsGoOfPointers(t *testing.T) {
	st := newStateStore[string, int](rdd.NewHashPartitioner[string](1), 0)
	require.False(t, st.plainRecords)
	require.True(t, newStateStore[int, int](rdd.NewHashPartitioner[int](1), 0).plainRecords)
	st.startTrackingChanges()
	st.takeChanges() // the first take is full
	sp := &st.parts[0]
	for k := range 10 {
		sp.set(strconv.Itoa(k), k, 1, minBatchTime, false)
	}
	changes := st.takeChanges()
	require.Len(t, changes.Changed[0], 10)
	st.recycle(changes)
	spare := sp.spareLog[:10]
	require.Equal(t, make([]changeRecord[string, int], 10), spare, "the recycled log holds no keys")
}

// TestStateStoreLogReusedWhenNotHandedOver: a log none of whose records
// were handed over ahead keeps its memory when the partition goes
// allChanged and when an allChanged partition is taken, so a small state
// that goes allChanged every interval allocates no new log.
func TestStateStoreLogReusedWhenNotHandedOver(t *testing.T) {
	st := newStateStore[int, int](rdd.NewHashPartitioner[int](1), 0)
	st.startTrackingChanges()
	st.takeChanges() // the first take is full
	sp := &st.parts[0]
	sp.log = make([]changeRecord[int, int], 0, 4*minChangedBound)
	mem := unsafe.SliceData(sp.log)
	for k := range minChangedBound + 1 {
		sp.set(k, k, 1, minBatchTime, false)
	}
	require.True(t, sp.all)
	require.Empty(t, sp.log)
	require.Same(t, mem, unsafe.SliceData(sp.log), "going allChanged")
	sp.del(0, 1)
	changes := st.takeChanges()
	require.Equal(t, []changeRecord[int, int]{removal[int, int](0)}, changes.Changed[0])
	require.Empty(t, sp.log)
	require.Same(t, mem, unsafe.SliceData(sp.log), "taking an allChanged partition")
}

// TestStateInboxFillReusesItsBuffers checks that routing a batch into an
// inbox whose buffers have grown allocates as much for 4,000 records as for
// 1,000 (the job, and a copy of each task's slice headers: nothing per
// record), and that the records land in the partitions of their keys.
func TestStateInboxFillReusesItsBuffers(t *testing.T) {
	ctx := context.Background()
	batch := func(n int) *rdd.RDD[rdd.Pair[int, int]] {
		recs := make([]rdd.Pair[int, int], n)
		for i := range recs {
			recs[i] = rdd.KV(i, i)
		}
		return rdd.Parallelize(recs, 4)
	}
	small, large := batch(1000), batch(4000)
	part := rdd.NewHashPartitioner[int](2)
	var ib stateInbox[int, int]
	require.NoError(t, ib.fill(ctx, large, part)) // grows the buffers
	fill := func(in *rdd.RDD[rdd.Pair[int, int]]) float64 {
		return testing.AllocsPerRun(20, func() { require.NoError(t, ib.fill(ctx, in, part)) })
	}
	require.Equal(t, fill(small), fill(large))
	n := 0
	for p := range 2 {
		for run := range ib.records(p) {
			for _, kv := range run {
				require.Equal(t, p, part.Partition(kv.Key))
				n++
			}
		}
	}
	require.Equal(t, 4000, n)
}

// TestStatePartitionPendingRecords checks the records a batch keeps pending
// before they join the log (flushPending): after each write of a partition
// its log holds every change of the write in order, across several
// flushes and after a failed write too; a partition that goes allChanged
// in the middle of a write keeps only its removals; and records with
// pointers are never kept pending.
func TestStatePartitionPendingRecords(t *testing.T) {
	ctx := context.Background()
	st := newStateStore[int64, int64](rdd.NewHashPartitioner[int64](1), 0)
	sp := &st.parts[0]
	require.Equal(t, nonTemporalStores, sp.pending != nil, "pending records where stores can bypass the caches")
	require.Nil(t, newStateStore[string, int64](rdd.NewHashPartitioner[string](1), 0).parts[0].pending, "records with pointers")
	st.startTrackingChanges()
	st.takeChanges() // the first take is full
	const batchTime = 7
	var want []changeRecord[int64, int64]
	write := func(keys []int64, fail error) error {
		return st.eachPartition(ctx, func(_ int, sp *statePartition[int64, int64]) error {
			for _, k := range keys {
				h := sp.m.hash(k)
				e := sp.m.lookup(k, h)
				if k%97 == 0 && e != nil {
					sp.remove(k, h, e.updated)
					want = append(want, removal[int64, int64](k))
					continue
				}
				prev, s := int64(minBatchTime), int64(0)
				if e != nil {
					prev, s = e.updated, e.state
				}
				sp.put(k, h, e, s+1, batchTime, prev, false)
				want = append(want, changeRecord[int64, int64]{key: k, entry: stateEntry[int64]{state: s + 1, updated: batchTime}})
			}
			return fail
		})
	}
	n := 3*cap(sp.pending) + 5 // several flushes and a partial one
	keys := make([]int64, n)
	for i := range keys {
		keys[i] = int64(i % (n / 2)) // every key twice: repeats, and removals of keys that exist
	}
	require.NoError(t, write(keys, nil))
	require.Empty(t, sp.pending)
	require.Equal(t, want, sp.log)
	boom := errors.New("boom")
	require.ErrorIs(t, write(keys[:10], boom), boom)
	require.Empty(t, sp.pending)
	require.Equal(t, want, sp.log, "the changes of a failed write are logged too")
	changes := st.takeChanges()
	require.False(t, changes.Full)
	require.Equal(t, want, changes.Changed[0])

	// Going allChanged in the middle of a write: more new keys than
	// minChangedBound and half the state.
	want = nil
	keys = make([]int64, minChangedBound+cap(sp.pending)+3)
	for i := range keys {
		keys[i] = int64(1_000_000 + i)
	}
	keys[len(keys)-1] = 1_000_070 // a multiple of 97 written earlier in the write: removed
	require.NoError(t, write(keys, nil))
	require.True(t, sp.all)
	require.Equal(t, []changeRecord[int64, int64]{removal[int64, int64](keys[len(keys)-1])}, sp.log)
}

// TestCopyNonTemporal checks copyNonTemporal against copy, for no words,
// one, and many at an offset.
func TestCopyNonTemporal(t *testing.T) {
	src := make([]uint64, 100)
	for i := range src {
		src[i] = uint64(i)*0x9e3779b97f4a7c15 + 1
	}
	for _, tc := range []struct{ off, words int }{{0, 0}, {3, 1}, {5, 37}, {0, 100}} {
		dst := make([]uint64, 110)
		want := make([]uint64, 110)
		copy(want[tc.off:], src[:tc.words])
		copyNonTemporal(unsafe.Pointer(&dst[tc.off]), unsafe.Pointer(&src[0]), uintptr(tc.words))
		require.Equal(t, want, dst, "offset %d, %d words", tc.off, tc.words)
	}
}
