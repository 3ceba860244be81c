// Package context runs DStream pipelines, Spark Streaming's
// StreamingContext: it cuts time into batches, generates each batch's jobs
// from the graph of streams and runs them, and owns the lifecycle, the
// clock, the listeners and the constructors of input streams.
//
// # A program
//
//	ssc, err := context.NewStreamingContext(time.Second)
//	lines := context.SocketTextStream(ssc, "localhost:9999")
//	counts := dstream.CountByValue(dstream.FlatMap(lines, strings.Fields))
//	counts.Print(10)
//	if err := ssc.Start(); err != nil { ... }
//	err = ssc.AwaitTermination()
//
// [NewStreamingContext] takes the batch interval and options: [WithClock]
// (a [ManualClock] in tests, [SystemClock] by default), [WithLogger],
// [WithWorkers] and [WithContinueOnBatchFailure].
//
// # Inputs
//
// [QueueStream] takes RDDs pushed into a [Queue], one or all per batch;
// [TextFileStream] and [FileStream] pick up new files in a directory;
// [SocketTextStream], [RateStream] and [ReceiverStream] run receivers.
//
// # Lifecycle
//
// A context goes from [Initialized] to [Active] to [Stopped] ([State]).
// [StreamingContext.Start] validates the graph (it refuses one without
// output operations with dstream.ErrNoOutputs) and fixes the first batch
// time at the next multiple of the batch interval. [StreamingContext.Stop]
// with graceful true stops receiving, runs batches for the input already
// queued and finishes the batches already generated; with false it cancels
// the running batch. Stop is idempotent and a stopped context cannot start
// again ([ErrStopped]). By default the first failing batch stops the
// context and [StreamingContext.AwaitTermination] returns its error, which
// names the batch time and the operation. [StreamingContext.Remember]
// keeps every stream's RDDs longer, for Slice.
//
// # Listeners
//
// A [StreamingListener] added with [StreamingContext.AddStreamingListener]
// receives the context's events in order on one goroutine: batches
// submitted, started and completed with their [BatchInfo] (records per
// input, scheduling and processing delays, each output operation's
// [OutputOperationInfo]), and receiver events. A panicking listener is
// logged and does not affect the context. Embed [NoopListener] to implement
// only some events.
package context
