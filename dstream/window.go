package dstream

import (
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/sluice-io/sluice/rdd"
)

// WithInverse gives a windowed reduction (ReduceByKeyAndWindow,
// ReduceByWindow) the inverse of its reduce function, Spark's invReduceFunc:
// inv(reduce(a, b), b) must equal a. With it each window is computed
// incrementally from the previous one, at a cost proportional to the data
// that enters and leaves the window rather than to the window's length.
// The default is no inverse: every window reduces all of its batches. Its
// type must be func(V, V) V for the operation's value type V; a mismatch
// is an error that Start reports.
func WithInverse[V any](inv func(V, V) V) Option {
	return optionFunc(func(c *opConfig) {
		c.set |= optInverse
		if inv == nil {
			c.inverse = nil
			return
		}
		c.inverse = inv
	})
}

// WithFilter makes ReduceByKeyAndWindow keep only the pairs for which keep
// returns true, Spark's filterFunc. With an inverse function a key whose
// value returns to the identity (a count of 0) stays in the window (while
// windows overlap or touch, slide ≤ window) unless the filter removes it; the filter must remove only such keys, as
// a removed key's value is forgotten. The default keeps every key. Its type
// must be func(rdd.Pair[K, V]) bool for the operation's K and V.
func WithFilter[K comparable, V any](keep func(rdd.Pair[K, V]) bool) Option {
	return optionFunc(func(c *opConfig) {
		c.set |= optFilter
		if keep == nil {
			c.filter = nil
			return
		}
		c.filter = keep
	})
}

// Window returns a stream whose RDD at each slide is the union of the
// parent's RDDs of the last window duration, Spark's window. The window
// and the slide must be multiples of d's slide; a slide of 0 means d's
// slide. The first windows are partial (they start at the first batch), and
// a slide longer than the window skips batches. The parent's RDDs are
// persisted and remembered for the window's length.
func (d DStream[T]) Window(window, slide time.Duration) DStream[T] {
	return windowed(d, "Window", window, slide)
}

// Window is the function form of d.Window.
func Window[T any](d DStream[T], window, slide time.Duration) DStream[T] {
	return d.Window(window, slide)
}

// windowed builds Spark's WindowedDStream of kind.
func windowed[T any](d DStream[T], kind string, window, slide time.Duration) DStream[T] {
	p := d.s
	window, slide = windowDurations(kind, false, p, window, slide)
	d.Persist()
	parentSlide := p.slide
	out := newStream(p.graph, kind, slide, []node{p}, func(t time.Time) (*rdd.RDD[T], error) {
		rs, err := d.Slice(t.Add(-window+parentSlide), t)
		if err != nil {
			return nil, err
		}
		return rdd.Union(rs...), nil
	})
	out.s.windowOver(window, false)
	return out
}

// windowDurations validates window and slide against the parent's slide
// with the messages of Spark's stream class: WindowedDStream, or
// ReducedWindowedDStream (the windowed reductions with an inverse), whose
// messages read "must be multiple" where the other's read "must be a
// multiple". Errors are recorded in the graph, so that Start returns them.
// A slide of 0 means the parent's slide. It returns durations the stream
// can be built with even when they are invalid.
func windowDurations(op string, reduced bool, parent node, window, slide time.Duration) (time.Duration, time.Duration) {
	in := parent.info()
	parentSlide := in.slide
	if slide == 0 {
		slide = parentSlide
	}
	class, multiple := "windowed DStream", "a multiple"
	if reduced {
		class, multiple = "ReducedWindowedDStream", "multiple"
	}
	bad := func(what string, d time.Duration, rule string) {
		in.graph.fail(fmt.Errorf("dstream: %s: %w: The %s duration of %s (%v) must be %s",
			op, ErrInvalidStream, what, class, d, rule))
	}
	ofParent := fmt.Sprintf("%s of the slide duration of parent DStream (%v)", multiple, parentSlide)
	switch {
	case window <= 0:
		bad("window", window, "positive")
		window = parentSlide
	case window%parentSlide != 0:
		bad("window", window, ofParent)
	}
	switch {
	case slide < 0:
		bad("slide", slide, "positive")
		slide = parentSlide
	case slide%parentSlide != 0:
		bad("slide", slide, ofParent)
		slide = parentSlide
	}
	return window, slide
}

