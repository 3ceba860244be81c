package dstream

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/sluice-io/sluice/checkpoint"
	"github.com/sluice-io/sluice/rdd"
)

// This file holds the dstream side of checkpoints: the checkpoint interval
// of a stream (DStream.Checkpoint, validated at Start with Spark's
// messages), the graph's fingerprint (stable stream identities), and the
// data checkpoints of the streams that hold data across batches (state
// streams and inverse windows), which the context package takes and
// restores through the exported Graph hooks below without reaching into
// stream internals.
//
// A data checkpoint is taken for the whole graph at once, at a batch time
// where some stream's checkpoint interval falls (its "recovery point"), so
// that recovery restores every stream as of one batch and re-runs the
// batches after it.

// checkpointer is implemented by streams that hold data across batches.
// Only the job loop calls it, between batches.
type checkpointer interface {
	// trackChanges starts recording what changes, for incremental
	// checkpoints; the next snapshot reports everything.
	trackChanges()
	// snapshot takes the stream's data as of batch t, cheaply, on the batch
	// path; the returned function encodes it, off the batch path.
	snapshot(ctx context.Context, t time.Time) (func(id string) (checkpoint.StateSnapshot, error), error)
	// restore loads the data of a checkpoint taken at batch t, which scan
	// yields.
	restore(scan ScanFunc, t time.Time) error
}

// ScanFunc reads the entries of one stream's data checkpoint in order,
// as checkpoint.Store.ScanState does: each msgpack-encoded key with its
// value, or deleted; applied in order they are the stream's data.
type ScanFunc func(fn func(key string, value []byte, deleted bool) error) error

// scanDecoded calls fn with each entry scan yields, its key decoded into a
// K and, unless the entry is a deletion, its value into a V, with one
// msgpack decoder for the keys and one for the values (msgpack.Unmarshal
// would set one up per call).
//
// User code runs for every entry: the key's and the value's own msgpack
// decoders (DecodeMsgpack methods), and in fn the stream's Partitioner and
// the key's hash. A panic in any of them stops the scan with an error
// wrapping rdd.ErrUserPanic that names the key once it is decoded, so a
// restore fails instead of the panic escaping the context's Start.
func scanDecoded[K comparable, V any](scan ScanFunc, fn func(k K, v V, deleted bool) error) error {
	var keys strings.Reader
	var values bytes.Reader
	kd, vd := msgpack.NewDecoder(&keys), msgpack.NewDecoder(&values)
	return scan(func(key string, value []byte, deleted bool) (err error) {
		var k K
		step := decodingKey
		defer func() {
			if v := recover(); v != nil {
				err = restorePanic(step, k, v)
			}
		}()
		keys.Reset(key)
		if err := kd.Decode(&k); err != nil {
			return fmt.Errorf("decode a key: %w: %w", checkpoint.ErrCorrupt, err)
		}
		var v V
		if !deleted {
			step = decodingValue
			values.Reset(value)
			if err := vd.Decode(&v); err != nil {
				return fmt.Errorf("decode the value of key %v: %w: %w", k, checkpoint.ErrCorrupt, err)
			}
		}
		step = restoringKey
		return fn(k, v, deleted)
	})
}

// restoreStep is what scanDecoded was doing with an entry when user code
// panicked.
type restoreStep int

const (
	decodingKey   restoreStep = iota // the key's DecodeMsgpack
	decodingValue                    // the value's DecodeMsgpack
	restoringKey                     // the Partitioner, the key's hash
)

// restorePanic is the error for a panic v in user code at step of a
// restore, on the entry of key k (unknown while decoding the key).
func restorePanic[K any](step restoreStep, k K, v any) error {
	switch step {
	case decodingKey:
		return fmt.Errorf("decoding a key: %w: %v", rdd.ErrUserPanic, v)
	case decodingValue:
		return fmt.Errorf("decoding the value of key %v: %w: %v", k, rdd.ErrUserPanic, v)
	default:
		return fmt.Errorf("restoring key %v (partitioning, hashing): %w: %v", k, rdd.ErrUserPanic, v)
	}
}

