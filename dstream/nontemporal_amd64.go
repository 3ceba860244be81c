package dstream

import "unsafe"

// nonTemporalStores reports that copyNonTemporal bypasses the caches here.
const nonTemporalStores = true

// copyNonTemporal copies words 8-byte words from src to dst with
// non-temporal stores (MOVNTI), which write to memory through the CPU's
// write-combining buffers without first reading the destination's lines
// into the cache, and then fences them (SFENCE), so that they are ordered
// before any later store, the release of a lock included. dst and src must
// be 8-byte aligned and must not overlap, and dst must hold no pointers:
// the stores bypass the garbage collector's write barrier.
//
//go:noescape
func copyNonTemporal(dst, src unsafe.Pointer, words uintptr)
