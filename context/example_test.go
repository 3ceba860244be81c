package context_test

import (
	stdctx "context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/rdd"
)

// batchDone reports each completed batch on a channel.
type batchDone struct {
	context.NoopListener
	ch chan context.BatchInfo
}

func (l batchDone) OnBatchCompleted(b context.BatchInfo) { l.ch <- b }

// A queue stream is fed while the context runs; a manual clock decides when
// each batch is due, and a listener tells when it has completed.
func ExampleQueueStream() {
	clock := context.NewManualClock(time.Time{})
	ssc, err := context.NewStreamingContext(time.Second, context.WithClock(clock))
	if err != nil {
		panic(err)
	}
	q := context.NewQueue[string]()
	context.QueueStream(ssc, q, true).Print(5)
	done := batchDone{ch: make(chan context.BatchInfo, 16)}
	ssc.AddStreamingListener(done)
	if err := ssc.Start(); err != nil {
		panic(err)
	}

	q.PushSlice([]string{"hello", "world"}, 1)
	clock.Advance(time.Second)
	b := <-done.ch
	fmt.Println("records:", b.NumRecords(), "failed:", b.Err() != nil)

	_ = ssc.Stop(false)
	// Output:
	// -------------------------------------------
	// Time: 1000 ms
	// -------------------------------------------
	// hello
	// world
	//
	// records: 2 failed: false
}

// By default the first failing batch stops the context, and
// AwaitTermination returns its error.
func ExampleStreamingContext_AwaitTermination() {
	clock := context.NewManualClock(time.Time{})
	ssc, _ := context.NewStreamingContext(time.Second, context.WithClock(clock))
	q := context.NewQueue[int]()
	q.PushSlice([]int{1, 0}, 1)
	inverses := dstream.Map(context.QueueStream(ssc, q, true), func(x int) int { return 1 / x })
	inverses.Print(10)
	_ = ssc.Start()
	clock.Advance(time.Second)

	err := ssc.AwaitTermination()
	fmt.Println("user panic:", errors.Is(err, rdd.ErrUserPanic))
	fmt.Println("state:", ssc.State())
	// Output:
	// user panic: true
	// state: STOPPED
}

// The lifecycle: a context is started once and stopped once; Stop is
// idempotent and a stopped context cannot be started again.
func ExampleStreamingContext_Stop() {
	ssc, _ := context.NewStreamingContext(time.Second, context.WithClock(context.NewManualClock(time.Time{})))
	context.QueueStream(ssc, context.NewQueue[int](), true).Print(1)
	fmt.Println(ssc.State())
	_ = ssc.Start()
	fmt.Println(ssc.State())
	_ = ssc.Stop(true)
	_ = ssc.Stop(true)
	fmt.Println(ssc.State())
	fmt.Println(ssc.Start())
	// Output:
	// INITIALIZED
	// ACTIVE
	// STOPPED
	// StreamingContext has already been stopped
}

// GetOrCreate builds the graph with setup every time, and restores it from
// the checkpoint when the directory holds one: the second run goes on with
// the counts of the first. A queue stream is replayable: the items the
// first run took are dropped as they are pushed again.
func ExampleGetOrCreate() {
	dir, err := os.MkdirTemp("", "example-getorcreate-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	run := func(items ...string) {
		q := context.NewQueue[string]()
		for _, it := range items {
			q.PushSlice(strings.Fields(it), 1)
		}
		setup := func(ssc *context.StreamingContext) error {
			pairs := dstream.Map(context.QueueStream(ssc, q, true), func(w string) rdd.Pair[string, int] { return rdd.KV(w, 1) })
			counts := dstream.UpdateStateByKey(pairs, func(ones []int, st rdd.Option[int]) rdd.Option[int] {
				return rdd.Some(st.Value + len(ones))
			})
			counts.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[rdd.Pair[string, int]], t time.Time) error {
				xs, err := rdd.SortByKey(r, true, 1).Collect(ctx)
				fmt.Println(dstream.FormatTime(t), xs)
				return err
			})
			return nil
		}
		ssc, err := context.GetOrCreate(dir, setup, time.Second, context.WithClock(context.NewManualClock(time.Time{})))
		if err != nil {
			panic(err)
		}
		if err := ssc.Start(); err != nil {
			panic(err)
		}
		_ = ssc.Stop(true) // runs a batch for each queued item, then a final checkpoint
	}
	run("a b", "a")
	fmt.Println("-- restart")
	run("a b", "a", "b c")
	// Output:
	// 1000 ms [(a,1) (b,1)]
	// 2000 ms [(a,2) (b,1)]
	// -- restart
	// 3000 ms [(a,2) (b,2) (c,1)]
}

// TextFileStream takes the lines of the files that appear in a directory,
// each file once, in the batch whose interval holds its modification time.
func ExampleTextFileStream() {
	dir, err := os.MkdirTemp("", "example-files-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	clock := context.NewManualClock(time.UnixMilli(0))
	ssc, _ := context.NewStreamingContext(time.Second, context.WithClock(clock))
	done := batchDone{ch: make(chan context.BatchInfo, 16)}
	ssc.AddStreamingListener(done)
	context.TextFileStream(ssc, dir).Print(10)
	_ = ssc.Start()
	write := func(name, text string, mod time.Time) {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			panic(err)
		}
		if err := os.Chtimes(path, mod, mod); err != nil {
			panic(err)
		}
	}
	write("1.txt", "first line\nsecond line\n", time.UnixMilli(500))
	clock.Advance(time.Second)
	<-done.ch
	write("2.txt", "third line\n", time.UnixMilli(1500))
	clock.Advance(time.Second)
	<-done.ch
	_ = ssc.Stop(false)
	// Output:
	// -------------------------------------------
	// Time: 1000 ms
	// -------------------------------------------
	// first line
	// second line
	//
	// -------------------------------------------
	// Time: 2000 ms
	// -------------------------------------------
	// third line
	//
}
