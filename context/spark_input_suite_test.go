package context_test

// Ports of cases of Spark's InputStreamsSuite
// (streaming/src/test/scala/org/apache/spark/streaming/InputStreamsSuite.scala)
// whose expectation is data: what the input streams hand the batches.
//
// Spark's cases wait with eventually(...) and Thread.sleep; these wait
// deterministically instead: a listener counts the batches started and
// completed (Spark's BatchCounter and the progress listener's record
// totals), the manual clock is advanced by hand, and input that arrives in
// real time (a socket, receiver goroutines) is awaited by bounded polling
// with a deadline. Outputs Spark compares as sets are compared here as
// multisets, which also catches a file taken twice.
//
// Not ported: "socket input stream - no block in a batch" (it checks the
// class of the generated RDDs, WriteAheadLogBackedBlockRDD, not data) and
// "binary records stream" (the library has no binaryRecordsStream).

import (
	stdctx "context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
	"github.com/sluice-io/sluice/receivers"
)

// sisDeadline bounds, in real time, every wait of these tests.
const sisDeadline = 30 * time.Second

// sisBatchCounter is Spark's BatchCounter together with the record totals
// of its StreamingJobProgressListener: numTotalReceivedRecords sums the
// records of the batches started, numTotalProcessedRecords those of the
// batches completed.
type sisBatchCounter struct {
	context.NoopListener
	mu               sync.Mutex
	started          int
	completed        int
	receivedRecords  int64
	processedRecords int64
	signal           chan struct{}
}

func sisNewBatchCounter(ssc *context.StreamingContext) *sisBatchCounter {
	c := &sisBatchCounter{signal: make(chan struct{}, 1)}
	ssc.AddStreamingListener(c)
	return c
}

func (c *sisBatchCounter) OnBatchStarted(b context.BatchInfo) {
	c.mu.Lock()
	c.started++
	c.receivedRecords += b.NumRecords()
	c.mu.Unlock()
	c.notify()
}

func (c *sisBatchCounter) OnBatchCompleted(b context.BatchInfo) {
	c.mu.Lock()
	c.completed++
	c.processedRecords += b.NumRecords()
	c.mu.Unlock()
	c.notify()
}

func (c *sisBatchCounter) notify() {
	select {
	case c.signal <- struct{}{}:
	default:
	}
}

// numCompleted is Spark's getNumCompletedBatches.
func (c *sisBatchCounter) numCompleted() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.completed
}

func (c *sisBatchCounter) records() (received, processed int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.receivedRecords, c.processedRecords
}

// waitFor waits, woken by the listener, until cond holds, failing the test
// after sisDeadline.
func (c *sisBatchCounter) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	timeout := time.NewTimer(sisDeadline)
	defer timeout.Stop()
	for !cond() {
		select {
		case <-c.signal:
		case <-timeout.C:
			t.Fatalf("timed out after %v waiting for %s", sisDeadline, what)
		}
	}
}

// waitCompleted is Spark's eventually { assert(getNumCompletedBatches === n) }.
func (c *sisBatchCounter) waitCompleted(t *testing.T, n int) {
	t.Helper()
	c.waitFor(t, fmt.Sprintf("%d completed batches", n), func() bool { return c.numCompleted() >= n })
	require.Equal(t, n, c.numCompleted(), "completed batches")
}

// sisFlatten is Scala's outputQueue.asScala.flatten.
func sisFlatten[T any](batches [][]T) []T { return slices.Concat(batches...) }

// sisNonEmpty is Scala's outputQueue.asScala.filter(_.nonEmpty).
func sisNonEmpty[T any](batches [][]T) [][]T {
	out := [][]T{}
	for _, b := range batches {
		if len(b) > 0 {
			out = append(out, b)
		}
	}
	return out
}

// sisStrings is Scala's input.map(_.toString).
func sisStrings(xs ...int) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strconv.Itoa(x)
	}
	return out
}

// sisWriteFile is Guava's Files.write followed by File.setLastModified.
func sisWriteFile(t *testing.T, path, content string, mod time.Time) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	require.NoError(t, os.Chtimes(path, mod, mod))
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.True(t, info.ModTime().Equal(mod), "modification time of %s: %v, want %v", path, info.ModTime(), mod)
}

