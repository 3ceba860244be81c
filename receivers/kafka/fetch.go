package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-io/sluice/dstream"
)

// errStopYield is returned by fetch when the consumer of the partition
// stopped early (Take, First).
var errStopYield = errors.New("kafka: consumer stopped")

// fetch reads the records of range o with a consumer of its own assigned to
// o's partition at FromOffset, until UntilOffset, yielding each decoded
// record. It keeps control records so that a range ending in transaction
// markers ends when the markers are reached.
func (s *DirectStream[K, V]) fetch(ctx context.Context, o OffsetRange, b *batchRanges, yield func(Record[K, V]) bool) error {
	if o.Count() <= 0 {
		return nil
	}
	extra := []kgo.Opt{
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{o.Topic: {o.Partition: kgo.NewOffset().At(o.FromOffset)}}),
		kgo.KeepControlRecords(),
		// Records deleted before they were read fail the range instead of
		// being skipped by a reset to the log start (auto.offset.reset=none,
		// as Spark forces on executors).
		kgo.ConsumeResetOffset(kgo.NoResetOffset()),
		kgo.FetchMaxWait(200e6),
	}
	if s.cfg.readCommitted {
		extra = append(extra, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl, err := kgo.NewClient(s.clientOpts(extra...)...)
	if err != nil {
		return fmt.Errorf("%w: %s at batch %s: %w", ErrFetch, o, dstream.FormatTime(b.time), err)
	}
	defer cl.Close()
	next := o.FromOffset
	gapChecked := false
	for next < o.UntilOffset {
		pctx, cancel := context.WithTimeout(ctx, s.cfg.fetchTimeout)
		fs := cl.PollFetches(pctx)
		timedOut := pctx.Err() != nil
		cancel()
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %s at batch %s, offset %d: %w", ErrFetch, o, dstream.FormatTime(b.time), next, ctx.Err())
		}
		progressed := false
		var fetchErr error
		fs.EachError(func(_ string, _ int32, err error) {
			if fetchErr == nil && !errors.Is(err, context.DeadlineExceeded) {
				fetchErr = err
			}
		})
		if errors.Is(fetchErr, kerr.OffsetOutOfRange) {
			return s.deleted(ctx, cl, o, b, next)
		}
		if fetchErr != nil {
			return fmt.Errorf("%w: %s at batch %s, offset %d: %w", ErrFetch, o, dstream.FormatTime(b.time), next, fetchErr)
		}
		for it := fs.RecordIter(); !it.Done(); {
			r := it.Next()
			if r.Topic != o.Topic || r.Partition != o.Partition || r.Offset < next {
				continue
			}
			if r.Offset > next && !gapChecked {
				// A gap: compaction or aborted transactions, or, if the
				// log now starts past next, records deleted before they
				// were read (the client may have moved to the log start).
				gapChecked = true
				if err := s.checkNotDeleted(ctx, cl, o, b, next); err != nil {
					return err
				}
			}
			if r.Offset >= o.UntilOffset {
				next = o.UntilOffset
				break
			}
			next, progressed = r.Offset+1, true
			if r.Attrs.IsControl() {
				continue
			}
			rec, err := s.decode(r, b.time)
			if err != nil {
				if !s.cfg.skipBadRecords {
					return err
				}
				s.skip(b, err)
				continue
			}
			if !yield(rec) {
				return errStopYield
			}
		}
		if !progressed && next < o.UntilOffset && timedOut {
			return fmt.Errorf("%w: %s at batch %s: no record past offset %d within %v", ErrFetch, o, dstream.FormatTime(b.time), next, s.cfg.fetchTimeout)
		}
	}
	return nil
}

// checkNotDeleted returns an ErrOffsetOutOfRange error if the log of o's
// partition now starts past next, the offset the task was to read next.
func (s *DirectStream[K, V]) checkNotDeleted(ctx context.Context, cl *kgo.Client, o OffsetRange, b *batchRanges, next int64) error {
	start, err := logStart(ctx, cl, o.TopicPartition(), s.cfg.requestTimeout)
	if err != nil {
		return fmt.Errorf("%w: %s at batch %s: records missing from offset %d: %w",
			ErrFetch, o, dstream.FormatTime(b.time), next, err)
	}
	if start > next {
		return deletedError(o, b, next, start)
	}
	return nil
}

// deleted returns the error of a fetch at next refused as out of range.
func (s *DirectStream[K, V]) deleted(ctx context.Context, cl *kgo.Client, o OffsetRange, b *batchRanges, next int64) error {
	start, err := logStart(ctx, cl, o.TopicPartition(), s.cfg.requestTimeout)
	if err != nil {
		return fmt.Errorf("%w: %s at batch %s: offset %d is out of range (log start not listed: %v)",
			ErrOffsetOutOfRange, o, dstream.FormatTime(b.time), next, err)
	}
	return deletedError(o, b, next, start)
}

func deletedError(o OffsetRange, b *batchRanges, next, start int64) error {
	return fmt.Errorf("%w: %s at batch %s: offsets [%d, %d) were deleted (retention or DeleteRecords) before they were read; the log now starts at %d",
		ErrOffsetOutOfRange, o, dstream.FormatTime(b.time), next, min(start, o.UntilOffset), start)
}

// logStart lists the first offset of tp's log.
func logStart(ctx context.Context, cl *kgo.Client, tp TopicPartition, timeout time.Duration) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	listed, err := kadm.NewClient(cl).ListStartOffsets(ctx, tp.Topic)
	if err != nil {
		return 0, err
	}
	lo, ok := listed.Lookup(tp.Topic, tp.Partition)
	if !ok {
		return 0, fmt.Errorf("no start offset listed for %s", tp)
	}
	if lo.Err != nil {
		return 0, lo.Err
	}
	return lo.Offset, nil
}

func (s *DirectStream[K, V]) decode(r *kgo.Record, batchTime time.Time) (Record[K, V], error) {
	out := Record[K, V]{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp}
	var err error
	if out.Key, err = s.keys(r.Key); err != nil {
		return out, &DecodeError{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Part: "key", BatchTime: batchTime, Err: err}
	}
	if out.Value, err = s.values(r.Value); err != nil {
		return out, &DecodeError{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Part: "value", BatchTime: batchTime, Err: err}
	}
	if len(r.Headers) > 0 {
		out.Headers = make([]Header, len(r.Headers))
		for i, h := range r.Headers {
			out.Headers[i] = Header{Key: h.Key, Value: h.Value}
		}
	}
	return out, nil
}

// skip logs and counts a record the decoders refused, once per offset even
// if the partition is read twice.
func (s *DirectStream[K, V]) skip(b *batchRanges, err error) {
	var de *DecodeError
	if !errors.As(err, &de) {
		return
	}
	tp := TopicPartition{de.Topic, de.Partition}
	s.mu.Lock()
	if b.skipped == nil {
		b.skipped = map[TopicPartition]map[int64]bool{}
	}
	if b.skipped[tp] == nil {
		b.skipped[tp] = map[int64]bool{}
	}
	first := !b.skipped[tp][de.Offset]
	b.skipped[tp][de.Offset] = true
	if first {
		s.skipped++
	}
	s.mu.Unlock()
	if first {
		s.log.Warn("skipping a record that does not decode", "topic", de.Topic, "partition", de.Partition, "offset", de.Offset,
			"batch", dstream.FormatTime(de.BatchTime), "error", de.Err)
	}
}
