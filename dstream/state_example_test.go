package dstream_test

import (
	stdctx "context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/rdd"
)

// printSorted prints each batch of pairs sorted by key, with its time.
func printSorted[V any](d dstream.DStream[rdd.Pair[string, V]]) {
	d.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[rdd.Pair[string, V]], batchTime time.Time) error {
		xs, err := r.Collect(ctx)
		slices.SortFunc(xs, func(a, b rdd.Pair[string, V]) int { return strings.Compare(a.Key, b.Key) })
		fmt.Println(dstream.FormatTime(batchTime), xs)
		return err
	})
}

// wordContext returns a context on a manual clock, checkpointing to a
// temporary directory (state streams must checkpoint, as in Spark), with a
// queue stream of the words of batches, a batch each.
func wordContext(batches ...[]string) (*context.StreamingContext, dstream.DStream[rdd.Pair[string, int]], func()) {
	ssc, err := context.NewStreamingContext(time.Second, context.WithClock(context.NewManualClock(time.Time{})))
	if err != nil {
		panic(err)
	}
	dir, err := os.MkdirTemp("", "example-checkpoint-")
	if err != nil {
		panic(err)
	}
	if err := ssc.Checkpoint(dir); err != nil {
		panic(err)
	}
	q := context.NewQueue[string]()
	for _, b := range batches {
		q.PushSlice(b, 1)
	}
	pairs := dstream.Map(context.QueueStream(ssc, q, true), func(w string) rdd.Pair[string, int] { return rdd.KV(w, 1) })
	return ssc, pairs, func() { os.RemoveAll(dir) }
}

// Running word counts: the mapping function sees only the keys of the
// batch (and those timing out), updates their state and emits a record for
// each; StateSnapshots is the whole state after each batch.
func ExampleMapWithState() {
	ssc, pairs, cleanup := wordContext([]string{"a", "b", "a"}, []string{"b"}, nil)
	defer cleanup()
	spec := dstream.StateSpecFunc(func(_ time.Time, word string, one rdd.Option[int], st *dstream.State[int]) rdd.Option[string] {
		n := st.GetOption().Value + one.Value
		st.Update(n)
		return rdd.Some(fmt.Sprintf("%s=%d", word, n))
	})
	counts := dstream.MapWithState(pairs, spec)
	counts.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[string], batchTime time.Time) error {
		xs, err := r.Collect(ctx)
		slices.Sort(xs)
		fmt.Println(dstream.FormatTime(batchTime), "mapped", xs)
		return err
	})
	printSorted(counts.StateSnapshots())
	_ = ssc.Start()
	_ = ssc.Stop(true) // runs a batch for each queued input
	// Output:
	// 1000 ms mapped [a=1 a=2 b=1]
	// 1000 ms [(a,2) (b,1)]
	// 2000 ms mapped [b=2]
	// 2000 ms [(a,2) (b,2)]
	// 3000 ms mapped []
	// 3000 ms [(a,2) (b,2)]
}

// Running word counts that forget a word after a batch without it: the
// update function runs for every key every batch, with the batch's values
// (maybe none), and removes a key by returning no state.
func ExampleUpdateStateByKey() {
	ssc, pairs, cleanup := wordContext([]string{"a", "b", "a"}, []string{"b"}, nil)
	defer cleanup()
	counts := dstream.UpdateStateByKey(pairs, func(ones []int, st rdd.Option[int]) rdd.Option[int] {
		if len(ones) == 0 {
			return rdd.None[int]()
		}
		return rdd.Some(st.Value + len(ones))
	})
	printSorted(counts)
	_ = ssc.Start()
	_ = ssc.Stop(true)
	// Output:
	// 1000 ms [(a,2) (b,1)]
	// 2000 ms [(b,2)]
	// 3000 ms []
}
