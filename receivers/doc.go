// Package receivers is Sluice's ingestion layer: the [Receiver] contract and
// the [Supervisor] that runs one receiver for an input stream, the way Spark
// Streaming's Receiver and ReceiverSupervisor do.
//
// A receiver implements OnStart and OnStop; both return promptly. OnStart
// gets a [Handle] for that run of the receiver and starts goroutines with
// [Handle.Go]. They hand records to [Handle.Store] (one) or
// [Handle.StoreMany] (many, durable when it returns), report problems with
// [Handle.ReportError], and ask for [Handle.Restart] or [Handle.Stop]. The
// Handle's Context is cancelled when the run must end.
//
// The [Supervisor] restarts a failing receiver with exponential backoff,
// recovers panics (they wrap [ErrPanic]), delivers started, error and stopped
// events to a [Listener] in order, and on Stop waits for OnStop and for every
// goroutine the receiver started with Handle.Go.
//
// Stored records are cut into blocks ([Block]) every block interval (200 ms by
// default). At each batch time the streaming context calls
// [Supervisor.AllocateBlocks], which cuts the partial block and returns every
// block not yet allocated: they become the partitions of the batch's RDD.
// Flow control: a bound on unallocated blocks (Store waits), a maximum rate
// ([WithMaxRate]) and backpressure: a [PIDRateEstimator] computes a new rate
// after each batch, which the context passes to [Supervisor.UpdateRate].
//
// With a write-ahead log ([OpenWAL], [WithWAL]) each block is appended and
// fsynced before it is queued, and allocations and completed batches
// ([Supervisor.MarkProcessed]) are logged too; after a crash,
// [Supervisor.RecoveredBatches] and [WAL.Replay] give back what was not
// processed.
//
// Built-in receivers: [NewSocketTextReceiver] (Spark's socketTextStream, a
// TCP client that reconnects), [NewSocketReceiver] with a converter, and
// [NewRateReceiver] for demos and load tests.
//
// The package is a leaf: it imports neither rdd, dstream nor context; the
// context package wraps a Supervisor into an input DStream.
package receivers
