package context

import (
	"context"
	"sync"
	"time"
)

// Clock tells the streaming context what time it is and wakes its job
// generator at each batch time. SystemClock is the real one; ManualClock is
// advanced by hand, the way tests drive batches.
type Clock interface {
	Now() time.Time
	// WaitUntil blocks until the clock reads t or later, or ctx is done.
	WaitUntil(ctx context.Context, t time.Time) error
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// WaitUntil sleeps until t or until ctx is done.
func (SystemClock) WaitUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ManualClock is a clock that moves only when Advance or Set is called,
// Spark's ManualClock. It starts at the Unix epoch unless given a time, so
// batch times read as small millisecond counts ("Time: 1000 ms").
type ManualClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []manualWaiter
}

type manualWaiter struct {
	at   time.Time
	wake chan struct{}
}

// NewManualClock returns a manual clock reading start (the Unix epoch when
// start is the zero time).
func NewManualClock(start time.Time) *ManualClock {
	if start.IsZero() {
		start = time.UnixMilli(0)
	}
	return &ManualClock{now: start.UTC()}
}

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d and wakes whoever waits for a time
// now reached.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.setLocked(c.now.Add(d))
	c.mu.Unlock()
}

// Set moves the clock to t (never backwards).
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	if t.After(c.now) {
		c.setLocked(t.UTC())
	}
	c.mu.Unlock()
}

func (c *ManualClock) setLocked(t time.Time) {
	c.now = t
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(t) {
			close(w.wake)
		} else {
			kept = append(kept, w)
		}
	}
	clear(c.waiters[len(kept):])
	c.waiters = kept
}

// WaitUntil blocks until the clock is advanced to t or later, or ctx is done.
func (c *ManualClock) WaitUntil(ctx context.Context, t time.Time) error {
	c.mu.Lock()
	if !t.After(c.now) {
		c.mu.Unlock()
		return ctx.Err()
	}
	w := manualWaiter{at: t, wake: make(chan struct{})}
	c.waiters = append(c.waiters, w)
	c.mu.Unlock()
	select {
	case <-w.wake:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		for i, x := range c.waiters {
			if x.wake == w.wake {
				c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
				break
			}
		}
		c.mu.Unlock()
		return ctx.Err()
	}
}
