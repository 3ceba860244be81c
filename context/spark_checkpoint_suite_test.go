package context_test

// Ports of Spark Streaming's CheckpointSuite
// (streaming/src/test/scala/org/apache/spark/streaming/CheckpointSuite.scala)
// whose expectations are data. Spark's suite runs 500 ms batches on a
// manual clock; these run the one-second batches of startRun, so every
// duration Spark writes as a multiple of batchDuration is that multiple of
// a second. Spark's testCheckpointedOperation is sparkCheckpointedOperation:
// the first batches, a stop without a final checkpoint (Spark's ssc.stop()
// is not graceful) once the last one's checkpoint is durable (Spark sleeps
// a second), a restart from the checkpoint with GetOrCreate and the rest of
// the batches.

import (
	stdctx "context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/checkpoint"
	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/rdd"
)

// sparkBatch is what one run of a batch output: its batch time in seconds
// and its elements, formatted and sorted (Spark's verifyOutput with
// useSet), joined by spaces.
type sparkBatch struct {
	sec   int64
	elems string
}

func (b sparkBatch) String() string { return fmt.Sprintf("%ds:[%s]", b.sec, b.elems) }

// sparkLife records, in the order they ran, the batches of one life of a
// context: Spark's TestOutputStreamWithPartitions, whose buffer a restored
// graph starts empty.
type sparkLife struct {
	mu      sync.Mutex
	batches []sparkBatch
}

func collectSpark[T any](l *sparkLife, d dstream.DStream[T]) {
	d.ForeachRDD(func(ctx stdctx.Context, rd *rdd.RDD[T], t time.Time) error {
		elems, err := sortedElems(ctx, rd)
		if err != nil {
			return err
		}
		l.mu.Lock()
		l.batches = append(l.batches, sparkBatch{t.UnixMilli() / 1000, elems})
		l.mu.Unlock()
		return nil
	})
}

func (l *sparkLife) list() []sparkBatch {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.batches)
}

// elems returns what the batches output, without their times.
func elems(bs []sparkBatch) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.elems
	}
	return out
}

// sparkExpected formats Spark's expected output the way collectSpark does.
func sparkExpected(batches [][]string) []string {
	out := make([]string, len(batches))
	for i, b := range batches {
		s := slices.Clone(b)
		slices.Sort(s)
		out[i] = strings.Join(s, " ")
	}
	return out
}

// sparkCheckpointedOperation is Spark's testCheckpointedOperation: it runs
// op over input (one slice per batch, two partitions, a replayable queue)
// for initialNumBatches batches, stops without a final checkpoint once the
// last one's is durable, restarts from the checkpoint and runs the
// remaining batches. It returns what each life output, in the order the
// batches ran.
func sparkCheckpointedOperation[U, V any](t *testing.T, input [][]U, op func(dstream.DStream[U]) dstream.DStream[V], initialNumBatches int) (first, second []sparkBatch) {
	t.Helper()
	dir := t.TempDir()
	setup := func(l *sparkLife) func(*context.StreamingContext) error {
		return func(ssc *context.StreamingContext) error {
			q := context.NewQueue[U]()
			for _, b := range input {
				q.PushSlice(b, 2)
			}
			collectSpark(l, op(context.QueueStream(ssc, q, true)))
			return nil
		}
	}
	l1 := &sparkLife{}
	r := startRun(t, dir, 0, setup(l1))
	r.stepsDurable(time.Duration(initialNumBatches) * time.Second)
	require.NoError(t, r.ssc.Stop(false))

	l2 := &sparkLife{}
	r = startRun(t, dir, time.Duration(initialNumBatches)*time.Second, setup(l2))
	r.steps(time.Duration(len(input)) * time.Second)
	require.NoError(t, r.ssc.Stop(false))
	return l1.list(), l2.list()
}

