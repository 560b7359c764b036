#!/bin/sh
# tests/perf/flight.sh: what libmuster's flight record (MUSTER_FLIGHT,
# common/flight_fmt.h) costs an allreduce: muster-allreduce-perf, float32
# sum, 8 B and 1 MiB, 2 and 4 ranks on this machine (shared memory),
# with the record (the agent makes one per rank when the job keeps a run
# record) and without (MUSTER_FLIGHT unset), one short job per run, in
# R pairs per size: without then with, then with then without (ABBA:
# neither gains from going first), so both see the same load.  Per
# size: the medians of the out-of-place time without and with, their
# ratio, the best runs' (the least disturbed: on a loaded machine the
# closest to the cost itself) and their ratio, the median of the pairs'
# ratios (drift between pairs cancels), and the noise: the spread of the
# runs without (the middle half, in % of their median), below which a
# difference is not seen.  The load before and after.  Then the
# record's own cost per collective (tests/tools/flight_bench, best of 5
# rounds: a start and a quick end, what an 8 B allreduce pays; a timed
# end, one that waited or moved 64 KiB) in % of the 8 B allreduce, the
# target being under 1%.
#
# usage: sh tests/perf/flight.sh [-r PAIRS] [-n SMALL_ITERS]
cd "$(dirname "$0")/../.." || exit 2
ROOT=$PWD
R=20 NS=5000
while getopts r:n: o; do
	case $o in
	r) R=$OPTARG ;; n) NS=$OPTARG ;;
	*) echo "usage: sh tests/perf/flight.sh [-r PAIRS] [-n SMALL_ITERS]" >&2
	   exit 2 ;;
	esac
done
case "$R.$NS" in
*[!0-9.]* | .* | *. | 0.* | *.0) echo "flight.sh: -r and -n take numbers from 1 (got -r '$R' -n '$NS')" >&2; exit 2 ;;
esac
PERF=$ROOT/build/bin/muster-allreduce-perf
BENCH=$ROOT/build/tests/flight_bench
MUSTER=$ROOT/build/bin/muster
for f in "$PERF" "$BENCH" "$MUSTER"; do
	[ -x "$f" ] || { echo "flight.sh: $f missing: make tests" >&2; exit 2; }
done
T=$(mktemp -d /tmp/muster-perf-flight.XXXXXX) || exit 2
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT INT TERM
export MUSTER_RUNS_DIR=$T/runs

# run NP with|without SIZE ITERS: one job (one muster-allreduce-perf per
# rank: successive inits in one job can race in the rendezvous, ESTATE),
# its out-of-place time in us on stdout; a job that fails, or should
# have a record and has none, says so on stderr and gives nothing
run() {
	if [ "$2" = with ]; then
		set -- "$@" sh -c '[ -n "${MUSTER_FLIGHT:-}" ] || { echo "NO RECORD" >&2; exit 1; }; exec "$0" "$@"'
	else
		set -- "$@" env -u MUSTER_FLIGHT
	fi
	np=$1 sz=$3 it=$4
	shift 4
	if ! (cd "$T" && "$MUSTER" -n "$np" -- "$@" "$PERF" -b "$sz" -e "$sz" \
	    -n "$it" -w $((it / 50 + 1)) -c 0 > "$T/raw" 2>&1); then
		echo "flight.sh: a $np-rank job failed:" >&2
		grep -v '^\[[0-9]*\] #' "$T/raw" | tail -4 >&2
		return 1
	fi
	sed -n 's/^\[0\] //p' "$T/raw" | awk '!/^#/ && NF >= 8 { print $6; exit }'
}

# one NP: "with|without K size time_us" lines, K = 1..R ABBA pairs
one() {
	k=1
	while [ $k -le $R ]; do
		for sz in 8 1048576; do
			it=$NS
			[ $sz = 8 ] || it=20
			if [ $((k % 2)) = 1 ]; then order="without with"; else order="with without"; fi
			for how in $order; do
				t=$(run "$1" $how $sz $it) && [ -n "$t" ] &&
				    echo "$how $k $sz $t"
			done
		done
		k=$((k + 1))
	done
}

