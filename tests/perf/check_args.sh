#!/bin/sh
# tests/perf/check_args.sh: what the collectives' argument check costs
# (every rank compares what it called with the others': man 3 muster,
# MUSTER_CHECK_ARGS).  muster-allreduce-perf on small messages, float32
# sum, 8 B .. 32 KiB, with MUSTER_CHECK_ARGS=0 and =1 in the same run,
# REPEATS times each, interleaved; the table shows per-size medians and
# minima of the out-of-place time, and the ratio on/off of each (1.00:
# free).  The machine may be shared: the minimum is the least disturbed
# run, the better estimate of what the check itself costs.
#
# usage: sh tests/perf/check_args.sh [-r REPEATS] [-n ITERS] [shm2 shm4 tcp2]
#   shm2, shm4: 2 and 4 ranks on one node (shared memory);
#   tcp2: 2 nodes of one rank (the TCP ring, on this machine).
# Ranks start without the launcher (tests/tools/flaunch.sh).
cd "$(dirname "$0")/../.." || exit 2
ROOT=$PWD
R=9 ITERS=1000
while getopts r:n: o; do
	case $o in
	r) R=$OPTARG ;; n) ITERS=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
CONFIGS=${*:-shm2 shm4 tcp2}
PERF=$ROOT/${MUSTER_BUILD:-build}/bin/muster-allreduce-perf
[ -x "$PERF" ] || { echo "check_args.sh: $PERF missing: make tests" >&2; exit 2; }
T=$(mktemp -d /tmp/muster-perf.XXXXXX) || exit 2
trap 'rm -rf "$T"' EXIT INT TERM

# run CONFIG CHECK OUT: one muster-allreduce-perf run; appends "size us"
run() {
	case $1 in
	shm2) np=2 nodes=1 ;; shm4) np=4 nodes=1 ;; tcp2) np=2 nodes=2 ;;
	*) echo "check_args.sh: unknown configuration $1" >&2; exit 2 ;;
	esac
	MUSTER_CHECK_ARGS=$2 sh "$ROOT/tests/tools/flaunch.sh" "$np" "$nodes" \
		"$PERF" -b 8 -e 32K -f 4 -n "$ITERS" -w 50 -c 0 |
		awk '$1 ~ /^[0-9]+$/ { print $1, $6 }' >> "$3"
}

# stat FILE SIZE: "median min" of the times of SIZE in FILE
stat() {
	awk -v s="$2" '$1 == s { print $2 }' "$1" | sort -g |
		awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[1] }'
}

printf '%-6s %6s %17s %17s %15s\n' "" "" "median (us)" "min (us)" "on/off"
printf '%-6s %6s %8s %8s %8s %8s %7s %7s\n' config bytes off on off on \
	median min
for cfg in $CONFIGS; do
	: > "$T/off"; : > "$T/on"
	i=0
	while [ $i -lt "$R" ]; do
		run "$cfg" 0 "$T/off"
		run "$cfg" 1 "$T/on"
		i=$((i + 1))
	done
	for size in $(awk '{ print $1 }' "$T/off" | sort -un); do
		echo "$cfg $size $(stat "$T/off" "$size") $(stat "$T/on" "$size")"
	done | awk '{
		printf "%-6s %6d %8.2f %8.2f %8.2f %8.2f %7.2f %7.2f\n", $1, $2,
		    $3, $5, $4, $6, ($3 > 0 ? $5 / $3 : 0),
		    ($4 > 0 ? $6 / $4 : 0) }'
done
