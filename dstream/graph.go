package dstream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Graph is the set of streams of one streaming context: the input streams,
// the transformations between them and the output operations that become a
// batch's jobs. The context package owns one; user code reaches it only
// through the streams it builds.
type Graph struct {
	mu            sync.Mutex
	batchInterval time.Duration
	logger        hclog.Logger
	streams       []node
	outputs       []*outputStream
	remember      time.Duration
	started       bool
	zeroTime      time.Time
	restored      time.Time // the recovery point of RestoreData, if any
	errs          []error
	inputRecords  map[int64]map[int]int64 // batch time → input stream ID → records
	checkpointing bool                    // the context has a checkpoint directory (checkpoint.go)
}

// NewGraph returns an empty graph for batches of the given interval.
func NewGraph(batchInterval time.Duration, logger hclog.Logger) *Graph {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Graph{batchInterval: batchInterval, logger: logger, inputRecords: map[int64]map[int]int64{}}
}

// BatchInterval returns the graph's batch interval.
func (g *Graph) BatchInterval() time.Duration { return g.batchInterval }

// Logger returns the graph's logger.
func (g *Graph) Logger() hclog.Logger { return g.logger }

// Err returns the errors recorded while the graph was built (invalid
// durations, streams added after start, ...), joined, or nil.
func (g *Graph) Err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return errors.Join(g.errs...)
}

// fail records a construction error.
func (g *Graph) fail(err error) {
	g.mu.Lock()
	g.errs = append(g.errs, err)
	g.mu.Unlock()
	g.logger.Error("invalid stream", "error", err)
}

// register adds a new stream and returns its ID; after start it records
// ErrStarted and the stream never runs.
func (g *Graph) register(n node) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.started {
		err := fmt.Errorf("dstream: %s: %w", n.info().kind, ErrStarted)
		g.errs = append(g.errs, err)
		g.logger.Error("stream added after start", "error", err)
		return -1
	}
	g.streams = append(g.streams, n)
	return len(g.streams) - 1
}

// Remember makes every stream keep its generated RDDs for at least d,
// Spark's StreamingContext.remember.
func (g *Graph) Remember(d time.Duration) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.started {
		return fmt.Errorf("dstream: Remember: %w", ErrStarted)
	}
	g.remember = d
	return nil
}

// Start validates the graph and fixes its zero time, the time before the
// first batch: batches fall at zeroTime + k × batch interval for k ≥ 1.
func (g *Graph) Start(zeroTime time.Time) error {
	g.mu.Lock()
	if len(g.errs) > 0 {
		err := errors.Join(g.errs...)
		g.mu.Unlock()
		return err
	}
	if len(g.outputs) == 0 {
		g.mu.Unlock()
		return ErrNoOutputs
	}
	g.started, g.zeroTime = true, zeroTime
	outputs := g.outputs
	remember := g.remember
	g.mu.Unlock()
	for _, o := range outputs {
		o.initialize(zeroTime)
	}
	for _, o := range outputs {
		o.rememberFor(remember)
	}
	var err error
	seen := map[node]bool{} // each stream once, however many paths lead to it
	for _, o := range outputs {
		if err = validateTree(o, seen); err != nil {
			break
		}
	}
	if err == nil {
		err = g.validateCheckpoints()
	}
	if err != nil {
		// Refused: the graph is as before Start, so the caller may fix it
		// (a checkpoint directory, more streams) and start again.
		for _, o := range outputs {
			uninitialize(o)
		}
		g.mu.Lock()
		g.started, g.zeroTime = false, time.Time{}
		g.mu.Unlock()
	}
	return err
}

// uninitialize undoes initialize on n and its ancestors, for a Start that
// was refused.
func uninitialize(n node) {
	in := n.info()
	in.mu.Lock()
	was := in.ready
	in.ready = false
	in.mu.Unlock()
	if was {
		for _, p := range in.parents {
			uninitialize(p)
		}
	}
}

// Started reports whether Start succeeded.
func (g *Graph) Started() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.started
}

