package context_test

import (
	stdctx "context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
)

// errorListener records receiver errors.
type errorListener struct {
	context.NoopListener
	mu   sync.Mutex
	errs []context.ReceiverInfo
}

func (l *errorListener) OnReceiverError(i context.ReceiverInfo) {
	l.mu.Lock()
	l.errs = append(l.errs, i)
	l.mu.Unlock()
}

func (l *errorListener) all() []context.ReceiverInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.errs)
}

// writeAt writes a file atomically (write, then rename into dir) with the
// given modification time.
func writeAt(t *testing.T, dir, name, content string, mod time.Time) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".tmp")
	require.NoError(t, os.WriteFile(tmp, []byte(content), 0o644))
	require.NoError(t, os.Chtimes(tmp, mod, mod))
	require.NoError(t, os.Rename(tmp, filepath.Join(dir, name)))
}

func TestTextFileStreamTakesEachNewFileOnce(t *testing.T) {
	dir := t.TempDir()
	h := dstreamtest.NewHarness(t, time.Second)
	clock := h.Clock()
	// A file present before the stream started is ignored (new files only).
	writeAt(t, dir, "old.txt", "old\n", clock.Now().Add(-time.Hour))
	lines := context.TextFileStream(h.Context(), dir)
	out := dstreamtest.Collect(lines)
	h.Start()

	writeAt(t, dir, "a.txt", "a1\na2\r\n", clock.Now().Add(500*time.Millisecond))
	writeAt(t, dir, "_hidden", "no\n", clock.Now().Add(500*time.Millisecond))
	// A file modified after the batch time waits for a later batch.
	writeAt(t, dir, "b.txt", "b1", clock.Now().Add(1500*time.Millisecond))
	b1 := h.Step()
	require.Equal(t, int64(2), b1.NumRecords())
	h.Step()
	h.Step() // nothing new: b.txt must not be taken twice
	got := out.Batches()
	require.Equal(t, [][]string{{"a1", "a2"}, {"b1"}, {}}, got)
}

// A missing directory is reported, with the batch time, and the stream
// goes on; so is the directory of a glob (filepath.Glob alone finds
// nothing there and says nothing).
func TestTextFileStreamReportsMissingDirAndGoesOn(t *testing.T) {
	for _, glob := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "later")
		pattern := dir
		if glob {
			pattern = filepath.Join(dir, "*.txt")
		}
		h := dstreamtest.NewHarness(t, time.Second)
		errs := &errorListener{}
		h.Context().AddStreamingListener(errs)
		out := dstreamtest.Collect(context.TextFileStream(h.Context(), pattern))
		h.Start()
		h.Step()
		require.NoError(t, os.Mkdir(dir, 0o755))
		writeAt(t, dir, "x.txt", "x\n", h.Clock().Now().Add(time.Second))
		h.Step()
		h.Stop()
		require.Equal(t, [][]string{{}, {"x"}}, out.Batches(), "glob %v", glob)
		require.NotEmpty(t, errs.all(), "glob %v", glob)
		require.Contains(t, errs.all()[0].LastErrorMessage, dir)
		require.Contains(t, errs.all()[0].LastErrorMessage, "1000 ms")
		require.ErrorIs(t, errs.all()[0].LastError, fs.ErrNotExist)
	}
}

func TestFileStreamSkipsFileThatFailsToParse(t *testing.T) {
	dir := t.TempDir()
	h := dstreamtest.NewHarness(t, time.Second)
	errs := &errorListener{}
	h.Context().AddStreamingListener(errs)
	parse := func(path string, data []byte) ([]string, error) {
		if strings.Contains(string(data), "bad") {
			return nil, errors.New("malformed")
		}
		return strings.Fields(string(data)), nil
	}
	out := dstreamtest.Collect(context.FileStream(h.Context(), filepath.Join(dir, "*.in"), parse))
	h.Start()
	now := h.Clock().Now()
	writeAt(t, dir, "1.in", "good words", now.Add(100*time.Millisecond))
	writeAt(t, dir, "2.in", "bad", now.Add(200*time.Millisecond))
	writeAt(t, dir, "3.skip", "ignored by glob", now.Add(200*time.Millisecond))
	h.Step()
	h.Stop()
	require.Equal(t, [][]string{{"good", "words"}}, out.Batches())
	require.Len(t, errs.all(), 1)
	require.Contains(t, errs.all()[0].LastErrorMessage, "2.in")
	require.ErrorContains(t, errs.all()[0].LastError, "malformed")
}

