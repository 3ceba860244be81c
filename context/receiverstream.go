package context

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/rdd"
	"github.com/sluice-io/sluice/receivers"
)

// receiverSource turns a supervised receiver into an input stream: at each
// batch time the blocks received so far become the partitions of the
// batch's RDD.
type receiverSource[T any] struct {
	ssc       *StreamingContext
	receiver  receivers.Receiver[T]
	opts      []receivers.Option
	streamID  int
	estimator *receivers.PIDRateEstimator // nil without backpressure

	// Set by Start.
	sup *receivers.Supervisor[T]
	wal *receivers.WAL[T] // nil without WithWriteAheadLog

	mu      sync.Mutex
	stopped bool // receiving stopped; one more allocation takes the rest
	drained bool // the allocation after the stop happened
	// recovered holds, by batch time, the blocks the write-ahead log had
	// allocated to batches that never completed: a batch re-run at that
	// time gets them again; a later batch takes those whose time passed.
	recovered map[int64][]receivers.Block[T]
	// alsoCompletes maps a batch time to the recovered batch times whose
	// blocks it took, to mark them processed with it.
	alsoCompletes map[int64][]time.Time
	// completed holds the batches that completed and are not yet marked
	// processed in the write-ahead log: a restart re-runs every batch
	// after the recovery point (the last data checkpoint), and those need
	// their blocks again, so a batch is marked processed only once a
	// durable checkpoint's recovery point covers it (checkpointCovers).
	completed []time.Time
}

// ReceiverStream returns an input stream of what r stores, Spark's
// receiverStream: a supervisor starts r with the context, restarts it with
// backoff when it fails and stops it with the context; the records stored
// between two batch times form the later batch, one partition per block
// (see receivers.WithBlockInterval). Receiver events reach the context's
// listeners. With WithBackpressure on the context, the receiver's rate
// follows Spark's PID estimator fed by completed batches; with
// WithWriteAheadLog, received blocks are logged under the checkpoint
// directory (StoreMany's before it returns) and replayed after a crash.
func ReceiverStream[T any](ssc *StreamingContext, r receivers.Receiver[T], opts ...receivers.Option) dstream.DStream[T] {
	src := &receiverSource[T]{ssc: ssc, receiver: r, recovered: map[int64][]receivers.Block[T]{}, alsoCompletes: map[int64][]time.Time{}}
	d := dstream.NewInputStream[T](ssc.graph, "ReceiverInputStream", src)
	src.streamID = d.ID()
	src.opts = append([]receivers.Option{
		receivers.WithLogger(ssc.cfg.logger.Named("receiver")),
		receivers.WithName(fmt.Sprintf("%T", r)),
	}, opts...)
	src.opts = append(src.opts, receivers.WithStreamID(d.ID()), receivers.WithListener(receiverEvents{ssc}))
	if ssc.cfg.backpressure {
		est, err := receivers.NewPIDRateEstimator(ssc.batchInterval, receivers.DefaultPIDConfig())
		if err != nil {
			ssc.graph.RecordError(fmt.Errorf("context: ReceiverStream: %w", err))
			return d
		}
		src.estimator = est
	}
	ssc.addInput(src, d.ID())
	return d
}

// SocketTextStream returns a stream of the lines a TCP server at addr
// ("host:port") sends, Spark's socketTextStream: it connects as a client
// (try `nc -lk 9999`), reconnects with backoff when the server goes away, and
// reports invalid UTF-8 and over-long lines as receiver errors, skipping them.
// An addr that is not host:port is refused: Start returns an error wrapping
// dstream.ErrInvalidStream (an unreachable server is not: it is retried).
func SocketTextStream(ssc *StreamingContext, addr string, opts ...receivers.SocketOption) dstream.DStream[string] {
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		if err == nil {
			err = fmt.Errorf("missing port in address %q", addr)
		}
		ssc.graph.RecordError(fmt.Errorf("context: SocketTextStream: %w: %w", dstream.ErrInvalidStream, err))
	}
	return ReceiverStream[string](ssc, receivers.NewSocketTextReceiver(addr, opts...), receivers.WithName("SocketTextStream "+addr))
}

