package checkpoint_test

import (
	"fmt"
	"log"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/sluice-io/sluice/checkpoint"
)

// stateEntries encodes a word-count state for a checkpoint.
func stateEntries(counts map[string]int) []checkpoint.Entry {
	var out []checkpoint.Entry
	for w, n := range counts {
		e, err := checkpoint.EncodeEntry(w, n)
		if err != nil {
			log.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// A word count's state checkpointed after two batches, then recovered as a
// restarted process would.
func ExampleStore() {
	dir, err := os.MkdirTemp("", "sluice-checkpoint")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := checkpoint.Open(dir, checkpoint.WithLogger(hclog.NewNullLogger()))
	if err != nil {
		log.Fatal(err)
	}
	graph := []checkpoint.StreamIdentity{{ID: "input-0", Kind: "SocketTextStream"}, {ID: "counts", Kind: "UpdateStateByKey"}}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	// Batch 1: the first checkpoint of a stream is a full snapshot.
	batch1 := map[string]int{"a": 1, "b": 1}
	all1 := checkpoint.EntriesOf(stateEntries(batch1)...)
	err = store.Write(&checkpoint.Checkpoint{
		Metadata: &checkpoint.Metadata{Time: start.Add(time.Second), BatchInterval: time.Second, Streams: graph, LastCompleted: start.Add(time.Second)},
		State:    []checkpoint.StateSnapshot{{StreamID: "counts", Changed: all1, All: &all1}},
	})
	if err != nil {
		log.Fatal(err)
	}

	// Batch 2: "a" counted again and "b" dropped; only these two are written.
	setA, _ := checkpoint.EncodeEntry("a", 2)
	delB, _ := checkpoint.DeletedEntry("b")
	err = store.Write(&checkpoint.Checkpoint{
		Metadata: &checkpoint.Metadata{Time: start.Add(2 * time.Second), BatchInterval: time.Second, Streams: graph, LastCompleted: start.Add(2 * time.Second)},
		State:    []checkpoint.StateSnapshot{{StreamID: "counts", Changed: checkpoint.EntriesOf(setA, delB)}},
	})
	if err != nil {
		log.Fatal(err)
	}

	// Recovery.
	restarted, err := checkpoint.Open(dir, checkpoint.WithLogger(hclog.NewNullLogger()))
	if err != nil {
		log.Fatal(err)
	}
	m, err := restarted.LatestMetadata()
	if err != nil {
		log.Fatal(err)
	}
	if err := m.CheckGraph(graph); err != nil {
		log.Fatal(err)
	}
	raw, err := restarted.ReadState(m, "counts")
	if err != nil {
		log.Fatal(err)
	}
	counts, err := checkpoint.DecodeState[string, int](raw)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("recovered batch", m.LastCompleted.Format(time.TimeOnly), "state", counts)
	st := store.Stats()
	fmt.Println("full snapshots", st.FullSnapshots, "deltas", st.Deltas, "entries", st.Entries)
	// Output:
	// recovered batch 00:00:02 state map[a:2]
	// full snapshots 1 deltas 1 entries 4
}
