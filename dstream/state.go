package dstream

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"runtime"
	"sync"
	"time"

	"github.com/sluice-io/sluice/rdd"
)

// State is the state of one key handed to a MapWithState mapping function,
// Spark's State: read it with Exists, Get or GetOption, change it with
// Update or Remove. It is valid only during the call.
type State[S any] struct {
	value     S
	exists    bool
	updated   bool
	removed   bool
	timingOut bool
}

func (s *State[S]) wrap(v S, ok bool) { *s = State[S]{value: v, exists: ok} }

func (s *State[S]) wrapTimingOut(v S) { *s = State[S]{value: v, exists: true, timingOut: true} }

func invalidState(msg string) { panic(fmt.Errorf("%w: %s", ErrInvalidState, msg)) }

// Exists reports whether the key has a state.
func (s *State[S]) Exists() bool { return s.exists }

// Get returns the state. It panics with an error wrapping ErrInvalidState
// when there is none (Spark's NoSuchElementException).
func (s *State[S]) Get() S {
	if !s.exists {
		invalidState("the state does not exist")
	}
	return s.value
}

// GetOption returns the state, or None when there is none.
func (s *State[S]) GetOption() rdd.Option[S] {
	if !s.exists {
		return rdd.None[S]()
	}
	return rdd.Some(s.value)
}

// Update sets the state. It panics with an error wrapping ErrInvalidState
// after Remove or when the state is timing out.
func (s *State[S]) Update(v S) {
	if s.removed {
		invalidState("cannot update the state after it has been removed")
	}
	if s.timingOut {
		invalidState("cannot update the state that is timing out")
	}
	s.value, s.exists, s.updated = v, true, true
}

// Remove deletes the key's state. It panics with an error wrapping
// ErrInvalidState when the state was already removed or is timing out
// (it is removed anyway).
func (s *State[S]) Remove() {
	if s.timingOut {
		invalidState("cannot remove the state that is timing out")
	}
	if s.removed {
		invalidState("cannot remove the state that has already been removed")
	}
	var zero S
	s.value, s.exists, s.updated, s.removed = zero, false, false, true
}

// IsTimingOut reports whether the call is the one made because the key
// timed out: there is no new value (the state is still there to Get), and
// the state may not be updated or removed.
func (s *State[S]) IsTimingOut() bool { return s.timingOut }

func (s *State[S]) isUpdated() bool { return s.updated }
func (s *State[S]) isRemoved() bool { return s.removed }

// WithInitialState starts a stateful operation (UpdateStateByKey) from the
// pairs of r, loaded in the first batch. The default is an empty state. Of
// pairs with the same key the first in r's order is the state, as in Spark
// (the head of the key's cogrouped states). Its key and state types must be those of the operation; a mismatch is
// recorded as a graph error that Start returns.
func WithInitialState[K comparable, S any](r *rdd.RDD[rdd.Pair[K, S]]) Option {
	return optionFunc(func(c *opConfig) { c.initial, c.set = r, c.set|optInitialState })
}

// statePartitioner resolves the partitioning of a state store: partitioner
// if not nil, else partitions when set (which must be positive), else the
// default, a HashPartitioner over GOMAXPROCS partitions.
func statePartitioner[K comparable](g *Graph, op string, partitions int, set bool, partitioner any) rdd.Partitioner[K] {
	switch {
	case partitioner != nil:
		if p, ok := partitioner.(rdd.Partitioner[K]); ok && p.NumPartitions() > 0 {
			return p
		}
		g.fail(fmt.Errorf("dstream: %s: %w: partitioner %T does not partition this key type", op, ErrInvalidStream, partitioner))
	case set && partitions < 1:
		g.fail(fmt.Errorf("dstream: %s: %w: number of partitions (%d) must be positive", op, ErrInvalidStream, partitions))
	case set:
		return rdd.NewHashPartitioner[K](partitions)
	}
	return rdd.NewHashPartitioner[K](runtime.GOMAXPROCS(0))
}

func rememberOf(in *streamInfo) time.Duration {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.remember
}

