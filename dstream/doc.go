// Package dstream implements discretized streams, Spark Streaming's DStream:
// a [DStream] is a sequence of [rdd.RDD] values, one per batch time, and
// every operation on it is applied batch by batch.
//
// # Building a pipeline
//
// Streams start from an input stream made by the context package
// (context.QueueStream, context.SocketTextStream, context.TextFileStream,
// ...) and are transformed with operations named as in Spark. An operation
// that changes the element type is a package function; one that keeps it is
// also a method:
//
//	words := dstream.FlatMap(lines, strings.Fields)
//	pairs := dstream.Map(words, func(w string) rdd.Pair[string, int] { return rdd.KV(w, 1) })
//	counts := dstream.ReduceByKey(pairs, func(a, b int) int { return a + b })
//	counts.Filter(func(p rdd.Pair[string, int]) bool { return p.Value > 1 }).Print(10)
//
// The operations:
//
//   - element-wise: [Map], [FlatMap], [FlatMapSeq], [DStream.Filter], [Glom],
//     [MapPartitions], [DStream.Repartition];
//   - per batch: [DStream.Count], [DStream.Reduce], [CountByValue];
//   - keyed, on [rdd.Pair]: [ReduceByKey], [GroupByKey], [CombineByKey],
//     [MapValues], [FlatMapValues], [Cogroup], [Join], [LeftOuterJoin],
//     [RightOuterJoin], [FullOuterJoin];
//   - several streams: [Union], [DStream.Union], [TransformWith],
//     [TransformAll]; any RDD operation: [Transform], [TransformWithTime];
//   - windows ([Window], [ReduceByKeyAndWindow] with [WithInverse], ...) and
//     state ([UpdateStateByKey], [MapWithState]);
//   - past batches: [DStream.Slice], kept as long as the context's Remember
//     says; [DStream.Persist] to share a batch's RDD between outputs.
//
// Per-operation options such as [WithPartitions] and [WithName] tune the
// shuffle and name the stream.
//
// # Output operations
//
// Nothing runs until an output operation is registered: [DStream.ForeachRDD],
// [DStream.Print] and [DStream.Fprint], [DStream.SaveAsTextFiles] and
// [DStream.SaveAsObjectFiles]. At each batch time the context turns every
// output operation whose stream has an RDD into a job, and runs the jobs of
// a batch in registration order.
//
// # Missing and empty RDDs
//
// A stream may have no RDD at a batch time (it slides more slowly than the
// batch interval, or an input produced none). Operations of one parent then
// have none either and their output operations skip the batch; [Union],
// [Transform], [TransformWith] and the joins need an RDD from every parent
// and fail the batch with [ErrMissingRDD], as Spark does. An empty RDD is
// different: it is a batch with no elements, and [DStream.Count] of it is a
// batch holding 0.
//
// # Errors
//
// Mistakes in how a graph is built (mismatched slides, streams of different
// contexts, streams added after start) are recorded in the [Graph] and
// returned by the context's Start. A panic in a user function is recovered
// and becomes the error of its batch, naming the batch time and the
// operation. Test pipelines with package dstreamtest.
package dstream
