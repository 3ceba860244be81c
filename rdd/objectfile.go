package rdd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/vmihailenco/msgpack/v5"
)

// SaveAsObjectFile writes the RDD as a directory of msgpack files, Spark's
// saveAsObjectFile with msgpack instead of Java serialization: part-00000,
// part-00001, ... one per partition, each a stream of msgpack-encoded
// elements, and an empty _SUCCESS. Elements are encoded with
// github.com/vmihailenco/msgpack/v5, so only exported struct fields are kept
// (Pair, Joined and Option round-trip). Read it back with ObjectFile. Like
// SaveAsTextFile it refuses an existing dir (fs.ErrExist), renames each part
// into place when it is complete, and removes dir if the action fails.
func (r *RDD[T]) SaveAsObjectFile(ctx context.Context, dir string) error {
	return saveParts(ctx, r, "SaveAsObjectFile", dir, func(w *bufio.Writer) func(T) error {
		enc := msgpack.NewEncoder(w)
		return func(x T) error { return enc.Encode(x) }
	})
}

// ObjectFile returns the elements that SaveAsObjectFile wrote to dir (or to
// the single file dir names), Spark's SparkContext.objectFile, decoded as T.
// There is one partition per part file: a msgpack stream cannot be split,
// so minPartitions is only a hint and is not honoured beyond the number of
// files. Decoding a file written for another type, or a damaged file, fails
// the action with an error naming the file; a missing dir fails the first
// action with an error that names it.
func ObjectFile[T any](dir string, minPartitions int) *RDD[T] {
	_ = minPartitions
	files, err := inputFiles(dir)
	if err != nil {
		return failed[T]("ObjectFile", fmt.Errorf("rdd: ObjectFile %s: %w", dir, err))
	}
	var out *RDD[T]
	out = newRDD("ObjectFile", len(files), nil, nil, func(tc *taskContext, p int, yield func(T) bool) error {
		tc.op = out.op()
		if err := decodeObjects(tc, files[p], yield); err != nil {
			tc.op = out.op()
			return fmt.Errorf("rdd: ObjectFile %s: %w", files[p], err)
		}
		return nil
	})
	return out
}

// decodeObjects yields the msgpack values in the file at path until EOF.
// Each value's lengths are checked against the file's size before it is
// decoded (checkedElement).
func decodeObjects[T any](tc *taskContext, path string, yield func(T) bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	left := info.Size()
	br := bufio.NewReaderSize(f, 64<<10)
	var elem bytes.Reader
	dec := msgpack.NewDecoder(&elem)
	var buf []byte
	for i := 0; ; i++ {
		if err := tc.tick(); err != nil {
			return err
		}
		if _, err := br.Peek(1); err == io.EOF {
			return nil
		}
		if buf, err = checkedElement(br, left, buf); err != nil {
			return fmt.Errorf("element %d: %w", i, err)
		}
		left -= int64(len(buf))
		elem.Reset(buf)
		var x T
		if err := dec.Decode(&x); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("element %d: %w", i, err)
		}
		if !yield(x) {
			return nil
		}
	}
}