// UpdateStateByKey keeps a state per key across batches, Spark's
// updateStateByKey: at every batch, for every key that has a state or
// values in the batch, update gets the batch's values of the key (none for
// a key without new values, or when the parent has no RDD at the batch)
// and its previous state (None for a new key) and returns the new state,
// or None to remove the key. The stream's RDD at each batch is every
// (key, state) after the update; an initial state (WithInitialState) is
// loaded in, and so shows from, the first batch.
//
// The state lives in a store of its own, hash-partitioned by key
// (WithPartitions or WithPartitioner; the default is GOMAXPROCS
// partitions), updated in place once per batch at job-run time, in batch
// order, by one task per partition. Every key is visited every batch, so a
// batch costs about one map iteration per key plus the batch's records; for
// state that only changes where there is input, MapWithState costs only the
// batch's records. Its data checkpoints hold the keys whose state changed
// when the state type holds no pointers (numbers, and arrays and structs of
// them: a state returned with the same bytes is unchanged), and every key
// otherwise, as in Spark.
//
// Each RDD of the stream is read from the live state: read it during its
// batch (any output operation on the stream, or on streams derived from it,
// does), or Persist the stream to keep it for later batches (windows);
// otherwise a job that reads it after a later batch changed the state fails
// with ErrStateUnavailable. A panic in update fails the batch with an error
// naming the key and wrapping rdd.ErrUserPanic, and the stream produces no
// more batches (the state is then not whole).
func UpdateStateByKey[K comparable, V, S any](d DStream[rdd.Pair[K, V]], update func(values []V, state rdd.Option[S]) rdd.Option[S], opts ...Option) DStream[rdd.Pair[K, S]] {
	return updateStateByKey(d, "UpdateStateByKey", func(_ time.Time, _ K, vs []V, s rdd.Option[S]) rdd.Option[S] { return update(vs, s) }, opts)
}

// UpdateStateByKeyWithTime is UpdateStateByKey with the batch time and the
// key passed to update, Spark's updateStateByKey with a (Time, K, Seq[V],
// Option[S]) function.
func UpdateStateByKeyWithTime[K comparable, V, S any](d DStream[rdd.Pair[K, V]], update func(batchTime time.Time, key K, values []V, state rdd.Option[S]) rdd.Option[S], opts ...Option) DStream[rdd.Pair[K, S]] {
	return updateStateByKey(d, "UpdateStateByKey", update, opts)
}

func updateStateByKey[K comparable, V, S any](d DStream[rdd.Pair[K, V]], kind string,
	update func(time.Time, K, []V, rdd.Option[S]) rdd.Option[S], opts []Option) DStream[rdd.Pair[K, S]] {
	g := d.s.graph
	c := configure(g, kind, opts, optPartitioning|optName|optInitialState)
	part := statePartitioner[K](g, kind, c.partitions, c.partitionsSet(), c.partitioner)
	var initial *rdd.RDD[rdd.Pair[K, S]]
	if c.initial != nil {
		r, ok := c.initial.(*rdd.RDD[rdd.Pair[K, S]])
		if !ok {
			g.fail(fmt.Errorf("dstream: %s: %w: initial state %T is not a %T", kind, ErrInvalidStream, c.initial, initial))
		}
		initial = r
	}
	st := newStateStore[K, S](part, 0)
	var (
		out    DStream[rdd.Pair[K, S]]
		ap     *stateApplier
		loaded bool             // guarded by ap.mu
		inbox  stateInbox[K, V] // used by updateAll, one batch at a time
	)
	out = newStream(g, kind, d.s.slide, []node{d.s}, func(t time.Time) (*rdd.RDD[rdd.Pair[K, S]], error) {
		_, err := ap.queue(t, rememberOf(&out.s.streamInfo), func(bt time.Time) (*stateBatch, error) {
			in, err := d.s.getOrCompute(bt)
			if err != nil {
				return nil, err
			}
			return &stateBatch{apply: func(ctx context.Context) error {
				tn := bt.UnixNano()
				if !loaded && initial != nil {
					// Loaded as of just before the batch: updateAll tells the
					// batch's keys by their update time.
					if err := st.load(ctx, initial, tn-1, true); err != nil {
						return fmt.Errorf("dstream: %s at batch %s: loading the initial state: %w", out.s.describe(), FormatTime(bt), err)
					}
				}
				loaded, initial = true, nil // the store holds it now
				if err := updateAll(ctx, st, &inbox, in, bt, update); err != nil {
					return fmt.Errorf("dstream: %s at batch %s: %w", out.s.describe(), FormatTime(bt), err)
				}
				st.applied.Store(tn)
				return nil
			}}, nil
		})
		if err != nil {
			return nil, err
		}
		return snapshotRDD(st, out.s.describe(), t, func(ctx context.Context) error { return ap.applyThrough(ctx, t) }), nil
	})
	out.s.mustCheckpoint = true
	ap = newStateApplier(out.s.describe, d.s.slide)
	out.s.checkpointer = &stateCheckpointer[K, S]{store: st, applier: ap, restored: func() { loaded, initial = true, nil }}
	return named(c, out)
}

