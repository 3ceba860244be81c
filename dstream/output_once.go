package dstream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-io/sluice/checkpoint"
	"github.com/sluice-io/sluice/rdd"
)

// alreadySaved reports whether dir holds a complete output (its _SUCCESS
// marker); a directory without it, left by a write that a crash cut short,
// is removed so the batch writes it again.
func alreadySaved(dir string) (bool, error) {
	if _, err := os.Stat(filepath.Join(dir, "_SUCCESS")); err == nil {
		return true, nil
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return false, fmt.Errorf("removing the partial output %s of an earlier run of the batch: %w", dir, err)
	}
	return false, nil
}

// SavePartitionsOnce writes each partition of each batch to its own file
// in dir, "<TIME_IN_MS>-part-<NNNNN>", with write, exactly once across
// restarts: outputs are at least once (a batch is run again after a crash),
// so a batch's parts are written to temporary files, renamed into place
// once the whole batch's job succeeded, and then marked complete by an
// empty file "<TIME_IN_MS>-_SUCCESS". A batch run again skips its write
// when the marker exists, and otherwise removes what a write cut short left
// of it and writes all of its parts again: the batch is written whole or
// not at all, whatever the partitioning of the run again (a hash
// partitioner's seed differs from one process to the next). Readers take a
// batch's parts once its marker exists. Spark leaves this to the user's
// foreachRDD.
//
// An iteration cut short (a source failing mid-partition, a job cancelled
// by Stop or by a failing task) ends write's loop as if the partition were
// complete, which is why no part is renamed before ForeachPartition, which
// returns each partition's iteration error, has succeeded.
func SavePartitionsOnce[T any](d DStream[T], dir string, write func(w io.Writer, partition iter.Seq[T]) error) {
	addOutput(d, "SavePartitionsOnce", func(ctx context.Context, r *rdd.RDD[T], t time.Time) error {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		batch := strconv.FormatInt(t.UnixMilli(), 10)
		marker := filepath.Join(dir, batch+"-_SUCCESS")
		if _, err := os.Stat(marker); err == nil {
			return nil // written whole by an earlier run of this batch
		}
		if err := removeBatchParts(dir, batch); err != nil {
			return err
		}
		name := func(p int) string { return fmt.Sprintf("%s-part-%05d", batch, p) }
		// written[p] is partition p's temporary file, complete as far as write
		// knows. Each task sets its own entry only, and ForeachPartition
		// returns once every task has ended.
		written := make([]string, r.NumPartitions())
		err := r.ForeachPartition(ctx, func(p int, elems iter.Seq[T]) error {
			tmp := filepath.Join(dir, "."+name(p)+".tmp")
			if err := writeTempFile(tmp, func(w io.Writer) error { return write(w, elems) }); err != nil {
				return fmt.Errorf("partition %d: %w", p, err)
			}
			written[p] = tmp
			return nil
		})
		for p, tmp := range written {
			if err != nil {
				break
			}
			if rerr := os.Rename(tmp, filepath.Join(dir, name(p))); rerr != nil {
				err = fmt.Errorf("partition %d: %w", p, rerr)
			}
		}
		if err == nil {
			err = checkpoint.SyncDir(dir) // the parts before their marker
		}
		if err == nil {
			err = writeTempFile(marker, func(io.Writer) error { return nil })
		}
		if err == nil {
			err = checkpoint.SyncDir(dir)
		}
		if err != nil {
			for _, tmp := range written {
				if tmp != "" {
					_ = os.Remove(tmp) // gone already when renamed
				}
			}
			return err
		}
		return nil
	})
}

// removeBatchParts removes the parts of batch (its time in milliseconds) in
// dir, and their temporary files, that a run of the batch cut short by a
// crash left behind.
func removeBatchParts(dir, batch string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, batch+"-part-") || strings.HasPrefix(n, "."+batch+"-part-") {
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return fmt.Errorf("removing %s, left by an earlier run of the batch: %w", n, err)
			}
		}
	}
	return nil
}

// writeTempFile creates tmp and writes it with write through a buffer, then
// fsyncs and closes it. On an error, or a panic in write (which goes on to
// the task boundary), the file is closed and removed.
func writeTempFile(tmp string, write func(w io.Writer) error) (err error) {
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if !closed {
			_ = f.Close()
		}
		if err != nil || !closed {
			_ = os.Remove(tmp)
		}
	}()
	w := bufio.NewWriter(f)
	if err := write(w); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	closed = true
	return f.Close()
}
