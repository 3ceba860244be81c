package checkpoint

import "github.com/hashicorp/go-hclog"

// Option configures a [Store] at [Open].
type Option interface{ apply(*config) }

type config struct {
	retain    int
	fullEvery int
	logger    hclog.Logger
}

func defaultConfig() config {
	return config{retain: 10, logger: hclog.Default().Named("checkpoint")}
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithRetain keeps the newest n metadata checkpoints (and the state files
// they refer to), removing older ones after each write. Default 10; n below
// 1 counts as 1. More than one lets recovery fall back past a corrupt file.
func WithRetain(n int) Option {
	return optionFunc(func(c *config) { c.retain = max(n, 1) })
}

// WithFullSnapshotEvery writes a full snapshot of a stream's state every n
// state checkpoints of that stream, and deltas in between, so restoring reads
// one full snapshot and at most n-1 deltas; n of 1 or below writes a full
// snapshot every time. By default a full snapshot is written instead when
// the deltas since the last one would hold more entries than it does, which
// keeps both the writing and the restoring cost proportional to the data,
// whatever the state's size; a fixed period costs a whole-state rewrite
// every n checkpoints however little changed.
func WithFullSnapshotEvery(n int) Option {
	return optionFunc(func(c *config) { c.fullEvery = max(n, 1) })
}

// WithLogger sets the logger for warnings (a corrupt file skipped on read, a
// failed removal, a failed background write). Default hclog.Default() named
// "checkpoint"; nil means hclog.NewNullLogger().
func WithLogger(l hclog.Logger) Option {
	return optionFunc(func(c *config) {
		if l == nil {
			l = hclog.NewNullLogger()
		}
		c.logger = l
	})
}
