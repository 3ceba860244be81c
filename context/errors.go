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
