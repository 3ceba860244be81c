package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	streaming "github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/receivers/kafka"
)

func newStream(t *testing.T, h *dstreamtest.Harness, c *kfake.Cluster, s kafka.ConsumerStrategy, opts ...kafka.Option) (*kafka.DirectStream[string, string], *collector[string, string]) {
	t.Helper()
	ds, err := kafka.NewDirectStream(h.Context(), c.ListenAddrs(), s, kafka.StringDecoder, kafka.StringDecoder, opts...)
	require.NoError(t, err)
	col := newCollector[string, string]()
	col.attach(ds)
	return ds, col
}

func TestMaxRatePerPartitionBoundsEachBatch(t *testing.T) {
	c := newCluster(t, 2, "t")
	produce(t, c, "t", []int32{0, 1}, 0, 25)
	h := dstreamtest.NewHarness(t, 2*time.Second)
	_, col := newStream(t, h, c, kafka.Subscribe([]string{"t"}, nil), kafka.WithStartFromEarliest(), kafka.WithMaxRatePerPartition(5))
	h.Start()
	from := int64(0)
	for i, want := range []int64{10, 10, 5, 0} { // 5 records/s × 2 s per partition
		b := h.Step()
		recs, ranges := col.batch(b.BatchTime)
		for _, o := range ranges {
			require.Equal(t, want, o.Count(), "batch %d %v", i, o)
			require.Equal(t, from, o.FromOffset)
		}
		from += want
		require.Len(t, recs, int(2*want))
	}
}

// Under backpressure, before the estimator has a rate, WithInitialRate
// bounds the batches (Spark's backpressure.initialRate), shared by backlog:
// 6 records/s over 2 s batches and a backlog of 30 and 10.
func TestInitialRateBoundsTheFirstBatchUnderBackpressure(t *testing.T) {
	c := newCluster(t, 2, "t")
	produce(t, c, "t", []int32{0}, 0, 30)
	produce(t, c, "t", []int32{1}, 0, 10)
	h := dstreamtest.NewHarness(t, 2*time.Second)
	_, col := newStream(t, h, c, kafka.Subscribe([]string{"t"}, nil), kafka.WithStartFromEarliest(),
		kafka.WithBackpressure(), kafka.WithInitialRate(6))
	h.Start()
	b := h.Step()
	_, ranges := col.batch(b.BatchTime)
	require.Equal(t, []kafka.OffsetRange{{"t", 0, 0, 9}, {"t", 1, 0, 3}}, ranges)
}

func TestMaxMessagesPerPartitionWithBackpressure(t *testing.T) {
	a, b := kafka.TopicPartition{"t", 0}, kafka.TopicPartition{"t", 1}
	lag := map[kafka.TopicPartition]int64{a: 300, b: 100}
	// 200 records/s shared by backlog: 150 and 50 per second, over 2 s.
	got := kafka.MaxMessagesPerPartition(lag, 200, 0, 1, 2*time.Second)
	require.Equal(t, map[kafka.TopicPartition]int64{a: 300, b: 100}, got)
	// Capped by the maximum rate.
	got = kafka.MaxMessagesPerPartition(lag, 200, 60, 1, 2*time.Second)
	require.Equal(t, map[kafka.TopicPartition]int64{a: 120, b: 100}, got)
	// Never below the minimum rate.
	got = kafka.MaxMessagesPerPartition(map[kafka.TopicPartition]int64{a: 1000, b: 0}, 0.1, 0, 3, time.Second)
	require.Equal(t, map[kafka.TopicPartition]int64{a: 3, b: 3}, got)
	require.Nil(t, kafka.MaxMessagesPerPartition(lag, 0, 0, 1, time.Second))
}

func TestStartsFromUserOffsets(t *testing.T) {
	c := newCluster(t, 2, "t")
	produce(t, c, "t", []int32{0, 1}, 0, 10)
	h := dstreamtest.NewHarness(t, time.Second)
	_, col := newStream(t, h, c, kafka.Subscribe([]string{"t"}, map[kafka.TopicPartition]int64{{"t", 0}: 7, {"t", 1}: 3}))
	h.Start()
	b := h.Step()
	_, ranges := col.batch(b.BatchTime)
	require.Equal(t, []kafka.OffsetRange{{"t", 0, 7, 10}, {"t", 1, 3, 10}}, ranges)
}

