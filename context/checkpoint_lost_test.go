package context_test

import (
	stdctx "context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/rdd"
)

// gatedCount is a count whose msgpack encoding, while encodeGate holds a
// gate, tells the gate it has entered, waits for the gate's release and
// then panics: a data checkpoint that fails in the encoder, at a moment the
// test picks (failEncodingAt).
type gatedCount struct{ N int }

type encoderGate struct {
	entered, release chan struct{}
	once             sync.Once
}

var encodeGate atomic.Pointer[encoderGate]

func (g gatedCount) EncodeMsgpack(enc *msgpack.Encoder) error {
	if gate := encodeGate.Load(); gate != nil {
		gate.once.Do(func() { close(gate.entered) })
		<-gate.release
		panic("the encoder is down")
	}
	return enc.EncodeInt(int64(g.N))
}

// failEncodingAt steps r to batch to with encodeGate set, waits until the
// encoder is held at the gate (by the first data checkpoint of those
// batches), and then makes that encoding fail.
func failEncodingAt(t *testing.T, r *run, to time.Duration) {
	gate := &encoderGate{entered: make(chan struct{}), release: make(chan struct{})}
	encodeGate.Store(gate)
	t.Cleanup(func() { encodeGate.Store(nil) })
	r.steps(to)
	select {
	case <-gate.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no data checkpoint reached the encoder")
	}
	encodeGate.Store(nil)
	close(gate.release)
}

func (g *gatedCount) DecodeMsgpack(dec *msgpack.Decoder) error {
	n, err := dec.DecodeInt()
	g.N = n
	return err
}

// TestCheckpointsAfterALostDataCheckpointAreNotWritten fails the data
// checkpoint of batch 4 s in the encoder after batch 5 s has completed, so
// that 5 s's checkpoint, taken with 4 s's recovery point, waits behind it.
// That checkpoint must not be written: it would name the state files of
// the data checkpoint before (2 s) as the state at 4 s, and a restart from
// it would skip batches 3 s and 4 s. The restart must give the counts of a
// run without the crash.
func TestCheckpointsAfterALostDataCheckpointAreNotWritten(t *testing.T) {
	batches := [][]string{{"a"}, {"b"}, {"a", "c"}, {"a"}, {"c"}, {"b"}}
	setup := gatedWordCounts(batches)
	want := uninterrupted(t, 6, setup)

	dir := t.TempDir()
	r := startRun(t, dir, 0, setup(newResults()))
	r.steps(3 * time.Second)
	require.NoError(t, r.ssc.AwaitCheckpoint(stdctx.Background(), time.UnixMilli(3000)))
	failEncodingAt(t, r, 5*time.Second) // 4 s's data checkpoint fails in the encoder; 5 s's queued behind it
	require.Error(t, r.ssc.AwaitCheckpoint(stdctx.Background(), time.UnixMilli(5000)), "neither 4 s nor 5 s is written")
	require.NoError(t, r.ssc.Stop(false))

	got := newResults()
	r = startRun(t, dir, 5*time.Second, setup(got)) // re-runs 3 s to 5 s from 2 s
	r.steps(6 * time.Second)
	require.NoError(t, r.ssc.Stop(false))
	require.Equal(t, want.snapshot()["counts@6000"], got.snapshot()["counts@6000"])
}

// gatedWordCounts is wordCounts with gatedCount states, data checkpoints
// every 2 s: encodeGate can make the encoding of a data checkpoint wait and
// then fail.
func gatedWordCounts(batches [][]string) func(out *results) func(*context.StreamingContext) error {
	return func(out *results) func(*context.StreamingContext) error {
		return func(ssc *context.StreamingContext) error {
			pairs := wordPairs(ssc, batches, 1)
			counts := dstream.UpdateStateByKey(pairs, func(vs []int, s rdd.Option[gatedCount]) rdd.Option[gatedCount] {
				return rdd.Some(gatedCount{s.Value.N + len(vs)})
			}, dstream.WithName("counts"))
			counts.Checkpoint(2 * time.Second)
			collectInto(out, "counts", dstream.Map(counts, func(p rdd.Pair[string, gatedCount]) rdd.Pair[string, int] {
				return rdd.KV(p.Key, p.Value.N)
			}))
			return nil
		}
	}
}
