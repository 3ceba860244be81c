package kafka

import (
	"fmt"
	"maps"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/sluice-io/sluice/dstream"
)

// positionVersion is the version of the checkpoint position format.
const positionVersion = 1

// position is what CheckpointPosition writes: the offset each partition's
// next batch starts at.
type position struct {
	Version    int             `msgpack:"v"`
	Partitions []partitionNext `msgpack:"p"`
}

type partitionNext struct {
	Topic     string `msgpack:"t"`
	Partition int32  `msgpack:"n"`
	Offset    int64  `msgpack:"o"`
}

// CheckpointPosition returns, as msgpack, where every partition stands
// after the batch at batchTime: the end of the batch's range for each
// partition it read. A stream restored from it with RestorePosition starts
// exactly after that batch. The checkpoint of the context calls it
// (context.CheckpointedInput) when it checkpoints the batch.
func (s *DirectStream[K, V]) CheckpointPosition(batchTime time.Time) ([]byte, error) {
	ranges, err := s.OffsetRanges(batchTime)
	if err != nil {
		return nil, err
	}
	pos := position{Version: positionVersion, Partitions: make([]partitionNext, len(ranges))}
	for i, o := range ranges {
		pos.Partitions[i] = partitionNext{o.Topic, o.Partition, o.UntilOffset}
	}
	b, err := msgpack.Marshal(&pos)
	if err != nil {
		return nil, fmt.Errorf("kafka: position of batch %s: %w", dstream.FormatTime(batchTime), err)
	}
	return b, nil
}

// RestorePosition makes the stream start where a position written by
// CheckpointPosition says, before Start: partitions it names start at its
// offsets, partitions it does not name (added since) at their earliest
// offset. It wins over the strategy's offsets and the group's.
func (s *DirectStream[K, V]) RestorePosition(pos []byte) error {
	next, err := decodePosition(pos)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return ErrStarted
	}
	s.restored = next
	return nil
}

func decodePosition(b []byte) (map[TopicPartition]int64, error) {
	var pos position
	if err := msgpack.Unmarshal(b, &pos); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPosition, err)
	}
	if pos.Version != positionVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrInvalidPosition, pos.Version, positionVersion)
	}
	next := make(map[TopicPartition]int64, len(pos.Partitions))
	for _, p := range pos.Partitions {
		if p.Topic == "" || p.Partition < 0 || p.Offset < 0 {
			return nil, fmt.Errorf("%w: bad entry %+v", ErrInvalidPosition, p)
		}
		next[TopicPartition{p.Topic, p.Partition}] = p.Offset
	}
	return next, nil
}

// Position returns a copy of where each known partition's next batch
// starts; for tests and monitoring.
func (s *DirectStream[K, V]) Position() map[TopicPartition]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.next)
}
