package dstream

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkTable asserts that t holds exactly the entries of want, through
// lookups and through iteration.
func checkTable[K comparable](t *testing.T, tab *stateTable[K, int], want map[K]int) {
	t.Helper()
	require.Equal(t, len(want), tab.len())
	for k, v := range want {
		e, ok := tab.get(k)
		require.True(t, ok, "key %v", k)
		require.Equal(t, v, e.state, "key %v", k)
	}
	seen := map[K]int{}
	tab.all(func(k K, e *stateEntry[int]) bool {
		_, dup := seen[k]
		require.False(t, dup, "key %v yielded twice", k)
		seen[k] = e.state
		return true
	})
	require.Equal(t, want, seen)
}

// TestStateTableAgainstMap runs random inserts, updates and removals on a
// stateTable and a Go map side by side, over key ranges small enough to
// reuse tombstones and large enough to split parts many times.
func TestStateTableAgainstMap(t *testing.T) {
	for _, tc := range []struct {
		keys, ops   int
		removeShare float64
	}{
		{keys: 10, ops: 2_000, removeShare: 0.5},
		{keys: 1_000, ops: 50_000, removeShare: 0.45},
		{keys: 200_000, ops: 400_000, removeShare: 0.2},
	} {
		t.Run(fmt.Sprintf("keys=%d", tc.keys), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.keys), 7))
			tab := newStateTable[int64, int]()
			want := map[int64]int{}
			for i := range tc.ops {
				k := rng.Int64N(int64(tc.keys))
				if rng.Float64() < tc.removeShare {
					_, had := want[k]
					delete(want, k)
					assert.Equal(t, had, tab.remove(k, tab.hash(k)), "remove %d", k)
					continue
				}
				want[k] = i
				tab.set(k, stateEntry[int]{state: i, updated: int64(i)})
				if i%(tc.ops/4) == 0 {
					checkTable(t, tab, want)
				}
			}
			checkTable(t, tab, want)
			if tc.keys > maxPartGroups*groupSlots {
				assert.Greater(t, len(tab.dir), 1, "the table split its part")
			}
		})
	}
}

// TestStateTableRemoveWhileIterating removes every other key from inside
// all, and changes the others in place.
func TestStateTableRemoveWhileIterating(t *testing.T) {
	tab := newStateTable[string, int]()
	want := map[string]int{}
	for i := range 50_000 {
		k := fmt.Sprint("k", i)
		tab.set(k, stateEntry[int]{state: i})
		want[k] = i
	}
	visits := 0
	tab.all(func(k string, e *stateEntry[int]) bool {
		visits++
		if e.state%2 == 0 {
			tab.remove(k, tab.hash(k))
			delete(want, k)
		} else {
			e.state *= 10
			want[k] *= 10
		}
		return true
	})
	assert.Equal(t, 50_000, visits)
	checkTable(t, tab, want)
}

// TestStateTableGrowsFromTombstones fills a small table, empties it and
// fills it again with other keys: the slots of removed keys are reused or
// rehashed away instead of growing the table without end.
func TestStateTableGrowsFromTombstones(t *testing.T) {
	tab := newStateTable[int, int]()
	for round := range 50 {
		for k := range 500 {
			tab.set(round*1000+k, stateEntry[int]{state: k})
		}
		for k := range 500 {
			tab.remove(round*1000+k, tab.hash(round*1000+k))
		}
	}
	assert.Equal(t, 0, tab.len())
	require.Len(t, tab.dir, 1)
	assert.LessOrEqual(t, len(tab.dir[0].ctrl), 128, "groups of a part that never held more than 500 keys")
	checkTable(t, tab, map[int]int{})
}

// TestStateTableNaNKeys follows Go maps: a NaN key is never found, so each
// set adds another entry, and iteration yields them all.
func TestStateTableNaNKeys(t *testing.T) {
	tab := newStateTable[float64, int]()
	tab.set(math.NaN(), stateEntry[int]{state: 1})
	tab.set(math.NaN(), stateEntry[int]{state: 2})
	_, ok := tab.get(math.NaN())
	assert.False(t, ok)
	assert.Equal(t, 2, tab.len())
	n := 0
	tab.all(func(float64, *stateEntry[int]) bool { n++; return true })
	assert.Equal(t, 2, n)
}

