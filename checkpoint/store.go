package checkpoint

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Store is a checkpoint directory: the metadata checkpoint of every batch,
// the state files they refer to, and retention. Its methods are safe for
// concurrent use; writes are serialised. One Store (one process) writes a
// directory at a time.
//
// On disk:
//
//	dir/checkpoint-<20-digit batch unix nanos>.meta        one per retained batch
//	dir/state/<escaped stream ID>/<nanos>-<rand>.full      full state snapshot
//	dir/state/<escaped stream ID>/<nanos>-<rand>.delta     keys changed since the previous one
//	*.tmp                                                  a write cut short; removed by Open
//
// Every file is framed the same way: magic "SLCK", [FormatVersion] as
// uint16, payload length as uint64, msgpack payload, CRC-32C (Castagnoli)
// of all that, integers big-endian.
type Store struct {
	dir string
	cfg config

	mu sync.Mutex
	// chains holds, for each stream written since Open, the state files of
	// its last checkpoint; a stream without one gets a full snapshot next.
	chains map[string]StateRef
	stats  Stats

	// dropped holds the streams of checkpoints an AsyncWriter dropped; the
	// next checkpoint handed over after a drop writes them in full.
	droppedMu sync.Mutex
	dropped   map[string]bool

	// faults, when set by a test, is called before every step of a write
	// or removal; an error stops the store there as a crash would.
	faults func(step, path string) error
}

// Stats counts what a [Store] has written since [Open].
type Stats struct {
	Checkpoints   int64 // metadata checkpoints written
	FullSnapshots int64 // full state files written
	Deltas        int64 // delta state files written
	Entries       int64 // state entries written, full and delta
	BytesWritten  int64 // bytes of all files written
}

// Open opens the checkpoint directory dir, creating it if needed, and
// removes the *.tmp files a crashed writer left behind.
func Open(dir string, opts ...Option) (*Store, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	if err := os.MkdirAll(filepath.Join(dir, stateDir), 0o755); err != nil {
		return nil, fmt.Errorf("checkpoint: open %s: %w", dir, err)
	}
	s := &Store{dir: dir, cfg: cfg, chains: map[string]StateRef{}}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, tmpSuffix) {
			s.cfg.logger.Warn("removing a file left by an interrupted checkpoint write", "file", path)
			return os.Remove(path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("checkpoint: open %s: %w", dir, err)
	}
	return s, nil
}

// Dir returns the directory the store writes.
func (s *Store) Dir() string { return s.dir }

// Stats returns what the store has written since [Open].
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Checkpoint is everything written for one batch: the state snapshots of the
// streams that keep state, then the metadata that commits them.
type Checkpoint struct {
	// Metadata is written last; its State field is filled in by the write
	// and must be left nil by the caller.
	Metadata *Metadata
	// State holds one snapshot per stateful stream. A stream absent here
	// keeps no state in this checkpoint.
	State []StateSnapshot
}

// WriteMetadata writes a metadata checkpoint with no state, atomically; see
// [Store.Write].
func (s *Store) WriteMetadata(m *Metadata) error {
	return s.Write(&Checkpoint{Metadata: m})
}

// Write writes one batch's checkpoint: each stream's state file (a delta of
// its Changed keys, or a full snapshot when due), then the metadata file
// naming them, each to a temporary name, fsynced, renamed into place and the
// directory fsynced, so a crash at any point leaves the previous checkpoint
// readable. Then it removes metadata files beyond the retention and state
// files no retained metadata refers to; failures to remove are logged, not
// returned.
//
// It sets c.Metadata.FormatVersion and c.Metadata.State. A failed write
// makes the next checkpoint of each of its streams a full snapshot.
func (s *Store) Write(c *Checkpoint) error {
	return s.write(c, s.takeDropped())
}

// addDropped records that c was dropped unwritten, with the streams of
// earlier dropped checkpoints.
func (s *Store) addDropped(earlier map[string]bool, c *Checkpoint) {
	s.droppedMu.Lock()
	defer s.droppedMu.Unlock()
	if s.dropped == nil {
		s.dropped = map[string]bool{}
	}
	maps.Copy(s.dropped, earlier)
	for _, st := range c.State {
		s.dropped[st.StreamID] = true
	}
}

// takeDropped returns and forgets the streams of dropped checkpoints.
func (s *Store) takeDropped() map[string]bool {
	s.droppedMu.Lock()
	defer s.droppedMu.Unlock()
	d := s.dropped
	s.dropped = nil
	return d
}

