package receivers

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestBlocksAreCutByTicksAndAllocatedInOrder(t *testing.T) {
	ticks := make(chan time.Time)
	handles := make(chan *Handle[int], 1)
	r := &funcReceiver[int]{start: func(h *Handle[int]) { handles <- h }}
	sup, err := NewSupervisor[int](r, WithBlockTicks(ticks), WithStreamID(3), WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if err := sup.Start(); err != nil {
		t.Fatal(err)
	}
	defer sup.Stop()
	h := <-handles
	tick := func() { ticks <- time.Time{}; ticks <- time.Time{} } // the second send returns after the first cut
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(h.Store(1))
	must(h.Store(2))
	tick()
	tick() // nothing stored: no empty block
	must(h.Store(3))
	must(h.StoreMany([]int{4, 5})) // cuts [3] first, then its own block
	must(h.Store(6))
	got, err := sup.AllocateBlocks(time.Unix(1, 0))
	must(err)
	want := [][]int{{1, 2}, {3}, {4, 5}, {6}}
	if len(got) != len(want) {
		t.Fatalf("got %d blocks %v, want %v", len(got), got, want)
	}
	for i, b := range got {
		if !slices.Equal(b.Records, want[i]) || b.Count() != len(want[i]) || b.ID != (BlockID{3, int64(i)}) {
			t.Errorf("block %d = %v %v, want %v input-3-%d", i, b.ID, b.Records, want[i], i)
		}
	}
	if got[2].ID.String() != "input-3-2" {
		t.Errorf("ID string %q", got[2].ID)
	}
	if got, _ := sup.AllocateBlocks(time.Unix(2, 0)); len(got) != 0 {
		t.Errorf("second allocation got %v, want none", got)
	}
	must(h.Store(7))
	must(sup.Stop())
	if err := h.Store(8); !errors.Is(err, ErrStopped) {
		t.Errorf("Store after Stop = %v, want ErrStopped", err)
	}
	got, err = sup.AllocateBlocks(time.Unix(3, 0))
	must(err)
	if len(got) != 1 || !slices.Equal(got[0].Records, []int{7}) || got[0].ID.Seq != 4 {
		t.Errorf("allocation after Stop = %v, want the partial block [7] as input-3-4", got)
	}
}

func TestStoreBlocksWhileBufferFullAndStopUnblocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		handles := make(chan *Handle[int], 1)
		r := &funcReceiver[int]{start: func(h *Handle[int]) { handles <- h }}
		sup, err := NewSupervisor[int](r, WithMaxPendingBlocks(2), WithBlockInterval(time.Hour), WithLogger(quietLogger()))
		if err != nil {
			t.Fatal(err)
		}
		sup.Start()
		h := <-handles
		h.StoreMany([]int{1})
		h.StoreMany([]int{2})
		var third atomic.Bool
		go func() {
			h.StoreMany([]int{3})
			third.Store(true)
		}()
		synctest.Wait()
		if third.Load() {
			t.Fatal("StoreMany returned with a full buffer")
		}
		blocks, _ := sup.AllocateBlocks(time.Unix(1, 0))
		if len(blocks) != 2 {
			t.Fatalf("allocated %d blocks, want 2", len(blocks))
		}
		synctest.Wait()
		if !third.Load() {
			t.Fatal("StoreMany still blocked after AllocateBlocks made room")
		}
		h.StoreMany([]int{4})
		stored := make(chan error)
		go func() { stored <- h.Store(5) }()
		synctest.Wait()
		sup.Stop()
		if err := <-stored; !errors.Is(err, ErrStopped) {
			t.Fatalf("blocked Store after Stop = %v, want ErrStopped", err)
		}
	})
}

func TestRestartBackoffAndExplicitDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var starts []time.Time
		done := make(chan struct{})
		failure := errors.New("source unavailable")
		r := &funcReceiver[int]{start: func(h *Handle[int]) {
			starts = append(starts, time.Now())
			switch len(starts) {
			case 5:
				h.Restart("asked for a fixed delay", nil, 50*time.Millisecond)
			case 6:
				close(done)
			default:
				h.Restart("failed", failure, 0)
			}
		}}
		rec := newRecorder()
		sup, err := NewSupervisor[int](r, WithRestartBackoff(100*time.Millisecond, 400*time.Millisecond), WithListener(rec), WithLogger(quietLogger()))
		if err != nil {
			t.Fatal(err)
		}
		sup.Start()
		<-done
		sup.Stop()
		var gaps []time.Duration
		for i := 1; i < len(starts); i++ {
			gaps = append(gaps, starts[i].Sub(starts[i-1]))
		}
		want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 400 * time.Millisecond, 50 * time.Millisecond}
		if !slices.Equal(gaps, want) {
			t.Errorf("restart gaps %v, want %v", gaps, want)
		}
		wantKinds := []string{}
		for range 4 {
			wantKinds = append(wantKinds, "started", "error", "stopped")
		}
		wantKinds = append(wantKinds, "started", "stopped", "started", "stopped")
		if got := rec.kinds(); !slices.Equal(got, wantKinds) {
			t.Errorf("events %v, want %v", got, wantKinds)
		}
		if info := sup.Info(); !errors.Is(info.LastError, failure) || info.Generation != 5 || info.Active {
			t.Errorf("final info %+v", info)
		}
	})
}

func TestBackoffResetsAfterARunStores(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var starts []time.Time
		done := make(chan struct{})
		r := &funcReceiver[int]{start: func(h *Handle[int]) {
			starts = append(starts, time.Now())
			if len(starts) == 4 {
				close(done)
				return
			}
			if len(starts) == 3 {
				h.Store(1)
			}
			h.Restart("failed", errors.New("x"), 0)
		}}
		sup, _ := NewSupervisor[int](r, WithRestartBackoff(time.Second, time.Minute), WithLogger(quietLogger()))
		sup.Start()
		<-done
		sup.Stop()
		if g := starts[3].Sub(starts[2]); g != time.Second {
			t.Errorf("gap after a run that stored = %v, want the minimum backoff 1s", g)
		}
	})
}

// TestZeroMinBackoffRestartsAtOnce: with WithRestartBackoff(0, max) a failed
// receiver is restarted at once, every time, not after max.
func TestZeroMinBackoffRestartsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var starts []time.Time
		done := make(chan struct{})
		r := &funcReceiver[int]{start: func(h *Handle[int]) {
			starts = append(starts, time.Now())
			if len(starts) == 5 {
				close(done)
				return
			}
			h.Restart("failed", errors.New("x"), 0)
		}}
		sup, err := NewSupervisor[int](r, WithRestartBackoff(0, time.Minute), WithLogger(quietLogger()))
		if err != nil {
			t.Fatal(err)
		}
		sup.Start()
		<-done
		sup.Stop()
		for i := 1; i < len(starts); i++ {
			if g := starts[i].Sub(starts[i-1]); g != 0 {
				t.Errorf("restart %d after %v, want at once", i, g)
			}
		}
	})
}

// TestRestartBackoffDelays: the wait doubles from the first up to the limit,
// a first of 0 means no wait, and a large first never wraps around to a
// short wait.
func TestRestartBackoffDelays(t *testing.T) {
	const huge = time.Duration(1<<40 + 1) // doubled 30 times, wraps around to 1<<30 ns
	for _, tc := range []struct {
		first, limit time.Duration
		failures     int
		want         time.Duration
	}{
		{0, time.Minute, 0, 0},
		{0, time.Minute, 5, 0},
		{0, 0, 3, 0},
		{100 * time.Millisecond, 400 * time.Millisecond, 0, 100 * time.Millisecond},
		{100 * time.Millisecond, 400 * time.Millisecond, 1, 200 * time.Millisecond},
		{100 * time.Millisecond, 400 * time.Millisecond, 2, 400 * time.Millisecond},
		{100 * time.Millisecond, 300 * time.Millisecond, 2, 300 * time.Millisecond},
		{100 * time.Millisecond, 400 * time.Millisecond, 1000, 400 * time.Millisecond},
		{time.Second, time.Second, 0, time.Second},
		{huge, math.MaxInt64, 30, math.MaxInt64},
		{huge, math.MaxInt64, 1 << 40, math.MaxInt64},
	} {
		if got := restartBackoff(tc.first, tc.limit, tc.failures); got != tc.want {
			t.Errorf("restartBackoff(%v, %v, %d) = %v, want %v", tc.first, tc.limit, tc.failures, got, tc.want)
		}
	}
}

