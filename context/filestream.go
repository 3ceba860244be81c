package context

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/rdd"
)

// FileOption tunes a file stream. Each option's doc says the default it
// overrides.
type FileOption interface{ applyFile(*fileConfig) }

type fileOptionFunc func(*fileConfig)

func (f fileOptionFunc) applyFile(c *fileConfig) { f(c) }

type fileConfig struct {
	filter       func(path string) bool
	newFilesOnly bool
	remember     time.Duration
}

// WithFileFilter takes only the files for which keep returns true. The
// default takes every file whose name does not start with "." or "_".
func WithFileFilter(keep func(path string) bool) FileOption {
	return fileOptionFunc(func(c *fileConfig) { c.filter = keep })
}

// WithNewFilesOnly sets whether the stream takes only files that appear
// after it is created, Spark's newFilesOnly. The default, true, ignores
// every file there at the start; false also takes the files already in the
// directory that were modified within the remember window before the first
// batch (WithFileRemember, 60 s by default); older ones are never taken.
func WithNewFilesOnly(newOnly bool) FileOption {
	return fileOptionFunc(func(c *fileConfig) { c.newFilesOnly = newOnly })
}

// WithFileRemember sets how far back in modification time files are still
// considered new, Spark's spark.streaming.fileStream.minRememberDuration.
// The default is 60 s, rounded up to whole batches.
func WithFileRemember(d time.Duration) FileOption {
	return fileOptionFunc(func(c *fileConfig) { c.remember = d })
}

// fileSource finds the new files of a directory at each batch time, Spark's
// FileInputDStream, and reads them eagerly so a file that disappears, cannot
// be read or cannot be parsed is reported instead of failing a batch: one
// that disappears or cannot be parsed is skipped, one that cannot be read is
// given back and tried again by the next batch (Compute).
type fileSource[T any] struct {
	ssc      *StreamingContext
	pattern  string // a directory, or a glob of files or directories
	cfg      fileConfig
	parse    func(path string, data []byte) ([]T, error)
	streamID func() int
	// remember is the stream's remember duration, which a window over it
	// lengthens: the batches in it may be computed again (after a restart,
	// from their files in selected).
	remember func() time.Duration

	mu sync.Mutex
	// initialThreshold ignores files modified well before the stream
	// started when only new files are wanted; preexisting holds the files
	// that were there at that moment, with their modification times, which
	// are ignored unless modified again. Both are needed because file
	// systems stamp files with a coarse clock that can read a few
	// milliseconds behind time.Now: a file written just after the stream
	// started may look older than the start. After a restart only the
	// checkpointed threshold holds: RestorePosition clears preexisting,
	// which lists the files of the restart, not of the first start.
	initialThreshold time.Time
	preexisting      map[string]time.Time
	// selected maps a batch time (UnixNano) to the files it took; files are
	// never taken twice while their batch is remembered.
	selected map[int64][]string
	seen     map[string]bool
	// retrying maps the files whose read failed (other than by their
	// disappearing) to that error: they were given back, not taken, and the
	// next batches try them again; one that becomes older than the remember
	// window first is reported as given up. Not checkpointed: after a
	// restart such a file is simply not taken yet.
	retrying map[string]error
	// restoredThrough is the batch time of a restored position: batches up
	// to it re-read the files they took (positions.go).
	restoredThrough time.Time
}

// TextFileStream returns a stream of the lines of new files in dir, Spark's
// textFileStream. dir may also be a glob: of files ("/in/*.csv"), or, as in
// Spark, of directories ("/in/day-*"), whose files are listed. A file is taken by
// the first batch whose time is at or after its modification time, once;
// files must therefore appear whole: write them elsewhere (or under a name
// starting with "." or "_") and rename them into dir, as with Spark. A
// missing directory, or a file removed or unreadable while listed, is logged
// and reported to listeners as an error of the stream; the stream goes on.
// A file removed before it was read is skipped; one that is there but could
// not be read (permission denied, too many open files, an I/O error) is not
// taken and is tried again by each next batch, reported each time it fails,
// until it is read or its modification time leaves the remember window
// (reported too); it then lands in a later batch.
func TextFileStream(ssc *StreamingContext, dir string, opts ...FileOption) dstream.DStream[string] {
	return FileStream(ssc, dir, splitLines, opts...)
}

