package receivers

import (
	"bufio"
	"fmt"
	"net"
	"testing"
	"time"
)

// ingest runs a socket text receiver against a loopback server that writes n
// lines, allocating blocks every 5 ms until all n arrived, and returns the
// records per second.
func ingest(b *testing.B, n int, walDir string) float64 {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	served := make(chan error, 1)
	release := make(chan struct{})
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		defer conn.Close()
		w := bufio.NewWriterSize(conn, 64<<10)
		for i := range n {
			fmt.Fprintf(w, "record number %d with some payload\n", i)
		}
		err = w.Flush()
		<-release // keep the connection open until the receiver is done
		served <- err
	}()
	opts := []Option{WithLogger(quietLogger()), WithMaxPendingBlocks(1 << 20)}
	var wal *WAL[string]
	if walDir != "" {
		wal, err = OpenWAL[string](walDir, WithWALLogger(quietLogger()))
		if err != nil {
			b.Fatal(err)
		}
		defer wal.Close()
		opts = append(opts, WithWAL(wal))
	}
	sup, err := NewSupervisor[string](NewSocketTextReceiver(ln.Addr().String()), opts...)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	sup.Start()
	batches := time.NewTicker(5 * time.Millisecond)
	defer batches.Stop()
	got := 0
	for batch := 0; got < n; batch++ {
		<-batches.C
		blocks, err := sup.AllocateBlocks(time.Unix(int64(batch), 0))
		if err != nil {
			b.Fatal(err)
		}
		for _, blk := range blocks {
			got += blk.Count()
		}
		if wal != nil {
			sup.MarkProcessed(time.Unix(int64(batch), 0))
		}
	}
	elapsed := time.Since(start)
	close(release)
	sup.Stop()
	if err := <-served; err != nil {
		b.Fatal(err)
	}
	return float64(n) / elapsed.Seconds()
}

// BenchmarkSocketIngest measures socket ingest on loopback without and with
// the write-ahead log in one run, so the WAL's cost shows as a ratio.
func BenchmarkSocketIngest(b *testing.B) {
	const n = 200_000
	var plain, logged float64
	for b.Loop() {
		plain += ingest(b, n, "")
		logged += ingest(b, n, b.TempDir())
	}
	runs := float64(b.N)
	b.ReportMetric(plain/runs, "records/s")
	b.ReportMetric(logged/runs, "records/s-wal")
	b.ReportMetric(logged/plain, "wal/plain")
}
