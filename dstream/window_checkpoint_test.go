package dstream_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
)

// windowSegments takes the graph's data checkpoint at batch second s and
// returns, per segment name, whether it is to be kept (false: its entries
// are handed over).
func windowSegments(t *testing.T, g *dstream.Graph, s int64) func() map[string]bool {
	t.Helper()
	data, err := g.CheckpointData(context.Background(), time.Unix(s, 0))
	require.NoError(t, err)
	require.Len(t, data, 1)
	return func() map[string]bool {
		snap, err := data[0].Encode()
		require.NoError(t, err)
		out := map[string]bool{}
		for _, sg := range snap.Segments {
			require.Equal(t, sg.Keep, sg.Entries.Len() == 0, "segment %s: entries only when not kept", sg.Name)
			out[sg.Name] = sg.Keep
		}
		return out
	}
}

// seg is the name of the window checkpoint's segment of batch second s:
// the window ("window") or the batch's reduction ("batch").
func seg(s int64, kind string) string {
	return strconv.FormatInt(s*int64(time.Second), 10) + "-" + kind
}

// TestWindowCheckpointSegmentsAfterReset checks the window's side of its
// segmented checkpoints: a segment handed over is only named by the next
// checkpoint, every segment is handed over again after ResetChanges (a
// failed write), and an encoding that ran across the reset does not put
// back what the reset dropped.
func TestWindowCheckpointSegmentsAfterReset(t *testing.T) {
	h := dstreamtest.NewHarness(t, time.Second)
	in := dstreamtest.Input(h, [][]rdd.Pair[string, int]{{rdd.KV("a", 1)}, {rdd.KV("b", 1)}, {rdd.KV("a", 1)}, {}, {rdd.KV("c", 2)}, {}})
	win := dstream.ReduceByKeyAndWindow(in, func(a, b int) int { return a + b }, 3*time.Second, time.Second,
		dstream.WithInverse(func(a, b int) int { return a - b }))
	win.Checkpoint(1000 * time.Second) // the context takes no data checkpoint: this test does
	out := dstreamtest.Collect(win)
	h.Start()
	for range 4 {
		h.Step()
	}
	g := h.Context().Graph()
	all4 := map[string]bool{seg(4, "window"): false, seg(2, "batch"): false, seg(3, "batch"): false, seg(4, "batch"): false}
	require.Equal(t, all4, windowSegments(t, g, 4)())
	h.Step()
	require.Equal(t, map[string]bool{seg(5, "window"): false, seg(3, "batch"): true, seg(4, "batch"): true, seg(5, "batch"): false},
		windowSegments(t, g, 5)(), "batches 3 and 4 were handed over at 4 s")

	g.ResetChanges()
	all5 := map[string]bool{seg(5, "window"): false, seg(3, "batch"): false, seg(4, "batch"): false, seg(5, "batch"): false}
	require.Equal(t, all5, windowSegments(t, g, 5)(), "after a reset every segment is handed over again")

	// An encoding across a reset: taken before, encoded after.
	late := windowSegments(t, g, 5)
	g.ResetChanges()
	require.Equal(t, map[string]bool{seg(5, "window"): true, seg(3, "batch"): true, seg(4, "batch"): true, seg(5, "batch"): true}, late())
	require.Equal(t, all5, windowSegments(t, g, 5)(), "the late encoding did not undo the reset")
	require.Len(t, out.Batches(), 5)
}
