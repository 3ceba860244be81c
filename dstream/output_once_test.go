package dstream_test

import (
	stdctx "context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
)

var errFetch = errors.New("fetch failed")

// writeLines is a SavePartitionsOnce writer: one element a line.
func writeLines(w io.Writer, part iter.Seq[string]) error {
	for s := range part {
		if _, err := fmt.Fprintln(w, s); err != nil {
			return err
		}
	}
	return nil
}

// saveOneBatch runs one batch whose RDD is src through SavePartitionsOnce
// into dir with write, as one run of the application, and returns the
// batch's error.
func saveOneBatch(t *testing.T, dir string, src *rdd.RDD[string], write func(io.Writer, iter.Seq[string]) error) error {
	t.Helper()
	h := dstreamtest.NewHarness(t, time.Second, context.WithWorkers(2)) // partitions run concurrently
	in := dstream.Transform(dstreamtest.Input(h, [][]string{{"ignored"}}), func(*rdd.RDD[string]) *rdd.RDD[string] { return src })
	dstream.SavePartitionsOnce(in, dir, write)
	h.Start()
	b, _ := h.TryStep() // a failed batch may stop the context; its error is in b
	h.Stop()
	return b.Err()
}

// dirNames lists the names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// requireNoTempFiles fails the test if dir holds a temporary part file.
func requireNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	for _, name := range dirNames(t, dir) {
		require.False(t, strings.HasSuffix(name, ".tmp"), "temporary file %s left behind", name)
	}
}

// TestSavePartitionsOnceCommitsOnlyWholePartitions: a partition whose
// iteration stops on an upstream error (its source failing mid-partition,
// or stopping when a failing sibling cancels the job) is not committed, although write saw no error;
// the batch fails, and its run after a restart writes the whole partition
// instead of skipping a short file.
func TestSavePartitionsOnceCommitsOnlyWholePartitions(t *testing.T) {
	for name, failing := range map[string]func() *rdd.RDD[string]{
		"source error mid-partition": func() *rdd.RDD[string] {
			return rdd.Generate(2, func(_ stdctx.Context, p int, yield func(string) bool) error {
				if p == 1 {
					yield("z")
					return nil
				}
				if yield("a") && yield("b") {
					return errFetch
				}
				return nil
			})
		},
		// Partition 0's source stops when a failing sibling cancels the job,
		// as sources do.
		"cancelled by a failing sibling": func() *rdd.RDD[string] {
			started := make(chan struct{})
			return rdd.Generate(2, func(ctx stdctx.Context, p int, yield func(string) bool) error {
				if p == 1 {
					<-started
					return errFetch
				}
				if !yield("a") {
					return nil
				}
				close(started)
				<-ctx.Done()
				return ctx.Err()
			})
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			err := saveOneBatch(t, dir, failing(), writeLines)
			require.ErrorIs(t, err, errFetch)
			require.NoFileExists(t, filepath.Join(dir, "1000-part-00000"), "a partial partition is not committed")
			require.NoFileExists(t, filepath.Join(dir, "1000-_SUCCESS"))
			requireNoTempFiles(t, dir)

			require.NoError(t, saveOneBatch(t, dir, rdd.FromPartitions([][]string{{"a", "b", "c"}, {"z"}}), writeLines))
			got, err := os.ReadFile(filepath.Join(dir, "1000-part-00000"))
			require.NoError(t, err)
			require.Equal(t, "a\nb\nc\n", string(got), "the run after the failure writes the whole partition")
			got, err = os.ReadFile(filepath.Join(dir, "1000-part-00001"))
			require.NoError(t, err)
			require.Equal(t, "z\n", string(got))
			require.ElementsMatch(t, []string{"1000-_SUCCESS", "1000-part-00000", "1000-part-00001"}, dirNames(t, dir))
		})
	}
}

// TestSavePartitionsOnceWritePanics: a panic in write fails the batch with
// ErrUserPanic and leaves neither the temporary file nor a final one; the
// next run writes the partition.
func TestSavePartitionsOnceWritePanics(t *testing.T) {
	dir := t.TempDir()
	src := rdd.FromPartitions([][]string{{"a", "b"}})
	err := saveOneBatch(t, dir, src, func(w io.Writer, part iter.Seq[string]) error {
		for s := range part {
			fmt.Fprintln(w, s)
			if bw, ok := w.(interface{ Flush() error }); ok {
				_ = bw.Flush() // some bytes reach the temporary file
			}
			panic("boom")
		}
		return nil
	})
	require.ErrorIs(t, err, rdd.ErrUserPanic)
	require.Empty(t, dirNames(t, dir), "no temporary file, no final file")

	require.NoError(t, saveOneBatch(t, dir, src, writeLines))
	got, err := os.ReadFile(filepath.Join(dir, "1000-part-00000"))
	require.NoError(t, err)
	require.Equal(t, "a\nb\n", string(got))
}

// TestSavePartitionsOnceRewritesABatchCutShort: parts left by a run that a
// crash cut short before the batch's marker (from a partitioning that may
// differ, as a hash partitioner's seed does from one process to the next)
// are replaced by a whole new write of the batch; a batch with its marker
// is not written again.
func TestSavePartitionsOnceRewritesABatchCutShort(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"1000-part-00000", "1000-part-00002", ".1000-part-00001.tmp"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("stale\n"), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "2000-part-00000"), []byte("other batch\n"), 0o644))
	src := rdd.FromPartitions([][]string{{"a"}, {"b", "c"}})
	require.NoError(t, saveOneBatch(t, dir, src, writeLines))
	require.ElementsMatch(t, []string{"1000-_SUCCESS", "1000-part-00000", "1000-part-00001", "2000-part-00000"}, dirNames(t, dir))
	for name, want := range map[string]string{"1000-part-00000": "a\n", "1000-part-00001": "b\nc\n", "2000-part-00000": "other batch\n"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Equal(t, want, string(got), name)
	}

	var writes atomic.Int64
	require.NoError(t, saveOneBatch(t, dir, rdd.FromPartitions([][]string{{"x"}}), func(w io.Writer, part iter.Seq[string]) error {
		writes.Add(1)
		return writeLines(w, part)
	}))
	require.Zero(t, writes.Load(), "a batch with its marker is not written again")
	got, err := os.ReadFile(filepath.Join(dir, "1000-part-00000"))
	require.NoError(t, err)
	require.Equal(t, "a\n", string(got))
}
