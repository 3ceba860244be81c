package bench

import (
	"runtime"
	"testing"
	"time"
)

// interleave runs first and then second b.N times, alternately, and returns
// the time each took in all. Each run is timed with a runtime.GC() after it,
// so each is charged for collecting its own garbage, and load from other
// processes falls on both alike.
func interleave(b *testing.B, first, second func()) (firstTime, secondTime time.Duration) {
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		first()
		runtime.GC()
		mid := time.Now()
		second()
		runtime.GC()
		firstTime, secondTime = firstTime+mid.Sub(start), secondTime+time.Since(mid)
	}
	return firstTime, secondTime
}
