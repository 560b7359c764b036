#!/bin/sh
# Heartbeats (records.h: "beat" and y records): a node whose agent goes
# silent while its ranks run (stopped, its host or the network gone, the
# TCP connection still open) is lost after LCH_BEAT_MISSED beats: the job
# ends naming it, an elastic job goes on without it; an agent that hears
# nothing of the launcher stops its ranks itself (a host cut off keeps
# nothing).  A launcher whose own output is blocked does not count the
# time it did not read.  MUSTER_HEARTBEAT_MS (300 here: lost after
# 1.8 s) sets the beat; 0 turns them off.
. "$(dirname "$0")/lib.sh"
export MUSTER_TIMEOUT=30 MUSTER_HEARTBEAT_MS=300

# rank.sh: writes $OUT/gG.rR, its pid in $OUT/pid.R; node $SILENT's local
# rank 0 SIGSTOPs its agent in generation 0; generation 0 waits, a later
# one ends at once
cat > $T/rank.sh <<'EOF'
#!/bin/sh
mkdir -p $OUT
echo "RANK=$RANK WORLD_SIZE=$WORLD_SIZE NODE_RANK=$NODE_RANK GEN=$MUSTER_GENERATION" > $OUT/g$MUSTER_GENERATION.r$RANK
echo $$ > $OUT/pid.$RANK
if [ "$MUSTER_GENERATION" = 0 ]; then
	[ "$NODE_RANK" = "${SILENT:-}" ] && [ "$LOCAL_RANK" = 0 ] &&
		{ sleep 0.3; kill -STOP $PPID; }
	exec sleep 20
fi
exit 0
EOF
export OUT=$T/out.d
run() {	# run ARGS...: muster with $SILENT, the record in $T/run
	rm -rf $OUT $T/run
	start=$(now_ms)
	$MUSTER --run-dir $T/run -x OUT -x SILENT "$@" > $T/out 2> $T/err
	rc=$?
	ms=$(($(now_ms) - start))
}

# --- a fixed job: node 1's agent stops (SIGSTOP): lost, the job ends
SILENT=1 run --nodes 2 -- sh $T/rank.sh
is "silent agent: exit 255" $rc 255
ok_if "... named, with how long it was silent" grep -q \
	"^muster: node 1 (host localhost): no word from its agent for [1-9]\.[0-9] s (its host or the network is gone): lost$" $T/err
ok_if "... ended within 10 s ($ms ms)" [ $ms -lt 10000 ]
ok_if "... no rank left" none_alive $OUT/pid.0 $OUT/pid.1
is "... run.json: Failed, the line" "$($PY -c 'import json
r = json.load(open("'$T/run/run.json'"))
print(r["status"], "no word from its agent" in r["first_failure"]["reason"])')" "Failed True"

# --- an elastic job goes on without it
SILENT=1 run --nodes 1:2 -- sh $T/rank.sh
is "elastic: silent node lost, generation 1 on the other" \
	"$rc $(cat $OUT/g1.* 2>/dev/null | tr '\n' ' ')" \
	"0 RANK=0 WORLD_SIZE=1 NODE_RANK=0 GEN=1 "
ok_if "... said" grep -q "^muster: lost node 1: generation 1 goes on with 1 node$" $T/err

# --- beats off: a stopped agent is waited for, the job ends normally
cat > $T/pause.sh <<'EOF'
#!/bin/sh
if [ "$NODE_RANK" = 1 ]; then
	a=$PPID
	sh -c "sleep 0.2; kill -STOP $a; sleep 2; kill -CONT $a" &
fi
sleep 3
echo done $RANK
EOF
MUSTER_HEARTBEAT_MS=0 run --nodes 2 -- sh $T/pause.sh
is "MUSTER_HEARTBEAT_MS=0: a stopped agent is waited for" "$rc $(sort $T/out | tr '\n' ' ')" \
	"0 [0] done 0 [1] done 1 "
