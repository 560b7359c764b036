#!/bin/sh
# tests/perf/metrics.sh: what logging one metric costs a rank.  A rank
# under muster (one node, a run record) calls muster_log_metric N times
# on its MUSTER_METRICS FIFO (the agent reads it and the head writes
# metrics.jsonl meanwhile, on the same cores), then write(2)s the same
# line N times to a plain file: ns per call of each and the ratio, in
# the same process, REPEATS times; then the median ratio.  Issue 11 asks
# for a few microseconds per metric.
#
# usage: sh tests/perf/metrics.sh [REPEATS [CALLS]]   (5, 200000)
R=${1:-5} N=${2:-200000}
case $R$N in *[!0-9]*) echo "usage: metrics.sh [REPEATS [CALLS]]" >&2; exit 2 ;; esac
cd "$(dirname "$0")/../.." || exit 2
B=$PWD/${MUSTER_BUILD:-build}
ML=$B/tests/metric_log
[ -x "$ML" ] || { echo "metrics.sh: $ML missing: make tests" >&2; exit 2; }
T=$(mktemp -d /tmp/muster-perf.XXXXXX) || exit 2
trap 'rm -rf "$T"' EXIT INT TERM

i=0
while [ $i -lt "$R" ]; do
	rm -rf "$T/run"
	"$B/bin/muster" -n 1 --no-tag --run-dir "$T/run" -- \
		"$ML" bench "$N" "$T/plain" > "$T/out" 2>&1 ||
		{ cat "$T/out"; exit 1; }
	lines=$(wc -l < "$T/run/metrics.jsonl")
	[ "$lines" -eq $((2 * N)) ] ||
		{ echo "metrics.sh: $lines lines recorded of $((2 * N))"; exit 1; }
	cat "$T/out"
	sed -n 's/.*ratio \([0-9.]*\)$/\1/p' "$T/out" >> "$T/ratios"
	i=$((i + 1))
done
sort -n "$T/ratios" | awk '{ r[NR] = $1 } END {
	printf "median ratio muster_log_metric / write(2) to a file: %.2f (%d runs of %d calls)\n",
	    r[int((NR + 1) / 2)], NR, '"$N"' }'
