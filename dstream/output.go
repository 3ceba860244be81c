package dstream

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-io/sluice/rdd"
)

// outputStream is an output operation: a function run on the parent's RDD
// at every batch time where the parent has one.
type outputStream struct {
	streamInfo
	outputID int
	name     string
	job      func(t time.Time) (func(ctx context.Context) error, bool, error)
}

func (o *outputStream) clearOld(time.Time) {}

func (o *outputStream) generateJob(t time.Time) (Job, bool, error) {
	if !o.isTimeValid(t) {
		return Job{}, false, nil
	}
	run, ok, err := o.job(t)
	if err != nil || !ok {
		return Job{}, false, err
	}
	desc := fmt.Sprintf("output operation %d (%s) at batch %s", o.outputID, o.name, FormatTime(t))
	return Job{Time: t, OutputID: o.outputID, Name: o.name, run: func(ctx context.Context) (err error) {
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("dstream: %s: %w: %v", desc, ErrUserPanic, v)
				o.graph.logger.Error("user function panicked", "error", err, "stack", string(debug.Stack()))
			}
		}()
		if err := run(ctx); err != nil {
			return fmt.Errorf("dstream: %s: %w", desc, err)
		}
		return nil
	}}, true, nil
}

// addOutput registers the output operation name on d.
func addOutput[T any](d DStream[T], name string, f func(ctx context.Context, r *rdd.RDD[T], t time.Time) error) {
	g := d.s.graph
	o := &outputStream{name: name}
	o.graph, o.kind, o.slide, o.parents = g, name, d.s.slide, []node{d.s}
	o.job = func(t time.Time) (func(ctx context.Context) error, bool, error) {
		r, err := d.s.getOrCompute(t)
		if err != nil || r == nil {
			return nil, false, err
		}
		return func(ctx context.Context) error { return f(ctx, r, t) }, true, nil
	}
	if o.id = g.register(o); o.id < 0 {
		return
	}
	g.mu.Lock()
	o.outputID = len(g.outputs)
	g.outputs = append(g.outputs, o)
	g.mu.Unlock()
}

// ForeachRDD runs f on the stream's RDD at every batch time, in the job loop,
// Spark's foreachRDD with the batch time. f may run actions on the RDD with
// ctx; an error or panic fails the batch.
func (d DStream[T]) ForeachRDD(f func(ctx context.Context, r *rdd.RDD[T], batchTime time.Time) error) {
	addOutput(d, "ForeachRDD", f)
}

// Print writes the first n elements of every batch to standard output in
// Spark's format; see Fprint.
func (d DStream[T]) Print(n int) { d.Fprint(os.Stdout, n) }

// Fprint writes the first n elements of every batch to w in Spark's format:
// a dashed line, "Time: <ms> ms", a dashed line, one element per line, "..."
// when the batch has more than n, and an empty line. As in Spark, an n below
// 0 prints no element and then "...".
func (d DStream[T]) Fprint(w io.Writer, n int) {
	addOutput(d, "Print", func(ctx context.Context, r *rdd.RDD[T], t time.Time) error {
		first, err := r.Take(ctx, max(n+1, 0))
		if err != nil {
			return err
		}
		var b strings.Builder
		b.WriteString("-------------------------------------------\n")
		fmt.Fprintf(&b, "Time: %s\n", FormatTime(t))
		b.WriteString("-------------------------------------------\n")
		for _, x := range first[:min(max(n, 0), len(first))] {
			b.WriteString(rdd.Format(x)) // a panicking String fails the batch
			b.WriteByte('\n')
		}
		if len(first) > n {
			b.WriteString("...\n")
		}
		b.WriteString("\n")
		_, err = io.WriteString(w, b.String())
		return err
	})
}

// batchFileName is Spark's rddToFileName: "<prefix>-<ms>.<suffix>", without
// the dot and suffix when suffix is empty and without the prefix and dash
// when prefix is empty.
func batchFileName(prefix, suffix string, t time.Time) string {
	name := strconv.FormatInt(t.UnixMilli(), 10)
	if prefix != "" {
		name = prefix + "-" + name
	}
	if suffix != "" {
		name += "." + suffix
	}
	return name
}

// SaveAsTextFiles writes each batch's RDD with rdd's SaveAsTextFile to the
// directory "<prefix>-<TIME_IN_MS>.<suffix>" ("<prefix>-<TIME_IN_MS>" when
// suffix is empty), Spark's saveAsTextFiles: one part file per partition,
// one element per line formatted with fmt.Sprint (a Pair as "(key,value)").
// A batch run again after a restart from a checkpoint is skipped when its
// directory holds the _SUCCESS marker of a complete write, and written
// again when it holds a partial one, so the files are written once (Spark
// fails on an existing directory).
func (d DStream[T]) SaveAsTextFiles(prefix, suffix string) {
	addOutput(d, "SaveAsTextFiles", func(ctx context.Context, r *rdd.RDD[T], t time.Time) error {
		dir := batchFileName(prefix, suffix, t)
		if done, err := alreadySaved(dir); done || err != nil {
			return err
		}
		return r.SaveAsTextFile(ctx, dir)
	})
}

// SaveAsObjectFiles writes each batch's RDD with rdd's SaveAsObjectFile
// (msgpack, read back with rdd.ObjectFile) to the directory
// "<prefix>-<TIME_IN_MS>.<suffix>", Spark's saveAsObjectFiles; the name
// and the handling of a batch run again follow SaveAsTextFiles.
func (d DStream[T]) SaveAsObjectFiles(prefix, suffix string) {
	addOutput(d, "SaveAsObjectFiles", func(ctx context.Context, r *rdd.RDD[T], t time.Time) error {
		dir := batchFileName(prefix, suffix, t)
		if done, err := alreadySaved(dir); done || err != nil {
			return err
		}
		return r.SaveAsObjectFile(ctx, dir)
	})
}
