package dstream_test

import (
	stdctx "context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
)

func TestSaveAsTextFiles(t *testing.T) {
	for _, tc := range []struct {
		name, suffix string
		dirs         []string
	}{
		{"with suffix", "txt", []string{"out-1000.txt", "out-2000.txt"}},
		{"without suffix", "", []string{"out-1000", "out-2000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			h := dstreamtest.NewHarness(t, time.Second)
			in := dstreamtest.Input(h, [][]string{{"a", "b", "a"}, {}})
			counts := dstream.CountByValue(in)
			counts.SaveAsTextFiles(filepath.Join(dir, "out"), tc.suffix)
			h.Start()
			h.Step()
			h.Step()
			h.Stop()
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			require.Equal(t, tc.dirs, names)
			lines, err := rdd.TextFile(filepath.Join(dir, tc.dirs[0]), 1).Collect(stdctx.Background())
			require.NoError(t, err)
			require.ElementsMatch(t, []string{"(a,2)", "(b,1)"}, lines)
			lines, err = rdd.TextFile(filepath.Join(dir, tc.dirs[1]), 1).Collect(stdctx.Background())
			require.NoError(t, err)
			require.Empty(t, lines)
			require.FileExists(t, filepath.Join(dir, tc.dirs[1], "_SUCCESS"))
		})
	}
}

func TestSaveAsObjectFiles(t *testing.T) {
	dir := t.TempDir()
	h := dstreamtest.NewHarness(t, time.Second)
	in := dstreamtest.Input(h, [][]string{{"a", "b", "a"}, {"c"}})
	dstream.CountByValue(in).SaveAsObjectFiles(filepath.Join(dir, "counts"), "bin")
	h.Start()
	h.Step()
	h.Step()
	h.Stop()
	for _, tc := range []struct {
		name string
		want []rdd.Pair[string, int64]
	}{
		{"counts-1000.bin", []rdd.Pair[string, int64]{rdd.KV("a", int64(2)), rdd.KV("b", int64(1))}},
		{"counts-2000.bin", []rdd.Pair[string, int64]{rdd.KV("c", int64(1))}},
	} {
		got, err := rdd.ObjectFile[rdd.Pair[string, int64]](filepath.Join(dir, tc.name), 1).Collect(stdctx.Background())
		require.NoError(t, err)
		require.ElementsMatch(t, tc.want, got, tc.name)
	}
}

// TestSaveAsTextFilesExistingDirectory: a batch run again after a restart
// keeps a directory with a _SUCCESS marker (unlike Spark, which fails) and
// rewrites one without (a write a crash cut short).
func TestSaveAsTextFilesExistingDirectory(t *testing.T) {
	dir := t.TempDir()
	complete, partial := filepath.Join(dir, "out-1000"), filepath.Join(dir, "out-2000")
	require.NoError(t, os.Mkdir(complete, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(complete, "_SUCCESS"), nil, 0o644))
	require.NoError(t, os.Mkdir(partial, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(partial, "part-00009"), []byte("stale"), 0o644))
	h := dstreamtest.NewHarness(t, time.Second)
	dstreamtest.Input(h, [][]int{{1}, {2}}).SaveAsTextFiles(filepath.Join(dir, "out"), "")
	h.Start()
	h.Step()
	h.Step()
	h.Stop()
	require.NoError(t, h.Context().AwaitTermination())
	entries, err := os.ReadDir(complete)
	require.NoError(t, err)
	require.Len(t, entries, 1, "the complete output is kept as it was")
	_, err = os.Stat(filepath.Join(partial, "part-00009"))
	require.ErrorIs(t, err, os.ErrNotExist, "the partial output is replaced")
	_, err = os.Stat(filepath.Join(partial, "_SUCCESS"))
	require.NoError(t, err)
}
