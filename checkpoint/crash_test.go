package checkpoint

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type faultPoint struct{ step, path string }

// String names the step and file, without the random part of a state
// file's name, so that replays compare equal.
func (p faultPoint) String() string {
	return p.step + " " + randomPart.ReplaceAllString(p.path, "$1")
}

var randomPart = regexp.MustCompile(`-[0-9a-f]{8}(\.full|\.delta|\.seg)`)

// crashScenario replays the same sequence of checkpoints into a fresh
// directory: batches 1..n-1 written whole, then batch n with the fault hook
// set. It returns the store, the models and the state of each stream after
// every batch.
type crashScenario struct {
	t      *testing.T
	dir    string
	store  *Store
	logs   *logBuffer
	models []*model
	want   map[int][]map[int]int64 // batch → per-model state
	// fresh is true until the store has a checkpoint of the streams: only
	// then is StateSnapshot.All passed, so later full snapshots are built
	// by compacting the files on disk.
	fresh bool
}

const crashRetain, crashFullEvery = 2, 3

func newCrashScenario(t *testing.T) *crashScenario {
	c := &crashScenario{t: t, dir: t.TempDir(), want: map[int][]map[int]int64{}, fresh: true}
	c.store, c.logs = openTest(t, c.dir, WithRetain(crashRetain), WithFullSnapshotEvery(crashFullEvery))
	c.models = []*model{newModel("words", 30), newModel("window", 5)}
	return c
}

// write runs batch i: applies its updates (the same on every replay) and
// writes its checkpoint.
func (c *crashScenario) write(i int) error {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	var snaps []StateSnapshot
	var wants []map[int]int64
	for j, m := range c.models {
		if i > 1 {
			m.batch(r, 4+j)
		}
		st := m.snapshot(c.t)
		if !c.fresh {
			st.All = nil
		}
		snaps = append(snaps, st)
		wants = append(wants, clone(m.live))
	}
	c.want[i] = wants
	err := c.store.Write(&Checkpoint{Metadata: testMetadata(i), State: snaps})
	if err == nil {
		c.fresh = false
	}
	return err
}

// metaRenameStep returns the index of the step that renames the metadata
// file into place among the steps of one write.
func metaRenameStep(t *testing.T, points []faultPoint) int {
	t.Helper()
	at := -1
	for k, p := range points {
		if p.step == stepRename && strings.HasSuffix(p.path, metaSuffix) {
			at = k
		}
	}
	if at < 0 {
		t.Fatalf("no metadata rename among %v", points)
	}
	return at
}

// reopenAfterCrash reopens dir as a restarted process would after the
// write of batch crashed was cut short, and checks that the newest
// readable checkpoint is the previous batch, or batch crashed when the cut
// came after its metadata was renamed into place, with no file skipped as
// unreadable. It returns the store, that checkpoint and its batch.
func reopenAfterCrash(t *testing.T, dir string, afterMetaRename bool, crashed int, opts ...Option) (*Store, *Metadata, int) {
	t.Helper()
	s, logs := openTest(t, dir, opts...)
	m, err := s.LatestMetadata()
	if err != nil {
		t.Fatal(err)
	}
	want := crashed - 1
	if afterMetaRename {
		want = crashed
	}
	if !m.Time.Equal(batchTime(want)) {
		t.Fatalf("recovered batch %v, want %v", m.Time, batchTime(want))
	}
	if strings.Contains(logs.String(), "skipping") {
		t.Fatalf("a crash left an unreadable file: %s", logs.String())
	}
	return s, m, want
}

