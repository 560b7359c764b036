#!/bin/sh
# Elastic jobs (launcher/elastic.h): --nodes MIN:MAX goes on as a new
# generation on the nodes left when a node is lost (its agent SIGKILLed,
# ssh to its host failing, a host not up within --join-timeout), with
# RANK/WORLD_SIZE/NODE_RANK... recomputed and TORCHELASTIC_RESTART_COUNT
# and MUSTER_GENERATION counted up; below MIN it fails naming the nodes;
# a rank failure restarts it while --max-restarts is left; hosts from
# --host-discovery join at the next generation; the C trainer resumes
# from its checkpoint with the result of an uninterrupted run.  Then on
# test hosts (tests/netns.sh): a host whose sshd and agent are killed is
# lost, a discovered host joins.
. "$(dirname "$0")/lib.sh"
TRAINER=$B/examples/trainer
export MUSTER_TIMEOUT=20

# --- bad input: one line, exit 2, nothing started
bad "--nodes '3:2': expected N or MIN:MAX" --nodes 3:2 -- $P
bad "--nodes '0:2': expected N or MIN:MAX" --nodes 0:2 -- $P
bad "--nodes '2:': expected N or MIN:MAX" --nodes 2: -- $P
bad "--nodes 'a:b': expected N or MIN:MAX" --nodes a:b -- $P
bad "--nnodes '3:2': expected N or MIN:MAX" --nnodes 3:2 -- $P
bad "--nodes 3:4: only 2 hosts given (a, b), fewer than MIN" \
	--nodes 3:4 -H a,b -- $P
bad "-n 4: with --nodes 2:3 the world size follows the nodes" \
	-n 4 --nodes 2:3 -- $P
bad "--nodes 2:3: an elastic job runs on muster's own agents, not with --mpi" \
	--nodes 2:3 --mpi -- $P
bad "--join-timeout '0': expected seconds" --nodes 1:2 --join-timeout 0 -- $P
bad "--host-discovery '': expected a command" --nodes 1:2 -H a --host-discovery '' -- $P
bad "--host-discovery 'exit 4': exited with code 4 (it gives the first hosts" \
	--nodes 1:2 --host-discovery 'exit 4' -- $P
bad "--host-discovery 'echo a b': line 1 'a b': expected host:slots (it gives" \
	--nodes 1:2 --host-discovery 'echo a b' -- $P
bad "--host-discovery 'true': printed no host" --nodes 1:2 --host-discovery true -- $P
bad "--host-discovery 'sleep 5': did not end within 1.4 s" --nodes 1:2 \
	--discovery-interval 0.2 --host-discovery 'sleep 5' -- $P
bad "--nodes 3:4: only 2 hosts given (localhost, 127.0.0.1), fewer than MIN" \
	--nodes 3:4 --host-discovery 'echo localhost:1; echo 127.0.0.1:2' -- $P
bad "--host-discovery: only for an elastic job (--nodes MIN:MAX)" \
	--host-discovery 'echo a:1' -- $P
bad "--rdzv-endpoint 'tcp://nohostport': expected tcp://HOST:PORT" \
	--rdzv-endpoint nohostport -- $P

# --- torchrun's spellings are aliases, listed in --help
$MUSTER --help > $T/help
ok_if "--help lists the torchrun aliases" sh -c "grep -q -- '--nnodes N|MIN:MAX' $T/help &&
	grep -q -- '--rdzv-endpoint H:P' $T/help && grep -q -- '--rdzv-id ID' $T/help"
$MUSTER --dry-run --nnodes 2 --rdzv-id myjob7 -- true > $T/plan
is "--nnodes 2 --rdzv-id myjob7: 2 nodes, job id myjob7" \
	"$(grep -c '"NODE_RANK":"1"' $T/plan) $(grep -c '"MUSTER_JOB_ID":"myjob7"' $T/plan)" "1 2"
$MUSTER --dry-run --nodes 1:3 --host-discovery 'echo localhost:1; echo 127.0.0.1:2' -- true > $T/plan
is "no hosts given: --host-discovery gives the first (3 ranks on 2)" \
	"$(grep -c '"GROUP_WORLD_SIZE":"2"' $T/plan) $(grep -c '"host":"127.0.0.1"' $T/plan)" "3 2"