// windowOver makes the stream's parents remember window more than the
// stream does, and marks the stream as one that must checkpoint.
func (in *streamInfo) windowOver(window time.Duration, mustCheckpoint bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.parentExtra = window
	in.mustCheckpoint = in.mustCheckpoint || mustCheckpoint
}

// windowPartitioner is the partitioner of a windowed keyed operation: the
// one the options give, else hash partitioning over GOMAXPROCS partitions,
// Spark's defaultPartitioner over defaultParallelism. A fixed partitioner
// keeps the per-batch, per-window and previous-window RDDs co-partitioned.
func windowPartitioner[K comparable](g *Graph, op string, c opConfig) rdd.Partitioner[K] {
	switch {
	case c.partitioner != nil:
		if p, ok := c.partitioner.(rdd.Partitioner[K]); ok {
			return p
		}
		g.fail(fmt.Errorf("dstream: %s: %w: partitioner %T does not partition this key type", op, ErrInvalidStream, c.partitioner))
	case c.partitionsSet() && c.partitions < 1:
		g.fail(fmt.Errorf("dstream: %s: %w: number of partitions (%d) must be positive", op, ErrInvalidStream, c.partitions))
	case c.partitionsSet():
		return rdd.NewHashPartitioner[K](c.partitions)
	}
	return rdd.NewHashPartitioner[K](runtime.GOMAXPROCS(0))
}

// inverseOf returns the WithInverse function for values of type V, nil
// when none was given; a function of another type is recorded in g.
func inverseOf[V any](g *Graph, op string, c opConfig) func(V, V) V {
	if c.inverse == nil {
		return nil
	}
	inv, ok := c.inverse.(func(V, V) V)
	if !ok {
		var want func(V, V) V
		g.fail(fmt.Errorf("dstream: %s: %w: inverse function %T does not match the values (want %T)", op, ErrInvalidStream, c.inverse, want))
	}
	return inv
}

// filterOf returns the WithFilter function for pairs of K and V, nil when
// none was given; a function of another type is recorded in g.
func filterOf[K comparable, V any](g *Graph, op string, c opConfig) func(rdd.Pair[K, V]) bool {
	if c.filter == nil {
		return nil
	}
	keep, ok := c.filter.(func(rdd.Pair[K, V]) bool)
	if !ok {
		var want func(rdd.Pair[K, V]) bool
		g.fail(fmt.Errorf("dstream: %s: %w: filter function %T does not match the pairs (want %T)", op, ErrInvalidStream, c.filter, want))
	}
	return keep
}

// ReduceByKeyAndWindow merges the values of each key over the last window
// duration, every slide, with the associative and commutative reduce,
// Spark's reduceByKeyAndWindow. A slide of 0 means d's slide.
//
// Without WithInverse every window reduces the per-batch reductions of all
// of its batches: the cost of a window grows with its length. With
// WithInverse(inv) the window is computed incrementally, as Spark's
// ReducedWindowedDStream: the previous window's value, minus (inv) the
// batches that left, plus (reduce) the batches that entered, so the cost
// is proportional to the data entering and leaving the window and to the
// number of keys in it, not to its length. The per-batch reductions and
// the windows are persisted and released once no window needs them, and
// the stream must checkpoint; its data checkpoint writes each per-batch
// reduction once, after it entered the window, and the latest window, so
// it too costs the batches entering, not the window. With an inverse a key whose value returns to
// the identity stays (with a value such as 0) unless WithFilter removes it.
// Tumbling windows (slide = window) are maintained incrementally too, as
// in Spark, so their keys stay at the identity as well. Windows with
// batches between them (slide > window) are reduced from their own
// batches, which is cheaper and, unlike Spark's formula, correct for keys
// seen only in the batches between two windows; such a window without
// elements yields none.
//
// Options: WithInverse, WithFilter (applied to every window's output),
// WithPartitions or WithPartitioner (default: hash partitioning over
// GOMAXPROCS partitions, Spark's default parallelism), WithName.
func ReduceByKeyAndWindow[K comparable, V any](d DStream[rdd.Pair[K, V]], reduce func(V, V) V,
	window, slide time.Duration, opts ...Option) DStream[rdd.Pair[K, V]] {
	return reduceByKeyAndWindow("ReduceByKeyAndWindow", d, reduce, window, slide, opts...)
}

