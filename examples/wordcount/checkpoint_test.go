package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/context"
)

// completions signals each completed batch.
type completions struct {
	context.NoopListener
	ch chan context.BatchInfo
}

func (c completions) OnBatchCompleted(b context.BatchInfo) { c.ch <- b }

// runFiles runs the word count of cfg on a manual clock starting at start,
// moving one file of texts into cfg.dir before each batch, and stops it
// gracefully. It returns what Print wrote.
func runFiles(t *testing.T, cfg config, start time.Time, texts []string) string {
	t.Helper()
	var out bytes.Buffer
	clock := context.NewManualClock(start)
	ssc, cleanup, err := newContext(cfg, &out, context.WithClock(clock))
	require.NoError(t, err)
	defer cleanup()
	done := completions{ch: make(chan context.BatchInfo, 64)}
	ssc.AddStreamingListener(done)
	require.NoError(t, ssc.Start())
	for i, text := range texts {
		name := filepath.Join(cfg.dir, start.Format("150405")+"-"+strconv.Itoa(i))
		require.NoError(t, os.WriteFile(name+".tmp", []byte(text+"\n"), 0o644))
		mod := clock.Now().Add(time.Millisecond)
		require.NoError(t, os.Chtimes(name+".tmp", mod, mod))
		require.NoError(t, os.Rename(name+".tmp", name))
		clock.Advance(cfg.batch)
		for b := range done.ch {
			if b.BatchTime.Equal(clock.Now()) {
				break
			}
		}
	}
	require.NoError(t, ssc.Stop(true))
	require.NoError(t, ssc.AwaitTermination())
	return out.String()
}

var printedPair = regexp.MustCompile(`(?m)^\((\w+),(\d+)\)$`)

// lastTotals returns the last total printed for each word.
func lastTotals(printed string) map[string]int {
	totals := map[string]int{}
	for _, m := range printedPair.FindAllStringSubmatch(printed, -1) {
		n, _ := strconv.Atoi(m[2])
		totals[m[1]] = n
	}
	return totals
}

func TestCheckpointedWordCountGoesOnAfterRestart(t *testing.T) {
	cfg := config{dir: t.TempDir(), checkpoint: t.TempDir(), batch: time.Second, stateful: true, show: 1000}
	first := runFiles(t, cfg, time.UnixMilli(0), []string{"a b a", "b c"})
	require.Equal(t, map[string]int{"a": 2, "b": 2, "c": 1}, lastTotals(first))
	// The same command again: it recovers the running totals from the
	// checkpoint and goes on with new files.
	second := runFiles(t, cfg, time.UnixMilli(0).Add(2*time.Second), []string{"a c", "d"})
	require.Equal(t, map[string]int{"a": 3, "c": 2, "d": 1}, lastTotals(second))
}

func TestStatefulWithoutCheckpointFlagUsesATemporaryDirectory(t *testing.T) {
	cfg := config{dir: t.TempDir(), batch: time.Second, stateful: true, show: 1000}
	printed := runFiles(t, cfg, time.UnixMilli(0), []string{"x y", "x"})
	require.Equal(t, map[string]int{"x": 2, "y": 1}, lastTotals(printed))
}
