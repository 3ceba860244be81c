package bench

import (
	"testing"
	"time"
)

// interleave runs first and then second b.N times, alternately, and returns
// the time each took in all, so that load from other processes falls on
// both alike. The garbage collector runs when allocation makes it, as in a
// program: a forced runtime.GC() per run would charge both sides a full
// mark of the heap they share (about 5 ms with a 10M-key state alive,
// which added half a millisecond to every batch of the 10k-key side).
func interleave(b *testing.B, first, second func()) (firstTime, secondTime time.Duration) {
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		first()
		mid := time.Now()
		second()
		firstTime, secondTime = firstTime+mid.Sub(start), secondTime+time.Since(mid)
	}
	return firstTime, secondTime
}
