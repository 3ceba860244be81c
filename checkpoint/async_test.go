package checkpoint

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
)

func TestAsyncWriterWritesInOrder(t *testing.T) {
	s, _ := openTest(t, t.TempDir(), WithFullSnapshotEvery(3))
	var mu sync.Mutex
	var written []int64
	w := s.NewAsyncWriter(8, func(c *Checkpoint, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			t.Error(err)
		}
		written = append(written, c.Metadata.Time.Unix())
	})
	words := newModel("words", 100)
	r := rand.New(rand.NewPCG(5, 6))
	for i := 1; i <= 6; i++ {
		words.batch(r, 10)
		if err := w.Submit(&Checkpoint{Metadata: testMetadata(i), State: []StateSnapshot{words.snapshot(t)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Submit(&Checkpoint{Metadata: testMetadata(7)}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Submit after Close: %v", err)
	}
	for i, got := range written {
		if want := batchTime(i + 1).Unix(); got != want {
			t.Fatalf("written %v, not in submission order", written)
		}
	}
	m, err := s.LatestMetadata()
	if err != nil {
		t.Fatal(err)
	}
	checkState(t, s, m, "words", words.live)
}

// TestAsyncWriterNeverBlocks stalls the disk and checks that Submit still
// returns at once, drops what does not fit, and that the next checkpoint
// after a dropped one (even from a new writer) carries the dropped batch's
// changes in its delta, so the state read back is exact.
func TestAsyncWriterNeverBlocks(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.faults = func(step, path string) error {
		once.Do(func() {
			close(started)
			<-release
		})
		return nil
	}
	w := s.NewAsyncWriter(1, nil)
	words := newModel("words", 50)
	r := rand.New(rand.NewPCG(7, 8))
	submit := func(w *AsyncWriter, i int) error {
		words.batch(r, 5)
		return w.Submit(&Checkpoint{Metadata: testMetadata(i), State: []StateSnapshot{words.snapshot(t)}})
	}
	if err := submit(w, 1); err != nil { // taken by the writer, which stalls
		t.Fatal(err)
	}
	<-started
	if err := submit(w, 2); err != nil { // queued
		t.Fatal(err)
	}
	if err := submit(w, 3); !errors.Is(err, ErrQueueFull) { // dropped
		t.Fatalf("got %v, want ErrQueueFull", err)
	}
	close(release)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.FullSnapshots != 1 || st.Deltas != 1 {
		t.Fatalf("after batches 1 and 2: %+v", st)
	}
	w = s.NewAsyncWriter(1, nil)
	if err := submit(w, 4); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.FullSnapshots != 1 || st.Deltas != 2 {
		t.Fatalf("batch 4 after the dropped batch 3 was not a delta: %+v", st)
	}
	m, err := s.LatestMetadata()
	if err != nil {
		t.Fatal(err)
	}
	checkState(t, s, m, "words", words.live)
}

func TestAsyncWriterReportsErrors(t *testing.T) {
	s, logs := openTest(t, t.TempDir())
	s.faults = func(step, path string) error {
		if step == stepSync {
			return errors.New("EIO")
		}
		return nil
	}
	var got []error
	w := s.NewAsyncWriter(2, func(c *Checkpoint, err error) { got = append(got, err) })
	for i := 1; i <= 2; i++ {
		if err := w.Submit(&Checkpoint{Metadata: testMetadata(i)}); err != nil {
			t.Fatal(err)
		}
	}
	err := w.Close()
	if err == nil || len(got) != 2 || got[0] == nil || got[1] == nil {
		t.Fatalf("Close: %v, onDone errors %v", err, got)
	}
	if !errors.Is(err, got[0]) && err.Error() != got[0].Error() {
		t.Fatalf("Close returned %v, not the first error %v", err, got[0])
	}
	if logs.String() == "" {
		t.Fatal("no warning logged")
	}
}

// TestAsyncWriterRemembersEveryDrop drops checkpoints of two streams in a
// row and checks that both get a full snapshot next.
func TestAsyncWriterRemembersEveryDrop(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	a, b := newModel("a", 5), newModel("b", 5)
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.faults = func(step, path string) error {
		once.Do(func() { close(started); <-release })
		return nil
	}
	w := s.NewAsyncWriter(1, nil)
	submit := func(i int, ms ...*model) error {
		c := &Checkpoint{Metadata: testMetadata(i)}
		for _, m := range ms {
			m.set(100+i, int64(i))
			c.State = append(c.State, m.snapshot(t))
		}
		return w.Submit(c)
	}
	if err := submit(1, a, b); err != nil {
		t.Fatal(err)
	}
	<-started
	if err := submit(2, a, b); err != nil {
		t.Fatal(err)
	}
	if err := submit(3, a); !errors.Is(err, ErrQueueFull) {
		t.Fatal(err)
	}
	if err := submit(4, b); !errors.Is(err, ErrQueueFull) {
		t.Fatal(err)
	}
	close(release)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w = s.NewAsyncWriter(1, nil)
	if err := submit(5, a, b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	m, err := s.LatestMetadata()
	if err != nil {
		t.Fatal(err)
	}
	checkState(t, s, m, "a", a.live)
	checkState(t, s, m, "b", b.live)
}
