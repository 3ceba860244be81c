package rdd

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

func TestTextFileLines(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content string
		want          []string
	}{
		{"final newline", "a\nbb\nccc\n", []string{"a", "bb", "ccc"}},
		{"no final newline", "a\nbb\nccc", []string{"a", "bb", "ccc"}},
		{"crlf", "a\r\nbb\r\n\r\nc", []string{"a", "bb", "", "c"}},
		{"empty lines", "\n\nx\n\n", []string{"", "", "x", ""}},
		{"only newline", "\n", []string{""}},
		{"empty file", "", nil},
		{"one line", "hello world", []string{"hello world"}},
		{"cr inside a line", "a\rb\n", []string{"a\rb"}},
	}
	for i, tt := range tests {
		path := writeFile(t, filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")), tt.content)
		for _, minParts := range []int{0, 1, 2, 3, 5, 100} {
			r := TextFile(path, minParts)
			got := collect(t, r)
			if tt.want == nil {
				require.Empty(t, got, "%d %s", i, tt.name)
				continue
			}
			require.Equal(t, tt.want, got, "%s with %d partitions (%d made)", tt.name, minParts, r.NumPartitions())
		}
	}
}

// TestTextFileSplitsEveryWay checks every split size over lines of varied
// lengths: each line is read once, by the split where it starts.
func TestTextFileSplitsEveryWay(t *testing.T) {
	var b strings.Builder
	var want []string
	for i := range 40 {
		line := strings.Repeat(string(rune('a'+i%26)), i%7)
		want = append(want, line)
		b.WriteString(line)
		if i%3 == 0 { // "\r\n" is stripped whole
			b.WriteString("\r")
		}
		b.WriteString("\n")
	}
	path := writeFile(t, filepath.Join(t.TempDir(), "lines.txt"), b.String())
	for parts := 1; parts <= b.Len()+1; parts++ {
		r := TextFile(path, parts)
		require.Equal(t, want, collect(t, r), "minPartitions %d", parts)
		if parts <= b.Len() {
			require.GreaterOrEqual(t, r.NumPartitions(), parts)
		}
	}
}

func TestTextFileSplitSizes(t *testing.T) {
	files := []string{writeFile(t, filepath.Join(t.TempDir(), "f"), strings.Repeat("x\n", 50))}
	splits, err := textSplits(files, 3) // goal 33: the last split takes 34, within the 10% slop
	require.NoError(t, err)
	require.Equal(t, []fileSplit{{files[0], 0, 33}, {files[0], 33, 66}, {files[0], 66, 100}}, splits)
	splits, err = textSplits(files, 1)
	require.NoError(t, err)
	require.Len(t, splits, 1)
}

func TestTextFileDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "b.txt"), "b1\nb2\n")
	writeFile(t, filepath.Join(dir, "a.txt"), "a1\n")
	writeFile(t, filepath.Join(dir, "_SUCCESS"), "")
	writeFile(t, filepath.Join(dir, ".hidden"), "no\n")
	writeFile(t, filepath.Join(dir, "c.txt"), "")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	writeFile(t, filepath.Join(dir, "sub", "d.txt"), "no\n")
	for _, parts := range []int{1, 2, 10} {
		require.Equal(t, []string{"a1", "b1", "b2"}, collect(t, TextFile(dir, parts)))
	}
	require.Empty(t, collect(t, TextFile(t.TempDir(), 2)), "an empty directory")
}

func TestTextFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.txt")
	r := TextFile(path, 2)
	_, err := Map(r, strings.ToUpper).Collect(context.Background())
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.Contains(t, err.Error(), path)
	var te *TaskError
	require.ErrorAs(t, err, &te)
	require.Equal(t, "TextFile", te.Op)
}

func TestTextFileRemovedBeforeTheAction(t *testing.T) {
	path := writeFile(t, filepath.Join(t.TempDir(), "gone.txt"), "x\ny\n")
	r := Map(TextFile(path, 1), strings.ToUpper)
	require.NoError(t, os.Remove(path))
	_, err := r.Collect(context.Background())
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.Contains(t, err.Error(), path)
	requireTaskError(t, err, "TextFile", r.lin.narrow[0].meta().info.rdd, 0, false)
}

func TestSaveAsTextFile(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "out", "counts")
	pairs := Parallelize([]Pair[string, int]{KV("a", 1), KV("b", 2), KV("c", 3)}, 2)
	require.NoError(t, pairs.SaveAsTextFile(ctx, dir))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.Equal(t, []string{"_SUCCESS", "part-00000", "part-00001"}, names)
	p0, err := os.ReadFile(filepath.Join(dir, "part-00000"))
	require.NoError(t, err)
	require.Equal(t, "(a,1)\n", string(p0))
	p1, err := os.ReadFile(filepath.Join(dir, "part-00001"))
	require.NoError(t, err)
	require.Equal(t, "(b,2)\n(c,3)\n", string(p1))
	success, err := os.ReadFile(filepath.Join(dir, "_SUCCESS"))
	require.NoError(t, err)
	require.Empty(t, success)

	require.Equal(t, []string{"(a,1)", "(b,2)", "(c,3)"}, collect(t, TextFile(dir, 1)), "read back")

	err = pairs.SaveAsTextFile(ctx, dir)
	require.ErrorIs(t, err, fs.ErrExist)
	require.Contains(t, err.Error(), "already exists")
}

