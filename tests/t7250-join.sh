#!/bin/sh
# Hosts that join an elastic job with `muster --join tcp://HOST:PORT`
# (launcher/join.h): the job says where and writes its secret file; a
# joiner with the right secret is a spare that the next generation takes
# in (its agent dials back, WORLD_SIZE recomputed, MUSTER_GENERATION 1),
# and it exits with the job's status; a wrong secret, another job, a
# name in use are refused on both sides and the job goes on; a joiner
# killed while waiting is dropped, one killed while its agent runs is a
# lost node.  First on this machine (SLURMD_NODENAME names the joiner, as
# lch_node_name reads it), then on test hosts (tests/netns.sh): the
# launcher in h1, `muster --join` in h2.
. "$(dirname "$0")/lib.sh"
TRAINER=$B/examples/trainer
export MUSTER_TIMEOUT=30
unset MUSTER_SECRET_FILE

# --- bad input: one line, exit 2
echo s3cret > $T/sec
: > $T/empty
bad "--join 'nohostport': expected tcp://HOST:PORT" --join nohostport
bad "--join 'http://a:1': expected tcp://HOST:PORT" --join http://a:1
bad "--join 'tcp://a:99999': expected tcp://HOST:PORT" --join tcp://a:99999
bad "--join: no secret file (give --secret-file F, or set MUSTER_SECRET_FILE)" \
	--join tcp://127.0.0.1:9
bad "--join: secret file '$T/none': No such file or directory" \
	--join tcp://127.0.0.1:9 --secret-file $T/none
MUSTER_SECRET_FILE=$T/none2 bad "--join: secret file '$T/none2': No such file" \
	--join tcp://127.0.0.1:9
bad "--join: secret file '$T/empty': empty" --join tcp://127.0.0.1:9 \
	--secret-file $T/empty
bad "--join: secret file '$T': Is a directory" --join tcp://127.0.0.1:9 \
	--secret-file $T
bad "--join: 'touch': a joining host runs no program of its own" \
	--join tcp://127.0.0.1:9 --secret-file $T/sec -- $P
bad "--join: -n is the job's to choose, not a joining host's" \
	--join tcp://127.0.0.1:9 --secret-file $T/sec -n 2
bad "--join: --nodes is the job's to choose" --join tcp://127.0.0.1:9 \
	--secret-file $T/sec --nodes 1:2
bad "--slots '0': expected a whole number from 1 to" --join tcp://127.0.0.1:9 \
	--secret-file $T/sec --slots 0
bad "--secret-file '': expected a file" --join tcp://127.0.0.1:9 --secret-file ''
# the launcher's side
bad "--slots 2: for a host that joins (muster --join)" --slots 2 -- $P
bad "--secret-file: only for an elastic job (--nodes MIN:MAX)" --secret-file $T/sec -- $P
bad "--secret-file: secret file '$T/empty': empty" --nodes 1:2 -H localhost \
	--secret-file $T/empty -- $P
# nothing listens there: one line, exit 1
$MUSTER --join tcp://127.0.0.1:9 --secret-file $T/sec > $T/out 2> $T/err
is "no head there: exit 1, one line" "$? $(grep -c . $T/err) $(cat $T/err)" \
	"1 1 muster: --join tcp://127.0.0.1:9: cannot connect to the job's head: Connection refused"
$MUSTER --help > $T/help
ok_if "--help lists --join and --secret-file" sh -c \
	"grep -q -- '--join tcp://HOST:PORT' $T/help && grep -q -- '--secret-file F' $T/help"

