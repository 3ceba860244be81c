package bench

import (
	"os"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"
)

func TestZZProfState(t *testing.T) {
	if os.Getenv("ZZPROF") == "" {
		t.Skip()
	}
	keys, _ := strconv.Atoi(os.Getenv("ZZKEYS"))
	var every time.Duration
	if os.Getenv("ZZNODATA") != "" {
		every = noDataCheckpoints
	}
	s := newStatePipeline(t, "MapWithState", keys, every)
	f, _ := os.Create(os.Getenv("ZZPROF"))
	pprof.StartCPUProfile(f)
	start := time.Now()
	for range 20 {
		s.op()
	}
	t.Logf("per batch %v", time.Since(start)/200)
	pprof.StopCPUProfile()
	s.h.Stop()
}
