package context_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
)

// These tests cover the files of a file stream that fail: a parse that
// panics, a file that cannot be read for a while, one that disappears.
// Tests run as root, where permissions do not stop a read; a read is made to
// fail instead by turning the file, after the stream listed it as a regular
// file, into a directory (reading it fails with EISDIR). The parse of a file
// read before it does that (sabotage), which is deterministic: the files of
// a batch are read and parsed one after the other, in modification order.

// sabotage makes the parse of one file break another of the same batch,
// before the stream reads it: replace by a directory, or remove.
type sabotage struct {
	mu      sync.Mutex
	dir     string
	actions map[string]func(path string) error // by name of the file parsed
}

func newSabotage(dir string) *sabotage {
	return &sabotage{dir: dir, actions: map[string]func(string) error{}}
}

// breakRead makes the parse of trigger turn victim into a directory.
func (s *sabotage) breakRead(trigger, victim string) {
	s.on(trigger, victim, func(p string) error {
		if err := os.Remove(p); err != nil {
			return err
		}
		return os.Mkdir(p, 0o755)
	})
}

// remove makes the parse of trigger remove victim.
func (s *sabotage) remove(trigger, victim string) { s.on(trigger, victim, os.Remove) }

func (s *sabotage) on(trigger, victim string, act func(string) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.actions[trigger] = func(string) error { return act(filepath.Join(s.dir, victim)) }
}

// parse splits a file into words, first running (once) the action its name
// triggers; an action that fails fails the parse, which the test sees.
func (s *sabotage) parse(path string, data []byte) ([]string, error) {
	s.mu.Lock()
	act := s.actions[filepath.Base(path)]
	delete(s.actions, filepath.Base(path))
	s.mu.Unlock()
	if act != nil {
		if err := act(path); err != nil {
			return nil, err
		}
	}
	return strings.Fields(string(data)), nil
}

// restore puts back as a regular file, modified at mod, a file sabotage
// turned into a directory.
func restore(t *testing.T, dir, name, content string, mod time.Time) {
	t.Helper()
	require.NoError(t, os.Remove(filepath.Join(dir, name)))
	writeAt(t, dir, name, content, mod)
}

// A parse that panics skips its file alone, reported naming the file and
// the batch, wrapping dstream.ErrUserPanic; the batch goes on with the other
// files. (The panic failed the whole batch, without naming the file, and its
// good files were lost: taken, never read.)
func TestFileStreamParsePanicSkipsOnlyThatFile(t *testing.T) {
	dir := t.TempDir()
	h := dstreamtest.NewHarness(t, time.Second, context.WithContinueOnBatchFailure())
	errs := &errorListener{}
	h.Context().AddStreamingListener(errs)
	parse := func(path string, data []byte) ([]string, error) {
		if strings.Contains(string(data), "boom") {
			panic("parser boom")
		}
		return strings.Fields(string(data)), nil
	}
	out := dstreamtest.Collect(context.FileStream(h.Context(), dir, parse))
	h.Start()
	now := h.Clock().Now()
	writeAt(t, dir, "1.in", "one", now.Add(100*time.Millisecond))
	writeAt(t, dir, "2.in", "boom", now.Add(200*time.Millisecond))
	writeAt(t, dir, "3.in", "three", now.Add(300*time.Millisecond))
	for range 3 {
		require.NoError(t, h.Step().Err())
	}
	h.Stop()
	require.Equal(t, [][]string{{"one", "three"}, {}, {}}, out.Batches())
	got := errs.all()
	require.Len(t, got, 1)
	require.Contains(t, got[0].LastErrorMessage, filepath.Join(dir, "2.in"))
	require.Contains(t, got[0].LastErrorMessage, "1000 ms")
	require.ErrorIs(t, got[0].LastError, dstream.ErrUserPanic)
	require.ErrorContains(t, got[0].LastError, "parser boom")
	require.ErrorContains(t, got[0].LastError, filepath.Join(dir, "2.in"))
	require.ErrorContains(t, got[0].LastError, "1000 ms")
}

// A panic whose value is an error is wrapped too, so errors.Is finds it.
func TestFileStreamParsePanicWithErrorWrapsIt(t *testing.T) {
	dir := t.TempDir()
	h := dstreamtest.NewHarness(t, time.Second, context.WithContinueOnBatchFailure())
	errs := &errorListener{}
	h.Context().AddStreamingListener(errs)
	errBad := errors.New("bad header")
	parse := func(path string, data []byte) ([]string, error) {
		if strings.Contains(string(data), "bad") {
			panic(errBad)
		}
		return strings.Fields(string(data)), nil
	}
	out := dstreamtest.Collect(context.FileStream(h.Context(), dir, parse))
	h.Start()
	writeAt(t, dir, "1.in", "bad", h.Clock().Now().Add(100*time.Millisecond))
	writeAt(t, dir, "2.in", "two", h.Clock().Now().Add(200*time.Millisecond))
	require.NoError(t, h.Step().Err())
	h.Stop()
	require.Equal(t, [][]string{{"two"}}, out.Batches())
	require.Len(t, errs.all(), 1)
	require.ErrorIs(t, errs.all()[0].LastError, dstream.ErrUserPanic)
	require.ErrorIs(t, errs.all()[0].LastError, errBad)
}

