#!/bin/sh
# examples/trainer: data-parallel SGD with MUSTER_AVG reaches the loss of
# one process on the whole batch, on one node and on 2 virtual nodes
# (TCP between them), under the launcher and with a file:// bootstrap.
. "$(dirname "$0")/lib.sh"
TRAINER=$B/examples/trainer
FL="sh $ROOT/tests/tools/flaunch.sh"
export MUSTER_TIMEOUT=30

final() { sed -n 's/^\(\[0\] \)\{0,1\}final loss //p' "$1"; }
# same_loss A B: equal to 1e-9 relative (sums in another order)
same_loss() {
	awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d;
		m = a < 0 ? -a : a; exit !(a != "" && b != "" && d <= 1e-9 * m + 1e-15) }'
}

$FL 1 1 $TRAINER --steps 100 > $T/one 2>&1
one=$(final $T/one)
ok_if "one process trains (loss $one)" awk -v a="$one" 'BEGIN { exit !(a != "" && a < 1e-3) }'
for shape in "2 1" "3 1" "4 1" "2 2" "4 2"; do
	set -- $shape
	$FL $1 $2 $TRAINER --steps 100 > $T/out 2>&1
	got=$(final $T/out)
	ok_if "file bootstrap, $1 ranks on $2 nodes: loss $got = $one" same_loss "$got" "$one"
done
# the tuning knobs (lib/tune.h) change the path, never the result; a value
# the strict parser refuses fails init with a line naming it
MUSTER_SHM_SLOT=8192 MUSTER_SHM_ONESHOT=0 MUSTER_TCP_SEG=4096 \
	MUSTER_TCP_SMALL=0 MUSTER_TCP_BUF=65536 MUSTER_SPIN_US=0 \
	MUSTER_YIELD_US=0 $FL 4 2 $TRAINER --steps 100 > $T/out 2>&1
got=$(final $T/out)
ok_if "every knob set: loss $got = $one" same_loss "$got" "$one"
for kv in MUSTER_TCP_SEG=4k MUSTER_SHM_SLOT=100 MUSTER_SPIN_US=-1 \
	"MUSTER_TCP_BUF= 65536" MUSTER_TCP_SMALL=0x10 MUSTER_YIELD_US=1e99; do
	env "$kv" $FL 2 2 $TRAINER --steps 5 > $T/out 2>&1
	rc=$?
	ok_if "$kv refused (exit $rc)" sh -c "[ $rc -ne 0 ] &&
		grep -q \"${kv%%=*}='${kv#*=}' is not a\" $T/out"
done
if [ -x "$MUSTER" ]; then
	$MUSTER -n 4 -- $TRAINER --steps 100 > $T/out 2>&1
	got=$(final $T/out)
	ok_if "muster -n 4: loss $got = $one" same_loss "$got" "$one"
	$MUSTER --nodes 2 --procs-per-node 2 -- $TRAINER --steps 100 > $T/out 2>&1
	got=$(final $T/out)
	ok_if "muster --nodes 2 --procs-per-node 2: loss $got = $one" same_loss "$got" "$one"
	[ -n "$got" ] || sed 's/^/# /' $T/out | head -20
else
	skip "trainer under the launcher" "the launcher is not built"
fi
done_testing
