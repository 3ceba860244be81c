package rdd

import (
	"context"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// benchWords returns n words drawn Zipf-like from a vocabulary of vocab.
func benchWords(n, vocab int) []string {
	rng := rand.New(rand.NewPCG(1, 2))
	z := rand.NewZipf(rng, 1.1, 1, uint64(vocab-1))
	dict := make([]string, vocab)
	for i := range dict {
		dict[i] = fmt.Sprintf("w%d", i)
	}
	words := make([]string, n)
	for i := range words {
		words[i] = dict[z.Uint64()]
	}
	return words
}

// countLoop is the hand-written word count the engine is measured against.
func countLoop(b *testing.B, words []string) {
	m := make(map[string]int)
	for _, w := range words {
		m[w]++
	}
	if len(m) == 0 {
		b.Fatal("empty")
	}
}

// countEngine is the same word count with ReduceByKey.
func countEngine(b *testing.B, words []string) {
	r := Parallelize(words, 8)
	pairs := Map(r, func(w string) Pair[string, int] { return Pair[string, int]{w, 1} })
	n, err := ReduceByKey(pairs, func(a, b int) int { return a + b }).Count(context.Background())
	if err != nil || n == 0 {
		b.Fatal(err)
	}
}

// BenchmarkWordCount compares ReduceByKey over 10M words with a
// single-goroutine map loop over the same words, in one run. The
// "interleaved" case runs one of each per iteration and reports
// engine/loop, the ratio that matters, which stays meaningful when other
// processes load the machine unevenly over the run.
func BenchmarkWordCount(b *testing.B) {
	words := benchWords(10_000_000, 100_000)
	b.Run("handwritten", func(b *testing.B) {
		for b.Loop() {
			countLoop(b, words)
		}
		b.ReportMetric(float64(len(words))*float64(b.N)/b.Elapsed().Seconds(), "words/s")
	})
	b.Run("engine", func(b *testing.B) {
		for b.Loop() {
			countEngine(b, words)
		}
		b.ReportMetric(float64(len(words))*float64(b.N)/b.Elapsed().Seconds(), "words/s")
	})
	b.Run("interleaved", func(b *testing.B) {
		var loop, engine time.Duration
		for b.Loop() {
			start := time.Now()
			countLoop(b, words)
			mid := time.Now()
			countEngine(b, words)
			loop, engine = loop+mid.Sub(start), engine+time.Since(mid)
		}
		b.ReportMetric(float64(len(words))*float64(b.N)/engine.Seconds(), "engine-words/s")
		b.ReportMetric(float64(len(words))*float64(b.N)/loop.Seconds(), "loop-words/s")
		b.ReportMetric(engine.Seconds()/loop.Seconds(), "engine/loop")
	})
}

// BenchmarkNarrowChain runs a fused Map→Filter→FlatMap chain over 1M
// elements on one worker. The user functions allocate nothing, so with
// -benchmem allocs/op is the engine's own: a few per partition and job,
// none per element.
func BenchmarkNarrowChain(b *testing.B) {
	data := make([]int, 1_000_000)
	for i := range data {
		data[i] = i
	}
	ctx := WithExecutor(context.Background(), NewExecutor(1))
	pair := []int{0, 1}
	chain := func(flat func(*RDD[int]) *RDD[int]) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := Parallelize(data, 4)
				m := Map(r, func(x int) int { return x * 3 })
				f := m.Filter(func(x int) bool { return x%2 == 0 })
				n, err := flat(f).Count(ctx)
				if err != nil || n != int64(len(data)) {
					b.Fatal(n, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(data)), "ns/elem")
		}
	}
	b.Run("FlatMap", chain(func(r *RDD[int]) *RDD[int] {
		return FlatMap(r, func(int) []int { return pair })
	}))
	seq := slices.Values(pair)
	b.Run("FlatMapSeq", chain(func(r *RDD[int]) *RDD[int] {
		return FlatMapSeq(r, func(int) iter.Seq[int] { return seq })
	}))
}

// BenchmarkCount counts 4M elements in 2 partitions on 2 workers, against
// the same count on 1 worker: the per-element work is an increment, so
// 2 workers take about half the time unless the tasks' counters share a
// cache line (they did, before Count kept a count per task: 2 workers
// were slower than 1).
func BenchmarkCount(b *testing.B) {
	data := make([]int, 4_000_000)
	r := Parallelize(data, 2)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			ctx := WithExecutor(context.Background(), NewExecutor(workers))
			for b.Loop() {
				n, err := r.Count(ctx)
				if err != nil || n != int64(len(data)) {
					b.Fatal(n, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(data)), "ns/elem")
		})
	}
}
