package receivers

import "errors"

// Sentinel errors of the receivers package. Errors returned by the package wrap
// one of these with %w and add the receiver name, address or batch time.
var (
	// ErrStopped is returned by Store and StoreMany once the receiver must stop:
	// its Handle's context is cancelled (a restart or a stop is under way) or the
	// supervisor has stopped.
	ErrStopped = errors.New("receivers: receiver stopped")

	// ErrAlreadyStarted is returned by Supervisor.Start when called twice.
	ErrAlreadyStarted = errors.New("receivers: supervisor already started")

	// ErrPanic wraps a panic recovered from OnStart, OnStop or a goroutine
	// started with Handle.Go; it becomes a receiver error and a restart.
	ErrPanic = errors.New("receivers: receiver panicked")

	// ErrInvalidUTF8 reports an input line that is not valid UTF-8; the line is skipped.
	ErrInvalidUTF8 = errors.New("receivers: invalid UTF-8 in line")

	// ErrLineTooLong reports an input line longer than the configured limit; the line is skipped.
	ErrLineTooLong = errors.New("receivers: line too long")

	// ErrConnection reports a failed connect, a server that closed the connection
	// or a connection reset; the socket receiver reconnects with backoff.
	ErrConnection = errors.New("receivers: connection failed")

	// ErrCorruptRecord reports a write-ahead-log record whose length or CRC-32C
	// checksum does not match: a torn write at the tail of a log, or corruption.
	ErrCorruptRecord = errors.New("receivers: corrupt write-ahead log record")

	// ErrWALClosed is returned by WAL methods after Close.
	ErrWALClosed = errors.New("receivers: write-ahead log closed")

	// ErrInvalidConfig reports an invalid option or constructor argument.
	ErrInvalidConfig = errors.New("receivers: invalid configuration")
)