func TestAssignAndLatestByDefault(t *testing.T) {
	c := newCluster(t, 3, "t")
	produce(t, c, "t", []int32{0, 1, 2}, 0, 4)
	h := dstreamtest.NewHarness(t, time.Second)
	_, col := newStream(t, h, c, kafka.Assign([]kafka.TopicPartition{{"t", 2}, {"t", 0}}, nil))
	h.Start()
	b := h.Step()
	_, ranges := col.batch(b.BatchTime)
	require.Equal(t, []kafka.OffsetRange{{"t", 0, 4, 4}, {"t", 2, 4, 4}}, ranges, "latest by default")
	produce(t, c, "t", []int32{0, 1, 2}, 4, 2)
	b = h.Step()
	recs, ranges := col.batch(b.BatchTime)
	require.Equal(t, []kafka.OffsetRange{{"t", 0, 4, 6}, {"t", 2, 4, 6}}, ranges)
	require.Len(t, recs, 4)
}

func TestCommitsToGroupAfterSuccessfulBatchesOnly(t *testing.T) {
	c := newCluster(t, 2, "t")
	produce(t, c, "t", []int32{0, 1}, 0, 5)
	h := dstreamtest.NewHarness(t, time.Second, streaming.WithContinueOnBatchFailure())
	ds, _ := newStream(t, h, c, kafka.Subscribe([]string{"t"}, nil), kafka.WithGroup("g"), kafka.WithStartFromEarliest())
	fail := make(chan bool, 1)
	fail <- false
	ds.Stream().ForeachRDD(func(context.Context, *rddT, time.Time) error {
		if f := <-fail; f {
			return errors.New("output failed")
		}
		return nil
	})
	h.Start()
	require.NoError(t, h.Step().Err())
	fail <- true
	produce(t, c, "t", []int32{0, 1}, 5, 5)
	require.Error(t, h.Step().Err())
	h.Stop() // flushes commits
	require.Equal(t, map[int32]int64{0: 5, 1: 5}, committed(t, c, "g", "t"), "the failed batch is not committed")

	// A new stream of the group resumes from the committed offsets.
	h2 := dstreamtest.NewHarness(t, time.Second)
	_, col := newStream(t, h2, c, kafka.Subscribe([]string{"t"}, nil), kafka.WithGroup("g"))
	h2.Start()
	b := h2.Step()
	_, ranges := col.batch(b.BatchTime)
	require.Equal(t, []kafka.OffsetRange{{"t", 0, 5, 10}, {"t", 1, 5, 10}}, ranges)
}

func TestCommitAsync(t *testing.T) {
	c := newCluster(t, 1, "t")
	produce(t, c, "t", []int32{0}, 0, 3)
	h := dstreamtest.NewHarness(t, time.Second)
	ds, _ := newStream(t, h, c, kafka.Subscribe([]string{"t"}, nil), kafka.WithGroup("manual"), kafka.WithManualCommit(), kafka.WithStartFromEarliest())
	done := make(chan error, 1)
	ds.Stream().ForeachRDD(func(_ context.Context, r *rddT, _ time.Time) error {
		ranges, _ := kafka.OffsetRangesOf(r)
		ds.CommitAsync(ranges, func(err error) { done <- err })
		return nil
	})
	h.Start()
	h.Step()
	require.NoError(t, <-done)
	require.Equal(t, map[int32]int64{0: 3}, committed(t, c, "manual", "t"))
}

