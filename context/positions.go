package context

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/sluice-io/sluice/checkpoint"
)

// This file holds the checkpoint positions of the context's own inputs
// (CheckpointedInput): the queue stream counts the items taken, the file
// stream lists the files each remembered batch took.

// skipTaken drops the items a restored position says were taken before the
// restart (the user's setup pushes them again). Called with q.mu held.
func (q *Queue[T]) skipTaken() {
	n := min(q.skip, int64(len(q.items)))
	if n == 0 {
		return
	}
	clear(q.items[:n])
	q.items = q.items[n:]
	q.skip -= n
	q.taken += n
}

// maxPositionHistory bounds the batches an input remembers positions for:
// the job loop asks for the position of a batch soon after generating it.
const maxPositionHistory = 4096

// queuePositions remembers how many items had been taken after each
// generated batch, so the position as of a completed batch is known while
// later batches have already taken more.
type queuePositions struct {
	mu      sync.Mutex
	base    int64 // taken before the first remembered batch
	history []takenAt
}

type takenAt struct{ time, taken int64 }

func (p *queuePositions) record(t time.Time, taken int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.history) >= maxPositionHistory {
		p.base = p.history[0].taken
		p.history = slices.Delete(p.history, 0, 1)
	}
	p.history = append(p.history, takenAt{t.UnixNano(), taken})
}

// asOf returns the items taken by the batches up to t, forgetting older
// batches.
func (p *queuePositions) asOf(t time.Time) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	i, _ := slices.BinarySearchFunc(p.history, t.UnixNano()+1, func(e takenAt, tn int64) int { return cmpInt64(e.time, tn) })
	if i > 0 {
		p.base = p.history[i-1].taken
		p.history = slices.Delete(p.history, 0, i-1)
	}
	return p.base
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// queuePosition is the queue stream's checkpointed position.
type queuePosition struct {
	_msgpack struct{} `msgpack:",as_array"`
	Taken    int64
}

// CheckpointPosition returns how many items the batches up to batchTime
// took.
func (s *queueSource[T]) CheckpointPosition(batchTime time.Time) ([]byte, error) {
	return msgpack.Marshal(&queuePosition{Taken: s.positions.asOf(batchTime)})
}

// RestorePosition makes the queue drop, as they are pushed again, the
// items taken before the restart.
func (s *queueSource[T]) RestorePosition(pos []byte) error {
	var p queuePosition
	if err := msgpack.Unmarshal(pos, &p); err != nil {
		return fmt.Errorf("queue position: %w: %w", checkpoint.ErrCorrupt, err)
	}
	s.q.mu.Lock()
	s.q.skip = max(p.Taken-s.q.taken, 0)
	s.q.skipTaken()
	s.q.mu.Unlock()
	s.positions.mu.Lock()
	s.positions.base, s.positions.history = p.Taken, nil
	s.positions.mu.Unlock()
	return nil
}

// filePosition is the file stream's checkpointed position.
type filePosition struct {
	_msgpack  struct{} `msgpack:",as_array"`
	Through   int64    // the batch time of the position
	Threshold int64    // files modified before it are not new (0: none)
	Batches   map[int64][]string
}

func (s *fileSource[T]) positionedAtStart() {}

// CheckpointPosition returns the files each remembered batch up to
// batchTime took, and the stream's start threshold.
func (s *fileSource[T]) CheckpointPosition(batchTime time.Time) ([]byte, error) {
	s.mu.Lock()
	p := filePosition{Through: batchTime.UnixNano(), Batches: map[int64][]string{}}
	if !s.initialThreshold.IsZero() {
		p.Threshold = s.initialThreshold.UnixNano()
	}
	for t, files := range s.selected {
		if t <= p.Through {
			p.Batches[t] = slices.Clone(files)
		}
	}
	s.mu.Unlock()
	return msgpack.Marshal(&p)
}

// RestorePosition marks the files the batches up to the position's batch
// took as taken, so no file is taken twice across a restart; those batches,
// computed again (by a window), re-read their files. The start threshold is
// the checkpointed one, as Spark's: the files in the directory when the
// stream was built again at the restart are not ignored, so those that
// arrived while the program was down, or were taken by batches after the
// checkpoint, are taken.
func (s *fileSource[T]) RestorePosition(pos []byte) error {
	var p filePosition
	if err := msgpack.Unmarshal(pos, &p); err != nil {
		return fmt.Errorf("file stream position: %w: %w", checkpoint.ErrCorrupt, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initialThreshold = time.Time{}
	if p.Threshold != 0 {
		s.initialThreshold = time.Unix(0, p.Threshold).UTC()
	}
	// Listed at the restart, not at the stream's first start.
	s.preexisting = nil
	s.selected = maps.Clone(p.Batches)
	if s.selected == nil {
		s.selected = map[int64][]string{}
	}
	s.seen = map[string]bool{}
	for _, files := range s.selected {
		for _, f := range files {
			s.seen[f] = true
		}
	}
	s.restoredThrough = time.Unix(0, p.Through).UTC()
	return nil
}
