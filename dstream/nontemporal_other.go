//go:build !amd64

package dstream

import "unsafe"

// nonTemporalStores reports that copyNonTemporal bypasses the caches here:
// it does not on this architecture, so the change logs are not staged.
const nonTemporalStores = false

// copyNonTemporal copies words 8-byte words from src to dst (with ordinary
// stores on this architecture). dst and src must be 8-byte aligned and
// must not overlap.
func copyNonTemporal(dst, src unsafe.Pointer, words uintptr) {
	copy(unsafe.Slice((*uint64)(dst), words), unsafe.Slice((*uint64)(src), words))
}