// A panicking file filter fails its batch, and the next batch runs: the
// stream's lock is released on the panic. (It stayed locked, and the next
// batch and Stop hung.)
func TestFileFilterPanicFailsOnlyItsBatch(t *testing.T) {
	dir := t.TempDir()
	h := dstreamtest.NewHarness(t, time.Second, context.WithContinueOnBatchFailure())
	var calls atomic.Int32
	filter := func(string) bool {
		if calls.Add(1) == 1 {
			panic("filter boom")
		}
		return true
	}
	out := dstreamtest.Collect(context.TextFileStream(h.Context(), dir, context.WithFileFilter(filter)))
	h.Start()
	writeAt(t, dir, "a", "a\n", h.Clock().Now().Add(100*time.Millisecond))
	b := h.Step()
	require.ErrorContains(t, b.Err(), "filter boom")
	writeAt(t, dir, "b", "b\n", h.Clock().Now().Add(100*time.Millisecond))
	b = h.Step()
	require.NoError(t, b.Err())
	h.Stop()
	require.Equal(t, []string{"a", "b"}, slices.Concat(out.Batches()...))
}

func TestSocketTextStreamReceivesLines(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	const n = 500
	served := make(chan struct{})
	go func() {
		defer close(served)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		for i := range n {
			fmt.Fprintf(conn, "line %d\n", i)
		}
	}()
	h := dstreamtest.NewHarness(t, time.Second)
	out := dstreamtest.Collect(context.SocketTextStream(h.Context(), ln.Addr().String()))
	h.Start()
	total := 0
	deadline := time.Now().Add(20 * time.Second)
	for total < n && time.Now().Before(deadline) {
		total += int(h.Step().NumRecords())
	}
	<-served
	require.NoError(t, h.Context().Stop(false))
	var got []string
	for _, b := range out.Batches() {
		got = append(got, b...)
	}
	require.Len(t, got, n)
	require.Equal(t, "line 0", got[0])
	require.Equal(t, fmt.Sprintf("line %d", n-1), got[n-1])
}

// offsetsInput is an Input from outside the context package that reports
// what each batch took and hears when batches complete.
type offsetsInput struct {
	mu        sync.Mutex
	next      int
	completed []time.Time
}

func (in *offsetsInput) Compute(t time.Time) (*rdd.RDD[int], int64, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	from := in.next
	in.next += 3
	return rdd.Parallelize([]int{from, from + 1, from + 2}, 1), 3, nil
}
func (in *offsetsInput) Start(stdctx.Context) error { return nil }
func (in *offsetsInput) Stop(bool)                  {}
func (in *offsetsInput) Pending() bool              { return false }
func (in *offsetsInput) BatchMetadata(t time.Time) any {
	in.mu.Lock()
	defer in.mu.Unlock()
	return fmt.Sprintf("until %d", in.next)
}
func (in *offsetsInput) BatchCompleted(b context.BatchInfo) {
	in.mu.Lock()
	in.completed = append(in.completed, b.BatchTime)
	in.mu.Unlock()
}

func TestExternalInputReportsMetadataAndCompletion(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	in := &offsetsInput{}
	d := context.NewInputStream[int](h.Context(), "OffsetsInput", in)
	out := dstreamtest.Collect(d)
	h.Start()
	b1 := h.Step()
	b2 := h.Step()
	h.Stop()
	require.Equal(t, map[int]any{d.ID(): "until 3"}, b1.InputMetadata)
	require.Equal(t, map[int]any{d.ID(): "until 6"}, b2.InputMetadata)
	require.Equal(t, map[int]int64{d.ID(): 3}, b2.InputRecords)
	require.Equal(t, [][]int{{0, 1, 2}, {3, 4, 5}}, out.Batches())
	require.Equal(t, []time.Time{b1.BatchTime, b2.BatchTime}, in.completed)
}

