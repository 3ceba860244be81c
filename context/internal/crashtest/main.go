// Command crashtest is the program the process test of context kills with
// SIGKILL and restarts: a word count kept as state (UpdateStateByKey) over
// the files of a directory, on the system clock, checkpointing to a
// directory and recovering from it with GetOrCreate. Every input file holds
// the word "__file__" once; when the state counts -files of them, the
// program writes its state, one "word count" line per word in order, to
// -out (through a temporary file renamed into place), stops gracefully and
// exits 0.
package main

import (
	stdctx "context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/rdd"
)

func main() {
	in := flag.String("in", "", "input directory")
	ckpt := flag.String("checkpoint", "", "checkpoint directory")
	out := flag.String("out", "", "output file")
	files := flag.Int("files", 0, "number of input files")
	batch := flag.Duration("batch", 50*time.Millisecond, "batch interval")
	flag.Parse()
	done := make(chan struct{})
	var once sync.Once
	setup := func(ssc *context.StreamingContext) error {
		lines := context.TextFileStream(ssc, *in, context.WithNewFilesOnly(false))
		words := dstream.FlatMap(lines, strings.Fields)
		pairs := dstream.Map(words, func(w string) rdd.Pair[string, int] { return rdd.KV(w, 1) })
		totals := dstream.UpdateStateByKey(pairs, func(vs []int, s rdd.Option[int]) rdd.Option[int] {
			return rdd.Some(s.Value + len(vs))
		}, dstream.WithName("totals"))
		totals.Checkpoint(4 * *batch)
		totals.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[rdd.Pair[string, int]], _ time.Time) error {
			state, err := r.Collect(ctx)
			if err != nil {
				return err
			}
			m := map[string]int{}
			for _, p := range state {
				m[p.Key] = p.Value
			}
			if m["__file__"] < *files {
				return nil
			}
			var b strings.Builder
			for _, w := range slices.Sorted(func(yield func(string) bool) {
				for w := range m {
					if !yield(w) {
						return
					}
				}
			}) {
				fmt.Fprintf(&b, "%s %d\n", w, m[w])
			}
			tmp := *out + ".tmp"
			if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
				return err
			}
			if err := os.Rename(tmp, *out); err != nil {
				return err
			}
			once.Do(func() { close(done) })
			return nil
		})
		return nil
	}
	ssc, err := context.GetOrCreate(*ckpt, setup, *batch)
	if err == nil {
		err = ssc.Start()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "crashtest:", err)
		os.Exit(2)
	}
	select {
	case <-done:
		ssc.Stop(true)
	case <-ssc.Done():
	}
	if err := ssc.AwaitTermination(); err != nil {
		fmt.Fprintln(os.Stderr, "crashtest:", err)
		os.Exit(1)
	}
}
