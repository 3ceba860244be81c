package context

import "github.com/sluice-io/sluice/checkpoint"

// WithoutCheckpointWrites makes ssc, whose checkpoint directory is set,
// write no checkpoints at all: the baseline of the checkpoint benchmarks.
func WithoutCheckpointWrites(ssc *StreamingContext) { ssc.ckpt = nil }

// CheckpointStats returns what the checkpoint store of ssc has written.
func CheckpointStats(ssc *StreamingContext) checkpoint.Stats { return ssc.ckpt.store.Stats() }