// updateAll is one UpdateStateByKey batch: every key of the store and every
// key of the batch, one task per store partition.
func updateAll[K comparable, V, S any](ctx context.Context, st *stateStore[K, S], ib *stateInbox[K, V], in *rdd.RDD[rdd.Pair[K, V]], bt time.Time,
	update func(time.Time, K, []V, rdd.Option[S]) rdd.Option[S]) error {
	if in == nil {
		in = rdd.Empty[rdd.Pair[K, V]]()
	}
	tn := bt.UnixNano()
	if err := ib.fill(ctx, in, st.part); err != nil {
		return err
	}
	defer ib.release()
	current := make(callKeys[K], len(st.parts))
	return current.name(st.eachPartition(ctx, func(p int, sp *statePartition[K, S]) error {
		// The key of the call in progress, in a local: stored into
		// current, beside the other partitions' keys, for every key,
		// its cache line went back and forth between the cores of the
		// partitions' tasks (two partitions on two cores took longer
		// than on one).
		var key K
		defer func() {
			if v := recover(); v != nil {
				current[p] = key
				panic(v)
			}
		}()
		var (
			index map[K]int32
			keys  []K
			vals  [][]V
		)
		for recs := range ib.records(p) { // the batch's values by key
			for _, kv := range recs {
				if index == nil {
					index = map[K]int32{}
				}
				i, ok := index[kv.Key]
				if !ok {
					i = int32(len(keys))
					index[kv.Key] = i
					keys = append(keys, kv.Key)
					vals = append(vals, nil)
				}
				vals[i] = append(vals[i], kv.Value)
			}
		}
		// A state of plain bytes (no pointers) that the function returns
		// as it was is no change, and only the keys whose state did
		// change are logged for the next checkpoint. Any other state may
		// have changed behind a pointer it holds, so every key counts as
		// changed.
		plain := st.plainState
		if sp.tracking && !plain {
			sp.all = true
		}
		// The batch's keys first, then every other key: an entry updated
		// at this batch's time is one of the batch's keys (the initial
		// state is loaded at an earlier time), so the pass over the state
		// tells them apart without a lookup per key.
		for i, k := range keys {
			h := sp.m.hash(k)
			e := sp.m.lookup(k, h)
			prev := rdd.None[S]()
			if e != nil {
				prev = rdd.Some(e.state)
			}
			key = k
			ns := update(bt, k, vals[i], prev)
			switch {
			case !ns.Valid && e != nil:
				sp.remove(k, h, e.updated)
			case ns.Valid:
				prevTime := int64(minBatchTime)
				if e != nil {
					prevTime = e.updated
				}
				sp.put(k, h, e, ns.Value, tn, prevTime, false)
			}
		}
		for k, e := range sp.m.all {
			if e.updated == tn {
				continue // one of the batch's keys, done above
			}
			key = k
			ns := update(bt, k, nil, rdd.Some(e.state))
			switch {
			case !ns.Valid:
				sp.remove(k, sp.m.hash(k), e.updated)
			case !plain:
				*e = stateEntry[S]{state: ns.Value, updated: tn}
			case !sameBytes(&e.state, &ns.Value):
				prevTime := e.updated
				*e = stateEntry[S]{state: ns.Value, updated: tn}
				sp.record(changeRecord[K, S]{key: k, entry: *e}, prevTime)
			}
		}
		return nil
	}))
}

// callKeys holds, per state partition, the key of the user function's
// call in progress, so that the error of a batch whose function panicked
// names the key.
type callKeys[K comparable] []K

// name returns err naming the key whose call panicked, when err is the
// panic of a partition's task.
func (ck callKeys[K]) name(err error) error {
	var te *rdd.TaskError
	if errors.As(err, &te) && te.Panic != nil && te.Partition >= 0 && te.Partition < len(ck) {
		return fmt.Errorf("key %v: %w", ck[te.Partition], err)
	}
	return err
}