func TestRestartFromSavedPosition(t *testing.T) {
	c := newCluster(t, 3, "t")
	produce(t, c, "t", []int32{0, 1, 2}, 0, 6)
	h := dstreamtest.NewHarness(t, time.Second)
	ds, _ := newStream(t, h, c, kafka.Subscribe([]string{"t"}, nil), kafka.WithStartFromEarliest(), kafka.WithMaxRatePerPartition(4))
	h.Start()
	h.Step()
	last := h.Step() // offsets [4, 6) of each partition
	pos, err := ds.CheckpointPosition(last.BatchTime)
	require.NoError(t, err)
	h.Stop()
	produce(t, c, "t", []int32{0, 1, 2}, 6, 1)

	h2 := dstreamtest.NewHarness(t, time.Second)
	ds2, col := newStream(t, h2, c, kafka.Subscribe([]string{"t"}, nil))
	require.NoError(t, ds2.RestorePosition(pos))
	h2.Start()
	require.ErrorIs(t, ds2.RestorePosition(pos), kafka.ErrStarted)
	b := h2.Step()
	recs, ranges := col.batch(b.BatchTime)
	require.Equal(t, []kafka.OffsetRange{{"t", 0, 6, 7}, {"t", 1, 6, 7}, {"t", 2, 6, 7}}, ranges)
	require.Len(t, recs, 3)

	require.ErrorIs(t, ds2.RestorePosition([]byte("junk")), kafka.ErrInvalidPosition)
	_, err = ds2.CheckpointPosition(time.Unix(12345, 0))
	require.ErrorIs(t, err, kafka.ErrUnknownBatch)
}

func TestSubscribePatternPicksUpNewTopicsAndPartitions(t *testing.T) {
	c := newCluster(t, 1, "ev-a", "other")
	produce(t, c, "ev-a", []int32{0}, 0, 2)
	h := dstreamtest.NewHarness(t, time.Second)
	_, col := newStream(t, h, c, kafka.SubscribePattern(regexp.MustCompile(`^ev-`), nil), kafka.WithStartFromEarliest())
	h.Start()
	b := h.Step()
	_, ranges := col.batch(b.BatchTime)
	require.Equal(t, []kafka.OffsetRange{{"ev-a", 0, 0, 2}}, ranges)

	admin := adminClient(t, c)
	ctx := context.Background()
	_, err := admin.CreateTopic(ctx, 2, 1, nil, "ev-b")
	require.NoError(t, err)
	_, err = admin.UpdatePartitions(ctx, 2, "ev-a")
	require.NoError(t, err)
	produce(t, c, "ev-a", []int32{1}, 0, 3)
	produce(t, c, "ev-b", []int32{0, 1}, 0, 1)
	b = h.Step()
	recs, ranges := col.batch(b.BatchTime)
	require.Equal(t, []kafka.OffsetRange{{"ev-a", 0, 2, 2}, {"ev-a", 1, 0, 3}, {"ev-b", 0, 0, 1}, {"ev-b", 1, 0, 1}}, ranges,
		"new topics and partitions start at their earliest offset")
	require.Len(t, recs, 5)
}

func TestMissingTopicIsPickedUpWhenCreated(t *testing.T) {
	c := newCluster(t, 1, "t")
	h := dstreamtest.NewHarness(t, time.Second)
	_, col := newStream(t, h, c, kafka.Subscribe([]string{"later"}, nil))
	h.Start()
	b := h.Step()
	require.NoError(t, b.Err())
	_, ranges := col.batch(b.BatchTime)
	require.Empty(t, ranges)
	_, err := adminClient(t, c).CreateTopic(context.Background(), 1, 1, nil, "later")
	require.NoError(t, err)
	produce(t, c, "later", []int32{0}, 0, 2)
	b = h.Step()
	recs, _ := col.batch(b.BatchTime)
	require.Len(t, recs, 2)
}

