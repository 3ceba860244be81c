package checkpoint

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
)

// A dropped checkpoint's changes must reach the stream's next delta even
// when the next checkpoint submitted holds no snapshot of that stream.
func TestDroppedChangesSurviveACheckpointWithoutTheStream(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.faults = func(step, path string) error {
		once.Do(func() { close(started); <-release })
		return nil
	}
	w := s.NewAsyncWriter(1, nil)
	words := newModel("words", 50)
	r := rand.New(rand.NewPCG(7, 8))
	submit := func(i int, withWords bool) error {
		c := &Checkpoint{Metadata: testMetadata(i)}
		if withWords {
			words.batch(r, 5)
			c.State = []StateSnapshot{words.snapshot(t)}
		}
		return w.Submit(c)
	}
	if err := submit(1, true); err != nil { // taken by the writer, which stalls
		t.Fatal(err)
	}
	<-started
	if err := submit(2, true); err != nil { // queued
		t.Fatal(err)
	}
	if err := submit(3, true); !errors.Is(err, ErrQueueFull) { // dropped
		t.Fatalf("got %v, want ErrQueueFull", err)
	}
	close(release)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w = s.NewAsyncWriter(4, nil)             // room for both: neither is dropped
	if err := submit(4, false); err != nil { // metadata alone: takes the dropped changes
		t.Fatal(err)
	}
	if err := submit(5, true); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	m, err := s.LatestMetadata()
	if err != nil {
		t.Fatal(err)
	}
	checkState(t, s, m, "words", words.live)
}