// sisTestServer is Spark's TestServer: it accepts connections and writes
// to the current one the messages sent to it, in order.
type sisTestServer struct {
	ln   net.Listener
	msgs chan string
	done chan struct{}
	wg   sync.WaitGroup
}

func sisStartTestServer(t *testing.T) *sisTestServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &sisTestServer{ln: ln, msgs: make(chan string, 100), done: make(chan struct{})}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.stop)
	return s
}

func (s *sisTestServer) serve() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return // stopped
		}
		func() {
			defer conn.Close()
			for {
				select {
				case <-s.done:
					return
				case msg := <-s.msgs:
					if _, err := conn.Write([]byte(msg)); err != nil {
						return // the client went away; accept the next one
					}
				}
			}
		}()
	}
}

func (s *sisTestServer) send(msg string) { s.msgs <- msg }
func (s *sisTestServer) addr() string    { return s.ln.Addr().String() }

func (s *sisTestServer) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	close(s.done)
	s.ln.Close()
	s.wg.Wait()
}

// test("socket input stream")
func TestSparkInputSuite_SocketInputStream(t *testing.T) {
	server := sisStartTestServer(t)
	h := dstreamtest.NewHarness(t, time.Second)
	counter := sisNewBatchCounter(h.Context())
	input := []int{1, 2, 3, 4, 5}
	networkStream := context.SocketTextStream(h.Context(), server.addr())
	out := dstreamtest.Collect(networkStream)
	h.Start()

	// Feed data to the server to send to the network receiver.
	expected := sisStrings(input...)
	for _, x := range input {
		server.send(strconv.Itoa(x) + "\n")
		h.Step()
	}
	// eventually { clock.advance(batchDuration); assert(output.length === 5) }:
	// the lines reach the receiver in real time.
	deadline := time.Now().Add(sisDeadline)
	for len(sisFlatten(out.Batches())) < len(expected) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
		h.Step()
	}
	// Whether the elements were received one in each interval is not
	// verified, as in Spark; their order is.
	require.Equal(t, expected, sisFlatten(out.Batches()))

	n := int64(len(input))
	counter.waitFor(t, "the record totals", func() bool {
		r, p := counter.records()
		return r >= n && p >= n
	})
	received, processed := counter.records()
	require.Equal(t, n, received, "numTotalReceivedRecords")
	require.Equal(t, n, processed, "numTotalProcessedRecords")
}

// testFileStream(newFilesOnly) of Spark's suite.
func sisTestFileStream(t *testing.T, newFilesOnly bool) {
	testDir := t.TempDir()
	batch := 2 * time.Second
	// Create a file that exists before the StreamingContext is created.
	existing := time.UnixMilli(10000)
	sisWriteFile(t, filepath.Join(testDir, "0"), "0\n", existing)

	h := dstreamtest.NewHarness(t, batch)
	clock := h.Clock()
	// Ensures that the clock is past the creation time of the existing file.
	clock.Set(existing.Add(batch))
	counter := sisNewBatchCounter(h.Context())
	fileStream := context.TextFileStream(h.Context(), testDir,
		context.WithFileFilter(func(string) bool { return true }),
		context.WithNewFilesOnly(newFilesOnly))
	out := dstreamtest.Collect(fileStream)
	h.Start()

	// Advance the clock so that the files are created after the context
	// starts, but not enough to trigger a batch.
	clock.Advance(batch / 2)

	// Over time, create files in the directory.
	input := []int{1, 2, 3, 4, 5}
	for _, i := range input {
		sisWriteFile(t, filepath.Join(testDir, strconv.Itoa(i)), strconv.Itoa(i)+"\n", clock.Now())
		clock.Advance(batch)
		counter.waitCompleted(t, i)
	}

	// Verify that all the files have been read.
	expected := sisStrings(input...)
	if !newFilesOnly {
		expected = sisStrings(append([]int{0}, input...)...)
	}
	require.ElementsMatch(t, expected, sisFlatten(out.Batches()))
}

// test("file input stream - newFilesOnly = true")
func TestSparkInputSuite_FileInputStreamNewFilesOnlyTrue(t *testing.T) {
	sisTestFileStream(t, true)
}