// StateSpec describes a MapWithState operation, Spark's StateSpec: the
// mapping function and, through its methods, the initial state, the
// partitioning of the state and the idle timeout. Build it with
// StateSpecFunc; the methods return modified copies.
type StateSpec[K comparable, V, S, M any] struct {
	fn         func(time.Time, K, rdd.Option[V], *State[S]) rdd.Option[M]
	initial    *rdd.RDD[rdd.Pair[K, S]]
	partitions int
	// partitionsSet tells a NumPartitions(0), refused, from the default.
	partitionsSet bool
	partitioner   rdd.Partitioner[K]
	timeout       time.Duration
}

// StateSpecFunc returns the spec of a MapWithState whose mapping function
// is f, Spark's StateSpec.function: f gets the batch time, a key, one of
// the key's values in the batch (None when the call is for a key timing
// out) and the key's State, and returns the record to emit, if any.
func StateSpecFunc[K comparable, V, S, M any](f func(t time.Time, key K, value rdd.Option[V], state *State[S]) rdd.Option[M]) StateSpec[K, V, S, M] {
	return StateSpec[K, V, S, M]{fn: f}
}

// InitialState starts the state from the pairs of r, loaded in the first
// batch, with that batch's time as their last update. The default is empty.
// Of pairs with the same key the last in r's order is the state, as in
// Spark (a put per pair).
func (s StateSpec[K, V, S, M]) InitialState(r *rdd.RDD[rdd.Pair[K, S]]) StateSpec[K, V, S, M] {
	s.initial = r
	return s
}

// NumPartitions hash-partitions the state into n partitions. The default
// is GOMAXPROCS partitions; an n below 1 is refused (Start fails).
func (s StateSpec[K, V, S, M]) NumPartitions(n int) StateSpec[K, V, S, M] {
	s.partitions, s.partitionsSet, s.partitioner = n, true, nil
	return s
}

// Partitioner places the state's keys with p. The default is a
// HashPartitioner (see NumPartitions).
func (s StateSpec[K, V, S, M]) Partitioner(p rdd.Partitioner[K]) StateSpec[K, V, S, M] {
	s.partitioner, s.partitions, s.partitionsSet = p, 0, false
	return s
}

// Timeout removes the state of a key that has received no record for more
// than d: in the first batch whose time is more than d after the key's last
// update, the mapping function is called once for the key with no value and
// a State whose IsTimingOut is true, that may be neither updated nor
// removed, and the key is removed. The default, 0, never times out.
//
// Unlike Spark, which finds idle keys only in its periodic full-scan
// (checkpoint) batches, so a key may time out up to a checkpoint interval
// late, the timeout fires promptly, at a cost proportional to the keys that
// expire.
func (s StateSpec[K, V, S, M]) Timeout(d time.Duration) StateSpec[K, V, S, M] {
	s.timeout = d
	return s
}

// MapWithStateDStream is the stream returned by MapWithState: a DStream of
// the mapped records, plus StateSnapshots. Its methods are DStream's; to
// pass it to a generic function of this package, name the embedded stream,
// as Go does not infer DStream[M] from it:
//
//	mapped := dstream.MapWithState(pairs, spec)
//	dstream.Map(mapped.DStream, f) // not dstream.Map(mapped, f)
type MapWithStateDStream[K comparable, V, S, M any] struct {
	DStream[M]
	core *mapWithState[K, V, S, M]
}

// mapWithStateSlidesPerCheckpoint is MapWithState's default data checkpoint
// interval in slides, Spark's
// InternalMapWithStateDStream.DEFAULT_CHECKPOINT_DURATION_MULTIPLIER (other
// stateful streams default to DefaultCheckpointInterval).
const mapWithStateSlidesPerCheckpoint = 10

// mapWithState is the shared part of a MapWithState stream and its
// snapshot stream.
type mapWithState[K comparable, V, S, M any] struct {
	parent  DStream[rdd.Pair[K, V]]
	spec    StateSpec[K, V, S, M]
	store   *stateStore[K, S]
	applier *stateApplier
	mapped  *stream[M]
	loaded  bool             // guarded by applier.mu
	inbox   stateInbox[K, V] // used by apply, one batch at a time

	snapMu    sync.Mutex
	snapshots *stream[rdd.Pair[K, S]]
}