// reduceByKeyAndWindow is ReduceByKeyAndWindow, whose errors name op, the
// operation the user called (CountByValueAndWindow is one).
func reduceByKeyAndWindow[K comparable, V any](op string, d DStream[rdd.Pair[K, V]], reduce func(V, V) V,
	window, slide time.Duration, opts ...Option) DStream[rdd.Pair[K, V]] {
	g := d.s.graph
	c := configure(g, op, opts, optPartitioning|optName|optInverse|optFilter)
	inv := inverseOf[V](g, op, c)
	keep := filterOf[K, V](g, op, c)
	part := windowPartitioner[K](g, op, c)
	var out DStream[rdd.Pair[K, V]]
	if inv == nil {
		byBatch := ReduceByKey(d, reduce, WithPartitioner(part))
		out = ReduceByKey(windowed(byBatch, op, window, slide), reduce, WithPartitioner(part))
		if keep != nil {
			out = out.Filter(keep)
		}
	} else {
		out = reducedWindow(op, d, reduce, inv, keep, window, slide, part)
	}
	return named(c, out)
}

// reducedWindow is Spark's ReducedWindowedDStream: an incrementally
// maintained windowed reduction of the pairs of d, by the operation kind.
func reducedWindow[K comparable, V any](kind string, d DStream[rdd.Pair[K, V]], reduce, inv func(V, V) V,
	keep func(rdd.Pair[K, V]) bool, window, slide time.Duration, part rdd.Partitioner[K]) DStream[rdd.Pair[K, V]] {
	window, slide = windowDurations(kind, true, d.s, window, slide)
	reduced := ReduceByKey(d, reduce, WithPartitioner(part))
	same := func(r *rdd.RDD[rdd.Pair[K, V]]) *rdd.RDD[rdd.Pair[K, V]] { return r }
	return incrementalWindow(reduced, kind, window, slide, same, same, reduce, inv, keep, part)
}

