package context_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/rdd"
)

// stepWriting advances r to batch to, writing file f<n> (modified at n-0.5 s)
// before stepping to batch n s; durable waits for each checkpoint.
func stepWriting(t *testing.T, r *run, in string, to int, durable bool) {
	for n := int(r.clock.Now().UnixMilli()/1000) + 1; n <= to; n++ {
		name := fmt.Sprintf("f%d", n)
		if _, err := os.Stat(filepath.Join(in, name)); err != nil {
			writeAt(t, in, name, name+"\n", time.UnixMilli(int64(n*1000-500)))
		}
		if durable {
			r.stepsDurable(time.Duration(n) * time.Second)
		} else {
			r.steps(time.Duration(n) * time.Second)
		}
	}
}

// runFiles runs setup over the files stepWriting writes into in up to
// batch n, crashing (Stop(false)) after batch crashAt and restarting when
// crashAt > 0, and returns what it collected.
func runFiles(t *testing.T, setup func(*results) func(*context.StreamingContext) error, in string, crashAt, n int) map[string]string {
	dir := t.TempDir()
	got := newResults()
	r := startRun(t, dir, 0, setup(got))
	if crashAt > 0 {
		stepWriting(t, r, in, crashAt, true)
		require.NoError(t, r.ssc.Stop(false))
		r = startRun(t, dir, time.Duration(crashAt)*time.Second, setup(got))
	}
	stepWriting(t, r, in, n, false)
	require.NoError(t, r.ssc.Stop(false))
	return got.snapshot()
}

// A window longer than the file stream's remember window gets, after a
// restart, the files of all its batches: the checkpoint lists the files of
// the batches the stream remembers, not only of those in the file window.
func TestLongWindowOverFilesAfterRestart(t *testing.T) {
	mk := func(in string) func(out *results) func(*context.StreamingContext) error {
		return func(out *results) func(*context.StreamingContext) error {
			return func(ssc *context.StreamingContext) error {
				lines := context.TextFileStream(ssc, in, context.WithFileRemember(time.Second))
				collectInto(out, "win", lines.Window(4*time.Second, time.Second))
				return nil
			}
		}
	}
	in1, in2 := t.TempDir(), t.TempDir()
	w := runFiles(t, mk(in1), in1, 0, 6)
	g := runFiles(t, mk(in2), in2, 4, 6)
	require.Equal(t, w, g)
}

// A restart before the first data checkpoint (state checkpointed every
// 10 s) restores the file stream's start: the files taken before the
// crash are taken again by the batches run again, and those that arrived
// while it was down are taken. (The stream built again at the restart had
// taken the files there then as old.)
func TestFileStreamRestartBeforeFirstDataCheckpoint(t *testing.T) {
	mk := func(in string) func(out *results) func(*context.StreamingContext) error {
		return func(out *results) func(*context.StreamingContext) error {
			return func(ssc *context.StreamingContext) error {
				lines := context.TextFileStream(ssc, in)
				collectInto(out, "lines", lines)
				pairs := dstream.Map(lines, func(s string) rdd.Pair[string, int] { return rdd.Pair[string, int]{Key: s, Value: 1} })
				st := dstream.UpdateStateByKey(pairs, func(vs []int, s rdd.Option[int]) rdd.Option[int] { return rdd.Some(s.Value + len(vs)) })
				st.Checkpoint(10 * time.Second)
				collectInto(out, "state", st)
				return nil
			}
		}
	}
	in1, in2 := t.TempDir(), t.TempDir()
	w := runFiles(t, mk(in1), in1, 0, 4)
	g := runFiles(t, mk(in2), in2, 3, 4)
	require.Equal(t, w, g)
}