func TestPanicsBecomeErrorsAndRestarts(t *testing.T) {
	rec := newRecorder()
	var gen atomic.Int32
	running := make(chan *Handle[string], 1)
	r := &funcReceiver[string]{
		start: func(h *Handle[string]) {
			switch gen.Add(1) {
			case 1:
				panic("boom in OnStart")
			case 2:
				h.Go(func(context.Context) { panic("boom in goroutine") })
			default:
				running <- h
			}
		},
		stop: func() {
			if gen.Load() == 2 {
				panic("boom in OnStop")
			}
		},
	}
	sup, err := NewSupervisor[string](r, WithRestartBackoff(time.Millisecond, time.Millisecond), WithListener(rec), WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	sup.Start()
	h := <-running
	if !h.IsStarted() || h.IsStopped() {
		t.Errorf("third run: IsStarted %v IsStopped %v", h.IsStarted(), h.IsStopped())
	}
	if err := h.Store("ok"); err != nil {
		t.Fatal(err)
	}
	sup.Stop()
	if !h.IsStopped() || h.IsStarted() {
		t.Errorf("after Stop: IsStarted %v IsStopped %v", h.IsStarted(), h.IsStopped())
	}
	want := []string{"started", "error", "stopped", "started", "error", "error", "stopped", "started", "stopped"}
	if got := rec.kinds(); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i, e := range rec.events {
		if e.kind == "error" && !errors.Is(e.info.LastError, ErrPanic) {
			t.Errorf("event %d error %v does not wrap ErrPanic", i, e.info.LastError)
		}
	}
	blocks, _ := sup.AllocateBlocks(time.Now())
	if len(blocks) != 1 || blocks[0].Records[0] != "ok" {
		t.Errorf("blocks %v", blocks)
	}
}

func TestHandleStopEndsTheReceiver(t *testing.T) {
	rec := newRecorder()
	var stopped atomic.Bool
	handles := make(chan *Handle[int], 1)
	r := &funcReceiver[int]{
		start: func(h *Handle[int]) {
			handles <- h
			h.Go(func(ctx context.Context) {
				h.Store(1)
				h.Stop("source exhausted", nil)
				<-ctx.Done()
			})
		},
		stop: func() { stopped.Store(true) },
	}
	sup, _ := NewSupervisor[int](r, WithListener(rec), WithLogger(quietLogger()))
	sup.Start()
	h := <-handles
	select {
	case <-sup.Done():
	case <-time.After(failAfter):
		t.Fatal("Done not closed after Handle.Stop")
	}
	if !stopped.Load() || !h.IsStopped() {
		t.Errorf("OnStop called %v, IsStopped %v", stopped.Load(), h.IsStopped())
	}
	if err := h.Store(2); !errors.Is(err, ErrStopped) {
		t.Errorf("Store after Handle.Stop = %v", err)
	}
	sup.Stop()
	if got, want := rec.kinds(), []string{"started", "stopped"}; !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	blocks, _ := sup.AllocateBlocks(time.Now())
	if len(blocks) != 1 || blocks[0].Records[0] != 1 {
		t.Errorf("blocks %v", blocks)
	}
}

func TestSupervisorMisuse(t *testing.T) {
	if _, err := NewSupervisor[int](nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("nil receiver: %v", err)
	}
	r := &funcReceiver[int]{}
	for _, o := range []Option{WithMaxPendingBlocks(0), WithBlockInterval(0), WithMaxRate(-1), WithRestartBackoff(2, 1)} {
		if _, err := NewSupervisor[int](r, o); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("option %v: err %v", o, err)
		}
	}
	sup, _ := NewSupervisor[int](r, WithLogger(quietLogger()))
	if err := sup.Start(); err != nil {
		t.Fatal(err)
	}
	if err := sup.Start(); !errors.Is(err, ErrAlreadyStarted) {
		t.Errorf("second Start: %v", err)
	}
	sup.Stop()
	sup.Stop()
	unstarted, _ := NewSupervisor[int](r)
	unstarted.Stop()
	if err := unstarted.Start(); !errors.Is(err, ErrStopped) {
		t.Errorf("Start after Stop: %v", err)
	}
}