// incrementalWindow builds the stream of an incrementally maintained
// window over reduced, the per-batch reductions. The stream's RDDs are of
// T; as pairs (toPairs, fromPairs) they are reduced by key. Its RDD at t
// is the previous window's, minus the batches that left, plus those that
// entered, all partitioned by part. It is generic in T rather than built
// on DStream[rdd.Pair[K, V]] so that DStream's own methods (ReduceByWindow)
// can use it.
func incrementalWindow[T any, K comparable, V any](reduced DStream[T], kind string, window, slide time.Duration,
	toPairs func(*rdd.RDD[T]) *rdd.RDD[rdd.Pair[K, V]], fromPairs func(*rdd.RDD[rdd.Pair[K, V]]) *rdd.RDD[T],
	reduce, inv func(V, V) V, keep func(rdd.Pair[K, V]) bool, part rdd.Partitioner[K]) DStream[T] {
	parentSlide := reduced.s.slide
	reduced.Persist()
	with := rdd.WithPartitioner(part)

	// slots tags every value with the side of the cogroup it comes from.
	slots := func(r *rdd.RDD[rdd.Pair[K, V]], side uint8) *rdd.RDD[rdd.Pair[K, windowSlots[V]]] {
		return rdd.MapValues(r, func(v V) windowSlots[V] {
			s := windowSlots[V]{has: side}
			s.vals[side>>1] = v
			return s
		})
	}
	// combine merges two partial groups of one key, reducing the values of
	// a side that both hold (several old or new batches).
	combine := func(a, b windowSlots[V]) windowSlots[V] {
		for i := range a.vals {
			bit := uint8(1) << i
			switch {
			case b.has&bit == 0:
			case a.has&bit == 0:
				a.vals[i], a.has = b.vals[i], a.has|bit
			default:
				a.vals[i] = reduce(a.vals[i], b.vals[i])
			}
		}
		return a
	}
	// merge is Spark's mergeValues for one key: the previous window's
	// value, minus the old batches' sum, plus the new batches' sum.
	merge := func(g windowSlots[V]) V {
		if g.has&slotPrev == 0 {
			if g.has&slotNew == 0 {
				panic(fmt.Sprintf("dstream: %s: neither the previous window has a value for a key nor were new values found: "+
					"did the filter remove a key whose value was not the identity, or does the key type hash inconsistently?", kind))
			}
			return g.vals[2]
		}
		v := g.vals[0]
		if g.has&slotOld != 0 {
			v = inv(v, g.vals[1])
		}
		if g.has&slotNew != 0 {
			v = reduce(v, g.vals[2])
		}
		return v
	}
	identity := func(s windowSlots[V]) windowSlots[V] { return s }

	var out DStream[T]
	out = newStream(reduced.s.graph, kind, slide, []node{reduced.s}, func(t time.Time) (*rdd.RDD[T], error) {
		//  window(t)    = (t - window, t]
		//  window(t-s)  = (t - s - window, t - s]
		//  old batches  = (t - s - window, t - window]  leave the window
		//  new batches  = (t - s, t]                    enter the window
		var prev *rdd.RDD[T]
		if slide <= window {
			var err error
			if prev, err = out.s.getOrCompute(t.Add(-slide)); err != nil {
				return nil, err
			}
		}
		var merged *rdd.RDD[rdd.Pair[K, V]]
		if prev == nil {
			// The first window, or windows with batches between them
			// (slide > window, where Spark's formula would be wrong for
			// a key seen only in those batches): reduce from scratch.
			// Tumbling windows (slide == window) go the incremental way,
			// as in Spark: the old batches are the previous window, so a
			// key of the previous window stays, at the identity, unless
			// the filter removes it.
			rs, err := reduced.Slice(t.Add(-window+parentSlide), t)
			if err != nil {
				return nil, err
			}
			merged = rdd.ReduceByKey(toPairs(rdd.Union(rs...)), reduce, with).SetName(out.s.describe() + ": the window reduced from its batches")
		} else {
			olds, err := reduced.Slice(t.Add(-slide-window+parentSlide), t.Add(-window))
			if err != nil {
				return nil, err
			}
			news, err := reduced.Slice(t.Add(-slide+parentSlide), t)
			if err != nil {
				return nil, err
			}
			// The cogroup of the previous window with the old and new
			// batches, as one combine of their values tagged by side. The
			// previous window is read through a local checkpoint so that
			// this window's lineage ends there instead of reaching back
			// through every earlier window.
			sides := []*rdd.RDD[rdd.Pair[K, windowSlots[V]]]{slots(toPairs(prev.LocalCheckpoint()), slotPrev)}
			for _, r := range olds {
				sides = append(sides, slots(toPairs(r), slotOld))
			}
			for _, r := range news {
				sides = append(sides, slots(toPairs(r), slotNew))
			}
			cg := rdd.CombineByKey(rdd.Union(sides...), identity, combine, combine, with)
			merged = rdd.MapValues(cg, merge).SetName(out.s.describe() + ": the previous window with the batches in reduced and those out inverse-reduced")
		}
		if keep != nil {
			merged = merged.Filter(keep)
		}
		return fromPairs(merged), nil
	})
	out.Persist()
	out.s.windowOver(window, true)
	out.s.checkpointer = &windowCheckpointer[T, K, V]{out: out.s, reduced: reduced.s, window: window, toPairs: toPairs, fromPairs: fromPairs, part: part}
	return out
}

// windowSlots holds, for one key, its value in each side of the cogroup
// of an incremental window: the previous window (vals[0]), the batches
// that left (vals[1]) and those that entered (vals[2]); has says which
// are present.
type windowSlots[V any] struct {
	vals [3]V
	has  uint8
}

const (
	slotPrev uint8 = 1 << iota
	slotOld
	slotNew
)

// String names the sides present, for the record a panicking reduce or
// inverse function's error quotes: "previous window 5, left 2, entered 3".
func (s windowSlots[V]) String() string {
	var parts []string
	for i, side := range [...]string{"previous window", "left", "entered"} {
		if s.has&(1<<i) != 0 {
			parts = append(parts, fmt.Sprintf("%s %v", side, s.vals[i]))
		}
	}
	return strings.Join(parts, ", ")
}

// ReduceByWindow returns a stream with one element per slide: the
// elements of the last window duration combined with the associative and
// commutative reduce, Spark's reduceByWindow. A window without elements
// yields no element. With WithInverse the window is maintained
// incrementally (see ReduceByKeyAndWindow) and, as in Spark, once the
// window has seen an element it yields a value at every slide, the
// identity (such as 0) when it holds no element, unless slide > window:
// then each window is reduced from its own batches, and an empty one
// yields nothing. Options: WithInverse, WithName.
func (d DStream[T]) ReduceByWindow(reduce func(T, T) T, window, slide time.Duration, opts ...Option) DStream[T] {
	return reduceByWindow("ReduceByWindow", d, reduce, window, slide, opts...)
}

