package main

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
)

var warAndPeace = filepath.Join("..", "..", "..", "shared", "data", "text", "war_and_peace.txt")

// independentCount counts words with a plain loop over the file's lines.
func independentCount(t *testing.T, data []byte) (map[string]int64, int) {
	counts := map[string]int64{}
	lines := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		lines++
		for _, w := range strings.Fields(sc.Text()) {
			counts[w]++
		}
	}
	require.NoError(t, sc.Err())
	return counts, lines
}

// serve starts a loopback server that sends data to its first client.
func serve(t *testing.T, data []byte) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.Write(data)
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// runSocket streams data through the word count of cfg over a loopback
// server and returns every batch's counts.
func runSocket(t *testing.T, data []byte, lines int, cfg config) [][]rdd.Pair[string, int64] {
	h := dstreamtest.NewHarness(t, time.Second)
	out := dstreamtest.Collect(countWords(context.SocketTextStream(h.Context(), serve(t, data)), cfg))
	h.Start()
	received := 0
	deadline := time.Now().Add(60 * time.Second)
	for received < lines && time.Now().Before(deadline) {
		received += int(h.Step().NumRecords())
	}
	require.Equal(t, lines, received)
	h.Stop()
	return out.Batches()
}

func TestSocketWordCountMatchesIndependentCount(t *testing.T) {
	data, err := os.ReadFile(warAndPeace)
	require.NoError(t, err, "the text is expected in ../shared/data/text beside the checkout")
	want, lines := independentCount(t, data)
	got := map[string]int64{}
	for _, batch := range runSocket(t, data, lines, config{}) {
		seen := map[string]bool{}
		for _, p := range batch {
			require.False(t, seen[p.Key], "a word appears once per batch")
			seen[p.Key] = true
			got[p.Key] += p.Value
		}
	}
	require.Equal(t, want, got)
}

func TestStatefulWordCountKeepsRunningTotals(t *testing.T) {
	data, err := os.ReadFile(warAndPeace)
	require.NoError(t, err)
	data = data[:200_000]
	data = data[:bytes.LastIndexByte(data, '\n')+1]
	want, lines := independentCount(t, data)
	latest := map[string]int64{}
	for _, batch := range runSocket(t, data, lines, config{stateful: true}) {
		for _, p := range batch {
			require.Greater(t, p.Value, latest[p.Key], "running totals only grow")
			latest[p.Key] = p.Value
		}
	}
	require.Equal(t, want, latest)
}

func TestWindowedWordCountOverFiles(t *testing.T) {
	dir := t.TempDir()
	h := dstreamtest.NewHarness(t, time.Second)
	out := dstreamtest.Collect(countWords(context.TextFileStream(h.Context(), dir), config{window: 2 * time.Second, slide: time.Second}))
	h.Start()
	inputs := []string{"a b a", "b c", "", "c"}
	for i, text := range inputs {
		tmp := filepath.Join(dir, ".tmp")
		require.NoError(t, os.WriteFile(tmp, []byte(text+"\n"), 0o644))
		mod := h.Clock().Now().Add(time.Millisecond)
		require.NoError(t, os.Chtimes(tmp, mod, mod))
		require.NoError(t, os.Rename(tmp, filepath.Join(dir, string(rune('0'+i)))))
		h.Step()
	}
	h.Stop()
	asMap := func(b []rdd.Pair[string, int64]) map[string]int64 {
		m := map[string]int64{}
		for _, p := range b {
			m[p.Key] = p.Value
		}
		return m
	}
	got := out.Batches()
	require.Len(t, got, 4)
	// Windows of two batches; keys whose count falls to zero are filtered out.
	require.Equal(t, map[string]int64{"a": 2, "b": 1}, asMap(got[0]))
	require.Equal(t, map[string]int64{"a": 2, "b": 2, "c": 1}, asMap(got[1]))
	require.Equal(t, map[string]int64{"b": 1, "c": 1}, asMap(got[2]))
	require.Equal(t, map[string]int64{"c": 1}, asMap(got[3]))
}

func TestSetupRefusesBadFlags(t *testing.T) {
	ssc, err := context.NewStreamingContext(time.Second)
	require.NoError(t, err)
	require.ErrorContains(t, setup(ssc, config{}, &bytes.Buffer{}), "give -socket")
	require.ErrorContains(t, setup(ssc, config{socket: "x:1", dir: "y"}, &bytes.Buffer{}), "not both")
}
