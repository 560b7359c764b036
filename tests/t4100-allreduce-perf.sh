#!/bin/sh
# muster-allreduce-perf: nccl-tests' flags and columns, checked results,
# under the launcher on one node and on 2 virtual nodes.
. "$(dirname "$0")/lib.sh"
PERF=$B/bin/muster-allreduce-perf
FL="sh $ROOT/tests/tools/flaunch.sh"
export MUSTER_TIMEOUT=30

# columns: size count type redop root, then time algbw busbw #wrong twice
rows_ok() {
	awk 'BEGIN { rows = 0 } /^(\[0\] )?#/ { next }
	{ sub(/^\[0\] /, ""); if (NF != 13 || $5 != "-1" || $9 != 0 || $13 != 0) exit 1;
	  rows++ } END { exit !(rows > 0) }' "$1"
}

$FL 3 1 $PERF -b 8 -e 1M -f 8 -n 3 -w 1 > $T/out 2>&1
ok_if "3 ranks: rows with 13 columns and no wrong values" rows_ok $T/out
ok_if "footer: out of bounds OK" grep -q '^# Out of bounds values : 0 OK' $T/out
ok_if "footer: avg bus bandwidth" grep -q '^# Avg bus bandwidth    : [0-9.e+-]*' $T/out
ok_if "header names the columns" grep -q '^#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong' $T/out
is "sizes 8 .. 1M by 8" "$(awk '!/^#/ { printf "%s ", $1 }' $T/out)" "8 64 512 4096 32768 262144 "

bad=""
for d in int8 uint8 int32 uint32 int64 uint64 half bfloat16 float double; do
	for o in sum prod min max avg; do
		$FL 2 1 $PERF -b 64 -e 64K -f 32 -n 1 -w 0 -d $d -o $o > $T/out 2>&1 &&
			rows_ok $T/out || bad="$bad $d/$o"
	done
done
is "every type and op checks out (2 ranks)" "$bad" ""
$FL 4 2 $PERF -b 8 -e 4M -f 16 -n 2 -w 1 -d half -o avg > $T/out 2>&1
ok_if "2 virtual nodes (TCP), half avg: no wrong values" rows_ok $T/out

$PERF -d nosuch > $T/out 2>&1
is "unknown type: exit 2" $? 2
$PERF -b 1M -e 1K > $T/out 2>&1
is "min > max: exit 2" $? 2

if [ -x "$MUSTER" ]; then
	$MUSTER -n 2 -- $PERF -b 8 -e 256K -f 8 -n 5 > $T/out 2>&1
	ok_if "under muster -n 2" rows_ok $T/out
	$MUSTER --nodes 2 --procs-per-node 2 -- $PERF -b 8 -e 1M -f 8 -n 3 > $T/out 2>&1
	ok_if "under muster --nodes 2 --procs-per-node 2" rows_ok $T/out
	rows_ok $T/out || sed 's/^/# /' $T/out | tail -5
else
	skip "under the launcher" "the launcher is not built"
fi
done_testing