// Checkpoint sets the interval at which the stream's data is checkpointed,
// Spark's DStream.checkpoint. It must be a multiple of the stream's slide
// and not below it (checked at Start, with Spark's messages). As in Spark,
// UpdateStateByKey and windows with an inverse function checkpoint by
// default every DefaultCheckpointInterval(slide), and MapWithState every 10
// slides; on
// other streams, which hold no data across batches, the interval only adds
// checkpoint times to the graph. Checkpointing needs the context's
// checkpoint directory. Only before Start; it returns d.
func (d DStream[T]) Checkpoint(interval time.Duration) DStream[T] {
	s := d.s
	if s.graph.Started() {
		s.graph.logger.Error("Cannot change checkpoint interval of a DStream after streaming context has started", "stream", s.describe())
		return d
	}
	if interval <= 0 {
		s.graph.fail(fmt.Errorf("dstream: Checkpoint of %s: %w: the checkpoint interval must be positive, got %v", s.describe(), ErrInvalidStream, interval))
		return d
	}
	s.mu.Lock()
	s.checkpointInterval = interval
	s.mu.Unlock()
	return d
}

// CheckpointInterval returns the stream's data checkpoint interval: the one
// set with Checkpoint, the default fixed at Start for streams that must
// checkpoint, or 0.
func (d DStream[T]) CheckpointInterval() time.Duration {
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	return d.s.checkpointInterval
}

// SetCheckpointing tells the graph whether its context has a checkpoint
// directory; Start refuses a graph with a stream that must checkpoint
// when it has none. The context package calls it before Start.
func (g *Graph) SetCheckpointing(on bool) {
	g.mu.Lock()
	g.checkpointing = on
	g.mu.Unlock()
}

// NeedsCheckpoint reports whether a stream reachable from the output
// operations must checkpoint (a stateful or inverse-window stream) or has a
// checkpoint interval set: Start then needs a checkpoint directory.
func (g *Graph) NeedsCheckpoint() bool {
	for _, n := range g.reachable() {
		in := n.info()
		in.mu.Lock()
		need := in.mustCheckpoint || in.checkpointInterval != 0
		in.mu.Unlock()
		if need {
			return true
		}
	}
	return false
}

// reachable returns the streams reachable from the output operations, in
// creation order.
func (g *Graph) reachable() []node {
	g.mu.Lock()
	outputs := g.outputs
	all := g.streams
	g.mu.Unlock()
	seen := map[node]bool{}
	var walk func(n node)
	walk = func(n node) {
		if seen[n] {
			return
		}
		seen[n] = true
		for _, p := range n.info().parents {
			walk(p)
		}
	}
	for _, o := range outputs {
		walk(o)
	}
	var out []node
	for _, n := range all {
		if seen[n] {
			out = append(out, n)
		}
	}
	return out
}

// validateCheckpoints is Spark's checkpoint part of validateAtStart, run
// after initialize fixed the default intervals.
func (g *Graph) validateCheckpoints() error {
	g.mu.Lock()
	on := g.checkpointing
	g.mu.Unlock()
	for _, n := range g.reachable() {
		in := n.info()
		in.mu.Lock()
		interval, slide, remember := in.checkpointInterval, in.slide, in.remember
		in.mu.Unlock()
		if interval == 0 {
			continue
		}
		switch {
		case !on:
			return fmt.Errorf("dstream: %s: %w", in.describe(), ErrCheckpointDirNotSet)
		case interval < slide:
			return fmt.Errorf("dstream: %w: The checkpoint interval for %s has been set to %v which is lower than its slide time (%v). Please set it to at least %v.",
				ErrInvalidStream, in.describe(), interval, slide, slide)
		case interval%slide != 0:
			return fmt.Errorf("dstream: %w: The checkpoint interval for %s has been set to %v which not a multiple of its slide time (%v). Please set it to a multiple of %v.",
				ErrInvalidStream, in.describe(), interval, slide, slide)
		case remember <= interval:
			return fmt.Errorf("dstream: %w: The remember duration for %s has been set to %v which is not more than the checkpoint interval (%v). Please set it to higher than %v.",
				ErrInvalidStream, in.describe(), remember, interval, interval)
		}
	}
	return nil
}

// Fingerprint returns the graph's fingerprint for checkpoints: every
// stream, in creation order, with its stable identity (the name given with
// SetName or WithName, else its creation index; a name used by several
// streams gets "#2", "#3", ... from its second use on) and kind.
func (g *Graph) Fingerprint() []checkpoint.StreamIdentity {
	g.mu.Lock()
	streams := g.streams
	g.mu.Unlock()
	out := make([]checkpoint.StreamIdentity, len(streams))
	uses := map[string]int{}
	for i, n := range streams {
		in := n.info()
		name := in.streamName()
		out[i] = checkpoint.StreamIdentity{ID: stableID(in.id, name, uses), Kind: in.kind, Name: name}
	}
	return out
}