# rank.sh: each rank writes its environment to $OUT/gG.rR; generation 0
# waits to be stopped, the others end with $CODE (rank 1 only) or 0
cat > $T/rank.sh <<'EOF'
#!/bin/sh
mkdir -p $OUT
echo "RANK=$RANK WORLD_SIZE=$WORLD_SIZE NODE_RANK=$NODE_RANK HOST=$MUSTER_HOST GEN=$MUSTER_GENERATION" > $OUT/g$MUSTER_GENERATION.r$RANK
[ "$MUSTER_GENERATION" = 0 ] && exec sleep 20
[ "$RANK" = 1 ] && { sleep ${DELAY:-0}; exit ${CODE:-0}; }
exit 0
EOF
export OUT=$T/env CODE=0 DELAY=0
envs() {	# envs G: generation G's lines, by rank
	for f in $(ls $OUT/g$1.r* 2>/dev/null | sort -t r -k2 -n); do cat $f; done
}
# (the job's stderr is made anew by the background shell: removed first,
# so that the last job's is never read)
wait_url() {	# $url: where the job in $T/err says hosts join (10 s at most)
	url=""
	for i in $(seq 200); do
		url=$(sed -n 's/^muster: hosts can join with: muster --join \([^ ]*\) .*/\1/p' $T/err 2> /dev/null)
		[ -n "$url" ] && break
		sleep 0.05
	done
}
start_job() {	# start_job ARGS...: muster in the background, $url when up
	rm -rf $OUT $T/run $T/err
	$MUSTER --run-dir $T/run -x OUT -x CODE -x DELAY "$@" > $T/out 2> $T/err &
	mpid=$!
	wait_url
}
join() {	# join NAME ARGS...: muster --join $url as host NAME
	jname=$1; shift
	SLURMD_NODENAME=$jname $MUSTER --join "$url" "$@"
}
join_bg() {	# join_bg NAME ARGS...: the same in the background, its pid $jpid
	jname=$1; shift
	SLURMD_NODENAME=$jname exec $MUSTER --join "$url" "$@" > $T/jout 2> $T/jerr &
	jpid=$!
}

# --- a host joins: the next generation has it, the joiner exits 0
start_job --nodes 1:2 -H localhost:1 --discovery-interval 0.3 -- sh $T/rank.sh
ok_if "the job says where to join, with its secret file" sh -c "
	grep -q '^muster: hosts can join with: muster --join tcp://[0-9.]*:[0-9]* --secret-file $T/run/secret' $T/err"
is "... the secret file: the job's secret, 0600" \
	"$(stat -c %a $T/run/secret) $(wc -c < $T/run/secret)" "600 65"
join 127.0.0.1 --secret-file $T/run/secret --slots 2 > $T/jout 2> $T/jerr
jrc=$?
wait $mpid
rc=$?
is "joiner and job: exit 0" "$jrc $rc" "0 0"
is "generation 1 on both, 3 ranks (--slots 2)" "$(envs 1)" \
"RANK=0 WORLD_SIZE=3 NODE_RANK=0 HOST=localhost GEN=1
RANK=1 WORLD_SIZE=3 NODE_RANK=1 HOST=127.0.0.1 GEN=1
RANK=2 WORLD_SIZE=3 NODE_RANK=1 HOST=127.0.0.1 GEN=1"
ok_if "the joiner says it joined" grep -q "^muster: joined job [0-9a-f]* as host 127.0.0.1, waiting for the next generation$" $T/jerr
ok_if "the head says so, and stops generation 0 for it" sh -c "
	grep -q '^muster: host 127.0.0.1 joined (muster --join from 127.0.0.1:[0-9]*): a spare for the next generation$' $T/err &&
	grep -q '^muster: hosts joining (127.0.0.1): stopping generation 0 for the next$' $T/err"
is "run.json: join, and the attempts: joined, hosts" "$($PY -c 'import json, sys
j = json.load(open(sys.argv[1]))
print(j["join"] == sys.argv[2])
for a in j["attempts"]:
    print(a.get("generation"), a.get("joined"), a["hosts"], a["np"], a.get("next"))' $T/run/run.json "$url")" \
"True
0 ['127.0.0.1'] ['localhost'] 1 hosts joined
1 None ['localhost', '127.0.0.1'] 3 None"

# --- the joiner exits with the job's status; a second joiner when MAX is
# reached stays a spare and gets it too
CODE=3 DELAY=1 start_job --nodes 1:2 -H localhost:1 --discovery-interval 0.3 -- sh $T/rank.sh
join_bg 127.0.0.1 --secret-file $T/run/secret
wait_files 1 "$OUT/g1.r1"
join 127.0.0.2 --secret-file $T/run/secret > $T/jout2 2> $T/jerr2
j2rc=$?
wait $jpid
jrc=$?
wait $mpid
rc=$?
is "rank 1 exits 3 in generation 1: job, joiner and spare joiner exit 3, no generation 2" \
	"$rc $jrc $j2rc $(ls $OUT | grep -c '^g2')" "3 3 3 0"
ok_if "... the second joiner was a spare" grep -q '^muster: host 127.0.0.2 joined' $T/err

# --- refused: a wrong secret, another job, a name in use; the job goes on
start_job --nodes 1:2 -H localhost:1 --discovery-interval 0.3 -- sh -c 'sleep 1.5; echo $WORLD_SIZE'
echo wrong > $T/wrong
join 127.0.0.1 --secret-file $T/wrong > $T/jout 2> $T/jerr
jrc=$?
is "wrong secret: the joiner exits 1, one line naming it" "$jrc $(grep -c . $T/jerr) $(cat $T/jerr)" \
	"1 1 muster: --join $url: the job's head refused host 127.0.0.1: wrong secret (its MAC does not match the job's secret file)"
