package dstream

import (
	"slices"
	"time"

	"github.com/sluice-io/sluice/rdd"
)

// GeneratedTimes returns, for tests, the batch times (in ms) at which d
// still remembers a generated RDD, sorted.
func GeneratedTimes[T any](d DStream[T]) []int64 {
	d.s.genMu.Lock()
	defer d.s.genMu.Unlock()
	out := make([]int64, 0, len(d.s.generated))
	for k := range d.s.generated {
		out = append(out, k/1e6)
	}
	slices.Sort(out)
	return out
}

// GeneratedCount returns how many RDDs d remembers.
func GeneratedCount[T any](d DStream[T]) int { return d.s.generatedCount() }

// NewSlidingInput returns, for tests, an input stream of empty RDDs that
// slides every slide instead of every batch interval, standing in for a
// windowed stream.
func NewSlidingInput[T any](g *Graph, slide time.Duration) DStream[T] {
	return newStream(g, "TestInputStream", slide, nil, func(time.Time) (*rdd.RDD[T], error) { return rdd.Empty[T](), nil })
}