func stableID(index int, name string, uses map[string]int) string {
	if name == "" {
		return strconv.Itoa(index)
	}
	uses[name]++
	if n := uses[name]; n > 1 {
		return name + "#" + strconv.Itoa(n)
	}
	return name
}

// checkpointers returns the reachable streams that hold data, with their
// stable IDs.
func (g *Graph) checkpointers() []idCheckpointer {
	ids := g.Fingerprint()
	var out []idCheckpointer
	for _, n := range g.reachable() {
		in := n.info()
		in.mu.Lock()
		c := in.checkpointer
		in.mu.Unlock()
		if c != nil && in.id >= 0 {
			out = append(out, idCheckpointer{ids[in.id].ID, c})
		}
	}
	return out
}

type idCheckpointer struct {
	id string
	c  checkpointer
}

// StartTrackingChanges makes the streams that hold data record what
// changes from now on, so that data checkpoints are incremental. The
// context calls it at Start when it has a checkpoint directory.
func (g *Graph) StartTrackingChanges() {
	for _, c := range g.checkpointers() {
		c.c.trackChanges()
	}
}

// ResetChanges makes the next data checkpoint of every stream report all
// of its data, after a checkpoint that could not be written.
func (g *Graph) ResetChanges() {
	for _, c := range g.checkpointers() {
		if r, ok := c.c.(interface{ resetChanges() }); ok {
			r.resetChanges()
		} else {
			c.c.trackChanges()
		}
	}
}

// CheckpointDue reports whether batch time t is a data checkpoint time:
// a time where the checkpoint interval of some stream falls, counted from
// the zero time. A graph where no stream has an interval holds no data
// across batches, and every batch is one.
func (g *Graph) CheckpointDue(t time.Time) bool {
	zero := g.ZeroTime()
	any := false
	for _, n := range g.reachable() {
		in := n.info()
		in.mu.Lock()
		interval := in.checkpointInterval
		in.mu.Unlock()
		if interval == 0 {
			continue
		}
		any = true
		if d := t.Sub(zero); d > 0 && d%interval == 0 {
			return true
		}
	}
	return !any
}

// StreamData is one stream's data checkpoint, taken on the batch path:
// Encode turns it into the state snapshot to write, off the batch path.
type StreamData struct {
	StreamID string
	Encode   func() (checkpoint.StateSnapshot, error)
}

// CheckpointData takes the data of every stream that holds data across
// batches as of batch t, which must have completed. It runs in the job loop
// between batches and copies only what changed since the previous call
// (state streams) or what the next windows need (inverse windows); the
// encoding is left to StreamData.Encode.
func (g *Graph) CheckpointData(ctx context.Context, t time.Time) ([]StreamData, error) {
	var out []StreamData
	for _, c := range g.checkpointers() {
		enc, err := c.c.snapshot(ctx, t)
		if err != nil {
			return nil, fmt.Errorf("dstream: data checkpoint of stream %s at batch %s: %w", c.id, FormatTime(t), err)
		}
		if enc == nil {
			continue // no data yet
		}
		id := c.id
		out = append(out, StreamData{StreamID: id, Encode: func() (checkpoint.StateSnapshot, error) { return enc(id) }})
	}
	return out, nil
}

// AheadData is the start of one stream's next data checkpoint, taken on
// the batch path between data checkpoints: Encode returns the entries to
// hand over as checkpoint.StateSnapshot.Ahead, off the batch path.
type AheadData struct {
	StreamID string
	// Encode appends the entries to *into.
	Encode func(into *checkpoint.Entries) error
}

// CheckpointAhead takes, after a batch that is not a data checkpoint, the
// changes of the state streams since the previous call or data checkpoint
// that the next data checkpoint will write as they are (the logs of
// partitions that repeat few keys), so that they can be encoded and
// written ahead of it; that data checkpoint's snapshot then holds only the
// changes after them, and the entries of every AheadData taken since the
// previous one must go before its Changed, in order. It runs in the job
// loop, between batches; the records are not copied, so each AheadData
// must be encoded before the data checkpoint that follows it (the
// context's encoder takes them in order).
func (g *Graph) CheckpointAhead() []AheadData {
	var out []AheadData
	for _, c := range g.checkpointers() {
		a, ok := c.c.(interface {
			ahead() func(into *checkpoint.Entries) error
		})
		if !ok {
			continue
		}
		if enc := a.ahead(); enc != nil {
			out = append(out, AheadData{StreamID: c.id, Encode: enc})
		}
	}
	return out
}

