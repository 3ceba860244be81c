package context

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/sluice-io/sluice/checkpoint"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/rdd"
)

// This file writes the checkpoints of a running context: the metadata after
// every batch and, at the graph's data checkpoint times, the data of the
// streams that hold data across batches.
//
// # The recovery point
//
// Data checkpoints are taken at the batch times where a stream's checkpoint
// interval falls (every batch in a graph without stateful or inverse-window
// streams). The last one is the recovery point R: the metadata written
// after every later batch T still holds the input positions as of R and
// refers to the stream data as of R, with LastCompleted T and the batches
// generated but not completed as Pending. Recovery restores R and re-runs
// every batch after it, the completed ones (R, T] and the pending ones
// first, then those that fell due while the program was down. Inputs that
// fix what a batch reads when it is generated (generatedInput: Kafka's
// offset ranges) save, in every metadata checkpoint, what the batches after
// R read, and the re-run batches read exactly that again.
//
// # Goroutines
//
// The runner takes the snapshots on the batch path (a copy of what changed)
// and hands them to the encoder goroutine, which encodes them and submits
// them to the store's AsyncWriter. The encoder takes a slot before each
// Submit and the writer gives it back when the write is done, so Submit
// never finds the writer's queue full and no delta is dropped; a slow disk
// slows the encoder, then the runner. Both goroutines are stopped by
// closeCheckpoints, called by finish, after a graceful stop's final
// checkpoint.

// CheckpointedInput is implemented by inputs whose position can be saved
// and restored, so that after a crash they go on where the checkpoint was:
// the queue stream (items taken), the file stream (files taken), Kafka
// (offsets).
type CheckpointedInput interface {
	// CheckpointPosition returns the input's position as of the end of
	// batch batchTime: what the batches up to it took, not what later
	// batches generated since took. It is called in the job loop after
	// that batch completed.
	CheckpointPosition(batchTime time.Time) ([]byte, error)
	// RestorePosition restores a position returned by CheckpointPosition,
	// before the input starts; the batches after that batch time are then
	// generated again.
	RestorePosition(pos []byte) error
}

// startPositioned is implemented by inputs whose position before their
// first batch (CheckpointPosition at the zero time) differs from the one
// they would take if built again at a restart: the file stream, whose new
// files are those modified after its first start, not after the restart.
// Until the first data checkpoint, every metadata checkpoint holds it.
type startPositioned interface {
	CheckpointedInput
	positionedAtStart()
}

// generatedInput is implemented by inputs that fix what a batch reads when
// the batch is generated (Kafka's offset ranges), so that the batches a
// restart re-runs read exactly what they read before the crash, Spark's
// DirectKafkaInputDStreamCheckpointData: their output may already be
// written, and a batch computed again over other records loses or doubles
// some.
type generatedInput interface {
	// GeneratedPositions returns what the batches generated after the
	// recovery point after read, pending ones included. It is called in
	// the job loop after every completed batch; the input may forget the
	// batches up to after.
	GeneratedPositions(after time.Time) ([]byte, error)
	// RestoreGenerated restores what GeneratedPositions returned, before
	// the input starts: the batches it names read the same again when
	// generated again.
	RestoreGenerated(b []byte) error
}

// graphDataKey is the key of the graph's own entry in Metadata.Data; no
// stream ID starts with a NUL byte.
const graphDataKey = "\x00graph"

// generatedDataKeyPrefix, followed by an input stream's ID, is the key of
// that input's generatedInput entry in Metadata.Data.
const generatedDataKeyPrefix = "\x00generated/"

// graphData is the graph's entry in Metadata.Data.
type graphData struct {
	_msgpack struct{} `msgpack:",as_array"`
	// ZeroTime is the graph's zero time (UnixNano): batches fall at
	// ZeroTime + k × interval, after a restart too.
	ZeroTime int64
	// Recovery is the batch time (UnixNano) of the data checkpoint the
	// metadata refers to, or ZeroTime when there is none yet.
	Recovery int64
}

// checkpointWriterQueue is the number of checkpoints waiting behind the one
// being written.
const checkpointWriterQueue = 4

