package dstream_test

import (
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
)

// TestOutputsSkipBatchesWrittenBefore runs the same batches twice into the
// same places, as a restart re-runs batches: SaveAsTextFiles skips the
// complete directories (and rewrites a partial one), SavePartitionsOnce
// skips the batches marked written.
func TestOutputsSkipBatchesWrittenBefore(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "out")
	once := filepath.Join(dir, "once")
	var writes atomic.Int64
	run := func(input [][]string) {
		h := dstreamtest.NewHarness(t, time.Second)
		in := dstreamtest.Input(h, input)
		in.SaveAsTextFiles(prefix, "")
		dstream.SavePartitionsOnce(in, once, func(w io.Writer, part iter.Seq[string]) error {
			writes.Add(1)
			for s := range part {
				fmt.Fprintln(w, s)
			}
			return nil
		})
		h.Start()
		h.Step()
		h.Step()
		h.Stop()
	}
	run([][]string{{"a", "b"}, {"c"}})
	require.EqualValues(t, 2*dstreamtest.Partitions, writes.Load())
	// A crash cut the write of batch 2 short.
	require.NoError(t, os.Remove(filepath.Join(prefix+"-2000", "_SUCCESS")))
	run([][]string{{"x"}, {"y"}}) // what a re-run would write differently shows
	require.EqualValues(t, 2*dstreamtest.Partitions, writes.Load(), "no partition written twice")
	first, err := os.ReadFile(filepath.Join(prefix+"-1000", "part-00000"))
	require.NoError(t, err)
	require.Equal(t, "a\n", string(first), "batch 1 kept")
	second, err := os.ReadFile(filepath.Join(prefix+"-2000", "part-00000"))
	require.NoError(t, err)
	require.Equal(t, "", string(second), "batch 2 written again")
	second, err = os.ReadFile(filepath.Join(prefix+"-2000", "part-00001"))
	require.NoError(t, err)
	require.Equal(t, "y\n", string(second))
}
