package checkpoint

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// residentPages returns how many pages of the file at path are in the page
// cache, and how many it has.
func residentPages(t *testing.T, path string) (resident, pages int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	// Mapping the file reads none of it; mincore reports what is cached.
	mem, err := unix.Mmap(int(f.Fd()), 0, int(info.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	vec := make([]byte, (len(mem)+os.Getpagesize()-1)/os.Getpagesize())
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&mem[0])), uintptr(len(mem)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	for _, v := range vec {
		resident += int(v & 1)
	}
	return resident, len(vec)
}

// TestWrittenFilesLeaveNoCachedPages checks that the files of a checkpoint,
// once written and synced, do not stay in the page cache (dropCached): a
// full snapshot of 20,000 keys and its metadata are written, and none of
// their pages is resident afterwards.
func TestWrittenFilesLeaveNoCachedPages(t *testing.T) {
	dir := t.TempDir()
	// In memory file systems the page cache is the file: nothing to drop.
	var fsInfo unix.Statfs_t
	if err := unix.Statfs(dir, &fsInfo); err != nil {
		t.Fatal(err)
	}
	if fsInfo.Type == unix.TMPFS_MAGIC || fsInfo.Type == unix.RAMFS_MAGIC {
		t.Skipf("%s is in memory (file system type %#x): its pages cannot leave the page cache", dir, fsInfo.Type)
	}
	s, _ := openTest(t, dir)
	m := newModel("words", 20_000)
	if err := s.Write(&Checkpoint{Metadata: testMetadata(1), State: []StateSnapshot{m.snapshot(t)}}); err != nil {
		t.Fatal(err)
	}
	var files []string
	err := filepath.WalkDir(s.Dir(), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(path, tmpSuffix) {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("checkpoint files %v: want a state file and a metadata file", files)
	}
	total := 0
	for _, path := range files {
		resident, pages := residentPages(t, path)
		total += pages
		if resident != 0 {
			t.Errorf("%s: %d of its %d pages still cached after the write", filepath.Base(path), resident, pages)
		}
	}
	if total < 20 {
		t.Fatalf("checkpoint files of %d pages in all: too small to tell", total)
	}
}