type checkpointer struct {
	store *checkpoint.Store

	// set at Start
	writer  *checkpoint.AsyncWriter
	slots   chan struct{} // free places in the writer's queue
	jobs    chan checkpointJob
	encDone chan struct{}
	failed  atomic.Bool // a write failed, or the run restored a checkpoint: the next batch takes a data checkpoint of everything
	closed  bool

	restoreFrom *checkpoint.Metadata // set by GetOrCreate

	mu        sync.Mutex
	generated map[int64]bool // batches generated and not completed
	// written is the batch time of the newest checkpoint on disk, and
	// writeErr the error of the newest write that failed after it; written
	// is closed and replaced whenever either changes (AwaitCheckpoint).
	written   time.Time
	writeErr  error
	writtenCh chan struct{}

	// covered holds the inputs to tell the recovery point of each
	// checkpoint written (coveredInput); set before the writer starts.
	covered []coveredInput

	// runner only
	zeroTime      time.Time
	fingerprint   []checkpoint.StreamIdentity
	recovery      time.Time
	positions     map[string][]byte
	lastCompleted time.Time

	// encoder only
	chained map[string]bool // streams with state written since Open
	// next holds, per stream, the entries handed over ahead of its next
	// data checkpoint (dstream.Graph.CheckpointAhead), in order.
	next map[string]checkpoint.Entries

	// spare holds, per stream, the buffer of its last data checkpoint
	// built from entries handed over ahead, once written, and reusable
	// those of the data checkpoints not written yet (recycle).
	spareMu  sync.Mutex
	spare    map[string]checkpoint.Entries
	reusable map[*checkpoint.Checkpoint]map[string]checkpoint.Entries
}

// coveredInput is implemented by inputs that keep what completed batches
// took until a durable checkpoint no longer needs it: the receiver streams,
// whose write-ahead logs keep the blocks of every batch after the recovery
// point, since a restart re-runs those batches.
type coveredInput interface {
	// checkpointCovers is called by the checkpoint writer once a
	// checkpoint whose recovery point is r is durable.
	checkpointCovers(r time.Time)
}

// tellCovered tells the inputs the recovery point of ck, now durable.
func (c *checkpointer) tellCovered(ck *checkpoint.Checkpoint) {
	if len(c.covered) == 0 {
		return
	}
	gd, err := readGraphData(ck.Metadata)
	if err != nil {
		return // the runner wrote it: not reached
	}
	r := time.Unix(0, gd.Recovery).UTC()
	for _, in := range c.covered {
		in.checkpointCovers(r)
	}
}

type checkpointJob struct {
	meta *checkpoint.Metadata
	data []dstream.StreamData
	// ahead, in a job without data, is the start of the next data
	// checkpoint: the changes of the batch to hand over ahead.
	ahead []dstream.AheadData
	sync  chan error // not nil: report when written (the final checkpoint)
}

// Checkpoint sets the directory where the context writes its checkpoints,
// Spark's StreamingContext.checkpoint: metadata after every batch, and the
// data of stateful and inverse-window streams at their checkpoint
// interval. Streams that must checkpoint refuse to start without it. Use
// GetOrCreate to recover from it after a crash. Only before Start.
func (ssc *StreamingContext) Checkpoint(dir string) error {
	if st := ssc.State(); st != Initialized {
		return fmt.Errorf("context: Checkpoint: %w: the context is %v", ErrNotInitialized, st)
	}
	if dir == "" {
		return errors.New("context: Checkpoint: the directory must not be empty")
	}
	store, err := checkpoint.Open(dir, checkpoint.WithLogger(ssc.cfg.logger.Named("checkpoint")))
	if err != nil {
		return fmt.Errorf("context: Checkpoint: %w", err)
	}
	ssc.mu.Lock()
	ssc.ckpt = &checkpointer{store: store, generated: map[int64]bool{}, chained: map[string]bool{},
		next: map[string]checkpoint.Entries{}, spare: map[string]checkpoint.Entries{},
		reusable: map[*checkpoint.Checkpoint]map[string]checkpoint.Entries{}, writtenCh: make(chan struct{})}
	ssc.mu.Unlock()
	ssc.graph.SetCheckpointing(true)
	return nil
}