// TestStateTablePrefetchReadsOnly checks that prefetching, which reads
// the groups of hashes with no key behind them as well, changes nothing.
func TestStateTablePrefetchReadsOnly(t *testing.T) {
	tab := newStateTable[int64, int]()
	want := map[int64]int{}
	for k := range int64(20_000) {
		tab.set(k, stateEntry[int]{state: int(k)})
		want[k] = int(k)
	}
	var hs []uint64
	for k := range int64(100) {
		hs = append(hs, tab.hash(k*7919+1_000_000)) // absent keys
	}
	for i := range hs {
		tab.prefetchFor(hs, i)
	}
	checkTable(t, tab, want)
}

// TestStateTableReusesBlocks runs a table whose full-size parts come from
// slabs of a few blocks, through splits and rehashes that drop parts: it
// stays equal to a Go map, every block handed out is either in a part or
// free, and free blocks hold no keys.
func TestStateTableReusesBlocks(t *testing.T) {
	blockBytes := int(unsafe.Sizeof(fullBlock[int64, int]{}))
	defer func(lo, hi int) { slabMinBytes, slabMaxBytes = lo, hi }(slabMinBytes, slabMaxBytes)
	slabMinBytes, slabMaxBytes = 2*blockBytes, 3*blockBytes
	rng := rand.New(rand.NewPCG(3, 4))
	tab := newStateTable[int64, int]()
	want := map[int64]int{}
	const keys = 120_000
	for i := range 600_000 {
		k := rng.Int64N(keys)
		// Mostly inserts at first, so parts split; then as many removals,
		// which leave tombstones for rehashes at the same size.
		if i > 200_000 && rng.IntN(2) == 0 {
			delete(want, k)
			tab.remove(k, tab.hash(k))
			continue
		}
		want[k] = i
		tab.set(k, stateEntry[int]{state: i})
	}
	checkTable(t, tab, want)
	full := map[*fullBlock[int64, int]]bool{}
	for _, d := range tab.dir {
		if d.part.block != nil {
			full[d.part.block] = true
		}
	}
	// Two blocks allocated alone, then slabs of three: more than five in
	// use means at least two slabs.
	require.Greater(t, len(full), 5, "the table took blocks from several slabs")
	for _, blk := range tab.blocks.free {
		require.False(t, full[blk], "a free block is in use")
		for i := range blk.slots {
			require.Zero(t, blk.slots[i], "slot %d of a free block", i)
		}
	}
	assert.Equal(t, tab.blocks.bytes/blockBytes, len(full)+len(tab.blocks.free), "blocks handed out")
	// A dropped part's block is taken again by the next new part: at most
	// the one of the last drop is left.
	assert.LessOrEqual(t, len(tab.blocks.free), 1, "free blocks")
}

// TestStateTablePartsFrom checks that partsFrom yields exactly the keys
// whose hash is in [lo, hi] for the hi it returns, at least n of them, over
// a table of many parts of different depths, from part boundaries and from
// inside a part, for about n of them, and that a sweep from 0 yields every
// key once.
func TestStateTablePartsFrom(t *testing.T) {
	tb := newStateTable[int, int]()
	for k := range 60_000 {
		tb.set(k, stateEntry[int]{state: k})
	}
	require.Greater(t, len(tb.dir), 4, "the table has split")
	check := func(lo uint64, n int) (uint64, map[int]bool) {
		got := map[int]bool{}
		hi := tb.partsFrom(lo, n, func(k int, e *stateEntry[int]) {
			require.Equal(t, k, e.state)
			require.False(t, got[k], "key %d twice", k)
			got[k] = true
		})
		want := map[int]bool{}
		for k := range tb.all {
			if h := tb.hash(k); lo <= h && h <= hi {
				want[k] = true
			}
		}
		require.Equal(t, want, got, "range [%x, %x]", lo, hi)
		require.GreaterOrEqual(t, hi, lo)
		return hi, got
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		check(r.Uint64(), r.IntN(20_000))
	}
	seen := 0
	sweeps := 0
	for lo := uint64(0); ; sweeps++ {
		hi, got := check(lo, 5000)
		seen += len(got)
		if hi == math.MaxUint64 {
			break
		}
		lo = hi + 1
	}
	require.Equal(t, 60_000, seen)
	require.InDelta(t, 12, sweeps, 8, "about 5,000 keys a call")
	// A small budget reads a slice of a part, not all of it.
	_, got := check(0, 10)
	require.Less(t, len(got), 100)

	small := newStateTable[int, int]()
	small.set(1, stateEntry[int]{state: 1})
	n := 0
	require.Equal(t, uint64(math.MaxUint64), small.partsFrom(0, 5, func(int, *stateEntry[int]) { n++ }))
	require.Equal(t, 1, n, "a table of one part, at depth 0")
}
