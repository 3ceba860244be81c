package context_test

import (
	"errors"
	"fmt"
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