MUSTER_HEARTBEAT_MS=x run -n 1 -- true
is "MUSTER_HEARTBEAT_MS=x: one line, the default" "$rc $(cat $T/err)" \
	"0 muster: MUSTER_HEARTBEAT_MS 'x': expected 0 (none) or 50 to 600000 ms: using 5000"

# --- the launcher's output blocked 2.5 s: not the agents' silence
$MUSTER --no-record --nodes 2 -- sh -c 'head -c 4000000 /dev/zero | tr "\0" "x" | fold -w 1000; sleep 0.5' \
	2> $T/err | { sleep 2.5; wc -l; } > $T/lines
is "output blocked: nothing lost" "$(cat $T/lines) $(cat $T/err)" "8000 "

# --- the launcher silent (SIGSTOPped): the agents stop their ranks
cat > $T/term.sh <<'EOF'
#!/bin/sh
mkdir -p $OUT
trap 'echo TERM > $OUT/term.$RANK; exit 143' TERM
echo r > $OUT/ready.$RANK
while :; do sleep 0.05; done
EOF
rm -rf $OUT
$MUSTER --no-record -x OUT --nodes 2 -- sh $T/term.sh > $T/out 2> $T/err &
mpid=$!
wait_files 2 "$OUT/ready.*"
kill -STOP $mpid
wait_files 2 "$OUT/term.*"
n=$(ls $OUT/term.* 2>/dev/null | wc -l)
kill -CONT $mpid
wait $mpid
ok_if "launcher stopped: both agents stopped their ranks ($n)" [ $n = 2 ]
ok_if "... and said why" grep -q "no word from the launcher for [1-9]\.[0-9] s (its host or the network is gone): stopping the ranks" $T/err

# --- the whole job stopped and continued (Ctrl-Z, fg): nobody is lost
desc() { for c in $(pgrep -P $1); do echo $c; desc $c; done; }
$MUSTER --no-record --nodes 2 -- sh -c 'sleep 2; echo done $RANK' > $T/out 2> $T/err &
mpid=$!
sleep 1
all="$mpid $(desc $mpid)"
kill -STOP $all
sleep 3
kill -CONT $all
wait $mpid
is "job stopped 3 s and continued: ends as it would" "$? $(sort $T/out | tr '\n' ' ')$(cat $T/err)" \
	"0 [0] done 0 [1] done 1 "

# --- a test host cut off (its link down, connections open): lost, the
# job goes on; its agent stops its rank by itself
hosts_up 3 "heartbeats on test hosts"
rm -rf $OUT
$in_h1 $MUSTER --no-record -x OUT --nodes 2:3 -H h1,h2,h3 -- sh $T/rank.sh > $T/out 2> $T/err &
mpid=$!
wait_files 3 "$OUT/g0.*"
h3=mu$(cat $NS/tag)h3
ip netns exec $h3 ip link set eth1 down
t0=$(now_ms)
wait $mpid
rc=$?
is "h3 cut off: exit 0, generation 1 on h1 and h2" \
	"$rc $(cat $OUT/g1.* 2>/dev/null | tr '\n' ' ')" \
	"0 RANK=0 WORLD_SIZE=2 NODE_RANK=0 GEN=1 RANK=1 WORLD_SIZE=2 NODE_RANK=1 GEN=1 "
ok_if "... h3 named lost" grep -q '^muster: lost h3: generation 1 goes on with 2 nodes$' $T/err
# h3_ranks: the rank's processes in h3's namespace (the PIDs are shared)
h3_ranks() {
	for p in $(ip netns pids $h3); do
		tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null | grep -q '^sleep 20' && echo $p
	done
}
i=0
while [ -n "$(h3_ranks)" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
ok_if "... h3's agent stopped its rank by itself" [ -z "$(h3_ranks)" ]
ip netns exec $h3 ip link set eth1 up
done_testing
