#!/bin/sh
# tests/perf/flight.sh: what libmuster's flight record (MUSTER_FLIGHT,
# common/flight_fmt.h) costs an allreduce: muster-allreduce-perf, float32
# sum, 8 B and 1 MiB, 2 and 4 ranks on this machine (shared memory),
# with the record (the agent makes one per rank when the job keeps a run
# record) and without (MUSTER_FLIGHT unset for the same job), runs
# interleaved in the same invocation; the table shows the medians of
# the out-of-place time and the ratio with/without.  Then the record's
# own cost per collective (tests/tools/flight_bench: a start and an end
# written) against the 8 B allreduce, the target being under 1%.
#
# usage: sh tests/perf/flight.sh [-r REPEATS] [-n SMALL_ITERS]
cd "$(dirname "$0")/../.." || exit 2
ROOT=$PWD
R=5 NS=20000
while getopts r:n: o; do
	case $o in
	r) R=$OPTARG ;; n) NS=$OPTARG ;;
	*) exit 2 ;;
	esac
done
PERF=$ROOT/build/bin/muster-allreduce-perf
BENCH=$ROOT/build/tests/flight_bench
MUSTER=$ROOT/build/bin/muster
for f in "$PERF" "$BENCH" "$MUSTER"; do
	[ -x "$f" ] || { echo "flight.sh: $f missing: make tests" >&2; exit 2; }
done
T=$(mktemp -d /tmp/muster-perf-flight.XXXXXX) || exit 2
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT INT TERM
export MUSTER_RUNS_DIR=$T/runs

# one NP WITH(0|1): both sizes, "size time_us" lines; a rank that should
# have a record and has none (or the reverse) says so and fails the run
one() {
	np=$1 with=$2
	cd "$T" || return	# the job's outputs folder goes there
	"$MUSTER" -n "$np" -- sh -c '
		if [ '"$with"' = 1 ]; then
			[ -n "${MUSTER_FLIGHT:-}" ] || { echo "NO RECORD" >&2; exit 1; }
		else
			unset MUSTER_FLIGHT
		fi
		'"$PERF"' -b 8 -e 8 -n '"$NS"' -w 200 -c 0 &&
		'"$PERF"' -b 1M -e 1M -n 50 -w 5 -c 0' 2>&1 |
	sed 's/^\[[0-9]*\] //' | awk '!/^#/ && NF >= 8 { print $1, $6 }'
}

# med FILES...: "size median" per size
med() {
	cat "$@" | awk '{ t[$1] = t[$1] " " $2 }
	function median(s,   a, n, i, j, x) {
		n = split(s, a, " ")
		for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > x + 0; j--) a[j + 1] = a[j]; a[j + 1] = x }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	END { for (s in t) print s, median(t[s]) }' | sort -n
}

echo "# flight record overhead, $(date -u +%FT%TZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# muster-allreduce-perf float32 sum, median of $R runs each, with and without interleaved"
printf '%6s %9s %12s %12s %9s\n' ranks bytes without_us with_us ratio
small=""
for np in 2 4; do
	rm -f "$T"/w.* "$T"/o.*
	i=1
	while [ "$i" -le "$R" ]; do
		one "$np" 0 > "$T/o.$i"
		one "$np" 1 > "$T/w.$i"
		i=$((i + 1))
	done
	med "$T"/o.* > "$T/o"
	med "$T"/w.* > "$T/w"
	awk -v np="$np" 'NR == FNR { o[$1] = $2; next }
	$1 in o { printf "%6d %9d %12s %12s %8.3fx\n", np, $1, o[$1], $2, (o[$1] > 0 ? $2 / o[$1] : 0) }' "$T/o" "$T/w"
	[ -z "$small" ] && small=$(awk '$1 == 8 { print $2 }' "$T/o")
done
b=$("$BENCH" 5000000 "$T" | awk '{ print $2 }')
c=$("$BENCH" 5000000 "$T" | awk '{ print $4 }')
pct=$(awk -v b="$b" -v s="$small" 'BEGIN { if (s > 0) printf "%.2f%%", 100 * b / (s * 1000) }')
echo "# the record's own cost: $b ns per collective (start and end written;"
echo "#   a precise clock_gettime here: $c ns), $pct of a 2-rank 8 B allreduce ($small us)"