func TestSaveAsTextFileRoundTripsLines(t *testing.T) {
	ctx := context.Background()
	lines := []string{"x", "", "y z", "last"}
	for _, parts := range []int{1, 3, 6} {
		dir := filepath.Join(t.TempDir(), "lines")
		require.NoError(t, Parallelize(lines, parts).SaveAsTextFile(ctx, dir))
		require.Equal(t, lines, collect(t, TextFile(dir, 1)))
		files, err := filepath.Glob(filepath.Join(dir, "part-*"))
		require.NoError(t, err)
		require.Len(t, files, parts, "one file per partition, empty ones too")
	}
}

func TestSaveAsTextFileEmptyRDD(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, Empty[int]().SaveAsTextFile(context.Background(), dir))
	_, err := os.Stat(filepath.Join(dir, "_SUCCESS"))
	require.NoError(t, err)
	require.Empty(t, collect(t, TextFile(dir, 2)))
}

func TestSaveAsTextFileFailureRemovesTheDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "failed")
	r := Map(Parallelize([]int{1, 2, 3}, 3), func(x int) int {
		if x == 2 {
			panic("bad record")
		}
		return x
	})
	err := r.SaveAsTextFile(context.Background(), dir)
	requireTaskError(t, err, "Map", r.ID(), 1, true)
	_, statErr := os.Stat(dir)
	require.ErrorIs(t, statErr, fs.ErrNotExist)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, r.SaveAsTextFile(ctx, dir), context.Canceled)
	_, statErr = os.Stat(dir)
	require.ErrorIs(t, statErr, fs.ErrNotExist)
}

// TestSaveToPathWithTrailingSlash: "out/" names the directory out, as in
// Spark; it used to create out, then fail because it existed, and leave
// it behind.
func TestSaveToPathWithTrailingSlash(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "out")
	require.NoError(t, Parallelize([]string{"a", "b"}, 2).SaveAsTextFile(ctx, dir+"/"))
	lines, err := TextFile(dir, 1).Collect(ctx)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"a", "b"}, lines)
	objs := filepath.Join(t.TempDir(), "objs")
	require.NoError(t, Parallelize([]int{1, 2}, 2).SaveAsObjectFile(ctx, objs+string(filepath.Separator)))
	got, err := ObjectFile[int](objs, 1).Collect(ctx)
	require.NoError(t, err)
	require.ElementsMatch(t, []int{1, 2}, got)
}

// A failing fsync fails the save: a part, the directory, or _SUCCESS not
// on stable storage is not a complete output, and the directory is removed.
func TestSaveFailsWhenFsyncFails(t *testing.T) {
	real := fsync
	t.Cleanup(func() { fsync = real })
	for _, failAt := range []int{1, 2, 3, 4, 5, 6} { // 2 parts, dir, _SUCCESS, dir, parent
		var calls atomic.Int32 // the parts' tasks run at once
		fsync = func(f *os.File) error {
			if calls.Add(1) == int32(failAt) {
				return fs.ErrPermission
			}
			return real(f)
		}
		dir := filepath.Join(t.TempDir(), "out")
		err := Parallelize([]string{"a", "b"}, 2).SaveAsTextFile(context.Background(), dir)
		require.ErrorIs(t, err, fs.ErrPermission, "fsync %d", failAt)
		_, statErr := os.Stat(dir)
		require.ErrorIs(t, statErr, fs.ErrNotExist)
	}
	var calls atomic.Int32
	fsync = func(f *os.File) error { calls.Add(1); return real(f) }
	require.NoError(t, Parallelize([]int{1, 2}, 2).SaveAsObjectFile(context.Background(), filepath.Join(t.TempDir(), "objs")))
	require.EqualValues(t, 6, calls.Load())
}

// badString's String panics for 2.
type badString int

func (b badString) String() string {
	if b == 2 {
		panic("boom in String")
	}
	return fmt.Sprintf("ok%d", int(b))
}

// A String method that panics fails the save, naming the record, instead
// of fmt writing "%!v(PANIC=...)" into the part and the save succeeding;
// inside a Pair too.
func TestSaveAsTextFileFailsOnPanickingString(t *testing.T) {
	for _, r := range []*RDD[any]{
		Map(Parallelize([]badString{1, 2}, 1), func(b badString) any { return b }),
		Map(Parallelize([]badString{1, 2}, 1), func(b badString) any { return KV("k", b) }),
	} {
		dir := filepath.Join(t.TempDir(), "out")
		err := r.SaveAsTextFile(context.Background(), dir)
		require.ErrorIs(t, err, ErrUserPanic)
		require.ErrorContains(t, err, "boom in String")
		require.ErrorContains(t, err, "SaveAsTextFile")
		require.ErrorContains(t, err, "record ")
		_, statErr := os.Stat(dir)
		require.ErrorIs(t, statErr, fs.ErrNotExist)
	}
	require.Equal(t, "(k,ok1)", KV("k", badString(1)).String())
	require.Equal(t, "Some(ok1)", Some(badString(1)).String())
	var nilStringer *badPointer
	require.Equal(t, "<nil>", Format(nilStringer))
}

type badPointer struct{ s string }

func (b *badPointer) String() string { return b.s }
