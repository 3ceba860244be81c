package rdd

import "sync"

// partitionCache keeps the computed partitions of a persisted RDD.
type partitionCache[T any] struct {
	mu    sync.Mutex
	parts [][]T
	done  []bool
}

func (c *partitionCache[T]) iterate(tc *taskContext, p int,
	compute func(*taskContext, int, func(T) bool) error, yield func(T) bool) error {
	c.mu.Lock()
	data, ok := c.parts[p], c.done[p]
	c.mu.Unlock()
	if !ok {
		// The whole partition is computed, even for an action that stops
		// early, so that what is cached is complete.
		var buf []T
		if err := compute(tc, p, func(x T) bool { buf = append(buf, x); return true }); err != nil {
			return err
		}
		c.mu.Lock()
		if !c.done[p] {
			c.parts[p], c.done[p] = buf, true
		}
		data = c.parts[p]
		c.mu.Unlock()
	}
	return yieldAll(tc, data, yield)
}

// Persist keeps each partition in memory the first time an action computes
// it, so later actions and dependent RDDs reuse it instead of recomputing the
// lineage. Spark's persist(MEMORY_ONLY); there is one storage level. It
// returns r.
func (r *RDD[T]) Persist() *RDD[T] {
	r.cache.CompareAndSwap(nil, &partitionCache[T]{parts: make([][]T, r.lin.parts), done: make([]bool, r.lin.parts)})
	return r
}

// Cache is Persist.
func (r *RDD[T]) Cache() *RDD[T] { return r.Persist() }

// Unpersist releases the cached partitions; later actions recompute them.
func (r *RDD[T]) Unpersist() *RDD[T] {
	r.cache.Store(nil)
	return r
}

// IsPersisted reports whether Persist was called and not undone.
func (r *RDD[T]) IsPersisted() bool { return r.cache.Load() != nil }

func (r *RDD[T]) fullyCached() bool {
	c := r.cache.Load()
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range c.done {
		if !d {
			return false
		}
	}
	return true
}