// RateStream returns a stream of recordsPerSecond generated records, each
// with a sequence number and a timestamp, for demos and load tests. A
// recordsPerSecond below 1 is refused: Start returns an error wrapping
// dstream.ErrInvalidStream.
func RateStream(ssc *StreamingContext, recordsPerSecond int) dstream.DStream[receivers.RateRecord] {
	if recordsPerSecond < 1 {
		ssc.graph.RecordError(fmt.Errorf("context: RateStream: %w: the rate (%d records per second) must be positive", dstream.ErrInvalidStream, recordsPerSecond))
	}
	return ReceiverStream[receivers.RateRecord](ssc, receivers.NewRateReceiver(recordsPerSecond), receivers.WithName("RateStream"))
}

// ConsumesInput marks the receiver source as dstream.Consuming: a batch
// takes the blocks received since the one before.
func (s *receiverSource[T]) ConsumesInput() {}

func (s *receiverSource[T]) Compute(t time.Time) (*rdd.RDD[T], int64, error) {
	s.mu.Lock()
	if s.stopped {
		s.drained = true
	}
	// Blocks a crashed run allocated to this very batch come back as they
	// were; those of batches that are not re-run join this one.
	blocks, rerun := s.recovered[t.UnixNano()]
	delete(s.recovered, t.UnixNano())
	var late []receivers.Block[T]
	for bt, bs := range s.recovered {
		if bt < t.UnixNano() {
			late = append(late, bs...)
			s.alsoCompletes[t.UnixNano()] = append(s.alsoCompletes[t.UnixNano()], time.Unix(0, bt))
			delete(s.recovered, bt)
		}
	}
	s.mu.Unlock()
	if !rerun {
		var err error
		if blocks, err = s.sup.AllocateBlocks(t); err != nil {
			return nil, 0, err
		}
	}
	blocks = append(late, blocks...)
	parts := make([][]T, len(blocks))
	var records int64
	for i, b := range blocks {
		parts[i] = b.Records
		records += int64(len(b.Records))
	}
	return rdd.FromPartitions(parts), records, nil
}

// Start opens the write-ahead log when the context asks for one, picks up
// what it recovered, and starts the supervisor.
func (s *receiverSource[T]) Start(context.Context) error {
	opts := s.opts
	if s.ssc.cfg.writeAheadLog {
		dir := s.ssc.checkpointDirLocked() // Start runs inputs' Start under ssc.mu
		if dir == "" {
			return fmt.Errorf("context: ReceiverInputStream (stream %d): the write-ahead log needs a checkpoint directory: call StreamingContext.Checkpoint", s.streamID)
		}
		w, err := receivers.OpenWAL[T](filepath.Join(dir, "receivedData", strconv.Itoa(s.streamID)),
			receivers.WithWALLogger(s.ssc.cfg.logger.Named("wal")))
		if err != nil {
			return fmt.Errorf("context: ReceiverInputStream (stream %d): %w", s.streamID, err)
		}
		s.wal = w
		opts = append(opts[:len(opts):len(opts)], receivers.WithWAL(w))
	}
	sup, err := receivers.NewSupervisor(s.receiver, opts...)
	if err != nil {
		s.closeWAL()
		return fmt.Errorf("context: ReceiverInputStream (stream %d): %w", s.streamID, err)
	}
	s.sup = sup
	// After a restart from a checkpoint, the batches up to its recovery
	// point are in the restored data and not re-run: the log's batches up
	// to it are done (their marks may not have been written before the
	// crash); the later ones are re-run with the blocks they had.
	var covered []time.Time
	s.mu.Lock()
	for _, b := range sup.RecoveredBatches() {
		if c := s.ssc.ckpt; c != nil && c.restoreFrom != nil && !b.Time.After(c.recovery) {
			covered = append(covered, b.Time)
			continue
		}
		s.recovered[b.Time.UnixNano()] = b.Blocks
	}
	s.mu.Unlock()
	s.markProcessed(covered)
	if err := sup.Start(); err != nil {
		s.closeWAL()
		return err
	}
	return nil
}

