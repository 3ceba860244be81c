package dstream_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	sctx "github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
)

// stateSorted sorts every batch by the printed form of its elements.
func stateSorted[T any](batches [][]T) [][]T {
	for _, b := range batches {
		slices.SortFunc(b, func(x, y T) int { return strings.Compare(fmt.Sprint(x), fmt.Sprint(y)) })
	}
	return batches
}

func kvs(pairs ...any) []rdd.Pair[string, int] {
	out := []rdd.Pair[string, int]{}
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, rdd.KV(pairs[i].(string), pairs[i+1].(int)))
	}
	return out
}

func ones(in dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int]] {
	return dstream.Map(in, func(s string) rdd.Pair[string, int] { return rdd.KV(s, 1) })
}

// runMapWithState is Spark's MapWithStateSuite.testOperation: it runs
// input through MapWithState(spec) and returns the mapped records and the
// state snapshots of every batch, sorted.
func runMapWithState[M any](t *testing.T, input [][]string, spec dstream.StateSpec[string, int, int, M], batches int) ([][]M, [][]rdd.Pair[string, int]) {
	t.Helper()
	h := dstreamtest.NewHarness(t, time.Second)
	s := dstream.MapWithState(ones(dstreamtest.Input(h, input)), spec)
	mapped := dstreamtest.Collect(s.DStream)
	snaps := dstreamtest.Collect(s.StateSnapshots())
	h.Start()
	for range batches {
		h.Step()
	}
	h.Stop()
	return stateSorted(mapped.Batches()), stateSorted(snaps.Batches())
}

var mwsInput = [][]string{{}, {"a"}, {"a", "b"}, {"a", "b", "c"}, {"a", "b"}, {"a"}, {}}

var mwsStates = [][]rdd.Pair[string, int]{
	kvs(), kvs("a", 1), kvs("a", 2, "b", 1), kvs("a", 3, "b", 2, "c", 1),
	kvs("a", 4, "b", 3, "c", 1), kvs("a", 5, "b", 3, "c", 1), kvs("a", 5, "b", 3, "c", 1),
}

func runningSum(state *dstream.State[int], value rdd.Option[int]) int {
	sum := value.Value + state.GetOption().Value
	state.Update(sum)
	return sum
}

// Spark: MapWithStateSuite "mapWithState - basic operations with simple API".
func TestMapWithStateBasicSimple(t *testing.T) {
	spec := dstream.StateSpecFunc(func(_ time.Time, _ string, v rdd.Option[int], s *dstream.State[int]) rdd.Option[int] {
		return rdd.Some(runningSum(s, v))
	})
	mapped, states := runMapWithState(t, mwsInput, spec, len(mwsInput))
	require.Equal(t, [][]int{{}, {1}, {1, 2}, {1, 2, 3}, {3, 4}, {5}, {}}, mapped)
	require.Equal(t, mwsStates, states)
}

// Spark: MapWithStateSuite "mapWithState - basic operations with advanced API".
func TestMapWithStateBasicAdvanced(t *testing.T) {
	spec := dstream.StateSpecFunc(func(_ time.Time, k string, v rdd.Option[int], s *dstream.State[int]) rdd.Option[string] {
		runningSum(s, v)
		return rdd.Some(k + k)
	})
	mapped, states := runMapWithState(t, mwsInput, spec, len(mwsInput))
	require.Equal(t, [][]string{{}, {"aa"}, {"aa", "bb"}, {"aa", "bb", "cc"}, {"aa", "bb"}, {"aa"}, {}}, mapped)
	require.Equal(t, mwsStates, states)
}

// Spark: MapWithStateSuite "mapWithState - states as mapped data".
func TestMapWithStateStatesAsMappedData(t *testing.T) {
	spec := dstream.StateSpecFunc(func(_ time.Time, k string, v rdd.Option[int], s *dstream.State[int]) rdd.Option[rdd.Pair[string, int]] {
		return rdd.Some(rdd.KV(k, runningSum(s, v)))
	})
	mapped, states := runMapWithState(t, mwsInput, spec, len(mwsInput))
	require.Equal(t, [][]rdd.Pair[string, int]{
		kvs(), kvs("a", 1), kvs("a", 2, "b", 1), kvs("a", 3, "b", 2, "c", 1), kvs("a", 4, "b", 3), kvs("a", 5), kvs(),
	}, mapped)
	require.Equal(t, mwsStates, states)
}

