package kafka

import (
	"errors"
	"fmt"
	"time"

	"github.com/sluice-io/sluice/dstream"
)

// Sentinel errors of the Kafka direct stream. Errors returned by the
// package wrap one of them with %w and name the topic, partition, offset or
// batch time involved.
var (
	// ErrNoTopics is returned when a ConsumerStrategy names no topic, no
	// pattern and no partition.
	ErrNoTopics = errors.New("kafka: no topics, pattern or partitions to consume")
	// ErrInvalidOption is returned for an option out of range (a negative
	// rate, an empty group name).
	ErrInvalidOption = errors.New("kafka: invalid option")
	// ErrBrokerUnreachable is returned when no broker answered within the
	// configured bound (WithStartTimeout at Start, WithRequestTimeout at a
	// batch), after retries with backoff.
	ErrBrokerUnreachable = errors.New("kafka: broker unreachable")
	// ErrListOffsets is returned when the offsets of a batch could not be
	// listed; the batch fails and nothing is consumed, so the next batch
	// starts where this one would have.
	ErrListOffsets = errors.New("kafka: listing offsets failed")

	// ErrUnknownPartition is wrapped, with ErrListOffsets, when the broker's
	// answer has no offsets for a partition the stream reads: an assigned
	// partition that does not exist, say.
	ErrUnknownPartition = errors.New("kafka: partition unknown to the broker")
	// ErrFetch is returned by a task that could not read its offset range
	// within the bound set by WithFetchTimeout.
	ErrFetch = errors.New("kafka: fetching an offset range failed")
	// ErrOffsetOutOfRange is returned by a task whose range starts before
	// the partition's log start: retention or DeleteRecords removed records
	// the batch was to read. The batch fails rather than skip them (Spark
	// forces auto.offset.reset=none on executors and fails the task too);
	// restart from a later position to accept the loss.
	ErrOffsetOutOfRange = errors.New("kafka: offset range no longer in the log")
	// ErrLogTruncated fails a batch whose partition no longer holds the
	// offsets the stream reached: the partition ends before the offset the
	// batch starts at (the topic was recreated, its log truncated by an
	// unclean leader election, or the starting offset given is wrong), or
	// the topic's ID changed (recreated). The IDs are checkpointed with the
	// position, so a topic recreated while the program was down is caught
	// at the restart, and with Assign too, whose topics' metadata is listed
	// every batch for them. Spark fails the batch the same way ("Beginning
	// offset … is after the ending offset"), without the IDs. Every later
	// batch fails too, even once the new log grows past the offset, as
	// reading on would skip its first records: restart from a valid
	// position.
	ErrLogTruncated = errors.New("kafka: partition truncated or topic recreated")
	// ErrDecode is wrapped by every *DecodeError.
	ErrDecode = errors.New("kafka: decoding a record failed")
	// ErrCommit is reported when committing offsets to the consumer group
	// failed; the offsets are committed again with the next batch.
	ErrCommit = errors.New("kafka: committing offsets failed")
	// ErrInvalidPosition is returned by RestorePosition for bytes that are
	// not a position written by CheckpointPosition.
	ErrInvalidPosition = errors.New("kafka: invalid checkpoint position")
	// ErrUnknownBatch is returned for a batch time the stream has no
	// offset ranges for (not generated yet, or forgotten).
	ErrUnknownBatch = errors.New("kafka: no offset ranges for batch")
	// ErrTransaction is returned when the transactional output could not
	// commit a batch; the transaction is aborted and neither the records
	// nor the offsets are visible to read_committed readers.
	ErrTransaction = errors.New("kafka: transaction failed")
	// ErrStarted is returned by RestorePosition after the stream started.
	ErrStarted = errors.New("kafka: stream already started")
)

// DecodeError is a record the key or value decoder refused. It names the
// record's topic, partition and offset and the batch that read it;
// errors.Is(err, ErrDecode) is true.
type DecodeError struct {
	Topic     string
	Partition int32
	Offset    int64
	Part      string    // "key" or "value"
	BatchTime time.Time // the batch that read the record
	Err       error     // the decoder's error
}

// Error returns the topic, partition, offset and part of the record that
// failed to decode, the batch time when known, and the decoder's error.
func (e *DecodeError) Error() string {
	if e.BatchTime.IsZero() {
		return fmt.Sprintf("kafka: decoding the %s of %s[%d]@%d: %v", e.Part, e.Topic, e.Partition, e.Offset, e.Err)
	}
	return fmt.Sprintf("kafka: decoding the %s of %s[%d]@%d at batch %s: %v", e.Part, e.Topic, e.Partition, e.Offset,
		dstream.FormatTime(e.BatchTime), e.Err)
}

// Unwrap returns ErrDecode and the decoder's error.
func (e *DecodeError) Unwrap() []error { return []error{ErrDecode, e.Err} }