// checkSparkCheckpointedOperation checks the outputs of
// sparkCheckpointedOperation against Spark's expectedOutput, as
// testCheckpointedOperation does: the first life output
// expectedOutput.take(initialNumBatches), and the second
// expectedOutput.takeRight(expectedOutput.size - initialNumBatches + 1),
// "the first element will be re-processed data of the last batch before
// restart". The subtest "batches after the failure" checks the batches
// after the failure alone, by batch time. Spark runs the last batch before
// the failure again in every graph; here only a graph whose recovery point
// is before it does (a stateful graph between data checkpoints): with
// rerunsLast false the last subtest checks instead that no batch completed
// before the failure runs again.
func checkSparkCheckpointedOperation(t *testing.T, first, second []sparkBatch, expectedOutput [][]string, initialNumBatches int, rerunsLast bool) {
	t.Helper()
	want := sparkExpected(expectedOutput)
	t.Logf("first life: %v", first)
	t.Logf("second life: %v", second)
	t.Run("first life", func(t *testing.T) {
		require.Equal(t, want[:initialNumBatches], elems(first), "%v", first)
	})
	t.Run("batches after the failure", func(t *testing.T) {
		var after []sparkBatch
		for _, b := range second {
			if b.sec > int64(initialNumBatches) {
				after = append(after, b)
			}
		}
		require.Equal(t, want[initialNumBatches:], elems(after), "%v", second)
		for i, b := range after {
			require.Equal(t, int64(initialNumBatches+1+i), b.sec, "%v", second)
		}
	})
	if !rerunsLast {
		t.Run("no completed batch runs again (Spark reruns the last)", func(t *testing.T) {
			for _, b := range second {
				require.Greater(t, b.sec, int64(initialNumBatches), "%v", second)
			}
		})
		return
	}
	t.Run("Spark's outputNew, the last batch before the failure first", func(t *testing.T) {
		require.Equal(t, want[initialNumBatches-1:], elems(second), "%v", second)
	})
}

func sparkPairs(s dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int]] {
	return dstream.Map(s, func(x string) rdd.Pair[string, int] { return rdd.KV(x, 1) })
}

func sparkAdd(a, b int) int { return a + b }

// sparkSum is the updateFunc of Spark's suite:
// Some(values.sum + state.getOrElse(0)).
func sparkSum(values []int, state rdd.Option[int]) rdd.Option[int] {
	n := state.Value
	for _, v := range values {
		n += v
	}
	return rdd.Some(n)
}

// Spark's input and expected output of the map and reduceByKey cases.
var (
	sparkWordsInput = [][]string{{"a", "a", "b"}, {"", ""}, {}, {"a", "a", "b"}, {"", ""}, {}}
	sparkWordsOut   = [][]string{{"(a,2)", "(b,1)"}, {"(,2)"}, {}, {"(a,2)", "(b,1)"}, {"(,2)"}, {}}
)

// test("recovery with map and reduceByKey operations")
func TestSparkCheckpointSuite_MapAndReduceByKey(t *testing.T) {
	first, second := sparkCheckpointedOperation(t, sparkWordsInput,
		func(s dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int]] {
			return dstream.ReduceByKey(sparkPairs(s), sparkAdd)
		}, 3)
	checkSparkCheckpointedOperation(t, first, second, sparkWordsOut, 3, false)
}

// test("recovery with invertible reduceByKeyAndWindow operation")
func TestSparkCheckpointSuite_InvertibleReduceByKeyAndWindow(t *testing.T) {
	const n, w = 10, 4
	input := make([][]string, n)
	for i := range input {
		input[i] = []string{"a"}
	}
	output := [][]string{{"(a,1)"}, {"(a,2)"}, {"(a,3)"}}
	for range n - w + 1 {
		output = append(output, []string{"(a,4)"})
	}
	first, second := sparkCheckpointedOperation(t, input,
		func(s dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int]] {
			return dstream.ReduceByKeyAndWindow(sparkPairs(s), sparkAdd, w*time.Second, time.Second,
				dstream.WithInverse(func(a, b int) int { return a - b })).Checkpoint(2 * time.Second)
		}, 7)
	checkSparkCheckpointedOperation(t, first, second, output, 7, true)
}

