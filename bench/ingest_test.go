package bench

import (
	"bufio"
	stdctx "context"
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
	"github.com/sluice-io/sluice/receivers"
)

// ingestLines is the number of lines (of the word-count text, about 100
// bytes each) sent per op of the socket ingest benchmark.
const ingestLines = 500_000

// serveLines listens on loopback and sends lines to the first client,
// then closes the connection. It returns the address and a channel that
// receives the time the client connected.
func serveLines(tb testing.TB, lines []string) (string, <-chan time.Time) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	accepted := make(chan time.Time, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer ln.Close()
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		accepted <- time.Now()
		w := bufio.NewWriterSize(conn, 64<<10)
		for _, l := range lines {
			w.WriteString(l)
			w.WriteByte('\n')
		}
		w.Flush()
	}()
	tb.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String(), accepted
}

// ingestEngine receives lines through a SocketTextStream-like
// ReceiverStream (the socket text receiver under its supervisor, 10 ms
// blocks) in a StreamingContext on a manual clock, counting them with
// foreachRDD, stepping batches until all have arrived. It returns records
// per second from the connection to the last record counted.
func ingestEngine(b *testing.B, lines []string) float64 {
	addr, accepted := serveLines(b, lines)
	h := dstreamtest.NewHarness(b, time.Second, context.WithLogger(hclog.NewNullLogger()))
	in := context.ReceiverStream[string](h.Context(), receivers.NewSocketTextReceiver(addr),
		receivers.WithBlockInterval(10*time.Millisecond), receivers.WithMaxPendingBlocks(1<<20))
	var got atomic.Int64
	in.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[string], _ time.Time) error {
		n, err := r.Count(ctx)
		got.Add(n)
		return err
	})
	h.Start()
	start := <-accepted
	for got.Load() < int64(len(lines)) {
		h.Step()
		if got.Load() < int64(len(lines)) {
			time.Sleep(2 * time.Millisecond) // let a block fill instead of stepping empty batches
		}
	}
	runtime.GC() // charge the collection of the engine's garbage to the engine
	elapsed := time.Since(start)
	if got.Load() != int64(len(lines)) {
		b.Fatalf("received %d lines, sent %d", got.Load(), len(lines))
	}
	h.Stop()
	return float64(len(lines)) / elapsed.Seconds()
}

// ingestLoop is the baseline: a plain loop reading the same lines from
// loopback doing the receiver's per-line work (split at '\n', check
// UTF-8, copy to a string, append to a block) and nothing else.
func ingestLoop(b *testing.B, lines []string) float64 {
	addr, accepted := serveLines(b, lines)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	start := <-accepted
	br := bufio.NewReaderSize(conn, 64<<10)
	var block []string
	n := 0
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			line = line[:len(line)-1]
			if utf8.Valid(line) {
				block = append(block, string(line))
				n++
			}
			if len(block) == 4096 {
				block = make([]string, 0, 4096)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	elapsed := time.Since(start)
	if n != len(lines) {
		b.Fatalf("read %d lines, sent %d", n, len(lines))
	}
	return float64(n) / elapsed.Seconds()
}

// BenchmarkSocketIngest measures records per second of 500,000 100-byte
// lines sent over loopback: engine through a ReceiverStream of the socket
// text receiver in a StreamingContext (receiver, supervisor, blocks, batches
// of the manual clock, a foreachRDD count), handwritten through a plain read
// loop. One op is one of each, interleaved; engine/handwritten is the ratio
// of their rates.
func BenchmarkSocketIngest(b *testing.B) {
	lines := batchLines()[:ingestLines]
	var engine, loop float64
	for range b.N {
		engine += ingestEngine(b, lines)
		loop += ingestLoop(b, lines)
	}
	n := float64(b.N)
	b.ReportMetric(engine/n, "engine-records/s")
	b.ReportMetric(loop/n, "handwritten-records/s")
	b.ReportMetric(engine/loop, "engine/handwritten")
}
