package checkpoint

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
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
// concurrent use; writes and reads are serialised, so retention never
// removes a file being read. One Store (one process) writes a
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
	chains map[string]chain
	stats  Stats
	// refs holds, per retained metadata file read or written since Open,
	// the state files it refers to (escaped stream dir + "/" + name), so
	// that retention does not read every retained file at every write.
	refs map[string][]string

	// carry holds, per stream, the changes of checkpoints that failed: they
	// go into the stream's next delta, so the chain stays complete.
	carry map[string]changeSet
	// unwritten holds the segmented streams whose last checkpoint with
	// segments failed. Their segments are in no file a checkpoint names
	// and cannot be carried, so until one is written a checkpoint without
	// segments is refused: it would name the older segments with its own
	// batch's positions (the caller's recovery point), and a restore from
	// it would silently miss the batches in between.
	unwritten map[string]bool
	// durableDirs holds the stream directories whose entry in the state
	// directory was fsynced since Open (see streamDir).
	durableDirs map[string]bool
	// written holds the metadata files written since Open; a later-named
	// one that is not among them is superseded (removeSuperseded).
	written map[string]bool

	// dropped holds the changes of checkpoints an AsyncWriter dropped; they
	// travel with the next checkpoint submitted. Guarded by droppedMu, not
	// mu, since Submit must not wait for a write in progress.
	droppedMu sync.Mutex
	dropped   map[string]changeSet

	// ahead holds, per stream, its delta written ahead (ahead.go).
	ahead map[string]*aheadFile

	// faults, when set by a test, is called before every step of a write
	// or removal; an error stops the store there as a crash would.
	faults func(step, path string) error
}

// Stats counts what a [Store] has written since [Open].
type Stats struct {
	Checkpoints   int64 // metadata checkpoints written
	FullSnapshots int64 // full state files written
	Compactions   int64 // of which built by merging the files on disk (no StateSnapshot.All)
	Deltas        int64 // delta state files written
	DeltasAhead   int64 // of which committed from a file written ahead (StateSnapshot.Ahead)
	Segments      int64 // segment files written
	Entries       int64 // state entries written, full and delta
	BytesWritten  int64 // bytes of all files written
}