func (s *Store) write(c *Checkpoint, forceFull map[string]bool) error {
	m := c.Metadata
	if m == nil {
		return errors.New("checkpoint: Write: nil Metadata")
	}
	if m.Time.IsZero() || m.Time.UnixNano() < 0 {
		return fmt.Errorf("checkpoint: Write: batch time %v must be set and not before 1970", m.Time)
	}
	batch := m.Time.UnixNano()
	when := m.Time.UTC().Format(time.RFC3339Nano)
	s.mu.Lock()
	defer s.mu.Unlock()

	ok := false
	defer func() {
		if !ok {
			for _, st := range c.State {
				delete(s.chains, st.StreamID)
			}
		}
	}()
	refs := make(map[string]StateRef, len(c.State))
	for _, st := range c.State {
		if _, dup := refs[st.StreamID]; dup {
			return fmt.Errorf("checkpoint: Write batch %s: stream %s has two state snapshots", when, st.StreamID)
		}
		ref, err := s.writeState(st, batch, forceFull[st.StreamID])
		if err != nil {
			return fmt.Errorf("checkpoint: Write batch %s: state of stream %s: %w", when, st.StreamID, err)
		}
		refs[st.StreamID] = ref
	}
	m.FormatVersion = FormatVersion
	m.State = refs
	data, err := encodeMetadata(m)
	if err != nil {
		return fmt.Errorf("checkpoint: Write batch %s: encode metadata: %w", when, err)
	}
	if err := s.writeFileAtomic(filepath.Join(s.dir, metaName(batch)), data); err != nil {
		return fmt.Errorf("checkpoint: Write batch %s: %w", when, err)
	}
	ok = true
	s.stats.Checkpoints++
	s.stats.BytesWritten += int64(len(data))
	maps.Copy(s.chains, refs)
	if err := s.collect(); err != nil {
		if errors.Is(err, errCrash) {
			return err
		}
		s.cfg.logger.Warn("removing old checkpoint files failed", "error", err)
	}
	return nil
}

// writeState writes one stream's state file, or none when nothing changed,
// and returns the stream's new chain of files.
func (s *Store) writeState(st StateSnapshot, batch int64, forceFull bool) (StateRef, error) {
	prev, chained := s.chains[st.StreamID]
	full := !chained || forceFull || len(prev.Deltas)+1 >= s.cfg.fullEvery
	if !full && len(st.Changed) == 0 {
		return prev, nil
	}
	entries, hint := slices.Values(st.Changed), 0
	if full {
		if st.All == nil {
			return StateRef{}, errors.New("a full snapshot is due but StateSnapshot.All is nil")
		}
		entries = st.All
	} else {
		for _, e := range st.Changed {
			hint += len(e.Key) + len(e.Value) + 8
		}
	}
	name := newStateFileName(batch, full)
	data, n, err := encodeState(st.StreamID, batch, full, entries, hint)
	if err != nil {
		return StateRef{}, err
	}
	dir := filepath.Join(s.dir, stateDir, escapeStreamID(st.StreamID))
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		// A stream's first state file: its directory must survive a power
		// loss as well as the file.
		if err := os.Mkdir(dir, 0o755); err != nil {
			return StateRef{}, err
		}
		if err := syncDir(filepath.Dir(dir)); err != nil {
			return StateRef{}, err
		}
	}
	if err := s.writeFileAtomic(filepath.Join(dir, name), data); err != nil {
		return StateRef{}, err
	}
	s.stats.BytesWritten += int64(len(data))
	s.stats.Entries += int64(n)
	if full {
		s.stats.FullSnapshots++
		return StateRef{Full: name}, nil
	}
	s.stats.Deltas++
	return StateRef{Full: prev.Full, Deltas: append(slices.Clip(prev.Deltas), name)}, nil
}

const (
	metaPrefix = "checkpoint-"
	metaSuffix = ".meta"
)

func metaName(batch int64) string {
	return fmt.Sprintf("%s%020d%s", metaPrefix, batch, metaSuffix)
}

// metaFiles lists the metadata files, newest first.
func (s *Store) metaFiles() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: list %s: %w", s.dir, err)
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		digits, ok := strings.CutPrefix(name, metaPrefix)
		if !ok || e.IsDir() {
			continue
		}
		digits, ok = strings.CutSuffix(digits, metaSuffix)
		if _, err := strconv.ParseUint(digits, 10, 63); !ok || len(digits) != 20 || err != nil {
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	slices.Reverse(names)
	return names, nil
}

// readMetadataFile reads and checks one metadata file, and checks that the
// state files it refers to exist.
func (s *Store) readMetadataFile(name string) (*Metadata, error) {
	path := filepath.Join(s.dir, name)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: read %s: %w", path, err)
	}
	m, err := decodeMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %s: %w", path, err)
	}
	if want := strings.TrimSuffix(strings.TrimPrefix(name, metaPrefix), metaSuffix); fmt.Sprintf("%020d", m.Time.UnixNano()) != want {
		return nil, fmt.Errorf("checkpoint: %s: %w: holds batch time %d", path, ErrCorrupt, m.Time.UnixNano())
	}
	return m, nil
}