func TestDecodeErrors(t *testing.T) {
	intDecoder := func(b []byte) (int, error) {
		n := 0
		for _, ch := range b {
			if ch < '0' || ch > '9' {
				return 0, errors.New("not a number")
			}
			n = n*10 + int(ch-'0')
		}
		return n, nil
	}
	for _, skip := range []bool{false, true} {
		c := newCluster(t, 1, "t")
		produce(t, c, "t", []int32{0}, 0, 3) // keys 0..2 decode
		cl := adminClientRaw(t, c)
		require.NoError(t, cl.ProduceSync(context.Background(), &kgo.Record{Topic: "t", Key: []byte("x")}).FirstErr())
		produce(t, c, "t", []int32{0}, 4, 1)
		h := dstreamtest.NewHarness(t, time.Second, streaming.WithContinueOnBatchFailure())
		opts := []kafka.Option{kafka.WithStartFromEarliest()}
		if skip {
			opts = append(opts, kafka.WithSkipBadRecords())
		}
		ds, err := kafka.NewDirectStream(h.Context(), c.ListenAddrs(), kafka.Subscribe([]string{"t"}, nil), intDecoder, kafka.StringDecoder, opts...)
		require.NoError(t, err)
		col := newCollector[int, string]()
		col.attach(ds)
		h.Start()
		b := h.Step()
		if skip {
			require.NoError(t, b.Err())
			recs, _ := col.batch(b.BatchTime)
			require.Len(t, recs, 4)
			require.Equal(t, int64(1), ds.SkippedRecords())
		} else {
			require.ErrorIs(t, b.Err(), kafka.ErrDecode)
			var de *kafka.DecodeError
			require.ErrorAs(t, b.Err(), &de)
			require.Equal(t, "t", de.Topic)
			require.Equal(t, int64(3), de.Offset)
			require.Contains(t, b.Err().Error(), "decoding the key of t[0]@3")
			require.Equal(t, b.BatchTime, de.BatchTime)
			require.Contains(t, de.Error(), "at batch "+dstream.FormatTime(b.BatchTime))
		}
		h.Stop()
		c.Close()
	}
}

func TestBrokerUnreachableAtStart(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	ds, err := kafka.NewDirectStream(h.Context(), []string{"127.0.0.1:1"}, kafka.Subscribe([]string{"t"}, nil),
		kafka.StringDecoder, kafka.StringDecoder, kafka.WithStartTimeout(300*time.Millisecond),
		kafka.WithClientOptions(kgo.DialTimeout(100*time.Millisecond)))
	require.NoError(t, err)
	dstreamtest.Collect(ds.Stream())
	err = h.Context().Start()
	require.ErrorIs(t, err, kafka.ErrBrokerUnreachable)
}

func TestBrokerUnreachableMidStreamLosesNothing(t *testing.T) {
	c := newCluster(t, 2, "t")
	produce(t, c, "t", []int32{0, 1}, 0, 3)
	h := dstreamtest.NewHarness(t, time.Second, streaming.WithContinueOnBatchFailure())
	_, col := newStream(t, h, c, kafka.Subscribe([]string{"t"}, nil), kafka.WithStartFromEarliest(),
		kafka.WithRequestTimeout(500*time.Millisecond))
	h.Start()
	require.NoError(t, h.Step().Err())
	produce(t, c, "t", []int32{0, 1}, 3, 2)
	// Every broker refuses to list offsets: the batch fails after the bound.
	var down atomic.Bool
	down.Store(true)
	c.ControlKey(int16(kmsg.ListOffsets), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if !down.Load() {
			return nil, nil, false
		}
		return nil, errors.New("down"), true
	})
	b := h.Step()
	require.ErrorIs(t, b.Err(), kafka.ErrBrokerUnreachable)
	down.Store(false)
	b = h.Step()
	require.NoError(t, b.Err())
	recs, ranges := col.batch(b.BatchTime)
	require.Equal(t, []kafka.OffsetRange{{"t", 0, 3, 5}, {"t", 1, 3, 5}}, ranges)
	require.Len(t, recs, 4)
}

func TestOptionsValidated(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	ssc := h.Context()
	s := kafka.Subscribe([]string{"t"}, nil)
	_, err := kafka.NewDirectStream(ssc, nil, s, kafka.StringDecoder, kafka.StringDecoder)
	require.ErrorIs(t, err, kafka.ErrInvalidOption)
	_, err = kafka.NewDirectStream(ssc, []string{"x:1"}, kafka.Subscribe(nil, nil), kafka.StringDecoder, kafka.StringDecoder)
	require.ErrorIs(t, err, kafka.ErrNoTopics)
	_, err = kafka.NewDirectStream(ssc, []string{"x:1"}, s, kafka.StringDecoder, kafka.StringDecoder, kafka.WithMaxRatePerPartition(-1))
	require.ErrorIs(t, err, kafka.ErrInvalidOption)
}

