package kafka

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/sluice-io/sluice/dstream"
)

// positionVersion is the version of the checkpoint position format.
const positionVersion = 1

// position is what CheckpointPosition writes: the offset each partition's
// next batch starts at, and the IDs of their topics as the stream saw them
// (none from brokers without topic IDs, nor in positions written before
// they were added), so that a topic recreated while the program was down
// is caught at the restart.
type position struct {
	Version    int             `msgpack:"v"`
	Partitions []partitionNext `msgpack:"p"`
	TopicIDs   []topicID       `msgpack:"i,omitempty"`
}

type topicID struct {
	Topic string       `msgpack:"t"`
	ID    kadm.TopicID `msgpack:"i"`
}

type partitionNext struct {
	Topic     string `msgpack:"t"`
	Partition int32  `msgpack:"n"`
	Offset    int64  `msgpack:"o"`
}

// CheckpointPosition returns, as msgpack, where every partition stands
// after the batch at batchTime: the end of the batch's range for each
// partition it read, and for each other partition known then where it
// stood (one missing from the batch, its topic's metadata failing for a
// moment, is not read again from its earliest offset after a restart). A stream restored from it with RestorePosition starts
// exactly after that batch. The checkpoint of the context calls it
// (context.CheckpointedInput) when it checkpoints the batch.
func (s *DirectStream[K, V]) CheckpointPosition(batchTime time.Time) ([]byte, error) {
	s.mu.Lock()
	b, ok := s.batches[batchTime.UnixNano()]
	if !ok {
		s.mu.Unlock()
		return nil, fmt.Errorf("kafka: position of batch %s: %w %s", dstream.FormatTime(batchTime), ErrUnknownBatch, dstream.FormatTime(batchTime))
	}
	pos := position{Version: positionVersion, Partitions: make([]partitionNext, 0, len(b.next))}
	var topics []OffsetRange // a range per partition, for its topic's ID
	for tp, next := range b.next {
		pos.Partitions = append(pos.Partitions, partitionNext{tp.Topic, tp.Partition, next})
		topics = append(topics, OffsetRange{Topic: tp.Topic, Partition: tp.Partition})
	}
	pos.TopicIDs = s.knownTopicIDs(topics, nil)
	s.mu.Unlock()
	slices.SortFunc(pos.Partitions, func(a, b partitionNext) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	slices.SortFunc(pos.TopicIDs, func(a, b topicID) int { return cmp.Compare(a.Topic, b.Topic) })
	out, err := msgpack.Marshal(&pos)
	if err != nil {
		return nil, fmt.Errorf("kafka: position of batch %s: %w", dstream.FormatTime(batchTime), err)
	}
	return out, nil
}

// RestorePosition makes the stream start where a position written by
// CheckpointPosition says, before Start: partitions it names start at its
// offsets; partitions it does not name (added since) at the strategy's
// offsets for them, else the group's committed ones (WithGroup), else their
// earliest offset. It wins over the strategy's offsets and the group's. The topic
// IDs it holds are taken as the ones the stream saw: a topic whose ID
// differs now was recreated while the program was down, and its batches
// fail with ErrLogTruncated.
func (s *DirectStream[K, V]) RestorePosition(pos []byte) error {
	next, ids, err := decodePosition(pos)
	if err != nil {
		return err
	}
	return s.beforeStart(func() {
		s.restored = next
		maps.Copy(s.topicIDs, ids)
	})
}

// beforeStart runs set with the stream's lock held, unless the stream has
// started: restoring a position then is too late.
func (s *DirectStream[K, V]) beforeStart(set func()) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return ErrStarted
	}
	set()
	return nil
}

func decodePosition(b []byte) (map[TopicPartition]int64, map[string]kadm.TopicID, error) {
	var pos position
	if err := msgpack.Unmarshal(b, &pos); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidPosition, err)
	}
	if pos.Version != positionVersion {
		return nil, nil, fmt.Errorf("%w: version %d, want %d", ErrInvalidPosition, pos.Version, positionVersion)
	}
	next := make(map[TopicPartition]int64, len(pos.Partitions))
	for _, p := range pos.Partitions {
		if p.Topic == "" || p.Partition < 0 || p.Offset < 0 {
			return nil, nil, fmt.Errorf("%w: bad entry %+v", ErrInvalidPosition, p)
		}
		next[TopicPartition{p.Topic, p.Partition}] = p.Offset
	}
	ids, err := topicIDMap(pos.TopicIDs)
	if err != nil {
		return nil, nil, err
	}
	return next, ids, nil
}

// knownTopicIDs appends to list the IDs the stream saw of the topics of
// ranges that list does not have yet. Called with s.mu held.
func (s *DirectStream[K, V]) knownTopicIDs(ranges []OffsetRange, list []topicID) []topicID {
	for _, o := range ranges {
		if id, ok := s.topicIDs[o.Topic]; ok && !slices.ContainsFunc(list, func(t topicID) bool { return t.Topic == o.Topic }) {
			list = append(list, topicID{o.Topic, id})
		}
	}
	return list
}

// topicIDMap returns the topic IDs of a position by topic.
func topicIDMap(list []topicID) (map[string]kadm.TopicID, error) {
	ids := make(map[string]kadm.TopicID, len(list))
	for _, t := range list {
		if t.Topic == "" || t.ID == (kadm.TopicID{}) {
			return nil, fmt.Errorf("%w: bad topic ID entry %+v", ErrInvalidPosition, t)
		}
		ids[t.Topic] = t.ID
	}
	return ids, nil
}

