package bench

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sluice-io/sluice/checkpoint"
)

const (
	checkpointKeys    = 1_000_000
	checkpointChanged = 10_000 // keys changed per batch: one incremental checkpoint
	checkpointDeltas  = 9      // deltas on a full snapshot at the longest chain of WithFullSnapshotEvery(10)
)

// checkpointKeyNames are the keys of a state of 1,000,000 string keys with
// int64 values.
var checkpointKeyNames = sync.OnceValue(func() []string {
	out := make([]string, checkpointKeys)
	for i := range out {
		out[i] = fmt.Sprintf("key-%07d", i)
	}
	return out
})

// checkpointState encodes the whole state as a stream's full snapshot is
// encoded: an EntryEncoder over the typed keys and values.
func checkpointState(b *testing.B) *checkpoint.Entries {
	enc := checkpoint.NewEntryEncoder[string, int64](checkpointKeys)
	for i, k := range checkpointKeyNames() {
		if err := enc.Set(k, int64(i)); err != nil {
			b.Fatal(err)
		}
	}
	all := enc.Entries()
	return &all
}

func mustEntry(k string, v int64) checkpoint.Entry {
	e, err := checkpoint.EncodeEntry(k, v)
	if err != nil {
		panic(err)
	}
	return e
}

// checkpointChanges returns the n-th batch's 10,000 changed keys, a spread
// of existing keys with new values.
func checkpointChanges(n int) checkpoint.Entries {
	var out checkpoint.Entries
	for i := range checkpointChanged {
		k := (i*(checkpointKeys/checkpointChanged) + n*7) % checkpointKeys
		out.Append(mustEntry(fmt.Sprintf("key-%07d", k), int64(n)))
	}
	return out
}

func openStore(b *testing.B, opts ...checkpoint.Option) *checkpoint.Store {
	s, err := checkpoint.Open(b.TempDir(), append([]checkpoint.Option{checkpoint.WithLogger(hclog.NewNullLogger())}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func stateCheckpoint(i int, changed checkpoint.Entries, all *checkpoint.Entries) *checkpoint.Checkpoint {
	return &checkpoint.Checkpoint{
		Metadata: &checkpoint.Metadata{Time: time.Unix(1_700_000_000+int64(i), 0), BatchInterval: time.Second},
		State:    []checkpoint.StateSnapshot{{StreamID: "state", Changed: changed, All: all}},
	}
}

// stateBytes is the size of the state files under dir.
func stateBytes(b *testing.B, dir string) int64 {
	var size int64
	err := filepath.WalkDir(filepath.Join(dir, "state"), func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		size += fi.Size()
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return size
}

// reportIO adds ms per op, MB per op and MB/s.
func reportIO(b *testing.B, bytesPerOp float64) {
	perOp := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(perOp*1e3, "ms")
	b.ReportMetric(bytesPerOp/1e6, "MB")
	b.ReportMetric(bytesPerOp/1e6/perOp, "MB/s")
}

// BenchmarkCheckpoint writes and restores the state checkpoint of a
// 1,000,000-key state through the checkpoint package: write/full (every
// key, encoded by an EntryEncoder and written), write/incremental (the 10,000 keys a batch changed, a delta),
// restore/full (one full snapshot) and restore/incremental (a full snapshot
// and 9 deltas). The baselines are the file system alone: baseline/write
// writes and fsyncs as many bytes as write/full (one file, renamed into
// place, the directory fsynced), baseline/read reads them back.
func BenchmarkCheckpoint(b *testing.B) {
	checkpointKeyNames()
	var fullBytes int64
	b.Run("write/full", func(b *testing.B) {
		s := openStore(b, checkpoint.WithFullSnapshotEvery(1), checkpoint.WithRetain(1))
		i := 0
		for b.Loop() {
			i++
			if err := s.Write(stateCheckpoint(i, checkpoint.Entries{}, checkpointState(b))); err != nil {
				b.Fatal(err)
			}
		}
		per := float64(s.Stats().BytesWritten) / float64(b.N)
		fullBytes = int64(per)
		reportIO(b, per)
	})
	b.Run("write/incremental", func(b *testing.B) {
		s := openStore(b, checkpoint.WithFullSnapshotEvery(1<<30))
		if err := s.Write(stateCheckpoint(0, checkpoint.Entries{}, checkpointState(b))); err != nil {
			b.Fatal(err)
		}
		changes := []checkpoint.Entries{checkpointChanges(1), checkpointChanges(2)}
		before := s.Stats().BytesWritten
		i := 0
		for b.Loop() {
			i++
			if err := s.Write(stateCheckpoint(i, changes[i%2], nil)); err != nil {
				b.Fatal(err)
			}
		}
		reportIO(b, float64(s.Stats().BytesWritten-before)/float64(b.N))
	})
	for _, deltas := range []int{0, checkpointDeltas} {
		name := "restore/full"
		if deltas > 0 {
			name = "restore/incremental"
		}
		b.Run(name, func(b *testing.B) {
			s := openStore(b)
			for i := range deltas + 1 {
				changed, all := checkpoint.Entries{}, checkpointState(b)
				if i > 0 {
					changed, all = checkpointChanges(i), nil
				}
				if err := s.Write(stateCheckpoint(i, changed, all)); err != nil {
					b.Fatal(err)
				}
			}
			m, err := s.LatestMetadata()
			if err != nil {
				b.Fatal(err)
			}
			size := stateBytes(b, s.Dir())
			for b.Loop() {
				state, err := s.ReadState(m, "state")
				if err != nil {
					b.Fatal(err)
				}
				if len(state) != checkpointKeys {
					b.Fatalf("%d keys", len(state))
				}
			}
			reportIO(b, float64(size))
		})
	}
	if fullBytes == 0 {
		fullBytes = 20 << 20
	}
	data := make([]byte, fullBytes)
	for i := range data {
		data[i] = byte(i * 7)
	}
	b.Run("baseline/write", func(b *testing.B) {
		dir := b.TempDir()
		for b.Loop() {
			if err := writeSynced(dir, data); err != nil {
				b.Fatal(err)
			}
		}
		reportIO(b, float64(len(data)))
	})
	b.Run("baseline/read", func(b *testing.B) {
		dir := b.TempDir()
		if err := writeSynced(dir, data); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			got, err := os.ReadFile(filepath.Join(dir, "state.full"))
			if err != nil || len(got) != len(data) {
				b.Fatal(len(got), err)
			}
		}
		reportIO(b, float64(len(data)))
	})
}

// writeSynced writes data to dir/state.full the crash-safe way: a
// temporary file, fsync, rename, fsync of the directory.
func writeSynced(dir string, data []byte) error {
	tmp := filepath.Join(dir, "state.full.tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, "state.full")); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
