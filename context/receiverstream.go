package context

import (
	"context"
	"fmt"
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
	sup       *receivers.Supervisor[T]
	streamID  int
	estimator *receivers.PIDRateEstimator // nil without backpressure

	mu      sync.Mutex
	stopped bool // receiving stopped; one more allocation takes the rest
	drained bool // the allocation after the stop happened
}

// ReceiverStream returns an input stream of what r stores, Spark's
// receiverStream: a supervisor starts r with the context, restarts it with
// backoff when it fails and stops it with the context; the records stored
// between two batch times form the later batch, one partition per block
// (see receivers.WithBlockInterval). Receiver events reach the context's
// listeners. With WithBackpressure on the context, the receiver's rate
// follows Spark's PID estimator fed by completed batches.
func ReceiverStream[T any](ssc *StreamingContext, r receivers.Receiver[T], opts ...receivers.Option) dstream.DStream[T] {
	src := &receiverSource[T]{ssc: ssc}
	d := dstream.NewInputStream[T](ssc.graph, "ReceiverInputStream", src)
	src.streamID = d.ID()
	all := append([]receivers.Option{
		receivers.WithLogger(ssc.cfg.logger.Named("receiver")),
		receivers.WithName(fmt.Sprintf("%T", r)),
	}, opts...)
	all = append(all, receivers.WithStreamID(d.ID()), receivers.WithListener(receiverEvents{ssc}))
	sup, err := receivers.NewSupervisor(r, all...)
	if err != nil {
		ssc.graph.RecordError(fmt.Errorf("context: ReceiverStream: %w", err))
		return d
	}
	src.sup = sup
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
func SocketTextStream(ssc *StreamingContext, addr string, opts ...receivers.SocketOption) dstream.DStream[string] {
	return ReceiverStream[string](ssc, receivers.NewSocketTextReceiver(addr, opts...), receivers.WithName("SocketTextStream "+addr))
}

// RateStream returns a stream of recordsPerSecond generated records, each
// with a sequence number and a timestamp, for demos and load tests.
func RateStream(ssc *StreamingContext, recordsPerSecond int) dstream.DStream[receivers.RateRecord] {
	return ReceiverStream[receivers.RateRecord](ssc, receivers.NewRateReceiver(recordsPerSecond), receivers.WithName("RateStream"))
}

func (s *receiverSource[T]) Compute(t time.Time) (*rdd.RDD[T], int64, error) {
	s.mu.Lock()
	if s.stopped {
		s.drained = true
	}
	s.mu.Unlock()
	blocks, err := s.sup.AllocateBlocks(t)
	if err != nil {
		return nil, 0, err
	}
	parts := make([][]T, len(blocks))
	var records int64
	for i, b := range blocks {
		parts[i] = b.Records
		records += int64(len(b.Records))
	}
	return rdd.FromPartitions(parts), records, nil
}

func (s *receiverSource[T]) Start(context.Context) error { return s.sup.Start() }

func (s *receiverSource[T]) Stop(bool) {
	if err := s.sup.Stop(); err != nil {
		s.ssc.cfg.logger.Warn("stopping receiver", "stream", s.streamID, "error", err)
	}
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
}

// Pending is true after a stop until one more batch has taken the blocks
// received before it.
func (s *receiverSource[T]) Pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped && !s.drained
}

// BatchCompleted lets the write-ahead log drop what the batch needed and
// feeds the rate estimator.
func (s *receiverSource[T]) BatchCompleted(info BatchInfo) {
	if err := s.sup.MarkProcessed(info.BatchTime); err != nil {
		s.ssc.cfg.logger.Warn("marking batch processed in the write-ahead log", "stream", s.streamID, "error", err)
	}
	if s.estimator == nil {
		return
	}
	rate, ok := s.estimator.Compute(info.ProcessingEndTime, info.InputRecords[s.streamID], info.ProcessingDelay(), info.SchedulingDelay())
	if ok {
		s.sup.UpdateRate(rate)
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
