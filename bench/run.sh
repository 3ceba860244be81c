#!/bin/sh
# run.sh runs the bench/ suite and regenerates the results table of
# bench/README.md (between the "results" markers) and bench/results.txt
# (benchstat's summary of every figure).
#
#   bench/run.sh            # COUNT=3 rounds
#   COUNT=5 bench/run.sh
#
# Each round runs every benchmark once (-count 1), round after round, so
# that load from other processes spreads over all figures alike; the table
# takes the median over the rounds. Ratios that matter most are also
# measured interleaved inside one benchmark (word count engine/loop,
# window 60/2, state 10M/10k, socket ingest engine/loop). The state
# partitions' hash table is measured beside a Go map by dstream's
# BenchmarkStateTable. Raw output is
# kept in bench/results-raw.txt.
#
#   FROM=bench/results-raw.txt bench/run.sh   # only regenerate the table
set -eu
cd "$(dirname "$0")/.."
COUNT=${COUNT:-3}
OUT=bench/out
mkdir -p "$OUT"
GOBIN=$(go env GOPATH)/bin
go install golang.org/x/perf/cmd/benchstat@latest
go test -c -o "$OUT/bench.test" ./bench/
go test -c -o "$OUT/dstream.test" ./dstream/
go build -o "$OUT/benchtable" ./bench/internal/benchtable
RAW="$OUT/raw.txt"

bench() { # bench <regexp> <benchtime> [cpu list] [test binary: bench or dstream]
	(cd bench && "./out/${4:-bench}.test" -test.run '^$' -test.bench "$1" -test.benchtime "$2" \
		-test.cpu "${3:-2}" -test.count 1 -test.benchmem) | tee -a "$RAW" | grep '^Benchmark' || true
}

if [ -n "${FROM:-}" ]; then
	cp "$FROM" "$RAW"
	COUNT="$(grep -c '^BenchmarkBatchOverhead/graph/empty' "$RAW")"
else
	: > "$RAW"
fi
for round in $( [ -n "${FROM:-}" ] || seq "$COUNT"); do
	echo "== round $round of $COUNT"
	bench 'BenchmarkWordCount' 3x 1,2
	bench 'BenchmarkWindow' 3x                                  # an op is 10 batches
	bench 'BenchmarkState/(MapWithState|UpdateStateByKey)' 30x # an op is 10 batches
	bench 'BenchmarkState/handwritten' 200x
	bench 'BenchmarkStateTable' 300x 2 dstream
	bench 'BenchmarkCheckpoint' 5x
	bench 'BenchmarkRecovery' 3x
	bench 'BenchmarkBatchOverhead' 1s
	bench 'BenchmarkSocketIngest' 3x
done

"$GOBIN/benchstat" "$RAW" > bench/results.txt
[ "$RAW" -ef bench/results-raw.txt ] || cp "$RAW" bench/results-raw.txt

{
	echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(go version | cut -d' ' -f3-)."
	echo "Commit: ${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}; $COUNT rounds; medians over rounds; $(date -u +%Y-%m-%d)."
	echo
	"$OUT/benchtable" < "$RAW"
} > "$OUT/table.md"

awk -v table="$OUT/table.md" '
	/<!-- results:begin -->/ { print; while ((getline l < table) > 0) print l; skip = 1; next }
	/<!-- results:end -->/ { skip = 0 }
	!skip { print }
' bench/README.md > "$OUT/README.md" && mv "$OUT/README.md" bench/README.md
echo "bench/README.md and bench/results.txt updated"
