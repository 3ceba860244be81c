package kafka

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/rdd"
)

// TxnOption configures SaveToKafkaTransactional.
type TxnOption interface{ applyTxn(*txnConfig) }

type txnOptionFunc func(*txnConfig)

func (f txnOptionFunc) applyTxn(c *txnConfig) { f(c) }

type txnConfig struct {
	clientOpts []kgo.Opt
	timeout    time.Duration
	// hook, when set (tests), runs at each step and may fail it; a
	// returned errCrash leaves the transaction open and the producer
	// closed, as a process killed there would.
	hook func(step string) error
}

// WithProducerOptions adds franz-go options to the transactional producer
// (TLS, SASL, compression). The seed brokers and the transactional ID are
// set already; the default adds none.
func WithProducerOptions(opts ...kgo.Opt) TxnOption {
	return txnOptionFunc(func(c *txnConfig) { c.clientOpts = append(c.clientOpts, opts...) })
}

// WithTransactionTimeout sets the transaction timeout (transaction.timeout.ms):
// how long the brokers keep a transaction of a vanished producer open before
// aborting it. The default is franz-go's, 40s.
func WithTransactionTimeout(d time.Duration) TxnOption {
	return txnOptionFunc(func(c *txnConfig) { c.timeout = d })
}

// errCrash is returned by a test hook to simulate a crash.
var errCrash = errors.New("kafka: simulated crash")

// SaveToKafkaTransactional is an output operation that writes each batch of
// out to Kafka exactly once, from topic to topic: in one Kafka transaction
// it produces toRecord of every element of the batch and commits the
// offsets of src's batch of the same time to src's group. Either both are
// visible to read_committed readers or neither is, so a crash anywhere
// neither loses nor doubles a record: a restarted program, started from the
// group's offsets (WithGroup on src, with WithManualCommit so that only the
// transaction commits), reprocesses exactly the batches whose transaction
// did not commit. This holds with a checkpoint directory too: the group's
// offsets win over the checkpoint, which may be behind them (a batch's
// transaction committed, the process died before its checkpoint was
// written), so a batch re-run after the restart reads only what is past
// the group's offsets, nothing if its range was committed already.
//
// out must be computed from src batch for batch (map, filter, reduceByKey;
// no window), and transactionalID must be stable across restarts of the
// program and unique to it: a new producer with the same ID fences the old
// one and aborts its open transaction. toRecord's Topic must be set (or
// kgo.DefaultProduceTopic given to WithProducerOptions). The producer is
// created at the first batch and closed when src stops.
func SaveToKafkaTransactional[T, K, V any](out dstream.DStream[T], src *DirectStream[K, V], transactionalID string,
	toRecord func(T) *kgo.Record, opts ...TxnOption) error {
	if src.cfg.group == "" {
		return fmt.Errorf("%w: SaveToKafkaTransactional needs a group on the source stream (WithGroup)", ErrInvalidOption)
	}
	if transactionalID == "" || toRecord == nil {
		return fmt.Errorf("%w: SaveToKafkaTransactional needs a transactional ID and a toRecord function", ErrInvalidOption)
	}
	var cfg txnConfig
	for _, o := range opts {
		if o != nil {
			o.applyTxn(&cfg)
		}
	}
	src.mu.Lock()
	src.transactional = true
	src.mu.Unlock()
	w := &txnWriter[T, K, V]{src: src, id: transactionalID, toRecord: toRecord, cfg: cfg}
	out.ForeachRDD(w.writeBatch)
	return nil
}

type txnWriter[T, K, V any] struct {
	src      *DirectStream[K, V]
	id       string
	toRecord func(T) *kgo.Record
	cfg      txnConfig

	mu sync.Mutex
	cl *kgo.Client
}

func (w *txnWriter[T, K, V]) producer() (*kgo.Client, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cl != nil {
		return w.cl, nil
	}
	opts := w.src.clientOpts(kgo.TransactionalID(w.id), kgo.RequiredAcks(kgo.AllISRAcks()))
	if w.cfg.timeout > 0 {
		opts = append(opts, kgo.TransactionTimeout(w.cfg.timeout))
	}
	cl, err := kgo.NewClient(append(opts, w.cfg.clientOpts...)...)
	if err != nil {
		return nil, err
	}
	if !w.src.addCloser(w.close) {
		cl.Close()
		return nil, fmt.Errorf("%w: stream stopped", ErrTransaction)
	}
	w.cl = cl
	return cl, nil
}

func (w *txnWriter[T, K, V]) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cl != nil {
		w.cl.Close()
		w.cl = nil
	}
}

func (w *txnWriter[T, K, V]) step(name string) error {
	if w.cfg.hook == nil {
		return nil
	}
	return w.cfg.hook(name)
}

