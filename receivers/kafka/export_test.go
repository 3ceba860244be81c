package kafka

import (
	"slices"
	"testing"
	"time"
)

// WithTxnHook runs hook at each step of a transaction ("produced",
// "offsets"); returning ErrCrash simulates a process killed there.
func WithTxnHook(hook func(step string) error) TxnOption {
	return txnOptionFunc(func(c *txnConfig) { c.hook = hook })
}

// ErrCrash is the error a hook returns to simulate a crash.
var ErrCrash = errCrash

// MaxMessagesPerPartition exposes the rate computation.
var MaxMessagesPerPartition = maxMessagesPerPartition

// WithStopHook runs hook each time the stream's Stop returns, with its
// argument.
func WithStopHook(hook func(graceful bool)) Option {
	return optionFunc(func(c *config) { c.stopHook = hook })
}

// RememberGenerated records the ranges of a batch as its generation does.
func (s *DirectStream[K, V]) RememberGenerated(batchTime time.Time, ranges []OffsetRange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rememberGenerated(batchTime, ranges)
}

// MaxGeneratedBatches exposes the bound without checkpoints.
const MaxGeneratedBatches = maxGeneratedBatches

// GeneratedBatch is a batch GeneratedPositions names.
type GeneratedBatch struct {
	Time   time.Time
	Ranges []OffsetRange
}

// DecodeGenerated decodes what GeneratedPositions returned, in batch order.
func DecodeGenerated(t *testing.T, b []byte) []GeneratedBatch {
	t.Helper()
	replay, _, err := decodeGenerated(b)
	if err != nil {
		t.Fatal(err)
	}
	var out []GeneratedBatch
	for tn, ranges := range replay {
		out = append(out, GeneratedBatch{time.Unix(0, tn), ranges})
	}
	slices.SortFunc(out, func(a, b GeneratedBatch) int { return a.Time.Compare(b.Time) })
	return out
}