// splitLines splits data into lines without their "\n" or "\r\n".
func splitLines(_ string, data []byte) ([]string, error) {
	if len(data) == 0 {
		return nil, nil
	}
	n := bytes.Count(data, []byte{'\n'})
	if data[len(data)-1] != '\n' {
		n++
	}
	lines := make([]string, 0, n)
	s := string(data)
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		line := s
		if i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		lines = append(lines, strings.TrimSuffix(line, "\r"))
	}
	return lines, nil
}

// FileStream returns a stream of the records parse makes of each new file
// in dir, Spark's fileStream; see TextFileStream for how files are chosen.
// Each file becomes one partition of its batch's RDD. A parse error, or a
// panic in parse (an error wrapping dstream.ErrUserPanic), is reported
// naming the file, and that file alone is skipped: the batch goes on with
// its other files.
func FileStream[T any](ssc *StreamingContext, dir string, parse func(path string, data []byte) ([]T, error), opts ...FileOption) dstream.DStream[T] {
	cfg := fileConfig{newFilesOnly: true, remember: 60 * time.Second}
	for _, o := range opts {
		if o != nil {
			o.applyFile(&cfg)
		}
	}
	if cfg.filter == nil {
		cfg.filter = defaultFileFilter
	}
	src := &fileSource[T]{ssc: ssc, pattern: dir, cfg: cfg, parse: parse, selected: map[int64][]string{}, seen: map[string]bool{}}
	if cfg.newFilesOnly {
		src.initialThreshold = ssc.cfg.clock.Now().Add(-fileTimestampSlack)
		src.preexisting = src.existingFiles()
	}
	d := NewInputStream[T](ssc, "FileInputStream", src)
	src.streamID, src.remember = d.ID, d.RememberDuration
	return d
}

// fileTimestampSlack is how far behind the clock a file's modification time
// may be and the file still count as new when only new files are wanted.
const fileTimestampSlack = time.Second

// existingFiles lists the files there now with their modification times;
// a directory that does not exist yet has none.
func (s *fileSource[T]) existingFiles() map[string]time.Time {
	paths, err := s.list()
	if err != nil {
		return nil
	}
	out := make(map[string]time.Time, len(paths))
	for _, p := range paths {
		if info, err := os.Stat(p); err == nil {
			out[p] = info.ModTime()
		}
	}
	return out
}

func defaultFileFilter(path string) bool {
	name := filepath.Base(path)
	return !strings.HasPrefix(name, ".") && !strings.HasPrefix(name, "_")
}

// rememberWindow is Spark's durationToRemember: the minimum remember
// duration rounded up to whole batches.
func (s *fileSource[T]) rememberWindow() time.Duration {
	b := s.ssc.batchInterval
	n := int64(math.Ceil(float64(s.cfg.remember) / float64(b)))
	return time.Duration(max(n, 1)) * b
}

// Compute takes the files new at batch time t and reads them. A file that
// cannot be parsed (parse returns an error or panics) is reported and
// skipped; so is one that disappeared. A file that exists but cannot be read
// (permission denied, too many open files, an I/O error) is reported and
// given back: it counts as not taken, so a later batch tries it again, while
// its modification time is within the remember window. A batch computed
// again after a restart re-reads the files it took before the crash, which
// stay taken by it whatever happens.
func (s *fileSource[T]) Compute(t time.Time) (*rdd.RDD[T], int64, error) {
	files, again := s.filesOf(t)
	var parts [][]T
	var records int64
	var unread map[string]error
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			err = fmt.Errorf("FileInputStream (stream %d) at batch %s: %w", s.streamID(), dstream.FormatTime(t), err)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				s.report(fmt.Sprintf("file %s taken at batch %s disappeared before it was read; skipped", f, dstream.FormatTime(t)), err)
			case again:
				s.report(fmt.Sprintf("file %s taken at batch %s before the restart could not be read again; skipped", f, dstream.FormatTime(t)), err)
			default:
				s.report(fmt.Sprintf("file %s taken at batch %s could not be read; it is tried again at the next batch", f, dstream.FormatTime(t)), err)
				if unread == nil {
					unread = map[string]error{}
				}
				unread[f] = err
			}
			continue
		}
		recs, err := s.parseFile(f, data)
		if err != nil {
			err = fmt.Errorf("FileInputStream (stream %d) at batch %s: parsing %s: %w", s.streamID(), dstream.FormatTime(t), f, err)
			s.report(fmt.Sprintf("file %s taken at batch %s could not be parsed; skipped", f, dstream.FormatTime(t)), err)
			continue
		}
		parts = append(parts, recs)
		records += int64(len(recs))
	}
	if !again {
		s.settle(t, files, unread)
	}
	return rdd.FromPartitions(parts), records, nil
}