// Open opens the checkpoint directory dir, creating it if needed, and
// removes the *.tmp files a crashed writer left behind. Do not open a
// directory that another Store is writing: its files in progress (a delta
// written ahead lives for a checkpoint interval) would be removed, and
// its next checkpoint would fail.
func Open(dir string, opts ...Option) (*Store, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	if _, err := mkdirAllDurable(filepath.Join(dir, stateDir)); err != nil {
		return nil, fmt.Errorf("checkpoint: open %s: %w", dir, err)
	}
	s := &Store{dir: dir, cfg: cfg, chains: map[string]chain{}, carry: map[string]changeSet{}, unwritten: map[string]bool{}, refs: map[string][]string{},
		ahead: map[string]*aheadFile{}, durableDirs: map[string]bool{}, written: map[string]bool{}}
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
// readable. Metadata files named after this one that this Store did not
// write (those of a run that crashed, from an earlier recovery point) are
// then removed, durably, before Write returns: this checkpoint supersedes
// them, and a failure to remove them fails the write. Then it removes
// metadata files beyond the retention and state files no retained metadata
// refers to; failures to remove those are logged, not returned.
//
// It sets c.Metadata.FormatVersion and c.Metadata.State. The changes of a
// failed write are kept and written with the stream's next checkpoint.
// Segments cannot be kept that way: after a failed (or dropped) checkpoint
// with a stream's segments, a checkpoint without segments for it is
// refused until segments are written again, since it would commit the
// older segments with its own batch's metadata.
func (s *Store) Write(c *Checkpoint) error {
	return s.write(c, s.takeDropped())
}

// changeSet is the changes of one stream not yet in a file, by key.
type changeSet map[string]Entry

// add records changes on top of cs, later ones winning.
func (cs changeSet) add(changes iter.Seq[Entry]) {
	for e := range changes {
		cs[string(e.Key)] = e
	}
}

// entries returns the changes as a list.
func (cs changeSet) entries() Entries {
	var es Entries
	for _, e := range cs {
		es.Append(e)
	}
	return es
}

// addDropped records that c was dropped unwritten, on top of the changes of
// checkpoints dropped earlier.
func (s *Store) addDropped(earlier map[string]changeSet, c *Checkpoint) {
	s.droppedMu.Lock()
	defer s.droppedMu.Unlock()
	if s.dropped == nil {
		s.dropped = earlier
	} else {
		for id, cs := range earlier { // a drop raced in between
			cs.add(maps.Values(s.dropped[id]))
			s.dropped[id] = cs
		}
	}
	if s.dropped == nil {
		s.dropped = map[string]changeSet{}
	}
	for _, st := range c.State {
		if st.Changed.Len() == 0 && st.Segments == nil {
			continue // nothing of it is missing from the files
		}
		cs := s.dropped[st.StreamID]
		if cs == nil {
			cs = changeSet{}
			s.dropped[st.StreamID] = cs
		}
		cs.add(st.Changed.All())
	}
}

// takeDropped returns and forgets the changes of dropped checkpoints.
func (s *Store) takeDropped() map[string]changeSet {
	s.droppedMu.Lock()
	defer s.droppedMu.Unlock()
	d := s.dropped
	s.dropped = nil
	return d
}

// write writes c, with the changes of checkpoints dropped before it.
func (s *Store) write(c *Checkpoint, dropped map[string]changeSet) error {
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

	// A segmented stream listed among the dropped had its segments
	// dropped (such snapshots have no Changed).
	for id := range dropped {
		if s.chains[id].ref.segmented() {
			s.unwritten[id] = true
		}
	}
	// The dropped changes of a stream that c has no snapshot of wait, with
	// those of failed checkpoints, for the stream's next snapshot.
	for id, cs := range dropped {
		if slices.ContainsFunc(c.State, func(st StateSnapshot) bool { return st.StreamID == id }) {
			continue
		}
		carried := s.carry[id]
		if carried == nil {
			carried = changeSet{}
			s.carry[id] = carried
		}
		carried.add(maps.Values(cs))
	}
	// Each stream's changes: those of failed and dropped checkpoints, then
	// this one's.
	changes := make(map[string]Entries, len(c.State))
	for _, st := range c.State {
		if _, dup := changes[st.StreamID]; dup {
			return fmt.Errorf("checkpoint: Write batch %s: stream %s has two state snapshots", when, st.StreamID)
		}
		earlier, dropped := s.carry[st.StreamID], dropped[st.StreamID]
		if earlier == nil && dropped == nil {
			changes[st.StreamID] = st.Changed
			continue
		}
		cs := changeSet{}
		cs.add(maps.Values(earlier))
		cs.add(maps.Values(dropped))
		cs.add(st.Changed.All())
		changes[st.StreamID] = cs.entries()
	}
	ok := false
	defer func() {
		for _, st := range c.State {
			if st.Segments != nil {
				s.unwritten[st.StreamID] = !ok
			}
		}
		for id, ch := range changes {
			if ok {
				delete(s.carry, id)
			} else {
				cs := changeSet{}
				cs.add(ch.All())
				s.carry[id] = cs
			}
		}
	}()
	chains := make(map[string]chain, len(c.State))
	m.State = make(map[string]StateRef, len(c.State))
	for _, st := range c.State {
		ch, err := s.writeState(st.StreamID, changes[st.StreamID], st, batch)
		if err != nil {
			m.State = nil
			return fmt.Errorf("checkpoint: Write batch %s: state of stream %s: %w", when, st.StreamID, err)
		}
		chains[st.StreamID], m.State[st.StreamID] = ch, ch.ref
	}
	m.FormatVersion = FormatVersion
	data, err := encodeMetadata(m)
	if err != nil {
		return fmt.Errorf("checkpoint: Write batch %s: encode metadata: %w", when, err)
	}
	if err := s.writeFileAtomic(filepath.Join(s.dir, metaName(batch)), data); err != nil {
		return fmt.Errorf("checkpoint: Write batch %s: %w", when, err)
	}
	s.refs[metaName(batch)] = referencedFiles(m.State)
	s.written[metaName(batch)] = true
	if err := s.removeSuperseded(metaName(batch)); err != nil {
		return fmt.Errorf("checkpoint: Write batch %s: %w", when, err)
	}
	ok = true
	s.stats.Checkpoints++
	s.stats.BytesWritten += int64(len(data))
	maps.Copy(s.chains, chains)
	if err := s.collect(); err != nil {
		if errors.Is(err, errCrash) {
			return err
		}
		s.cfg.logger.Warn("removing old checkpoint files failed", "error", err)
	}
	return nil
}

// removeSuperseded removes, durably, the metadata files named after name
// that this Store did not write: those of an earlier run of the program,
// which crashed after them, from whose recovery point this run started
// again. name is newer than they are: a restart from them would go back to
// their recovery point, which is older than name's, and re-run batches whose
// input the caller may already have dropped once name was written (a
// write-ahead log marks batches processed by the checkpoint that covers
// them).
func (s *Store) removeSuperseded(name string) error {
	names, err := s.metaFiles()
	if err != nil {
		return err
	}
	removed := false
	for _, n := range names { // newest first
		if n <= name {
			break
		}
		if s.written[n] {
			continue
		}
		if err := s.removeFile(filepath.Join(s.dir, n)); err != nil {
			return fmt.Errorf("superseded %w", err)
		}
		delete(s.refs, n)
		removed = true
	}
	if !removed {
		return nil
	}
	if err := s.fault(stepSyncDir, s.dir); err != nil {
		return err
	}
	return SyncDir(s.dir)
}

// chain is a stream's state files as of its last checkpoint, with the
// number of entries in its full snapshot and in the deltas after it.
type chain struct {
	ref                       StateRef
	fullEntries, deltaEntries int
}

// writeState writes one stream's state file(s), or none when nothing
// changed, and returns the stream's new chain of files. A full
// snapshot is written from st.All when there is no chain yet; when one is
// due (fullDue), from st.All if given, else by compacting the chain on disk
// with changes.
func (s *Store) writeState(id string, changes Entries, st StateSnapshot, batch int64) (chain, error) {
	if st.Ahead.Len() > 0 {
		if st.Changed.Len() > 0 || st.All != nil || st.Segments != nil {
			return chain{}, errors.New("a snapshot with Ahead must have no Changed, All or Segments")
		}
		if err := s.writeAhead(id, st.Ahead); err != nil {
			if errors.Is(err, errCrash) {
				return chain{}, err
			}
			// Nothing is lost: the next snapshot's Changed holds the
			// entries too, and is written whole.
			s.cfg.logger.Warn("writing a delta ahead failed", "stream", id, "error", err)
		}
	}
	if st.Segments != nil {
		s.dropAhead(id)
		if st.Changed.Len() > 0 || st.All != nil {
			return chain{}, errors.New("a snapshot with Segments must have no Changed or All")
		}
		ref, err := s.writeSegments(id, st.Segments, batch)
		return chain{ref: ref}, err
	}
	prev, chained := s.chains[id]
	if chained && prev.ref.segmented() {
		if changes.Len() == 0 && st.All == nil {
			if s.unwritten[id] {
				return chain{}, errors.New("the stream's last checkpoint with segments was not written, so this one, without them, would name older segments: write segments first")
			}
			return prev, nil
		}
		chained = false
	}
	// A snapshot whose Changed lists every live key (All given) is written
	// as the full snapshot it is. A rolling chain is bounded by its stream.
	rolling := !st.Base.IsZero()
	full := !chained || !rolling && s.fullDue(prev, changes.Len()) || st.All != nil && changes.Len() >= st.All.Len()
	if !full && changes.Len() == 0 {
		return prev, nil
	}
	entries := changes
	switch {
	case full && st.All != nil:
		entries = *st.All
	case full && !chained:
		return chain{}, errors.New("the stream's first checkpoint since Open must be a full snapshot but StateSnapshot.All is nil")
	case full:
		s.stats.Compactions++
		state, fileSize, err := s.readChain(id, prev.ref)
		if err != nil {
			return chain{}, fmt.Errorf("compacting into a full snapshot: %w", err)
		}
		for e := range changes.All() {
			if e.Deleted {
				delete(state, string(e.Key))
			} else {
				state[string(e.Key)] = e.Value
			}
		}
		entries = Entries{data: make([]byte, 0, fileSize)}
		for k, v := range state {
			entries.Append(Entry{Key: []byte(k), Value: v})
		}
	}
	if full {
		s.dropAhead(id)
		name, err := s.writeStateFile(id, batch, fullSuffix, entries)
		if err != nil {
			return chain{}, err
		}
		s.stats.FullSnapshots++
		return chain{ref: StateRef{Full: name}, fullEntries: entries.Len()}, nil
	}
	name, written, err := s.commitAhead(id, batch, entries)
	if !written {
		name, err = s.writeStateFile(id, batch, deltaSuffix, entries)
	}
	if err != nil {
		return chain{}, err
	}
	s.stats.Deltas++
	if rolling {
		prev = prev.from(st.Base.UnixNano())
	}
	prev.ref.Deltas = append(slices.Clip(prev.ref.Deltas), name)
	prev.deltaEntries += entries.Len()
	return prev, nil
}

// from returns the chain without its files of checkpoints before batch
// base (unix nanos), for a rolling chain (StateSnapshot.Base). Entry
// counts of the files dropped are not known; a chain without its full
// snapshot counts none for it.
func (c chain) from(base int64) chain {
	if c.ref.Full != "" && stateFileBatch(c.ref.Full) < base {
		c.ref.Full, c.fullEntries = "", 0
	}
	keep := slices.IndexFunc(c.ref.Deltas, func(name string) bool { return stateFileBatch(name) >= base })
	if keep < 0 {
		keep = len(c.ref.Deltas)
	}
	c.ref.Deltas = slices.Clip(c.ref.Deltas[keep:])
	return c
}

// fullDue reports whether a stream's next state file, of changes entries
// on the chain prev, should be a full snapshot: every
// fullEvery checkpoints when set, else when the deltas would hold more
// entries than the last full snapshot. The size rule bounds a restore to
// about twice the live entries and makes the cost of compacting
// proportional to the changes written since the last one (amortised),
// whatever the size of the state.
func (s *Store) fullDue(prev chain, changes int) bool {
	if changes == 0 {
		return false // no file at all
	}
	if s.cfg.fullEvery > 0 {
		return len(prev.ref.Deltas)+1 >= s.cfg.fullEvery
	}
	return prev.deltaEntries+changes > prev.fullEntries
}

// writeSegments writes the new segments of a segmented snapshot and
// returns the stream's segments, the kept ones referring to the files
// written for them before.
func (s *Store) writeSegments(id string, segs []Segment, batch int64) (StateRef, error) {
	if len(segs) == 0 {
		return StateRef{}, errors.New("a snapshot with Segments must have at least one segment")
	}
	written := map[string]string{}
	if prev, ok := s.chains[id]; ok {
		for _, sg := range prev.ref.Segments {
			written[sg.Name] = sg.File
		}
	}
	ref := StateRef{Segments: make([]SegmentRef, 0, len(segs))}
	seen := make(map[string]bool, len(segs))
	for _, sg := range segs {
		if seen[sg.Name] {
			return StateRef{}, fmt.Errorf("segment %q is listed twice", sg.Name)
		}
		seen[sg.Name] = true
		if sg.Keep {
			file, ok := written[sg.Name]
			if !ok {
				return StateRef{}, fmt.Errorf("segment %q is to be kept but the store has not written it since Open", sg.Name)
			}
			ref.Segments = append(ref.Segments, SegmentRef{Name: sg.Name, File: file})
			continue
		}
		file, err := s.writeStateFile(id, batch, segSuffix, sg.Entries)
		if err != nil {
			return StateRef{}, fmt.Errorf("segment %q: %w", sg.Name, err)
		}
		s.stats.Segments++
		ref.Segments = append(ref.Segments, SegmentRef{Name: sg.Name, File: file})
	}
	return ref, nil
}

// writeStateFile writes entries into a new state file of stream id with
// the given suffix, atomically, and returns its name.
func (s *Store) writeStateFile(id string, batch int64, suffix string, entries Entries) (string, error) {
	name := newStateFileName(batch, suffix)
	parts, err := stateFile(id, batch, suffix != deltaSuffix, entries)
	if err != nil {
		return "", err
	}
	dir, err := s.streamDir(id)
	if err != nil {
		return "", err
	}
	if err := s.writeFileAtomic(filepath.Join(dir, name), parts...); err != nil {
		return "", err
	}
	for _, p := range parts {
		s.stats.BytesWritten += int64(len(p))
	}
	s.stats.Entries += int64(entries.Len())
	return name, nil
}

// streamDir returns the directory of stream id's state files, creating it
// for the stream's first file: then it must survive a power loss as well
// as the file. The state directory is fsynced at the first use of each
// stream directory since Open, whether this Store created it or found
// it: a run that crashed between creating it and that fsync leaves an
// entry that a power loss could still take away, with the files of later
// checkpoints in it.
func (s *Store) streamDir(id string) (string, error) {
	dir := filepath.Join(s.dir, stateDir, escapeStreamID(id))
	if s.durableDirs[dir] {
		return dir, nil
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("checkpoint: create %s: %w", dir, err)
	}
	if err := s.fault(stepSyncDir, filepath.Dir(dir)); err != nil {
		return "", err
	}
	if err := SyncDir(filepath.Dir(dir)); err != nil {
		return "", err
	}
	s.durableDirs[dir] = true
	return dir, nil
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

// referencedFiles lists the state files that the state references of a
// metadata file name, each as its escaped stream dir + "/" + file name.
func referencedFiles(state map[string]StateRef) []string {
	var out []string
	for id, ref := range state {
		for _, f := range ref.files() {
			out = append(out, escapeStreamID(id)+"/"+f)
		}
	}
	return out
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

// checkStateFiles checks, cheaply, the state files that m refers to: each
// must exist and its frame header (magic, payload length) must match the
// file's size exactly, which catches a file truncated or extended, the
// damage a crash or a full disk leaves. It reads the header of each file,
// not the file: restoring reads every file once anyway, and checks its
// checksum and payload then (see [Store.ScanState]).
func (s *Store) checkStateFiles(m *Metadata) error {
	for id, ref := range m.State {
		for _, f := range ref.files() {
			path := filepath.Join(s.dir, stateDir, escapeStreamID(id), f)
			if err := checkFrameSize(path); err != nil {
				return fmt.Errorf("checkpoint: batch %s refers to state file %s of stream %s: %w", metaName(m.Time.UnixNano()), path, id, err)
			}
		}
	}
	return nil
}

// checkFrameSize reads the frame header of the file at path and checks it
// against the file's size (checkHeader), as decodeFrame does of a whole
// file. Every error wraps [ErrCorrupt]; one from the file system (a missing
// file, say) wraps that error too.
func checkFrameSize(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	var head [headerSize]byte
	if info.Size() >= int64(headerSize) {
		if _, err := io.ReadFull(f, head[:]); err != nil {
			return fmt.Errorf("%w: reading the frame header: %w", ErrCorrupt, err)
		}
	}
	return checkHeader(head[:], info.Size())
}

// LatestMetadata returns the newest readable metadata checkpoint. A file
// that is truncated, fails its checksum, does not decode or refers to a
// state file that is missing or damaged is skipped with a logged warning
// naming the file and the damage, and the one before it is tried, as
// Spark's CheckpointReader does. A state file is checked cheaply, by its
// header alone (its frame declares the length of the file it has: a file
// cut short or extended fails), so that choosing a checkpoint costs little
// beside restoring it; damage within a file of the right length (a flipped
// bit) is found by its checksum when the state is read ([Store.ScanState],
// [Store.ReadState]), whose error then names the file: too late to fall
// back, so the restore fails. It returns an error wrapping
// [ErrNoCheckpoint] when the directory holds no metadata file, one wrapping
// [ErrCorrupt] when it holds some and none is usable, and one wrapping
// [ErrNewerVersion] when the newest intact file was written by a newer
// format version (it does not fall back past that one).
func (s *Store) LatestMetadata() (*Metadata, error) {
	s.mu.Lock() // no write removes a file under the reader
	defer s.mu.Unlock()
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
		// Not ErrNoCheckpoint: starting afresh would silently drop the
		// state these files hold (Spark's "Failed to read checkpoint from
		// directory"); the user removes the directory to start afresh.
		return nil, fmt.Errorf("checkpoint: %s: failed to read a checkpoint: %w: all %d metadata files are unreadable or refer to missing or damaged state files", s.dir, ErrCorrupt, skipped)
	}
	return nil, fmt.Errorf("checkpoint: %s: %w", s.dir, ErrNoCheckpoint)
}

// ReadState returns the state of stream streamID as of checkpoint m: its full
// snapshot with the deltas after it applied in order, deleted keys removed,
// keyed by the msgpack-encoded key as a string. [DecodeState] turns it into
// a typed map. The error wraps [ErrNoCheckpoint] when m holds no state for
// the stream, and [ErrCorrupt] (naming the file) when a file is damaged.
// [Store.ScanState] reads the same without building the map.
func (s *Store) ReadState(m *Metadata, streamID string) (map[string][]byte, error) {
	ref, err := stateRef(m, streamID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock() // no write removes a file under the reader
	defer s.mu.Unlock()
	state, _, err := s.readChain(streamID, ref)
	return state, err
}

// stateRef returns the state files of stream streamID in m.
func stateRef(m *Metadata, streamID string) (StateRef, error) {
	ref, ok := m.State[streamID]
	if !ok {
		return ref, fmt.Errorf("checkpoint: batch %s: %w: no state for stream %s", m.Time.UTC().Format(time.RFC3339Nano), ErrNoCheckpoint, streamID)
	}
	return ref, nil
}

// ScanState calls fn with every entry of stream streamID's state as of
// checkpoint m, in the order of its files: the full snapshot's (or every
// segment's) entries, then each delta's. Applied in order, setting the key
// to the value or removing it when deleted, they build the state
// [Store.ReadState] returns, without a map of encoded keys beside the
// caller's own (for a large state, the bigger part of a restore's time and
// memory). key is the msgpack encoding of the key; key and value alias the
// files read, and stay valid after fn returns. Every file is read and its
// checksum checked before fn is first called, so a damaged file fails the
// scan before anything was applied; an error from fn stops the scan and is
// returned. The errors are those of ReadState.
func (s *Store) ScanState(m *Metadata, streamID string, fn func(key string, value []byte, deleted bool) error) error {
	ref, err := stateRef(m, streamID)
	if err != nil {
		return err
	}
	s.mu.Lock() // no write removes a file under the reader
	defer s.mu.Unlock()
	_, err = s.scanChain(streamID, ref, nil, fn)
	return err
}

// readChain reads a full snapshot and applies its deltas, or reads every
// segment, returning the state and the size of the full snapshot file (or
// of all the segments).
func (s *Store) readChain(streamID string, ref StateRef) (map[string][]byte, int, error) {
	var state map[string][]byte
	size, err := s.scanChain(streamID, ref, func(fullBytes int) {
		state = make(map[string][]byte, fullBytes/16) // an entry takes 16 bytes or more
	}, func(key string, value []byte, deleted bool) error {
		if deleted {
			delete(state, key)
		} else {
			state[key] = value
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return state, size, nil
}

// scanChain reads the files of ref and checks them all (checksum and
// header), calls begin (when not nil) with the size of the full snapshot
// file (or of all the segments), then calls fn with their entries in order
// (see ScanState), and returns that size.
func (s *Store) scanChain(streamID string, ref StateRef, begin func(fullBytes int), fn func(key string, value []byte, deleted bool) error) (int, error) {
	dir := filepath.Join(s.dir, stateDir, escapeStreamID(streamID))
	names := ref.files()
	payloads := make([][]byte, len(names))
	size := 0
	for i, name := range names {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			return 0, fmt.Errorf("checkpoint: read state of stream %s: %w", streamID, err)
		}
		// A segment or a chain's full snapshot (first) is full; a
		// rolling chain may have no full snapshot, and then counts every
		// file in the size.
		full := ref.segmented() || i == 0 && ref.Full != ""
		payload, err := decodeFrame(data)
		if err == nil {
			err = checkStateHeader(payload, streamID, full)
		}
		if err != nil {
			return 0, fmt.Errorf("checkpoint: %s: %w", path, err)
		}
		if full || ref.Full == "" {
			size += len(data)
		}
		payloads[i] = payload
	}
	if begin != nil {
		begin(size)
	}
	for i, payload := range payloads {
		var fnErr error
		_, err := decodeStatePayload(payload, func(key string, value []byte, deleted bool) bool {
			fnErr = fn(key, value, deleted)
			return fnErr == nil
		})
		if fnErr != nil {
			return 0, fnErr
		}
		if err != nil {
			return 0, fmt.Errorf("checkpoint: %s: %w", filepath.Join(dir, names[i]), err)
		}
	}
	return size, nil
}

// checkStateHeader checks that the state file whose payload is given is of
// stream streamID, and a full snapshot (or segment) exactly when wantFull.
func checkStateHeader(payload []byte, streamID string, wantFull bool) error {
	h, err := decodeStatePayload(payload, func(string, []byte, bool) bool { return false })
	if err == nil && (h.streamID != streamID || h.full != wantFull) {
		err = fmt.Errorf("%w: holds stream %q (full %v), expected stream %q (full %v)", ErrCorrupt, h.streamID, h.full, streamID, wantFull)
	}
	return err
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
	retained := map[string]bool{}
	for _, name := range names {
		retained[name] = true
		files, ok := s.refs[name]
		if !ok {
			m, err := s.readMetadataFile(name)
			if errors.Is(err, ErrNewerVersion) {
				return errors.Join(append(errs, fmt.Errorf("keeping all state files: %w", err))...)
			}
			if errors.Is(err, ErrCorrupt) || errors.Is(err, os.ErrNotExist) {
				continue // its state files cannot be used anyway
			}
			if err != nil { // unreadable for now (EIO, EMFILE): it may name any file
				return errors.Join(append(errs, fmt.Errorf("keeping all state files: %w", err))...)
			}
			files = referencedFiles(m.State)
			s.refs[name] = files
		}
		for _, f := range files {
			live[f] = true
		}
	}
	for name := range s.refs {
		if !retained[name] {
			delete(s.refs, name)
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
