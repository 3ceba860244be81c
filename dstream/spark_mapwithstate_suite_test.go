package dstream_test

// Ports of the cases of Spark's MapWithStateSuite
// (streaming/src/test/scala/org/apache/spark/streaming/MapWithStateSuite.scala)
// that the other tests of this package do not already have verbatim.
//
// Already ported with Spark's inputs, mapping functions and expectations
// (each batch compared as a sorted slice, at least as strict as Spark's
// toSet), and so not repeated here:
//
//   - "state - get, exists, update, remove": state_store_test.go TestStateLifecycle;
//   - "basic operations with simple API": state_test.go TestMapWithStateBasicSimple;
//   - "basic operations with advanced API": TestMapWithStateBasicAdvanced;
//   - "states as mapped data": TestMapWithStateStatesAsMappedData;
//   - "initial states, with nothing returned as from mapping function":
//     TestMapWithStateInitialStates;
//   - "state removing" (numPartitions(1)): TestMapWithStateRemoving;
//   - "state timing out": TestMapWithStateTimingOut, with the library's
//     prompt timeout rule (a key times out in the first batch more than the
//     timeout after its last update; Spark finds it only in a full-scan
//     checkpoint batch), which checks Spark's three assertions (b and c
//     returned once each, a snapshot with a, b and c, a last snapshot of a
//     alone) and the batches the prompt rule gives (c at 5 s, b at 6 s).
//
// "type inferencing and class tags" checks Scala's ClassTags, which Go's
// type parameters make a compile-time matter (the spec's and stream's
// type arguments), so it has no port. The suite has no partitioner or
// partition-count case.
//
// Ported here: "checkpoint durations" (observable through
// CheckpointInterval) and "driver failure recovery" (the state survives a
// stop and a restart from the checkpoint with GetOrCreate).

import (
	"cmp"
	stdctx "context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
)

// smwsKV builds a batch of (string, int) pairs from alternating keys and
// values.
func smwsKV(pairs ...any) []rdd.Pair[string, int] {
	out := []rdd.Pair[string, int]{}
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, rdd.KV(pairs[i].(string), pairs[i+1].(int)))
	}
	return out
}

// TestSparkMapWithStateSuite_CheckpointDurations is test("mapWithState -
// checkpoint durations"): the data checkpoint interval of the stream that
// holds the state, once the context has started, by default and when set
// with checkpoint(d) on the MapWithState stream. In Spark the mapWithState
// stream itself has none (checkpoint forwards to its internal stream, which
// holds the state); here the MapWithState stream is the one that holds it.
//
// Spark's default for mapWithState is 10 × the batch interval
// (InternalMapWithStateDStream's DEFAULT_CHECKPOINT_DURATION_MULTIPLIER),
// not the smallest multiple of the slide of at least 10 s that other
// stateful streams get.
func TestSparkMapWithStateSuite_CheckpointDurations(t *testing.T) {
	for _, tc := range []struct {
		batch, want, explicit time.Duration
	}{
		{batch: 100 * time.Millisecond, want: time.Second},
		{batch: time.Second, want: 10 * time.Second},
		{batch: 10 * time.Second, want: 100 * time.Second},
		{batch: 100 * time.Millisecond, want: 2 * time.Second, explicit: 2 * time.Second},
		{batch: time.Second, want: 2 * time.Second, explicit: 2 * time.Second},
		{batch: 10 * time.Second, want: 20 * time.Second, explicit: 20 * time.Second},
	} {
		t.Run(fmt.Sprintf("batch %v explicit %v", tc.batch, tc.explicit), func(t *testing.T) {
			h := dstreamtest.NewHarness(t, tc.batch)
			in := dstream.Map(dstreamtest.Input(h, [][]int{}), func(x int) rdd.Pair[int, int] { return rdd.KV(x, 1) })
			spec := dstream.StateSpecFunc(func(_ time.Time, _ int, _ rdd.Option[int], _ *dstream.State[int]) rdd.Option[int] {
				return rdd.Some(0)
			})
			mws := dstream.MapWithState(in, spec)
			if tc.explicit != 0 {
				mws.Checkpoint(tc.explicit)
			}
			dstreamtest.Collect(mws.DStream) // Spark's register()
			h.Start()                        // fixes the checkpoint intervals
			require.Equal(t, tc.want, mws.CheckpointInterval())
		})
	}
}

// smwsCompletions forwards the times of completed batches.
type smwsCompletions struct {
	context.NoopListener
	ch chan time.Time
}

func (c *smwsCompletions) OnBatchCompleted(b context.BatchInfo) { c.ch <- b.BatchTime }

// smwsLife is one life of a context built with GetOrCreate on a manual
// clock: Spark's DStreamCheckpointTester runs the first life, stops it and
// builds the second from the checkpoint directory.
type smwsLife struct {
	t     *testing.T
	ssc   *context.StreamingContext
	clock *context.ManualClock
	done  chan time.Time
}

func smwsStartLife(t *testing.T, dir string, at time.Time, setup func(*context.StreamingContext) error) *smwsLife {
	t.Helper()
	clock := context.NewManualClock(at)
	quiet := hclog.New(&hclog.LoggerOptions{Level: hclog.Warn})
	ssc, err := context.GetOrCreate(dir, setup, time.Second, context.WithClock(clock), context.WithLogger(quiet))
	require.NoError(t, err)
	l := &smwsLife{t: t, ssc: ssc, clock: clock, done: make(chan time.Time, 1024)}
	ssc.AddStreamingListener(&smwsCompletions{ch: l.done})
	require.NoError(t, ssc.Start())
	t.Cleanup(func() { _ = ssc.Stop(false) })
	return l
}

