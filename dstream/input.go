package dstream

import (
	"time"

	"github.com/sluice-io/sluice/rdd"
)

// Source produces an input stream's RDD at each batch time. The context
// package implements it for queues, receivers, directories and Kafka.
type Source[T any] interface {
	// Compute returns the RDD of the batch at batchTime and how many records
	// it holds, or -1 when that is not known without computing it.
	Compute(batchTime time.Time) (*rdd.RDD[T], int64, error)
}

// SourceFunc adapts a function to Source.
type SourceFunc[T any] func(batchTime time.Time) (*rdd.RDD[T], int64, error)

// Compute calls f.
func (f SourceFunc[T]) Compute(t time.Time) (*rdd.RDD[T], int64, error) { return f(t) }

// NewInputStream registers an input stream of kind (e.g. "QueueInputStream")
// that produces src's RDD at every batch time. Constructors of input streams
// in the context package build on it.
func NewInputStream[T any](g *Graph, kind string, src Source[T]) DStream[T] {
	var d DStream[T]
	d = newStream(g, kind, g.batchInterval, nil, func(t time.Time) (*rdd.RDD[T], error) {
		r, n, err := src.Compute(t)
		if err != nil {
			return nil, err
		}
		if n >= 0 {
			g.recordInput(t, d.s.id, n)
		}
		return r, nil
	})
	return d
}
