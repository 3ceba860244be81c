// Command benchtable reads the output of `go test -bench` for the bench
// package (several runs of each benchmark, from -count or repeated
// invocations) and prints the markdown table of bench/README.md: every
// figure, the median over the runs, next to its baseline from the same
// run, with their ratio and the target where there is one. bench/run.sh
// calls it.
package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// results maps "name@procs" and a unit to the values of every run.
type results map[string]map[string][]float64

var procsSuffix = regexp.MustCompile(`-(\d+)$`)

func parse(r io.Reader) (results, error) {
	res := results{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name, procs := f[0], "1"
		if m := procsSuffix.FindStringSubmatch(name); m != nil {
			name, procs = strings.TrimSuffix(name, m[0]), m[1]
		}
		key := name + "@" + procs
		if res[key] == nil {
			res[key] = map[string][]float64{}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			res[key][f[i+1]] = append(res[key][f[i+1]], v)
		}
	}
	return res, sc.Err()
}

// get returns the median of a figure over the runs, NaN when absent.
func (r results) get(name, procs, unit string) float64 {
	vs := r[name+"@"+procs][unit]
	if len(vs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// rate formats a rate of things per second: rate(2.5e6, "lines") is
// "2.50M lines/s".
func rate(v float64, things string) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case v >= 1e6:
		return fmt.Sprintf("%.2fM %s/s", v/1e6, things)
	case v >= 1e3:
		return fmt.Sprintf("%.0fk %s/s", v/1e3, things)
	}
	return fmt.Sprintf("%.0f %s/s", v, things)
}

