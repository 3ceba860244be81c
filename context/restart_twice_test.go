package context_test

import (
	stdctx "context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/rdd"
)

// TestRestartTwiceKeepsState crashes a running count twice: once after
// the batch following its data checkpoint, and again, in the second life,
// after that batch ran again but before the next data checkpoint. The
// checkpoint the second life wrote must still name the state, so the
// third life restores it. (The first checkpoints after a restart named no
// state until the new life's first data checkpoint, and a restart from
// one brought the state back empty, silently.)
func TestRestartTwiceKeepsState(t *testing.T) {
	batches := [][]string{{"a", "b"}, {"a"}, {"b", "c"}, {"a"}, {"c", "c"}, {"a"}}
	setup := wordCounts(batches, 4*time.Second)
	want := uninterrupted(t, 6, setup)

	dir := t.TempDir()
	first := newResults()
	r := startRun(t, dir, 0, setup(first))
	r.steps(5 * time.Second) // the data checkpoint of 4 s, then batch 5 s
	require.NoError(t, r.ssc.AwaitCheckpoint(stdctx.Background(), time.UnixMilli(5000)))
	require.NoError(t, r.ssc.Stop(false))

	second := newResults()
	r = startRun(t, dir, 5*time.Second, setup(second)) // re-runs 5 s
	r.waitFor(time.UnixMilli(5000))
	require.NoError(t, r.ssc.AwaitCheckpoint(stdctx.Background(), time.UnixMilli(5000)))
	require.NoError(t, r.ssc.Stop(false))

	third := newResults()
	r = startRun(t, dir, 5*time.Second, setup(third))
	r.steps(6 * time.Second)
	require.NoError(t, r.ssc.Stop(false))
	w := want.snapshot()
	require.Equal(t, w["counts@5000"], second.snapshot()["counts@5000"])
	require.Equal(t, w["counts@6000"], third.snapshot()["counts@6000"])
}

// wordCounts is the setup of a running count of the words of batches
// (UpdateStateByKey, named "counts", data checkpoints every interval),
// collected into out.
func wordCounts(batches [][]string, interval time.Duration) func(out *results) func(*context.StreamingContext) error {
	return func(out *results) func(*context.StreamingContext) error {
		return func(ssc *context.StreamingContext) error {
			pairs := wordPairs(ssc, batches, 1)
			counts := dstream.UpdateStateByKey(pairs, func(vs []int, s rdd.Option[int]) rdd.Option[int] {
				return rdd.Some(s.Value + len(vs))
			}, dstream.WithName("counts"))
			counts.Checkpoint(interval)
			collectInto(out, "counts", counts)
			return nil
		}
	}
}