# stats FILE: per size "size med_without med_with ratio pair_ratio spread%
# best_without best_with best_ratio" (spread: the middle half of the runs
# without, in % of their median)
stats() {
	awk '
	function med(s,   a, n, i, j, x) {
		n = split(s, a, " ")
		for (i = 2; i <= n; i++) {
			x = a[i]
			for (j = i - 1; j >= 1 && a[j] + 0 > x + 0; j--)
				a[j + 1] = a[j]
			a[j + 1] = x
		}
		q1 = a[int((n + 3) / 4)]; q3 = a[n + 1 - int((n + 3) / 4)]
		lo = a[1]
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	{ t[$1, $2, $3] = $4; sizes[$3] = 1; ks[$2] = 1 }
	END {
		for (s in sizes) {
			o = w = r = ""
			for (k in ks) {
				a = "without" SUBSEP k SUBSEP s
				b = "with" SUBSEP k SUBSEP s
				if (!(a in t) || !(b in t) || t[a] <= 0)
					continue
				o = o " " t[a]; w = w " " t[b]
				r = r " " t[b] / t[a]
			}
			mw = med(w); lw = lo; mr = med(r); mo = med(o)
			sp = mo > 0 ? 100 * (q3 - q1) / mo : 0
			printf "%d %s %s %.4f %.4f %.1f %s %s %.4f\n", s, mo,
			    mw, (mo > 0 ? mw / mo : 0), mr, sp, lo, lw,
			    (lo > 0 ? lw / lo : 0)
		}
	}' "$1" | sort -n
}

load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "# flight record overhead, $(date -u +%FT%TZ), $(nproc) CPUs, load $(load)"
echo "# muster-allreduce-perf float32 sum, out-of-place us: medians of $R ABBA pairs of runs"
echo "# without/with the record, the best runs' (the least loaded), the median of the pairs'"
echo "# ratios; noise: the middle half of the runs without, in % of their median"
printf '%5s %8s %9s %9s %7s %9s %9s %7s %7s %6s\n' ranks bytes without with ratio best_wo best_w ratio pairs noise
small2="" small4=""
for np in 2 4; do
	one "$np" > "$T/runs.$np"
	got=$(awk 'END { print NR }' "$T/runs.$np")
	[ "$got" -gt 0 ] || exit 1
	[ "$got" -lt $((4 * R)) ] &&
		echo "# $np ranks: $((4 * R - got)) of $((4 * R)) runs failed (their pairs left out)"
	stats "$T/runs.$np" | while read -r s o w r p sp lo lw lr; do
		printf '%5d %8d %9s %9s %6.3fx %9s %9s %6.3fx %6.3fx %5s%%\n' \
		    "$np" "$s" "$o" "$w" "$r" "$lo" "$lw" "$lr" "$p" "$sp"
	done
	m=$(stats "$T/runs.$np" | awk '$1 == 8 { print $2 }')
	[ "$np" = 2 ] && small2=$m best2=$(stats "$T/runs.$np" |
	    awk '$1 == 8 { print $7 }') || small4=$m
done
echo "# load after: $(load)"
b=$("$BENCH" 2000000 "$T")
val() { echo "$b" | awk -v k="$1" '{ for (i = 1; i < NF; i += 2) if ($i == k) print $(i + 1) }'; }
q=$(val flight_ns) tm=$(val timed_ns) clk=$(val clock_ns)
pct() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.2f%%", 100 * b / (s * 1000); else printf "?" }'; }
echo "# the record's own cost per collective (flight_bench, best of 5 rounds):"
echo "#   start + quick end (an 8 B allreduce's): $q ns = $(pct "$q" "$small2") of the 2-rank 8 B allreduce's median ($small2 us),"
echo "#     $(pct "$q" "$best2") of its best run ($best2 us: the least loaded), $(pct "$q" "$small4") of the 4-rank median ($small4 us)"
echo "#   start + timed end (one that waited or moved 64 KiB+): $tm ns = $(pct "$tm" "$small2") of the 2-rank 8 B median, $(pct "$tm" "$best2") of its best"
echo "#   (a precise clock_gettime here: $clk ns; 1% of the 2-rank 8 B allreduce: $(awk -v s="$small2" -v b="$best2" 'BEGIN { printf "%.1f ns (median), %.1f ns (best)", s * 10, b * 10 }'))"
