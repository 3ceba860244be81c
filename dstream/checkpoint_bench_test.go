package dstream

import (
	"testing"

	"github.com/sluice-io/sluice/checkpoint"
)

// BenchmarkStateEntryEncoding encodes the entries of a state delta, int64 keys
// and int64 states (the state benchmark's), and string keys with int
// states, and reports the time per entry.
func BenchmarkStateEntryEncoding(b *testing.B) {
	const entries = 100_000
	b.Run("int64", func(b *testing.B) {
		for range b.N {
			enc := checkpoint.NewEntryEncoder[int64, storedState[int64]](entries)
			for i := range int64(entries) {
				if err := enc.Set(i*7919, stored(stateEntry[int64]{state: i % 300, updated: 1_700_000_000_000_000_000 + i})); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*entries), "ns/entry")
	})
	b.Run("int64-reused-buffer", func(b *testing.B) {
		var es checkpoint.Entries
		for range b.N {
			enc := checkpoint.NewEntryEncoderAfter[int64, storedState[int64]](es.Reuse())
			for i := range int64(entries) {
				if err := enc.Set(i*7919, stored(stateEntry[int64]{state: i % 300, updated: 1_700_000_000_000_000_000 + i})); err != nil {
					b.Fatal(err)
				}
			}
			es = enc.Entries()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*entries), "ns/entry")
	})
	b.Run("string", func(b *testing.B) {
		keys := make([]string, entries)
		for i := range keys {
			keys[i] = "word-" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676%26))
		}
		b.ResetTimer()
		for range b.N {
			enc := checkpoint.NewEntryEncoder[string, storedState[int]](entries)
			for i, k := range keys {
				if err := enc.Set(k, stored(stateEntry[int]{state: i, updated: 1_700_000_000_000_000_000})); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*entries), "ns/entry")
	})
}
