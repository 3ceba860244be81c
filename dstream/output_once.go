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
	"time"

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
// so each (batch time, partition) pair is written through a temporary file
// renamed into place, and a pair whose file exists is skipped. The
// partitioning of a batch must therefore be the same when it is run again
// (it is, for a pipeline rebuilt by GetOrCreate's setup). Spark leaves this
// to the user's foreachRDD.
//
// The files of a batch are renamed into place only once every partition has
// been written and iterated to its end without error: an iteration cut short
// (a source failing mid-partition, a job cancelled by Stop or by a failing
// task) ends write's loop as if the partition were complete, so the
// temporary files of a failed batch are removed instead, and all of its
// partitions not committed before are written again when it is run again.
// The renames are not followed by an fsync of dir.
func SavePartitionsOnce[T any](d DStream[T], dir string, write func(w io.Writer, partition iter.Seq[T]) error) {
	addOutput(d, "SavePartitionsOnce", func(ctx context.Context, r *rdd.RDD[T], t time.Time) error {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		name := func(p int) string { return fmt.Sprintf("%d-part-%05d", t.UnixMilli(), p) }
		// written[p] is partition p's temporary file, complete as far as write
		// knows. Each task sets its own entry only, and ForeachPartition
		// returns once every task has ended.
		written := make([]string, r.NumPartitions())
		err := r.ForeachPartition(ctx, func(p int, elems iter.Seq[T]) error {
			if _, err := os.Stat(filepath.Join(dir, name(p))); err == nil {
				return nil // written by an earlier run of this batch
			}
			tmp := filepath.Join(dir, "."+name(p)+".tmp")
			if err := writeTempFile(tmp, func(w io.Writer) error { return write(w, elems) }); err != nil {
				return fmt.Errorf("partition %d: %w", p, err)
			}
			written[p] = tmp
			return nil
		})
		// ForeachPartition's error includes each partition's iteration error,
		// which write cannot see: only now is a partition known to be whole.
		for p, tmp := range written {
			if err != nil {
				break
			}
			if tmp != "" {
				if rerr := os.Rename(tmp, filepath.Join(dir, name(p))); rerr != nil {
					err = fmt.Errorf("partition %d: %w", p, rerr)
				}
			}
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