$MUSTER --dry-run --nodes 2:3 -- true > $T/plan
is "--nodes 2:3 without hosts: 3 virtual nodes, 1 rank each" \
	"$(grep -c '"WORLD_SIZE":"3"' $T/plan) $(grep -c '"NODE_RANK":"2"' $T/plan)" "3 1"

# config keys: nodes "MIN:MAX", join_timeout, host_discovery...
printf '{"nodes": "2:3", "join_timeout": 5, "discovery_interval": 1}\n' > $T/el.json
is "config: nodes \"2:3\": 3 virtual nodes" \
	"$($MUSTER --config $T/el.json --dry-run -- true | grep -c '"GROUP_WORLD_SIZE":"3"')" 3
printf '{"nodes": "3:2"}\n' > $T/bad.json
bad "\"nodes\" '3:2': expected N or MIN:MAX" --config $T/bad.json -- $P

# rank.sh: each rank writes its environment to $T/env/gG.rR; $LOSE
# ("G:NODE ...") makes the rank of local rank 0 on NODE SIGKILL its agent
# in generation G; $FAIL ("G:RANK") makes that rank exit 3; the others
# of generation G wait to be stopped, the last generation's end at once
cat > $T/rank.sh <<'EOF'
#!/bin/sh
mkdir -p $OUT
echo "RANK=$RANK WORLD_SIZE=$WORLD_SIZE LOCAL_RANK=$LOCAL_RANK NODE_RANK=$NODE_RANK GROUP_WORLD_SIZE=$GROUP_WORLD_SIZE HOROVOD_SIZE=$HOROVOD_SIZE RC=$TORCHELASTIC_RESTART_COUNT GEN=$MUSTER_GENERATION" > $OUT/g$MUSTER_GENERATION.r$RANK
stop=0
for l in $LOSE; do
	[ "$l" = "$MUSTER_GENERATION:$NODE_RANK" ] && [ "$LOCAL_RANK" = 0 ] &&
		{ sleep 0.3; kill -9 $PPID; }
	[ "${l%%:*}" = "$MUSTER_GENERATION" ] && stop=1
done
[ "$FAIL" = "$MUSTER_GENERATION:$RANK" ] && { sleep 0.3; exit 3; }
[ "${FAIL%%:*}" = "$MUSTER_GENERATION" ] && stop=1
[ $stop = 1 ] && exec sleep 20
exit 0
EOF
export OUT=$T/env
run_el() {	# run_el ARGS...: muster with $LOSE/$FAIL, the record in $T/run
	rm -rf $OUT $T/run
	start=$(now_ms)
	$MUSTER --run-dir $T/run -x OUT -x LOSE -x FAIL "$@" > $T/out 2> $T/err
	rc=$?
	ms=$(($(now_ms) - start))
}
envs() {	# envs G: generation G's lines, by rank
	for f in $(ls $OUT/g$1.r* 2>/dev/null | sort -t r -k2 -n); do cat $f; done
}
attempts() {	# the run record's attempts: "G:np:nnodes:lost:next" each
	$PY -c 'import json, sys
for a in json.load(open(sys.argv[1]))["attempts"]:
    print("%s:%s:%s:%s:%s" % (a.get("generation"), a["np"], a["nnodes"],
        ",".join(a.get("lost", [])), a.get("next", "")))' $T/run/run.json | tr '\n' ' '
}