// Spark: MapWithStateSuite "mapWithState - initial states, with nothing
// returned as from mapping function".
func TestMapWithStateInitialStates(t *testing.T) {
	initial := rdd.Parallelize(kvs("a", 5, "b", 10, "c", -20, "d", 0), 2)
	spec := dstream.StateSpecFunc(func(_ time.Time, _ string, v rdd.Option[int], s *dstream.State[int]) rdd.Option[int] {
		runningSum(s, v)
		return rdd.None[int]()
	}).InitialState(initial)
	mapped, states := runMapWithState(t, mwsInput, spec, len(mwsInput))
	require.Equal(t, [][]int{{}, {}, {}, {}, {}, {}, {}}, mapped)
	require.Equal(t, [][]rdd.Pair[string, int]{
		kvs("a", 5, "b", 10, "c", -20, "d", 0), kvs("a", 6, "b", 10, "c", -20, "d", 0),
		kvs("a", 7, "b", 11, "c", -20, "d", 0), kvs("a", 8, "b", 12, "c", -19, "d", 0),
		kvs("a", 9, "b", 13, "c", -19, "d", 0), kvs("a", 10, "b", 13, "c", -19, "d", 0),
		kvs("a", 10, "b", 13, "c", -19, "d", 0),
	}, states)
}

// Spark: MapWithStateSuite "mapWithState - state removing".
func TestMapWithStateRemoving(t *testing.T) {
	input := [][]string{{}, {"a"}, {"a", "b"}, {"a", "b", "c"}, {"a", "b", "c"}, {"a", "b"}, {"a"}, {}}
	spec := dstream.StateSpecFunc(func(_ time.Time, k string, v rdd.Option[int], s *dstream.State[int]) rdd.Option[string] {
		if s.Exists() {
			s.Remove()
			return rdd.Some(k)
		}
		s.Update(v.Value)
		return rdd.None[string]()
	}).NumPartitions(1)
	mapped, states := runMapWithState(t, input, spec, len(input))
	require.Equal(t, [][]string{{}, {}, {"a"}, {"b"}, {"a", "c"}, {"b"}, {"a"}, {}}, mapped)
	require.Equal(t, [][]rdd.Pair[string, int]{kvs(), kvs("a", 1), kvs("b", 1), kvs("a", 1, "c", 1), kvs("b", 1), kvs("a", 1), kvs(), kvs()}, states)
}

// timeoutSpec emits a key when it times out and keeps 1 for every key
// that gets a record (Spark's "state timing out" mapping function).
func timeoutSpec(d time.Duration, calls *atomic.Int64) dstream.StateSpec[string, int, int, string] {
	return dstream.StateSpecFunc(func(_ time.Time, k string, v rdd.Option[int], s *dstream.State[int]) rdd.Option[string] {
		if calls != nil {
			calls.Add(1)
		}
		if v.Valid {
			s.Update(1)
		}
		if s.IsTimingOut() {
			return rdd.Some(k)
		}
		return rdd.None[string]()
	}).Timeout(d)
}

// Spark: MapWithStateSuite "mapWithState - state timing out", with the
// prompt rule: a key times out in the first batch more than the timeout
// after its last update (Spark finds it only in a later full scan).
func TestMapWithStateTimingOut(t *testing.T) {
	input := [][]string{{"a", "b", "c"}, {"a", "b"}, {"a"}, {}, {}, {"a"}}
	for range 20 {
		input = append(input, []string{"a"})
	}
	mapped, states := runMapWithState(t, input, timeoutSpec(3*time.Second, nil), len(input))
	var all []string
	for _, b := range mapped {
		all = append(all, b...)
	}
	require.Equal(t, []string{"c", "b"}, all, "b and c are returned once each, when they expire")
	require.Contains(t, states, kvs("a", 1, "b", 1, "c", 1))
	require.Equal(t, kvs("a", 1), states[len(states)-1])
	// Prompt: c was last updated at 1 s, so it times out at 5 s (5-1 > 3);
	// b (last 2 s) at 6 s.
	require.Equal(t, []string{"c"}, mapped[4])
	require.Equal(t, []string{"b"}, mapped[5])
	require.Equal(t, kvs("a", 1, "b", 1), states[4])
	require.Equal(t, kvs("a", 1), states[5])
}

