package dstream

import (
	"sync"
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

// Consuming marks a Source whose Compute takes what it returns from a
// store of input (a queue's next item, a receiver's blocks, Kafka's next
// offset ranges): asked for a batch time already past, it would hand that
// time the next batch's data. NewInputStream asks such a source once per
// batch time, in increasing order, and never for a time at or before the
// recovery point RestoreData restored. A window without an inverse
// recomputes its input there after a restart, and an RDD forgotten may be
// asked for again: such a time gets what the newest time asked got, or an
// empty RDD, as Spark's receiver streams give nothing for times before
// their start. A Source that can compute any batch time again (a file
// stream remembering the files each batch took) does not implement it.
type Consuming interface {
	ConsumesInput()
}

// NewInputStream registers an input stream of kind (e.g. "QueueInputStream")
// that produces src's RDD at every batch time (see Consuming for a source
// that takes its data). Constructors of input streams in the context
// package build on it.
func NewInputStream[T any](g *Graph, kind string, src Source[T]) DStream[T] {
	var d DStream[T]
	_, consuming := src.(Consuming)
	var mu sync.Mutex
	var newest time.Time // the latest time src computed, and its RDD
	var newestRDD *rdd.RDD[T]
	d = newStream(g, kind, g.batchInterval, nil, func(t time.Time) (*rdd.RDD[T], error) {
		mu.Lock()
		defer mu.Unlock()
		if consuming && (!t.After(newest) || !t.After(g.RestoredThrough())) {
			if t.Equal(newest) {
				return newestRDD, nil
			}
			return rdd.Empty[T](), nil
		}
		r, n, err := src.Compute(t)
		if err != nil {
			return nil, err
		}
		newest, newestRDD = t, r
		if n >= 0 {
			g.recordInput(t, d.s.id, n)
		}
		return r, nil
	})
	return d
}
