package receivers

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

type manualClock struct{ now time.Time }

func (c *manualClock) Now() time.Time          { return c.now }
func (c *manualClock) advance(d time.Duration) { c.now = c.now.Add(d) }

func TestTokenBucketWithInjectedClock(t *testing.T) {
	clock := &manualClock{now: time.Unix(100, 0)}
	b := newTokenBucket(10, clock.Now)
	steps := []struct {
		advance time.Duration
		take    int
		wait    time.Duration
	}{
		{0, 1, 100 * time.Millisecond},                      // starts empty: one period of debt
		{100 * time.Millisecond, 1, 100 * time.Millisecond}, // the debt was paid, a new one taken
		{time.Second, 5, 0},                                 // refilled to 9, 4 left
		{0, 5, 100 * time.Millisecond},                      // 1 short
		{10 * time.Second, 10, 0},                           // capped at one second: 10 tokens
		{0, 1, 100 * time.Millisecond},
		{50 * time.Millisecond, 20, 2050 * time.Millisecond}, // -1 + 0.5 earned - 20 = -20.5
		{-time.Second, 0, 2050 * time.Millisecond},           // a clock going back earns nothing
	}
	for i, s := range steps {
		clock.advance(s.advance)
		if got := b.take(s.take); got != s.wait {
			t.Fatalf("step %d %+v: wait %v, want %v", i, s, got, s.wait)
		}
	}
	b.setRate(0)
	if got := b.take(1000); got != 0 {
		t.Errorf("unlimited: wait %v", got)
	}
	b.setRate(100)
	if got := b.take(1); got != 10*time.Millisecond {
		t.Errorf("after setRate(100): wait %v, want 10ms", got)
	}
}

func TestStoreIsRateLimitedAndUpdateRateCapsAtMaxRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		handles := make(chan *Handle[int], 1)
		r := &funcReceiver[int]{start: func(h *Handle[int]) { handles <- h }}
		sup, _ := NewSupervisor[int](r, WithMaxRate(100), WithBlockInterval(time.Hour), WithLogger(quietLogger()))
		sup.Start()
		defer sup.Stop()
		h := <-handles
		start := time.Now()
		for i := range 200 {
			h.Store(i)
		}
		if got := time.Since(start); got != 2*time.Second {
			t.Errorf("200 records at 100/s took %v, want 2s", got)
		}
		sup.UpdateRate(1000) // above the maximum: capped
		if got := sup.Rate(); got != 100 {
			t.Errorf("rate %v after UpdateRate(1000) with max 100", got)
		}
		sup.UpdateRate(-5) // ignored
		sup.UpdateRate(20)
		start = time.Now()
		if err := h.StoreMany(make([]int, 40)); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != 2*time.Second {
			t.Errorf("40 records at 20/s took %v, want 2s", got)
		}
	})
}

func TestRateLimitedStoreReturnsOnStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTokenBucket(1, time.Now)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- b.wait(ctx, 1000) }()
		synctest.Wait()
		cancel()
		if err := <-done; err == nil {
			t.Fatal("wait returned nil after cancel")
		}
	})
}