join 127.0.0.1 --secret-file $T/run/secret --job-id other > $T/jout 2> $T/jerr
ok_if "another job (--job-id): refused, exit $?" grep -q "^muster: --join $url: the job's head refused host 127.0.0.1: unknown job 'other' (this is job [0-9a-f]*)$" $T/jerr
join localhost --secret-file $T/run/secret > $T/jout 2> $T/jerr
ok_if "a host that is a node already: refused, exit $?" grep -q "refused host localhost: host localhost is a node of this job already$" $T/jerr
# not a joiner at all: a line that is no answer
$PY -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = s.makefile("rwb")
f.readline(); f.write(b"GET / HTTP/1.0\n"); f.flush()
sys.stdout.write(f.readline().decode())' "${url##*:}" > $T/py
ok_if "a malformed answer: told so" grep -q '^{"error":"a malformed answer' $T/py
wait $mpid
rc=$?
is "after 4 refusals the job goes on and ends on its one node (exit $rc)" \
	"$rc $(cat $T/out) $(grep -c ': refused$' $T/err) $(grep -c 'joined' $T/err)" "0 [0] 1 4 0"
ok_if "the head said the wrong secret in one line" grep -q \
	"^muster: --join from 127.0.0.1:[0-9]*: wrong secret (its MAC does not match the job's secret file): refused$" $T/err

# --- a joiner killed while it waits as a spare: dropped, the job ends well
start_job --nodes 1:2 -H localhost:1 --discovery-interval 30 -- sh -c 'sleep 2; echo $WORLD_SIZE'
join_bg 127.0.0.1 --secret-file $T/run/secret
for i in $(seq 100); do grep -q 'joined' $T/err && break; sleep 0.05; done
kill $jpid
wait $jpid
jrc=$?
wait $mpid
rc=$?
is "spare joiner killed: it exits 143, the job 0 on one node" "$jrc $rc $(cat $T/out)" "143 0 [0] 1"
[ "$jrc" = 143 ] || sed 's/^/# /' $T/err $T/jerr | tail -6
ok_if "... the head says it is no spare now" grep -q '^muster: host 127.0.0.1 left (its muster --join ended): no longer a spare$' $T/err

# --- the head killed: its joiner says so and exits 1
start_job --nodes 1:2 -H localhost:1 --discovery-interval 30 -- sleep 20
join_bg 127.0.0.1 --secret-file $T/run/secret
for i in $(seq 100); do grep -q 'joined' $T/err && break; sleep 0.05; done
kill -KILL $mpid
wait $mpid 2> /dev/null
wait $jpid
jrc=$?
is "head SIGKILLed: the joiner exits 1 saying so" "$jrc $(tail -1 $T/jerr)" \
	"1 muster: --join $url: the job's head closed the connection before the job's end"

# --- a joiner killed while its agent runs: a lost node, the job goes on
cat > $T/rank3.sh <<'EOF'
#!/bin/sh
mkdir -p $OUT
echo "RANK=$RANK WORLD_SIZE=$WORLD_SIZE HOST=$MUSTER_HOST GEN=$MUSTER_GENERATION" > $OUT/g$MUSTER_GENERATION.r$RANK
[ "$MUSTER_GENERATION" = 2 ] && exit 0
exec sleep 20
EOF
start_job --nodes 1:2 -H localhost:1 --discovery-interval 0.3 -- sh $T/rank3.sh
join_bg 127.0.0.1 -v --secret-file $T/run/secret
wait_files 1 "$OUT/g1.r1"
kill $jpid
wait $jpid
jrc=$?
wait $mpid
rc=$?
is "running joiner killed: it exits 143, the job 0 on generation 2" \
	"$jrc $rc $(envs 2 | tr '\n' ' ')" "143 0 RANK=0 WORLD_SIZE=1 HOST=localhost GEN=2 "
ok_if "... named lost" sh -c "grep -q '^muster: host 127.0.0.1 left the job (its muster --join ended)$' $T/err &&
	grep -q '^muster: lost 127.0.0.1: generation 2 goes on with 1 node$' $T/err"
sed -n 's/^muster: generation 1: agent \([0-9]*\) dials .*/\1/p' $T/jerr > $T/agent.pid
ok_if "... its agent ended with it" none_alive $T/agent.pid

