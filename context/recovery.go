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
// corrupt or truncated newest checkpoint is skipped, with a logged
// warning, for the previous one.
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
		if _, err := readGraphData(m); err != nil {
			return nil, fmt.Errorf("context: GetOrCreate %s: %w", dir, err)
		}
		ssc.ckpt.restoreFrom = m
	}
	return ssc, nil
}