// Position returns a copy of where each known partition's next batch
// starts; for tests and monitoring.
func (s *DirectStream[K, V]) Position() map[TopicPartition]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.next)
}

// generatedVersion is the version of the format of GeneratedPositions.
const generatedVersion = 1

// maxGeneratedBatches bounds the generated batches a stream remembers the
// ranges of while no checkpoint has asked for them (GeneratedPositions),
// as then nothing forgets them. Once one has, every batch after the
// recovery point is kept however many there are (a long data checkpoint
// interval, or a backlog of pending batches): a batch a restart re-runs
// without its ranges would read other records than its output was
// written from.
const maxGeneratedBatches = 4096

// generatedBatches is what GeneratedPositions writes: the offset ranges of
// each batch generated after the recovery point.
type generatedBatches struct {
	Version int              `msgpack:"v"`
	Batches []generatedBatch `msgpack:"b"`
	// TopicIDs are those of the topics of Batches, as in position.
	TopicIDs []topicID `msgpack:"i,omitempty"`
}

type generatedBatch struct {
	Time   int64            `msgpack:"t"` // Unix ns
	Ranges []partitionRange `msgpack:"r"`
}

type partitionRange struct {
	Topic     string `msgpack:"t"`
	Partition int32  `msgpack:"n"`
	From      int64  `msgpack:"f"`
	Until     int64  `msgpack:"u"`
}

// rememberGenerated records the ranges of the batch generated at batchTime,
// forgetting the oldest batch beyond maxGeneratedBatches while no checkpoint
// has asked for them. Called with s.mu held.
func (s *DirectStream[K, V]) rememberGenerated(batchTime time.Time, ranges []OffsetRange) {
	s.generatedRanges[batchTime.UnixNano()] = slices.Clone(ranges)
	for !s.generatedAsked && len(s.generatedRanges) > maxGeneratedBatches {
		delete(s.generatedRanges, slices.Min(slices.Collect(maps.Keys(s.generatedRanges))))
	}
}

// GeneratedPositions returns, as msgpack, the offset ranges of every batch
// generated after the batch time after (the recovery point of the
// context's checkpoint), pending ones included, and forgets those up to
// it. Spark's DirectKafkaInputDStreamCheckpointData: the checkpoint of the
// context saves them after every batch, and a restart re-runs those
// batches over exactly these ranges (RestoreGenerated), so an output
// already written for one of them matches what it computes again.
func (s *DirectStream[K, V]) GeneratedPositions(after time.Time) ([]byte, error) {
	s.mu.Lock()
	s.generatedAsked = true
	g := generatedBatches{Version: generatedVersion}
	seen := map[int64]bool{}
	keep := func(m map[int64][]OffsetRange) {
		for tn, ranges := range m {
			if tn <= after.UnixNano() {
				delete(m, tn)
				continue
			}
			if seen[tn] {
				continue
			}
			seen[tn] = true
			b := generatedBatch{Time: tn, Ranges: make([]partitionRange, len(ranges))}
			for i, o := range ranges {
				b.Ranges[i] = partitionRange{o.Topic, o.Partition, o.FromOffset, o.UntilOffset}
			}
			g.Batches = append(g.Batches, b)
			g.TopicIDs = s.knownTopicIDs(ranges, g.TopicIDs)
		}
	}
	keep(s.generatedRanges)
	keep(s.replay) // restored and not generated again yet
	s.mu.Unlock()
	slices.SortFunc(g.Batches, func(a, b generatedBatch) int { return cmp.Compare(a.Time, b.Time) })
	out, err := msgpack.Marshal(&g)
	if err != nil {
		return nil, fmt.Errorf("kafka: batches generated after %s: %w", dstream.FormatTime(after), err)
	}
	return out, nil
}

// RestoreGenerated makes the batches named by ranges written by
// GeneratedPositions read exactly those ranges when they are generated
// again after a restart, before Start. Batches it does not name (those
// that fell due while the program was down) start where the previous
// batch ended.
func (s *DirectStream[K, V]) RestoreGenerated(b []byte) error {
	replay, ids, err := decodeGenerated(b)
	if err != nil {
		return err
	}
	return s.beforeStart(func() {
		s.replay = replay
		maps.Copy(s.topicIDs, ids)
	})
}

func decodeGenerated(b []byte) (map[int64][]OffsetRange, map[string]kadm.TopicID, error) {
	var g generatedBatches
	if err := msgpack.Unmarshal(b, &g); err != nil {
		return nil, nil, fmt.Errorf("%w: generated batches: %w", ErrInvalidPosition, err)
	}
	if g.Version != generatedVersion {
		return nil, nil, fmt.Errorf("%w: generated batches: version %d, want %d", ErrInvalidPosition, g.Version, generatedVersion)
	}
	replay := make(map[int64][]OffsetRange, len(g.Batches))
	for _, gb := range g.Batches {
		ranges := make([]OffsetRange, len(gb.Ranges))
		for i, r := range gb.Ranges {
			if r.Topic == "" || r.Partition < 0 || r.From < 0 || r.Until < r.From {
				return nil, nil, fmt.Errorf("%w: generated batch %s: bad range %+v", ErrInvalidPosition, dstream.FormatTime(time.Unix(0, gb.Time).UTC()), r)
			}
			ranges[i] = OffsetRange{Topic: r.Topic, Partition: r.Partition, FromOffset: r.From, UntilOffset: r.Until}
		}
		replay[gb.Time] = ranges
	}
	ids, err := topicIDMap(g.TopicIDs)
	if err != nil {
		return nil, nil, fmt.Errorf("generated batches: %w", err)
	}
	return replay, ids, nil
}
