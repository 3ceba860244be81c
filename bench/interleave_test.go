package bench

import (
	"runtime"
	"testing"
	"time"
)

// interleave runs first and then second b.N times, alternately, and returns
// the time each took in all, so that load from other processes falls on
// both alike. Before each run, untimed, runtime.GC() collects what the
// other left: each run is charged for the collections its own allocation
// makes, and neither for the other's garbage nor for a forced mark of the
// heap they share (about 5 ms with a 10M-key state alive, which, timed,
// added half a millisecond to every batch of the 10k-key side).
func interleave(b *testing.B, first, second func()) (firstTime, secondTime time.Duration) {
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
