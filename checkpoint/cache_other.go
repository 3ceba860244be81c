//go:build !linux

package checkpoint

import "os"

// dropCached does nothing where the kernel takes no advice on cached pages
// (see cache_linux.go).
func dropCached(*os.File) {}

// startWriteback does nothing where there is no sync_file_range: the fsync
// that commits a delta written ahead writes all of it (see cache_linux.go).
func startWriteback(*os.File, int64, int64) {}
