package checkpoint

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// logBuffer collects what a store logs.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func testLogger(out *logBuffer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: out, Level: hclog.Warn})
}

func batchTime(i int) time.Time { return time.Unix(1_700_000_000+int64(i), 0).UTC() }

// model is a stream's live state plus the keys changed since its last
// snapshot, as a stateful DStream would keep them.
type model struct {
	id      string
	live    map[int]int64
	changed map[int]bool
}

func newModel(id string, keys int) *model {
	m := &model{id: id, live: map[int]int64{}, changed: map[int]bool{}}
	for k := range keys {
		m.set(k, int64(k))
	}
	return m
}

func (m *model) set(k int, v int64) { m.live[k] = v; m.changed[k] = true }
func (m *model) del(k int)          { delete(m.live, k); m.changed[k] = true }

// batch applies one batch of random updates, deletions and insertions.
func (m *model) batch(r *rand.Rand, n int) {
	for range n {
		k := r.IntN(2*len(m.live) + 10)
		if r.IntN(4) == 0 {
			m.del(k)
		} else {
			m.set(k, r.Int64())
		}
	}
}

// snapshot hands the store the changes since the last snapshot and an
// immutable copy of the whole state.
func (m *model) snapshot(t testing.TB) StateSnapshot {
	st := StateSnapshot{StreamID: m.id}
	for k := range m.changed {
		var e Entry
		var err error
		if v, ok := m.live[k]; ok {
			e, err = EncodeEntry(k, v)
		} else {
			e, err = DeletedEntry(k)
		}
		if err != nil {
			t.Fatal(err)
		}
		st.Changed.Append(e)
	}
	clear(m.changed)
	st.All = allEntries(t, maps.Clone(m.live))
	return st
}

func allEntries(t testing.TB, live map[int]int64) *Entries {
	var es Entries
	for k, v := range live {
		e, err := EncodeEntry(k, v)
		if err != nil {
			t.Fatal(err)
		}
		es.Append(e)
	}
	return &es
}

func checkState(t testing.TB, s *Store, m *Metadata, id string, want map[int]int64) {
	t.Helper()
	raw, err := s.ReadState(m, id)
	if err != nil {
		t.Fatalf("ReadState(%s): %v", id, err)
	}
	got, err := DecodeState[int, int64](raw)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Fatalf("state of %s at %v: got %d keys, want %d keys (%s)", id, m.Time, len(got), len(want), diffSummary(got, want))
	}
}

func diffSummary(got, want map[int]int64) string {
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			return fmt.Sprintf("key %d: got %d (present %v), want %d", k, g, ok, v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			return fmt.Sprintf("key %d: got %d, want absent", k, v)
		}
	}
	return "equal"
}

func testMetadata(i int) *Metadata {
	return &Metadata{
		Time:          batchTime(i),
		BatchInterval: time.Second,
		Streams: []StreamIdentity{
			{ID: "input-0", Kind: "QueueStream"},
			{ID: "words", Kind: "UpdateStateByKey", Name: "counts"},
		},
		LastCompleted: batchTime(i - 1),
		Pending:       []time.Time{batchTime(i)},
		Inputs:        map[string][]byte{"input-0": fmt.Appendf(nil, "position %d", i)},
	}
}