// TestTextFileStreamTakesFileStampedJustBeforeStart covers file systems whose
// coarse timestamps read behind the clock: a file written after the stream
// started may carry a modification time slightly before the start. It is new
// and must be taken; a file that was there at the start must not be.
func TestTextFileStreamTakesFileStampedJustBeforeStart(t *testing.T) {
	dir := t.TempDir()
	h := dstreamtest.NewHarness(t, time.Second)
	start := h.Clock().Now()
	writeAt(t, dir, "there-before.txt", "old\n", start.Add(-5*time.Millisecond))
	lines := context.TextFileStream(h.Context(), dir)
	out := dstreamtest.Collect(lines)
	h.Start()
	writeAt(t, dir, "new.txt", "new\n", start.Add(-3*time.Millisecond))
	h.Step()
	h.Step()
	h.Stop()
	require.Equal(t, [][]string{{"new"}, {}}, out.Batches())
}

// A batch that finds the queue empty gets the default RDD, Spark's
// queueStream defaultRDD; oneAtATime false unites everything queued.
func TestQueueStreamDefaultRDDAndUnion(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	one, all := context.NewQueue[string](), context.NewQueue[string]()
	def := rdd.Parallelize([]string{"default"}, 1)
	outOne := dstreamtest.Collect(context.QueueStream(h.Context(), one, true, context.WithDefaultRDD(def)))
	outAll := dstreamtest.Collect(context.QueueStream(h.Context(), all, false))
	h.Start()
	one.PushSlice([]string{"a"}, 1)
	one.PushSlice([]string{"b"}, 1)
	all.PushSlice([]string{"x"}, 1)
	all.PushSlice([]string{"y", "z"}, 2)
	for range 3 {
		h.Step()
	}
	h.Stop()
	require.Equal(t, [][]string{{"a"}, {"b"}, {"default"}}, outOne.Batches())
	require.Equal(t, [][]string{{"x", "y", "z"}, {}, {}}, outAll.Batches())
}

// A RateStream with a rate below one record per second is refused at Start.
func TestRateStreamNonPositiveRateRefusedAtStart(t *testing.T) {
	for _, rate := range []int{0, -5} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			h := dstreamtest.NewHarness(t, time.Second)
			dstreamtest.Collect(context.RateStream(h.Context(), rate))
			err := h.Context().Start()
			require.ErrorIs(t, err, dstream.ErrInvalidStream)
			require.ErrorContains(t, err, "RateStream")
			require.ErrorContains(t, err, fmt.Sprintf("(%d records per second)", rate))
		})
	}
}

// A SocketTextStream whose address is not host:port is refused at Start;
// before, the receiver only logged its failing connection attempts.
func TestSocketTextStreamBadAddressRefusedAtStart(t *testing.T) {
	for _, addr := range []string{"no-port", "localhost:", ""} {
		t.Run(addr, func(t *testing.T) {
			h := dstreamtest.NewHarness(t, time.Second)
			dstreamtest.Collect(context.SocketTextStream(h.Context(), addr))
			err := h.Context().Start()
			require.ErrorIs(t, err, dstream.ErrInvalidStream)
			require.ErrorContains(t, err, "SocketTextStream")
		})
	}
}

// A QueueStream of a nil queue is refused at Start instead of panicking in
// the first batch.
func TestQueueStreamNilQueueRefusedAtStart(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	dstreamtest.Collect(context.QueueStream[int](h.Context(), nil, true))
	err := h.Context().Start()
	require.ErrorIs(t, err, dstream.ErrInvalidStream)
	require.ErrorContains(t, err, "QueueStream")
	require.ErrorContains(t, err, "nil")
}
