package rdd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// localBlockSize caps the size of a split, as Hadoop's local file system
// block size (fs.local.block.size, 32 MiB) does for Spark's textFile.
const localBlockSize = 32 << 20

// splitSlop lets the last split of a file be up to 10% larger than the
// others rather than leave a tiny split, Hadoop's SPLIT_SLOP.
const splitSlop = 1.1

// fileSplit is the byte range [start, end) of one file.
type fileSplit struct {
	path       string
	start, end int64
}

// inputFiles returns path itself, or for a directory its regular files whose
// names do not start with "." or "_" (Hadoop's hidden files, such as
// _SUCCESS), in name order. Subdirectories are skipped.
func inputFiles(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || e.IsDir() {
			continue
		}
		files = append(files, filepath.Join(path, name))
	}
	return files, nil
}

// textSplits cuts files into byte ranges the way Hadoop's FileInputFormat
// does: a goal size of the total over minPartitions, capped at the block
// size, with the remainder of a file in its last split; an empty file gets
// one empty split.
func textSplits(files []string, minPartitions int) ([]fileSplit, error) {
	sizes := make([]int64, len(files))
	var total int64
	for i, f := range files {
		info, err := os.Stat(f)
		if err != nil {
			return nil, err
		}
		sizes[i] = info.Size()
		total += info.Size()
	}
	goal := total / int64(max(minPartitions, 1))
	size := max(1, min(goal, localBlockSize))
	var splits []fileSplit
	for i, f := range files {
		left := sizes[i]
		if left == 0 {
			splits = append(splits, fileSplit{f, 0, 0})
			continue
		}
		var off int64
		for float64(left)/float64(size) > splitSlop {
			splits = append(splits, fileSplit{f, off, off + size})
			off += size
			left -= size
		}
		splits = append(splits, fileSplit{f, off, off + left})
	}
	return splits, nil
}

// TextFile returns the lines of a text file, or of every file in a
// directory, Spark's SparkContext.textFile. The file is cut into at least
// minPartitions byte ranges (at most 32 MiB each) like Hadoop's
// TextInputFormat: a line belongs to the range in which it starts, so each
// line is read exactly once. "\n" and "\r\n" end lines and are stripped; a
// final newline does not make an empty last line. A directory contributes
// its files in name order, skipping names that start with "." or "_" (such
// as _SUCCESS) and subdirectories. The files are listed and sized when
// TextFile is called and read when an action runs; a path that cannot be
// read fails the first action with an error that names it (errors.Is
// fs.ErrNotExist for a missing one). A minPartitions below 1 means 1.
func TextFile(path string, minPartitions int) *RDD[string] {
	files, err := inputFiles(path)
	var splits []fileSplit
	if err == nil {
		splits, err = textSplits(files, minPartitions)
	}
	if err != nil {
		return failed[string]("TextFile", fmt.Errorf("rdd: TextFile %s: %w", path, err))
	}
	var out *RDD[string]
	out = newRDD("TextFile", len(splits), nil, nil, func(tc *taskContext, p int, yield func(string) bool) error {
		tc.op = out.op()
		if err := readSplit(tc, splits[p], yield); err != nil {
			tc.op = out.op()
			return fmt.Errorf("rdd: TextFile %s: %w", path, err)
		}
		return nil
	})
	return out
}

// readSplit yields the lines that start in s.
func readSplit(tc *taskContext, s fileSplit, yield func(string) bool) error {
	if s.start == s.end {
		return nil
	}
	f, err := os.Open(s.path)
	if err != nil {
		return err
	}
	defer f.Close()
	pos := s.start
	if s.start > 0 {
		// A line starts at s.start only if the byte before it ends a line;
		// otherwise the line in progress belongs to the previous split.
		pos--
	}
	if _, err := f.Seek(pos, io.SeekStart); err != nil {
		return err
	}
	br := bufio.NewReaderSize(f, 64<<10)
	if s.start > 0 {
		skipped, err := br.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) {
			pos += int64(len(skipped))
			skipped, err = br.ReadSlice('\n')
		}
		pos += int64(len(skipped))
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	for pos < s.end {
		if err := tc.tick(); err != nil {
			return err
		}
		line, err := br.ReadString('\n')
		if len(line) == 0 && err == io.EOF {
			return nil
		}
		if err != nil && err != io.EOF {
			return err
		}
		pos += int64(len(line))
		line = strings.TrimSuffix(line, "\n")
		line = strings.TrimSuffix(line, "\r")
		if !yield(line) {
			return nil
		}
		if err == io.EOF {
			return nil
		}
	}
	return nil
}