// readSaved returns the lines of the part files of a SaveAsTextFile
// directory, sorted, or "missing" when it has no _SUCCESS marker.
func readSaved(t *testing.T, dir string) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "_SUCCESS")); err != nil {
		return "missing"
	}
	lines, err := rdd.TextFile(dir, 1).Collect(stdctx.Background())
	require.NoError(t, err)
	slices.Sort(lines)
	return strings.Join(lines, " ")
}

// test("recovery with saveAsHadoopFiles operation") and
// test("recovery with saveAsNewAPIHadoopFiles operation"), which differ
// only in the Hadoop API: both are SaveAsTextFiles here. Spark checks the
// stream's output only; this also reads the files each batch wrote.
func TestSparkCheckpointSuite_SaveAsTextFiles(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "out")
	first, second := sparkCheckpointedOperation(t, sparkWordsInput,
		func(s dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int]] {
			output := dstream.ReduceByKey(sparkPairs(s), sparkAdd)
			output.SaveAsTextFiles(prefix, "result")
			return output
		}, 3)
	checkSparkCheckpointedOperation(t, first, second, sparkWordsOut, 3, false)
	t.Run("files", func(t *testing.T) {
		want := sparkExpected(sparkWordsOut)
		for i := range want {
			require.Equal(t, want[i], readSaved(t, fmt.Sprintf("%s-%d.result", prefix, (i+1)*1000)), "batch %d", i+1)
		}
	})
}

// saveInsideTransform is the operation of Spark's SPARK-4835 test: the
// batch's RDD saved with the RDD's SaveAsTextFile inside a transform, to
// dir/result-<ms>, and returned. A failing save fails the transform, so the
// batch (Spark: "prevents the expected output from being written").
func saveInsideTransform(dir string) func(s dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int]] {
	return func(s dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int]] {
		return dstream.TransformWithTime(s, func(r *rdd.RDD[string], bt time.Time) *rdd.RDD[rdd.Pair[string, int]] {
			output := rdd.ReduceByKey(rdd.Map(r, func(x string) rdd.Pair[string, int] { return rdd.KV(x, 1) }), sparkAdd)
			if err := output.SaveAsTextFile(stdctx.Background(), filepath.Join(dir, fmt.Sprintf("result-%d", bt.UnixMilli()))); err != nil {
				panic(err)
			}
			return output
		})
	}
}

// test("recovery with saveAsHadoopFile inside transform operation")
// (SPARK-4835): the save is the RDD's SaveAsTextFile.
func TestSparkCheckpointSuite_SaveAsTextFileInsideTransform(t *testing.T) {
	tmp := t.TempDir()
	first, second := sparkCheckpointedOperation(t, sparkWordsInput, saveInsideTransform(tmp), 3)
	checkSparkCheckpointedOperation(t, first, second, sparkWordsOut, 3, false)
}

// test("recovery with updateStateByKey operation")
func TestSparkCheckpointSuite_UpdateStateByKey(t *testing.T) {
	input := make([][]string, 10)
	output := make([][]string, 10)
	for i := range input {
		input[i] = []string{"a"}
		output[i] = []string{fmt.Sprintf("(a,%d)", i+1)}
	}
	first, second := sparkCheckpointedOperation(t, input,
		func(s dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int]] {
			st := dstream.UpdateStateByKey(sparkPairs(s), sparkSum).Checkpoint(2 * time.Second)
			return dstream.Map(st, func(p rdd.Pair[string, int]) rdd.Pair[string, int] { return rdd.KV(p.Key, p.Value) })
		}, 7)
	checkSparkCheckpointedOperation(t, first, second, output, 7, true)
}

