package dstream

import (
	"fmt"
	"strings"

	"github.com/sluice-io/sluice/rdd"
)

// Option tunes one operation: its output partitioning, its name, and for
// windowed and stateful operations their inverse, filter or initial state.
// Each option's doc says the default it overrides. An option the operation
// does not take (each operation's doc lists those it does) is an error that
// Start returns, wrapping ErrInvalidStream.
type Option interface{ apply(*opConfig) }

type optionFunc func(*opConfig)

func (f optionFunc) apply(c *opConfig) { f(c) }

// opConfig collects the options of one operation. Fields hold typed values
// as any; the operation checks their types against its own.
type opConfig struct {
	set         optionKind // the options given
	partitions  int
	partitioner any // rdd.Partitioner[K]
	name        string
	inverse     any // func(V, V) V, for windowed reductions
	filter      any // func(rdd.Pair[K, V]) bool, for windowed reductions
	initial     any // *rdd.RDD[rdd.Pair[K, S]], for stateful operations
}

// optionKind is a set of kinds of Option, for an operation to say which it
// takes.
type optionKind uint8

const (
	optPartitioning optionKind = 1 << iota // WithPartitions, WithPartitioner
	optName                                // WithName
	optInverse                             // WithInverse
	optFilter                              // WithFilter
	optInitialState                        // WithInitialState
)

var optionKindNames = [...]string{"WithPartitions or WithPartitioner", "WithName", "WithInverse", "WithFilter", "WithInitialState"}

// String lists the options of k.
func (k optionKind) String() string {
	var names []string
	for i, n := range optionKindNames {
		if k&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, ", ")
}

// configure applies opts for operation op, which takes the options of
// takes; one it does not take (WithInverse on ReduceByKey, say) is recorded
// in g as an error that Start returns, rather than silently ignored.
func configure(g *Graph, op string, opts []Option, takes optionKind) opConfig {
	var c opConfig
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if extra := c.set &^ takes; extra != 0 {
		g.fail(fmt.Errorf("dstream: %s: %w: %v: not taken by %s, which takes %v", op, ErrInvalidStream, extra, op, takes))
	}
	return c
}

// partitionsSet reports whether WithPartitions was given (last among the
// partitioning options): its n, even 0, is then checked.
func (c opConfig) partitionsSet() bool {
	return c.set&optPartitioning != 0 && c.partitioner == nil
}

// WithPartitions hash-partitions the operation's output into n partitions,
// which must be at least 1 (Start fails otherwise).
// The default is Spark core's defaultPartitioner over the batch's RDDs: a
// parent's partitioner if one fits, else hash partitioning over as many
// partitions as the largest parent has. (Spark Streaming's pair operations
// hash over the default parallelism instead; windowed and stateful
// operations here do, see their docs.)
func WithPartitions(n int) Option {
	return optionFunc(func(c *opConfig) { c.partitions, c.partitioner, c.set = n, nil, c.set|optPartitioning })
}

// WithPartitioner places the operation's output with p. The default is the
// operation's own, as WithPartitions says.
func WithPartitioner[K comparable](p rdd.Partitioner[K]) Option {
	return optionFunc(func(c *opConfig) { c.partitioner, c.partitions, c.set = p, 0, c.set|optPartitioning })
}

// WithName names the stream the operation creates (see DStream.SetName).
// The default is no name: logs and errors show the operation's kind and the
// stream's number, and the checkpoint identity follows creation order.
func WithName(name string) Option {
	return optionFunc(func(c *opConfig) { c.name, c.set = name, c.set|optName })
}

// shuffleOptions turns the partitioning options of op into rdd options,
// recording an error in g when the partitioner does not fit the key type.
func shuffleOptions[K comparable](g *Graph, op string, c opConfig) []rdd.ShuffleOption {
	switch {
	case c.partitioner != nil:
		p, ok := c.partitioner.(rdd.Partitioner[K])
		if !ok {
			g.fail(fmt.Errorf("dstream: %s: %w: partitioner %T does not partition this key type", op, ErrInvalidStream, c.partitioner))
			return nil
		}
		return []rdd.ShuffleOption{rdd.WithPartitioner(p)}
	case c.partitionsSet():
		if c.partitions < 1 {
			g.fail(fmt.Errorf("dstream: %s: %w: number of partitions (%d) must be positive", op, ErrInvalidStream, c.partitions))
			return nil
		}
		return []rdd.ShuffleOption{rdd.WithPartitions(c.partitions)}
	}
	return nil
}

// named applies the WithName option to d and returns it.
func named[T any](c opConfig, d DStream[T]) DStream[T] {
	if c.name != "" {
		d.SetName(c.name)
	}
	return d
}