// RestoredThrough returns the batch time as of which RestoreData restored
// the streams' data, the zero time when it did not run.
func (g *Graph) RestoredThrough() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.restored
}

// ZeroTime returns the time fixed by Start.
func (g *Graph) ZeroTime() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.zeroTime
}

// Job is one output operation's work for one batch.
type Job struct {
	Time     time.Time
	OutputID int    // the output operation's index, in registration order
	Name     string // the output operation, e.g. "ForeachRDD" or "Print"
	run      func(ctx context.Context) error
}

// GenerateJobs computes the RDDs of batch time t and returns the jobs of
// every output operation that has an RDD at t, in registration order, and
// the records each input stream contributed. An error (a panicking
// transform, a missing parent RDD) names the stream and the batch time.
func (g *Graph) GenerateJobs(t time.Time) ([]Job, map[int]int64, error) {
	g.mu.Lock()
	outputs := g.outputs
	g.mu.Unlock()
	var jobs []Job
	for _, o := range outputs {
		job, ok, err := o.generateJob(t)
		if err != nil {
			return nil, g.takeInputRecords(t), err
		}
		if ok {
			jobs = append(jobs, job)
		}
	}
	return jobs, g.takeInputRecords(t), nil
}

func (g *Graph) recordInput(t time.Time, stream int, n int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.inputRecords[t.UnixNano()]
	if m == nil {
		m = map[int]int64{}
		g.inputRecords[t.UnixNano()] = m
	}
	m[stream] += n
}

// takeInputRecords returns the records each input stream contributed at
// batch time t, and forgets those of t and of earlier batches: an input
// computed after its own batch (by a window that reaches back to it, say)
// is recorded under a batch whose figures were already taken, as in Spark,
// whose input info tracker drops them too.
func (g *Graph) takeInputRecords(t time.Time) map[int]int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.inputRecords[t.UnixNano()]
	for bt := range g.inputRecords {
		if bt <= t.UnixNano() {
			delete(g.inputRecords, bt)
		}
	}
	return m
}

// ClearMetadata forgets the RDDs each stream generated at or before
// t minus its remember duration, Spark's clearMetadata after a batch.
func (g *Graph) ClearMetadata(t time.Time) {
	g.mu.Lock()
	outputs := g.outputs
	g.mu.Unlock()
	seen := map[node]bool{}
	for _, o := range outputs {
		clearTree(o, t, seen)
	}
}

func clearTree(n node, t time.Time, seen map[node]bool) {
	if seen[n] {
		return
	}
	seen[n] = true
	n.clearOld(t)
	for _, p := range n.info().parents {
		clearTree(p, t, seen)
	}
}

func validateTree(n node, seen map[node]bool) error {
	if seen[n] {
		return nil
	}
	seen[n] = true
	if err := n.validate(); err != nil {
		return err
	}
	for _, p := range n.info().parents {
		if err := validateTree(p, seen); err != nil {
			return err
		}
	}
	return nil
}

// Streams returns the identity of every stream in creation order: the
// graph's fingerprint for checkpoints.
func (g *Graph) Streams() []StreamInfo {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]StreamInfo, len(g.streams))
	for i, s := range g.streams {
		in := s.info()
		out[i] = StreamInfo{ID: in.id, Kind: in.kind, Name: in.streamName()}
	}
	return out
}

// StreamInfo is the stable identity of a stream: its creation index, its
// kind (the operation that made it) and the name the user gave it.
type StreamInfo struct {
	ID   int
	Kind string
	Name string
}

// FormatTime formats a batch time as Spark does: "<ms> ms".
func FormatTime(t time.Time) string { return fmt.Sprintf("%d ms", t.UnixMilli()) }

// Run executes the job: the output operation's function on the batch's RDD.
// A panic in user code becomes an error naming the operation and batch time.
func (j Job) Run(ctx context.Context) error { return j.run(ctx) }

// RecordError records an error found while building the graph, such as an
// input stream that could not be set up; Start returns it.
func (g *Graph) RecordError(err error) { g.fail(err) }
