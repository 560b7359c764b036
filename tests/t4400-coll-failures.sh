#!/bin/sh
# libmuster failures through the real rendezvous: a job aborted on the
# server reaches a worker blocked in an allreduce; under the launcher a
# dead or stalled rank ends the job with an error, never a hang.
. "$(dirname "$0")/lib.sh"
W=$B/tests/coll_worker
CLI=$B/tests/rdv_cli
export MUSTER_JOB_SECRET=t4400-$$-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')

# --- a job aborted on musterd: the worker in the allreduce hears it
"$MUSTERD" --open --bind tcp://127.0.0.1:0 --foreground > "$T/ep" 2> "$T/log" &
DPID=$!
stop_daemon() { kill "$DPID" 2>/dev/null; }
test_cleanup_hooks="stop_daemon"
i=0
while [ ! -s "$T/ep" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
EP=$(head -1 "$T/ep")
"$CLI" "$EP" J create > /dev/null
for r in 0 1; do
	MUSTER_RANK=$r MUSTER_SIZE=2 MUSTER_LOCAL_RANK=$r MUSTER_LOCAL_SIZE=2 \
	MUSTER_NODE_RANK=0 MUSTER_NUM_NODES=1 MUSTER_JOB_ID=J \
	MUSTER_RENDEZVOUS=$EP MUSTER_TIMEOUT=20 COLL_STALL_RANK=1 COLL_STALL_S=8 \
		"$W" > "$T/w$r" 2>&1 &
	eval "p$r=\$!"
done
sleep 1
start=$(now_ms)
"$CLI" "$EP" J abort "t4400 says stop" > /dev/null
wait "$p0"
ms=$(($(now_ms) - start))
ok_if "aborted job: the worker in an allreduce stops with EABORTED" \
	grep -q 'rank 0: aborted .*the job was aborted (.*t4400 says stop)' "$T/w0"
ok_if "aborted job: within a second (${ms} ms)" [ "$ms" -lt 1500 ]
sed 's/^/# /' "$T/w0"
kill "$p1" 2>/dev/null
wait "$p1" 2>/dev/null

# --- under the launcher: a dead rank, a stalled rank
if [ -x "$MUSTER" ]; then
	start=$(now_ms)
	MUSTER_TIMEOUT=3 COLL_DIE_RANK=3 $MUSTER -x MUSTER_TIMEOUT -x COLL_DIE_RANK \
		--nodes 2 --procs-per-node 2 -- "$W" > "$T/out" 2> "$T/err"
	rc=$? ms=$(($(now_ms) - start))
	is "launcher, rank 3 dies: the job fails with its code" "$rc" 7
	ok_if "launcher, rank 3 dies: done in ${ms} ms" [ "$ms" -lt 3000 ]
	start=$(now_ms)
	MUSTER_TIMEOUT=2 COLL_STALL_RANK=2 COLL_STALL_S=30 $MUSTER -x MUSTER_TIMEOUT \
		-x COLL_STALL_RANK -x COLL_STALL_S --nodes 2 --procs-per-node 2 -- "$W" \
		> "$T/out" 2> "$T/err"
	rc=$? ms=$(($(now_ms) - start))
	is "launcher, rank 2 stalls: the job fails" "$rc" 1
	ok_if "launcher, rank 2 stalls: a rank names it" grep -q 'timed out.*rank 2' "$T/out"
	ok_if "launcher, rank 2 stalls: done within the timeout + 2 s (${ms} ms)" [ "$ms" -lt 5000 ]
	sed 's/^/# /' "$T/out" | head -4
else
	skip "failures under the launcher" "the launcher is not built"
fi
done_testing
