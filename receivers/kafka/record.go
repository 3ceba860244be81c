package kafka

import (
	"fmt"
	"time"
)

// Record is one Kafka record of a direct stream, Spark's ConsumerRecord:
// where it was read (topic, partition, offset), its decoded key and value,
// its timestamp and headers.
type Record[K, V any] struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       K
	Value     V
	Timestamp time.Time
	Headers   []Header
}

// Header is a record header.
type Header struct {
	Key   string
	Value []byte
}

// Decoder turns the bytes of a record's key or value into a T, Spark's
// Deserializer. A nil key or value (absent) is passed as nil. An error makes
// a *DecodeError; WithSkipBadRecords decides whether it fails the batch.
type Decoder[T any] func(data []byte) (T, error)

// StringDecoder decodes bytes as a string, without validation.
func StringDecoder(data []byte) (string, error) { return string(data), nil }

// BytesDecoder returns the bytes as they are (not copied).
func BytesDecoder(data []byte) ([]byte, error) { return data, nil }

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// String returns the partition as "topic[partition]".
func (tp TopicPartition) String() string { return fmt.Sprintf("%s[%d]", tp.Topic, tp.Partition) }

// OffsetRange is the records of one partition a batch reads, Spark's
// OffsetRange: offsets from FromOffset (inclusive) to UntilOffset
// (exclusive).
type OffsetRange struct {
	Topic       string
	Partition   int32
	FromOffset  int64
	UntilOffset int64
}

// TopicPartition returns the range's partition.
func (o OffsetRange) TopicPartition() TopicPartition { return TopicPartition{o.Topic, o.Partition} }

// Count returns how many offsets the range spans (records, unless the topic
// is compacted or transactional).
func (o OffsetRange) Count() int64 { return o.UntilOffset - o.FromOffset }

// String returns the range as "topic[partition] [from, until)".
func (o OffsetRange) String() string {
	return fmt.Sprintf("%s[%d] [%d, %d)", o.Topic, o.Partition, o.FromOffset, o.UntilOffset)
}
