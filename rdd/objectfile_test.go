package rdd

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type reading struct {
	Sensor string
	At     int64
	Values []float64
	Tags   map[string]string
}

func TestObjectFileRoundTrip(t *testing.T) {
	ctx := context.Background()
	t.Run("structs", func(t *testing.T) {
		in := []reading{
			{"pump-1", 100, []float64{1.5, 2}, map[string]string{"site": "north"}},
			{"pump-2", 101, nil, nil},
			{"pump-1", 102, []float64{-3}, map[string]string{}},
		}
		dir := filepath.Join(t.TempDir(), "readings")
		require.NoError(t, Parallelize(in, 2).SaveAsObjectFile(ctx, dir))
		r := ObjectFile[reading](dir, 1)
		require.Equal(t, 2, r.NumPartitions())
		got := collect(t, r)
		require.Len(t, got, 3)
		for i := range in {
			require.Equal(t, in[i].Sensor, got[i].Sensor)
			require.Equal(t, in[i].At, got[i].At)
			require.Equal(t, len(in[i].Values), len(got[i].Values))
			require.Equal(t, len(in[i].Tags), len(got[i].Tags))
		}
		require.Equal(t, in[0], got[0])
	})
	t.Run("pairs", func(t *testing.T) {
		in := []Pair[string, Joined[int, Option[string]]]{
			KV("a", Joined[int, Option[string]]{1, Some("x")}),
			KV("b", Joined[int, Option[string]]{2, None[string]()}),
		}
		dir := filepath.Join(t.TempDir(), "pairs")
		require.NoError(t, Parallelize(in, 3).SaveAsObjectFile(ctx, dir))
		require.Equal(t, in, collect(t, ObjectFile[Pair[string, Joined[int, Option[string]]]](dir, 2)))
	})
	t.Run("shuffled output", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "counts")
		require.NoError(t, ReduceByKey(words(2, "a", "b", "a"), add, WithPartitions(3)).SaveAsObjectFile(ctx, dir))
		require.Equal(t, []Pair[string, int]{KV("a", 2), KV("b", 1)}, sortedPairs(collect(t, ObjectFile[Pair[string, int]](dir, 1))))
	})
	t.Run("empty", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "empty")
		require.NoError(t, Parallelize([]int{}, 2).SaveAsObjectFile(ctx, dir))
		require.Empty(t, collect(t, ObjectFile[int](dir, 1)))
	})
	t.Run("existing directory", func(t *testing.T) {
		require.ErrorIs(t, Parallelize([]int{1}, 1).SaveAsObjectFile(ctx, t.TempDir()), fs.ErrExist)
	})
}

func TestObjectFileErrors(t *testing.T) {
	ctx := context.Background()
	missing := filepath.Join(t.TempDir(), "missing")
	_, err := ObjectFile[int](missing, 1).Collect(ctx)
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.Contains(t, err.Error(), missing)

	dir := filepath.Join(t.TempDir(), "strings")
	require.NoError(t, Parallelize([]string{"x", "y"}, 1).SaveAsObjectFile(ctx, dir))
	r := ObjectFile[int](dir, 1)
	_, err = r.Collect(ctx)
	te := requireTaskError(t, err, "ObjectFile", r.ID(), 0, false)
	require.Contains(t, te.Error(), "part-00000")

	truncated := filepath.Join(t.TempDir(), "truncated")
	require.NoError(t, os.Mkdir(truncated, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(truncated, "part-00000"), []byte{0xa5, 'h', 'e'}, 0o644))
	_, err = ObjectFile[string](truncated, 1).Collect(ctx)
	require.Error(t, err)
	require.Contains(t, err.Error(), "element 0")
}

// FuzzObjectFile checks that damaged object files fail cleanly.
func FuzzObjectFile(f *testing.F) {
	f.Add([]byte{0x92, 0xa1, 'a', 0x01})
	f.Add([]byte{0x82, 0xa3, 'K', 'e', 'y', 0xa1, 'a', 0xa5, 'V', 'a', 'l', 'u', 'e', 0x05})
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "part-00000"), data, 0o644))
		_, _ = ObjectFile[Pair[string, []int]](dir, 1).Collect(context.Background())
	})
}

// A damaged or foreign part file whose msgpack headers claim more elements
// or bytes than the file holds fails with an error naming the file: the
// msgpack library allocates slices at the declared length, and the five
// bytes of an array32 of 2^32-1 elements ended the process out of memory.
func TestObjectFileImplausibleLengths(t *testing.T) {
	for _, tc := range []struct {
		name        string
		data        []byte
		implausible bool
	}{
		{"array32 of 2^32-1", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, true},
		{"array32 inside an array", []byte{0x91, 0xdd, 0x00, 0x98, 0x96, 0x80, 0x01}, true},
		{"map32", []byte{0xdf, 0x7f, 0xff, 0xff, 0xff}, true},
		{"str32", []byte{0xdb, 0x7f, 0xff, 0xff, 0xff, 'a'}, true},
		{"bin32", []byte{0xc6, 0x10, 0x00, 0x00, 0x00}, true},
		{"truncated int64", []byte{0xd3, 0x01}, false},
		{"never-used code 0xc1", []byte{0x91, 0xc1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "part-00000")
			require.NoError(t, os.WriteFile(path, tc.data, 0o644))
			_, err := ObjectFile[[]int64](path, 1).Collect(t.Context())
			require.Error(t, err)
			require.Contains(t, err.Error(), path)
			require.Contains(t, err.Error(), "element 0")
			require.Equal(t, tc.implausible, errors.Is(err, errImplausibleLength), "%v", err)
		})
	}
}

// Every kind of msgpack value passes the check and decodes as before.
func TestObjectFileAllKinds(t *testing.T) {
	type all struct {
		I8, I64  int64
		U64      uint64
		F32      float32
		F64      float64
		B        bool
		S, Long  string
		Bytes    []byte
		Nil      *int
		Slice    []int16
		Map      map[string]int
		Nested   [][]string
		Optional Option[string]
	}
	in := []all{
		{I8: -3, I64: -1 << 40, U64: 1 << 63, F32: 1.5, F64: 2.5, B: true, S: "x", Long: strings.Repeat("y", 70000),
			Bytes: bytes.Repeat([]byte{1}, 300), Slice: make([]int16, 70000), Map: map[string]int{"a": 1},
			Nested: [][]string{{"a"}, {}}, Optional: Some("o")},
		{},
	}
	dir := filepath.Join(t.TempDir(), "out")
	require.NoError(t, Parallelize(in, 1).SaveAsObjectFile(t.Context(), dir))
	got, err := ObjectFile[all](dir, 1).Collect(t.Context())
	require.NoError(t, err)
	require.Equal(t, in, got)
}
