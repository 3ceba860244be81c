package checkpoint

import (
	"os"

	"golang.org/x/sys/unix"
)

// dropCached asks the kernel to drop the cached pages of f, a file just
// written and synced: checkpoint files are read only at recovery, so their
// pages would only displace memory that is in use, and the pages freed are
// the ones the next checkpoint's write reuses. Without it every write takes
// fresh pages while the cache grows, and a fresh page costs a fault on the
// host of a virtual machine whose memory has not been touched yet: a 3.4 MB
// delta took 6.5 ms to write instead of 0.5 ms. It is advice; an error
// changes nothing that was written.
func dropCached(f *os.File) {
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}

// startWriteback starts writing the n bytes of f at off to the disk and
// returns at once (sync_file_range, SYNC_FILE_RANGE_WRITE): a delta written
// ahead is on its way to the disk while the next batches run, so the fsync
// that commits it waits only for what came last. Advice too: an error
// leaves the fsync all the work.
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
