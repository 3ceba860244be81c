package context_test

import (
	stdctx "context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/sluice-io/sluice/checkpoint"
	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/rdd"
)

// restoreFaults makes the user code of restoreCounts panic while a restore
// runs: the state's decoder on key "b", or the Partitioner on key "b".
var restoreFaults struct{ decoder, partitioner atomic.Bool }

// restoreCount is a count whose msgpack decoder panics on key "b"'s count
// (2) while restoreFaults.decoder is set.
type restoreCount struct{ N int }

func (c restoreCount) EncodeMsgpack(enc *msgpack.Encoder) error { return enc.EncodeInt(int64(c.N)) }

func (c *restoreCount) DecodeMsgpack(dec *msgpack.Decoder) error {
	n, err := dec.DecodeInt()
	if restoreFaults.decoder.Load() && n == 2 {
		panic("the state decoder is down")
	}
	c.N = n
	return err
}

// restorePartitioner is a user Partitioner that panics on key "b" while
// restoreFaults.partitioner is set.
type restorePartitioner struct{ rdd.Partitioner[string] }

func (p restorePartitioner) Partition(k string) int {
	if restoreFaults.partitioner.Load() && k == "b" {
		panic("the partitioner is down")
	}
	return p.Partitioner.Partition(k)
}

// restoreCounts is wordCounts over restoreCount states with
// restorePartitioner, a data checkpoint every batch.
func restoreCounts(batches [][]string) func(*context.StreamingContext) error {
	return func(ssc *context.StreamingContext) error {
		pairs := wordPairs(ssc, batches, 1)
		counts := dstream.UpdateStateByKey(pairs, func(vs []int, s rdd.Option[restoreCount]) rdd.Option[restoreCount] {
			return rdd.Some(restoreCount{s.Value.N + len(vs)})
		}, dstream.WithName("counts"), dstream.WithPartitioner[string](restorePartitioner{rdd.NewHashPartitioner[string](2)}))
		counts.Checkpoint(time.Second)
		collectInto(newResults(), "counts", counts)
		return nil
	}
}

// A panic in user code while Start restores a checkpoint (the reviewer's
// repro: the state type's DecodeMsgpack; also a user Partitioner) must not
// escape into the program: Start returns an error wrapping ErrUserPanic
// that names the stream, the key and the checkpoint's batch time, and the
// context can be stopped.
func TestRestoreUserPanicIsStartError(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault *atomic.Bool
		want  string
	}{
		{"StateDecoder", &restoreFaults.decoder, "decoding the value of key b"},
		{"Partitioner", &restoreFaults.partitioner, "restoring key b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			setup := restoreCounts([][]string{{"a", "b"}, {"b", "c"}})
			r := startRun(t, dir, 0, setup)
			r.steps(2 * time.Second)
			require.NoError(t, r.ssc.Stop(true)) // final checkpoint at 2 s: b counts 2

			tc.fault.Store(true)
			t.Cleanup(func() { tc.fault.Store(false) })
			ssc, err := context.GetOrCreate(dir, setup, time.Second, context.WithClock(context.NewManualClock(time.UnixMilli(2000))))
			require.NoError(t, err)
			t.Cleanup(func() { _ = ssc.Stop(false) })
			require.NotPanics(t, func() { err = ssc.Start() })
			require.ErrorIs(t, err, rdd.ErrUserPanic)
			require.ErrorIs(t, err, dstream.ErrUserPanic)
			require.ErrorContains(t, err, "checkpoint of batch 2000 ms")
			require.ErrorContains(t, err, "stream counts")
			require.ErrorContains(t, err, tc.want)
			require.NotEqual(t, context.Active, ssc.State())

			// Without the fault, the same checkpoint restores.
			tc.fault.Store(false)
			r = startRun(t, dir, 2*time.Second, setup)
			r.steps(3 * time.Second)
			require.NoError(t, r.ssc.Stop(false))
		})
	}
}

