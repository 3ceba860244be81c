package rdd

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
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