// CheckpointedStreams returns the stable IDs of the streams that hold data
// across batches.
func (g *Graph) CheckpointedStreams() []string {
	var ids []string
	for _, c := range g.checkpointers() {
		ids = append(ids, c.id)
	}
	return ids
}

// RestoreData loads into every stream that holds data its data checkpoint
// taken at batch t; scan yields the entries of a stream's checkpoint by
// stable ID, in order, as checkpoint.Store.ScanState does, or returns an
// error wrapping checkpoint.ErrNoCheckpoint when the checkpoint has none
// (the stream then starts empty). Call it after Start, before the first
// batch. Consuming input streams then give batch times up to t nothing.
//
// A panic in user code while an entry is restored (a key's or state's
// DecodeMsgpack, a Partitioner) is returned as an error wrapping
// rdd.ErrUserPanic that names the stream, the key when known and t; the
// stream is then left empty or partly restored, and the context must not
// run. (The context's Start recovers any other panic of the restore.)
func (g *Graph) RestoreData(t time.Time, scan func(streamID string, fn func(key string, value []byte, deleted bool) error) error) error {
	g.mu.Lock()
	g.restored = t
	g.mu.Unlock()
	for _, c := range g.checkpointers() {
		var scanErr error // an error of scan's own, not of the stream's restore
		err := c.c.restore(func(fn func(key string, value []byte, deleted bool) error) error {
			var fnErr error
			err := scan(c.id, func(key string, value []byte, deleted bool) error {
				fnErr = fn(key, value, deleted)
				return fnErr
			})
			if fnErr == nil {
				scanErr = err
			}
			return err
		}, t)
		switch {
		case errors.Is(scanErr, checkpoint.ErrNoCheckpoint):
			continue // the stream starts empty
		case scanErr != nil:
			return fmt.Errorf("dstream: restoring stream %s: %w", c.id, scanErr)
		case err != nil:
			return fmt.Errorf("dstream: restoring stream %s as of batch %s: %w", c.id, FormatTime(t), err)
		}
	}
	return nil
}

// --- state streams ---

// storedState is a key's state as written in checkpoints: the state and
// the batch time of its last update (for timeouts).
type storedState[S any] struct {
	_msgpack struct{} `msgpack:",as_array"`
	State    S
	Updated  int64
}

// EncodeMsgpack writes what the as_array tag does, [State, Updated], without
// msgpack's reflection over the struct.
func (s *storedState[S]) EncodeMsgpack(enc *msgpack.Encoder) error {
	if err := enc.EncodeArrayLen(2); err != nil {
		return err
	}
	if err := enc.EncodeValue(reflect.ValueOf(&s.State).Elem()); err != nil {
		return err
	}
	return enc.EncodeInt64(s.Updated)
}

// DecodeMsgpack reads what EncodeMsgpack writes, without msgpack's
// reflection over the struct: a restore decodes one per key.
func (s *storedState[S]) DecodeMsgpack(dec *msgpack.Decoder) error {
	n, err := dec.DecodeArrayLen()
	if err != nil {
		return err
	}
	if n != 2 {
		return fmt.Errorf("a stored state is an array of 2, [state, updated], not %d", n)
	}
	if err := dec.Decode(&s.State); err != nil {
		return err
	}
	s.Updated, err = dec.DecodeInt64()
	return err
}

// AppendMsgpack appends what EncodeMsgpack writes, when
// checkpoint.AppendMsgpack encodes S (int, int64, string): the inner loop
// of a state checkpoint, without msgpack's Encoder.
func (s *storedState[S]) AppendMsgpack(b []byte) ([]byte, bool) {
	b, ok := checkpoint.AppendMsgpack(append(b, msgpcode.FixedArrayLow|2), s.State)
	if !ok {
		return b, false
	}
	return checkpoint.AppendInt64(b, s.Updated), true
}

// stored returns e as it is written in checkpoints.
func stored[S any](e stateEntry[S]) storedState[S] {
	return storedState[S]{State: e.state, Updated: e.updated}
}

// stateCheckpointer checkpoints the store of a state stream.
type stateCheckpointer[K comparable, S any] struct {
	store   *stateStore[K, S]
	applier *stateApplier
	// restored is called after a restore (marks the initial state loaded).
	restored func()
	// refresh tracks the rolling rewrite of the live keys.
	refresh rolling
}