// A key is touched (and so kept alive) by any record, even one for which
// the function does not call Update; the timing-out call happens exactly
// once, and only timing-out keys (not the whole state) are visited.
func TestMapWithStateTimeoutPrompt(t *testing.T) {
	var calls atomic.Int64
	input := [][]string{{"x", "y", "z"}, {"x"}, {}, {"x"}, {}, {}, {}}
	spec := dstream.StateSpecFunc(func(_ time.Time, k string, v rdd.Option[int], s *dstream.State[int]) rdd.Option[string] {
		calls.Add(1)
		if s.IsTimingOut() {
			return rdd.Some("timeout " + k)
		}
		if !s.Exists() {
			s.Update(1)
		}
		return rdd.None[string]()
	}).Timeout(2 * time.Second)
	mapped, states := runMapWithState(t, input, spec, len(input))
	// y, z last updated at 1 s time out at 4 s (4-1 > 2); x last touched
	// at 4 s times out at 7 s.
	require.Equal(t, [][]string{{}, {}, {}, {"timeout y", "timeout z"}, {}, {}, {"timeout x"}}, mapped)
	require.Equal(t, kvs("x", 1), states[5])
	require.Equal(t, kvs(), states[6])
	require.Equal(t, int64(5+3), calls.Load(), "5 record calls and 3 timeout calls")
}

// A timing-out state may not be updated: the batch fails with
// ErrInvalidState naming the key.
func TestMapWithStateUpdateWhileTimingOutFails(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	spec := dstream.StateSpecFunc(func(_ time.Time, _ string, _ rdd.Option[int], s *dstream.State[int]) rdd.Option[int] {
		s.Update(1)
		return rdd.None[int]()
	}).Timeout(time.Second)
	dstreamtest.Collect(dstream.MapWithState(ones(dstreamtest.Input(h, [][]string{{"k"}})), spec).DStream)
	h.Start()
	h.Step()
	h.Step()
	b, _ := h.TryStep()
	err := b.Err()
	require.Error(t, err)
	require.ErrorIs(t, err, dstream.ErrInvalidState)
	require.Contains(t, err.Error(), "cannot update the state that is timing out")
	require.Contains(t, err.Error(), "key k")
}

// Update after Remove fails the batch with ErrInvalidState; a panic in the
// function fails it with ErrUserPanic.
func TestMapWithStateMisuseAndPanic(t *testing.T) {
	for name, tc := range map[string]struct {
		f    func(*dstream.State[int])
		want error
		msg  string
	}{
		"update after remove": {func(s *dstream.State[int]) { s.Update(1); s.Remove(); s.Update(2) }, dstream.ErrInvalidState, "cannot update the state after it has been removed"},
		"remove twice":        {func(s *dstream.State[int]) { s.Remove(); s.Remove() }, dstream.ErrInvalidState, "already been removed"},
		"get absent":          {func(s *dstream.State[int]) { s.Get() }, dstream.ErrInvalidState, "does not exist"},
		"panic":               {func(*dstream.State[int]) { panic("boom") }, rdd.ErrUserPanic, "boom"},
	} {
		t.Run(name, func(t *testing.T) {
			h := dstreamtest.NewHarness(t, time.Second)
			spec := dstream.StateSpecFunc(func(_ time.Time, _ string, _ rdd.Option[int], s *dstream.State[int]) rdd.Option[int] {
				tc.f(s)
				return rdd.None[int]()
			})
			dstreamtest.Collect(dstream.MapWithState(ones(dstreamtest.Input(h, [][]string{{"k"}})), spec).DStream)
			h.Start()
			b, _ := h.TryStep()
			err := b.Err()
			require.ErrorIs(t, err, tc.want)
			require.Contains(t, err.Error(), tc.msg)
			require.Contains(t, err.Error(), "MapWithState")
			require.Contains(t, err.Error(), "key k", "the error names the record's key")
		})
	}
}

