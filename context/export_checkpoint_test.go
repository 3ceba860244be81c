package context

// WithoutCheckpointWrites makes ssc, whose checkpoint directory is set,
// write no checkpoints at all: the baseline of the checkpoint benchmarks.
func WithoutCheckpointWrites(ssc *StreamingContext) { ssc.ckpt = nil }
