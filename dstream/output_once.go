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
func SavePartitionsOnce[T any](d DStream[T], dir string, write func(w io.Writer, partition iter.Seq[T]) error) {
	addOutput(d, "SavePartitionsOnce", func(ctx context.Context, r *rdd.RDD[T], t time.Time) error {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		return r.ForeachPartition(ctx, func(p int, elems iter.Seq[T]) error {
			final := filepath.Join(dir, fmt.Sprintf("%d-part-%05d", t.UnixMilli(), p))
			if _, err := os.Stat(final); err == nil {
				return nil // written by an earlier run of this batch
			}
			tmp := filepath.Join(dir, fmt.Sprintf(".%d-part-%05d.tmp", t.UnixMilli(), p))
			f, err := os.Create(tmp)
			if err != nil {
				return err
			}
			w := bufio.NewWriter(f)
			err = write(w, elems)
			if err == nil {
				err = w.Flush()
			}
			if err == nil {
				err = f.Sync()
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = os.Rename(tmp, final)
			}
			if err != nil {
				os.Remove(tmp)
				return fmt.Errorf("partition %d: %w", p, err)
			}
			return nil
		})
	})
}