func dur(ns float64) string {
	switch {
	case math.IsNaN(ns):
		return "—"
	case ns >= 1e9:
		return fmt.Sprintf("%.2f s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.1f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

func ms(v float64) string { return dur(v * 1e6) }

func mbps(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%.0f MB/s", v)
}

func ratio(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return fmt.Sprintf("%.2fx", v)
}

// row is one line of the table. target is empty for figures without one;
// met is consulted only with a target. The window and state targets are
// met only if both the interleaved and the separate-run ratios are: since
// those streams checkpoint asynchronously, one pipeline's checkpoint
// writer can run during the other's half of an interleaved op.
type row struct {
	bench, figure, value, baseline, ratio, target string
	met                                           bool
}

func main() {
	res, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	var rows []row
	add := func(r row) { rows = append(rows, r) }

	// Word count.
	for _, p := range []string{"1", "2"} {
		cores := p + " core"
		if p != "1" {
			cores += "s"
		}
		const wc = "BenchmarkWordCount"
		e, h := res.get(wc+"/interleaved", p, "engine-records/s"), res.get(wc+"/interleaved", p, "handwritten-records/s")
		rt := res.get(wc+"/interleaved", p, "engine/handwritten")
		add(row{"WordCount", "engine, " + cores + " (interleaved with the loop)", rate(e, "lines"),
			"hand-written loop " + rate(h, "lines"), ratio(rt) + " as fast", "≥ 0.5x", rt >= 0.5})
		e, h = res.get(wc+"/engine", p, "records/s"), res.get(wc+"/handwritten", p, "records/s")
		add(row{bench: "WordCount", figure: "engine, " + cores + " (separate runs)", value: rate(e, "lines"),
			baseline: "hand-written loop " + rate(h, "lines"), ratio: ratio(e/h) + " as fast"})
	}

	// Windows.
	const win = "BenchmarkWindow"
	for _, inv := range []string{"true", "false"} {
		base := res.get(win+"/inverse="+inv+"/window=2", "2", "ns/batch")
		for _, w := range []string{"10", "60"} {
			v := res.get(win+"/inverse="+inv+"/window="+w, "2", "ns/batch")
			what := "with the inverse"
			if inv == "false" {
				what = "without the inverse"
			}
			add(row{bench: "Window", figure: w + "-batch window " + what + ", per batch", value: dur(v),
				baseline: "2-batch window " + dur(base), ratio: ratio(v / base)})
		}
	}
	{
		s, l := res.get(win+"/inverse=true/interleaved", "2", "window2-ns/batch"), res.get(win+"/inverse=true/interleaved", "2", "window60-ns/batch")
		rt := res.get(win+"/inverse=true/interleaved", "2", "window60/window2")
		sep := res.get(win+"/inverse=true/window=60", "2", "ns/batch") / res.get(win+"/inverse=true/window=2", "2", "ns/batch")
		add(row{"Window", "60-batch window with the inverse, per batch (interleaved)", dur(l), "2-batch window " + dur(s),
			ratio(rt) + " (separate runs: " + ratio(sep) + ")", "≤ 1.3x both ways", rt <= 1.3 && sep <= 1.3})
		i60, n60 := res.get(win+"/inverse=true/window=60", "2", "ns/batch"), res.get(win+"/inverse=false/window=60", "2", "ns/batch")
		add(row{bench: "Window", figure: "60-batch window with the inverse, per batch", value: dur(i60),
			baseline: "without the inverse " + dur(n60), ratio: ratio(i60 / n60)})
	}

	// State.
	const st = "BenchmarkState"
	{
		base := res.get(st+"/MapWithState/keys=10000", "2", "ns/batch")
		for _, k := range []string{"1000000", "10000000"} {
			v := res.get(st+"/MapWithState/keys="+k, "2", "ns/batch")
			add(row{bench: "State", figure: "MapWithState, 10,000 updates over " + keysName(k) + " keys, per batch", value: dur(v),
				baseline: "over 10k keys " + dur(base), ratio: ratio(v / base)})
		}
		s, l := res.get(st+"/MapWithState/interleaved", "2", "keys10k-ns/batch"), res.get(st+"/MapWithState/interleaved", "2", "keys10M-ns/batch")
		rt := res.get(st+"/MapWithState/interleaved", "2", "keys10M/keys10k")
		sep := res.get(st+"/MapWithState/keys=10000000", "2", "ns/batch") / base
		add(row{"State", "MapWithState over 10M keys, per batch (interleaved)", dur(l), "over 10k keys " + dur(s),
			ratio(rt) + " (separate runs: " + ratio(sep) + ")", "≤ 1.5x both ways", rt <= 1.5 && sep <= 1.5})
		m1, m10 := res.get(st+"/MapWithState/keys=1000000", "2", "ns/batch"), res.get(st+"/MapWithState/keys=10000000", "2", "ns/batch")
		add(row{bench: "State", figure: "MapWithState over 10M keys, per batch (about the same keys changed per checkpoint as over 1M)", value: dur(m10),
			baseline: "over 1M keys " + dur(m1), ratio: ratio(m10 / m1)})
		const nd = "/MapWithState/interleaved-no-data-checkpoints"
		s, l = res.get(st+nd, "2", "keys10k-ns/batch"), res.get(st+nd, "2", "keys10M-ns/batch")
		add(row{bench: "State", figure: "MapWithState over 10M keys without data checkpoints, per batch (interleaved)", value: dur(l),
			baseline: "over 10k keys " + dur(s), ratio: ratio(res.get(st+nd, "2", "keys10M/keys10k"))})
		const pc = "/MapWithState/paced"
		s, l = res.get(st+pc, "2", "keys10k-ns/batch"), res.get(st+pc, "2", "keys10M-ns/batch")
		add(row{bench: "State", figure: "MapWithState over 10M keys, per batch, paced: the checkpoint work done between batches, as in the 1-second shape (interleaved)", value: dur(l),
			baseline: "over 10k keys " + dur(s), ratio: ratio(res.get(st+pc, "2", "keys10M/keys10k"))})
		h10k, h10m := res.get(st+"/handwritten/keys=10000", "2", "ns/batch"), res.get(st+"/handwritten/keys=10000000", "2", "ns/batch")
		add(row{bench: "State", figure: "hand-written map loop, 10,000 updates over 10M keys, per batch", value: dur(h10m),
			baseline: "over 10k keys " + dur(h10k), ratio: ratio(h10m / h10k)})
		h1m := res.get(st+"/handwritten/keys=1000000", "2", "ns/batch")
		add(row{bench: "State", figure: "hand-written map loop, 10,000 updates over 10M keys, per batch", value: dur(h10m),
			baseline: "over 1M keys " + dur(h1m), ratio: ratio(h10m / h1m)})
		u10k, u1m := res.get(st+"/UpdateStateByKey/keys=10000", "2", "ns/batch"), res.get(st+"/UpdateStateByKey/keys=1000000", "2", "ns/batch")
		add(row{bench: "State", figure: "UpdateStateByKey, 10,000 updates over 10k keys, per batch", value: dur(u10k),
			baseline: "MapWithState " + dur(base), ratio: ratio(u10k / base)})
		add(row{bench: "State", figure: "UpdateStateByKey over 1M keys, per batch (visits every key)", value: dur(u1m),
			baseline: "over 10k keys " + dur(u10k), ratio: ratio(u1m / u10k)})
		hp := res.get(st+"/handwritten-pass/keys=1000000", "2", "ns/batch")
		add(row{bench: "State", figure: "UpdateStateByKey over 1M keys, per batch (visits every key)", value: dur(u1m),
			baseline: "hand-written: the updates and one pass assigning every key of a plain map, 1 goroutine, " + dur(hp), ratio: ratio(u1m / hp)})
	}

	// The state partitions' hash table (dstream's BenchmarkStateTable).
	const tb = "BenchmarkStateTable"
	{
		gm := res.get(tb+"/gomap/keys=5000000", "2", "ns/update")
		for _, pf := range []struct{ arg, name string }{{"false", "not prefetched"}, {"true", "prefetched"}} {
			v := res.get(tb+"/table/prefetch="+pf.arg+"/keys=5000000", "2", "ns/update")
			add(row{bench: "StateTable", figure: "read-modify-write of a random key among 5M, state table, " + pf.name, value: dur(v),
				baseline: "Go map " + dur(gm), ratio: ratio(v / gm)})
		}
	}

	// Checkpoints.
	const cp = "BenchmarkCheckpoint"
	{
		wf, bw := res.get(cp+"/write/full", "2", "MB/s"), res.get(cp+"/baseline/write", "2", "MB/s")
		add(row{bench: "Checkpoint", figure: fmt.Sprintf("write full, 1M keys (%.1f MB), %s", res.get(cp+"/write/full", "2", "MB"), ms(res.get(cp+"/write/full", "2", "ms"))),
			value: mbps(wf), baseline: "write+fsync+rename " + mbps(bw), ratio: ratio(wf / bw)})
		wi := res.get(cp+"/write/incremental", "2", "ms")
		add(row{bench: "Checkpoint", figure: fmt.Sprintf("write incremental, 10k of 1M keys changed (%.2f MB), %s", res.get(cp+"/write/incremental", "2", "MB"), mbps(res.get(cp+"/write/incremental", "2", "MB/s"))),
			value: ms(wi), baseline: "write full " + ms(res.get(cp+"/write/full", "2", "ms")), ratio: ratio(wi / res.get(cp+"/write/full", "2", "ms"))})
		rf, br := res.get(cp+"/restore/full", "2", "MB/s"), res.get(cp+"/baseline/read", "2", "MB/s")
		add(row{bench: "Checkpoint", figure: fmt.Sprintf("restore full, 1M keys, %s", ms(res.get(cp+"/restore/full", "2", "ms"))),
			value: mbps(rf), baseline: "read the file " + mbps(br), ratio: ratio(rf / br)})
		ri := res.get(cp+"/restore/incremental", "2", "ms")
		add(row{bench: "Checkpoint", figure: fmt.Sprintf("restore full + 9 deltas, 1M keys, %s", mbps(res.get(cp+"/restore/incremental", "2", "MB/s"))),
			value: ms(ri), baseline: "restore full " + ms(res.get(cp+"/restore/full", "2", "ms")), ratio: ratio(ri / res.get(cp+"/restore/full", "2", "ms"))})
	}

	// Recovery.
	const rc = "BenchmarkRecovery"
	{
		rs, rr := res.get(rc+"/restart", "2", "ns/op"), res.get(rc+"/baseline/ReadState", "2", "ns/op")
		add(row{bench: "Recovery", figure: "restart from the checkpoint of a 1M-key MapWithState state (GetOrCreate, Start, Stop)", value: dur(rs),
			baseline: "the store alone reading the state into a map (ReadState) " + dur(rr), ratio: ratio(rs / rr)})
	}

	// Batch overhead.
	const bo = "BenchmarkBatchOverhead"
	{
		he := res.get(bo+"/harness/empty", "2", "ns/batch")
		add(row{"BatchOverhead", "empty batch through a StreamingContext (harness)", dur(he), "target 50 µs", ratio(he / 50e3), "< 50 µs", he < 50e3})
		ge := res.get(bo+"/graph/empty", "2", "ns/batch")
		add(row{bench: "BatchOverhead", figure: "empty batch, graph driven directly", value: dur(ge), baseline: "harness " + dur(he), ratio: ratio(ge / he)})
		h1 := res.get(bo+"/harness/1000records", "2", "ns/batch")
		add(row{bench: "BatchOverhead", figure: "batch of 1,000 records (harness)", value: dur(h1), baseline: "empty " + dur(he), ratio: ratio(h1 / he)})
	}

	// Socket ingest.
	{
		const si = "BenchmarkSocketIngest"
		e, h := res.get(si, "2", "engine-records/s"), res.get(si, "2", "handwritten-records/s")
		add(row{bench: "SocketIngest", figure: "100-byte lines over loopback through a ReceiverStream", value: rate(e, "lines"),
			baseline: "plain read loop " + rate(h, "lines"), ratio: ratio(res.get(si, "2", "engine/handwritten")) + " as fast"})
	}

	fmt.Println("| benchmark | figure | value | baseline (same run) | ratio | target |")
	fmt.Println("| --- | --- | --- | --- | --- | --- |")
	for _, r := range rows {
		target := ""
		if r.target != "" {
			verdict := "missed"
			if r.met {
				verdict = "met"
			}
			target = r.target + " — **" + verdict + "**"
		}
		fmt.Printf("| %s | %s | %s | %s | %s | %s |\n", r.bench, r.figure, r.value, r.baseline, r.ratio, target)
	}
}

func keysName(k string) string {
	switch k {
	case "1000000":
		return "1M"
	case "10000000":
		return "10M"
	}
	return k
}