// Stop stops the receiver. A graceful stop keeps the write-ahead log open
// for the batch that takes the last blocks; the final Stop(false), once
// no batch runs any more, closes it.
func (s *receiverSource[T]) Stop(graceful bool) {
	if s.sup != nil {
		if err := s.sup.Stop(); err != nil {
			s.ssc.cfg.logger.Warn("stopping receiver", "stream", s.streamID, "error", err)
		}
	}
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	if !graceful {
		s.closeWAL()
	}
}

func (s *receiverSource[T]) closeWAL() {
	s.mu.Lock()
	w := s.wal
	s.wal = nil
	s.mu.Unlock()
	if w != nil {
		if err := w.Close(); err != nil {
			s.ssc.cfg.logger.Warn("closing the write-ahead log", "stream", s.streamID, "error", err)
		}
	}
}

// Pending is true after a stop until one more batch has taken the blocks
// received before it.
func (s *receiverSource[T]) Pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped && !s.drained
}

// BatchCompleted records the batch (and the recovered batches it took in)
// as completed, for the write-ahead log to drop once a checkpoint covers
// it (checkpointCovers), and feeds the rate estimator.
func (s *receiverSource[T]) BatchCompleted(info BatchInfo) {
	if info.Err() == nil {
		s.mu.Lock()
		s.completed = append(s.completed, s.alsoCompletes[info.BatchTime.UnixNano()]...)
		s.completed = append(s.completed, info.BatchTime)
		delete(s.alsoCompletes, info.BatchTime.UnixNano())
		s.mu.Unlock()
	}
	if s.estimator == nil {
		return
	}
	rate, ok := s.estimator.Compute(info.ProcessingEndTime, info.InputRecords[s.streamID], info.ProcessingDelay(), info.SchedulingDelay())
	if ok {
		s.sup.UpdateRate(rate)
	}
}

// checkpointCovers marks processed in the write-ahead log the completed
// batches at or before r, the recovery point of a checkpoint now durable:
// a restart re-runs none of them. Called by the checkpoint writer.
func (s *receiverSource[T]) checkpointCovers(r time.Time) {
	s.mu.Lock()
	var done []time.Time
	later := s.completed[:0]
	for _, t := range s.completed {
		if t.After(r) {
			later = append(later, t)
		} else {
			done = append(done, t)
		}
	}
	clear(s.completed[len(later):])
	s.completed = later
	s.mu.Unlock()
	s.markProcessed(done)
}

func (s *receiverSource[T]) markProcessed(batches []time.Time) {
	for _, t := range batches {
		if err := s.sup.MarkProcessed(t); err != nil {
			s.ssc.cfg.logger.Warn("marking batch processed in the write-ahead log", "stream", s.streamID, "error", err)
		}
	}
}

// receiverEvents forwards a supervisor's events to the context's listeners.
type receiverEvents struct{ ssc *StreamingContext }

func (e receiverEvents) convert(i receivers.ReceiverInfo) ReceiverInfo {
	return ReceiverInfo{StreamID: i.StreamID, Name: i.Name, Active: i.Active, LastErrorMessage: i.LastErrorMessage,
		LastError: i.LastError, Time: e.ssc.cfg.clock.Now()}
}

func (e receiverEvents) OnReceiverStarted(i receivers.ReceiverInfo) {
	info := e.convert(i)
	e.ssc.bus.post(func(l StreamingListener) { l.OnReceiverStarted(info) })
}

func (e receiverEvents) OnReceiverError(i receivers.ReceiverInfo) {
	info := e.convert(i)
	e.ssc.bus.post(func(l StreamingListener) { l.OnReceiverError(info) })
}

func (e receiverEvents) OnReceiverStopped(i receivers.ReceiverInfo) {
	info := e.convert(i)
	e.ssc.bus.post(func(l StreamingListener) { l.OnReceiverStopped(info) })
}
