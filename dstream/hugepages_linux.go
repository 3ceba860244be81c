package dstream

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	// hugePageSize is the size of a transparent huge page on Linux.
	hugePageSize = 2 << 20
	// smallPageSize is the smallest page size of Linux's architectures:
	// touching a byte at each such step brings in every page.
	smallPageSize = 4 << 10
	// madvCollapse is MADV_COLLAPSE (Linux 6.1), which golang.org/x/sys
	// at our version does not name.
	madvCollapse = 25
)

// errNotCollapsed marks adviseHugePages's error when the range was advised
// but the kernel did not collapse it into huge pages: a kernel older than
// 6.1 (EINVAL), or no free huge pages at the moment (EAGAIN, ENOMEM).
var errNotCollapsed = errors.New("advised, not collapsed into huge pages")

// adviseHugePages asks the kernel to back the whole huge pages of the n
// bytes at p, a new allocation of the Go heap that nothing else uses yet,
// with transparent huge pages. Under the kernel's default THP setting,
// "madvise", only memory so advised gets them:
//
//   - MADV_HUGEPAGE marks the range, so that its pages not yet in memory
//     come in as huge pages;
//   - touching one byte of every small page brings them in (the memory is
//     zero and stays zero);
//   - MADV_COLLAPSE turns the pages the runtime had already brought in
//     (the heap reuses memory it freed) into huge pages too, copying them;
//     left to the kernel's khugepaged, that would take minutes.
//
// It costs about the time of writing the memory once (4-115 ms per 62
// MiB on the benchmark machine), once per slab. It is advice: when the
// kernel refuses (THP disabled, or a kernel older than 6.1 for the
// collapse, or a collapse that finds no free huge pages at the moment), the
// memory works the same on small pages, only slower to reach at random.
// The error is the kernel's refusal, for tests: callers ignore it.
func adviseHugePages(p unsafe.Pointer, n int) error {
	lo := (uintptr(p) + hugePageSize - 1) &^ (hugePageSize - 1)
	hi := (uintptr(p) + uintptr(n)) &^ (hugePageSize - 1)
	if hi <= lo {
		return nil
	}
	b := unsafe.Slice((*byte)(unsafe.Add(p, lo-uintptr(p))), hi-lo)
	if err := unix.Madvise(b, unix.MADV_HUGEPAGE); err != nil {
		return fmt.Errorf("MADV_HUGEPAGE: %w", err)
	}
	for i := 0; i < len(b); i += smallPageSize {
		b[i] = 0
	}
	if err := unix.Madvise(b, madvCollapse); err != nil {
		return fmt.Errorf("%w: MADV_COLLAPSE: %w", errNotCollapsed, err)
	}
	return nil
}