// CheckpointDir returns the directory set with Checkpoint, or "".
func (ssc *StreamingContext) CheckpointDir() string {
	ssc.mu.Lock()
	defer ssc.mu.Unlock()
	return ssc.checkpointDirLocked()
}

// checkpointDirLocked is CheckpointDir for callers that hold ssc.mu, such
// as inputs starting inside Start.
func (ssc *StreamingContext) checkpointDirLocked() string {
	if ssc.ckpt == nil {
		return ""
	}
	return ssc.ckpt.store.Dir()
}

// startTimes returns the zero time and the first batch time: those of the
// checkpoint when recovering, else from the clock. Called with ssc.mu held.
func (ssc *StreamingContext) startTimes(now time.Time) (zero, first time.Time, err error) {
	first = nextBatchTime(now, ssc.batchInterval)
	zero = first.Add(-ssc.batchInterval)
	c := ssc.ckpt
	if c == nil || c.restoreFrom == nil {
		return zero, first, nil
	}
	gd, err := checkGraphData(c.restoreFrom)
	if err != nil {
		return zero, first, err
	}
	zero = time.Unix(0, gd.ZeroTime).UTC()
	return zero, time.Unix(0, gd.Recovery).UTC().Add(ssc.batchInterval), nil
}

// readGraphData decodes the graph's entry of m, checking only that it
// decodes: for the checkpoints this run wrote. A checkpoint to restore is
// read with checkGraphData.
func readGraphData(m *checkpoint.Metadata) (graphData, error) {
	var gd graphData
	raw, ok := m.Data[graphDataKey]
	if !ok {
		return gd, fmt.Errorf("context: checkpoint of batch %s has no graph data", dstream.FormatTime(m.Time))
	}
	if err := msgpack.Unmarshal(raw, &gd); err != nil {
		return gd, fmt.Errorf("context: checkpoint of batch %s: graph data: %w: %w", dstream.FormatTime(m.Time), checkpoint.ErrCorrupt, err)
	}
	return gd, nil
}

// prepareCheckpoints restores a checkpoint (GetOrCreate) into the started
// graph and the inputs, and starts the checkpoint goroutines. Called by
// Start with ssc.mu held, after the graph started and before the inputs.
func (ssc *StreamingContext) prepareCheckpoints(zero time.Time) error {
	c := ssc.ckpt
	if c == nil {
		return nil
	}
	c.zeroTime, c.recovery, c.closed = zero, zero, false
	c.fingerprint = ssc.graph.Fingerprint()
	c.positions = map[string][]byte{}
	if c.restoreFrom == nil {
		for _, in := range ssc.inputs {
			if si, ok := in.inputSource.(startPositioned); ok {
				id := c.fingerprint[in.streamID].ID
				pos, err := si.CheckpointPosition(zero)
				if err != nil {
					return fmt.Errorf("context: position of input stream %s at its start: %w", id, err)
				}
				c.positions[id] = pos
			}
		}
	}
	if m := c.restoreFrom; m != nil {
		r, err := ssc.restoreCheckpoint(c, m)
		if err != nil {
			return err
		}
		c.recovery, c.lastCompleted = r, r
		// The store of this run holds no chain of state files yet, so a
		// checkpoint without data would name no state: the first batch
		// completed takes a data checkpoint, of everything.
		c.failed.Store(true)
		ssc.cfg.logger.Info("recovering from checkpoint", "checkpoint", dstream.FormatTime(m.Time),
			"lastCompleted", dstream.FormatTime(m.LastCompleted), "pending", len(m.Pending),
			"restoredAsOf", dstream.FormatTime(r), "rerunFrom", dstream.FormatTime(r.Add(ssc.batchInterval)))
	}
	ssc.graph.StartTrackingChanges()
	c.slots = make(chan struct{}, checkpointWriterQueue)
	for range checkpointWriterQueue {
		c.slots <- struct{}{}
	}
	c.covered = nil
	for _, in := range ssc.inputs {
		if ci, ok := in.inputSource.(coveredInput); ok {
			c.covered = append(c.covered, ci)
		}
	}
	c.writer = c.store.NewAsyncWriter(checkpointWriterQueue, func(ck *checkpoint.Checkpoint, err error) {
		if err != nil {
			c.failed.Store(true)
		} else {
			c.tellCovered(ck)
		}
		c.wrote(ck.Metadata.Time, err)
		c.recycle(ck, err)
		c.slots <- struct{}{}
	})
	c.jobs = make(chan checkpointJob, checkpointWriterQueue)
	c.encDone = make(chan struct{})
	go ssc.encodeCheckpoints(c)
	return nil
}