// Several outputs on the stream and its snapshots update the state once per
// batch; a batch whose RDDs nobody reads is still applied, in order.
func TestMapWithStateAppliedOncePerBatchInOrder(t *testing.T) {
	var calls atomic.Int64
	h := dstreamtest.NewHarness(t, time.Second)
	input := [][]string{{"a"}, {"a", "b"}, {"a"}, {"b"}}
	spec := dstream.StateSpecFunc(func(t time.Time, k string, v rdd.Option[int], s *dstream.State[int]) rdd.Option[string] {
		calls.Add(1)
		return rdd.Some(fmt.Sprintf("%s=%d@%d", k, runningSum(s, v), t.Unix()))
	})
	s := dstream.MapWithState(ones(dstreamtest.Input(h, input)), spec)
	first := dstreamtest.Collect(s.DStream)
	second := dstreamtest.Collect(s.DStream)
	// An output that reads the snapshot only on even batches.
	var snaps [][]rdd.Pair[string, int]
	s.StateSnapshots().ForeachRDD(func(ctx context.Context, r *rdd.RDD[rdd.Pair[string, int]], bt time.Time) error {
		if bt.Unix()%2 == 1 {
			return nil
		}
		xs, err := r.Collect(ctx)
		snaps = append(snaps, xs)
		return err
	})
	h.Start()
	for range input {
		h.Step()
	}
	h.Stop()
	want := [][]string{{"a=1@1"}, {"a=2@2", "b=1@2"}, {"a=3@3"}, {"b=2@4"}}
	require.Equal(t, want, stateSorted(first.Batches()))
	require.Equal(t, want, stateSorted(second.Batches()))
	require.Equal(t, [][]rdd.Pair[string, int]{kvs("a", 2, "b", 1), kvs("a", 3, "b", 2)}, stateSorted(snaps))
	require.Equal(t, int64(5), calls.Load())
}

// Only snapshots consumed: the update still runs (through the snapshot's
// RDD), and batches whose snapshot is never read are applied before later
// ones.
func TestMapWithStateOnlySnapshotsSkippedBatches(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	input := [][]string{{"a"}, {"a"}, {"a"}, {"a"}}
	spec := dstream.StateSpecFunc(func(_ time.Time, _ string, v rdd.Option[int], s *dstream.State[int]) rdd.Option[int] {
		return rdd.Some(runningSum(s, v))
	})
	s := dstream.MapWithState(ones(dstreamtest.Input(h, input)), spec)
	var got []int
	s.StateSnapshots().ForeachRDD(func(ctx context.Context, r *rdd.RDD[rdd.Pair[string, int]], bt time.Time) error {
		if bt.Unix() != 4 {
			return nil
		}
		xs, err := r.Collect(ctx)
		for _, x := range xs {
			got = append(got, x.Value)
		}
		return err
	})
	h.Start()
	for range input {
		h.Step()
	}
	h.Stop()
	require.Equal(t, []int{4}, got)
}

// Reading a snapshot RDD after a later batch changed the state fails with
// ErrStateUnavailable instead of showing the later state.
func TestStateSnapshotReadLateFails(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	spec := dstream.StateSpecFunc(func(_ time.Time, _ string, v rdd.Option[int], s *dstream.State[int]) rdd.Option[int] {
		return rdd.Some(runningSum(s, v))
	})
	s := dstream.MapWithState(ones(dstreamtest.Input(h, [][]string{{"a"}, {"a"}})), spec)
	dstreamtest.Collect(s.DStream)
	var kept *rdd.RDD[rdd.Pair[string, int]]
	s.StateSnapshots().ForeachRDD(func(ctx context.Context, r *rdd.RDD[rdd.Pair[string, int]], bt time.Time) error {
		if kept == nil {
			kept = r
			return nil
		}
		_, err := kept.Collect(ctx)
		return err
	})
	h.Start()
	h.Step()
	b, _ := h.TryStep()
	require.ErrorIs(t, b.Err(), dstream.ErrStateUnavailable)
}