// parseFile runs the user's parse over the data of file f. A panic in parse
// is recovered and returned as an error wrapping dstream.ErrUserPanic (and
// the panic value, when it is an error), with the stack: like a parse
// error, it skips that file alone, and the other files of the batch are
// read.
func (s *fileSource[T]) parseFile(f string, data []byte) (recs []T, err error) {
	defer func() {
		if v := recover(); v != nil {
			recs = nil
			if e, ok := v.(error); ok {
				err = fmt.Errorf("%w: %w\n%s", dstream.ErrUserPanic, e, debug.Stack())
			} else {
				err = fmt.Errorf("%w: %v\n%s", dstream.ErrUserPanic, v, debug.Stack())
			}
		}
	}()
	return s.parse(f, data)
}

// settle records the outcome of reading the files batch t took: those in
// unread (their read failed and they still exist) are given back, no longer
// taken by t nor seen, so the next batch lists them again, and are kept in
// retrying with their error; the others are done with. It runs before
// Compute returns, so the position checkpointed as of t (taken after t
// completed) does not list a file given back, and after a restart the file
// is taken once, by a later batch.
func (s *fileSource[T]) settle(t time.Time, files []string, unread map[string]error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range files {
		if _, ok := unread[f]; !ok {
			delete(s.retrying, f)
		}
	}
	if len(unread) == 0 {
		return
	}
	key := t.UnixNano()
	kept := slices.DeleteFunc(slices.Clone(s.selected[key]), func(f string) bool {
		_, given := unread[f]
		return given
	})
	if len(kept) > 0 {
		s.selected[key] = kept
	} else {
		delete(s.selected, key)
	}
	if s.retrying == nil {
		s.retrying = map[string]error{}
	}
	for f, err := range unread {
		delete(s.seen, f)
		s.retrying[f] = err
	}
}

// filesOf returns the files of batch t, and whether t is a batch before a
// restart computed again: then they are those it took before the restart,
// else the new ones. The lock is released even when the user's filter
// panics (the batch fails; the next one must not block on the lock).
func (s *fileSource[T]) filesOf(t time.Time) (files []string, again bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !t.After(s.restoredThrough) {
		return s.selected[t.UnixNano()], true // a batch before a restart, computed again
	}
	return s.findNewFiles(t), false
}