// restoreCheckpoint restores checkpoint m into the started graph and the
// inputs, for prepareCheckpoints, and returns its recovery point. User
// code runs during the restore (the state's and keys' DecodeMsgpack, a
// Partitioner, a CheckpointedInput's RestorePosition): a panic in it
// fails Start with an error wrapping rdd.ErrUserPanic that names the
// checkpoint's batch time and what was being restored (dstream's restore
// also names the key), instead of escaping into the user's program.
func (ssc *StreamingContext) restoreCheckpoint(c *checkpointer, m *checkpoint.Metadata) (r time.Time, err error) {
	what := "the data of the streams"
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("context: recovering from checkpoint of batch %s: %s: %w: %v", dstream.FormatTime(m.Time), what, rdd.ErrUserPanic, v)
		}
	}()
	gd, err := checkGraphData(m)
	if err != nil {
		return r, err
	}
	r = time.Unix(0, gd.Recovery).UTC()
	if err := ssc.graph.RestoreData(r, func(id string, fn func(key string, value []byte, deleted bool) error) error {
		what = "the data of stream " + id
		return c.store.ScanState(m, id, fn)
	}); err != nil {
		return r, fmt.Errorf("context: recovering from checkpoint of batch %s: %w", dstream.FormatTime(m.Time), err)
	}
	for _, in := range ssc.inputs {
		ci, ok := in.inputSource.(CheckpointedInput)
		if !ok {
			continue
		}
		id := c.fingerprint[in.streamID].ID
		if pos, ok := m.Inputs[id]; ok {
			what = "position of input stream " + id
			if err := ci.RestorePosition(pos); err != nil {
				return r, fmt.Errorf("context: recovering from checkpoint of batch %s: position of input stream %s: %w", dstream.FormatTime(m.Time), id, err)
			}
			c.positions[id] = pos
		}
	}
	for _, in := range ssc.inputs {
		gi, ok := in.inputSource.(generatedInput)
		if !ok {
			continue
		}
		id := c.fingerprint[in.streamID].ID
		if b, ok := m.Data[generatedDataKeyPrefix+id]; ok {
			what = "batches generated by input stream " + id
			if err := gi.RestoreGenerated(b); err != nil {
				return r, fmt.Errorf("context: recovering from checkpoint of batch %s: batches generated by input stream %s: %w", dstream.FormatTime(m.Time), id, err)
			}
		}
	}
	return r, nil
}

// wrote records the outcome of writing the checkpoint of batch t.
func (c *checkpointer) wrote(t time.Time, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.writeErr = fmt.Errorf("the checkpoint of batch %s was not written: %w", dstream.FormatTime(t), err)
	} else if t.After(c.written) {
		c.written, c.writeErr = t, nil
	}
	close(c.writtenCh)
	c.writtenCh = make(chan struct{})
}