// test("file input stream - newFilesOnly = false")
func TestSparkInputSuite_FileInputStreamNewFilesOnlyFalse(t *testing.T) {
	sisTestFileStream(t, false)
}

// test("file input stream - wildcard"): the stream monitors "testDir/*/",
// a glob of directories, whose files it is to read.
func TestSparkInputSuite_FileInputStreamWildcard(t *testing.T) {
	run := func(t *testing.T, pattern func(testDir string) string) {
		testDir := t.TempDir()
		batch := 2 * time.Second
		testSubDir1 := filepath.Join(testDir, "tmp1")
		testSubDir2 := filepath.Join(testDir, "tmp2")
		require.NoError(t, os.Mkdir(testSubDir1, 0o755))
		require.NoError(t, os.Mkdir(testSubDir2, 0o755))

		// Create a file that exists before the StreamingContext is created.
		existing := time.UnixMilli(10000)
		sisWriteFile(t, filepath.Join(testDir, "0"), "0\n", existing)

		h := dstreamtest.NewHarness(t, batch)
		clock := h.Clock()
		clock.Set(existing.Add(batch))
		counter := sisNewBatchCounter(h.Context())
		out := dstreamtest.Collect(context.TextFileStream(h.Context(), pattern(testDir)))
		h.Start()

		// Advance the clock so that the files are created after the context
		// starts, but not enough to trigger a batch.
		clock.Advance(batch / 2)

		createFileAndAdvanceTime := func(data int, dir string) {
			// As in Spark, the file goes to testSubDir1 whatever dir says.
			_ = dir
			sisWriteFile(t, filepath.Join(testSubDir1, strconv.Itoa(data)), strconv.Itoa(data)+"\n", clock.Now())
			clock.Advance(batch)
			counter.waitCompleted(t, data)
		}
		input1 := []int{1, 2, 3, 4, 5}
		for _, i := range input1 {
			createFileAndAdvanceTime(i, testSubDir1)
		}
		input2 := []int{6, 7, 8, 9, 10}
		for _, i := range input2 {
			createFileAndAdvanceTime(i, testSubDir2)
		}

		// Verify that all the files have been read.
		require.ElementsMatch(t, sisStrings(append(input1, input2...)...), sisFlatten(out.Batches()))
	}

	// Spark's own pattern, a glob of directories whose files are listed
	// (before the library listed the directories they match, it read
	// nothing here).
	t.Run("spark pattern dir/*/", func(t *testing.T) {
		run(t, func(testDir string) string { return testDir + "/*/" })
	})
	// The same case with the glob naming the files in the directories,
	// the library's form of Spark's directory glob.
	t.Run("file glob dir/*/*", func(t *testing.T) {
		run(t, func(testDir string) string { return filepath.Join(testDir, "*", "*") })
	})
}

