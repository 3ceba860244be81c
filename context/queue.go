package context

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/rdd"
)

// Queue is a thread-safe queue of RDDs that a queue stream takes from, one
// or all per batch. Tests and programs push into it while the context runs.
type Queue[T any] struct {
	mu    sync.Mutex
	items []queued[T]
	taken int64 // how many items batches have taken, for checkpoints
	skip  int64 // items to drop before taking, restored from a checkpoint (positions.go)
}

type queued[T any] struct {
	r       *rdd.RDD[T]
	records int64 // -1 when unknown
}

// NewQueue returns an empty queue.
func NewQueue[T any]() *Queue[T] { return &Queue[T]{} }

// Push appends an RDD.
func (q *Queue[T]) Push(r *rdd.RDD[T]) {
	q.mu.Lock()
	q.items = append(q.items, queued[T]{r, -1})
	q.mu.Unlock()
}

// PushSlice appends the RDD of data in numSlices partitions (1 if less).
// Its record count is reported in the batch's BatchInfo.
func (q *Queue[T]) PushSlice(data []T, numSlices int) {
	q.mu.Lock()
	q.items = append(q.items, queued[T]{rdd.Parallelize(data, numSlices), int64(len(data))})
	q.mu.Unlock()
}

// Len returns the number of RDDs waiting.
func (q *Queue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// Taken returns how many RDDs batches have taken from the queue so far.
func (q *Queue[T]) Taken() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.taken
}

// take removes one item, or all of them.
func (q *Queue[T]) take(all bool) []queued[T] {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.skipTaken()
	n := min(len(q.items), 1)
	if all {
		n = len(q.items)
	}
	out := append([]queued[T](nil), q.items[:n]...)
	clear(q.items[:n])
	q.items = q.items[n:]
	q.taken += int64(n)
	return out
}

// queueSource is the input side of a queue stream.
type queueSource[T any] struct {
	q          *Queue[T]
	oneAtATime bool
	defaultRDD *rdd.RDD[T]
	positions  queuePositions // positions.go
}

func (s *queueSource[T]) Compute(t time.Time) (*rdd.RDD[T], int64, error) {
	items := s.q.take(!s.oneAtATime)
	s.positions.record(t, s.q.Taken())
	if len(items) == 0 {
		if s.defaultRDD != nil {
			return s.defaultRDD, -1, nil
		}
		return rdd.Empty[T](), 0, nil
	}
	rdds := make([]*rdd.RDD[T], len(items))
	var records int64
	for i, it := range items {
		rdds[i] = it.r
		if it.records < 0 || records < 0 {
			records = -1
		} else {
			records += it.records
		}
	}
	if len(rdds) == 1 {
		return rdds[0], records, nil
	}
	return rdd.Union(rdds...), records, nil
}

// ConsumesInput marks the queue source as dstream.Consuming: a batch takes
// the queue's next item.
func (s *queueSource[T]) ConsumesInput() {}

func (s *queueSource[T]) Start(context.Context) error { return nil }
func (s *queueSource[T]) Stop(bool)                   {}
func (s *queueSource[T]) Pending() bool               { return s.q.Len() > 0 }

// QueueStream returns an input stream that takes RDDs from q, Spark's
// queueStream: with oneAtATime one RDD per batch, else every queued RDD
// united. A batch with nothing queued gets an empty RDD, or the one
// WithDefaultRDD gives. A graceful Stop runs batches until q is empty. A nil
// q is refused: Start returns an error wrapping dstream.ErrInvalidStream.
func QueueStream[T any](ssc *StreamingContext, q *Queue[T], oneAtATime bool, opts ...QueueOption[T]) dstream.DStream[T] {
	if q == nil {
		ssc.graph.RecordError(fmt.Errorf("context: QueueStream: %w: the queue is nil: make one with NewQueue", dstream.ErrInvalidStream))
		q = NewQueue[T]() // the stream never runs: Start fails
	}
	src := &queueSource[T]{q: q, oneAtATime: oneAtATime}
	for _, o := range opts {
		if o != nil {
			o(src)
		}
	}
	return NewInputStream[T](ssc, "QueueInputStream", src)
}

// QueueOption configures a QueueStream.
type QueueOption[T any] func(*queueSource[T])

// WithDefaultRDD makes the batches that find the queue empty get r, Spark's
// queueStream defaultRDD; without it they get an empty RDD.
func WithDefaultRDD[T any](r *rdd.RDD[T]) QueueOption[T] {
	return func(s *queueSource[T]) { s.defaultRDD = r }
}