// MapWithState keeps a state per key across batches and maps each record
// with it, Spark's mapWithState: for every record (key, value) of a batch,
// the spec's function gets the key, Some(value) and the key's State, may
// update or remove the state, and returns the record to emit, if any. The
// stream's RDD at each batch is the records emitted in that batch.
//
// Only the keys with records in a batch (and, with a timeout, the keys that
// time out) are touched: a batch costs time proportional to its records,
// not to the size of the state. The state lives in a store of its own,
// hash-partitioned by key, updated in place once per batch at job-run time,
// in batch order, by one task per partition; a key's records are seen in
// the order of the batch's partitions. StateSnapshots gives the whole state
// after each batch. Its data checkpoints write the keys changed since the
// previous one (Spark writes the whole state), so they too cost the data,
// not the state; a full snapshot is rewritten only once those deltas would
// outgrow it.
//
// A panic in the mapping function (rdd.ErrUserPanic), or a misuse of State
// (ErrInvalidState), fails the batch with an error naming the key, and the
// stream produces no more batches (the state is then not whole).
func MapWithState[K comparable, V, S, M any](d DStream[rdd.Pair[K, V]], spec StateSpec[K, V, S, M]) MapWithStateDStream[K, V, S, M] {
	g := d.s.graph
	const kind = "MapWithState"
	if spec.fn == nil {
		g.fail(fmt.Errorf("dstream: %s: %w: the StateSpec has no mapping function", kind, ErrInvalidStream))
	}
	if spec.timeout < 0 {
		g.fail(fmt.Errorf("dstream: %s: %w: timeout (%v) must not be negative", kind, ErrInvalidStream, spec.timeout))
	}
	var partitioner any
	if spec.partitioner != nil {
		partitioner = spec.partitioner
	}
	part := statePartitioner[K](g, kind, spec.partitions, spec.partitionsSet, partitioner)
	c := &mapWithState[K, V, S, M]{parent: d, spec: spec, store: newStateStore[K, S](part, max(spec.timeout, 0))}
	out := newStream(g, kind, d.s.slide, []node{d.s}, c.computeMapped)
	out.s.mustCheckpoint, out.s.slidesPerCheckpoint = true, mapWithStateSlidesPerCheckpoint
	c.mapped = out.s
	c.applier = newStateApplier(out.s.describe, d.s.slide)
	out.s.checkpointer = &stateCheckpointer[K, S]{store: c.store, applier: c.applier, restored: func() { c.loaded, c.spec.initial = true, nil }}
	return MapWithStateDStream[K, V, S, M]{DStream: out, core: c}
}

// StateSnapshots returns the stream of every (key, state) after each batch,
// Spark's stateSnapshots. Calling it again returns the same stream. Each
// RDD is read from the live state: read it during its batch or Persist the
// stream (see UpdateStateByKey); a snapshot costs time proportional to the
// whole state.
func (d MapWithStateDStream[K, V, S, M]) StateSnapshots() DStream[rdd.Pair[K, S]] {
	c := d.core
	c.snapMu.Lock()
	defer c.snapMu.Unlock()
	if c.snapshots == nil {
		var snap DStream[rdd.Pair[K, S]]
		// The mapped stream is a parent, though the snapshot computes the
		// batch itself, so that a graph whose only output is the snapshots
		// still checkpoints the state the mapped stream holds.
		snap = newStream(c.mapped.graph, "StateSnapshots", c.mapped.slide, []node{c.mapped}, func(t time.Time) (*rdd.RDD[rdd.Pair[K, S]], error) {
			if _, err := c.batch(t); err != nil {
				return nil, err
			}
			return snapshotRDD(c.store, snap.s.describe(), t, func(ctx context.Context) error { return c.applier.applyThrough(ctx, t) }), nil
		})
		snap.s.mustCheckpoint, snap.s.slidesPerCheckpoint = true, mapWithStateSlidesPerCheckpoint
		c.snapshots = snap.s
	}
	return DStream[rdd.Pair[K, S]]{c.snapshots}
}

// keep is how long applied batches stay queued for re-computation.
func (c *mapWithState[K, V, S, M]) keep() time.Duration {
	keep := rememberOf(&c.mapped.streamInfo)
	c.snapMu.Lock()
	snap := c.snapshots
	c.snapMu.Unlock()
	if snap != nil {
		keep = max(keep, rememberOf(&snap.streamInfo))
	}
	return keep
}