# --- a node's agent SIGKILLed: the job finishes on the 2 left
LOSE="0:2" FAIL="" run_el --nodes 2:3 --procs-per-node 2 -- sh $T/rank.sh
is "agent of node 2 killed: exit 0" $rc 0
is "generation 0: 6 ranks on 3 nodes" "$(envs 0 | sed 's/ HOROVOD.*//')" \
"RANK=0 WORLD_SIZE=6 LOCAL_RANK=0 NODE_RANK=0 GROUP_WORLD_SIZE=3
RANK=1 WORLD_SIZE=6 LOCAL_RANK=1 NODE_RANK=0 GROUP_WORLD_SIZE=3
RANK=2 WORLD_SIZE=6 LOCAL_RANK=0 NODE_RANK=1 GROUP_WORLD_SIZE=3
RANK=3 WORLD_SIZE=6 LOCAL_RANK=1 NODE_RANK=1 GROUP_WORLD_SIZE=3
RANK=4 WORLD_SIZE=6 LOCAL_RANK=0 NODE_RANK=2 GROUP_WORLD_SIZE=3
RANK=5 WORLD_SIZE=6 LOCAL_RANK=1 NODE_RANK=2 GROUP_WORLD_SIZE=3"
is "generation 1: 4 ranks on 2 nodes, restart count 1" "$(envs 1)" \
"RANK=0 WORLD_SIZE=4 LOCAL_RANK=0 NODE_RANK=0 GROUP_WORLD_SIZE=2 HOROVOD_SIZE=4 RC=1 GEN=1
RANK=1 WORLD_SIZE=4 LOCAL_RANK=1 NODE_RANK=0 GROUP_WORLD_SIZE=2 HOROVOD_SIZE=4 RC=1 GEN=1
RANK=2 WORLD_SIZE=4 LOCAL_RANK=0 NODE_RANK=1 GROUP_WORLD_SIZE=2 HOROVOD_SIZE=4 RC=1 GEN=1
RANK=3 WORLD_SIZE=4 LOCAL_RANK=1 NODE_RANK=1 GROUP_WORLD_SIZE=2 HOROVOD_SIZE=4 RC=1 GEN=1"
is "no generation 2" "$(ls $OUT | grep -c '^g2')" 0
ok_if "says node 2 was lost and the job goes on (took $ms ms)" \
	grep -q '^muster: lost node 2: generation 1 goes on with 2 nodes$' $T/err
ok_if "... within 4 s" [ $ms -lt 4000 ]
is "run.json: one attempt per generation, hosts and why" "$(attempts)" \
	"0:6:3:node 2:nodes lost 1:4:2:: "
is "run.json: Completed on the last generation's 4 ranks" \
	"$($PY -c 'import json; j = json.load(open("'$T/run/run.json'")); print(j["status"], j["np"], len(j["ranks"]))')" \
	"Completed 4 4"

# --- below MIN: the job fails naming the nodes
LOSE="0:2 1:1" FAIL="" run_el --nodes 2:3 -- sh $T/rank.sh
ok_if "below MIN: fails (exit $rc)" [ $rc -ne 0 ]
ok_if "below MIN: one line naming the node lost" \
	grep -q '^muster: elastic job: lost node 1: 1 node left, fewer than --nodes 2:3$' $T/err
is "below MIN: 2 generations in run.json" "$(attempts)" \
	"0:3:3:node 2:nodes lost 1:2:2:node 1: "

# --- a rank fails: restarted on the same nodes while --max-restarts is left
LOSE="" FAIL="0:1" run_el --nodes 2:3 --max-restarts 1 -- sh $T/rank.sh
is "rank failure, --max-restarts 1: exit 0" $rc 0
is "... generation 1 on the same 3 nodes" \
	"$(envs 1 | cut -d' ' -f1,2,4 | tr '\n' ' ')" \
	"RANK=0 WORLD_SIZE=3 NODE_RANK=0 RANK=1 WORLD_SIZE=3 NODE_RANK=1 RANK=2 WORLD_SIZE=3 NODE_RANK=2 "
is "... run.json says why" "$(attempts)" "0:3:3::a rank failed 1:3:3:: "
LOSE="" FAIL="0:1" run_el --nodes 2:3 -- sh $T/rank.sh
is "rank failure without --max-restarts: its exit code, one generation" \
	"$rc $(ls $OUT | grep -c '^g1')" "3 0"

# --- hosts that do not come up: ssh fails, or not within --join-timeout
cat > $T/fakessh <<EOF
#!/bin/sh
# ssh HOST CMD, played here: deadhost refuses, slowhost never answers
for a; do
	case \$a in
	deadhost) echo "ssh: connect to host deadhost port 22: Connection refused" >&2
		exit 255 ;;
	slowhost) exec sleep 30 ;;
	esac
done
exit 99
EOF
LOSE="" FAIL="" run_el --nodes 1:2 -H localhost:1,deadhost:1 --ssh "sh $T/fakessh" -- sh $T/rank.sh
is "ssh to a host fails: goes on without it (exit $rc)" \
	"$rc $(envs 1 | cut -d' ' -f2)" "0 WORLD_SIZE=1"
ok_if "... says which" grep -q '^muster: lost deadhost: generation 1 goes on with 1 node$' $T/err
LOSE="" FAIL="" run_el --nodes 1:2 -H localhost:1,slowhost:1 --ssh "sh $T/fakessh" \
	--join-timeout 1 -- sh $T/rank.sh
