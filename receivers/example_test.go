package receivers_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sluice-io/sluice/receivers"
)

// wordsReceiver stores a fixed list of words from its own goroutine.
type wordsReceiver struct {
	words []string
	done  chan struct{}
}

func (r *wordsReceiver) OnStart(h *receivers.Handle[string]) {
	h.Go(func(ctx context.Context) {
		for _, w := range r.words[:2] {
			h.Store(w)
		}
		h.StoreMany(r.words[2:]) // a block of its own, after the records above
		close(r.done)
	})
}

func (r *wordsReceiver) OnStop() {}

func ExampleSupervisor() {
	r := &wordsReceiver{words: []string{"to", "be", "or", "not"}, done: make(chan struct{})}
	sup, err := receivers.NewSupervisor[string](r, receivers.WithName("words"))
	if err != nil {
		panic(err)
	}
	sup.Start()
	<-r.done
	// At each batch time, the context allocates the blocks stored so far.
	blocks, _ := sup.AllocateBlocks(time.Unix(1, 0))
	for _, b := range blocks {
		fmt.Println(b.ID, b.Count(), b.Records)
	}
	sup.Stop()
	// Output:
	// input-0-0 2 [to be]
	// input-0-1 2 [or not]
}

func ExamplePIDRateEstimator() {
	est, _ := receivers.NewPIDRateEstimator(time.Second, receivers.DefaultPIDConfig())
	// The first batch only measures: 1000 records processed in 500 ms.
	_, ok := est.Compute(time.UnixMilli(1000), 1000, 500*time.Millisecond, 0)
	fmt.Println(ok)
	// The next batch took 1 s for 1000 records: the rate drops to what was processed.
	rate, ok := est.Compute(time.UnixMilli(2000), 1000, time.Second, 0)
	fmt.Println(rate, ok)
	// Output:
	// false
	// 1000 true
}
