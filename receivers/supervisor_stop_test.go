package receivers

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// stopOnStart is a Listener that stops its supervisor from the event
// goroutine when the receiver has started, and hands over what Stop returned.
type stopOnStart struct {
	sup     *Supervisor[int]
	stopErr chan error
}

func (l *stopOnStart) OnReceiverStarted(ReceiverInfo) { l.stopErr <- l.sup.Stop() }
func (l *stopOnStart) OnReceiverError(ReceiverInfo)   {}
func (l *stopOnStart) OnReceiverStopped(ReceiverInfo) {}

// TestListenerMayStopSupervisor: a Listener may call Supervisor.Stop (the
// Listener doc allows it); Stop used to wait for the event goroutine, which
// was running that listener, for ever. In a synctest bubble that hang is a
// deadlock. The events still queued are delivered after the listener
// returns, and a Stop from another goroutine waits for them.
func TestListenerMayStopSupervisor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stopped := make(chan struct{})
		r := &funcReceiver[int]{stop: func() { close(stopped) }}
		stopper := &stopOnStart{stopErr: make(chan error, 1)}
		rec := newRecorder()
		sup, err := NewSupervisor[int](r, WithBlockTicks(make(chan time.Time)), WithListener(stopper), WithListener(rec), WithLogger(quietLogger()))
		if err != nil {
			t.Fatal(err)
		}
		stopper.sup = sup
		if err := sup.Start(); err != nil {
			t.Fatal(err)
		}
		if err := <-stopper.stopErr; err != nil {
			t.Fatalf("Stop from a listener = %v", err)
		}
		<-stopped
		<-sup.Done()
		if err := sup.Stop(); err != nil {
			t.Fatalf("Stop again = %v", err)
		}
		if got, want := rec.kinds(), []string{"started", "stopped"}; !slices.Equal(got, want) {
			t.Fatalf("events %v, want %v: every event is delivered once Stop has returned", got, want)
		}
	})
}
