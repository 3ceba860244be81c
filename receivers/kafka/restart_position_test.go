package kafka_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	streaming "github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/receivers/kafka"
)

// The checkpointed position holds every partition known, not only those of
// the batch checkpointed: a topic absent from that one batch (a transient
// metadata error) was read again from its earliest offset after a restart.
func TestPositionKeepsPartitionsAbsentFromTheBatch(t *testing.T) {
	c := newCluster(t, 1, "a", "b")
	produce(t, c, "a", []int32{0}, 0, 5)
	produce(t, c, "b", []int32{0}, 0, 5)
	h := dstreamtest.NewHarness(t, time.Second)
	ds, col := newStream(t, h, c, kafka.Subscribe([]string{"a", "b"}, nil), kafka.WithStartFromEarliest())
	h.Start()
	b1 := h.Step()
	require.NoError(t, b1.Err())
	_, r1 := col.batch(b1.BatchTime)
	require.Equal(t, []kafka.OffsetRange{{"a", 0, 0, 5}, {"b", 0, 0, 5}}, r1)

	fh := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Metadata}, Topic: "b", Err: kerr.LeaderNotAvailable, Count: -1})
	produce(t, c, "a", []int32{0}, 5, 2)
	b2 := h.Step()
	require.NoError(t, b2.Err())
	_, r2 := col.batch(b2.BatchTime)
	require.Equal(t, []kafka.OffsetRange{{"a", 0, 5, 7}}, r2, "b is missing from batch 2")
	pos, err := ds.CheckpointPosition(b2.BatchTime) // what the context saves at a data checkpoint of batch 2
	require.NoError(t, err)
	fh.Remove()
	h.Stop()

	h2 := dstreamtest.NewHarness(t, time.Second)
	ds2, col2 := newStream(t, h2, c, kafka.Subscribe([]string{"a", "b"}, nil))
	require.NoError(t, ds2.RestorePosition(pos))
	h2.Start()
	b := h2.Step()
	recs, ranges := col2.batch(b.BatchTime)
	require.Empty(t, recs)
	require.Equal(t, []kafka.OffsetRange{{"a", 0, 7, 7}, {"b", 0, 5, 5}}, ranges, "b[0] [0,5) was read by batch 1 already")
}

// A batch whose generation failed in the crashed run is empty when run
// again after a restart: it was given fresh ranges from the recovery point's
// position, which overlapped the replayed ranges of the batch after it.
func TestFailedGenerationIsReplayedEmptyAfterARestart(t *testing.T) {
	c := newCluster(t, 1, "t")
	dir := t.TempDir()
	var col *collector[string, string]
	start := func(now time.Duration) *life {
		t.Helper()
		col = newCollector[string, string]()
		return startLife(t, dir, now, func(ssc *streaming.StreamingContext) error {
			ds, err := kafka.NewDirectStream(ssc, c.ListenAddrs(), kafka.Subscribe([]string{"t"}, nil),
				kafka.StringDecoder, kafka.StringDecoder, kafka.WithStartFromEarliest(), kafka.WithRequestTimeout(time.Second))
			if err != nil {
				return err
			}
			col.attach(ds)
			countPerPartition(ds)
			return nil
		}, streaming.WithContinueOnBatchFailure())
	}
	first := start(0)
	for i := 1; i <= 4; i++ {
		produce(t, c, "t", []int32{0}, 10*i, 1)
		first.clock.Advance(time.Second)
		first.waitFor(t, batchAt(i))
	}
	fh := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.ListOffsets}, Err: kerr.UnknownServerError, Count: -1})
	produce(t, c, "t", []int32{0}, 50, 3)
	first.clock.Advance(time.Second)
	b5 := <-first.done
	require.Error(t, b5.Err())
	fh.Remove()
	first.clock.Advance(time.Second)
	first.waitFor(t, batchAt(6))
	_, r6 := col.batch(batchAt(6))
	require.Equal(t, []kafka.OffsetRange{{"t", 0, 4, 7}}, r6, "batch 6 reads what failed batch 5 did not")
	require.NoError(t, first.ssc.AwaitCheckpoint(context.Background(), batchAt(6)))
	require.NoError(t, first.ssc.Stop(false)) // crash; recovery point 4
	produce(t, c, "t", []int32{0}, 100, 2)

	second := start(6 * time.Second)
	second.waitFor(t, batchAt(6))
	second.clock.Advance(time.Second)
	second.waitFor(t, batchAt(7))
	seen := map[int64]int{}
	for i := 5; i <= 7; i++ {
		recs, ranges := col.batch(batchAt(i))
		if i == 5 {
			require.Empty(t, ranges, "batch 5 read nothing in the first run")
		}
		for _, r := range recs {
			seen[r.Offset]++
		}
	}
	for off, n := range seen {
		require.Equal(t, 1, n, "offset %d read %d times after the restart", off, n)
	}
}

