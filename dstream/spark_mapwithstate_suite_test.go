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
// CheckpointInterval). "driver failure recovery", a restart through
// context.GetOrCreate, is in the context package's Spark checkpoint suite
// (TestSparkCheckpointSuite_MapWithStateDriverFailureRecovery).

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
)

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
