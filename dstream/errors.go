package dstream

import "errors"

// ErrNoOutputs is returned by Start for a graph without an output
// operation, with Spark's message.
var ErrNoOutputs = errors.New("No output operations registered, so nothing to execute")

// ErrStarted is recorded when a stream is added after the graph started:
// Spark's "Adding new inputs, transformations, and output operations after
// starting a context is not supported".
var ErrStarted = errors.New("adding new inputs, transformations, and output operations after starting a context is not supported")

// ErrUserPanic is wrapped by the error of a batch whose user function
// panicked while its RDDs or jobs were being generated or run.
var ErrUserPanic = errors.New("user function panicked")

// ErrMissingRDD is returned when an operation that needs an RDD from every
// parent (Union, Transform, joins) finds a parent without one at a batch
// time, Spark's "Could not generate RDD from a parent".
var ErrMissingRDD = errors.New("could not generate RDD from a parent")

// ErrNilRDD is returned when a transform function returns nil.
var ErrNilRDD = errors.New("transform function must not return nil")

// ErrInvalidStream is wrapped by errors in how a stream was built: invalid
// durations, mismatched slides, streams from different contexts, bad options.
var ErrInvalidStream = errors.New("invalid stream")