// batch queues the update of batch t (and of any earlier batch not queued
// yet) and returns it.
func (c *mapWithState[K, V, S, M]) batch(t time.Time) (*stateBatch, error) {
	return c.applier.queue(t, c.keep(), func(bt time.Time) (*stateBatch, error) {
		in, err := c.parent.s.getOrCompute(bt)
		if err != nil {
			return nil, err
		}
		b := &stateBatch{}
		b.apply = func(ctx context.Context) error {
			out, err := c.apply(ctx, in, bt)
			if err != nil {
				return fmt.Errorf("dstream: %s at batch %s: %w", c.mapped.describe(), FormatTime(bt), err)
			}
			b.out = out
			return nil
		}
		return b, nil
	})
}

// computeMapped is the mapped stream's compute: an RDD over what the
// batch's update emitted, per store partition.
func (c *mapWithState[K, V, S, M]) computeMapped(t time.Time) (*rdd.RDD[M], error) {
	b, err := c.batch(t)
	if err != nil {
		return nil, err
	}
	n := len(c.store.parts)
	base := rdd.MapPartitionsWithIndex(rdd.Parallelize(make([]struct{}, n), n),
		func(p int, _ iter.Seq[struct{}]) iter.Seq[M] {
			return func(yield func(M) bool) {
				out, _ := b.out.([][]M)
				if p >= len(out) {
					return
				}
				for _, m := range out[p] {
					if !yield(m) {
						return
					}
				}
			}
		})
	return rdd.Prepare(base, func(ctx context.Context) error { return c.applier.applyThrough(ctx, t) }), nil
}

// apply is one MapWithState batch: the batch's records, then the keys
// that time out, one task per store partition.
func (c *mapWithState[K, V, S, M]) apply(ctx context.Context, in *rdd.RDD[rdd.Pair[K, V]], bt time.Time) ([][]M, error) {
	st := c.store
	tn := bt.UnixNano()
	if !c.loaded && c.spec.initial != nil {
		if err := st.load(ctx, c.spec.initial, tn, false); err != nil {
			return nil, fmt.Errorf("loading the initial state: %w", err)
		}
	}
	c.loaded, c.spec.initial = true, nil // the store holds it now
	if in == nil {
		in = rdd.Empty[rdd.Pair[K, V]]()
	}
	fn := c.spec.fn
	timeout := st.timeout > 0
	threshold := tn - int64(st.timeout)
	ib := &c.inbox
	if err := ib.fill(ctx, in, st.part); err != nil {
		return nil, err
	}
	defer ib.release()
	outs := make([][]M, len(st.parts))
	current := make(callKeys[K], len(st.parts))
	err := st.eachPartition(ctx, func(p int, sp *statePartition[K, S]) (err error) {
		var key K
		defer func() {
			if v := recover(); v != nil {
				if e, ok := v.(error); ok && errors.Is(e, ErrInvalidState) {
					err = fmt.Errorf("key %v: %w", key, e)
					return
				}
				current[p] = key
				panic(v)
			}
		}()
		var state State[S]
		// Over a large state, each record's lookup is prefetched a few
		// records ahead, so that their cache misses overlap.
		hs := ib.hash(p, sp.m.hash)
		out := make([]M, 0, len(hs))
		prefetching := sp.m.worthPrefetching()
		i := 0
		for recs := range ib.records(p) {
			for _, kv := range recs {
				if prefetching {
					sp.m.prefetchFor(hs, i)
				}
				key = kv.Key
				h := hs[i]
				i++
				e := sp.m.lookup(kv.Key, h)
				prev := int64(minBatchTime)
				var s S
				if e != nil {
					prev, s = e.updated, e.state
				}
				state.wrap(s, e != nil)
				m := fn(bt, kv.Key, rdd.Some(kv.Value), &state)
				switch {
				case state.removed:
					if e != nil {
						sp.remove(kv.Key, h, prev)
					}
				case state.updated || (e != nil && timeout):
					sp.put(kv.Key, h, e, state.value, tn, prev, timeout)
				}
				if m.Valid {
					out = append(out, m.Value)
				}
			}
		}
		if timeout {
			sp.expire(threshold, func(k K, s S) {
				key = k
				state.wrapTimingOut(s)
				if m := fn(bt, k, rdd.None[V](), &state); m.Valid {
					out = append(out, m.Value)
				}
			})
		}
		outs[p] = out
		return nil
	})
	if err != nil {
		return nil, current.name(err)
	}
	st.applied.Store(tn)
	return outs, nil
}
