package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	streaming "github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/rdd"
	"github.com/sluice-io/sluice/receivers"
)

// keepCompletedBatches is how many completed batches keep their offset
// ranges for OffsetRanges and CheckpointPosition.
const keepCompletedBatches = 16

// DirectStream is a Kafka input stream without receiver, Spark's
// DirectKafkaInputDStream. At each batch time the driver lists the end
// offsets of every partition and fixes the batch's offset range per
// partition; the batch's RDD has one partition per Kafka partition, and the
// task computing it fetches exactly that range. Nothing is read before the
// batch runs, nothing is buffered, no write-ahead log is needed: the ranges
// are the batch.
//
// Build it with NewDirectStream, use Stream() like any DStream. It
// implements the context's Input, BatchCompletionHandler and
// BatchMetadataProvider, CheckpointPosition/RestorePosition and
// GeneratedPositions/RestoreGenerated.
type DirectStream[K, V any] struct {
	ssc      *streaming.StreamingContext
	stream   dstream.DStream[Record[K, V]]
	brokers  []string
	strategy ConsumerStrategy
	keys     Decoder[K]
	values   Decoder[V]
	cfg      config
	log      hclog.Logger
	interval time.Duration

	mu        sync.Mutex
	runCtx    context.Context
	cancel    context.CancelFunc
	client    *kgo.Client // the driver's client: metadata, offsets, commits
	admin     *kadm.Client
	next      map[TopicPartition]int64 // where the next batch starts, per known partition
	restored  map[TopicPartition]int64 // from RestorePosition, used once
	generated bool                     // a batch has been generated
	batches   map[int64]*batchRanges   // by batch time (Unix ns)
	completed []int64                  // completed batch times, oldest first
	estimator *receivers.PIDRateEstimator
	rateLimit float64                 // backpressure rate in records/s; 0 when none yet
	missing   map[string]bool         // topics reported missing
	topicIDs  map[string]kadm.TopicID // by topic name, as first seen
	truncated error                   // an ErrLogTruncated failing every batch
	skipped   int64
	closers   []func()
	committer *committer
	// failedFrom holds, per partition, the first offset of the earliest
	// failed batch's range: automatic commits stop there, so a program
	// restarted from the group reads the failed records again.
	failedFrom map[TopicPartition]int64
	started    bool
	stopped    bool
	workers    sync.WaitGroup

	// generatedRanges holds the ranges of the batches generated since the
	// recovery point (GeneratedPositions), by batch time (Unix ns), and
	// replay those restored by RestoreGenerated and not generated again
	// yet.
	generatedRanges map[int64][]OffsetRange
	replay          map[int64][]OffsetRange
	// generatedAsked is set once GeneratedPositions is called: the
	// context checkpoints, and forgets generatedRanges itself.
	generatedAsked bool

	// transactional is set by SaveToKafkaTransactional: after a restart
	// from a checkpoint, the group's offsets win (groupFloor).
	transactional bool
	// groupFloor holds, once read at the first batch after a restart from
	// a checkpoint of a transactional stream, the group's committed
	// offsets: no batch reads below them again.
	groupFloor map[TopicPartition]int64
}

// batchRanges is what one batch took.
type batchRanges struct {
	time   time.Time // the batch time, for errors
	ranges []OffsetRange
	// next is where every partition known stands after the batch (the
	// ranges' ends, and the others where they were): its checkpoint
	// position. A partition missing from one batch (its topic's metadata
	// failed for a moment) is still in it.
	next    map[TopicPartition]int64
	rddID   int64
	skipped map[TopicPartition]map[int64]bool // offsets skipped by decoding
}