// SaveAsTextFile writes the RDD as a directory of text files, Spark's
// saveAsTextFile: part-00000, part-00001, ... one per partition, holding
// each element formatted with Format (fmt.Sprint's format, but a panicking
// String method fails the task) on its own line (so a Pair is
// written as (key,value)), and an empty _SUCCESS file once every part is
// written. Each part is written under a hidden temporary name and renamed
// when complete, so readers such as TextFile never see half a part. An
// existing dir is refused with an error that wraps fs.ErrExist, Spark's
// FileAlreadyExistsException; missing parent directories are created. If
// the action fails, the directory it created is removed. Files are not
// fsynced.
func (r *RDD[T]) SaveAsTextFile(ctx context.Context, dir string) error {
	return saveParts(ctx, r, "SaveAsTextFile", dir, func(w *bufio.Writer) func(T) error {
		return func(x T) error {
			var err error
			_, err = w.WriteString(Format(x))
			if err == nil {
				err = w.WriteByte('\n')
			}
			return err
		}
	})
}

// partFileName is the name of partition p's output file.
func partFileName(p int) string { return fmt.Sprintf("part-%05d", p) }

// saveParts creates dir, writes partition p of r to dir/part-0000p with the
// writer that encoder makes for it, each through a temporary file fsynced
// and renamed on success, then writes _SUCCESS durably (see
// SaveAsTextFile). On failure it removes dir.
func saveParts[T any](ctx context.Context, r *RDD[T], op, dir string, encoder func(w *bufio.Writer) func(T) error) error {
	dir = filepath.Clean(dir) // "out/" names out, not a directory inside it
	if parent := filepath.Dir(dir); parent != "" {
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return fmt.Errorf("rdd: %s %s: %w", op, dir, err)
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("rdd: %s: output directory %s already exists: %w", op, dir, err)
		}
		return fmt.Errorf("rdd: %s %s: %w", op, dir, err)
	}
	self := &opInfo{op: op, rdd: r.ID()}
	err := runJob(ctx, r, func(tc *taskContext, p int) error {
		final := filepath.Join(dir, partFileName(p))
		tmp := filepath.Join(dir, "."+partFileName(p)+".tmp")
		f, err := os.Create(tmp)
		if err != nil {
			return err
		}
		defer f.Close() // after a panic; the explicit Close below reports errors
		w := bufio.NewWriterSize(f, 64<<10)
		encode := encoder(w)
		var encErr error
		var cur T
		track(tc, self, &cur)
		err = r.iterate(tc, p, func(x T) bool {
			tc.op, cur = self, x
			encErr = encode(x)
			return encErr == nil
		})
		if err == nil { // a failure from here on is the save's own
			tc.op = self
			err = encErr
		}
		if err == nil {
			err = w.Flush()
		}
		if err == nil {
			err = fsync(f)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp, final)
		}
		if err != nil {
			os.Remove(tmp)
			return err
		}
		return nil
	})
	if err == nil {
		err = syncDir(dir) // the parts' names, before the marker that vouches for them
	}
	if err == nil {
		err = writeSynced(filepath.Join(dir, "_SUCCESS"))
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err == nil {
		err = syncDir(filepath.Dir(dir)) // dir's own entry
	}
	if err != nil {
		os.RemoveAll(dir)
		if _, ok := err.(*TaskError); ok || ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("rdd: %s %s: %w", op, dir, err)
	}
	return nil
}

// fsync flushes f to stable storage; tests replace it to fail.
var fsync = (*os.File).Sync

// syncDir fsyncs the directory dir, so that the names created in it
// survive a machine crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = fsync(d)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeSynced creates the empty file path and fsyncs it.
func writeSynced(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = fsync(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