// testClz stands for the class of Spark's test("recovery from checkpoint
// contains array object") (SPARK-5569), whose instances' toString is
// "testStringValue".
type testClz struct{ Value string }

// The Go analogue of test("recovery from checkpoint contains array
// object"): Spark's test is about the class loader that deserializes an
// Array[testClz], which has no Go counterpart; here the state is a slice
// of a user struct, restored from the msgpack checkpoint. The expected
// output is derived, not Spark's (its test has none).
func TestSparkCheckpointSuite_CheckpointContainsArrayObject(t *testing.T) {
	input := make([][]string, 6)
	output := make([][]string, 6)
	for i := range input {
		input[i] = []string{"a"}
		output[i] = []string{fmt.Sprintf("(a,%d×testStringValue)", i+1)}
	}
	first, second := sparkCheckpointedOperation(t, input,
		func(s dstream.DStream[string]) dstream.DStream[rdd.Pair[string, string]] {
			st := dstream.UpdateStateByKey(sparkPairs(s), func(vs []int, s rdd.Option[[]testClz]) rdd.Option[[]testClz] {
				out := slices.Clone(s.Value)
				for range vs {
					out = append(out, testClz{"testStringValue"})
				}
				return rdd.Some(out)
			}).Checkpoint(2 * time.Second)
			return dstream.Map(st, func(p rdd.Pair[string, []testClz]) rdd.Pair[string, string] {
				for _, c := range p.Value {
					if c.Value != "testStringValue" {
						return rdd.KV(p.Key, "corrupt: "+c.Value)
					}
				}
				return rdd.KV(p.Key, fmt.Sprintf("%d×testStringValue", len(p.Value)))
			})
		}, 3)
	checkSparkCheckpointedOperation(t, first, second, output, 3, true)
}

// constantInput is Spark's CheckpointInputDStream: every batch is Seq(1),
// and its checkpoint data counts the restores (restoredTimes).
type constantInput struct {
	restoredTimes atomic.Int32
}

func (c *constantInput) Compute(time.Time) (*rdd.RDD[int], int64, error) {
	return rdd.Parallelize([]int{1}, 1), 1, nil
}
func (c *constantInput) Start(stdctx.Context) error { return nil }
func (c *constantInput) Stop(bool)                  {}
func (c *constantInput) Pending() bool              { return false }
func (c *constantInput) CheckpointPosition(time.Time) ([]byte, error) {
	return []byte{1}, nil
}
func (c *constantInput) RestorePosition([]byte) error {
	c.restoredTimes.Add(1)
	return nil
}

var _ context.CheckpointedInput = (*constantInput)(nil)

// test("DStream checkpoint invoke times"): an input's checkpoint data is
// restored once, whatever the number of output operations, and the
// output goes on with the same data. Spark expects three outputs after
// the restart from two clock advances: the last batch before the failure
// runs again.
func TestSparkCheckpointSuite_DStreamCheckpointRestoreInvokeTimes(t *testing.T) {
	dir := t.TempDir()
	var input *constantInput
	setup := func(l *sparkLife) func(*context.StreamingContext) error {
		return func(ssc *context.StreamingContext) error {
			input = &constantInput{}
			mapped := dstream.Map(context.NewInputStream[int](ssc, "CheckpointInputDStream", input), func(x int) int { return x + 100 })
			collectSpark(l, mapped)
			// do two more outputs
			count := func(ctx stdctx.Context, r *rdd.RDD[int], _ time.Time) error { _, err := r.Count(ctx); return err }
			mapped.ForeachRDD(count)
			mapped.ForeachRDD(count)
			return nil
		}
	}
	l1 := &sparkLife{}
	r := startRun(t, dir, 0, setup(l1))
	require.Zero(t, input.restoredTimes.Load())
	r.stepsDurable(3 * time.Second)
	require.NoError(t, r.ssc.Stop(false))
	require.Equal(t, []string{"101", "101", "101"}, elems(l1.list()))
	require.Zero(t, input.restoredTimes.Load())

	l2 := &sparkLife{}
	r = startRun(t, dir, 3*time.Second, setup(l2))
	require.Equal(t, int32(1), input.restoredTimes.Load())
	r.steps(5 * time.Second)
	require.NoError(t, r.ssc.Stop(false))
	require.Equal(t, int32(1), input.restoredTimes.Load())
	got := l2.list()
	t.Logf("second life: %v", got)
	t.Run("batches after the failure", func(t *testing.T) {
		require.Equal(t, []sparkBatch{{4, "101"}, {5, "101"}}, got)
	})
	// Spark's output after the restart is 101 three times: it runs the last
	// batch before the failure again, which a stateless graph here does not.
}

