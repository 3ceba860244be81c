package receivers

import (
	"io"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// failAfter bounds how long a test waits for something that should happen; it
// is a failure deadline, not a wait for time to pass.
const failAfter = 10 * time.Second

func quietLogger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: io.Discard, Level: hclog.Off})
}

// funcReceiver adapts functions to Receiver.
type funcReceiver[T any] struct {
	start func(h *Handle[T])
	stop  func()
}

func (r *funcReceiver[T]) OnStart(h *Handle[T]) {
	if r.start != nil {
		r.start(h)
	}
}

func (r *funcReceiver[T]) OnStop() {
	if r.stop != nil {
		r.stop()
	}
}

type event struct {
	kind string // "started", "error", "stopped"
	info ReceiverInfo
}

// recorder is a Listener that records events and forwards them on a channel.
type recorder struct {
	mu     sync.Mutex
	events []event
	ch     chan event
}

func newRecorder() *recorder { return &recorder{ch: make(chan event, 10000)} }

func (r *recorder) add(kind string, info ReceiverInfo) {
	r.mu.Lock()
	r.events = append(r.events, event{kind, info})
	r.mu.Unlock()
	r.ch <- event{kind, info}
}

func (r *recorder) OnReceiverStarted(info ReceiverInfo) { r.add("started", info) }
func (r *recorder) OnReceiverError(info ReceiverInfo)   { r.add("error", info) }
func (r *recorder) OnReceiverStopped(info ReceiverInfo) { r.add("stopped", info) }

func (r *recorder) kinds() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, e.kind)
	}
	return out
}

// waitFor returns the next event of the given kind for which ok holds.
func (r *recorder) waitFor(t *testing.T, kind string, ok func(ReceiverInfo) bool) ReceiverInfo {
	t.Helper()
	deadline := time.NewTimer(failAfter)
	defer deadline.Stop()
	for {
		select {
		case e := <-r.ch:
			if e.kind == kind && (ok == nil || ok(e.info)) {
				return e.info
			}
		case <-deadline.C:
			t.Fatalf("no %s event within %v; events so far: %v", kind, failAfter, r.kinds())
		}
	}
}

// collector drains a supervisor's blocks until it has n records.
type collector[T any] struct {
	sup    *Supervisor[T]
	stored chan struct{}
	blocks []Block[T]
	n      int
}

// newCollector must be called before sup.Start.
func newCollector[T any](sup *Supervisor[T]) *collector[T] {
	c := &collector[T]{sup: sup, stored: make(chan struct{}, 1)}
	sup.blocks.onStore = func() {
		select {
		case c.stored <- struct{}{}:
		default:
		}
	}
	return c
}

func (c *collector[T]) allocate(t *testing.T) {
	t.Helper()
	blocks, err := c.sup.AllocateBlocks(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		c.n += b.Count()
	}
	c.blocks = append(c.blocks, blocks...)
}

// waitRecords allocates until at least n records arrived and returns them all.
func (c *collector[T]) waitRecords(t *testing.T, n int) []T {
	t.Helper()
	deadline := time.NewTimer(failAfter)
	defer deadline.Stop()
	for c.allocate(t); c.n < n; c.allocate(t) {
		select {
		case <-c.stored:
		case <-deadline.C:
			t.Fatalf("got %d records within %v, want %d: %v", c.n, failAfter, n, c.records())
		}
	}
	return c.records()
}

func (c *collector[T]) records() []T {
	var out []T
	for _, b := range c.blocks {
		out = append(out, b.Records...)
	}
	return out
}