func sumUpdate(values []int, state rdd.Option[int]) rdd.Option[int] {
	sum := state.Value
	for _, v := range values {
		sum += v
	}
	return rdd.Some(sum)
}

var usbkInput = [][]string{{"a"}, {"a", "b"}, {"a", "b", "c"}, {"a", "b"}, {"a"}, {}}

// Spark: BasicOperationsSuite "updateStateByKey".
func TestUpdateStateByKey(t *testing.T) {
	out := dstreamtest.Run(t, time.Second, usbkInput, func(in dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int]] {
		return dstream.UpdateStateByKey(ones(in), sumUpdate)
	}, len(usbkInput))
	require.Equal(t, [][]rdd.Pair[string, int]{
		kvs("a", 1), kvs("a", 2, "b", 1), kvs("a", 3, "b", 2, "c", 1),
		kvs("a", 4, "b", 3, "c", 1), kvs("a", 5, "b", 3, "c", 1), kvs("a", 5, "b", 3, "c", 1),
	}, stateSorted(out))
}

var usbkWithInitial = [][]rdd.Pair[string, int]{
	kvs("a", 2, "c", 2), kvs("a", 3, "b", 1, "c", 2), kvs("a", 4, "b", 2, "c", 3),
	kvs("a", 5, "b", 3, "c", 3), kvs("a", 6, "b", 3, "c", 3), kvs("a", 6, "b", 3, "c", 3),
}

// Spark: BasicOperationsSuite "updateStateByKey - simple with initial value RDD".
func TestUpdateStateByKeySimpleWithInitial(t *testing.T) {
	initial := rdd.Parallelize(kvs("a", 1, "c", 2), 2)
	out := dstreamtest.Run(t, time.Second, usbkInput, func(in dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int]] {
		return dstream.UpdateStateByKey(ones(in), sumUpdate, dstream.WithPartitions(dstreamtest.Partitions), dstream.WithInitialState(initial))
	}, len(usbkInput))
	require.Equal(t, usbkWithInitial, stateSorted(out))
}

// The update runs in the first batch for every key of the initial state,
// with the batch's values or none, as Spark's cogroup of the initial RDD
// with the first batch does, and for every key in the batches after.
func TestUpdateStateByKeyInitialKeysUpdatedEveryBatch(t *testing.T) {
	initial := rdd.Parallelize(kvs("a", 10, "b", 20), 2)
	input := [][]string{{"a", "c"}, nil, {"b"}}
	out := dstreamtest.Run(t, time.Second, input, func(in dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int]] {
		return dstream.UpdateStateByKey(ones(in), func(vs []int, s rdd.Option[int]) rdd.Option[int] {
			return rdd.Some(s.Value + 100*len(vs) + 1) // a call adds 1, a value 100
		}, dstream.WithInitialState(initial))
	}, len(input))
	require.Equal(t, [][]rdd.Pair[string, int]{
		kvs("a", 111, "b", 21, "c", 101),
		kvs("a", 112, "b", 22, "c", 102),
		kvs("a", 113, "b", 123, "c", 103),
	}, stateSorted(out))
}

// Spark: BasicOperationsSuite "updateStateByKey - with initial value RDD"
// (the form that sees the key, here with the batch time too).
func TestUpdateStateByKeyWithTimeAndInitial(t *testing.T) {
	initial := rdd.Parallelize(kvs("a", 1, "c", 2), 2)
	var badTime atomic.Bool
	out := dstreamtest.Run(t, time.Second, usbkInput, func(in dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int]] {
		return dstream.UpdateStateByKeyWithTime(ones(in), func(bt time.Time, k string, vs []int, s rdd.Option[int]) rdd.Option[int] {
			if bt.UnixNano()%int64(time.Second) != 0 || k == "" {
				badTime.Store(true)
			}
			return sumUpdate(vs, s)
		}, dstream.WithPartitioner(rdd.NewHashPartitioner[string](3)), dstream.WithInitialState(initial))
	}, len(usbkInput))
	require.Equal(t, usbkWithInitial, stateSorted(out))
	require.False(t, badTime.Load())
}

