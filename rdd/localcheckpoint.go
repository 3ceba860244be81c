package rdd

import (
	"context"
	"fmt"
	"sync"
)

// LocalCheckpoint returns an RDD with r's elements, partitions and
// partitioning whose lineage ends at itself once computed: the first job
// that needs it computes every partition of r (reading r's cache when r is
// persisted, without copying), keeps the partitions in memory and drops its
// reference to r, so r and everything r depends on can be
// garbage-collected. It is Spark's localCheckpoint, returning a new RDD
// instead of marking r; streaming uses it to keep the lineage of an
// incrementally updated RDD (a window computed from the previous window)
// from growing with every batch.
func (r *RDD[T]) LocalCheckpoint() *RDD[T] {
	s := &checkpointStage[T]{parent: r}
	out := newRDD("LocalCheckpoint", r.lin.parts, nil, []shuffleStage{s}, s.read)
	out.lin.partitioner = r.lin.partitioner
	return out
}

// checkpointStage is the dependency of a local checkpoint on the RDD it
// copies. It behaves as a shuffle stage so that the scheduler materialises
// it before any task reads it, after which it forgets the parent.
type checkpointStage[T any] struct {
	build  stageLock  // held while materialising
	mu     sync.Mutex // guards parent and parts
	parent *RDD[T]    // nil once materialised
	parts  [][]T
}

// checkpointed stands in for the parent of a materialised checkpoint: a
// node with no lineage, so the scheduler's walk stops there.
var checkpointed node = Empty[struct{}]()

func (s *checkpointStage[T]) parentNode() node {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.parent == nil {
		return checkpointed
	}
	return s.parent
}

func (s *checkpointStage[T]) materialize(ctx context.Context, ex *Executor) error {
	if err := s.build.lock(ctx); err != nil {
		return err
	}
	defer s.build.unlock()
	s.mu.Lock()
	parent := s.parent
	s.mu.Unlock()
	if parent == nil {
		return nil
	}
	parts := make([][]T, parent.lin.parts)
	err := ex.run(ctx, len(parts), func(ctx context.Context, p int) error {
		return runTask(ctx, parent.op(), p, func(tc *taskContext) error {
			if c := parent.cache.Load(); c != nil {
				// Fill the cache if needed, then share its partition: cached
				// partitions are never modified once complete.
				if err := c.iterate(tc, p, parent.compute, func(T) bool { return false }); err != nil {
					return err
				}
				c.mu.Lock()
				parts[p] = c.parts[p]
				c.mu.Unlock()
				return nil
			}
			var buf []T
			err := parent.compute(tc, p, func(x T) bool { buf = append(buf, x); return true })
			parts[p] = buf
			return err
		})
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.parts, s.parent = parts, nil
	s.mu.Unlock()
	return nil
}

func (s *checkpointStage[T]) read(tc *taskContext, p int, yield func(T) bool) error {
	s.mu.Lock()
	parts := s.parts
	s.mu.Unlock()
	if parts == nil { // cannot happen: every job materialises its stages first
		return fmt.Errorf("rdd: LocalCheckpoint: partition %d read before the checkpoint was computed", p)
	}
	return yieldAll(tc, parts[p], yield)
}
