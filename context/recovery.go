package context

import (
	"errors"
	"fmt"
	"time"

	"github.com/sluice-io/sluice/checkpoint"
	"github.com/sluice-io/sluice/dstream"
)

// GetOrCreate returns a context that checkpoints to dir and, when dir holds
// a checkpoint, recovers from it: Spark's StreamingContext.getOrCreate.
// Go closures cannot be saved, so setup builds the graph every time (input
// streams, transformations, output operations), on a context with the
// checkpoint directory already set; it must build the same graph on every
// run. When dir holds a checkpoint, Start then restores, by each stream's
// stable identity (its name, else its creation index), the inputs'
// positions and the data of stateful and inverse-window streams as of the
// checkpoint's recovery point, and runs again, in order, the batches after
// it: the completed ones the data checkpoint did not cover, the pending
// ones (generated but not completed), and those that fell due while the
// program was down; then the clock goes on as usual, on the same batch
// times as before. State and windows thus come out as without the crash;
// outputs of re-run batches are written again (at least once: see
// dstream.SaveAsTextFiles and dstream.SavePartitionsOnce for sinks that
// skip them).
//
// A checkpoint taken with another batch interval or by a different graph
// is refused (ErrCheckpointMismatch, with the stream that differs). A
// corrupt or truncated newest checkpoint (or one naming a state file that
// is missing, cut short or extended) is skipped, with a logged warning, for
// the previous one; when none is usable, GetOrCreate fails with an error
// wrapping checkpoint.ErrCorrupt rather than start afresh without the state
// they held (remove the directory to start afresh). A well-formed newest checkpoint whose
// batch times do not fit together (its zero time, recovery point, own
// batch time, last completed and pending batches off the batch grid or
// out of order) is refused with an error wrapping checkpoint.ErrCorrupt
// that says what is inconsistent: the store, to which those times are
// opaque, has already chosen it, so it is not skipped.
func GetOrCreate(dir string, setup func(ssc *StreamingContext) error, batchInterval time.Duration, opts ...Option) (*StreamingContext, error) {
	ssc, err := NewStreamingContext(batchInterval, opts...)
	if err != nil {
		return nil, err
	}
	if err := ssc.Checkpoint(dir); err != nil {
		return nil, err
	}
	m, err := ssc.ckpt.store.LatestMetadata()
	switch {
	case errors.Is(err, checkpoint.ErrNoCheckpoint):
		m = nil
		ssc.cfg.logger.Info("no checkpoint to recover from; starting afresh", "dir", dir)
	case err != nil:
		return nil, fmt.Errorf("context: GetOrCreate %s: %w", dir, err)
	case m.BatchInterval != batchInterval:
		return nil, fmt.Errorf("context: GetOrCreate %s: %w: the checkpoint of batch %s was taken with batch interval %v, the program has %v",
			dir, ErrCheckpointMismatch, dstream.FormatTime(m.Time), m.BatchInterval, batchInterval)
	}
	if err := setup(ssc); err != nil {
		return nil, err
	}
	if m != nil {
		if err := m.CheckGraph(ssc.graph.Fingerprint()); err != nil {
			return nil, fmt.Errorf("context: GetOrCreate %s: %w: %w", dir, ErrCheckpointMismatch, err)
		}
		if _, err := checkGraphData(m); err != nil {
			return nil, fmt.Errorf("context: GetOrCreate %s: %w", dir, err)
		}
		ssc.ckpt.restoreFrom = m
	}
	return ssc, nil
}

// checkGraphData returns the graph data of m, a checkpoint to restore,
// after checking that its batch times fit together: the zero time Z, the
// recovery point R and the checkpoint's own time T satisfy Z <= R <= T,
// R and T lie on the batch grid (Z plus a multiple of the batch
// interval), and so do LastCompleted (between R and T) and every pending
// batch (after R, in increasing order). A restore from times that do not
// would run batches off the grid or skip some; the error wraps
// checkpoint.ErrCorrupt and names the checkpoint's batch time and the
// times that disagree.
func checkGraphData(m *checkpoint.Metadata) (graphData, error) {
	gd, err := readGraphData(m)
	if err != nil {
		return gd, err
	}
	zero, r := time.Unix(0, gd.ZeroTime).UTC(), time.Unix(0, gd.Recovery).UTC()
	interval := m.BatchInterval
	bad := func(format string, args ...any) (graphData, error) {
		return gd, fmt.Errorf("context: checkpoint of batch %s: graph data: %w: %s", dstream.FormatTime(m.Time), checkpoint.ErrCorrupt, fmt.Sprintf(format, args...))
	}
	onGrid := func(t time.Time) bool { // in int64: Sub saturates, and a corrupt zero time may be far off
		n := t.UnixNano()
		d := n - gd.ZeroTime
		return (d >= 0) == (n >= gd.ZeroTime) && d%int64(interval) == 0
	}
	if interval <= 0 {
		return bad("batch interval %v", interval)
	}
	switch {
	case r.Before(zero):
		return bad("recovery point %s is before the zero time %s", formatNanos(r), formatNanos(zero))
	case r.After(m.Time):
		return bad("recovery point %s is after the checkpoint's batch time", formatNanos(r))
	case !onGrid(r):
		return bad("recovery point %s is not on the batch grid of zero time %s and interval %v", formatNanos(r), formatNanos(zero), interval)
	case !onGrid(m.Time):
		return bad("the checkpoint's batch time is not on the batch grid of zero time %s and interval %v", formatNanos(zero), interval)
	case m.LastCompleted.Before(r) || m.LastCompleted.After(m.Time):
		return bad("last completed batch %s is not between the recovery point %s and the checkpoint's batch time", formatNanos(m.LastCompleted), formatNanos(r))
	case !onGrid(m.LastCompleted):
		return bad("last completed batch %s is not on the batch grid of zero time %s and interval %v", formatNanos(m.LastCompleted), formatNanos(zero), interval)
	}
	for i, p := range m.Pending {
		switch {
		case !p.After(r):
			return bad("pending batch %s is not after the recovery point %s", formatNanos(p), formatNanos(r))
		case !onGrid(p):
			return bad("pending batch %s is not on the batch grid of zero time %s and interval %v", formatNanos(p), formatNanos(zero), interval)
		case i > 0 && !p.After(m.Pending[i-1]):
			return bad("pending batch %s is not after the pending batch %s before it", formatNanos(p), formatNanos(m.Pending[i-1]))
		}
	}
	return gd, nil
}

// formatNanos formats a batch time read from a checkpoint, which need not
// fall on a millisecond, as dstream.FormatTime does when it does.
func formatNanos(t time.Time) string {
	if t.IsZero() {
		return "(none)"
	}
	if t.UnixNano()%int64(time.Millisecond) == 0 {
		return dstream.FormatTime(t)
	}
	return fmt.Sprintf("%d ns", t.UnixNano())
}
