// Package checkpoint stores Sluice's checkpoints: the metadata written after
// every batch and the state of stateful streams, in msgpack, crash-safe.
//
// A tour:
//
//   - [Open] a directory to get a [Store]; [WithRetain],
//     [WithFullSnapshotEvery] and [WithLogger] tune it.
//   - [Store.Write] writes one batch's [Checkpoint]: the [StateSnapshot] of
//     each stateful stream, then the [Metadata] (batch interval, the graph's
//     [StreamIdentity] fingerprint, last completed and pending batches, each
//     input's position) that commits them. [Store.WriteMetadata] writes
//     metadata alone.
//   - [Store.NewAsyncWriter] writes them on one background goroutine from
//     snapshots the batch already took, so a batch never waits for a disk.
//   - On recovery, [Store.LatestMetadata] returns the newest readable
//     checkpoint, [Metadata.CheckGraph] refuses one taken by a different
//     graph, and [Store.ScanState] yields each stream's entries in order
//     for the caller to apply to its own structures ([Store.ReadState]
//     with [DecodeState] builds a map of them instead).
//
// # Crash safety
//
// Every file is written as hashicorp/raft writes snapshots: to a *.tmp name,
// with a CRC-32C checksum, fsynced, renamed into place, the directory
// fsynced. The metadata file is written after the state files it names, so
// a crash at any step leaves the previous checkpoint readable. On read,
// truncated or corrupt files are skipped with a logged warning and the
// previous one is used; a file from a newer [FormatVersion] is refused with
// [ErrNewerVersion]. Once synced, a file's pages are dropped from the page
// cache (Linux): checkpoint files are read only at recovery.
//
// # Incremental state
//
// A stream's state is written as deltas, the keys changed since its
// previous checkpoint, with a full snapshot once the deltas since the last
// one would outgrow it (or every [WithFullSnapshotEvery] checkpoints), so a
// million-key state with ten thousand changes a batch writes about twenty
// thousand entries a batch, amortised, and a restore reads at most about
// twice the state. The full snapshot is the stream's [StateSnapshot.All]
// when given, otherwise it is built by merging the files on disk, on the
// writing goroutine. Changes of a checkpoint that failed or that the
// [AsyncWriter] dropped go into the next delta. Restoring reads the newest
// full snapshot and the deltas after it. A snapshot's entries are
// [Entries], which an [EntryEncoder] builds straight in the encoding of a
// state file, so the store writes them as they are; int, int64 and string
// keys and values, and values that append their own encoding
// ([MsgpackAppender], with [AppendMsgpack]), skip msgpack's Encoder.
//
// A stream's next delta can be written ahead, a batch at a time, before
// the checkpoint that commits it ([StateSnapshot.Ahead]): the entries go to
// the delta's temporary file, and their writeback starts, as they come, so
// that checkpoint writes and syncs little more than its last batch's.
// Nothing written ahead is committed, or survives a crash, before then.
//
// Data made of immutable parts, such as the per-batch reductions of an
// inverse window, is written as segments ([StateSnapshot.Segments]): each
// part once, when it appears, then kept by name until a checkpoint no
// longer lists it. Restoring reads every segment listed.
//
// Files that no retained checkpoint refers to are removed after each write.
package checkpoint