func committed(t *testing.T, c *kfake.Cluster, group, topic string) map[int32]int64 {
	t.Helper()
	resps, err := adminClient(t, c).FetchOffsets(context.Background(), group)
	require.NoError(t, err)
	out := map[int32]int64{}
	for p, o := range resps[topic] {
		out[p] = o.At
	}
	return out
}

func adminClientRaw(t *testing.T, c *kfake.Cluster) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("t"))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

func adminClient(t *testing.T, c *kfake.Cluster) *kadm.Client {
	return kadm.NewClient(adminClientRaw(t, c))
}

func TestGroupRebalanceByAnotherMemberLosesNothing(t *testing.T) {
	c := newCluster(t, 2, "t")
	produce(t, c, "t", []int32{0, 1}, 0, 4)
	// Another member joins the group and rebalances it while the stream runs.
	other, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t"),
		kgo.DisableAutoCommit())
	require.NoError(t, err)
	pollCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	other.PollRecords(pollCtx, 1) // joined
	h := dstreamtest.NewHarness(t, time.Second)
	_, col := newStream(t, h, c, kafka.Subscribe([]string{"t"}, nil), kafka.WithGroup("g"), kafka.WithStartFromEarliest())
	h.Start()
	b := h.Step()
	require.NoError(t, b.Err())
	recs, _ := col.batch(b.BatchTime)
	require.Len(t, recs, 8, "the stream reads every partition whatever the group's assignment")
	other.Close() // leaves: the group rebalances to empty
	produce(t, c, "t", []int32{0, 1}, 4, 1)
	b = h.Step()
	recs, _ = col.batch(b.BatchTime)
	require.Len(t, recs, 2)
	h.Stop()
	require.Equal(t, map[int32]int64{0: 5, 1: 5}, committed(t, c, "g", "t"), "commits refused during the rebalance are sent again")
}

func TestRangeDeletedByRetentionFailsTheBatch(t *testing.T) {
	for _, tc := range []struct {
		deleteTo int64
		lost     string
	}{
		{6, "[4, 6)"},  // 4 and 5 of the next range [4, 8)
		{8, "[4, 8)"},  // the whole range
		{10, "[4, 8)"}, // the whole range and past it
	} {
		t.Run(fmt.Sprint(tc.deleteTo), func(t *testing.T) {
			c := newCluster(t, 1, "t")
			produce(t, c, "t", []int32{0}, 0, 10)
			h := dstreamtest.NewHarness(t, time.Second, streaming.WithContinueOnBatchFailure())
			_, col := newStream(t, h, c, kafka.Subscribe([]string{"t"}, nil), kafka.WithStartFromEarliest(), kafka.WithMaxRatePerPartition(4))
			h.Start()
			b := h.Step()
			require.NoError(t, b.Err())
			_, ranges := col.batch(b.BatchTime)
			require.Equal(t, []kafka.OffsetRange{{"t", 0, 0, 4}}, ranges)
			require.NoError(t, c.DeleteRecords("t", 0, tc.deleteTo)) // retention
			b = h.Step()
			recs, _ := col.batch(b.BatchTime)
			require.ErrorIs(t, b.Err(), kafka.ErrOffsetOutOfRange, "read %d records", len(recs))
			for _, want := range []string{"t[0] [4, 8)", "offsets " + tc.lost, fmt.Sprint("starts at ", tc.deleteTo), dstream.FormatTime(b.BatchTime)} {
				require.Contains(t, b.Err().Error(), want)
			}
		})
	}
}

