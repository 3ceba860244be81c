package checkpoint

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

const (
	benchKeys    = 1_000_000
	benchChanged = 10_000
	benchDeltas  = 9 // a chain at its longest with the default WithFullSnapshotEvery(10)
)

var benchState = sync.OnceValue(func() []Entry {
	out := make([]Entry, benchKeys)
	for i := range out {
		e, err := EncodeEntry(fmt.Sprintf("key-%07d", i), int64(i))
		if err != nil {
			panic(err)
		}
		out[i] = e
	}
	return out
})

// benchChanges returns the n-th batch's 10,000 changed keys, new values for
// a spread of existing keys.
func benchChanges(n int) []Entry {
	out := make([]Entry, benchChanged)
	for i := range out {
		k := (i*(benchKeys/benchChanged) + n*7) % benchKeys
		e, err := EncodeEntry(fmt.Sprintf("key-%07d", k), int64(n))
		if err != nil {
			panic(err)
		}
		out[i] = e
	}
	return out
}

func benchStore(b *testing.B, opts ...Option) *Store {
	s, err := Open(b.TempDir(), append([]Option{WithLogger(hclog.NewNullLogger())}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func benchCheckpoint(i int, changed []Entry) *Checkpoint {
	all := benchState()
	return &Checkpoint{
		Metadata: &Metadata{Time: time.Unix(1_700_000_000+int64(i), 0), BatchInterval: time.Second},
		State:    []StateSnapshot{{StreamID: "state", Changed: changed, All: slices.Values(all)}},
	}
}

// report adds ms per operation, MB per operation and MB/s.
func report(b *testing.B, bytesPerOp float64) {
	perOp := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(perOp*1e3, "ms")
	b.ReportMetric(bytesPerOp/1e6, "MB")
	b.ReportMetric(bytesPerOp/1e6/perOp, "MB/s")
}

// BenchmarkWriteState writes a checkpoint of a 1,000,000-key state: whole
// (full) or as the 10,000 keys a batch changed (incremental).
func BenchmarkWriteState(b *testing.B) {
	benchState()
	b.Run("full", func(b *testing.B) {
		s := benchStore(b, WithFullSnapshotEvery(1), WithRetain(1))
		i := 0
		for b.Loop() {
			i++
			if err := s.Write(benchCheckpoint(i, nil)); err != nil {
				b.Fatal(err)
			}
		}
		report(b, float64(s.Stats().BytesWritten)/float64(b.N))
	})
	// compact: the periodic full snapshot built without StateSnapshot.All,
	// by reading the previous full snapshot and merging 10,000 changes.
	b.Run("compact", func(b *testing.B) {
		s := benchStore(b, WithFullSnapshotEvery(1), WithRetain(1))
		if err := s.Write(benchCheckpoint(0, nil)); err != nil {
			b.Fatal(err)
		}
		changes := [][]Entry{benchChanges(1), benchChanges(2)}
		before := s.Stats().BytesWritten
		i := 0
		for b.Loop() {
			i++
			c := benchCheckpoint(i, changes[i%2])
			c.State[0].All = nil
			if err := s.Write(c); err != nil {
				b.Fatal(err)
			}
		}
		report(b, float64(s.Stats().BytesWritten-before)/float64(b.N))
	})
	b.Run("incremental", func(b *testing.B) {
		s := benchStore(b, WithFullSnapshotEvery(1<<30))
		if err := s.Write(benchCheckpoint(0, nil)); err != nil {
			b.Fatal(err)
		}
		changes := [][]Entry{benchChanges(1), benchChanges(2)}
		before := s.Stats().BytesWritten
		i := 0
		for b.Loop() {
			i++
			if err := s.Write(benchCheckpoint(i, changes[i%2])); err != nil {
				b.Fatal(err)
			}
		}
		report(b, float64(s.Stats().BytesWritten-before)/float64(b.N))
	})
}

// BenchmarkRestoreState reads a 1,000,000-key state back: from one full
// snapshot, or from a full snapshot and 9 deltas of 10,000 keys each.
func BenchmarkRestoreState(b *testing.B) {
	benchState()
	for _, deltas := range []int{0, benchDeltas} {
		name := "full"
		if deltas > 0 {
			name = fmt.Sprintf("full+%ddeltas", deltas)
		}
		b.Run(name, func(b *testing.B) {
			s := benchStore(b)
			for i := range deltas + 1 {
				var changed []Entry
				if i > 0 {
					changed = benchChanges(i)
				}
				if err := s.Write(benchCheckpoint(i, changed)); err != nil {
					b.Fatal(err)
				}
			}
			m, err := s.LatestMetadata()
			if err != nil {
				b.Fatal(err)
			}
			var size int64
			ref := m.State["state"]
			for _, f := range append([]string{ref.Full}, ref.Deltas...) {
				fi, err := os.Stat(filepath.Join(s.Dir(), stateDir, "state", f))
				if err != nil {
					b.Fatal(err)
				}
				size += fi.Size()
			}
			for b.Loop() {
				state, err := s.ReadState(m, "state")
				if err != nil {
					b.Fatal(err)
				}
				if len(state) != benchKeys {
					b.Fatalf("%d keys", len(state))
				}
			}
			report(b, float64(size))
		})
	}
}