is "a host not up within --join-timeout 1: goes on without it (exit $rc)" \
	"$rc $(envs 1 | cut -d' ' -f2)" "0 WORLD_SIZE=1"
ok_if "... named (took $ms ms)" grep -q '^muster: --join-timeout 1s: 1 of 2 nodes did not come up: slowhost$' $T/err
ok_if "... within 3.5 s (no grace period for a host not up)" [ $ms -lt 3500 ]
LOSE="" FAIL="" run_el --nodes 2:2 -H localhost:1,deadhost:1 --ssh "sh $T/fakessh" -- sh $T/rank.sh
ok_if "--nodes 2:2 and ssh to one fails: fails naming it (exit $rc)" sh -c "[ $rc -ne 0 ] &&
	grep -q '^muster: elastic job: lost deadhost: 1 node left, fewer than --nodes 2:2$' $T/err"

# --- --host-discovery: a host that appears joins at the next generation
# (127.0.0.1 is this machine too: a second node without ssh)
cat > $T/rank2.sh <<'EOF'
#!/bin/sh
mkdir -p $OUT
echo "RANK=$RANK WORLD_SIZE=$WORLD_SIZE NODE_RANK=$NODE_RANK HOST=$MUSTER_HOST GEN=$MUSTER_GENERATION" > $OUT/g$MUSTER_GENERATION.r$RANK
[ "$MUSTER_GENERATION" = 0 ] && exec sleep 20
exit 0
EOF
LOSE="" FAIL="" run_el --nodes 1:2 -H localhost:1 --discovery-interval 0.3 \
	--host-discovery "echo localhost:1; echo 127.0.0.1:2" -- sh $T/rank2.sh
is "discovered host joins: exit 0" $rc 0
is "... generation 1 on both, 3 ranks" "$(envs 1)" \
"RANK=0 WORLD_SIZE=3 NODE_RANK=0 HOST=localhost GEN=1
RANK=1 WORLD_SIZE=3 NODE_RANK=1 HOST=127.0.0.1 GEN=1
RANK=2 WORLD_SIZE=3 NODE_RANK=1 HOST=127.0.0.1 GEN=1"
ok_if "... said (took $ms ms)" grep -q '^muster: hosts joining (127.0.0.1): stopping generation 0 for the next$' $T/err
is "... run.json: joined, hosts" "$($PY -c 'import json
for a in json.load(open("'$T/run/run.json'"))["attempts"]:
    print(a.get("joined"), a["hosts"], a.get("next"))')" \
"['127.0.0.1'] ['localhost'] hosts joined
None ['localhost', '127.0.0.1'] None"
# a host the discovery no longer prints leaves at the next generation
# (Horovod's removed host); below MIN it stays, said once
cat > $T/rank3.sh <<'EOF'
#!/bin/sh
mkdir -p $OUT
echo "RANK=$RANK WORLD_SIZE=$WORLD_SIZE HOST=$MUSTER_HOST GEN=$MUSTER_GENERATION" > $OUT/g$MUSTER_GENERATION.r$RANK
if [ "$MUSTER_GENERATION" = 0 ]; then
	[ "$RANK" = 0 ] && { sleep 0.3; echo localhost:1 > $HOSTS.new; mv $HOSTS.new $HOSTS; }
	exec sleep $HOLD
fi
exit 0
EOF
export HOSTS=$T/disc-hosts
printf 'localhost:1\n127.0.0.1:1\n' > $HOSTS
HOLD=20 LOSE="" FAIL="" run_el -x HOSTS -x HOLD --nodes 1:2 --discovery-interval 0.2 \
	--host-discovery "cat $HOSTS" -- sh $T/rank3.sh
is "unlisted host leaves: exit 0" $rc 0
is "... generation 0 on both" "$(envs 0 | cut -d' ' -f1-3)" \
"RANK=0 WORLD_SIZE=2 HOST=localhost
RANK=1 WORLD_SIZE=2 HOST=127.0.0.1"
is "... generation 1 without it" "$(envs 1)" "RANK=0 WORLD_SIZE=1 HOST=localhost GEN=1"
ok_if "... said (took $ms ms)" grep -q "^muster: --host-discovery no longer lists 127.0.0.1: stopping generation 0 for the next without it$" $T/err
is "... run.json: left, next" "$($PY -c 'import json
for a in json.load(open("'$T/run/run.json'"))["attempts"]:
    print(a.get("left"), a["hosts"], a.get("next"))')" \
"['127.0.0.1'] ['localhost', '127.0.0.1'] hosts left
None ['localhost'] None"
printf 'localhost:1\n127.0.0.1:1\n' > $HOSTS
HOLD=2 LOSE="" FAIL="" run_el -x HOSTS -x HOLD --nodes 2:2 --discovery-interval 0.2 \
	--host-discovery "cat $HOSTS" -- sh $T/rank3.sh
