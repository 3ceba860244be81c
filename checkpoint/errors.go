package checkpoint

import "errors"

// ErrNoCheckpoint is returned by [Store.LatestMetadata] when the directory
// holds no checkpoint (one whose every checkpoint is damaged is an
// ErrCorrupt), and by [Store.ReadState] for a stream the
// checkpoint has no state for. A fresh start, not a failure.
var ErrNoCheckpoint = errors.New("no checkpoint")

// ErrCorrupt is wrapped by the error for a file that is truncated, has a
// flipped bit (checksum mismatch), a bad magic number, an unknown older
// format version or a payload that does not decode. The message names the
// file.
var ErrCorrupt = errors.New("corrupt checkpoint file")

// ErrNewerVersion is wrapped by the error for a well-formed file written
// with a format version newer than [FormatVersion]. Recovery refuses such a
// checkpoint rather than silently falling back to an older one: upgrade
// Sluice or point it at another directory.
var ErrNewerVersion = errors.New("checkpoint written by a newer format version")

// ErrGraphMismatch is wrapped by the error of [Metadata.CheckGraph] when the
// streams of the checkpoint differ from the streams the user's setup built;
// the message says which stream differs.
var ErrGraphMismatch = errors.New("checkpoint taken by a different stream graph")

// ErrQueueFull is wrapped by the error of [AsyncWriter.Submit] when the
// writer's queue is full. The checkpoint is dropped, not written; the
// batch goes on, and the keys it changed are written with the next
// checkpoint, so no change is lost.
var ErrQueueFull = errors.New("checkpoint queue full")

// ErrClosed is wrapped by the error of [AsyncWriter.Submit] after
// [AsyncWriter.Close].
var ErrClosed = errors.New("checkpoint writer closed")
