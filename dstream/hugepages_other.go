//go:build !linux

package dstream

import "unsafe"

// adviseHugePages does nothing: only Linux is asked for huge pages (see
// hugepages_linux.go).
func adviseHugePages(unsafe.Pointer, int) error { return nil }