// writeBatch is one transaction: begin, produce, add the offsets, commit.
func (w *txnWriter[T, K, V]) writeBatch(ctx context.Context, r *rdd.RDD[T], batchTime time.Time) error {
	ranges, err := w.src.OffsetRanges(batchTime)
	if err != nil {
		return fmt.Errorf("%w: batch %s: %w", ErrTransaction, dstream.FormatTime(batchTime), err)
	}
	cl, err := w.producer()
	if err != nil {
		return fmt.Errorf("%w: batch %s: producer: %w", ErrTransaction, dstream.FormatTime(batchTime), err)
	}
	fail := func(step string, err error) error {
		if errors.Is(err, errCrash) {
			w.close() // vanish with the transaction open
		} else {
			actx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_ = cl.AbortBufferedRecords(actx)
			if aerr := cl.EndTransaction(actx, kgo.TryAbort); aerr != nil {
				w.close() // the next batch starts a new producer, which fences this one
			}
			cancel()
		}
		return fmt.Errorf("%w: batch %s, %s (%s): %w", ErrTransaction, dstream.FormatTime(batchTime), step, w.id, err)
	}
	if err := cl.BeginTransaction(); err != nil {
		w.close()
		return fmt.Errorf("%w: batch %s: begin (%s): %w", ErrTransaction, dstream.FormatTime(batchTime), w.id, err)
	}
	var produced atomic.Int64
	var produceErr error
	var errOnce sync.Once
	err = r.ForeachPartition(ctx, func(_ int, elems iter.Seq[T]) error {
		for x := range elems {
			rec := w.toRecord(x)
			produced.Add(1)
			cl.Produce(ctx, rec, func(_ *kgo.Record, err error) {
				if err != nil {
					errOnce.Do(func() { produceErr = err })
				}
			})
		}
		return nil
	})
	if err == nil {
		err = cl.Flush(ctx)
	}
	if err == nil {
		errOnce.Do(func() {}) // every promise has run after Flush
		err = produceErr
	}
	if err == nil {
		err = w.step("produced")
	}
	if err != nil {
		return fail("produce", err)
	}
	if produced.Load() > 0 {
		if err := w.addOffsets(ctx, cl, ranges); err != nil {
			return fail("commit offsets", err)
		}
	}
	if err := w.step("offsets"); err != nil {
		return fail("commit offsets", err)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return fail("end transaction", err)
	}
	if produced.Load() == 0 {
		// No record, no transaction in Kafka: the offsets alone are one
		// atomic commit.
		untils := map[TopicPartition]int64{}
		for _, o := range ranges {
			untils[o.TopicPartition()] = o.UntilOffset
		}
		if err := commitOffsets(w.src.admin, w.src.cfg.group, untils, w.src.cfg.requestTimeout); err != nil {
			return fmt.Errorf("%w: batch %s: %w", ErrTransaction, dstream.FormatTime(batchTime), err)
		}
	}
	return nil
}

// addOffsets adds the group's offsets to the open transaction:
// AddOffsetsToTxn to the transaction coordinator, then TxnOffsetCommit to
// the group coordinator, outside any group generation.
func (w *txnWriter[T, K, V]) addOffsets(ctx context.Context, cl *kgo.Client, ranges []OffsetRange) error {
	id, epoch, err := cl.ProducerID(ctx)
	if err != nil {
		return err
	}
	group := w.src.cfg.group
	add := kmsg.NewPtrAddOffsetsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = w.id, id, epoch, group
	addResp, err := add.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	if err := kerr.ErrorForCode(addResp.ErrorCode); err != nil {
		return fmt.Errorf("AddOffsetsToTxn: %w", err)
	}
	commit := kmsg.NewPtrTxnOffsetCommitRequest()
	commit.TransactionalID, commit.Group, commit.ProducerID, commit.ProducerEpoch = w.id, group, id, epoch
	commit.Generation, commit.MemberID = -1, ""
	// TxnOffsetCommit v6+ names topics by ID.
	md, err := w.src.admin.Metadata(ctx, topicsOf(rangesTPs(ranges))...)
	if err != nil {
		return fmt.Errorf("topic IDs: %w", err)
	}
	byTopic := map[string]int{}
	for _, o := range ranges {
		i, ok := byTopic[o.Topic]
		if !ok {
			t := kmsg.NewTxnOffsetCommitRequestTopic()
			t.Topic = o.Topic
			if td, ok := md.Topics[o.Topic]; ok {
				t.TopicID = td.ID
			}
			commit.Topics = append(commit.Topics, t)
			i = len(commit.Topics) - 1
			byTopic[o.Topic] = i
		}
		p := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		p.Partition, p.Offset, p.LeaderEpoch = o.Partition, o.UntilOffset, -1
		commit.Topics[i].Partitions = append(commit.Topics[i].Partitions, p)
	}
	commitResp, err := commit.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	// v6+ answers name topics by ID only.
	names := map[[16]byte]string{}
	for name, td := range md.Topics {
		names[td.ID] = name
	}
	until := map[TopicPartition]int64{}
	for _, o := range ranges {
		until[o.TopicPartition()] = o.UntilOffset
	}
	for _, t := range commitResp.Topics {
		topic := t.Topic
		if topic == "" {
			topic = names[t.TopicID]
		}
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				tp := TopicPartition{topic, p.Partition}
				return fmt.Errorf("TxnOffsetCommit of group %q, %s at offset %d: %w", group, tp, until[tp], err)
			}
		}
	}
	return nil
}

func rangesTPs(ranges []OffsetRange) []TopicPartition {
	tps := make([]TopicPartition, len(ranges))
	for i, o := range ranges {
		tps[i] = o.TopicPartition()
	}
	slices.SortFunc(tps, compareTP)
	return tps
}
