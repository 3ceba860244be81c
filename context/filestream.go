package context

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
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

// WithNewFilesOnly(false) also takes the files already in the directory
// when the stream is created, those modified within the remember window
// before the first batch (WithFileRemember, 60 s by default), as Spark's
// newFilesOnly = false does; older ones are never taken. The default, true,
// ignores every file there at the start.
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
// FileInputDStream, and reads them eagerly so a file that disappears or
// cannot be read is reported and skipped instead of failing a batch.
type fileSource[T any] struct {
	ssc      *StreamingContext
	pattern  string // a directory, or a glob of files
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
	// restoredThrough is the batch time of a restored position: batches up
	// to it re-read the files they took (positions.go).
	restoredThrough time.Time
}

// TextFileStream returns a stream of the lines of new files in dir, Spark's
// textFileStream. dir may also be a glob ("/in/*.csv"). A file is taken by
// the first batch whose time is at or after its modification time, once;
// files must therefore appear whole: write them elsewhere (or under a name
// starting with "." or "_") and rename them into dir, as with Spark. A
// missing directory, or a file removed or unreadable while listed, is logged
// and reported to listeners as an error of the stream; the stream goes on.
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
// Each file becomes one partition of its batch's RDD. A parse error is
// reported like an unreadable file, and the file is skipped.
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

// Compute takes the files new at batch time t and reads them.
func (s *fileSource[T]) Compute(t time.Time) (*rdd.RDD[T], int64, error) {
	files := s.filesOf(t)
	var parts [][]T
	var records int64
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err == nil {
			var recs []T
			recs, err = s.parse(f, data)
			if err == nil {
				parts = append(parts, recs)
				records += int64(len(recs))
				continue
			}
		}
		s.report(fmt.Sprintf("file %s taken at batch %s could not be read; skipped", f, dstream.FormatTime(t)), err)
	}
	return rdd.FromPartitions(parts), records, nil
}

// filesOf returns the files of batch t: those it took before a restart, or
// the new ones. The lock is released even when the user's filter panics
// (the batch fails; the next one must not block on the lock).
func (s *fileSource[T]) filesOf(t time.Time) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !t.After(s.restoredThrough) {
		return s.selected[t.UnixNano()] // a batch before a restart, computed again
	}
	return s.findNewFiles(t)
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
		if !info.Mode().IsRegular() || mod.Before(threshold) || mod.After(t) {
			continue
		}
		found = append(found, file{path, mod})
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

// list returns the files of the directory, or those matching the glob.
func (s *fileSource[T]) list() ([]string, error) {
	if strings.ContainsAny(s.pattern, "*?[") {
		// Glob ignores a missing directory; a literal one is checked, so
		// that it is reported as the directory form's is.
		if dir := filepath.Dir(s.pattern); !strings.ContainsAny(dir, "*?[") {
			if _, err := os.Stat(dir); err != nil {
				return nil, err
			}
		}
		return filepath.Glob(s.pattern)
	}
	entries, err := os.ReadDir(s.pattern)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type()&fs.ModeType == 0 {
			out = append(out, filepath.Join(s.pattern, e.Name()))
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