// reduceByWindow is ReduceByWindow, whose errors name op, the operation the
// user called (CountByWindow is one).
func reduceByWindow[T any](op string, d DStream[T], reduce func(T, T) T, window, slide time.Duration, opts ...Option) DStream[T] {
	c := configure(d.s.graph, op, opts, optName|optInverse)
	inv := inverseOf[T](d.s.graph, op, c)
	if inv == nil {
		return named(c, windowed(d.Reduce(reduce), op, window, slide).Reduce(reduce))
	}
	window, slide = windowDurations(op, true, d.s, window, slide)
	toPairs := func(r *rdd.RDD[T]) *rdd.RDD[rdd.Pair[struct{}, T]] {
		return rdd.Map(r, func(x T) rdd.Pair[struct{}, T] { return rdd.Pair[struct{}, T]{Value: x} })
	}
	return named(c, incrementalWindow(d.Reduce(reduce), op, window, slide, toPairs, rdd.Values[struct{}, T],
		reduce, inv, nil, rdd.Partitioner[struct{}](rdd.NewHashPartitioner[struct{}](1))))
}

// ReduceByWindow is the function form of d.ReduceByWindow.
func ReduceByWindow[T any](d DStream[T], reduce func(T, T) T, window, slide time.Duration, opts ...Option) DStream[T] {
	return d.ReduceByWindow(reduce, window, slide, opts...)
}

// CountByWindow returns a stream with one element per slide: the number of
// elements in the last window duration, Spark's countByWindow. It is
// maintained incrementally; as in Spark it yields nothing until the first
// element arrives, then a count at every slide, 0 for an empty window
// (unless slide > window: see ReduceByWindow). Options: WithName.
func CountByWindow[T any](d DStream[T], window, slide time.Duration, opts ...Option) DStream[int64] {
	ones := Map(d, func(T) int64 { return 1 })
	counts := reduceByWindow("CountByWindow", ones, func(a, b int64) int64 { return a + b }, window, slide,
		WithInverse(func(a, b int64) int64 { return a - b }))
	return named(configure(d.s.graph, "CountByWindow", opts, optName), counts)
}

// CountByValueAndWindow returns, every slide, each distinct element of the
// last window duration with its count, Spark's countByValueAndWindow. It
// is maintained incrementally, and elements whose count drops to 0 are
// removed. Options: WithPartitions, WithPartitioner, WithName.
func CountByValueAndWindow[T comparable](d DStream[T], window, slide time.Duration, opts ...Option) DStream[rdd.Pair[T, int64]] {
	configure(d.s.graph, "CountByValueAndWindow", opts, optPartitioning|optName) // its own inverse and filter follow
	ones := Map(d, func(x T) rdd.Pair[T, int64] { return rdd.Pair[T, int64]{Key: x, Value: 1} })
	return reduceByKeyAndWindow("CountByValueAndWindow", ones, func(a, b int64) int64 { return a + b }, window, slide,
		append(opts[:len(opts):len(opts)],
			WithInverse(func(a, b int64) int64 { return a - b }),
			WithFilter(func(p rdd.Pair[T, int64]) bool { return p.Value != 0 }))...)
}

// GroupByKeyAndWindow groups, every slide, the values of each key over the
// last window duration, Spark's groupByKeyAndWindow: each batch is grouped
// once and the window's groups are concatenated. The order of values
// within a group is not specified. Options: WithPartitions,
// WithPartitioner (default as ReduceByKeyAndWindow), WithName.
func GroupByKeyAndWindow[K comparable, V any](d DStream[rdd.Pair[K, V]], window, slide time.Duration, opts ...Option) DStream[rdd.Pair[K, []V]] {
	const op = "GroupByKeyAndWindow"
	c := configure(d.s.graph, op, opts, optPartitioning|optName)
	part := windowPartitioner[K](d.s.graph, op, c)
	grouped := windowed(GroupByKey(d, WithPartitioner(part)), op, window, slide)
	out := CombineByKey(grouped,
		// Copy, so that appending never writes into a persisted batch's group.
		func(v []V) []V { return append([]V(nil), v...) },
		func(buf []V, v []V) []V { return append(buf, v...) },
		func(a, b []V) []V { return append(a[:len(a):len(a)], b...) },
		WithPartitioner(part))
	return named(c, out)
}