// A well-framed metadata checkpoint whose graph data does not fit its
// batch times (the reviewer's repro: the 3 s checkpoint rewritten with
// zero time 250 ms and recovery point 7777 ms, which ran the first batch
// at 8777 ms and never re-ran 3 s to 8 s) is refused with an error
// wrapping checkpoint.ErrCorrupt that names the checkpoint and what is
// inconsistent.
func TestRestoreRefusesInconsistentGraphData(t *testing.T) {
	dir := t.TempDir()
	setup := wordCounts([][]string{{"a"}, {"b"}, {"a", "c"}}, time.Second)
	r := startRun(t, dir, 0, setup(newResults()))
	r.steps(3 * time.Second)
	require.NoError(t, r.ssc.AwaitCheckpoint(stdctx.Background(), time.UnixMilli(3000)))
	require.NoError(t, r.ssc.Stop(false))

	store, err := checkpoint.Open(dir)
	require.NoError(t, err)
	orig, err := store.LatestMetadata()
	require.NoError(t, err)
	require.Equal(t, int64(3000), orig.Time.UnixMilli())

	ms := func(n int64) time.Time { return time.UnixMilli(n).UTC() }
	for _, tc := range []struct {
		name           string
		zero, recovery int64 // ms
		lastCompleted  time.Time
		pending        []time.Time
		want           string // "" when the checkpoint is consistent
	}{
		{name: "Consistent", zero: 0, recovery: 3000, lastCompleted: ms(3000), pending: []time.Time{ms(4000), ms(5000)}},
		{name: "NoDataCheckpointYet", zero: 0, recovery: 0, lastCompleted: ms(3000)},
		{name: "Reviewer", zero: 250, recovery: 7777, lastCompleted: ms(3000), want: "recovery point 7777 ms is after the checkpoint's batch time"},
		{name: "RecoveryBeforeZero", zero: 2000, recovery: 1000, lastCompleted: ms(3000), want: "recovery point 1000 ms is before the zero time 2000 ms"},
		{name: "RecoveryOffGrid", zero: 0, recovery: 1500, lastCompleted: ms(3000), want: "recovery point 1500 ms is not on the batch grid"},
		{name: "CheckpointTimeOffGrid", zero: 250, recovery: 250, lastCompleted: ms(3000), want: "the checkpoint's batch time is not on the batch grid of zero time 250 ms"},
		{name: "LastCompletedAfterCheckpoint", zero: 0, recovery: 2000, lastCompleted: ms(5000), want: "last completed batch 5000 ms is not between"},
		{name: "LastCompletedBeforeRecovery", zero: 0, recovery: 2000, lastCompleted: ms(1000), want: "last completed batch 1000 ms is not between"},
		{name: "LastCompletedOffGrid", zero: 0, recovery: 2000, lastCompleted: ms(2500), want: "last completed batch 2500 ms is not on the batch grid"},
		{name: "NoLastCompleted", zero: 0, recovery: 2000, want: "last completed batch (none)"},
		{name: "PendingAtRecovery", zero: 0, recovery: 2000, lastCompleted: ms(3000), pending: []time.Time{ms(2000)}, want: "pending batch 2000 ms is not after the recovery point 2000 ms"},
		{name: "PendingOffGrid", zero: 0, recovery: 2000, lastCompleted: ms(3000), pending: []time.Time{ms(4500)}, want: "pending batch 4500 ms is not on the batch grid"},
		{name: "PendingOutOfOrder", zero: 0, recovery: 2000, lastCompleted: ms(3000), pending: []time.Time{ms(5000), ms(4000)}, want: "pending batch 4000 ms is not after the pending batch 5000 ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gd, err := msgpack.Marshal([]int64{ms(tc.zero).UnixNano(), ms(tc.recovery).UnixNano()}) // graphData is [ZeroTime, Recovery]
			require.NoError(t, err)
			m := *orig
			m.State, m.LastCompleted, m.Pending = nil, tc.lastCompleted, tc.pending
			m.Data = map[string][]byte{"\x00graph": gd}
			require.NoError(t, store.WriteMetadata(&m))

			ssc, err := context.GetOrCreate(dir, setup(newResults()), time.Second, context.WithClock(context.NewManualClock(ms(3000))))
			if tc.want == "" {
				require.NoError(t, err)
				_ = ssc.Stop(false)
				return
			}
			require.ErrorIs(t, err, checkpoint.ErrCorrupt)
			require.ErrorContains(t, err, dir)
			require.ErrorContains(t, err, "checkpoint of batch 3000 ms: graph data")
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// panickingPositionInput is an input whose checkpointed position cannot be
// restored: its RestorePosition panics.
type panickingPositionInput struct{ constantInput }

func (*panickingPositionInput) RestorePosition([]byte) error { panic("position decoder is down") }

// A panic in an input's RestorePosition during the restore fails Start with
// an error wrapping ErrUserPanic that names the checkpoint's batch and the
// input, instead of escaping into the program.
func TestRestorePositionPanicIsStartError(t *testing.T) {
	dir := t.TempDir()
	setup := func(restoring bool) func(*context.StreamingContext) error {
		return func(ssc *context.StreamingContext) error {
			var in context.Input[int] = &constantInput{}
			if restoring {
				in = &panickingPositionInput{}
			}
			context.NewInputStream[int](ssc, "PositionedInput", in).ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[int], _ time.Time) error {
				_, err := r.Count(ctx)
				return err
			})
			return nil
		}
	}
	r := startRun(t, dir, 0, setup(false))
	r.stepsDurable(2 * time.Second)
	require.NoError(t, r.ssc.Stop(false))

	ssc, err := context.GetOrCreate(dir, setup(true), time.Second, context.WithClock(context.NewManualClock(time.UnixMilli(2000))))
	require.NoError(t, err)
	defer func() { _ = ssc.Stop(false) }()
	err = ssc.Start()
	require.ErrorIs(t, err, rdd.ErrUserPanic)
	require.ErrorContains(t, err, "checkpoint of batch 2000 ms")
	require.ErrorContains(t, err, "position of input stream")
	require.ErrorContains(t, err, "position decoder is down")
}