// Spark: BasicOperationsSuite "updateStateByKey - object lifecycle": a
// state object is mutated in place and removed after two batches without
// values; batches without input still run the update for every key.
func TestUpdateStateByKeyObjectLifecycle(t *testing.T) {
	type stateObject struct{ counter, expireCounter int }
	input := [][]string{{"a", "b"}, nil, {"a", "c", "a"}, {"c"}, nil, nil}
	out := dstreamtest.Run(t, time.Second, input, func(in dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int]] {
		st := dstream.UpdateStateByKey(ones(in), func(values []int, state rdd.Option[*stateObject]) rdd.Option[*stateObject] {
			obj := state.Value
			if !state.Valid {
				obj = &stateObject{}
			}
			if sum := sumUpdate(values, rdd.None[int]()).Value; sum == 0 {
				obj.expireCounter++
			} else {
				obj.counter += sum
				obj.expireCounter = 0
			}
			if obj.expireCounter == 2 {
				return rdd.None[*stateObject]()
			}
			return rdd.Some(obj)
		})
		return dstream.MapValues(st, func(o *stateObject) int { return o.counter })
	}, len(input))
	require.Equal(t, [][]rdd.Pair[string, int]{
		kvs("a", 1, "b", 1), kvs("a", 1, "b", 1), kvs("a", 3, "c", 1), kvs("a", 3, "c", 2), kvs("c", 2), kvs(),
	}, stateSorted(out))
}

// An initial state of the wrong type, or a bad partition count, is a graph
// error that Start returns.
func TestStateOptionErrors(t *testing.T) {
	for name, build := range map[string]func(dstream.DStream[rdd.Pair[string, int]]){
		"initial type": func(d dstream.DStream[rdd.Pair[string, int]]) {
			dstreamtest.Collect(dstream.UpdateStateByKey(d, sumUpdate, dstream.WithInitialState(rdd.Parallelize([]rdd.Pair[int, int]{}, 1))))
		},
		"partitions": func(d dstream.DStream[rdd.Pair[string, int]]) {
			dstreamtest.Collect(dstream.UpdateStateByKey(d, sumUpdate, dstream.WithPartitions(-1)))
		},
		"spec partitions": func(d dstream.DStream[rdd.Pair[string, int]]) {
			dstreamtest.Collect(dstream.MapWithState(d, timeoutSpec(0, nil).NumPartitions(-2)).DStream)
		},
		// 0 given is refused too, as in Spark; only leaving it out is the default.
		"zero partitions": func(d dstream.DStream[rdd.Pair[string, int]]) {
			dstreamtest.Collect(dstream.UpdateStateByKey(d, sumUpdate, dstream.WithPartitions(0)))
		},
		"zero spec partitions": func(d dstream.DStream[rdd.Pair[string, int]]) {
			dstreamtest.Collect(dstream.MapWithState(d, timeoutSpec(0, nil).NumPartitions(0)).DStream)
		},
		"zero shuffle partitions": func(d dstream.DStream[rdd.Pair[string, int]]) {
			dstreamtest.Collect(dstream.ReduceByKey(d, func(a, b int) int { return a + b }, dstream.WithPartitions(0)))
		},
		"zero window partitions": func(d dstream.DStream[rdd.Pair[string, int]]) {
			dstreamtest.Collect(dstream.ReduceByKeyAndWindow(d, func(a, b int) int { return a + b }, 2*time.Second, time.Second,
				dstream.WithInverse(func(a, b int) int { return a - b }), dstream.WithPartitions(0)))
		},
		"timeout": func(d dstream.DStream[rdd.Pair[string, int]]) {
			dstreamtest.Collect(dstream.MapWithState(d, timeoutSpec(-time.Second, nil)).DStream)
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := dstreamtest.NewHarness(t, time.Second)
			build(ones(dstreamtest.Input(h, [][]string{{"a"}})))
			err := h.Context().Start()
			require.ErrorIs(t, err, dstream.ErrInvalidStream)
		})
	}
}

