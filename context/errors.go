package context

import "errors"

// ErrInvalidDuration is wrapped by errors for a batch interval, timeout or
// remember duration that cannot be used.
var ErrInvalidDuration = errors.New("invalid duration")

// ErrStopped is returned by Start on a context that was stopped: Spark's
// "StreamingContext has already been stopped". A context cannot be restarted.
var ErrStopped = errors.New("StreamingContext has already been stopped")

// ErrNotInitialized is wrapped by the error of an operation allowed only
// before Start (Remember, Checkpoint), called on a context that is active
// or stopped; the error says which.
var ErrNotInitialized = errors.New("only allowed before the StreamingContext starts")

// ErrStopWithinListener is returned by StreamingContext.Stop called from a
// StreamingListener, Spark's "Cannot stop StreamingContext within listener
// bus thread": the stop waits for the listener bus to deliver its last
// events, so it cannot run on the bus's own goroutine.
var ErrStopWithinListener = errors.New("Cannot stop StreamingContext within listener bus thread")

// ErrCheckpointMismatch is wrapped by the error of GetOrCreate when the
// checkpoint in the directory cannot be used for the program: taken with a
// different batch interval, or by a different graph (then it also wraps
// checkpoint.ErrGraphMismatch and names the stream that differs).
var ErrCheckpointMismatch = errors.New("checkpoint does not match the program")
