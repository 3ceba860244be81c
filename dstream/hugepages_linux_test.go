package dstream

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// anonHugeBytes returns the bytes of transparent huge pages in the memory
// mapping of this process that holds address a, from /proc/self/smaps.
func anonHugeBytes(t *testing.T, a uintptr) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	require.NoError(t, err)
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if lo, hi, ok := strings.Cut(fields[0], "-"); ok && !strings.HasSuffix(fields[0], ":") {
			start, err1 := strconv.ParseUint(lo, 16, 64)
			end, err2 := strconv.ParseUint(hi, 16, 64)
			in = err1 == nil && err2 == nil && uint64(a) >= start && uint64(a) < end
			continue
		}
		if in && fields[0] == "AnonHugePages:" {
			kb, err := strconv.Atoi(fields[1])
			require.NoError(t, err)
			return kb << 10
		}
	}
	require.NoError(t, sc.Err())
	t.Fatalf("no mapping holds %#x", a)
	return 0
}

// TestAdviseHugePages checks that a slab's memory is backed by huge
// pages once advised, even memory the runtime had already brought in (the
// collapse), unless the kernel has them disabled or declines the advice:
// a collapse fails when the kernel finds no free huge pages at the moment
// (EAGAIN, ENOMEM), which on a shared machine it sometimes does, and is
// then checked to have left the memory as it was.
func TestAdviseHugePages(t *testing.T) {
	setting, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || strings.Contains(string(setting), "[never]") {
		t.Skipf("transparent huge pages are not available here (%q, %v)", setting, err)
	}
	const n = 16 << 20
	for _, touched := range []bool{false, true} {
		slab := make([]tableSlot[int64, int64], n/unsafe.Sizeof(tableSlot[int64, int64]{}))
		if touched { // as memory the heap reuses
			for i := range slab {
				slab[i].key = 1
			}
			clear(slab)
		}
		p := unsafe.Pointer(&slab[0])
		if err := adviseHugePages(p, len(slab)*int(unsafe.Sizeof(slab[0]))); err != nil {
			// Only the collapse may be declined: THP is enabled here,
			// so the advice itself must be taken.
			require.ErrorIs(t, err, errNotCollapsed, "touched before: %v", touched)
			require.True(t, errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.ENOMEM) || errors.Is(err, unix.EINVAL),
				"touched before: %v: %v", touched, err)
			t.Logf("touched before: %v: the kernel declined: %v", touched, err)
		} else {
			// The slab's 16 MiB hold at least 7 whole huge pages.
			require.GreaterOrEqual(t, anonHugeBytes(t, uintptr(p)+n/2), 7*hugePageSize, "touched before: %v", touched)
		}
		for i := range slab {
			require.Zero(t, slab[i], "slot %d", i)
		}
	}
}