// AwaitCheckpoint waits until the checkpoint of batch t, or of a later
// batch, is durable in the checkpoint directory: checkpoints are written
// off the batch path, after the batch completed. It returns an error when
// the context has no checkpoint directory, when a checkpoint write failed
// since the last one written (the error says which batch and why; the
// next data checkpoint is then written whole), when the context stopped
// first, or when ctx ends.
func (ssc *StreamingContext) AwaitCheckpoint(ctx context.Context, t time.Time) error {
	ssc.mu.Lock()
	c := ssc.ckpt
	ssc.mu.Unlock()
	if c == nil {
		return errors.New("context: AwaitCheckpoint: no checkpoint directory is set")
	}
	for {
		c.mu.Lock()
		written, werr, changed := c.written, c.writeErr, c.writtenCh
		c.mu.Unlock()
		switch {
		case !written.Before(t):
			return nil
		case werr != nil:
			return fmt.Errorf("context: AwaitCheckpoint %s: %w", dstream.FormatTime(t), werr)
		}
		select {
		case <-changed:
		case <-ssc.Done():
			c.mu.Lock()
			written = c.written
			c.mu.Unlock()
			if !written.Before(t) {
				return nil
			}
			return fmt.Errorf("context: AwaitCheckpoint %s: the context stopped with the newest checkpoint at batch %s", dstream.FormatTime(t), dstream.FormatTime(written))
		case <-ctx.Done():
			return fmt.Errorf("context: AwaitCheckpoint %s: %w", dstream.FormatTime(t), ctx.Err())
		}
	}
}

// batchGenerated records that batch t was generated.
func (c *checkpointer) batchGenerated(t time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.generated[t.UnixNano()] = true
	c.mu.Unlock()
}

// pendingAfter returns the batches generated and not completed, after t.
func (c *checkpointer) pendingAfter(t time.Time) []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Time
	for tn := range c.generated {
		if tn > t.UnixNano() {
			out = append(out, time.Unix(0, tn).UTC())
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// checkpointBatch runs in the job loop after batch info completed: it takes
// a data checkpoint when one is due and queues the batch's checkpoint. A
// failed batch is not checkpointed, so a recovery before a later batch
// completes runs it again (see WithContinueOnBatchFailure).
func (ssc *StreamingContext) checkpointBatch(ctx context.Context, info BatchInfo, failure error) {
	c := ssc.ckpt
	if c == nil || c.jobs == nil {
		return
	}
	t := info.BatchTime
	c.mu.Lock()
	delete(c.generated, t.UnixNano())
	c.mu.Unlock()
	if failure != nil || ctx.Err() != nil {
		return
	}
	c.lastCompleted = t
	due := ssc.graph.CheckpointDue(t)
	if c.failed.Swap(false) {
		ssc.graph.ResetChanges()
		due = true
	}
	job, err := ssc.checkpointJob(ctx, t, due)
	if err != nil {
		ssc.cfg.logger.Error("checkpoint not taken", "batch", dstream.FormatTime(t), "error", err)
		c.failed.Store(true)
		return
	}
	if !due {
		job.ahead = ssc.graph.CheckpointAhead()
	}
	c.jobs <- job
}

// checkpointJob takes the checkpoint of completed batch t, with the data
// of every stream when withData.
func (ssc *StreamingContext) checkpointJob(ctx context.Context, t time.Time, withData bool) (checkpointJob, error) {
	c := ssc.ckpt
	var job checkpointJob
	if withData {
		data, err := ssc.graph.CheckpointData(ctx, t)
		if err != nil {
			return job, err
		}
		positions := map[string][]byte{}
		ssc.mu.Lock()
		inputs := ssc.inputs
		ssc.mu.Unlock()
		for _, in := range inputs {
			ci, ok := in.inputSource.(CheckpointedInput)
			if !ok {
				continue
			}
			id := c.fingerprint[in.streamID].ID
			pos, err := ci.CheckpointPosition(t)
			if err != nil {
				return job, fmt.Errorf("position of input stream %s: %w", id, err)
			}
			positions[id] = pos
		}
		job.data, c.positions, c.recovery = data, positions, t
	}
	gd, err := msgpack.Marshal(&graphData{ZeroTime: c.zeroTime.UnixNano(), Recovery: c.recovery.UnixNano()})
	if err != nil {
		return job, err
	}
	data := map[string][]byte{graphDataKey: gd}
	ssc.mu.Lock()
	inputs := ssc.inputs
	ssc.mu.Unlock()
	for _, in := range inputs {
		gi, ok := in.inputSource.(generatedInput)
		if !ok {
			continue
		}
		id := c.fingerprint[in.streamID].ID
		b, err := gi.GeneratedPositions(c.recovery)
		if err != nil {
			return job, fmt.Errorf("batches generated by input stream %s: %w", id, err)
		}
		data[generatedDataKeyPrefix+id] = b
	}
	job.meta = &checkpoint.Metadata{
		Time:          t,
		BatchInterval: ssc.batchInterval,
		Streams:       c.fingerprint,
		LastCompleted: t,
		Pending:       c.pendingAfter(t),
		Inputs:        maps.Clone(c.positions),
		Data:          data,
	}
	return job, nil
}

// encodeData encodes the data of one stream for a checkpoint. A key's or
// value's own msgpack encoder may panic; the checkpoint then fails with
// the panic as its error instead of the encoder goroutine crashing the
// program.
func encodeData(d dstream.StreamData) (snap checkpoint.StateSnapshot, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w: %v", rdd.ErrUserPanic, v)
		}
	}()
	return d.Encode()
}

