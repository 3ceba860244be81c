package dstreamtest_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
)

// exampleT stands in for the *testing.T a real test passes.
type exampleT struct {
	testing.TB
	cleanups []func()
}

func (*exampleT) Helper()                           {}
func (*exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (t *exampleT) Cleanup(f func())                { t.cleanups = append(t.cleanups, f) }

// Run feeds one slice per batch and returns what each batch produced.
func ExampleRun() {
	t := &exampleT{} // in a test: the *testing.T
	out := dstreamtest.Run(t, time.Second, [][]string{{"a b", "a"}, {}, {"c"}},
		func(in dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int64]] {
			return dstream.CountByValue(dstream.FlatMap(in, strings.Fields))
		}, 3)
	for _, batch := range out {
		// The order within a batch is unspecified.
		slices.SortFunc(batch, func(x, y rdd.Pair[string, int64]) int { return strings.Compare(x.Key, y.Key) })
		fmt.Println(batch)
	}
	// Output:
	// [(a,2) (b,1)]
	// []
	// [(c,1)]
}

// A Harness steps a context one batch at a time; each Step returns the
// batch's BatchInfo.
func ExampleHarness() {
	t := &exampleT{} // in a test: the *testing.T
	h := dstreamtest.NewHarness(t, time.Second)
	in := dstreamtest.Input(h, [][]int{{1, 2, 3}, {4}})
	sums := dstreamtest.Collect(in.Reduce(func(a, b int) int { return a + b }))
	h.Start()
	for range 2 {
		b := h.Step()
		fmt.Println(dstream.FormatTime(b.BatchTime), "records:", b.NumRecords())
	}
	h.Stop()
	fmt.Println(sums.Batches())
	// Output:
	// 1000 ms records: 3
	// 2000 ms records: 1
	// [[6] [4]]
}
