package checkpoint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// The steps of writing one file, in order, and of removing one. Tests hook
// each of them through Store.fault to crash the writer between any two.
const (
	stepCreate  = "create"   // create name.tmp
	stepWrite   = "write"    // write the bytes (a crash here leaves half of them)
	stepSync    = "sync"     // fsync name.tmp
	stepClose   = "close"    // close name.tmp
	stepRename  = "rename"   // rename name.tmp to name
	stepSyncDir = "sync-dir" // fsync the directory, making the rename durable
	stepRemove  = "remove"   // remove a file no longer retained
)

// errCrash marks a failure injected by a test's fault hook. The writer stops
// where it is, leaving the directory exactly as a crash would: no cleanup.
var errCrash = errors.New("injected crash")

// fault calls the test hook, if any, before a step.
func (s *Store) fault(step, path string) error {
	if s.faults == nil {
		return nil
	}
	if err := s.faults(step, path); err != nil {
		return fmt.Errorf("%w at %s %s: %w", errCrash, step, filepath.Base(path), err)
	}
	return nil
}

// writeFileAtomic writes the parts of a file, one after the other, to path
// the way hashicorp/raft writes snapshots: to path+".tmp", fsync, close,
// rename over path, fsync the directory. A reader sees either the old file
// (or none) or the whole new one; a crash leaves at most a *.tmp, removed
// by the next Open.
func (s *Store) writeFileAtomic(path string, parts ...[]byte) error {
	tmp := path + tmpSuffix
	if err := s.fault(stepCreate, tmp); err != nil {
		return err
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("checkpoint: create %s: %w", tmp, err)
	}
	if err := s.fault(stepWrite, tmp); err != nil {
		data := slices.Concat(parts...)
		_, _ = f.Write(data[:len(data)/2]) // a torn write
		_ = f.Close()
		return err
	}
	for _, p := range parts {
		if _, err := f.Write(p); err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
			return fmt.Errorf("checkpoint: write %s: %w", tmp, err)
		}
	}
	return s.commitFile(f, tmp, path)
}

// commitFile makes f, the whole file written at tmp, durable as path:
// fsync, close, rename over path, fsync the directory. On an error other
// than a test's crash, tmp is removed.
func (s *Store) commitFile(f *os.File, tmp, path string) (err error) {
	crashed := false
	defer func() {
		if err != nil && !crashed {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err := s.fault(stepSync, tmp); err != nil {
		crashed = true
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("checkpoint: fsync %s: %w", tmp, err)
	}
	dropCached(f)
	if err := s.fault(stepClose, tmp); err != nil {
		crashed = true
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("checkpoint: close %s: %w", tmp, err)
	}
	if err := s.fault(stepRename, path); err != nil {
		crashed = true
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		crashed = true // f is closed; nothing more to clean up
		return fmt.Errorf("checkpoint: rename %s: %w", tmp, err)
	}
	if err := s.fault(stepSyncDir, filepath.Dir(path)); err != nil {
		crashed = true
		return err
	}
	if err := SyncDir(filepath.Dir(path)); err != nil {
		crashed = true
		return err
	}
	return nil
}

// mkdirAllDurable is os.MkdirAll that also fsyncs the parent of every
// directory it creates, deepest first, so that a power loss after the first
// checkpoint cannot take the checkpoint directory away with it. It returns
// the directories it fsynced.
func mkdirAllDurable(path string) ([]string, error) {
	var created []string // deepest first
	for p := filepath.Clean(path); ; p = filepath.Dir(p) {
		if _, err := os.Stat(p); err == nil {
			break
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		created = append(created, p)
		if filepath.Dir(p) == p {
			break
		}
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, err
	}
	synced := make([]string, 0, len(created))
	for _, p := range created {
		if err := SyncDir(filepath.Dir(p)); err != nil {
			return synced, err
		}
		synced = append(synced, filepath.Dir(p))
	}
	return synced, nil
}

// SyncDir fsyncs a directory so that renames and creations in it survive a
// power loss.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("checkpoint: open directory %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("checkpoint: fsync directory %s: %w", dir, err)
	}
	return nil
}

// removeFile removes a file that is no longer retained.
func (s *Store) removeFile(path string) error {
	if err := s.fault(stepRemove, path); err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("checkpoint: remove %s: %w", path, err)
	}
	return nil
}

const tmpSuffix = ".tmp"