// test("Modified files are correctly detected."): a directory renamed into
// the place a glob of directories matches ("streaming/sub*") brings its
// files in; only those modified within the window are taken.
func TestSparkInputSuite_ModifiedFilesAreCorrectlyDetected(t *testing.T) {
	run := func(t *testing.T, glob func(streamDir string) string) {
		testPath := t.TempDir()
		batch := 2 * time.Second
		streamDir := filepath.Join(testPath, "streaming")
		streamGlobPath := glob(streamDir)
		generatedDir := filepath.Join(testPath, "generated")
		generatedSubDir := filepath.Join(generatedDir, "subdir")
		renamedSubDir := filepath.Join(streamDir, "subdir")
		require.NoError(t, os.MkdirAll(streamDir, 0o755))
		require.NoError(t, os.MkdirAll(generatedSubDir, 0o755))

		h := dstreamtest.NewHarness(t, batch)
		clock := h.Clock()
		existingFile := filepath.Join(generatedSubDir, "existing")
		require.NoError(t, os.WriteFile(existingFile, []byte("existing\n"), 0o644))
		// Hadoop's local file system, on the JDK 8 Spark ran this case with,
		// stamps files with whole seconds; the case relies on it (with a
		// modification time more than 1 s past a multiple of the batch, the
		// renamed file would be stamped after the second batch time).
		info, err := os.Stat(existingFile)
		require.NoError(t, err)
		mod := info.ModTime().Truncate(time.Second)
		require.NoError(t, os.Chtimes(existingFile, mod, mod))
		clock.Set(mod.Add(batch))
		counter := sisNewBatchCounter(h.Context())
		out := dstreamtest.Collect(context.TextFileStream(h.Context(), streamGlobPath))
		h.Start()

		clock.Advance(batch)
		counter.waitCompleted(t, 1)

		// Create and rename the file: put a file into the generated directory.
		textPath := filepath.Join(generatedSubDir, "renamed.txt")
		now := clock.Now()
		sisWriteFile(t, textPath, "renamed\n", now.Add(batch/2))
		info, err = os.Stat(existingFile)
		require.NoError(t, err)
		require.True(t, info.ModTime().Before(now.Add(batch)))

		// Rename the directory under the path being scanned.
		require.NoError(t, os.Rename(generatedSubDir, renamedSubDir))

		// Move forward one window and await the next scan.
		clock.Advance(batch)
		counter.waitCompleted(t, 2)
		// The "renamed" file is found, but not the "existing" one, which is
		// out of the window.
		require.ElementsMatch(t, []string{"renamed"}, sisFlatten(out.Batches()))
	}

	// Spark's own pattern, a glob of directories.
	t.Run("spark pattern streaming/sub*", func(t *testing.T) {
		run(t, func(streamDir string) string { return filepath.Join(streamDir, "sub*") })
	})
	// The same case with the glob naming the files in the directories.
	t.Run("file glob streaming/sub*/*", func(t *testing.T) {
		run(t, func(streamDir string) string { return filepath.Join(streamDir, "sub*", "*") })
	})
}

// sisMultiThreadReceiver is Spark's MultiThreadTestReceiver: numThreads
// goroutines each store numRecordsPerThread records.
type sisMultiThreadReceiver struct {
	numThreads, numRecordsPerThread int
	finishCount                     atomic.Int32
	allFinished                     chan struct{}
	once                            sync.Once
}

func (r *sisMultiThreadReceiver) OnStart(h *receivers.Handle[int]) {
	for threadID := 1; threadID <= r.numThreads; threadID++ {
		h.Go(func(stdctx.Context) {
			for i := 1; i <= r.numRecordsPerThread; i++ {
				if err := h.Store(threadID*r.numRecordsPerThread + i); err != nil {
					return
				}
			}
			if int(r.finishCount.Add(1)) == r.numThreads {
				r.once.Do(func() { close(r.allFinished) })
			}
		})
	}
}

func (r *sisMultiThreadReceiver) OnStop() {}

func (r *sisMultiThreadReceiver) haveAllThreadsFinished() bool {
	select {
	case <-r.allFinished:
		return true
	default:
		return false
	}
}

// test("multi-thread receiver")
func TestSparkInputSuite_MultiThreadReceiver(t *testing.T) {
	const numThreads, numRecordsPerThread = 10, 1000
	const numTotalRecords = numThreads * numRecordsPerThread
	testReceiver := &sisMultiThreadReceiver{numThreads: numThreads, numRecordsPerThread: numRecordsPerThread, allFinished: make(chan struct{})}

	h := dstreamtest.NewHarness(t, time.Second)
	networkStream := context.ReceiverStream[int](h.Context(), testReceiver)
	out := dstreamtest.Collect(networkStream.Count())
	h.Start()
	sum := func() int64 {
		var n int64
		for _, c := range sisFlatten(out.Batches()) {
			n += c
		}
		return n
	}

	// Let the data from the receiver be received.
	deadline := time.Now().Add(sisDeadline)
	for (!testReceiver.haveAllThreadsFinished() || sum() < numTotalRecords) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
		h.Step()
	}
	h.Stop()

	require.True(t, testReceiver.haveAllThreadsFinished(), "all receiver threads finished")
	require.Equal(t, int64(numTotalRecords), sum())
}

