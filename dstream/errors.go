package dstream

import (
	"errors"

	"github.com/sluice-io/sluice/rdd"
)

// ErrNoOutputs is returned by Start for a graph without an output
// operation, with Spark's message.
var ErrNoOutputs = errors.New("No output operations registered, so nothing to execute")

// ErrStarted is recorded when a stream is added after the graph started:
// Spark's "Adding new inputs, transformations, and output operations after
// starting a context is not supported".
var ErrStarted = errors.New("adding new inputs, transformations, and output operations after starting a context is not supported")

// ErrUserPanic is wrapped by the error of a batch whose user function
// panicked: in a task (a per-element function such as Map's, where the
// error is an *rdd.TaskError) or while the batch's RDDs or jobs were being
// generated or run (Transform's and ForeachRDD's functions). It is
// rdd.ErrUserPanic, so errors.Is matches either name.
var ErrUserPanic = rdd.ErrUserPanic

// ErrMissingRDD is returned when an operation that needs an RDD from every
// parent (Union, Transform, joins) finds a parent without one at a batch
// time, Spark's "Could not generate RDD from a parent".
var ErrMissingRDD = errors.New("could not generate RDD from a parent")

// ErrNilRDD is returned when a transform function returns nil.
var ErrNilRDD = errors.New("transform function must not return nil")

// ErrInvalidStream is wrapped by errors in how a stream was built: invalid
// durations, mismatched slides, streams from different contexts, bad options.
var ErrInvalidStream = errors.New("invalid stream")

// ErrInvalidState is wrapped by the error of a batch whose mapping function
// misused its State: Get on a state that does not exist, Update or Remove
// after Remove, Update or Remove of a state that is timing out. Spark throws
// NoSuchElementException or IllegalArgumentException there; State panics
// with an error wrapping ErrInvalidState, and MapWithState turns that panic
// into the batch's error, naming the key.
var ErrInvalidState = errors.New("invalid state operation")

// ErrStateUnavailable is wrapped by the error of a job that reads the state
// of a stateful stream as of a batch that is gone: a StateSnapshots or
// UpdateStateByKey RDD read after a later batch changed the state, a batch
// whose update was applied and forgotten, or any batch after an update that
// failed part-way (the state is then no longer whole, and the stream stops
// producing).
var ErrStateUnavailable = errors.New("state unavailable")

// ErrCheckpointDirNotSet is returned by Start when a stream must checkpoint
// and no checkpoint directory was set, with Spark's message.
var ErrCheckpointDirNotSet = errors.New("The checkpoint directory has not been set. Please set it by StreamingContext.checkpoint().")