// A failed update leaves the state unusable: with the context continuing
// after failures, later batches fail with ErrStateUnavailable.
func TestStateBrokenAfterFailure(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second, sctx.WithContinueOnBatchFailure())
	d := dstream.UpdateStateByKey(ones(dstreamtest.Input(h, [][]string{{"a"}, {"boom"}, {"a"}})), sumUpdate)
	failing := dstream.UpdateStateByKeyWithTime(ones(dstreamtest.Input(h, [][]string{{"a"}, {"boom"}, {"a"}})), func(_ time.Time, k string, values []int, s rdd.Option[int]) rdd.Option[int] {
		if k == "boom" {
			panic("boom")
		}
		return sumUpdate(values, s)
	})
	ok := dstreamtest.Collect(d)
	var errs []error
	h.Context().AddStreamingListener(&outputErrors{errs: &errs})
	dstreamtest.Collect(failing)
	h.Start()
	for range 3 {
		h.Step()
	}
	h.Stop()
	require.Len(t, ok.Batches(), 3, "the healthy stream goes on")
	require.Len(t, errs, 2)
	require.ErrorIs(t, errs[0], rdd.ErrUserPanic)
	require.Contains(t, errs[0].Error(), "key boom", "the error names the record's key")
	require.Contains(t, errs[0].Error(), "UpdateStateByKey")
	require.ErrorIs(t, errs[1], dstream.ErrStateUnavailable)
}

type outputErrors struct {
	sctx.NoopListener
	errs *[]error
}

func (l *outputErrors) OnOutputOperationCompleted(op sctx.OutputOperationInfo) {
	if op.Err != nil {
		*l.errs = append(*l.errs, op.Err)
	}
}

// TestMapWithStateOnlySnapshotsIsCheckpointed: when the snapshots are the
// only output, the state is still in the data checkpoints (the snapshot
// stream depends on the mapped stream that holds it, as in Spark).
func TestMapWithStateOnlySnapshotsIsCheckpointed(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	spec := dstream.StateSpecFunc(func(_ time.Time, _ string, v rdd.Option[int], s *dstream.State[int]) rdd.Option[int] {
		return rdd.Some(runningSum(s, v))
	})
	s := dstream.MapWithState(ones(dstreamtest.Input(h, [][]string{{"a"}, {"a"}})), spec)
	snaps := dstreamtest.Collect(s.StateSnapshots())
	h.Start()
	h.Step()
	data, err := h.Context().Graph().CheckpointData(context.Background(), time.Unix(1, 0))
	require.NoError(t, err)
	require.Len(t, data, 1, "the state stream's data")
	h.Step()
	require.Equal(t, [][]rdd.Pair[string, int]{{rdd.KV("a", 1)}, {rdd.KV("a", 2)}}, snaps.Batches())
}

// An initial state RDD with a key twice: UpdateStateByKey takes the first
// pair (Spark's head of the cogrouped states), MapWithState the last (a
// put per pair).
func TestInitialStateDuplicateKeys(t *testing.T) {
	initial := rdd.Parallelize(kvs("a", 1, "b", 5, "a", 2), 1)
	input := [][]string{{"a"}}
	usbk := dstreamtest.Run(t, time.Second, input, func(in dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int]] {
		return dstream.UpdateStateByKey(ones(in), sumUpdate, dstream.WithInitialState(initial))
	}, len(input))
	require.Equal(t, [][]rdd.Pair[string, int]{kvs("a", 2, "b", 5)}, stateSorted(usbk))
	mws := dstreamtest.Run(t, time.Second, input, func(in dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int]] {
		return dstream.MapWithState(ones(in), dstream.StateSpecFunc(func(_ time.Time, k string, v rdd.Option[int], st *dstream.State[int]) rdd.Option[rdd.Pair[string, int]] {
			st.Update(st.Get() + v.Value)
			return rdd.Some(rdd.KV(k, st.Get()))
		}).InitialState(initial)).StateSnapshots()
	}, len(input))
	require.Equal(t, [][]rdd.Pair[string, int]{kvs("a", 3, "b", 5)}, stateSorted(mws))
}