// test("queue input stream - oneAtATime = true")
func TestSparkInputSuite_QueueInputStreamOneAtATimeTrue(t *testing.T) {
	input := []string{"1", "2", "3", "4", "5"}
	expected := [][]string{{"1"}, {"2"}, {"3"}, {"4"}, {"5"}}

	h := dstreamtest.NewHarness(t, time.Second)
	queue := context.NewQueue[string]()
	out := dstreamtest.Collect(context.QueueStream(h.Context(), queue, true))
	h.Start()

	next := 0
	for range input {
		// Enqueue more than 1 item per tick but they should dequeue one
		// at a time.
		for k := 0; k < 2 && next < len(input); k++ {
			queue.Push(rdd.Parallelize([]string{input[next]}, dstreamtest.Partitions))
			next++
		}
		h.Step()
	}
	h.Stop()

	require.Equal(t, expected, sisNonEmpty(out.Batches()))
}

// test("queue input stream - oneAtATime = false")
func TestSparkInputSuite_QueueInputStreamOneAtATimeFalse(t *testing.T) {
	input := []string{"1", "2", "3", "4", "5"}
	expected := [][]string{{"1", "2", "3"}, {"4", "5"}}

	h := dstreamtest.NewHarness(t, time.Second)
	queue := context.NewQueue[string]()
	out := dstreamtest.Collect(context.QueueStream(h.Context(), queue, false))
	h.Start()

	// Enqueue the first 3 items (one by one), they should be merged in the
	// next batch.
	for _, x := range input[:3] {
		queue.Push(rdd.Parallelize([]string{x}, dstreamtest.Partitions))
	}
	h.Step()
	// Enqueue the remaining items (again one by one), merged in the final
	// batch.
	for _, x := range input[3:] {
		queue.Push(rdd.Parallelize([]string{x}, dstreamtest.Partitions))
	}
	h.Step()
	h.Stop()

	require.Equal(t, expected, sisNonEmpty(out.Batches()))
}

// sisNullReceiver stands for Spark's TestReceiverInputDStream, whose
// getReceiver is null: it is never started.
type sisNullReceiver struct{}

func (sisNullReceiver) OnStart(*receivers.Handle[string]) {}
func (sisNullReceiver) OnStop()                           {}

// sisTestInput is Spark's TestInputDStream: compute gives no data.
type sisTestInput struct{}

func (sisTestInput) Compute(time.Time) (*rdd.RDD[string], int64, error) {
	return rdd.Empty[string](), 0, nil
}
func (sisTestInput) Start(stdctx.Context) error { return nil }
func (sisTestInput) Stop(bool)                  {}
func (sisTestInput) Pending() bool              { return false }

// test("test track the number of input stream"). The library's graph lists
// its streams (Graph.Streams) but has no separate list of input or receiver
// input streams: they are told apart here by their kind.
func TestSparkInputSuite_TrackTheNumberOfInputStream(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	ssc := h.Context()

	// Register input streams.
	receiverInputStreams := []dstream.DStream[string]{
		context.ReceiverStream[string](ssc, sisNullReceiver{}),
		context.ReceiverStream[string](ssc, sisNullReceiver{}),
	}
	inputStreams := []dstream.DStream[string]{
		context.NewInputStream[string](ssc, "TestInputDStream", sisTestInput{}),
		context.NewInputStream[string](ssc, "TestInputDStream", sisTestInput{}),
		context.NewInputStream[string](ssc, "TestInputDStream", sisTestInput{}),
	}

	var inputIDs, receiverIDs []int
	for _, s := range ssc.Graph().Streams() {
		switch s.Kind {
		case "ReceiverInputStream":
			receiverIDs = append(receiverIDs, s.ID)
			inputIDs = append(inputIDs, s.ID)
		case "TestInputDStream":
			inputIDs = append(inputIDs, s.ID)
		}
	}
	require.Len(t, ssc.Graph().Streams(), len(receiverInputStreams)+len(inputStreams))
	require.Len(t, inputIDs, len(receiverInputStreams)+len(inputStreams))
	require.Len(t, receiverIDs, len(receiverInputStreams))
	require.Equal(t, []int{receiverInputStreams[0].ID(), receiverInputStreams[1].ID()}, receiverIDs)
	require.Equal(t, []int{0, 1, 2, 3, 4}, inputIDs)
	require.Equal(t, []int{0, 1}, []int{receiverInputStreams[0].ID(), receiverInputStreams[1].ID()})
	require.Equal(t, []int{2, 3, 4}, []int{inputStreams[0].ID(), inputStreams[1].ID(), inputStreams[2].ID()})
}
