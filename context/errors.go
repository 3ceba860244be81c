package context

import "errors"

// ErrInvalidDuration is wrapped by errors for a batch interval, timeout or
// remember duration that cannot be used.
var ErrInvalidDuration = errors.New("invalid duration")

// ErrStopped is returned by Start on a context that was stopped: Spark's
// "StreamingContext has already been stopped". A context cannot be restarted.
var ErrStopped = errors.New("StreamingContext has already been stopped")

// ErrNotInitialized is returned by operations allowed only before Start.
var ErrNotInitialized = errors.New("StreamingContext has already been started")

// ErrStopWithinListener is returned by StreamingContext.Stop called from a
// StreamingListener, Spark's "Cannot stop StreamingContext within listener
// bus thread": the stop waits for the listener bus to deliver its last
// events, so it cannot run on the bus's own goroutine.
var ErrStopWithinListener = errors.New("Cannot stop StreamingContext within listener bus thread")
