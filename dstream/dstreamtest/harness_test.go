package dstreamtest_test

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
)

// recTB records Fatalf/Errorf instead of failing the real test.
type recTB struct {
	testing.TB
	mu     sync.Mutex
	failed []string
}

func (r *recTB) Helper() {}
func (r *recTB) Fatalf(f string, a ...any) {
	r.mu.Lock()
	r.failed = append(r.failed, fmt.Sprintf(f, a...))
	r.mu.Unlock()
	runtime.Goexit()
}
func (r *recTB) Errorf(f string, a ...any) {
	r.mu.Lock()
	r.failed = append(r.failed, fmt.Sprintf(f, a...))
	r.mu.Unlock()
}

// Run fails the test on a failed batch, the last one included (it returned
// the output of the batches before without failing).
func TestRunFailsOnAFailedLastBatch(t *testing.T) {
	rec := &recTB{TB: t}
	var out [][]int
	done := make(chan struct{})
	go func() {
		defer close(done)
		out = dstreamtest.Run(rec, time.Second, [][]int{{1, 2}, {3}}, func(s dstream.DStream[int]) dstream.DStream[int] {
			return dstream.Map(s, func(x int) int {
				if x == 3 {
					panic("boom")
				}
				return x
			})
		}, 2)
	}()
	<-done
	if len(rec.failed) == 0 {
		t.Fatalf("Run returned %v without failing the test although batch 2000 ms failed", out)
	}
}

// Batches completed without Step (a test advancing the clock itself) never
// block the listener bus: Stop returns after 1,100 of them (past 1,024 the
// harness's listener blocked the bus, and Stop waited for ever).
func TestStopAfterManyBatchesWithoutStep(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	in := dstreamtest.Input(h, [][]int{{1}})
	out := dstreamtest.Collect(dstream.Map(in, func(x int) int { return x }))
	h.Start()
	h.Clock().Advance(1100 * time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for len(out.Batches()) < 1100 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(out.Batches()); n < 1100 {
		t.Fatalf("%d batches ran, want 1100", n)
	}
	done := make(chan struct{})
	go func() { h.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return within 10 s")
	}
}
