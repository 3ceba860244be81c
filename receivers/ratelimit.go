package receivers

import (
	"context"
	"math"
	"sync"
	"time"
)

// tokenBucket limits records per second. It holds at most one second of
// tokens, starts empty and lets a caller go into debt: take(n) always succeeds
// and returns how long the caller must wait for the tokens it took, so a
// steady stream of callers is paced at exactly the rate. A rate of 0 means
// unlimited.
type tokenBucket struct {
	mu     sync.Mutex
	now    func() time.Time
	rate   float64
	tokens float64
	last   time.Time
}

func newTokenBucket(rate float64, now func() time.Time) *tokenBucket {
	return &tokenBucket{rate: rate, now: now, last: now()}
}

// refillLocked adds the tokens earned since last, up to one second's worth.
func (b *tokenBucket) refillLocked(now time.Time) {
	if b.rate > 0 && now.After(b.last) {
		b.tokens = min(b.tokens+now.Sub(b.last).Seconds()*b.rate, b.rate)
	}
	if now.After(b.last) {
		b.last = now
	}
}

// take reserves n tokens and returns the wait until they are earned.
func (b *tokenBucket) take(n int) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rate <= 0 {
		return 0
	}
	b.refillLocked(b.now())
	b.tokens -= float64(n)
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(math.Ceil(-b.tokens / b.rate * float64(time.Second)))
}

// wait takes n tokens and sleeps until they are earned or ctx is done.
func (b *tokenBucket) wait(ctx context.Context, n int) error {
	d := b.take(n)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// setRate changes the rate; tokens earned so far at the old rate are kept.
func (b *tokenBucket) setRate(rate float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refillLocked(b.now())
	b.rate = rate
	if rate > 0 {
		b.tokens = min(b.tokens, rate)
	} else {
		b.tokens = 0
	}
}

func (b *tokenBucket) currentRate() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rate
}
