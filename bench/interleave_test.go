package bench

import (
	"runtime"
	"testing"
	"time"
)

// interleave runs first and then second b.N times, alternately, and returns
// the time each took in all, so that load from other processes falls on
// both alike.
//
// With timedGC, each run is timed with a runtime.GC() after it, so each is
// charged for collecting its own garbage. A forced collection also marks
// the whole live heap, which both sides then pay for; where one side's live
// heap dwarfs the other's (the state benchmark: about 5 ms with a 10M-key
// state alive, half a millisecond on every batch of the 10k-key side), use
// timedGC false: the collection before each run is untimed, and each run is
// charged for the collections its own allocation makes.
func interleave(b *testing.B, first, second func(), timedGC bool) (firstTime, secondTime time.Duration) {
	run := func(f func()) time.Duration {
		if !timedGC {
			b.StopTimer()
			runtime.GC()
			b.StartTimer()
		}
		start := time.Now()
		f()
		if timedGC {
			runtime.GC()
		}
		return time.Since(start)
	}
	b.ResetTimer()
	for range b.N {
		firstTime += run(first)
		secondTime += run(second)
	}
	return firstTime, secondTime
}