func TestRecreatedTopicFailsEveryLaterBatch(t *testing.T) {
	for _, tc := range []struct {
		name     string
		strategy kafka.ConsumerStrategy
		produced int    // into the new topic before the stream sees it
		want     string // in the error
	}{
		{"shorter", kafka.Subscribe([]string{"t"}, nil), 2, "the stream was at offset 5, the new log ends at offset 2"},
		{"shorter/assign", kafka.Assign([]kafka.TopicPartition{{"t", 0}}, nil), 2, "the stream was at offset 5, the new log ends at offset 2"},
		{"grown past", kafka.Subscribe([]string{"t"}, nil), 7, "the stream was at offset 5, the new log ends at offset 7"},
		// Assign lists the topics' metadata for their IDs too (the end
		// offset alone cannot tell a recreated topic that grew past).
		{"grown past/assign", kafka.Assign([]kafka.TopicPartition{{"t", 0}}, nil), 7, "the stream was at offset 5, the new log ends at offset 7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, 1, "t")
			produce(t, c, "t", []int32{0}, 0, 5)
			h := dstreamtest.NewHarness(t, time.Second, streaming.WithContinueOnBatchFailure())
			_, col := newStream(t, h, c, tc.strategy, kafka.WithStartFromEarliest())
			h.Start()
			b := h.Step()
			require.NoError(t, b.Err())
			_, ranges := col.batch(b.BatchTime)
			require.Equal(t, []kafka.OffsetRange{{"t", 0, 0, 5}}, ranges)

			admin := adminClient(t, c)
			ctx := context.Background()
			_, err := admin.DeleteTopic(ctx, "t")
			require.NoError(t, err)
			_, err = admin.CreateTopic(ctx, 1, 1, nil, "t")
			require.NoError(t, err)
			produce(t, c, "t", []int32{0}, 0, tc.produced)
			b = h.Step()
			require.ErrorIs(t, b.Err(), kafka.ErrLogTruncated)
			for _, want := range []string{tc.want, "t[0]", dstream.FormatTime(b.BatchTime)} {
				require.Contains(t, b.Err().Error(), want)
			}
			// Once the new log grows past the old offset, the stream must
			// not resume there, skipping the new topic's first records.
			produce(t, c, "t", []int32{0}, tc.produced, 5)
			b = h.Step()
			require.ErrorIs(t, b.Err(), kafka.ErrLogTruncated, "the batch must fail, not read from offset 5 on")
			require.Contains(t, b.Err().Error(), dstream.FormatTime(b.BatchTime))
		})
	}
}

func TestFetchErrorNamesRangeAndBatch(t *testing.T) {
	c := newCluster(t, 1, "t")
	produce(t, c, "t", []int32{0}, 0, 5)
	c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Fetch}, Topic: "t", Err: kerr.TopicAuthorizationFailed, Count: -1})
	h := dstreamtest.NewHarness(t, time.Second, streaming.WithContinueOnBatchFailure())
	newStream(t, h, c, kafka.Subscribe([]string{"t"}, nil), kafka.WithStartFromEarliest())
	h.Start()
	b := h.Step()
	require.ErrorIs(t, b.Err(), kafka.ErrFetch)
	require.ErrorIs(t, b.Err(), kerr.TopicAuthorizationFailed)
	require.Contains(t, b.Err().Error(), "t[0] [0, 5) at batch "+dstream.FormatTime(b.BatchTime)+", offset 0")
}

func TestCommitFailureNamesOffsets(t *testing.T) {
	c := newCluster(t, 2, "t")
	produce(t, c, "t", []int32{0, 1}, 0, 3)
	c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.OffsetCommit}, Group: "g", Err: kerr.GroupAuthorizationFailed, Count: -1})
	var logged strings.Builder
	var logMu sync.Mutex
	log := hclog.New(&hclog.LoggerOptions{Output: &lockedWriter{mu: &logMu, w: &logged}, Level: hclog.Warn})
	h := dstreamtest.NewHarness(t, time.Second)
	ds, _ := newStream(t, h, c, kafka.Subscribe([]string{"t"}, nil), kafka.WithGroup("g"), kafka.WithManualCommit(),
		kafka.WithStartFromEarliest(), kafka.WithLogger(log))
	done := make(chan error, 1)
	ds.Stream().ForeachRDD(func(_ context.Context, r *rddT, _ time.Time) error {
		ranges, _ := kafka.OffsetRangesOf(r)
		ds.CommitAsync(ranges, func(err error) { done <- err })
		return nil
	})
	h.Start()
	h.Step()
	err := <-done
	require.ErrorIs(t, err, kafka.ErrCommit)
	require.Contains(t, err.Error(), "t[0]@3, t[1]@3")
	logMu.Lock()
	defer logMu.Unlock()
	require.Contains(t, logged.String(), "t[0]@3, t[1]@3", "the warning names the offsets")
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