// TestCrashBetweenEverySteps crashes the writer before every step (create,
// torn write, fsync, close, rename, directory fsync of each state and
// metadata file, and each removal of retention) of checkpoints that write
// full snapshots, deltas and remove old files; then reopens the directory as a restarted process would and checks
// that the newest checkpoint readable is the previous one (or the new one
// once its metadata was renamed into place), that its state is exactly the
// state of that batch, with no file skipped as unreadable, and that writing
// goes on.
func TestCrashBetweenEverySteps(t *testing.T) {
	for crashed := 2; crashed <= 5; crashed++ {
		// A dry run lists the steps of writing batch `crashed`.
		dry := newCrashScenario(t)
		for i := 1; i < crashed; i++ {
			if err := dry.write(i); err != nil {
				t.Fatal(err)
			}
		}
		var points []faultPoint
		dry.store.faults = func(step, path string) error {
			points = append(points, faultPoint{step, strings.TrimPrefix(path, dry.dir)})
			return nil
		}
		if err := dry.write(crashed); err != nil {
			t.Fatal(err)
		}
		metaRenamed := metaRenameStep(t, points)
		var kinds []string
		for _, p := range points {
			kinds = append(kinds, p.String())
		}
		t.Logf("batch %d: %d steps: %s", crashed, len(points), strings.Join(kinds, ", "))

		for k, p := range points {
			t.Run(fmt.Sprintf("batch%d/step%02d-%s", crashed, k, p.step), func(t *testing.T) {
				c := newCrashScenario(t)
				for i := 1; i < crashed; i++ {
					if err := c.write(i); err != nil {
						t.Fatal(err)
					}
				}
				calls := 0
				c.store.faults = func(step, path string) error {
					calls++
					if calls-1 == k {
						if got := (faultPoint{step, strings.TrimPrefix(path, c.dir)}); got.String() != p.String() {
							t.Errorf("replay diverged: step %d is %s %s, dry run had %v", k, step, filepath.Base(path), p)
						}
						return errors.New("power cut")
					}
					return nil
				}
				if err := c.write(crashed); !errors.Is(err, errCrash) {
					t.Fatalf("write: got %v, want the injected crash", err)
				}

				s, m, want := reopenAfterCrash(t, c.dir, k > metaRenamed, crashed, WithRetain(crashRetain), WithFullSnapshotEvery(crashFullEvery))
				for j, md := range c.models {
					checkState(t, s, m, md.id, c.want[want][j])
				}

				// Writing goes on from the recovered state.
				for j, md := range c.models {
					md.live = clone(c.want[want][j])
					clear(md.changed)
					md.set(1000, 1)
				}
				c.store, c.fresh = s, true
				if err := c.write(crashed + 1); err != nil {
					t.Fatal(err)
				}
				if err := c.write(crashed + 2); err != nil {
					t.Fatal(err)
				}
				s2, _ := openTest(t, c.dir)
				m, err := s2.LatestMetadata()
				if err != nil {
					t.Fatal(err)
				}
				for j, md := range c.models {
					checkState(t, s2, m, md.id, c.want[crashed+2][j])
				}
			})
		}
	}
}

// TestFailedWriteCarriesChanges checks that after a write fails midway
// (without a crash: the store lives on), the next checkpoint's deltas carry
// the failed one's changes, since they are in no file a checkpoint names.
func TestFailedWriteCarriesChanges(t *testing.T) {
	c := newCrashScenario(t)
	if err := c.write(1); err != nil {
		t.Fatal(err)
	}
	c.store.faults = func(step, path string) error {
		if step == stepRename && strings.HasSuffix(path, metaSuffix) {
			return errors.New("disk full")
		}
		return nil
	}
	if err := c.write(2); err == nil {
		t.Fatal("no error")
	}
	c.store.faults = nil
	before := c.store.Stats()
	if err := c.write(3); err != nil {
		t.Fatal(err)
	}
	if got := c.store.Stats(); got.FullSnapshots != before.FullSnapshots || got.Deltas != before.Deltas+int64(len(c.models)) {
		t.Fatalf("after a failed write: %+v, then %+v; want one delta per stream", before, got)
	}
	m, err := c.store.LatestMetadata()
	if err != nil {
		t.Fatal(err)
	}
	for j, md := range c.models {
		checkState(t, c.store, m, md.id, c.want[3][j])
	}
}

// TestMkdirAllDurable: every directory created gets its parent fsynced,
// deepest first; existing ones are left alone.
func TestMkdirAllDurable(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b", "c")
	synced, err := mkdirAllDurable(deep)
	require.NoError(t, err)
	require.Equal(t, []string{filepath.Join(root, "a", "b"), filepath.Join(root, "a"), root}, synced)
	require.DirExists(t, deep)
	synced, err = mkdirAllDurable(deep)
	require.NoError(t, err)
	require.Empty(t, synced)
	_, err = mkdirAllDurable(filepath.Join(deep, "x\x00"))
	require.Error(t, err)
}

// TestStreamDirSyncedOncePerOpen: the first state file of a stream since
// Open fsyncs the state directory, also when the stream's directory is
// already there (a run that crashed before that fsync leaves it, and a
// power loss could still take it away with the new files); later writes
// do not.
func TestStreamDirSyncedOncePerOpen(t *testing.T) {
	dir := t.TempDir()
	write := func(s *Store, i int) {
		live := map[int]int64{1: int64(i)}
		st := StateSnapshot{StreamID: "words", Changed: *allEntries(t, live), All: allEntries(t, live)}
		require.NoError(t, s.Write(&Checkpoint{Metadata: testMetadata(i), State: []StateSnapshot{st}}))
	}
	stateSyncs := func(s *Store, i int) int {
		n := 0
		s.faults = func(step, path string) error {
			if step == stepSyncDir && path == filepath.Join(dir, stateDir) {
				n++
			}
			return nil
		}
		write(s, i)
		s.faults = nil
		return n
	}
	s, _ := openTest(t, dir)
	require.Equal(t, 1, stateSyncs(s, 1), "the stream directory created")
	require.Equal(t, 0, stateSyncs(s, 2))
	s, _ = openTest(t, dir)
	require.Equal(t, 1, stateSyncs(s, 3), "the stream directory found at Open")
	require.Equal(t, 0, stateSyncs(s, 4))
}