// findNewFiles lists the files modified in (threshold, t] not taken yet.
func (s *fileSource[T]) findNewFiles(t time.Time) []string {
	window := s.rememberWindow()
	threshold := t.Add(-window)
	if s.initialThreshold.After(threshold) {
		threshold = s.initialThreshold
	}
	// The files of batches older than the window are too old to be taken
	// again anyway; the batches themselves are forgotten once older than
	// the stream remembers too (as Spark's clearMetadata), so a restart
	// computes a long window's batches again from their files.
	forget := t.Add(-max(window, s.remember())).UnixNano()
	for bt, files := range s.selected {
		if bt < threshold.UnixNano() {
			for _, f := range files {
				delete(s.seen, f)
			}
		}
		if bt < forget {
			delete(s.selected, bt)
		}
	}
	candidates, err := s.list()
	if err != nil {
		s.report(fmt.Sprintf("listing %s for batch %s failed", s.pattern, dstream.FormatTime(t)), err)
		return nil
	}
	type file struct {
		path string
		mod  time.Time
	}
	var found []file
	for _, path := range candidates {
		if s.seen[path] || !s.cfg.filter(path) {
			continue
		}
		info, err := os.Stat(path)
		if err != nil {
			if !os.IsNotExist(err) {
				s.report(fmt.Sprintf("file %s could not be examined at batch %s", path, dstream.FormatTime(t)), err)
			}
			continue
		}
		mod := info.ModTime()
		if pre, ok := s.preexisting[path]; ok && !mod.After(pre) {
			continue // there before the stream started, and unchanged since
		}
		if mod.Before(threshold) {
			s.giveUp(path, t)
		}
		if !info.Mode().IsRegular() || mod.Before(threshold) || mod.After(t) {
			continue
		}
		found = append(found, file{path, mod})
	}
	if len(s.retrying) > 0 {
		// A file given back that is no longer listed (removed or renamed)
		// is not tried again.
		listed := make(map[string]bool, len(candidates))
		for _, path := range candidates {
			listed[path] = true
		}
		for path := range s.retrying {
			if !listed[path] {
				delete(s.retrying, path)
			}
		}
	}
	sort.Slice(found, func(i, j int) bool {
		if !found[i].mod.Equal(found[j].mod) {
			return found[i].mod.Before(found[j].mod)
		}
		return found[i].path < found[j].path
	})
	out := make([]string, len(found))
	for i, f := range found {
		out[i] = f.path
		s.seen[f.path] = true
	}
	if len(out) > 0 {
		s.selected[t.UnixNano()] = out
	}
	return out
}

// giveUp reports, once, that the file at path, whose read failed at an
// earlier batch, is now older than the remember window at batch t and so is
// no longer tried; the error is that of its last read. Called with s.mu
// held; nothing happens for a file that is not being retried.
func (s *fileSource[T]) giveUp(path string, t time.Time) {
	err, ok := s.retrying[path]
	if !ok {
		return
	}
	delete(s.retrying, path)
	s.report(fmt.Sprintf("file %s, which could not be read, is older than the remember window (%s) at batch %s; given up", path, s.rememberWindow(), dstream.FormatTime(t)), err)
}

// list returns the files of the directory, or those the glob matches and
// those in the directories it matches.
func (s *fileSource[T]) list() ([]string, error) {
	if strings.ContainsAny(s.pattern, "*?[") {
		// Glob ignores a missing directory; a literal one is checked, so
		// that it is reported as the directory form's is.
		if dir := filepath.Dir(s.pattern); !strings.ContainsAny(dir, "*?[") {
			if _, err := os.Stat(dir); err != nil {
				return nil, err
			}
		}
		// As in Spark, a glob may name directories ("in/*/", "in/day-*"):
		// their files are listed; files it names are taken themselves.
		matches, err := filepath.Glob(strings.TrimRight(s.pattern, string(filepath.Separator)))
		if err != nil {
			return nil, err
		}
		var out []string
		for _, m := range matches {
			if info, err := os.Stat(m); err == nil && info.IsDir() {
				files, err := filesIn(m)
				if errors.Is(err, fs.ErrNotExist) {
					continue // removed since the glob saw it
				}
				if err != nil {
					return nil, err
				}
				out = append(out, files...)
				continue
			}
			out = append(out, m)
		}
		return out, nil
	}
	return filesIn(s.pattern)
}

// filesIn lists the regular files directly in dir.
func filesIn(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type()&fs.ModeType == 0 {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}

func (s *fileSource[T]) report(msg string, err error) {
	s.ssc.reportInputError(s.streamID(), "FileInputStream "+s.pattern, msg, err)
}

func (s *fileSource[T]) Start(context.Context) error { return nil }
func (s *fileSource[T]) Stop(bool)                   {}

// Pending is false: files that have not appeared yet are not queued input.
func (s *fileSource[T]) Pending() bool { return false }