func (s *Store) checkStateFiles(m *Metadata) error {
	for id, ref := range m.State {
		for _, f := range append([]string{ref.Full}, ref.Deltas...) {
			path := filepath.Join(s.dir, stateDir, escapeStreamID(id), f)
			if _, err := os.Stat(path); err != nil {
				return fmt.Errorf("checkpoint: batch %s refers to state file %s of stream %s: %w: %w", metaName(m.Time.UnixNano()), path, id, ErrCorrupt, err)
			}
		}
	}
	return nil
}

// LatestMetadata returns the newest readable metadata checkpoint. A file
// that is truncated, fails its checksum, does not decode or refers to a
// missing state file is skipped with a logged warning, and the one before it
// is tried, as Spark's CheckpointReader does. It returns an error wrapping
// [ErrNoCheckpoint] when none is readable, and one wrapping
// [ErrNewerVersion] when the newest intact file was written by a newer
// format version (it does not fall back past that one).
func (s *Store) LatestMetadata() (*Metadata, error) {
	names, err := s.metaFiles()
	if err != nil {
		return nil, err
	}
	skipped := 0
	for _, name := range names {
		m, err := s.readMetadataFile(name)
		if err == nil {
			err = s.checkStateFiles(m)
		}
		if err == nil {
			if skipped > 0 {
				s.cfg.logger.Warn("recovering from an older checkpoint", "file", name, "skipped", skipped)
			}
			return m, nil
		}
		if errors.Is(err, ErrNewerVersion) {
			return nil, err
		}
		s.cfg.logger.Warn("skipping unreadable checkpoint", "file", name, "error", err)
		skipped++
	}
	if skipped > 0 {
		return nil, fmt.Errorf("checkpoint: %s: %w: all %d metadata files are unreadable", s.dir, ErrNoCheckpoint, skipped)
	}
	return nil, fmt.Errorf("checkpoint: %s: %w", s.dir, ErrNoCheckpoint)
}

// ReadState returns the state of stream streamID as of checkpoint m: its full
// snapshot with the deltas after it applied in order, deleted keys removed,
// keyed by the msgpack-encoded key as a string. [DecodeState] turns it into
// a typed map. The error wraps [ErrNoCheckpoint] when m holds no state for
// the stream, and [ErrCorrupt] (naming the file) when a file is damaged.
func (s *Store) ReadState(m *Metadata, streamID string) (map[string][]byte, error) {
	ref, ok := m.State[streamID]
	if !ok {
		return nil, fmt.Errorf("checkpoint: batch %s: %w: no state for stream %s", m.Time.UTC().Format(time.RFC3339Nano), ErrNoCheckpoint, streamID)
	}
	dir := filepath.Join(s.dir, stateDir, escapeStreamID(streamID))
	var state map[string][]byte
	for i, name := range append([]string{ref.Full}, ref.Deltas...) {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("checkpoint: read state of stream %s: %w", streamID, err)
		}
		if state == nil {
			state = make(map[string][]byte, len(data)/16)
		}
		h, err := decodeState(data, func(key, value []byte, deleted bool) {
			if deleted {
				delete(state, string(key))
			} else {
				state[string(key)] = value
			}
		})
		if err == nil && (h.streamID != streamID || h.full != (i == 0)) {
			err = fmt.Errorf("%w: holds stream %q (full %v), expected stream %q (full %v)", ErrCorrupt, h.streamID, h.full, streamID, i == 0)
		}
		if err != nil {
			return nil, fmt.Errorf("checkpoint: %s: %w", path, err)
		}
	}
	return state, nil
}

// collect removes metadata files beyond the retention, then the state files
// that no retained, readable metadata file refers to. Called with s.mu held,
// so no write is in progress.
func (s *Store) collect() error {
	names, err := s.metaFiles()
	if err != nil {
		return err
	}
	var errs []error
	if len(names) > s.cfg.retain {
		for _, name := range names[s.cfg.retain:] {
			if err := s.removeFile(filepath.Join(s.dir, name)); err != nil {
				if errors.Is(err, errCrash) {
					return err
				}
				errs = append(errs, err)
			}
		}
		names = names[:s.cfg.retain]
	}
	live := map[string]bool{} // escaped stream dir + "/" + file name
	for _, name := range names {
		m, err := s.readMetadataFile(name)
		if errors.Is(err, ErrNewerVersion) {
			return errors.Join(append(errs, fmt.Errorf("keeping all state files: %w", err))...)
		}
		if err != nil {
			continue // its state files cannot be used anyway
		}
		for id, ref := range m.State {
			for _, f := range append([]string{ref.Full}, ref.Deltas...) {
				live[escapeStreamID(id)+"/"+f] = true
			}
		}
	}
	root := filepath.Join(s.dir, stateDir)
	streams, err := os.ReadDir(root)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, sd := range streams {
		if !sd.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(root, sd.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, f := range files {
			if live[sd.Name()+"/"+f.Name()] || !validStateFile(f.Name()) {
				continue
			}
			if err := s.removeFile(filepath.Join(root, sd.Name(), f.Name())); err != nil {
				if errors.Is(err, errCrash) {
					return err
				}
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