// test("SPARK-6847: stack overflow when updateStateByKey is followed by a
// checkpointed dstream"): two updateStateByKey, each checkpointed every
// batch, over CheckpointInputDStream. Spark checks that both state RDDs
// are checkpointed after one batch (a lineage truncated, else a stack
// overflow in the long run), which has no counterpart here; this runs the
// chain for many batches, restores it and checks its data, derived (Spark
// has no expected output): the first state is n at batch n, the second
// the sum of the first's, n(n+1)/2.
func TestSparkCheckpointSuite_SPARK6847UpdateStateByKeyChain(t *testing.T) {
	const firstLife, n = 40, 80
	dir := t.TempDir()
	setup := func(l *sparkLife) func(*context.StreamingContext) error {
		return func(ssc *context.StreamingContext) error {
			in := context.NewInputStream[int](ssc, "CheckpointInputDStream", &constantInput{})
			pairs := dstream.Map(in, func(i int) rdd.Pair[int, int] { return rdd.KV(i, i) })
			s1 := dstream.UpdateStateByKey(pairs, sparkSum).Checkpoint(time.Second)
			s2 := dstream.UpdateStateByKey(s1, sparkSum).Checkpoint(time.Second)
			collectSpark(l, s2)
			return nil
		}
	}
	l1 := &sparkLife{}
	r := startRun(t, dir, 0, setup(l1))
	r.stepsDurable(firstLife * time.Second)
	require.NoError(t, r.ssc.Stop(false))
	l2 := &sparkLife{}
	r = startRun(t, dir, firstLife*time.Second, setup(l2))
	r.steps(n * time.Second)
	require.NoError(t, r.ssc.Stop(false))

	var want []sparkBatch
	for i := int64(1); i <= n; i++ {
		want = append(want, sparkBatch{i, fmt.Sprintf("(1,%d)", i*(i+1)/2)})
	}
	require.Equal(t, want[:firstLife], l1.list())
	require.Equal(t, want[firstLife:], l2.list())
}

