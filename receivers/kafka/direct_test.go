package kafka_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	streaming "github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/receivers/kafka"
)

func TestDirectStreamRangesPerBatch(t *testing.T) {
	c := newCluster(t, 3, "t")
	produce(t, c, "t", []int32{0, 1, 2}, 0, 10)
	h := dstreamtest.NewHarness(t, time.Second)
	ds, err := kafka.NewDirectStream(h.Context(), c.ListenAddrs(), kafka.Subscribe([]string{"t"}, nil),
		kafka.StringDecoder, kafka.StringDecoder, kafka.WithStartFromEarliest())
	require.NoError(t, err)
	col := newCollector[string, string]()
	col.attach(ds)
	h.Start()

	b1 := h.Step()
	require.NoError(t, b1.Err())
	recs, ranges := col.batch(b1.BatchTime)
	require.Equal(t, []kafka.OffsetRange{{"t", 0, 0, 10}, {"t", 1, 0, 10}, {"t", 2, 0, 10}}, ranges)
	require.Len(t, recs, 30)
	require.Equal(t, int64(30), b1.InputRecords[ds.ID()])
	require.Equal(t, ranges, b1.InputMetadata[ds.ID()])
	seen := map[string]bool{}
	for _, r := range recs {
		require.Equal(t, r.Value, "t/"+itoa(int(r.Partition))+"/"+r.Key)
		require.Equal(t, []kafka.Header{{Key: "h", Value: []byte("v")}}, r.Headers)
		require.False(t, r.Timestamp.IsZero())
		seen[r.Value] = true
	}
	require.Len(t, seen, 30)

	produce(t, c, "t", []int32{1}, 10, 5)
	b2 := h.Step()
	recs, ranges = col.batch(b2.BatchTime)
	require.Equal(t, []kafka.OffsetRange{{"t", 0, 10, 10}, {"t", 1, 10, 15}, {"t", 2, 10, 10}}, ranges)
	require.Len(t, recs, 5)
	for _, r := range recs {
		require.Equal(t, int32(1), r.Partition)
		require.GreaterOrEqual(t, r.Offset, int64(10))
	}
	b3 := h.Step()
	recs, _ = col.batch(b3.BatchTime)
	require.Empty(t, recs)
	got, err := ds.OffsetRanges(b2.BatchTime)
	require.NoError(t, err)
	require.Equal(t, ranges, got)
}

func itoa(i int) string { return string(rune('0' + i)) }

// batchListener sends every completed batch to its channel.
type batchListener struct {
	streaming.NoopListener
	completed chan streaming.BatchInfo
}

func (l *batchListener) OnBatchCompleted(b streaming.BatchInfo) { l.completed <- b }

func TestGracefulStopCompletesAndCommitsTheRunningBatch(t *testing.T) {
	c := newCluster(t, 1, "t")
	produce(t, c, "t", []int32{0}, 0, 5)
	var once sync.Once
	stoppedGracefully := make(chan struct{})
	h := dstreamtest.NewHarness(t, time.Second)
	ds, err := kafka.NewDirectStream(h.Context(), c.ListenAddrs(), kafka.Subscribe([]string{"t"}, nil),
		kafka.StringDecoder, kafka.StringDecoder, kafka.WithGroup("g"), kafka.WithStartFromEarliest(),
		kafka.WithStopHook(func(graceful bool) {
			if graceful {
				once.Do(func() { close(stoppedGracefully) })
			}
		}))
	require.NoError(t, err)
	entered, release := make(chan struct{}), make(chan struct{})
	var read []kafka.Record[string, string]
	ds.Stream().ForeachRDD(func(ctx context.Context, r *rddT, _ time.Time) error {
		close(entered)
		<-release // the batch is still running when the stop begins
		recs, err := r.Collect(ctx)
		read = recs
		return err
	})
	l := &batchListener{completed: make(chan streaming.BatchInfo, 16)}
	h.Context().AddStreamingListener(l)
	h.Start()
	h.Clock().Advance(time.Second)
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- h.Context().Stop(true) }()
	<-stoppedGracefully // the context's drain has called Stop(true)
	close(release)
	require.NoError(t, <-stopped)
	b := <-l.completed
	require.NoError(t, b.Err(), "the batch running at a graceful stop completes")
	require.Len(t, read, 5)
	require.Equal(t, map[int32]int64{0: 5}, committed(t, c, "g", "t"), "and its offsets are committed")
}

// With checkpoints, the ranges of every batch after the recovery point are
// kept, however many: a long data checkpoint interval or a backlog of
// pending batches made the stream forget the oldest beyond 4,096, and a
// restart then re-ran them over other records than their outputs were
// written from. Without checkpoints (GeneratedPositions never called) the
// stream keeps a bounded number.
func TestGeneratedRangesKeptForTheCheckpoint(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	newStream := func() *kafka.DirectStream[string, string] {
		ds, err := kafka.NewDirectStream(h.Context(), []string{"127.0.0.1:1"}, kafka.Subscribe([]string{"t"}, nil),
			kafka.StringDecoder, kafka.StringDecoder)
		require.NoError(t, err)
		return ds
	}
	n := kafka.MaxGeneratedBatches + 10
	generate := func(ds *kafka.DirectStream[string, string]) {
		for i := range n {
			ds.RememberGenerated(time.Unix(int64(i+1), 0), []kafka.OffsetRange{{Topic: "t", Partition: 0, FromOffset: int64(i), UntilOffset: int64(i + 1)}})
		}
	}
	batches := func(ds *kafka.DirectStream[string, string]) []kafka.GeneratedBatch {
		b, err := ds.GeneratedPositions(time.Time{})
		require.NoError(t, err)
		return kafka.DecodeGenerated(t, b)
	}

	checkpointed := newStream()
	_, err := checkpointed.GeneratedPositions(time.Time{}) // the context's first checkpoint
	require.NoError(t, err)
	generate(checkpointed)
	got := batches(checkpointed)
	require.Equal(t, n, len(got), "batches named")
	require.Equal(t, time.Unix(1, 0), got[0].Time)
	require.Equal(t, int64(0), got[0].Ranges[0].FromOffset)

	bounded := newStream()
	generate(bounded)
	got = batches(bounded)
	require.Equal(t, kafka.MaxGeneratedBatches, len(got), "batches named")
	require.Equal(t, time.Unix(11, 0), got[0].Time)
}