func (c *stateCheckpointer[K, S]) trackChanges() { c.store.startTrackingChanges() }

func (c *stateCheckpointer[K, S]) resetChanges() {
	c.store.startTrackingChanges()
	for i := range c.store.parts {
		sp := &c.store.parts[i]
		sp.mu.Lock()
		sp.all = true
		sp.mu.Unlock()
	}
}

func (c *stateCheckpointer[K, S]) snapshot(ctx context.Context, t time.Time) (func(string) (checkpoint.StateSnapshot, error), error) {
	// Every batch up to t has normally been applied by its jobs already.
	if err := c.applier.applyThrough(ctx, t); err != nil {
		return nil, err
	}
	// Beside its changes, the checkpoint rewrites the live keys of the
	// next ranges of the hash space (see state_refresh.go); when that
	// would be every key, it is a full snapshot.
	records, live := c.store.pendingRecords()
	wanted := refreshWanted(records, live)
	if records > 0 && wanted >= live {
		c.store.markAllChanged()
	}
	changes := c.store.takeChanges()
	var refresh []rdd.Pair[K, stateEntry[S]]
	if changes.Full {
		c.refresh.full(t.UnixNano(), len(c.store.parts))
	} else if records > 0 {
		// What the batches since the last data checkpoint did not take
		// ahead of it (see ahead).
		if rest := wanted - c.refresh.taken; rest > 0 {
			refresh = c.store.takeRefresh(&c.refresh, rest, live)
		}
		c.refresh.commit(t.UnixNano())
	}
	base := c.refresh.base()
	return func(id string) (checkpoint.StateSnapshot, error) {
		snap := checkpoint.StateSnapshot{StreamID: id}
		if base != 0 {
			snap.Base = time.Unix(0, base).UTC()
		}
		// The logs first, then the live keys: when every key is live in
		// the snapshot (Full), the logs hold only removals, and the live
		// keys after them are the whole state, handed over as All with no
		// copy. The keys rewritten come last.
		entries, logged, err := encodeChanges(changes, refresh, runtime.GOMAXPROCS(0))
		if err != nil {
			return snap, err
		}
		snap.Changed = entries
		c.store.recycle(changes)
		c.store.recycleRefresh(refresh)
		if changes.Full {
			all := snap.Changed.Skip(logged)
			snap.All = &all
		}
		return snap, nil
	}, nil
}

// ahead takes the changes logged since the previous ahead or snapshot
// that are worth handing over ahead of the next data checkpoint
// (takeAhead); the returned function encodes them after the entries of
// into, off the batch path. It encodes on one goroutine: the batches
// that run meanwhile want the other cores, and one batch's changes are
// few.
//
// It also takes the live keys of the next range of the hash space, for as
// many keys as the batch logged records, which the next data checkpoint
// then need not take (see state_refresh.go): so the rewrite of the state
// is spread over the batches and written ahead too. A range taken after
// batch j holds the keys as of j, and goes into the next data checkpoint's
// file before every record logged after j: a key's last entry in the file
// is still its state at the checkpoint.
func (c *stateCheckpointer[K, S]) ahead() func(into *checkpoint.Entries) error {
	logs := c.store.takeAhead()
	var refresh []rdd.Pair[K, stateEntry[S]]
	// Not before the first full snapshot, nor when the next data
	// checkpoint will be full anyway.
	if records, live := c.store.pendingRecords(); c.refresh.base() != 0 && records < live && records > c.refresh.records {
		refresh = c.store.takeRefresh(&c.refresh, records-c.refresh.records, live)
		c.refresh.records = records
	}
	if len(refresh) == 0 && !slices.ContainsFunc(logs, func(recs []changeRecord[K, S]) bool { return len(recs) > 0 }) {
		c.store.recycleRefresh(refresh)
		return nil
	}
	return func(into *checkpoint.Entries) error {
		enc := checkpoint.NewEntryEncoderAfter[K, storedState[S]](*into)
		for _, recs := range logs {
			if err := encodeLog(enc, recs); err != nil {
				return err
			}
		}
		if err := encodeLive(enc, refresh); err != nil {
			return err
		}
		*into = enc.Entries()
		c.store.recycleRefresh(refresh)
		return nil
	}
}