// test("basic rdd checkpoints + dstream graph checkpoint recovery"): a
// state checkpointed every two batches, run for 4 + 4 batches, restarted
// and run for one, restarted 7 batches later and run for 4. Spark checks
// the state stream's checkpoint files (written, deleted, restored); the
// data it implies is the running count of "a", one a batch for 10 batches:
// (a, min(n, 10)) at every batch n, whichever life ran it.
func TestSparkCheckpointSuite_BasicRDDCheckpointsAndGraphRecovery(t *testing.T) {
	dir := t.TempDir()
	input := make([][]string, 10)
	for i := range input {
		input[i] = []string{"a"}
	}
	setup := func(l *sparkLife) func(*context.StreamingContext) error {
		return func(ssc *context.StreamingContext) error {
			q := context.NewQueue[string]()
			for _, b := range input {
				q.PushSlice(b, 2)
			}
			st := dstream.UpdateStateByKey(sparkPairs(context.QueueStream(ssc, q, true)), sparkSum, dstream.WithName("state"))
			st.Checkpoint(2 * time.Second) // stateStreamCheckpointInterval = Seconds(1) = 2 batches
			collectSpark(l, dstream.Map(st, func(p rdd.Pair[string, int]) rdd.Pair[string, int] { return rdd.KV(p.Key, p.Value) }))
			return nil
		}
	}
	stateInCheckpoint := func(when string) {
		t.Helper()
		store, err := checkpoint.Open(dir)
		require.NoError(t, err)
		m, err := store.LatestMetadata()
		require.NoError(t, err)
		require.Contains(t, m.State, "state", "no checkpointed data of the state stream %s", when)
	}

	lives := []*sparkLife{{}, {}, {}}
	r := startRun(t, dir, 0, setup(lives[0]))
	r.stepsDurable(4 * time.Second)
	stateInCheckpoint("before first failure")
	r.stepsDurable(8 * time.Second)
	require.NoError(t, r.ssc.Stop(false))
	stateInCheckpoint("after first failure")

	r = startRun(t, dir, 8*time.Second, setup(lives[1]))
	r.stepsDurable(9 * time.Second)
	stateInCheckpoint("before second failure")
	require.NoError(t, r.ssc.Stop(false))

	r = startRun(t, dir, 16*time.Second, setup(lives[2])) // spark.streaming.manualClock.jump: 7 batches
	r.steps(20 * time.Second)
	require.NoError(t, r.ssc.Stop(false))

	byTime := map[int64]string{}
	for i, l := range lives {
		t.Logf("life %d: %v", i+1, l.list())
		for _, b := range l.list() {
			if prev, ok := byTime[b.sec]; ok {
				require.Equal(t, prev, b.elems, "batch %d s run again with other output", b.sec)
			}
			byTime[b.sec] = b.elems
		}
	}
	want := map[int64]string{}
	for n := int64(1); n <= 20; n++ {
		want[n] = fmt.Sprintf("(a,%d)", min(n, 10))
	}
	require.Equal(t, want, byTime)
}

