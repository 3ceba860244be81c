// Package rdd is Spark's resilient distributed dataset on one machine: an
// immutable, partitioned, lazily evaluated collection with lineage, computed
// in parallel on all cores.
//
// # A short tour
//
// Build an [RDD] from memory with [Parallelize] or from files with
// [TextFile] and [ObjectFile], transform it, then run an action:
//
//	lines := rdd.TextFile("logs/", 4)
//	words := rdd.FlatMapSeq(lines, strings.FieldsSeq)
//	pairs := rdd.Map(words, func(w string) rdd.Pair[string, int] { return rdd.KV(w, 1) })
//	counts := rdd.ReduceByKey(pairs, func(a, b int) int { return a + b })
//	top, err := rdd.SortBy(counts, func(kv rdd.Pair[string, int]) int { return kv.Value }, false, 4).Take(ctx, 10)
//
// Transformations only record lineage; nothing runs until an action such as
// [RDD.Collect], [RDD.Count], [RDD.Take], [RDD.Reduce], [RDD.Foreach] or
// [RDD.SaveAsTextFile] is called with a context.
//
// Operations that change the element type are functions ([Map], [FlatMap],
// [MapPartitions], [ReduceByKey], [Join], ...), because Go methods cannot
// take type parameters; those that keep it are also methods ([RDD.Filter],
// [RDD.Union], [RDD.Coalesce], [RDD.Repartition]). Keyed operations work on
// [Pair], which prints as (key,value) the way Spark prints tuples.
//
// # Execution
//
// Narrow transformations ([Map], [RDD.Filter], [FlatMap], [MapValues], ...)
// are fused: each element is pushed through the whole chain in one pass per
// partition, with no intermediate slices and no allocation by the engine per
// element. Keyed aggregations ([ReduceByKey], [CombineByKey], [FoldByKey],
// [GroupByKey], [Distinct]) hash-partition through a shuffle with map-side
// combining, so each map task sends one combiner per distinct key; an input
// already partitioned the same way (see [Partitioner]) is not shuffled
// again, so [Join] of two RDDs reduced with the same [WithPartitions] count
// is narrow. [SortBy] and [SortByKey] range-partition on sampled bounds.
//
// An action runs one task per partition on an [Executor], a bounded pool
// shared by every job (GOMAXPROCS tasks by default; choose another with
// [WithExecutor]). Shuffles are materialised before the tasks that read
// them, deepest first, and kept for later actions; [RDD.Persist] keeps
// computed partitions too.
//
// # Errors
//
// Actions return errors instead of throwing. The first failing task cancels
// the others. A panic in a user function is recovered and returned as a
// [*TaskError] naming the operation whose function panicked, its RDD, the
// partition and, for the operations that call a function per element, the
// element it was given ([TaskError.Record]), wrapping [ErrUserPanic]. A cancelled context stops running
// tasks within about a thousand elements. Invalid arguments to a
// transformation, such as a partition count below 1, surface from the first
// action as errors wrapping [ErrInvalidArgument]; [RDD.Reduce] and
// [RDD.First] on an empty RDD return [ErrEmpty].
package rdd
