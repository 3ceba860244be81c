package dstream

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// BenchmarkStateTable does a batch's worth of read-modify-write updates of
// random existing keys (10,000) into a Go map and into a stateTable, the
// latter with and without prefetching the keys of each chunk, over 10k and
// 5M int64 keys (5M is a partition of the 10M-key state benchmark), and
// reports the time per update. table/two-partitions is the 10M-key state
// benchmark's shape: two tables of 5M keys updated at once, 5,000 keys
// each, prefetched; it reports the wall time per update, the time per
// update of each goroutine while it runs (ns/update-each), and how late
// the second goroutine starts.
func BenchmarkStateTable(b *testing.B) {
	const updates = 10_000
	for _, keys := range []int{10_000, 5_000_000} {
		rng := rand.New(rand.NewPCG(1, 2))
		batches := make([][]int64, 64)
		for i := range batches {
			batches[i] = make([]int64, updates)
			for j := range batches[i] {
				batches[i][j] = rng.Int64N(int64(keys))
			}
		}
		perUpdate := func(b *testing.B) {
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*updates), "ns/update")
		}
		b.Run(fmt.Sprintf("gomap/keys=%d", keys), func(b *testing.B) {
			m := make(map[int64]stateEntry[int64], keys)
			for k := range int64(keys) {
				m[k] = stateEntry[int64]{state: 1}
			}
			b.ResetTimer()
			for i := range b.N {
				for _, k := range batches[i%len(batches)] {
					e := m[k]
					m[k] = stateEntry[int64]{state: e.state + 1, updated: int64(i)}
				}
			}
			perUpdate(b)
		})
		for _, prefetch := range []bool{false, true} {
			b.Run(fmt.Sprintf("table/prefetch=%v/keys=%d", prefetch, keys), func(b *testing.B) {
				tab := newStateTable[int64, int64]()
				for k := range int64(keys) {
					tab.set(k, stateEntry[int64]{state: 1})
				}
				hs := make([]uint64, updates)
				b.ResetTimer()
				for i := range b.N {
					ks := batches[i%len(batches)]
					for j, k := range ks {
						hs[j] = tab.hash(k)
					}
					for j, k := range ks {
						if prefetch {
							tab.prefetchFor(hs, j)
						}
						e := tab.lookup(k, hs[j])
						*e = stateEntry[int64]{state: e.state + 1, updated: int64(i)}
					}
				}
				perUpdate(b)
			})
		}
	}
	b.Run("table/two-partitions/keys=10000000", func(b *testing.B) {
		const perPart = updates / 2
		tabs := [2]*stateTable[int64, int64]{newStateTable[int64, int64](), newStateTable[int64, int64]()}
		keys := [2][][]int64{}
		for p, tab := range tabs {
			for k := range int64(5_000_000) {
				tab.set(k, stateEntry[int64]{state: 1})
			}
			rng := rand.New(rand.NewPCG(uint64(p), 3))
			for range 64 {
				ks := make([]int64, perPart)
				for j := range ks {
					ks[j] = rng.Int64N(5_000_000)
				}
				keys[p] = append(keys[p], ks)
			}
		}
		hs := [2][]uint64{make([]uint64, perPart), make([]uint64, perPart)}
		update := func(p, i int) {
			tab, ks, hs := tabs[p], keys[p][i%64], hs[p]
			for j, k := range ks {
				hs[j] = tab.hash(k)
			}
			for j, k := range ks {
				tab.prefetchFor(hs, j)
				e := tab.lookup(k, hs[j])
				*e = stateEntry[int64]{state: e.state + 1, updated: int64(i)}
			}
		}
		// Each goroutine's own time, and how late the second starts: on
		// a VM it waits for its idle vCPU to wake, 100 µs and more.
		var own [2]time.Duration
		var lag time.Duration
		b.ResetTimer()
		for i := range b.N {
			var wg sync.WaitGroup
			wg.Add(1)
			start := time.Now()
			go func() {
				defer wg.Done()
				t := time.Now()
				lag += t.Sub(start)
				update(1, i)
				own[1] += time.Since(t)
			}()
			update(0, i)
			own[0] += time.Since(start)
			wg.Wait()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*updates), "ns/update")
		b.ReportMetric(float64((own[0]+own[1]).Nanoseconds())/float64(b.N*updates), "ns/update-each")
		b.ReportMetric(float64(lag.Microseconds())/float64(b.N), "µs-second-starts-late")
	})
}