// test("recovery with file input stream"): a file stream of numbers, a
// reduceByWindow over 30 batches; the context is stopped while batch 3
// (the file holding 3) is processing, files 4 to 6 are written while it is
// down, and files 7 to 9 after the restart. Spark's batchDuration is 2 s
// "due to 1-second resolution of setLastModified() on some OS's"; the
// modification times here are set to the half-second.
func TestSparkCheckpointSuite_FileInputStream(t *testing.T) {
	dir, testDir := t.TempDir(), t.TempDir()
	var batchThreeShouldBlock atomic.Bool
	release := make(chan struct{})
	blocked := make(chan struct{}, 1)
	setup := func(l *sparkLife) func(*context.StreamingContext) error {
		return func(ssc *context.StreamingContext) error {
			fileStream := context.TextFileStream(ssc, testDir)
			mapped := dstream.Map(fileStream, func(s string) int {
				i, err := strconv.Atoi(s)
				if err != nil {
					panic(err)
				}
				if i == 3 && batchThreeShouldBlock.Load() {
					select {
					case blocked <- struct{}{}:
					default:
					}
					<-release
				}
				return i
			})
			collectSpark(l, mapped.ReduceByWindow(sparkAdd, 30*time.Second, time.Second))
			return nil
		}
	}
	// writeFile writes file i, modified half a batch before the batch
	// that takes it: batch i for files 1 to 3, batch i+1 for the others,
	// as Spark's batch times (4, 5, 6 at 10000, 12000, 14000 ms).
	writeFile := func(i int) {
		batch := i
		if i > 3 {
			batch = i + 1
		}
		writeAt(t, testDir, strconv.Itoa(i), fmt.Sprintf("%d\n", i), time.UnixMilli(int64(batch)*1000-500))
	}

	batchThreeShouldBlock.Store(true)
	l1 := &sparkLife{}
	r := startRun(t, dir, 0, setup(l1))
	for _, i := range []int{1, 2} {
		writeFile(i)
		r.stepsDurable(time.Duration(i) * time.Second)
	}
	writeFile(3)
	r.clock.Advance(time.Second) // batch 3 starts and blocks
	select {
	case <-blocked:
	case <-time.After(30 * time.Second):
		t.Fatal("batch 3 did not start")
	}
	r.clock.Advance(time.Second) // batch 4 falls due behind it
	stopped := make(chan error, 1)
	go func() { stopped <- r.ssc.Stop(false) }()
	<-context.StopRequested(r.ssc)
	close(release) // Spark's Thread.sleep(Long.MaxValue) ends with the interrupt
	require.NoError(t, <-stopped)
	batchThreeShouldBlock.Store(false)
	// Check that we shut down while the third batch was being processed
	require.Equal(t, []sparkBatch{{1, "1"}, {2, "3"}}, l1.list())

	for _, i := range []int{4, 5, 6} {
		writeFile(i) // while the driver is down
	}
	l2 := &sparkLife{}
	r = startRun(t, dir, 7*time.Second, setup(l2))
	r.waitFor(time.UnixMilli(7000))    // 3 to 7, as Spark's 5 batches between 6000ms and 15000ms
	for _, i := range []int{7, 8, 9} { // after the recovery
		writeFile(i)
		r.steps(time.Duration(i+1) * time.Second)
	}
	require.NoError(t, r.ssc.Stop(false))
	t.Logf("second life: %v", l2.list())
	require.NotEmpty(t, l2.list(), "No files processed after restart")

	all := map[string]bool{}
	for _, b := range append(l1.list(), l2.list()...) {
		for _, e := range strings.Fields(b.elems) {
			all[e] = true
		}
	}
	want := map[string]bool{}
	for _, e := range []int{1, 3, 6, 10, 15, 21, 28, 36, 45} {
		want[strconv.Itoa(e)] = true
	}
	require.Equal(t, want, all)
	// Spark's run gives, after the restart, 6 (6000 ms, run again), 6
	// (8000 ms), 10, 15, 21 and, after the files written since, 28, 36, 45.
	require.Equal(t, []sparkBatch{{3, "6"}, {4, "6"}, {5, "10"}, {6, "15"}, {7, "21"}, {8, "28"}, {9, "36"}, {10, "45"}}, l2.list())
}

// MapWithStateSuite's test("mapWithState - driver failure recovery"):
// Spark's input, a running count, the MapWithState stream checkpointed every
// batchDuration × (7 / 2) = 3 s and the state snapshots as the output; 3
// batches, a stop once the last one's checkpoint is written, a restart, the
// other 4. The data checkpoint at 3 s is the recovery point, so no batch
// runs again.
func TestSparkCheckpointSuite_MapWithStateDriverFailureRecovery(t *testing.T) {
	input := [][]string{{}, {"a"}, {"a", "b"}, {"a", "b", "c"}, {"a", "b"}, {"a"}, {}}
	stateData := [][]string{{}, {"(a,1)"}, {"(a,2)", "(b,1)"}, {"(a,3)", "(b,2)", "(c,1)"},
		{"(a,4)", "(b,3)", "(c,1)"}, {"(a,5)", "(b,3)", "(c,1)"}, {"(a,5)", "(b,3)", "(c,1)"}}
	runningCount := dstream.StateSpecFunc(func(_ time.Time, _ string, v rdd.Option[int], s *dstream.State[int]) rdd.Option[int] {
		s.Update(s.GetOption().Value + v.Value) // getOrElse(0) both
		return rdd.Some(s.Get())
	})
	first, second := sparkCheckpointedOperation(t, input,
		func(s dstream.DStream[string]) dstream.DStream[rdd.Pair[string, int]] {
			mws := dstream.MapWithState(sparkPairs(s), runningCount)
			mws.Checkpoint(3 * time.Second)
			return mws.StateSnapshots()
		}, 3)
	checkSparkCheckpointedOperation(t, first, second, stateData, 3, false)
}
