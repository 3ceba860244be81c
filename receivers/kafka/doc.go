// Package kafka is Sluice's Kafka source, Spark's spark-streaming-kafka-0-10
// on franz-go: a direct stream with offsets per batch, offsets stored the
// three ways Spark documents, and an exactly-once output from topic to
// topic. It is a package of its own so that the core does not depend on
// Kafka.
//
// # The direct stream
//
// [NewDirectStream] registers a [DirectStream] with a streaming context. A
// [ConsumerStrategy] ([Subscribe], [SubscribePattern], [Assign]) selects the
// partitions; decoders ([Decoder], [StringDecoder], [BytesDecoder]) type the
// keys and values of each [Record].
//
//	ds, err := kafka.NewDirectStream(ssc, []string{"localhost:9092"},
//		kafka.Subscribe([]string{"wc"}, nil), kafka.BytesDecoder, kafka.StringDecoder,
//		kafka.WithGroup("wordcount"))
//	lines := dstream.Map(ds.Stream(), func(r kafka.Record[[]byte, string]) string { return r.Value })
//
// # How offsets flow per batch
//
// At batch time t the driver lists the partitions (new topics and partitions
// are seen here) and their end offsets (the last stable offsets under
// [WithReadCommitted]), and fixes each partition's [OffsetRange]: from where
// the previous batch ended to the end, bounded by [WithMaxRatePerPartition]
// and, under [WithBackpressure], by Spark's PID rate shared among partitions
// by backlog. The batch's RDD has one partition per range; the task
// computing it fetches exactly that range with a consumer of its own, so
// records are read by the tasks when the batch runs, never at generation,
// and nothing is buffered between batches: no receiver, no write-ahead log.
//
// The ranges are the batch's identity. ForeachRDD gets them with
// [OffsetRangesOf] (Spark's HasOffsetRanges), listeners in
// BatchInfo.InputMetadata under [DirectStream.ID], anyone by batch time with
// [DirectStream.OffsetRanges].
//
// # Storing offsets
//
//   - In the checkpoint: [DirectStream.CheckpointPosition] and
//     [DirectStream.RestorePosition] save and restore where every partition
//     stands after a batch, and [DirectStream.GeneratedPositions] and
//     [DirectStream.RestoreGenerated] the ranges of the batches generated
//     after the recovery point, so a restart re-runs each of them over
//     exactly the records it read before the crash.
//   - In Kafka: with [WithGroup], the offsets of every batch that completed
//     without failure are committed to the group (or, with
//     [WithManualCommit], when the program calls [DirectStream.CommitAsync]).
//   - In the user's own store: the offsets given to the strategy are where
//     the stream starts.
//
// A failed batch is not committed; a batch that cannot list offsets (brokers
// unreachable past [WithRequestTimeout]) fails without moving any offset, so
// the next batch reads what it would have. Records deleted (retention,
// DeleteRecords) before their batch read them fail it with
// [ErrOffsetOutOfRange] instead of being skipped, as in Spark. A partition
// that ends before the offset the stream reached, or a topic whose ID
// changed (also while the program was down: the IDs are checkpointed),
// was truncated or recreated: that batch and every later one fail with
// [ErrLogTruncated] rather than resume and skip the new log's first
// records.
//
// # Exactly once from topic to topic
//
// [SaveToKafkaTransactional] writes each batch's results and commits the
// batch's offsets to the group in one Kafka transaction: read_committed
// readers see both or neither, and a program restarted from the group's
// offsets after a crash at any point produces every record exactly once.
//
// Errors wrap the sentinels of errors.go; [DecodeError] names the topic,
// partition and offset of a record that does not decode. A task's error
// (a decode or fetch error) reaches the batch as a task error of the
// KafkaRDD whose message holds it.
package kafka
