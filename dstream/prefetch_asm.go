//go:build amd64 || arm64

package dstream

import "unsafe"

// prefetch asks the CPU to start loading the cache line at p and returns
// at once: unlike a load, it does not hold up the instructions after it
// while the line comes from memory, so many can be in flight. p need not
// be valid memory.
//
//go:noescape
func prefetch(p unsafe.Pointer)
