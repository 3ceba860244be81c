package bench

import (
	"runtime"
	"testing"
	"time"
)

// interleave runs first and then second b.N times, alternately, and returns
// the time each took in all. Each run is timed with a runtime.GC() after it,
// so each is charged for collecting its own garbage, and load from other
// processes falls on both alike. A forced collection also marks the whole
// live heap, which both sides then pay for; where one side's live heap
// dwarfs the other's (the state benchmark), use interleaveUntimedGC.
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

// interleaveUntimedGC is interleave with the collection before each run,
// untimed: each run is charged for the collections its own allocation
// makes, not for a forced mark of the heap both share (about 5 ms with a
// 10M-key state alive, which, timed, added half a millisecond to every
// batch of the 10k-key side of the state benchmark).
func interleaveUntimedGC(b *testing.B, first, second func()) (firstTime, secondTime time.Duration) {
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		runtime.GC()
		b.StartTimer()
		start := time.Now()
		first()
		firstTime += time.Since(start)
		b.StopTimer()
		runtime.GC()
		b.StartTimer()
		start = time.Now()
		second()
		secondTime += time.Since(start)
	}
	return firstTime, secondTime
}
