package receivers

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// BlockID identifies a block: the input stream and the block's sequence
// number in it, increasing from 0 (and across restarts recovered from a
// write-ahead log). It prints as Spark's StreamBlockId does: input-<stream>-<seq>.
type BlockID struct {
	StreamID int   `msgpack:"s"`
	Seq      int64 `msgpack:"q"`
}

// String returns "input-<stream>-<seq>".
func (id BlockID) String() string { return fmt.Sprintf("input-%d-%d", id.StreamID, id.Seq) }

// Block is a run of stored records, cut every block interval or by one
// StoreMany call; the blocks of a batch become the partitions of its RDD.
type Block[T any] struct {
	ID      BlockID
	Records []T
}

// Count returns the number of records in the block.
func (b Block[T]) Count() int { return len(b.Records) }

// blockBuffer holds the block being built and the blocks cut but not allocated.
type blockBuffer[T any] struct {
	mu       sync.Mutex
	streamID int
	nextSeq  int64
	current  []T
	pending  []Block[T]
	// unlogged holds the sequence numbers of the pending blocks whose
	// write-ahead log append failed when they were cut: allocate appends
	// them again before it records the allocation, and fails while it
	// cannot, so that no batch is given a block a restart could not
	// replay.
	unlogged   map[int64]bool
	maxPending int
	space      chan struct{} // closed and replaced when pending shrinks
	wal        *WAL[T]
	log        hclog.Logger
	report     func(msg string, err error)
	onStore    func() // test hook, called after every successful store
}

func newBlockBuffer[T any](streamID, maxPending int, log hclog.Logger, report func(string, error)) *blockBuffer[T] {
	return &blockBuffer[T]{streamID: streamID, maxPending: maxPending, space: make(chan struct{}), log: log, report: report}
}

// restore queues recovered, never allocated blocks ahead of new ones.
func (b *blockBuffer[T]) restore(blocks []Block[T], nextSeq int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending = append(slices.Clone(blocks), b.pending...)
	b.nextSeq = max(b.nextSeq, nextSeq)
}

// waitRoom returns with b.mu held once there is room for one more pending block.
func (b *blockBuffer[T]) waitRoom(ctx context.Context) error {
	for {
		b.mu.Lock()
		if len(b.pending) < b.maxPending {
			return nil
		}
		space := b.space
		b.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			return ErrStopped
		}
	}
}

func (b *blockBuffer[T]) add(ctx context.Context, rec T) error {
	if err := b.waitRoom(ctx); err != nil {
		return err
	}
	b.current = append(b.current, rec)
	b.mu.Unlock()
	if b.onStore != nil {
		b.onStore()
	}
	return nil
}

func (b *blockBuffer[T]) addMany(ctx context.Context, recs []T) error {
	if err := b.waitRoom(ctx); err != nil {
		return err
	}
	defer b.mu.Unlock()
	b.cutLocked()
	blk := Block[T]{ID: BlockID{b.streamID, b.nextSeq}, Records: slices.Clone(recs)}
	if b.wal != nil {
		if err := b.wal.AppendBlock(blk); err != nil {
			return err
		}
	}
	b.nextSeq++
	b.pending = append(b.pending, blk)
	if b.onStore != nil {
		b.onStore()
	}
	return nil
}

func (b *blockBuffer[T]) cut() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cutLocked()
}

// cutLocked turns the records stored since the last cut into a pending block.
// A write-ahead-log failure is reported, and the block stays queued,
// unlogged, for allocate to append again.
func (b *blockBuffer[T]) cutLocked() {
	if len(b.current) == 0 {
		return
	}
	blk := Block[T]{ID: BlockID{b.streamID, b.nextSeq}, Records: b.current}
	b.nextSeq++
	b.current = nil
	if b.wal != nil {
		if err := b.wal.AppendBlock(blk); err != nil {
			b.report("write-ahead log append failed; the block is kept and appended again before it is allocated", err)
			if b.unlogged == nil {
				b.unlogged = map[int64]bool{}
			}
			b.unlogged[blk.ID.Seq] = true
		}
	}
	b.pending = append(b.pending, blk)
}

// allocate hands out every pending block for the batch at batchTime. With a
// write-ahead log, it first appends the blocks whose append failed, and
// returns an error, keeping every block pending, while one still fails or
// the allocation cannot be recorded.
func (b *blockBuffer[T]) allocate(batchTime time.Time) ([]Block[T], error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cutLocked()
	out := b.pending
	if b.wal != nil {
		for _, blk := range out {
			if !b.unlogged[blk.ID.Seq] {
				continue
			}
			if err := b.wal.AppendBlock(blk); err != nil {
				return nil, fmt.Errorf("block %v (%d records) is not in the write-ahead log: %w", blk.ID, len(blk.Records), err)
			}
			delete(b.unlogged, blk.ID.Seq)
		}
		ids := make([]BlockID, len(out))
		for i, blk := range out {
			ids[i] = blk.ID
		}
		if err := b.wal.RecordAllocation(batchTime, ids); err != nil {
			return nil, err
		}
	}
	b.pending = nil
	close(b.space)
	b.space = make(chan struct{})
	return out, nil
}
