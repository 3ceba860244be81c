package checkpoint

import (
	"fmt"
	"sync"
	"time"
)

// AsyncWriter writes checkpoints on one background goroutine, off the batch
// path, like Spark's CheckpointWriter: [AsyncWriter.Submit] only enqueues,
// so a batch never waits for a disk. Checkpoints are written in the order
// submitted. [AsyncWriter.Close] waits for the queue to drain and the
// goroutine to exit.
type AsyncWriter struct {
	store  *Store
	jobs   chan asyncJob
	done   chan struct{}
	onDone func(*Checkpoint, error)

	mu     sync.Mutex
	closed bool
	err    error // the first write error
}

type asyncJob struct {
	c       *Checkpoint
	dropped map[string]changeSet // changes of checkpoints dropped before c
}

// NewAsyncWriter starts a writer with room for queue checkpoints (at least
// 1) waiting behind the one being written. onDone, if not nil, is called on
// the writer's goroutine after each write with its error (nil once the
// checkpoint is durable); it must not call Submit or Close.
func (s *Store) NewAsyncWriter(queue int, onDone func(c *Checkpoint, err error)) *AsyncWriter {
	w := &AsyncWriter{
		store:  s,
		jobs:   make(chan asyncJob, max(queue, 1)),
		done:   make(chan struct{}),
		onDone: onDone,
	}
	go w.run()
	return w
}

func (w *AsyncWriter) run() {
	defer close(w.done)
	for j := range w.jobs {
		err := w.store.write(j.c, j.dropped)
		if err != nil {
			w.store.cfg.logger.Warn("background checkpoint write failed", "error", err)
			w.mu.Lock()
			if w.err == nil {
				w.err = err
			}
			w.mu.Unlock()
		}
		if w.onDone != nil {
			w.onDone(j.c, err)
		}
	}
}

// Submit queues c for writing and returns at once. c, its metadata and its
// snapshots must not be changed afterwards. When the queue is full, c is
// dropped and the error wraps [ErrQueueFull]; its changed keys are kept and
// written with the stream's next snapshot submitted, so deltas stay complete. After
// Close the error wraps [ErrClosed].
func (w *AsyncWriter) Submit(c *Checkpoint) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	when := ""
	if c.Metadata != nil {
		when = c.Metadata.Time.UTC().Format(time.RFC3339Nano)
	}
	if w.closed {
		return fmt.Errorf("checkpoint: Submit batch %s: %w", when, ErrClosed)
	}
	// The changes of checkpoints dropped before go with this one, or back
	// if this one is dropped too.
	job := asyncJob{c: c, dropped: w.store.takeDropped()}
	select {
	case w.jobs <- job:
		return nil
	default:
		w.store.addDropped(job.dropped, c)
		return fmt.Errorf("checkpoint: Submit batch %s: %w (%d waiting)", when, ErrQueueFull, cap(w.jobs))
	}
}

// Close writes the checkpoints still queued, stops the goroutine, removes
// the deltas written ahead that no checkpoint committed ([Store.DropAhead])
// and returns the first write error since the writer started, if any.
// Calling it again returns the same.
func (w *AsyncWriter) Close() error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.jobs)
	}
	w.mu.Unlock()
	<-w.done
	w.store.DropAhead()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
