package context_test

import (
	stdctx "context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/rdd"
	"github.com/sluice-io/sluice/receivers"
)

// SocketTextStream connects to a TCP server (in a real program, say,
// `nc -lk 9999`) and takes the lines it sends: those received between two
// batch times form the later batch. The lines arrive in real time, so the
// manual clock is stepped until all of them were taken.
func ExampleSocketTextStream() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	go func() {
		if conn, err := ln.Accept(); err == nil {
			fmt.Fprint(conn, "to be\nor not\nto be\n")
			conn.Close()
		}
	}()
	clock := context.NewManualClock(time.UnixMilli(0))
	ssc, _ := context.NewStreamingContext(time.Second, context.WithClock(clock))
	done := batchDone{ch: make(chan context.BatchInfo, 16)}
	ssc.AddStreamingListener(done)
	lines := context.SocketTextStream(ssc, ln.Addr().String())
	lines.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[string], _ time.Time) error {
		xs, err := r.Collect(ctx)
		for _, x := range xs {
			fmt.Println(x)
		}
		return err
	})
	_ = ssc.Start()
	// A batch a millisecond until the records are in (at most 10 s).
	for received, i := int64(0), 0; received < 3 && i < 10_000; i++ {
		time.Sleep(time.Millisecond)
		clock.Advance(time.Second)
		received += (<-done.ch).NumRecords()
	}
	_ = ssc.Stop(false)
	// Output:
	// to be
	// or not
	// to be
}

// RateStream generates numbered records at a fixed rate, in real time, for
// demos and load tests; which batch takes a record depends on when it is
// generated, but the numbers start at 0 and have no gaps.
func ExampleRateStream() {
	clock := context.NewManualClock(time.UnixMilli(0))
	ssc, _ := context.NewStreamingContext(time.Second, context.WithClock(clock))
	done := batchDone{ch: make(chan context.BatchInfo, 16)}
	ssc.AddStreamingListener(done)
	var seqs []int64 // appended by the job loop, read once it stopped
	context.RateStream(ssc, 1000).ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[receivers.RateRecord], _ time.Time) error {
		xs, err := r.Collect(ctx)
		for _, x := range xs {
			seqs = append(seqs, x.Seq)
		}
		return err
	})
	_ = ssc.Start()
	// A batch a millisecond until the records are in (at most 10 s).
	for received, i := int64(0), 0; received < 5 && i < 10_000; i++ {
		time.Sleep(time.Millisecond)
		clock.Advance(time.Second)
		received += (<-done.ch).NumRecords()
	}
	_ = ssc.Stop(false)
	slices.Sort(seqs)
	fmt.Println(seqs[:5])
	// Output:
	// [0 1 2 3 4]
}

// FileStream parses each new file of a directory with a function of its
// path and bytes (here: the file's name and number of words); each file
// becomes one partition of the first batch at or after its modification
// time. Files must appear whole: write them under a name starting with "."
// (which the stream ignores) and rename them in.
func ExampleFileStream() {
	dir, _ := os.MkdirTemp("", "example-filestream-")
	defer os.RemoveAll(dir)
	clock := context.NewManualClock(time.UnixMilli(0))
	ssc, _ := context.NewStreamingContext(time.Second, context.WithClock(clock))
	done := batchDone{ch: make(chan context.BatchInfo, 16)}
	ssc.AddStreamingListener(done)
	parse := func(path string, data []byte) ([]rdd.Pair[string, int], error) {
		return []rdd.Pair[string, int]{rdd.KV(filepath.Base(path), len(strings.Fields(string(data))))}, nil
	}
	sizes := context.FileStream(ssc, dir, parse)
	sizes.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[rdd.Pair[string, int]], t time.Time) error {
		xs, err := rdd.SortByKey(r, true, 1).Collect(ctx)
		fmt.Println(dstream.FormatTime(t), xs)
		return err
	})
	_ = ssc.Start()
	put := func(name, text string, mod time.Time) {
		tmp := filepath.Join(dir, "."+name)
		_ = os.WriteFile(tmp, []byte(text), 0o644)
		_ = os.Chtimes(tmp, mod, mod)
		_ = os.Rename(tmp, filepath.Join(dir, name))
	}
	put("a.txt", "to be or not", time.UnixMilli(300))
	put("b.txt", "to be", time.UnixMilli(700))
	clock.Advance(time.Second)
	<-done.ch
	put("c.txt", "that is the question", time.UnixMilli(1500))
	clock.Advance(time.Second)
	<-done.ch
	_ = ssc.Stop(false)
	// Output:
	// 1000 ms [(a.txt,4) (b.txt,2)]
	// 2000 ms [(c.txt,4)]
}