// A file that cannot be read is reported and not taken: each next batch
// tries it again, reporting each failure, until it is read, once, by a
// later batch. A file that disappeared before it was read is skipped for
// good, even if a file of that name comes back. (An unreadable file was
// marked taken before it was read, and never read.)
func TestFileStreamRetriesFileThatCouldNotBeRead(t *testing.T) {
	dir := t.TempDir()
	h := dstreamtest.NewHarness(t, time.Second)
	errs := &errorListener{}
	h.Context().AddStreamingListener(errs)
	sab := newSabotage(dir)
	out := dstreamtest.Collect(context.FileStream(h.Context(), dir, sab.parse))
	h.Start()
	at := func(ms int) time.Time { return time.UnixMilli(int64(ms)) }

	sab.breakRead("a.in", "b.in")
	writeAt(t, dir, "a.in", "a", at(100))
	writeAt(t, dir, "b.in", "b", at(200))
	h.Step() // 1000 ms: a read; b fails

	restore(t, dir, "b.in", "b", at(200))
	sab.breakRead("c.in", "b.in")
	writeAt(t, dir, "c.in", "c", at(150))
	h.Step() // 2000 ms: c read; b tried again, fails again

	restore(t, dir, "b.in", "b", at(200))
	h.Step() // 3000 ms: b read
	h.Step() // 4000 ms: nothing: b is not taken twice

	sab.remove("d.in", "e.in")
	writeAt(t, dir, "d.in", "d", at(4100))
	writeAt(t, dir, "e.in", "e", at(4200))
	h.Step() // 5000 ms: d read; e disappeared
	writeAt(t, dir, "e.in", "e", at(4200))
	h.Step() // 6000 ms: e is not taken again
	h.Stop()

	require.Equal(t, [][]string{{"a"}, {"c"}, {"b"}, {}, {"d"}, {}}, out.Batches())
	got := errs.all()
	require.Len(t, got, 3)
	for i, batch := range []string{"1000 ms", "2000 ms"} {
		require.Contains(t, got[i].LastErrorMessage, filepath.Join(dir, "b.in"))
		require.Contains(t, got[i].LastErrorMessage, batch)
		require.Contains(t, got[i].LastErrorMessage, "tried again")
		require.ErrorIs(t, got[i].LastError, syscall.EISDIR)
		require.ErrorContains(t, got[i].LastError, batch)
	}
	require.Contains(t, got[2].LastErrorMessage, filepath.Join(dir, "e.in"))
	require.Contains(t, got[2].LastErrorMessage, "5000 ms")
	require.ErrorIs(t, got[2].LastError, fs.ErrNotExist)
}

// A file that still cannot be read when its modification time leaves the
// remember window is no longer tried, and that is reported once, with its
// last error.
func TestFileStreamGivesUpUnreadableFileOutOfRememberWindow(t *testing.T) {
	dir := t.TempDir()
	h := dstreamtest.NewHarness(t, time.Second)
	errs := &errorListener{}
	h.Context().AddStreamingListener(errs)
	sab := newSabotage(dir)
	out := dstreamtest.Collect(context.FileStream(h.Context(), dir, sab.parse, context.WithFileRemember(2*time.Second)))
	h.Start()
	at := func(ms int) time.Time { return time.UnixMilli(int64(ms)) }

	sab.breakRead("a.in", "b.in")
	writeAt(t, dir, "a.in", "a", at(100))
	writeAt(t, dir, "b.in", "b", at(200))
	h.Step() // 1000 ms: b fails
	restore(t, dir, "b.in", "b", at(200))
	sab.breakRead("c.in", "b.in")
	writeAt(t, dir, "c.in", "c", at(150))
	h.Step() // 2000 ms: b fails again
	restore(t, dir, "b.in", "b", at(200))
	h.Step() // 3000 ms: b, modified at 200 ms, is older than the window (1000 ms on)
	h.Step()
	h.Stop()

	require.Equal(t, [][]string{{"a"}, {"c"}, {}, {}}, out.Batches())
	got := errs.all()
	require.Len(t, got, 3)
	require.Contains(t, got[1].LastErrorMessage, "2000 ms")
	require.Contains(t, got[2].LastErrorMessage, filepath.Join(dir, "b.in"))
	require.Contains(t, got[2].LastErrorMessage, "3000 ms")
	require.Contains(t, got[2].LastErrorMessage, "given up")
	require.ErrorIs(t, got[2].LastError, syscall.EISDIR)
}

// A file given back because it could not be read is not in the position
// checkpointed as of its batch: after a restart it is taken, once, by a
// later batch; once read, it is in the position and a restart does not take
// it again.
func TestFileStreamRetriedFileTakenOnceAcrossRestart(t *testing.T) {
	for _, tc := range []struct {
		name    string
		crashAt time.Duration // b is read by batch 2000 ms
	}{
		{name: "crash before it is read", crashAt: time.Second},
		{name: "crash after it is read", crashAt: 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, in := t.TempDir(), t.TempDir()
			out := newResults()
			sab := newSabotage(in)
			setup := func(ssc *context.StreamingContext) error {
				collectInto(out, "lines", context.FileStream(ssc, in, sab.parse))
				return nil
			}
			r := startRun(t, dir, 0, setup)
			sab.breakRead("a", "b")
			writeAt(t, in, "a", "a", time.UnixMilli(500))
			writeAt(t, in, "b", "b", time.UnixMilli(600))
			r.stepsDurable(time.Second) // b fails
			restore(t, in, "b", "b", time.UnixMilli(600))
			r.stepsDurable(tc.crashAt)
			require.NoError(t, r.ssc.Stop(false))
			r = startRun(t, dir, tc.crashAt, setup)
			r.steps(4 * time.Second)
			require.NoError(t, r.ssc.Stop(false))
			var all []string
			for k, v := range out.snapshot() {
				if v != "" {
					all = append(all, k+"="+v)
				}
			}
			require.ElementsMatch(t, []string{"lines@1000=a", "lines@2000=b"}, all)
		})
	}
}