// stepTo advances the clock a batch at a time up to to, waiting for each
// batch (and any batch re-run before it) to complete.
func (l *smwsLife) stepTo(to time.Time) {
	l.t.Helper()
	for l.clock.Now().Before(to) {
		l.clock.Advance(time.Second)
		want := l.clock.Now()
		timeout := time.After(dstreamtest.StepTimeout)
	wait:
		for {
			select {
			case bt := <-l.done:
				if !bt.Before(want) {
					break wait
				}
			case <-l.ssc.Done():
				l.t.Fatalf("context stopped before batch %s: %v", dstream.FormatTime(want), l.ssc.AwaitTermination())
			case <-timeout:
				l.t.Fatalf("batch %s did not complete", dstream.FormatTime(want))
			}
		}
	}
}

// TestSparkMapWithStateSuite_DriverFailureRecovery is test("mapWithState -
// driver failure recovery"), run as Spark's testCheckpointedOperation runs
// it: input in 2 partitions, a 1 s batch, the MapWithState stream
// checkpointed every batchDuration × (7 / 2) = 3 s, the state snapshots as
// the output; 7 / 2 = 3 batches, then, once the checkpoint of the last of
// them is written, a stop, a restart from the checkpoint directory with
// the clock at the checkpoint's time, and the remaining 4 batches. Each
// life outputs its part of the expected snapshots, each batch compared as
// a set.
func TestSparkMapWithStateSuite_DriverFailureRecovery(t *testing.T) {
	input := [][]string{{}, {"a"}, {"a", "b"}, {"a", "b", "c"}, {"a", "b"}, {"a"}, {}}
	stateData := [][]rdd.Pair[string, int]{
		smwsKV(), smwsKV("a", 1), smwsKV("a", 2, "b", 1), smwsKV("a", 3, "b", 2, "c", 1),
		smwsKV("a", 4, "b", 3, "c", 1), smwsKV("a", 5, "b", 3, "c", 1), smwsKV("a", 5, "b", 3, "c", 1),
	}
	const batch = time.Second
	checkpointInterval := batch * time.Duration(len(stateData)/2)
	before := len(input) / 2

	var (
		outs  [][]rdd.Pair[string, int]
		times []time.Time
	)
	setup := func(ssc *context.StreamingContext) error {
		outs, times = nil, nil // the output of this life only
		q := context.NewQueue[string]()
		for _, b := range input {
			q.PushSlice(b, dstreamtest.Partitions)
		}
		pairs := dstream.Map(context.QueueStream(ssc, q, true), func(x string) rdd.Pair[string, int] { return rdd.KV(x, 1) })
		runningCount := dstream.StateSpecFunc(func(_ time.Time, _ string, v rdd.Option[int], s *dstream.State[int]) rdd.Option[int] {
			s.Update(s.GetOption().Value + v.Value) // getOrElse(0) both
			return rdd.Some(s.Get())
		})
		mws := dstream.MapWithState(pairs, runningCount)
		mws.Checkpoint(checkpointInterval) // one data checkpoint before the restart
		mws.StateSnapshots().ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[rdd.Pair[string, int]], bt time.Time) error {
			xs, err := r.Collect(ctx)
			if err != nil {
				return err
			}
			if xs == nil {
				xs = []rdd.Pair[string, int]{}
			}
			outs = append(outs, xs) // batches run one at a time
			times = append(times, bt)
			return nil
		})
		return nil
	}
	seconds := func(ts []time.Time) []int64 {
		out := make([]int64, len(ts))
		for i, t := range ts {
			out[i] = t.Unix()
		}
		return out
	}

	dir := t.TempDir()
	first := smwsStartLife(t, dir, time.Unix(0, 0), setup)
	first.stepTo(time.Unix(int64(before), 0))
	// Spark waits for the checkpoint files of the last batch before it stops.
	ctx, cancel := stdctx.WithTimeout(stdctx.Background(), dstreamtest.StepTimeout)
	defer cancel()
	require.NoError(t, first.ssc.AwaitCheckpoint(ctx, first.clock.Now()))
	require.NoError(t, first.ssc.Stop(false))
	require.Equal(t, []int64{1, 2, 3}, seconds(times))
	require.Equal(t, stateData[:before], smwsSorted(outs), "before the restart")

	second := smwsStartLife(t, dir, time.Unix(int64(before), 0), setup)
	second.stepTo(time.Unix(int64(len(input)), 0))
	require.NoError(t, second.ssc.Stop(false))
	require.Equal(t, []int64{4, 5, 6, 7}, seconds(times), "the batches after the checkpoint, none re-run")
	require.Equal(t, stateData[before:], smwsSorted(outs), "after the restart")
}

// smwsSorted sorts every batch of pairs by key then value.
func smwsSorted(batches [][]rdd.Pair[string, int]) [][]rdd.Pair[string, int] {
	for _, b := range batches {
		slices.SortFunc(b, func(x, y rdd.Pair[string, int]) int {
			return cmp.Or(cmp.Compare(x.Key, y.Key), cmp.Compare(x.Value, y.Value))
		})
	}
	return batches
}