// A partition missing from the broker's answer (an assigned partition that
// does not exist) is the broker's answer, not ErrBrokerUnreachable, and the
// error names it.
func TestMissingAssignedPartitionIsNotUnreachable(t *testing.T) {
	c := newCluster(t, 1, "t")
	h := dstreamtest.NewHarness(t, time.Second, streaming.WithContinueOnBatchFailure())
	newStream(t, h, c, kafka.Assign([]kafka.TopicPartition{{"t", 5}}, nil), kafka.WithRequestTimeout(2*time.Second))
	h.Start()
	b := h.Step()
	require.ErrorIs(t, b.Err(), kafka.ErrUnknownPartition)
	require.ErrorContains(t, b.Err(), "t[5]")
	require.NotErrorIs(t, b.Err(), kafka.ErrBrokerUnreachable, "the broker answered")
}

// A failed batch's offsets are not committed by the next successful batch
// either: automatic commits stop at the failed range's start.
func TestFailedBatchIsNotCommittedByTheNextBatch(t *testing.T) {
	c := newCluster(t, 1, "t")
	produce(t, c, "t", []int32{0}, 0, 5)
	h := dstreamtest.NewHarness(t, time.Second, streaming.WithContinueOnBatchFailure())
	ds, _ := newStream(t, h, c, kafka.Subscribe([]string{"t"}, nil), kafka.WithGroup("g"), kafka.WithStartFromEarliest())
	fail := make(chan bool, 1)
	ds.Stream().ForeachRDD(func(context.Context, *rddT, time.Time) error {
		if <-fail {
			return errors.New("output failed")
		}
		return nil
	})
	h.Start()
	fail <- false
	require.NoError(t, h.Step().Err()) // [0,5)
	produce(t, c, "t", []int32{0}, 5, 5)
	fail <- true
	require.Error(t, h.Step().Err()) // [5,10) not processed
	produce(t, c, "t", []int32{0}, 10, 5)
	fail <- false
	require.NoError(t, h.Step().Err()) // [10,15)
	h.Stop()
	require.Equal(t, map[int32]int64{0: 5}, committed(t, c, "g", "t"), "offsets [5,10) were never processed")
}

// With the default start (the latest offsets), records written after Start
// and before the first batch are the first batch's: the start offsets are
// fixed at Start, as Spark's DirectKafkaInputDStream.start does.
func TestLatestOffsetsAreFixedAtStart(t *testing.T) {
	c := newCluster(t, 1, "t")
	produce(t, c, "t", []int32{0}, 0, 3)
	h := dstreamtest.NewHarness(t, time.Second)
	_, col := newStream(t, h, c, kafka.Subscribe([]string{"t"}, nil))
	h.Start()
	produce(t, c, "t", []int32{0}, 3, 4) // after Start, before the first batch
	b := h.Step()
	recs, ranges := col.batch(b.BatchTime)
	require.Equal(t, []kafka.OffsetRange{{"t", 0, 3, 7}}, ranges)
	require.Len(t, recs, 4)
}
