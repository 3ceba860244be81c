package dstream_test

import (
	"bytes"
	stdctx "context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
)

func sortedPairs[K interface{ ~string | ~int }, V any](batches [][]rdd.Pair[K, V]) [][]rdd.Pair[K, V] {
	for _, b := range batches {
		slices.SortFunc(b, func(x, y rdd.Pair[K, V]) int {
			if x.Key < y.Key {
				return -1
			}
			if x.Key > y.Key {
				return 1
			}
			return 0
		})
	}
	return batches
}

func TestSmokeCountByValue(t *testing.T) {
	out := dstreamtest.Run(t, time.Second, [][]string{{"a", "b", "a"}, {"a"}, {}},
		func(in dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int64]] {
			return dstream.CountByValue(in)
		}, 3)
	require.Equal(t, [][]rdd.Pair[string, int64]{{rdd.KV("a", int64(2)), rdd.KV("b", int64(1))}, {rdd.KV("a", int64(1))}, {}}, sortedPairs(out))
}

func TestSmokeCountEmpty(t *testing.T) {
	out := dstreamtest.Run(t, time.Second, [][]int{{1, 2, 3}, {}, {4}},
		func(in dstream.DStream[int]) dstream.DStream[int64] { return in.Count() }, 4)
	require.Equal(t, [][]int64{{3}, {0}, {1}, {0}}, out)
}

func TestSmokePrint(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	var buf bytes.Buffer
	dstreamtest.Input(h, [][]int{{1, 2, 3}, {}}).Fprint(&buf, 2)
	h.Start()
	h.Step()
	h.Step()
	h.Stop()
	require.Equal(t, strings.Join([]string{
		"-------------------------------------------", "Time: 1000 ms", "-------------------------------------------", "1", "2", "...", "",
		"-------------------------------------------", "Time: 2000 ms", "-------------------------------------------", "", ""}, "\n"), buf.String())
}

// TestPrintNegativeCount checks Spark's print with a count below 0: no
// element, then "..." (take(num + 1) is empty, and its length exceeds num).
func TestPrintNegativeCount(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	var buf bytes.Buffer
	dstreamtest.Input(h, [][]int{{1, 2, 3}}).Fprint(&buf, -3)
	h.Start()
	require.NoError(t, h.Step().Err())
	h.Stop()
	require.Equal(t, strings.Join([]string{
		"-------------------------------------------", "Time: 1000 ms", "-------------------------------------------", "...", "", ""}, "\n"), buf.String())
}

// panickyString's String panics for 2.
type panickyString int

func (p panickyString) String() string {
	if p == 2 {
		panic("boom in String")
	}
	return "fine"
}

// A String method that panics fails Print's batch (and SaveAsTextFiles'),
// naming the operation and the batch, instead of fmt printing
// "%!v(PANIC=...)" and the batch succeeding.
func TestPrintAndSaveFailOnPanickingString(t *testing.T) {
	dir := t.TempDir()
	for _, out := range []func(d dstream.DStream[panickyString]){
		func(d dstream.DStream[panickyString]) { d.Fprint(io.Discard, 10) },
		func(d dstream.DStream[panickyString]) { d.SaveAsTextFiles(filepath.Join(dir, "out"), "") },
	} {
		h := dstreamtest.NewHarness(t, time.Second, context.WithContinueOnBatchFailure())
		out(dstreamtest.Input(h, [][]panickyString{{1, 2}}))
		h.Start()
		b := h.Step()
		h.Stop()
		require.ErrorContains(t, b.Err(), "user function panicked: boom in String") // dstream's (Print) or rdd's (the save's task)
		require.ErrorContains(t, b.Err(), "1000 ms")
	}
	_, err := os.Stat(filepath.Join(dir, "out-1000"))
	require.ErrorIs(t, err, fs.ErrNotExist)
}

// One sentinel for every user panic of a batch, whichever package's name is
// used: a panic in a task (Map's function) and one on the job's goroutine
// (ForeachRDD's function) both match dstream.ErrUserPanic and
// rdd.ErrUserPanic. There were two values, each matching only its own kind.
func TestUserPanicSentinel(t *testing.T) {
	for name, out := range map[string]func(d dstream.DStream[int]){
		"Map": func(d dstream.DStream[int]) {
			dstream.Map(d, func(int) int { panic("boom") }).ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[int], _ time.Time) error {
				_, err := r.Count(ctx)
				return err
			})
		},
		"ForeachRDD": func(d dstream.DStream[int]) {
			d.ForeachRDD(func(stdctx.Context, *rdd.RDD[int], time.Time) error { panic("boom") })
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := dstreamtest.NewHarness(t, time.Second, context.WithContinueOnBatchFailure())
			out(dstreamtest.Input(h, [][]int{{1}}))
			h.Start()
			err := h.Step().Err()
			h.Stop()
			require.ErrorIs(t, err, dstream.ErrUserPanic)
			require.ErrorIs(t, err, rdd.ErrUserPanic)
		})
	}
}

// A task's error names the stream's operation, not only the RDD operation
// behind it (Reduce is a ReduceByKey over a unit key), and a panic on the
// job's goroutine keeps its stack out of the message (it is logged).
func TestPanicErrorsNameTheStream(t *testing.T) {
	boom := func(a, b int) int { panic("boom") }
	for name, tc := range map[string]struct {
		out  func(d dstream.DStream[int])
		want string
	}{
		"Reduce": {func(d dstream.DStream[int]) { dstreamtest.Collect(d.Reduce(boom)) }, "Reduce (stream "},
		"ReduceByWindow": {func(d dstream.DStream[int]) {
			dstreamtest.Collect(d.ReduceByWindow(boom, 2*time.Second, time.Second))
		}, "Reduce (stream "},
		"ForeachRDD": {func(d dstream.DStream[int]) {
			d.ForeachRDD(func(stdctx.Context, *rdd.RDD[int], time.Time) error { panic("boom") })
		}, "output operation 0 (ForeachRDD) at batch 1000 ms: user function panicked: boom"},
	} {
		t.Run(name, func(t *testing.T) {
			h := dstreamtest.NewHarness(t, time.Second, context.WithContinueOnBatchFailure())
			tc.out(dstreamtest.Input(h, [][]int{{1, 2, 3, 4}}))
			h.Start()
			err := h.Step().Err()
			h.Stop()
			require.ErrorIs(t, err, dstream.ErrUserPanic)
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "goroutine ", "no stack in the message")
		})
	}
}
