package bench

import (
	stdctx "context"
	"iter"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-io/sluice/context"
	"github.com/sluice-io/sluice/dstream"
	"github.com/sluice-io/sluice/dstream/dstreamtest"
	"github.com/sluice-io/sluice/rdd"
)

// wordCountPartitions is the number of partitions of each batch's input: a
// fixed 8, so that the engine partitions and shuffles at -cpu 1 as at -cpu 2
// (Spark's default 200 ms block interval would give 5 partitions per 1 s
// batch of a receiver; 8 divides evenly over 1, 2, 4 and 8 cores).
const wordCountPartitions = 8

// handCounter is the hand-written word count: the fastest plain-Go loop we
// have for the same count. It splits lines on spaces by hand and counts
// into a map keyed by substrings of the lines (a lookup or insert with a
// string key does not copy it). With GOMAXPROCS > 1, GOMAXPROCS goroutines
// each count into their own map, taking chunks of handChunk lines from a
// shared counter (so a core taken by another process does not leave one
// goroutine with half the work), and the maps are merged at the end. The
// maps are reused across calls (cleared), which the engine cannot do.
type handCounter struct {
	maps []map[string]int
}

// handChunk is the number of lines a goroutine of handCounter takes at a
// time.
const handChunk = 16 << 10

func (h *handCounter) count(lines []string) map[string]int {
	n := runtime.GOMAXPROCS(0)
	for len(h.maps) < n {
		h.maps = append(h.maps, make(map[string]int))
	}
	for _, m := range h.maps {
		clear(m)
	}
	if n == 1 {
		countInto(h.maps[0], lines)
		return h.maps[0]
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			for {
				start := int(next.Add(handChunk)) - handChunk
				if start >= len(lines) {
					return
				}
				countInto(h.maps[i], lines[start:min(start+handChunk, len(lines))])
			}
		})
	}
	wg.Wait()
	total := h.maps[0]
	for _, m := range h.maps[1:n] {
		for w, c := range m {
			total[w] += c
		}
	}
	return total
}

func countInto(m map[string]int, lines []string) {
	for _, line := range lines {
		start := 0
		for i := 0; i < len(line); i++ {
			if line[i] == ' ' {
				if i > start {
					m[line[start:i]]++
				}
				start = i + 1
			}
		}
		if start < len(line) {
			m[line[start:]]++
		}
	}
}

// wordCountEngine is the word count as a streaming pipeline on a manual
// clock: queue → flatMap → map → reduceByKey → foreachRDD. Each step pushes
// one batch of lines and waits until the batch has completed.
type wordCountEngine struct {
	h     *dstreamtest.Harness
	q     *context.Queue[string]
	words int64 // total words counted in the last batch
	keys  int64 // distinct words in the last batch
}

func newWordCountEngine(tb testing.TB) *wordCountEngine {
	e := &wordCountEngine{h: dstreamtest.NewHarness(tb, time.Second), q: context.NewQueue[string]()}
	lines := context.QueueStream(e.h.Context(), e.q, true)
	ws := dstream.FlatMapSeq(lines, words)
	pairs := dstream.Map(ws, func(w string) rdd.Pair[string, int] { return rdd.KV(w, 1) })
	counts := dstream.ReduceByKey(pairs, func(a, b int) int { return a + b })
	counts.ForeachRDD(func(ctx stdctx.Context, r *rdd.RDD[rdd.Pair[string, int]], _ time.Time) error {
		var mu sync.Mutex
		var words, keys int64
		err := r.ForeachPartition(ctx, func(_ int, pairs iter.Seq[rdd.Pair[string, int]]) error {
			var w, k int64
			for kv := range pairs {
				w += int64(kv.Value)
				k++
			}
			mu.Lock()
			words, keys = words+w, keys+k
			mu.Unlock()
			return nil
		})
		e.words, e.keys = words, keys
		return err
	})
	e.h.Start()
	return e
}

func (e *wordCountEngine) step(lines []string) {
	e.q.PushSlice(lines, wordCountPartitions)
	e.h.Step()
}

// BenchmarkWordCount counts the words of one 1-second batch of 1,000,000
// lines of about 100 bytes (words Zipf-distributed over a vocabulary of
// 100,000), one op per batch: engine is the streaming pipeline, handwritten
// the plain-Go loop. Run at -cpu 1,2. The ratio that matters is engine
// records/s over handwritten records/s (target ≥ 0.5), reported by the
// interleaved case, which alternates one batch of each so that load from
// other processes hits both alike. Each half is timed with a runtime.GC()
// after it, so that collecting the engine's garbage (about 200 MB a batch)
// is charged to the engine, not to the loop that runs next.
func BenchmarkWordCount(b *testing.B) {
	lines := batchLines()
	b.Run("engine", func(b *testing.B) {
		e := newWordCountEngine(b)
		e.step(lines) // warm up
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			e.step(lines)
		}
		b.ReportMetric(float64(len(lines))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("handwritten", func(b *testing.B) {
		var h handCounter
		h.count(lines) // warm up
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if len(h.count(lines)) == 0 {
				b.Fatal("no words")
			}
		}
		b.ReportMetric(float64(len(lines))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("interleaved", func(b *testing.B) {
		e := newWordCountEngine(b)
		var h handCounter
		e.step(lines)
		want := h.count(lines)
		var total int64
		for _, c := range want {
			total += int64(c)
		}
		if e.words != total || e.keys != int64(len(want)) {
			b.Fatalf("engine counted %d words, %d distinct; the loop %d, %d", e.words, e.keys, total, len(want))
		}
		engine, loop := interleave(b, func() { e.step(lines) }, func() { h.count(lines) }, true)
		n := float64(len(lines)) * float64(b.N)
		b.ReportMetric(n/engine.Seconds(), "engine-records/s")
		b.ReportMetric(n/loop.Seconds(), "handwritten-records/s")
		b.ReportMetric(loop.Seconds()/engine.Seconds(), "engine/handwritten")
	})
}

// TestWordCountAgrees checks, on a small input, that the benchmarked engine
// pipeline and the hand-written loop count the same words.
func TestWordCountAgrees(t *testing.T) {
	lines := textLines(2_000, 7)
	e := newWordCountEngine(t)
	e.step(lines)
	var h handCounter
	want := h.count(lines)
	var total int64
	for _, c := range want {
		total += int64(c)
	}
	if total == 0 || e.words != total || e.keys != int64(len(want)) {
		t.Fatalf("engine counted %d words, %d distinct; the loop %d, %d", e.words, e.keys, total, len(want))
	}
}
