//go:build !amd64 && !arm64

package dstream

import "unsafe"

// prefetch does nothing on this architecture: the lookups it would have
// sped up run as they are.
func prefetch(unsafe.Pointer) {}