# --- no run record, no --secret-file: no join port; --secret-file F:
# created when missing, read when there
$MUSTER --no-record -v --nodes 1:2 -H localhost:1 -- true > $T/out 2> $T/err
ok_if "--no-record: no join port (-v says why)" sh -c "
	grep -q '^muster: no run record and no --secret-file: hosts cannot join with muster --join$' $T/err &&
	! grep -q 'hosts can join' $T/err"
$MUSTER --no-record --secret-file $T/mine --nodes 1:2 -H localhost:1 -- true > $T/out 2> $T/err
is "--secret-file F missing: created 0600" "$(stat -c %a $T/mine) $(grep -c "secret-file $T/mine" $T/err)" "600 1"
rm -rf $OUT $T/err
$MUSTER --no-record --secret-file $T/sec -x OUT --nodes 1:2 -H localhost:1 \
	--discovery-interval 0.3 -- sh $T/rank.sh > $T/out 2> $T/err &
mpid=$!
wait_url
MUSTER_SECRET_FILE=$T/sec join 127.0.0.1 > $T/jout 2> $T/jerr
jrc=$?
wait $mpid
is "--secret-file F there: its secret (MUSTER_SECRET_FILE on the joiner)" \
	"$jrc $? $(envs 1 | cut -d' ' -f2 | sort -u)" "0 0 WORLD_SIZE=2"

# --- test hosts: the launcher in h1, muster --join in h2
hosts_up 2 "hosts that join on test hosts"
rm -rf $OUT $T/run $T/err
$in_h1 $MUSTER --run-dir $T/run -x OUT --nodes 1:2 -H h1 --discovery-interval 0.5 \
	-- sh $T/rank.sh > $T/out 2> $T/err &
mpid=$!
wait_url
is "h1 says where to join: its address on the cluster network" "$url" \
	"tcp://10.200.0.1:${url##*:}"
echo wrong > $T/wrong
sh $ROOT/tests/netns.sh exec $NS 2 $MUSTER --join "$url" --secret-file $T/wrong > $T/jout 2> $T/jerr
jrc=$?
ok_if "h2 with a wrong secret: refused on both sides (exit $jrc)" sh -c "[ $jrc = 1 ] &&
	grep -q 'refused host h2: wrong secret' $T/jerr &&
	grep -q '^muster: --join from 10.200.0.2:[0-9]*: wrong secret (its MAC does not match the job.s secret file): refused$' $T/err"
sh $ROOT/tests/netns.sh exec $NS 2 $MUSTER --join "$url" --secret-file $T/run/secret > $T/jout 2> $T/jerr
jrc=$?
wait $mpid
rc=$?
is "h2 joins at generation 1: WORLD_SIZE 2 (exit $rc, joiner $jrc)" \
	"$rc $jrc $(envs 1 | tr '\n' ' ')" \
	"0 0 RANK=0 WORLD_SIZE=2 NODE_RANK=0 HOST=h1 GEN=1 RANK=1 WORLD_SIZE=2 NODE_RANK=1 HOST=h2 GEN=1 "
[ $rc = 0 ] || sed 's/^/# /' $T/err $T/jerr | tail -8
# the trainer: h1 alone, then h1 and h2 (libmuster over TCP, the
# rendezvous on h1 reached from h2), resumed from its checkpoint
final() { sed -n 's/^\(\[0\] \)\{0,1\}final loss //p' "$1"; }
if [ -x "$TRAINER" ]; then
	$MUSTER --no-record --nodes 2 -- $TRAINER --steps 60 > $T/one 2>&1
	one=$(final $T/one)
	rm -rf $T/ck $T/run $T/err; mkdir -p $T/ck
	$in_h1 $MUSTER --run-dir $T/run --nodes 1:2 -H h1 --discovery-interval 0.5 \
		-- $TRAINER --steps 60 --sleep-ms 20 --checkpoint-every 2 \
		--checkpoint $T/ck/trainer.ckpt > $T/out 2> $T/err &
	mpid=$!
	wait_url
	sh $ROOT/tests/netns.sh exec $NS 2 $MUSTER --join "$url" --secret-file $T/run/secret > $T/jout 2> $T/jerr
	jrc=$?
	wait $mpid
	is "trainer: h2 joins, resumed on 2 ranks, the same final loss as 2 ranks" \
		"$? $jrc $(grep -c '^\[0\] resuming at step [0-9]* (generation 1, 2 ranks)$' $T/out) $(final $T/out)" \
		"0 0 1 $one"
	[ -n "$(final $T/out)" ] || sed 's/^/# /' $T/out $T/err | tail -10
else
	skip "trainer with a host that joins" "examples/trainer is not built"
fi
done_testing
