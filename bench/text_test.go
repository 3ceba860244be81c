package bench

import (
	"iter"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
)

// The word-count input: English-like lines of at most lineBytes bytes,
// words drawn Zipf-like (rank r with weight ~ 1/r^zipfS) from a vocabulary
// of vocabSize distinct lower-case words, with a fixed seed.
const (
	vocabSize = 100_000
	lineBytes = 100
	zipfS     = 1.07 // English is close to 1; rand.Zipf needs s > 1
)

// letterFreq weights the letters a..z by their frequency in English text
// (per mille).
var letterFreq = [26]int{82, 15, 28, 43, 127, 22, 20, 61, 70, 2, 8, 40, 24,
	67, 75, 19, 1, 60, 63, 91, 28, 10, 24, 2, 20, 1}

// wordLenFreq weights word lengths 1..14 roughly as in an English
// dictionary of 100,000 words (short words are few, most are 6-10).
var wordLenFreq = [14]int{1, 5, 20, 50, 90, 130, 150, 150, 130, 100, 70, 50, 30, 20}

func pick(rng *rand.Rand, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := rng.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

// vocabulary returns vocabSize distinct words, shortest first, so that the
// most frequent (lowest-rank) words are short, as in English.
func vocabulary(rng *rand.Rand) []string {
	seen := make(map[string]bool, vocabSize)
	words := make([]string, 0, vocabSize)
	var b []byte
	for len(words) < vocabSize {
		n := 1 + pick(rng, wordLenFreq[:])
		b = b[:0]
		for range n {
			b = append(b, byte('a'+pick(rng, letterFreq[:])))
		}
		if w := string(b); !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	slices.SortStableFunc(words, func(a, b string) int { return len(a) - len(b) })
	return words
}

// textLines returns n lines of words separated by single spaces, each as
// long as words fit in lineBytes. All lines are substrings of one string,
// so they cost one allocation.
func textLines(n int, seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, 1))
	vocab := vocabulary(rng)
	zipf := rand.NewZipf(rng, zipfS, 1, vocabSize-1)
	var sb strings.Builder
	sb.Grow(n * lineBytes)
	ends := make([]int, n)
	next := vocab[zipf.Uint64()]
	for i := range ends {
		size := 0
		for size+len(next)+1 <= lineBytes || size == 0 {
			if size > 0 {
				sb.WriteByte(' ')
				size++
			}
			sb.WriteString(next)
			size += len(next)
			next = vocab[zipf.Uint64()]
		}
		ends[i] = sb.Len()
	}
	text := sb.String()
	lines := make([]string, n)
	start := 0
	for i, end := range ends {
		lines[i] = text[start:end]
		start = end
	}
	return lines
}

// linesPerBatch is one 1-second batch of the word count.
const linesPerBatch = 1_000_000

var batchLines = sync.OnceValue(func() []string { return textLines(linesPerBatch, 1) })

// words yields each space-separated word of line as a substring (no
// copy), for dstream.FlatMapSeq.
func words(line string) iter.Seq[string] {
	return func(yield func(string) bool) {
		start := 0
		for i := 0; i < len(line); i++ {
			if line[i] == ' ' {
				if i > start && !yield(line[start:i]) {
					return
				}
				start = i + 1
			}
		}
		if start < len(line) {
			yield(line[start:])
		}
	}
}