// NewDirectStream returns a direct stream of the records of the partitions
// strategy selects on the cluster at brokers ("host:port" seeds), with keys
// and values decoded by keys and values. Spark's
// KafkaUtils.createDirectStream. It registers the stream with ssc (only
// before Start); the stream starts and stops with the context.
//
// Where each partition starts, first match wins: the position given to
// RestorePosition (a checkpoint), the offsets of the strategy (the user's
// own store), the group's committed offsets (WithGroup), then the latest
// offset (WithStartFromEarliest: the earliest). A stream whose output goes
// through SaveToKafkaTransactional and is restored from a checkpoint never
// reads below the group's committed offsets: a re-run batch whose range
// the group already committed reads nothing (or the part after them).
func NewDirectStream[K, V any](ssc *streaming.StreamingContext, brokers []string, strategy ConsumerStrategy,
	keys Decoder[K], values Decoder[V], opts ...Option) (*DirectStream[K, V], error) {
	if len(brokers) == 0 {
		return nil, fmt.Errorf("%w: no seed brokers", ErrInvalidOption)
	}
	if keys == nil || values == nil {
		return nil, fmt.Errorf("%w: nil decoder", ErrInvalidOption)
	}
	if err := strategy.validate(); err != nil {
		return nil, err
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.logger == nil {
		cfg.logger = ssc.Logger().Named("kafka")
	}
	s := &DirectStream[K, V]{
		ssc: ssc, brokers: slices.Clone(brokers), strategy: strategy, keys: keys, values: values,
		cfg: cfg, log: cfg.logger, interval: ssc.BatchInterval(),
		next: map[TopicPartition]int64{}, batches: map[int64]*batchRanges{}, missing: map[string]bool{}, failedFrom: map[TopicPartition]int64{},
		topicIDs: map[string]kadm.TopicID{}, generatedRanges: map[int64][]OffsetRange{},
	}
	if cfg.backpressure {
		est, err := receivers.NewPIDRateEstimator(s.interval, receivers.DefaultPIDConfig())
		if err != nil {
			return nil, fmt.Errorf("kafka: backpressure: %w", err)
		}
		s.estimator = est
	}
	s.stream = streaming.NewInputStream[Record[K, V]](ssc, "KafkaDirectStream", s)
	return s, nil
}

// Stream returns the stream of records.
func (s *DirectStream[K, V]) Stream() dstream.DStream[Record[K, V]] { return s.stream }

// ID returns the input stream's ID, the key of its entries in
// BatchInfo.InputRecords and BatchInfo.InputMetadata.
func (s *DirectStream[K, V]) ID() int { return s.stream.ID() }

// Group returns the consumer group of WithGroup, or "".
func (s *DirectStream[K, V]) Group() string { return s.cfg.group }

func (s *DirectStream[K, V]) clientOpts(extra ...kgo.Opt) []kgo.Opt {
	opts := []kgo.Opt{kgo.SeedBrokers(s.brokers...)}
	opts = append(opts, s.cfg.clientOpts...)
	return append(opts, extra...)
}

// Start creates the driver's client and waits, retrying with backoff, until
// a broker answers or WithStartTimeout passes (ErrBrokerUnreachable).
func (s *DirectStream[K, V]) Start(ctx context.Context) error {
	// The driver lists partitions at every batch: metadata at most 10ms old,
	// so that new topics and partitions are seen at the next batch.
	opts := append([]kgo.Opt{kgo.SeedBrokers(s.brokers...), kgo.MetadataMinAge(10 * time.Millisecond)}, s.cfg.clientOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka: creating client: %w", err)
	}
	if err := pingWithBackoff(ctx, cl, s.cfg.startTimeout); err != nil {
		cl.Close()
		return fmt.Errorf("kafka: starting %s on %v: %w", s.strategy, s.brokers, err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	s.client, s.admin, s.runCtx, s.cancel, s.started = cl, kadm.NewClient(cl), runCtx, cancel, true
	if s.cfg.group != "" {
		s.committer = newCommitter(s.admin, s.cfg.group, s.cfg.requestTimeout, s.log)
		s.workers.Go(s.committer.run)
	}
	fresh := s.restored == nil && s.replay == nil
	s.mu.Unlock()
	if fresh {
		s.fixStartOffsets(ctx)
	}
	return nil
}

// fixStartOffsets fixes, at Start, where the partitions known then start
// (the strategy's offsets, the group's, or the latest or earliest), as
// Spark's DirectKafkaInputDStream.start does: records written between
// Start and the first batch are that batch's. If the brokers do not answer
// in time, the first batch fixes them instead.
func (s *DirectStream[K, V]) fixStartOffsets(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.requestTimeout)
	defer cancel()
	parts, _, err := s.partitions(ctx)
	var from map[TopicPartition]int64
	if err == nil {
		from, err = s.startOffsets(ctx, parts)
	}
	if err != nil {
		s.log.Warn("starting offsets not listed at start; the first batch lists them", "error", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for tp, o := range from {
		if _, ok := s.next[tp]; !ok {
			s.next[tp] = o
		}
	}
}

// pingWithBackoff pings until a broker answers, backing off from 50ms to 2s,
// for at most bound.
func pingWithBackoff(ctx context.Context, cl *kgo.Client, bound time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	backoff := 50 * time.Millisecond
	var last error
	for attempt := 1; ; attempt++ {
		pctx, pcancel := context.WithTimeout(ctx, min(bound, 5*time.Second))
		last = cl.Ping(pctx)
		pcancel()
		if last == nil {
			return nil
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w after %d attempts in %v: %v", ErrBrokerUnreachable, attempt, bound, last)
		case <-t.C:
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// Stop stops the stream. Stop(true), which the context calls when a
// graceful stop begins while batches still run and may still be generated
// to drain other inputs, does nothing: a direct stream receives nothing
// between batches, so there is nothing to stop taking, and the running
// batches still need the clients to fetch their ranges and the committer
// to commit them. Stop(false), which the context calls once no batch runs,
// sends the pending commits, then closes every client and cancels the
// fetches still running.
func (s *DirectStream[K, V]) Stop(graceful bool) {
	if h := s.cfg.stopHook; h != nil {
		defer h(graceful)
	}
	if graceful {
		return
	}
	s.mu.Lock()
	if s.stopped || !s.started {
		s.stopped = true
		s.mu.Unlock()
		return
	}
	s.stopped = true
	closers := s.closers
	s.closers = nil
	c := s.committer
	s.mu.Unlock()
	if c != nil {
		c.stop()
	}
	s.workers.Wait()
	for _, f := range closers {
		f()
	}
	s.cancel()
	s.client.Close()
	for _, b := range s.batchesSnapshot() {
		rangesByRDD.Delete(b.rddID)
	}
}

func (s *DirectStream[K, V]) batchesSnapshot() []*batchRanges {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*batchRanges, 0, len(s.batches))
	for _, b := range s.batches {
		out = append(out, b)
	}
	return out
}

// Pending is always false: a direct stream holds no records between
// batches, what is not read yet stays in Kafka.
func (s *DirectStream[K, V]) Pending() bool { return false }

// addCloser registers f to run when the stream stops (the transactional
// output's producer).
func (s *DirectStream[K, V]) addCloser(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return false
	}
	s.closers = append(s.closers, f)
	return true
}

// ConsumesInput marks the stream as dstream.Consuming: a batch takes the
// offsets after the previous batch's, so the stream is not asked for a
// batch time already past (a window recomputing batches before a recovery
// point gets nothing there, not the records of the next batch).
func (s *DirectStream[K, V]) ConsumesInput() {}

// Compute fixes the batch's offset ranges and returns its RDD, whose
// partitions fetch the ranges when computed. A batch re-run after a
// restart reads the ranges it read before (RestoreGenerated). An error
// (brokers unreachable, offsets not listed) fails the batch without moving any offset; a
// partition truncated or a topic recreated (ErrLogTruncated) fails it and
// every later batch.
func (s *DirectStream[K, V]) Compute(batchTime time.Time) (*rdd.RDD[Record[K, V]], int64, error) {
	s.mu.Lock()
	runCtx := s.runCtx
	s.mu.Unlock()
	if runCtx == nil {
		return nil, 0, fmt.Errorf("kafka: batch %s: stream not started", dstream.FormatTime(batchTime))
	}
	ctx, cancel := context.WithTimeout(runCtx, s.cfg.requestTimeout)
	defer cancel()
	err := s.loadGroupFloor(ctx)
	ranges, replayed := s.replayedRanges(batchTime)
	switch {
	case err != nil:
	case replayed:
		err = s.checkReplayed(ctx, ranges)
	default:
		ranges, err = s.nextRanges(ctx)
	}
	if err != nil {
		if runCtx.Err() == nil {
			// The batch is generated, failed: a restart runs it again with
			// what it read now (nothing, or its replayed ranges), not with
			// fresh ranges from the recovery point's position, which would
			// overlap the next batch's.
			if !replayed {
				ranges = nil
			}
			s.mu.Lock()
			s.rememberGenerated(batchTime, ranges)
			s.mu.Unlock()
		}
		var kafkaErr *kerr.Error
		if runCtx.Err() == nil && !errors.Is(err, ErrLogTruncated) && !errors.Is(err, ErrUnknownPartition) && (ctx.Err() != nil || !errors.As(err, &kafkaErr)) {
			// Not an answer from a broker: a timeout or a connection error.
			err = fmt.Errorf("%w: %w", ErrBrokerUnreachable, err)
		}
		return nil, 0, fmt.Errorf("kafka: %s at batch %s: %w", s.strategy, dstream.FormatTime(batchTime), err)
	}
	var records int64
	for _, r := range ranges {
		records += r.Count()
	}
	b := &batchRanges{time: batchTime, ranges: ranges}
	r := s.rddOf(runCtx, b)
	b.rddID = r.ID()
	rangesByRDD.Store(b.rddID, slices.Clone(ranges))
	s.mu.Lock()
	for _, o := range ranges {
		s.next[o.TopicPartition()] = o.UntilOffset
	}
	b.next = maps.Clone(s.next)
	s.generated = true
	s.batches[batchTime.UnixNano()] = b
	s.rememberGenerated(batchTime, ranges)
	s.mu.Unlock()
	s.log.Debug("batch offset ranges", "batch", dstream.FormatTime(batchTime), "ranges", ranges, "records", records)
	return r, records, nil
}

// checkReplayed fails a batch re-run after a restart, whose ranges are
// those it read before, when a topic of them was recreated since: the
// offsets name other records now.
func (s *DirectStream[K, V]) checkReplayed(ctx context.Context, ranges []OffsetRange) error {
	_, recreated, err := s.partitions(ctx)
	if err != nil {
		return err
	}
	for _, o := range ranges {
		if ids, ok := recreated[o.Topic]; ok {
			return s.markTruncated(fmt.Errorf("%w: %s: topic recreated (topic ID %s, was %s): the batch, re-run after the restart, read offsets [%d, %d) of the old topic: restart from a valid position",
				ErrLogTruncated, o.TopicPartition(), ids[1], ids[0], o.FromOffset, o.UntilOffset))
		}
	}
	return nil
}

// replayedRanges returns the ranges batch batchTime read before the
// restart, and forgets them; false if RestoreGenerated named none.
func (s *DirectStream[K, V]) replayedRanges(batchTime time.Time) ([]OffsetRange, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ranges, ok := s.replay[batchTime.UnixNano()]
	if ok {
		delete(s.replay, batchTime.UnixNano())
		ranges = slices.Clone(ranges)
		for i := range ranges {
			if f, ok := s.groupFloor[ranges[i].TopicPartition()]; ok && f > ranges[i].FromOffset {
				ranges[i].FromOffset = min(f, ranges[i].UntilOffset)
			}
		}
	}
	return ranges, ok
}

// loadGroupFloor reads, once, the group's committed offsets into
// s.groupFloor if the stream is transactional and restored from a
// checkpoint: the transactions of SaveToKafkaTransactional committed them
// with their output, so they are the truth, and the checkpoint may be
// behind them (its batch's transaction committed, the process died before
// the checkpoint was written).
func (s *DirectStream[K, V]) loadGroupFloor(ctx context.Context) error {
	s.mu.Lock()
	need := s.transactional && s.groupFloor == nil && (s.restored != nil || s.replay != nil)
	s.mu.Unlock()
	if !need {
		return nil
	}
	committed, err := s.admin.FetchOffsets(ctx, s.cfg.group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		committed, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("%w: committed offsets of group %q: %w", ErrListOffsets, s.cfg.group, err)
	}
	floor := map[TopicPartition]int64{}
	committed.Each(func(o kadm.OffsetResponse) {
		if o.Err == nil && o.At >= 0 {
			floor[TopicPartition{o.Topic, o.Partition}] = o.At
		}
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groupFloor == nil {
		s.groupFloor = floor
		if len(floor) > 0 {
			s.log.Info("transactional output: resuming from the group's committed offsets", "group", s.cfg.group, "offsets", floor)
		}
	}
	return nil
}

// rddOf returns the RDD reading the ranges of b: one partition per range.
func (s *DirectStream[K, V]) rddOf(ctx context.Context, b *batchRanges) *rdd.RDD[Record[K, V]] {
	r := rdd.Generate(len(b.ranges), func(taskCtx context.Context, p int, yield func(Record[K, V]) bool) error {
		// The task stops with the job (taskCtx) or with the stream (ctx).
		fetchCtx, cancel := context.WithCancel(taskCtx)
		defer cancel()
		stop := context.AfterFunc(ctx, cancel)
		defer stop()
		if err := s.fetch(fetchCtx, b.ranges[p], b, yield); err != nil && !errors.Is(err, errStopYield) {
			return err
		}
		return nil
	})
	return r.SetName("KafkaRDD")
}

// nextRanges lists partitions and end offsets and returns the ranges of the
// next batch, sorted by topic and partition. It does not move s.next.
func (s *DirectStream[K, V]) nextRanges(ctx context.Context) ([]OffsetRange, error) {
	s.mu.Lock()
	truncated := s.truncated
	s.mu.Unlock()
	if truncated != nil {
		return nil, truncated
	}
	parts, recreated, err := s.partitions(ctx)
	if err != nil {
		return nil, err
	}
	topics := topicsOf(parts)
	if len(topics) == 0 {
		return nil, nil
	}
	var ends kadm.ListedOffsets
	if s.cfg.readCommitted {
		ends, err = s.admin.ListCommittedOffsets(ctx, topics...)
	} else {
		ends, err = s.admin.ListEndOffsets(ctx, topics...)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrListOffsets, err)
	}
	from, err := s.startOffsets(ctx, parts)
	if err != nil {
		return nil, err
	}
	ranges := make([]OffsetRange, 0, len(parts))
	lag := map[TopicPartition]int64{}
	for _, tp := range parts {
		end, err := listedOffset(ends, tp, "end offset")
		if err != nil {
			return nil, err
		}
		f := from[tp]
		if ids, ok := recreated[tp.Topic]; ok {
			return nil, s.markTruncated(fmt.Errorf("%w: %s: topic recreated (topic ID %s, was %s): the stream was at offset %d, the new log ends at offset %d: restart from a valid position",
				ErrLogTruncated, tp, ids[1], ids[0], f, end))
		}
		if f > end {
			// The topic was recreated or its log truncated: waiting for the
			// log to grow past f would skip the new records before it.
			return nil, s.markTruncated(fmt.Errorf("%w: %s: start offset %d is after the end offset %d; the topic was recreated or truncated, or the starting offset is wrong: restart from a valid position",
				ErrLogTruncated, tp, f, end))
		}
		ranges = append(ranges, OffsetRange{Topic: tp.Topic, Partition: tp.Partition, FromOffset: f, UntilOffset: end})
		lag[tp] = end - f
	}
	if limits := s.maxMessagesPerPartition(lag); limits != nil {
		for i := range ranges {
			if m, ok := limits[ranges[i].TopicPartition()]; ok && ranges[i].Count() > m {
				ranges[i].UntilOffset = ranges[i].FromOffset + m
			}
		}
	}
	return ranges, nil
}

// partitions returns the partitions the strategy selects now, sorted, and
// the topics whose ID changed since the stream first saw them, by name,
// with their old and new IDs.
func (s *DirectStream[K, V]) partitions(ctx context.Context) ([]TopicPartition, map[string][2]kadm.TopicID, error) {
	var md kadm.Metadata
	var err error
	var parts []TopicPartition
	assigned := len(s.strategy.assign) > 0
	switch {
	case assigned:
		// Only for the topic IDs: the partitions are the ones assigned.
		parts = slices.SortedFunc(slices.Values(s.strategy.assign), compareTP)
		md, err = s.admin.Metadata(ctx, topicsOf(parts)...)
	case s.strategy.pattern != nil:
		md, err = s.admin.Metadata(ctx)
	default:
		md, err = s.admin.Metadata(ctx, s.strategy.topics...)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: metadata: %w", ErrListOffsets, err)
	}
	var recreated map[string][2]kadm.TopicID
	for name, td := range md.Topics {
		if s.strategy.pattern != nil && (td.IsInternal || strings.HasPrefix(name, "__") || !s.strategy.pattern.MatchString(name)) {
			continue
		}
		if td.Err != nil {
			if !assigned { // an assigned partition's listing fails below
				s.reportMissing(name, td.Err)
			}
			continue
		}
		if old, changed := s.checkTopicID(name, td.ID); changed {
			if recreated == nil {
				recreated = map[string][2]kadm.TopicID{}
			}
			recreated[name] = [2]kadm.TopicID{old, td.ID}
		}
		if !assigned {
			for p := range td.Partitions {
				parts = append(parts, TopicPartition{name, p})
			}
		}
	}
	slices.SortFunc(parts, compareTP)
	return slices.Compact(parts), recreated, nil
}

// checkTopicID remembers the ID of topic the first time it is seen and
// reports whether it changed since, and from what: the topic was deleted
// and created again, so the offsets the stream reached name other records,
// or none yet.
func (s *DirectStream[K, V]) checkTopicID(topic string, id kadm.TopicID) (kadm.TopicID, bool) {
	if id == (kadm.TopicID{}) { // a broker without topic IDs
		return id, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.topicIDs[topic]
	if !ok {
		s.topicIDs[topic] = id
		return id, false
	}
	return old, old != id
}

// markTruncated makes err the error of this batch and of every later one.
func (s *DirectStream[K, V]) markTruncated(err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.truncated == nil {
		s.truncated = err
	}
	return s.truncated
}

// reportMissing logs once that a subscribed topic cannot be read; its
// partitions are picked up when it appears.
func (s *DirectStream[K, V]) reportMissing(topic string, err error) {
	s.mu.Lock()
	first := !s.missing[topic]
	s.missing[topic] = true
	s.mu.Unlock()
	if first {
		s.log.Warn("subscribed topic not readable; it is picked up when it exists", "topic", topic, "error", err)
	}
}

func compareTP(a, b TopicPartition) int {
	if c := strings.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return int(a.Partition) - int(b.Partition)
}

func topicsOf(parts []TopicPartition) []string {
	var topics []string
	for _, tp := range parts {
		if len(topics) == 0 || topics[len(topics)-1] != tp.Topic {
			topics = append(topics, tp.Topic)
		}
	}
	return topics
}

// startOffsets returns where each partition's next range starts: s.next for
// known partitions, else the first of: restored position, user offsets,
// group offsets, the reset policy; never below s.groupFloor (a
// transactional stream restored from a checkpoint).
func (s *DirectStream[K, V]) startOffsets(ctx context.Context, parts []TopicPartition) (map[TopicPartition]int64, error) {
	s.mu.Lock()
	from := make(map[TopicPartition]int64, len(parts))
	var unknown []TopicPartition
	for _, tp := range parts {
		if o, ok := s.next[tp]; ok {
			from[tp] = max(o, s.groupFloor[tp])
			continue
		}
		if o, ok := s.restored[tp]; ok {
			from[tp] = max(o, s.groupFloor[tp])
			continue
		}
		if o, ok := s.strategy.offsets[tp]; ok {
			from[tp] = o
			continue
		}
		unknown = append(unknown, tp)
	}
	resuming := s.generated || s.restored != nil || len(s.strategy.offsets) > 0
	s.mu.Unlock()
	if len(unknown) == 0 {
		return from, nil
	}
	if s.cfg.group != "" {
		committed, err := s.admin.FetchOffsets(ctx, s.cfg.group)
		if errors.Is(err, kerr.GroupIDNotFound) {
			committed, err = nil, nil // a new group: nothing committed yet
		}
		if err != nil {
			return nil, fmt.Errorf("%w: committed offsets of group %q: %w", ErrListOffsets, s.cfg.group, err)
		}
		if len(committed) > 0 {
			resuming = true
		}
		rest := unknown[:0]
		for _, tp := range unknown {
			if o, ok := committed.Lookup(tp.Topic, tp.Partition); ok && o.Err == nil && o.At >= 0 {
				from[tp] = o.At
			} else {
				rest = append(rest, tp)
			}
		}
		unknown = rest
	}
	if len(unknown) == 0 {
		return from, nil
	}
	var listed kadm.ListedOffsets
	var err error
	if resuming || s.cfg.startFromEarliest {
		listed, err = s.admin.ListStartOffsets(ctx, topicsOf(unknown)...)
	} else if s.cfg.readCommitted {
		listed, err = s.admin.ListCommittedOffsets(ctx, topicsOf(unknown)...)
	} else {
		listed, err = s.admin.ListEndOffsets(ctx, topicsOf(unknown)...)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: starting offsets: %w", ErrListOffsets, err)
	}
	for _, tp := range unknown {
		off, err := listedOffset(listed, tp, "starting offset")
		if err != nil {
			return nil, err
		}
		from[tp] = off
		s.log.Info("partition starts", "partition", tp.String(), "offset", off)
	}
	return from, nil
}

// maxMessagesPerPartition is Spark's DirectKafkaInputDStream
// .maxMessagesPerPartition: the most records each partition may give a batch
// under the backpressure rate and the maximum rate, or nil for no bound.
func (s *DirectStream[K, V]) maxMessagesPerPartition(lag map[TopicPartition]int64) map[TopicPartition]int64 {
	s.mu.Lock()
	rate := s.rateLimit
	s.mu.Unlock()
	if rate <= 0 && s.cfg.backpressure {
		rate = s.cfg.initialRate // no estimate yet
	}
	return maxMessagesPerPartition(lag, rate, s.cfg.maxRatePerPartition, s.cfg.minRatePerPartition, s.interval)
}

func maxMessagesPerPartition(lag map[TopicPartition]int64, backpressureRate, maxRate float64, minRate int64, interval time.Duration) map[TopicPartition]int64 {
	perPartition := map[TopicPartition]float64{}
	switch {
	case backpressureRate > 0:
		var total int64
		for _, l := range lag {
			total += l
		}
		for tp, l := range lag {
			r := 0.0
			if total > 0 {
				r = float64(l) / float64(total) * backpressureRate
			}
			if maxRate > 0 {
				r = math.Min(r, maxRate)
			}
			perPartition[tp] = r
		}
	case maxRate > 0:
		for tp := range lag {
			perPartition[tp] = maxRate
		}
	default:
		return nil
	}
	secs := interval.Seconds()
	out := make(map[TopicPartition]int64, len(perPartition))
	for tp, r := range perPartition {
		out[tp] = max(int64(secs*r), int64(math.Ceil(secs*float64(minRate))))
	}
	return out
}

// BatchMetadata returns the batch's offset ranges ([]OffsetRange), which
// listeners find in BatchInfo.InputMetadata under the stream's ID.
func (s *DirectStream[K, V]) BatchMetadata(batchTime time.Time) any {
	ranges, err := s.OffsetRanges(batchTime)
	if err != nil {
		return nil
	}
	return ranges
}

// OffsetRanges returns the offset ranges of the batch at batchTime, Spark's
// HasOffsetRanges, sorted by topic and partition. Ranges are kept from the
// batch's generation until 16 batches after it completed.
func (s *DirectStream[K, V]) OffsetRanges(batchTime time.Time) ([]OffsetRange, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.batches[batchTime.UnixNano()]
	if !ok {
		return nil, fmt.Errorf("%w %s", ErrUnknownBatch, dstream.FormatTime(batchTime))
	}
	return slices.Clone(b.ranges), nil
}

// SkippedRecords returns how many records the decoders refused and
// WithSkipBadRecords skipped, since the stream was created.
func (s *DirectStream[K, V]) SkippedRecords() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.skipped
}

// BatchCompleted commits the batch's offsets to the group (WithGroup) if
// the batch had no failure, and feeds the backpressure estimator.
func (s *DirectStream[K, V]) BatchCompleted(info streaming.BatchInfo) {
	key := info.BatchTime.UnixNano()
	s.mu.Lock()
	b := s.batches[key]
	if b != nil {
		s.completed = append(s.completed, key)
		for len(s.completed) > keepCompletedBatches {
			old := s.completed[0]
			s.completed = s.completed[1:]
			if ob := s.batches[old]; ob != nil {
				rangesByRDD.Delete(ob.rddID)
			}
			delete(s.batches, old)
		}
	}
	c, est := s.committer, s.estimator
	s.mu.Unlock()
	if b == nil {
		return
	}
	if err := info.Err(); err != nil {
		s.log.Warn("batch failed; its offsets are not committed, nor those after them", "batch", dstream.FormatTime(info.BatchTime), "error", err)
		s.mu.Lock()
		for _, o := range b.ranges {
			if f, ok := s.failedFrom[o.TopicPartition()]; o.Count() > 0 && (!ok || o.FromOffset < f) {
				s.failedFrom[o.TopicPartition()] = o.FromOffset
			}
		}
		s.mu.Unlock()
		return
	}
	if c != nil && s.cfg.commitOnCompletion {
		ranges := b.ranges
		s.mu.Lock()
		if len(s.failedFrom) > 0 {
			ranges = slices.Clone(ranges)
			for i, o := range ranges {
				if f, ok := s.failedFrom[o.TopicPartition()]; ok && o.UntilOffset > f {
					ranges[i].UntilOffset = f // the commit is the next offset to read
				}
			}
		}
		s.mu.Unlock()
		c.enqueue(ranges, nil)
	}
	if est != nil {
		if rate, ok := est.Compute(info.ProcessingEndTime, info.InputRecords[s.ID()], info.ProcessingDelay(), info.SchedulingDelay()); ok {
			s.mu.Lock()
			s.rateLimit = rate
			s.mu.Unlock()
		}
	}
}

// CommitAsync queues the ends of ranges for commit to the group, Spark's
// CanCommitOffsets.commitAsync: call it from ForeachRDD once the batch's
// outputs are stored. callback, if not nil, gets the result. Commits are
// sent in order by one goroutine and merged: a later commit of a partition
// replaces an earlier one not sent yet. Without WithGroup, callback gets
// ErrInvalidOption.
func (s *DirectStream[K, V]) CommitAsync(ranges []OffsetRange, callback func(error)) {
	s.mu.Lock()
	c := s.committer
	s.mu.Unlock()
	if c == nil {
		if callback != nil {
			callback(fmt.Errorf("%w: CommitAsync needs WithGroup and a started stream", ErrInvalidOption))
		}
		return
	}
	c.enqueue(ranges, callback)
}

// rangesByRDD maps the ID of every KafkaRDD still remembered to its ranges.
var rangesByRDD sync.Map

// OffsetRangesOf returns the offset ranges of r if r is the RDD of a direct
// stream's batch (the RDD ForeachRDD gets on the stream itself, before any
// transformation), Spark's rdd.asInstanceOf[HasOffsetRanges].offsetRanges.
func OffsetRangesOf[T any](r *rdd.RDD[T]) ([]OffsetRange, bool) {
	if r == nil {
		return nil, false
	}
	v, ok := rangesByRDD.Load(r.ID())
	if !ok {
		return nil, false
	}
	return slices.Clone(v.([]OffsetRange)), true
}

// listedOffset returns tp's offset in a broker's answer, what naming it in
// the error: the partition's own Kafka error, or ErrUnknownPartition when
// the answer does not have it.
func listedOffset(listed kadm.ListedOffsets, tp TopicPartition, what string) (int64, error) {
	lo, ok := listed.Lookup(tp.Topic, tp.Partition)
	switch {
	case !ok:
		return 0, fmt.Errorf("%w: %s of %s: %w", ErrListOffsets, what, tp, ErrUnknownPartition)
	case lo.Err != nil:
		return 0, fmt.Errorf("%w: %s of %s: %w", ErrListOffsets, what, tp, lo.Err)
	}
	return lo.Offset, nil
}
