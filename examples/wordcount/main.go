// Command wordcount is Spark Streaming's classic network word count in Go:
// it counts the words of each batch of lines from a TCP text server (try it
// with `nc -lk 9999`) or from new files in a directory, and prints each
// batch the way Spark's console output does.
//
//	go run ./examples/wordcount -socket localhost:9999
//	go run ./examples/wordcount -dir /tmp/in -window 30s -slide 10s
//	go run ./examples/wordcount -socket localhost:9999 -stateful
//	go run ./examples/wordcount -kafka localhost:9092 -topic wc
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/rdd"
)

type config struct {
	socket, dir   string
	batch         time.Duration
	window, slide time.Duration
	stateful      bool
	out           string
	show          int
	checkpoint    string
	kafka         kafkaConfig
}

func main() {
	var cfg config
	flag.StringVar(&cfg.socket, "socket", "", "read lines from the TCP server at `host:port`")
	flag.StringVar(&cfg.dir, "dir", "", "read the lines of new files in `DIR`")
	flag.DurationVar(&cfg.batch, "batch", time.Second, "the batch interval")
	flag.DurationVar(&cfg.window, "window", 0, "count over a sliding window of this length (with the inverse function)")
	flag.DurationVar(&cfg.slide, "slide", 0, "the window's slide (default: the batch interval)")
	flag.BoolVar(&cfg.stateful, "stateful", false, "keep running totals across batches with mapWithState")
	flag.StringVar(&cfg.out, "out", "", "also save each batch's counts with SaveAsTextFiles to `PREFIX`-<time in ms>")
	flag.IntVar(&cfg.show, "show", 10, "how many counts Print shows per batch")
	flag.StringVar(&cfg.checkpoint, "checkpoint", "", "checkpoint to `DIR` and recover from it: restart the same command after a crash and it goes on where it was")
	kafkaFlags(&cfg.kafka)
	flag.Parse()
	// Warnings and errors (a missing directory, a lost connection) go to
	// standard error; the context's default logger discards everything.
	logger := hclog.New(&hclog.LoggerOptions{Name: "wordcount", Level: hclog.Warn, Output: os.Stderr})
	ssc, cleanup, err := newContext(cfg, os.Stdout, context.WithLogger(logger))
	if err == nil {
		defer cleanup()
		err = ssc.Start()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "wordcount:", err)
		os.Exit(2)
	}
	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt)
	defer signal.Stop(interrupt)
	go func() { // ends with the context, whoever stops it
		select {
		case <-interrupt:
			ssc.Stop(true)
		case <-ssc.Done():
		}
	}()
	if err := ssc.AwaitTermination(); err != nil {
		fmt.Fprintln(os.Stderr, "wordcount:", err)
		os.Exit(1)
	}
}

// newContext returns the word count's context: recovered from -checkpoint
// DIR when it holds a checkpoint, else new. The window and stateful modes
// must checkpoint (as in Spark); without -checkpoint they use a temporary
// directory, removed by cleanup, and cannot be recovered.
func newContext(cfg config, out io.Writer, opts ...context.Option) (*context.StreamingContext, func(), error) {
	build := func(ssc *context.StreamingContext) error { return setup(ssc, cfg, out) }
	if cfg.checkpoint != "" {
		ssc, err := context.GetOrCreate(cfg.checkpoint, build, cfg.batch, opts...)
		return ssc, func() {}, err
	}
	ssc, err := context.NewStreamingContext(cfg.batch, opts...)
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() {}
	if cfg.window > 0 || cfg.stateful {
		tmp, err := os.MkdirTemp("", "wordcount-checkpoint-")
		if err != nil {
			return nil, nil, err
		}
		cleanup = func() { os.RemoveAll(tmp) }
		if err := ssc.Checkpoint(tmp); err != nil {
			cleanup()
			return nil, nil, err
		}
	}
	if err := build(ssc); err != nil {
		cleanup()
		return nil, nil, err
	}
	return ssc, cleanup, nil
}

// setup builds the word count on ssc, printing each batch to out.
func setup(ssc *context.StreamingContext, cfg config, out io.Writer) error {
	var lines dstream.DStream[string]
	switch {
	case cfg.kafka.brokers != "" && (cfg.socket != "" || cfg.dir != ""):
		return errors.New("give -kafka alone, not both with -socket or -dir")
	case cfg.kafka.brokers != "":
		var err error
		if lines, err = kafkaLines(ssc, cfg.kafka); err != nil {
			return err
		}
	case cfg.socket != "" && cfg.dir != "":
		return errors.New("give -socket or -dir, not both")
	case cfg.socket != "":
		lines = context.SocketTextStream(ssc, cfg.socket)
	case cfg.dir != "":
		lines = context.TextFileStream(ssc, cfg.dir)
	default:
		return errors.New("give -socket host:port, -dir DIR or -kafka host:port")
	}
	counts := countWords(lines, cfg)
	counts.Fprint(out, cfg.show)
	if cfg.out != "" {
		counts.SaveAsTextFiles(cfg.out, "")
	}
	return nil
}

// countWords is the pipeline: per batch, over a window, or as running totals.
func countWords(lines dstream.DStream[string], cfg config) dstream.DStream[rdd.Pair[string, int64]] {
	words := dstream.FlatMapSeq(lines, strings.FieldsSeq)
	pairs := dstream.Map(words, func(w string) rdd.Pair[string, int64] { return rdd.KV(w, int64(1)) })
	add := func(a, b int64) int64 { return a + b }
	switch {
	case cfg.window > 0:
		sub := func(a, b int64) int64 { return a - b }
		return dstream.ReduceByKeyAndWindow(pairs, add, cfg.window, cfg.slide,
			dstream.WithInverse(sub), dstream.WithFilter(func(p rdd.Pair[string, int64]) bool { return p.Value > 0 }))
	case cfg.stateful:
		spec := dstream.StateSpecFunc(func(_ time.Time, word string, one rdd.Option[int64], state *dstream.State[int64]) rdd.Option[rdd.Pair[string, int64]] {
			total := one.Value
			if state.Exists() {
				total += state.Get()
			}
			state.Update(total)
			return rdd.Some(rdd.KV(word, total))
		})
		return dstream.MapWithState(dstream.ReduceByKey(pairs, add), spec).DStream
	default:
		return dstream.ReduceByKey(pairs, add)
	}
}