is "unlisted host below MIN: kept, the job ends as it is" \
	"$rc $(echo $(ls $OUT)) $(grep -c 'no longer lists' $T/err)" "0 g0.r0 g0.r1 1"
ok_if "... said once" grep -q "^muster: --host-discovery no longer lists 127.0.0.1: kept, the job needs at least 2 nodes (--nodes 2:2)$" $T/err
# a failing command and junk: one line each, the job goes on as it is
for disc in "exit 3:exited with code 3" "sleep 10:did not end within 0.4 s" \
	"echo 'not a host line':line 1 'not a host line': expected host:slots"; do
	LOSE="" FAIL="" run_el --nodes 1:3 -H localhost:1,127.0.0.1:1 --discovery-interval 0.2 --host-discovery "${disc%%:*}" \
		-- sh -c 'sleep 1; echo $WORLD_SIZE'
	# (the job has room: it says where hosts join too, join.h)
	grep -v '^muster: hosts can join with: ' $T/err > $T/err2
	is "--host-discovery '${disc%%:*}': one line naming it, the job goes on" \
		"$rc $(sort $T/out | tr '\n' ' ')$(grep -c . $T/err2) $(cut -c1-200 $T/err2)" \
		"0 [0] 2 [1] 2 1 muster: --host-discovery '${disc%%:*}': ${disc#*:}: going on with the 2 nodes the job has"
done

# --- the C trainer: restarted from its checkpoint, the same final loss
final() { sed -n 's/^\(\[0\] \)\{0,1\}final loss //p' "$1"; }
same_loss() {
	awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d;
		m = a < 0 ? -a : a; exit !(a != "" && b != "" && d <= 1e-9 * m + 1e-15) }'
}
if [ -x "$TRAINER" ]; then
	$MUSTER --no-record --nodes 3 -- $TRAINER --steps 100 > $T/one 2>&1
	one=$(final $T/one)
	# node 2 loses its agent once the checkpoint of step 39 is written
	cat > $T/tr.sh <<'EOF'
#!/bin/sh
if [ "$MUSTER_GENERATION" = 0 ] && [ "$NODE_RANK" = 2 ]; then
	agent=$PPID
	( while ! grep -qx 'step 39' "$MUSTER_OUTPUT_DIR/trainer.ckpt" 2>/dev/null; do
		sleep 0.01; done; kill -9 $agent ) &
fi
exec "$@"
EOF
	mkdir -p $T/ck
	$MUSTER --no-record --nodes 2:3 --output-dir $T/ck -- sh $T/tr.sh \
		$TRAINER --steps 100 --checkpoint-every 20 --sleep-ms 10 > $T/out 2> $T/err
	rc=$?
	got=$(final $T/out)
	ok_if "trainer: node lost, resumed from its checkpoint on 2 ranks" sh -c "[ $rc = 0 ] &&
		grep -q '^\[0\] resuming at step 40 (generation 1, 2 ranks)$' $T/out"
	ok_if "trainer: final loss $got = $one, the uninterrupted run's" same_loss "$got" "$one"
	[ -n "$got" ] || sed 's/^/# /' $T/out $T/err | tail -20
	# survivors that ignore SIGTERM see the lost peer: MUSTER_EPEER
	sed 's/^if /trap "" TERM; if /' $T/tr.sh > $T/tr2.sh
	rm -rf $T/ck; mkdir -p $T/ck
	$MUSTER --no-record --nodes 2:3 --output-dir $T/ck -- sh $T/tr2.sh \
		$TRAINER --steps 100 --checkpoint-every 20 --sleep-ms 10 > $T/out 2> $T/err
	rc=$?
	# each survivor sees a peer fail (MUSTER_EPEER): rank 2's node, or the
	# other survivor that saw it first and ended
	n2=$(grep -c 'allreduce: peer failed: rank 2 (leader of node 2) closed its connection' $T/err)
	is "trainer: the ranks left see MUSTER_EPEER (rank 2 named), then resume" \
		"$rc $(grep -c '^\[[01]\] trainer: allreduce: peer failed: rank [0-2] (leader of node [0-2]) closed its connection' $T/err) $([ $n2 -ge 1 ] && echo named) $(final $T/out)" \
		"0 2 named $one"
	# the same on a musterd (--rdzv-endpoint, --rdzv-id): its job is
	# ended and created again for the next generation
	"$MUSTERD" --open --foreground --bind tcp://127.0.0.1:0 > $T/ep 2> /dev/null &
	dpid=$!
	for i in $(seq 50); do [ -s $T/ep ] && break; sleep 0.05; done
	rm -rf $T/ck; mkdir -p $T/ck
	$MUSTER --no-record --nodes 2:3 --rdzv-endpoint "$(sed 's|^tcp://||' $T/ep)" \
		--rdzv-id eljob --output-dir $T/ck -- sh $T/tr.sh \
		$TRAINER --steps 100 --checkpoint-every 20 --sleep-ms 10 > $T/out 2> $T/err
	is "trainer on musterd (--rdzv-endpoint): resumed, the same final loss" \
		"$? $(grep -c 'resuming at step 40 (generation 1, 2 ranks)' $T/out) $(final $T/out)" \
		"0 1 $one"
	kill $dpid; wait $dpid