// encodeLive adds live keys to enc, in order. A key's or state's own
// msgpack encoder may panic: the panic is returned as an error naming the
// key.
func encodeLive[K comparable, S any](enc *checkpoint.EntryEncoder[K, storedState[S]], live []rdd.Pair[K, stateEntry[S]]) (err error) {
	var key K
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("encoding key %v: %w: %v", key, rdd.ErrUserPanic, v)
		}
	}()
	for _, kv := range live {
		key = kv.Key
		if err := enc.Set(kv.Key, stored(kv.Value)); err != nil {
			return err
		}
	}
	return nil
}

// encodeLog adds the records of log to enc, in order. A key's or state's
// own msgpack encoder may panic: the panic is returned as an error naming
// the key.
func encodeLog[K comparable, S any](enc *checkpoint.EntryEncoder[K, storedState[S]], log []changeRecord[K, S]) (err error) {
	var key K
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("encoding key %v: %w: %v", key, rdd.ErrUserPanic, v)
		}
	}()
	for _, rec := range log {
		key = rec.key
		if rec.removed() {
			err = enc.Delete(rec.key)
		} else {
			err = enc.Set(rec.key, stored(rec.entry))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// liveChunk is the number of live keys encoded as one piece of work by
// encodeChanges.
const liveChunk = 1 << 16

// encodeChanges encodes the records of changes, each partition's log in
// order and then the live keys, and returns the entries and how many of
// them come from the logs. The logs and chunks of live keys are encoded
// by up to workers goroutines at once, each into an encoder of its own,
// and joined in order: the entries are those one encoder would write, in
// a fraction of the time (a delta of 100,000 keys took 3 ms on one core).
// A log with many repeated keys is deduplicated first (the last record of
// a key wins when a delta is read, so a few repeats only cost a few
// entries).
func encodeChanges[K comparable, S any](changes stateChanges[K, S], refresh []rdd.Pair[K, stateEntry[S]], workers int) (checkpoint.Entries, int, error) {
	type piece struct {
		log   []changeRecord[K, S]
		dedup bool // the log repeats many keys
		live  []rdd.Pair[K, stateEntry[S]]
		out   checkpoint.Entries
		err   error
	}
	var pieces []piece
	for i, log := range changes.Changed {
		// The records handed over ahead are encoded already.
		staged := 0
		if changes.Staged != nil {
			staged = changes.Staged[i]
		}
		if fresh := log[staged:]; len(fresh) > 0 {
			pieces = append(pieces, piece{log: fresh, dedup: dedupWorth(changes.Repeats[i], len(log))})
		}
	}
	for _, live := range [][]rdd.Pair[K, stateEntry[S]]{changes.Live, refresh} {
		for len(live) > 0 {
			n := min(len(live), liveChunk)
			pieces = append(pieces, piece{live: live[:n]})
			live = live[n:]
		}
	}
	encode := func(p *piece) {
		defer func() {
			// A key's own hash or equality may panic (an interface key
			// holding a slice), on a goroutine of ours: it fails the
			// checkpoint instead. The encoders recover on their own.
			if v := recover(); v != nil {
				p.err = fmt.Errorf("deduplicating: %w: %v", rdd.ErrUserPanic, v)
			}
		}()
		if p.dedup {
			p.log = dedupChanges(p.log)
		}
		enc := checkpoint.NewEntryEncoder[K, storedState[S]](len(p.log) + len(p.live))
		if p.err = encodeLog(enc, p.log); p.err != nil {
			return
		}
		if p.err = encodeLive(enc, p.live); p.err != nil {
			return
		}
		p.out = enc.Entries()
	}
	var next atomic.Int64
	work := func() {
		for i := int(next.Add(1) - 1); i < len(pieces); i = int(next.Add(1) - 1) {
			encode(&pieces[i])
		}
	}
	var wg sync.WaitGroup
	for range min(workers, len(pieces)) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	lists := make([]checkpoint.Entries, len(pieces))
	logged := 0
	for i, p := range pieces {
		if p.err != nil {
			return checkpoint.Entries{}, 0, p.err
		}
		if p.live == nil {
			logged += p.out.Len()
		}
		lists[i] = p.out
	}
	return checkpoint.JoinEntries(lists...), logged, nil
}

func (c *stateCheckpointer[K, S]) restore(scan ScanFunc, t time.Time) error {
	st := c.store
	for i := range st.parts {
		st.parts[i].mu.Lock()
	}
	defer func() {
		for i := range st.parts {
			st.parts[i].mu.Unlock()
		}
	}()
	// The entries go straight into the tables, in the order of the files
	// (a later delta's entry of a key wins), with no map of the state
	// beside them.
	err := scanDecoded(scan, func(k K, e storedState[S], deleted bool) error {
		sp := &st.parts[st.part.Partition(k)]
		if deleted {
			sp.m.remove(k, sp.m.hash(k))
		} else {
			sp.m.set(k, stateEntry[S]{state: e.State, updated: e.Updated})
		}
		return nil
	})
	if err != nil {
		for i := range st.parts {
			st.parts[i].m = newStateTable[K, S]() // nothing half restored stays
		}
		return err
	}
	if st.timeout > 0 {
		// The expiry index wants keys in update-time order.
		type keyTime struct {
			k K
			t int64
		}
		var kts []keyTime
		for i := range st.parts {
			sp := &st.parts[i]
			kts = kts[:0]
			for k, e := range sp.m.all {
				kts = append(kts, keyTime{k, e.updated})
			}
			slices.SortFunc(kts, func(a, b keyTime) int { return cmp.Compare(a.t, b.t) })
			for _, kt := range kts {
				sp.index(kt.k, kt.t)
			}
		}
	}
	tn := t.UnixNano()
	st.applied.Store(tn)
	a := c.applier
	a.mu.Lock()
	if a.last < tn {
		a.last, a.applied = tn, tn
	}
	if c.restored != nil {
		c.restored()
	}
	a.mu.Unlock()
	return nil
}

// --- inverse windows ---

// windowKey keys one value of a window's data checkpoint: the batch time
// of the RDD it belongs to, whether that RDD is the window itself (else a
// per-batch reduction) and the key. Every RDD also has one Marker entry
// (zero key and value), so that an empty RDD is restored too.
type windowKey[K comparable] struct {
	_msgpack struct{} `msgpack:",as_array"`
	Time     int64
	Window   bool
	Marker   bool
	Key      K
}

// windowCheckpointer checkpoints an incrementally maintained window: its
// latest window and the per-batch reductions that later windows subtract
// or add, so the next window can be computed after a restart. Each RDD is
// one segment of the stream's checkpoint (checkpoint.Segment), immutable
// once computed: a batch's reduction is collected and written once, by the
// first checkpoint after it entered the window, and only named by the
// later ones, so a checkpoint costs the batches that entered the window
// since the previous one and the latest window, never the whole window.
type windowCheckpointer[T any, K comparable, V any] struct {
	out, reduced *stream[T]
	window       time.Duration
	toPairs      func(*rdd.RDD[T]) *rdd.RDD[rdd.Pair[K, V]]
	fromPairs    func(*rdd.RDD[rdd.Pair[K, V]]) *rdd.RDD[T]
	part         rdd.Partitioner[K]

	// handed is the set of RDDs handed to the store by the encoding of the
	// latest snapshot: the next snapshot does not collect them again but
	// asks the store to keep them. resetChanges (after a failed write) and
	// restore (a new store) empty it; gen counts those, so an encoding
	// that ran across one does not put back what the reset removed.
	mu     sync.Mutex
	handed map[windowSlot]bool
	gen    int
}

type windowSlot struct {
	time   int64
	window bool
}

// name is the slot's segment name.
func (s windowSlot) name() string {
	if s.window {
		return strconv.FormatInt(s.time, 10) + "-window"
	}
	return strconv.FormatInt(s.time, 10) + "-batch"
}

type windowRDD[K comparable, V any] struct {
	slot  windowSlot
	pairs []rdd.Pair[K, V]
	// keep marks an RDD handed to the store before: its pairs were not
	// collected.
	keep bool
}

func (c *windowCheckpointer[T, K, V]) trackChanges() {}

func (c *windowCheckpointer[T, K, V]) resetChanges() {
	c.mu.Lock()
	c.handed = nil
	c.gen++
	c.mu.Unlock()
}

func (c *windowCheckpointer[T, K, V]) snapshot(ctx context.Context, t time.Time) (func(string) (checkpoint.StateSnapshot, error), error) {
	c.out.mu.Lock()
	zero, slide := c.out.zeroTime, c.out.slide
	c.out.mu.Unlock()
	if !t.After(zero) {
		return nil, nil
	}
	parentSlide := c.reduced.slide
	w := t.Add(-(t.Sub(zero) % slide)) // the latest window time at or before t
	var rdds []windowRDD[K, V]
	c.mu.Lock()
	handed, gen := c.handed, c.gen
	c.mu.Unlock()
	collect := func(s *stream[T], at time.Time, window bool) error {
		slot := windowSlot{at.UnixNano(), window}
		if handed[slot] {
			rdds = append(rdds, windowRDD[K, V]{slot: slot, keep: true})
			return nil
		}
		r, err := s.getOrCompute(at)
		if err != nil || r == nil {
			return err
		}
		pairs, err := c.toPairs(r).Collect(ctx)
		if err != nil {
			return err
		}
		rdds = append(rdds, windowRDD[K, V]{slot: slot, pairs: pairs})
		return nil
	}
	if w.After(zero) {
		if err := collect(c.out, w, true); err != nil {
			return nil, err
		}
	}
	for b := w.Add(-c.window + parentSlide); !b.After(t); b = b.Add(parentSlide) {
		if !b.After(zero) {
			continue
		}
		if err := collect(c.reduced, b, false); err != nil {
			return nil, err
		}
	}
	return func(id string) (checkpoint.StateSnapshot, error) {
		snap := checkpoint.StateSnapshot{StreamID: id, Segments: make([]checkpoint.Segment, 0, len(rdds))}
		now := make(map[windowSlot]bool, len(rdds))
		for _, wr := range rdds {
			seg := checkpoint.Segment{Name: wr.slot.name(), Keep: wr.keep}
			if !wr.keep {
				var err error
				if seg.Entries, err = encodeWindowRDD(wr); err != nil {
					return snap, fmt.Errorf("dstream: window checkpoint at %s, RDD of batch %s: %w", FormatTime(t), FormatTime(time.Unix(0, wr.slot.time)), err)
				}
			}
			snap.Segments = append(snap.Segments, seg)
			now[wr.slot] = true
		}
		c.mu.Lock()
		if c.gen == gen {
			c.handed = now
		}
		c.mu.Unlock()
		return snap, nil
	}, nil
}

// encodeWindowRDD encodes one RDD of a window checkpoint: a marker entry
// (so that an empty RDD is restored too), then its pairs.
func encodeWindowRDD[K comparable, V any](wr windowRDD[K, V]) (checkpoint.Entries, error) {
	// Every key is a windowKey that differs from the others only in its
	// last field: encode the others once, as a prefix.
	markerPrefix, err := checkpoint.KeyPrefix[K](windowKey[K]{Time: wr.slot.time, Window: wr.slot.window, Marker: true})
	if err != nil {
		return checkpoint.Entries{}, err
	}
	prefix, err := checkpoint.KeyPrefix[K](windowKey[K]{Time: wr.slot.time, Window: wr.slot.window})
	if err != nil {
		return checkpoint.Entries{}, err
	}
	enc := checkpoint.NewEntryEncoder[K, V](len(wr.pairs) + 1)
	enc.SetKeyPrefix(markerPrefix)
	var k K
	var v V
	if err := enc.Set(k, v); err != nil {
		return checkpoint.Entries{}, err
	}
	enc.SetKeyPrefix(prefix)
	for _, p := range wr.pairs {
		if err := enc.Set(p.Key, p.Value); err != nil {
			return checkpoint.Entries{}, err
		}
	}
	return enc.Entries(), nil
}

func (c *windowCheckpointer[T, K, V]) restore(scan ScanFunc, t time.Time) error {
	data := map[windowKey[K]]V{}
	err := scanDecoded(scan, func(k windowKey[K], v V, deleted bool) error {
		if deleted {
			delete(data, k)
		} else {
			data[k] = v
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The store that writes the next checkpoints has none of these yet.
	c.resetChanges()
	slots := map[windowSlot][]rdd.Pair[K, V]{}
	for k, v := range data {
		s := windowSlot{k.Time, k.Window}
		if k.Marker {
			if _, ok := slots[s]; !ok {
				slots[s] = nil // the RDD is restored even when it is empty
			}
			continue
		}
		slots[s] = append(slots[s], rdd.KV(k.Key, v))
	}
	for s, pairs := range slots {
		r := c.fromPairs(rdd.PartitionBy(rdd.Parallelize(pairs, c.part.NumPartitions()), rdd.WithPartitioner(c.part))).Persist()
		target := c.reduced
		if s.window {
			target = c.out
		}
		target.genMu.Lock()
		target.generated[s.time] = r
		target.genMu.Unlock()
	}
	return nil
}