// addAhead encodes the changes handed over ahead in job after the entries
// of the streams' next data checkpoints.
func (c *checkpointer) addAhead(job checkpointJob) error {
	for _, a := range job.ahead {
		next, ok := c.next[a.StreamID]
		if !ok {
			next = c.spareEntries(a.StreamID)
		}
		if err := a.Encode(&next); err != nil {
			return fmt.Errorf("encoding the changes of stream %s: %w", a.StreamID, err)
		}
		c.next[a.StreamID] = next
	}
	return nil
}

// spareEntries returns an empty list to build the next data checkpoint of
// a stream in, on the buffer of its last one once written (see recycle):
// the entries written ahead then stay in one buffer from the second
// interval on (see checkpoint's ahead.go), and over a large state new
// memory comes page-faulted and costs more than the encoding.
func (c *checkpointer) spareEntries(id string) checkpoint.Entries {
	c.spareMu.Lock()
	defer c.spareMu.Unlock()
	es := c.spare[id]
	delete(c.spare, id)
	return es
}

// recycle is called by the writer once ck is written: the buffers of its
// entries handed over ahead can be used again, unless the write failed
// (the store keeps the changes of a failed write, in those buffers).
func (c *checkpointer) recycle(ck *checkpoint.Checkpoint, err error) {
	c.spareMu.Lock()
	defer c.spareMu.Unlock()
	if err == nil {
		for id, es := range c.reusable[ck] {
			// Room for an interval a quarter larger, so the next one
			// stays in the buffer too.
			spare := es.Reuse()
			spare.Grow(es.Size() * 5 / 4)
			c.spare[id] = spare
		}
	}
	delete(c.reusable, ck)
}