else
	skip "trainer restarts from its checkpoint" "examples/trainer is not built"
fi

# --- test hosts: a host whose sshd and agent die is lost; a discovered
# host joins (the launcher runs inside h1)
hosts_up 3 "elastic jobs on test hosts"
rm -rf $OUT
$in_h1 $MUSTER --no-record -x OUT --nodes 2:3 -H h1,h2,h3 -- sh $T/rank2.sh > $T/out 2> $T/err &
mpid=$!
wait_files 3 "$OUT/g0.*"
# everything of h3 dies: its sshd, the ssh session, the agent, the rank
kill -KILL $(ip netns pids "mu$(cat $NS/tag)h3") 2>/dev/null
rm -f $NS/sshd.3.pid	# it is dead: netns.sh down has none to stop
wait $mpid
rc=$?
is "h3's sshd and agent killed: exit 0, generation 1 on h1 and h2" \
	"$rc $(envs 1 | tr '\n' ' ')" \
	"0 RANK=0 WORLD_SIZE=2 NODE_RANK=0 HOST=h1 GEN=1 RANK=1 WORLD_SIZE=2 NODE_RANK=1 HOST=h2 GEN=1 "
ok_if "... h3 named lost" grep -q '^muster: lost h3: generation 1 goes on with 2 nodes$' $T/err
[ $rc = 0 ] || sed 's/^/# /' $T/err | tail -5
rm -rf $OUT
$in_h1 $MUSTER --no-record -x OUT --nodes 1:2 -H h1 --discovery-interval 0.5 \
	--host-discovery "echo h1:1; echo h2:1" -- sh $T/rank2.sh > $T/out 2> $T/err
is "h2 from --host-discovery joins at generation 1 (exit $?)" "$(envs 1 | tr '\n' ' ')" \
	"RANK=0 WORLD_SIZE=2 NODE_RANK=0 HOST=h1 GEN=1 RANK=1 WORLD_SIZE=2 NODE_RANK=1 HOST=h2 GEN=1 "
# the trainer through it all: h1 alone, then h1 and h2 (libmuster over TCP,
# the rendezvous on h1 reached from h2), resumed from the checkpoint
if [ -x "$TRAINER" ]; then
	rm -rf $T/ck; mkdir -p $T/ck
	$in_h1 $MUSTER --no-record --nodes 1:2 -H h1 --discovery-interval 0.5 \
		--host-discovery "echo h2:1" -- $TRAINER --steps 100 --sleep-ms 20 \
		--checkpoint-every 2 \
		--checkpoint $T/ck/trainer.ckpt > $T/out 2> $T/err
	is "trainer: h2 joins, resumed on 2 ranks, the same final loss" \
		"$? $(grep -c '^\[0\] resuming at step [0-9]* (generation 1, 2 ranks)$' $T/out) $(final $T/out)" \
		"0 1 $one"
	[ -n "$(final $T/out)" ] || sed 's/^/# /' $T/out $T/err | tail -10
fi
done_testing
