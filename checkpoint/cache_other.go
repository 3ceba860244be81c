//go:build !linux

package checkpoint

import "os"

// dropCached does nothing where the kernel takes no advice on cached pages
// (see cache_linux.go).
func dropCached(*os.File) {}
