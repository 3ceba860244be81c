package checkpoint

import (
	"fmt"
	"math"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// Metadata is the checkpoint written after every batch, Spark's
// Checkpoint object: enough to rebuild the job schedule and the inputs'
// positions after a crash. It holds no closures; recovery re-runs the user's
// setup and restores into its streams by [StreamIdentity.ID].
//
// Times are stored as UTC unix nanoseconds; a zero [time.Time] round-trips
// as zero.
type Metadata struct {
	// FormatVersion is the version the file was written with. Set by the
	// store on write; on read it is at most [FormatVersion].
	FormatVersion uint16
	// Time is the batch time this checkpoint was taken for; it names the
	// file, so writing twice for one batch time (at generation and at
	// completion, as Spark does) replaces the first. Must not be before
	// 1970.
	Time time.Time
	// BatchInterval is the StreamingContext's batch interval.
	BatchInterval time.Duration
	// Streams is the graph's fingerprint, in the order the graph lists its
	// streams; see [Metadata.CheckGraph].
	Streams []StreamIdentity
	// LastCompleted is the time of the last batch whose jobs all finished.
	LastCompleted time.Time
	// Pending lists batches generated but not completed, to be re-run on
	// recovery, in time order.
	Pending []time.Time
	// Inputs holds each input stream's position by stream ID (a queue
	// position, the files already taken, Kafka offsets), opaque to the store.
	Inputs map[string][]byte
	// Data holds small per-stream data by stream ID, opaque to the store
	// (for example the batch times a window stream holds). Large keyed data
	// belongs in state files, written incrementally.
	Data map[string][]byte
	// State tells which state files belong to this checkpoint, by stream ID.
	// [Store.Write] fills it in; read it back with [Store.ReadState].
	State map[string]StateRef
}

// StreamIdentity is one stream of the graph's fingerprint.
type StreamIdentity struct {
	ID   string `msgpack:"id"`   // stable identity, the same on every run of the same setup
	Kind string `msgpack:"kind"` // the operation, e.g. "ReduceByKeyAndWindow"
	Name string `msgpack:"name"` // the user's name for it, if any; informative only
}

// StateRef names the state files of one stream in one checkpoint: the full
// snapshot and the deltas written after it, oldest first (in a rolling chain,
// see [StateSnapshot.Base], there may be deltas alone), or, for a stream
// checkpointed as segments (see [StateSnapshot.Segments]), its segments.
// File names are inside the stream's state directory, opaque to callers.
type StateRef struct {
	Full     string       `msgpack:"full"`
	Deltas   []string     `msgpack:"deltas,omitempty"`
	Segments []SegmentRef `msgpack:"segments,omitempty"`
}

// SegmentRef is one segment of a [StateRef]: the caller's name for it and
// the file that holds it.
type SegmentRef struct {
	Name string `msgpack:"name"`
	File string `msgpack:"file"`
}

// segmented reports whether the reference is to segments, not to a chain of
// a full snapshot and deltas (or, in a rolling chain, deltas alone).
func (r StateRef) segmented() bool { return len(r.Segments) > 0 }

// files returns every file the reference names, in reading order.
func (r StateRef) files() []string {
	var out []string
	if r.Full != "" {
		out = append(out, r.Full)
	}
	out = append(out, r.Deltas...)
	for _, sg := range r.Segments {
		out = append(out, sg.File)
	}
	return out
}

// CheckGraph returns an error wrapping [ErrGraphMismatch] when streams, the
// fingerprint of the graph the user's setup built, differs from the one this
// checkpoint was taken by: a different count, or a stream whose ID or kind
// differs at some position. Names are not compared.
func (m *Metadata) CheckGraph(streams []StreamIdentity) error {
	for i := range max(len(streams), len(m.Streams)) {
		switch {
		case i >= len(m.Streams):
			return fmt.Errorf("%w: the graph has stream %d %s (%s) that checkpoint %s does not", ErrGraphMismatch, i, streams[i].ID, streams[i].Kind, m.Time.Format(time.RFC3339Nano))
		case i >= len(streams):
			return fmt.Errorf("%w: checkpoint %s has stream %d %s (%s) that the graph does not", ErrGraphMismatch, m.Time.Format(time.RFC3339Nano), i, m.Streams[i].ID, m.Streams[i].Kind)
		case streams[i].ID != m.Streams[i].ID || streams[i].Kind != m.Streams[i].Kind:
			return fmt.Errorf("%w: stream %d is %s (%s) in the graph but %s (%s) in checkpoint %s", ErrGraphMismatch, i, streams[i].ID, streams[i].Kind, m.Streams[i].ID, m.Streams[i].Kind, m.Time.Format(time.RFC3339Nano))
		}
	}
	return nil
}

// metadataWire is the msgpack form of Metadata: short keys, times as int64
// unix nanoseconds, so the format does not depend on msgpack's time
// extension or on the local time zone.
type metadataWire struct {
	Time          int64               `msgpack:"t"`
	BatchInterval int64               `msgpack:"interval"`
	Streams       []StreamIdentity    `msgpack:"streams"`
	LastCompleted int64               `msgpack:"last"`
	Pending       []int64             `msgpack:"pending"`
	Inputs        map[string][]byte   `msgpack:"inputs"`
	Data          map[string][]byte   `msgpack:"data"`
	State         map[string]StateRef `msgpack:"state"`
}

const zeroTime = math.MinInt64

func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return zeroTime
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == zeroTime {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func encodeMetadata(m *Metadata) ([]byte, error) {
	w := metadataWire{
		Time:          toNanos(m.Time),
		BatchInterval: int64(m.BatchInterval),
		Streams:       m.Streams,
		LastCompleted: toNanos(m.LastCompleted),
		Inputs:        m.Inputs,
		Data:          m.Data,
		State:         m.State,
	}
	for _, p := range m.Pending {
		w.Pending = append(w.Pending, toNanos(p))
	}
	f := newFrameBuffer(256)
	enc := msgpack.NewEncoder(f)
	enc.SetSortMapKeys(true)
	if err := enc.Encode(&w); err != nil {
		return nil, err
	}
	return f.finish(), nil
}

// decodeMetadata decodes a whole metadata file. Errors do not name the file.
func decodeMetadata(data []byte) (*Metadata, error) {
	payload, err := decodeFrame(data)
	if err != nil {
		return nil, err
	}
	var w metadataWire
	if err := msgpack.Unmarshal(payload, &w); err != nil {
		return nil, fmt.Errorf("%w: metadata payload: %w", ErrCorrupt, err)
	}
	m := &Metadata{
		FormatVersion: FormatVersion,
		Time:          fromNanos(w.Time),
		BatchInterval: time.Duration(w.BatchInterval),
		Streams:       w.Streams,
		LastCompleted: fromNanos(w.LastCompleted),
		Inputs:        w.Inputs,
		Data:          w.Data,
		State:         w.State,
	}
	if w.Time < 0 {
		return nil, fmt.Errorf("%w: metadata has batch time %d before 1970", ErrCorrupt, w.Time)
	}
	for _, p := range w.Pending {
		m.Pending = append(m.Pending, fromNanos(p))
	}
	for id, ref := range m.State {
		if ref.segmented() == (ref.Full != "" || len(ref.Deltas) > 0) {
			return nil, fmt.Errorf("%w: stream %s has a state reference with neither or both of state files (a full snapshot, deltas) and segments", ErrCorrupt, id)
		}
		for _, name := range ref.files() {
			if !validStateFile(name) {
				return nil, fmt.Errorf("%w: stream %s refers to bad state file name %q", ErrCorrupt, id, name)
			}
		}
	}
	return m, nil
}