// encodeCheckpoints is the encoder goroutine: it encodes each job's data
// and submits it to the writer, in order. The changes a job hands over
// ahead (a batch between data checkpoints) go into the next data
// checkpoint of their stream, and to the writer with each metadata
// checkpoint until then, to be written ahead (checkpoint.StateSnapshot's
// Ahead). A job whose ahead changes cannot be encoded is not written, and
// the next data checkpoint is written whole.
func (ssc *StreamingContext) encodeCheckpoints(c *checkpointer) {
	defer close(c.encDone)
	// lost is the time of a data checkpoint that could not be encoded.
	// The checkpoints without data queued behind it were taken with its
	// recovery point and positions, but the state files they would name
	// are older: they are not written, until the next data checkpoint
	// (the runner takes one after the failure, of everything).
	var lost time.Time
	for job := range c.jobs {
		if !lost.IsZero() && job.data == nil {
			err := fmt.Errorf("the data checkpoint of batch %s before it was not written", dstream.FormatTime(lost))
			if job.sync != nil {
				job.sync <- err
			} else {
				c.wrote(job.meta.Time, err)
			}
			continue
		}
		if job.data != nil {
			lost = time.Time{}
		}
		ck := &checkpoint.Checkpoint{Metadata: job.meta}
		inJob := map[string]bool{}
		err := c.addAhead(job)
		for _, d := range job.data {
			if err != nil {
				break
			}
			var snap checkpoint.StateSnapshot
			if snap, err = encodeData(d); err != nil {
				err = fmt.Errorf("encoding the data of stream %s: %w", d.StreamID, err)
				break
			}
			if next, ok := c.next[d.StreamID]; ok {
				next.AppendList(snap.Changed)
				snap.Changed = next
				delete(c.next, d.StreamID)
				c.spareMu.Lock()
				if c.reusable[ck] == nil {
					c.reusable[ck] = map[string]checkpoint.Entries{}
				}
				c.reusable[ck][d.StreamID] = next
				c.spareMu.Unlock()
			}
			if !c.chained[d.StreamID] && snap.All == nil && snap.Segments == nil {
				err = fmt.Errorf("stream %s: the first data checkpoint is not whole", d.StreamID)
				break
			}
			ck.State = append(ck.State, snap)
			inJob[d.StreamID] = true
		}
		if err != nil {
			ssc.cfg.logger.Error("checkpoint not written", "batch", dstream.FormatTime(job.meta.Time), "error", err)
			c.failed.Store(true)
			if job.data != nil {
				lost = job.meta.Time
			}
			if job.sync != nil {
				job.sync <- err
			} else {
				c.wrote(job.meta.Time, err)
			}
			continue
		}
		// Streams without new data keep their state files.
		for _, id := range slices.Sorted(maps.Keys(c.chained)) {
			if !inJob[id] {
				ck.State = append(ck.State, checkpoint.StateSnapshot{StreamID: id, Ahead: c.next[id]})
			}
		}
		if job.sync != nil {
			// Wait for the writer to drain, so checkpoints stay in order.
			for range checkpointWriterQueue {
				<-c.slots
			}
			err = c.store.Write(ck)
			if err == nil {
				c.tellCovered(ck)
			}
			c.wrote(job.meta.Time, err)
			c.recycle(ck, err)
			for range checkpointWriterQueue {
				c.slots <- struct{}{}
			}
			if err == nil {
				for id := range inJob {
					c.chained[id] = true
				}
			}
			job.sync <- err
			continue
		}
		<-c.slots
		if err := c.writer.Submit(ck); err != nil {
			c.slots <- struct{}{}
			ssc.cfg.logger.Error("checkpoint not written", "batch", dstream.FormatTime(job.meta.Time), "error", err)
			c.failed.Store(true)
			continue
		}
		for id := range inJob {
			c.chained[id] = true
		}
	}
}

// closeCheckpoints stops the checkpoint goroutines once both loops have
// ended. After a graceful stop it first writes, synchronously, a final
// checkpoint with the data as of the last completed batch, so a restart
// re-runs nothing.
func (ssc *StreamingContext) closeCheckpoints(graceful bool) {
	c := ssc.ckpt
	if c == nil || c.jobs == nil || c.closed {
		return
	}
	c.closed = true
	if graceful && !c.lastCompleted.IsZero() && c.lastCompleted.After(c.zeroTime) {
		ctx := rdd.WithExecutor(context.Background(), ssc.executor)
		// After a failed checkpoint, or a restore with no data checkpoint
		// since, the store has no chain of state files to name: only a
		// checkpoint with the data names the state (without, the final
		// checkpoint of an idle restarted run replaced the restored one
		// with one of no state).
		failed := c.failed.Swap(false)
		if failed {
			ssc.graph.ResetChanges()
		}
		job, err := ssc.checkpointJob(ctx, c.lastCompleted, failed || !c.recovery.Equal(c.lastCompleted))
		if err == nil {
			job.sync = make(chan error, 1)
			c.jobs <- job
			err = <-job.sync
		}
		if err != nil {
			ssc.cfg.logger.Error("final checkpoint not written", "batch", dstream.FormatTime(c.lastCompleted), "error", err)
		} else {
			ssc.cfg.logger.Info("final checkpoint written", "batch", dstream.FormatTime(c.lastCompleted))
		}
	}
	close(c.jobs)
	<-c.encDone
	if err := c.writer.Close(); err != nil {
		ssc.cfg.logger.Warn("a checkpoint write failed", "error", err)
	}
}
