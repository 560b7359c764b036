#!/bin/sh
# The launcher on one machine: environment, output, exit codes, plan.
. "$(dirname "$0")/lib.sh"

# env consistency: 1..8 ranks on one node, 2 and 3 virtual nodes
for n in 1 2 3 4 5 6 7 8; do
	$MUSTER -n $n -- $PY tests/py/envdump.py > $T/env.$n 2> $T/err.$n
	ok_if "env consistent for -n $n" $PY tests/py/envcheck.py $n 1 < $T/env.$n
done
for shape in "2 1" "2 2" "3 1" "3 2" "2 4"; do
	set -- $shape
	$MUSTER --nodes $1 --procs-per-node $2 -- $PY tests/py/envdump.py > $T/env 2>&1
	ok_if "env consistent for --nodes $1 --procs-per-node $2" \
		$PY tests/py/envcheck.py $(($1 * $2)) $1 < $T/env
done
$MUSTER -n 6 --nodes 3 -- $PY tests/py/envdump.py > $T/env 2>&1
ok_if "-n 6 --nodes 3 places 2 per node" $PY tests/py/envcheck.py 6 3 < $T/env

# two jobs get different MASTER_PORTs and job ids
$MUSTER -n 1 -- sh -c 'echo $MASTER_PORT $MUSTER_JOB_ID' > $T/a
$MUSTER -n 1 -- sh -c 'echo $MASTER_PORT $MUSTER_JOB_ID' > $T/b
ok_if "two jobs differ in MASTER_PORT and job id" sh -c \
	"[ \"\$(cut -d' ' -f2 $T/a)\" != \"\$(cut -d' ' -f2 $T/b)\" ] && \
	 [ \"\$(cut -d' ' -f3 $T/a)\" != \"\$(cut -d' ' -f3 $T/b)\" ]"

# output: tagged, line-atomic, stderr kept apart, partial last line flushed
$MUSTER -n 2 -- sh -c 'echo out $RANK; echo err $RANK >&2; printf partial' \
	> $T/out 2> $T/err
is "stdout tagged" "$(grep -c '^\[[01]\] out [01]$' $T/out)" 2
is "stderr tagged and apart" "$(grep -c '^\[[01]\] err [01]$' $T/err)" 2
is "partial last line flushed" "$(grep -c '^\[[01]\] partial$' $T/out)" 2
ok_if "no stderr in stdout" sh -c "! grep -q err $T/out"
# line atomic under load: 4 ranks x 2000 long lines, no line mixed
$MUSTER -n 4 -- $PY -c '
import os, sys
r = os.environ["RANK"]
for i in range(2000):
    sys.stdout.write(("r%s-%d " % (r, i)) + r * 300 + "\n")
' > $T/many
is "8000 lines arrive" "$(wc -l < $T/many)" 8000
is "every line whole and from its rank" \
	"$(grep -cE '^\[([0-3])\] r\1-[0-9]+ \1{300}$' $T/many)" 8000
# a reader that goes away ends the job (as SIGPIPE ends a pipeline)
( timeout 20 $MUSTER -n 2 -- yes; echo $? > $T/rc ) | head -1 > /dev/null
is "closed stdout stops the job: 141" "$(cat $T/rc)" 141
$MUSTER --no-tag -n 1 -- echo plain > $T/out
is "--no-tag prints raw lines" "$(cat $T/out)" "plain"

# exit codes
$MUSTER -n 3 -- sh -c 'exit 0'
is "all succeed: 0" $? 0
$MUSTER -n 3 -- sh -c '[ $RANK = 1 ] && exit 7; sleep 5' 2> $T/err
is "failed rank's code" $? 7
ok_if "message names rank 1 and code 7" grep -q 'rank 1 (host localhost, pid [0-9]*) exited with code 7' $T/err
$MUSTER -n 2 -- sh -c '[ $RANK = 0 ] && kill -SEGV $$; sleep 5' 2> $T/err
is "signal death: 128+11" $? 139
ok_if "message names SIGSEGV" grep -q 'rank 0 .* killed by SIGSEGV' $T/err
$MUSTER -n 2 -- sh -c '[ $RANK = 1 ] && kill -KILL $$; sleep 5' 2> $T/err
is "SIGKILL: 137" $? 137
ok_if "SIGKILL message hints at the OOM killer" grep -q 'OOM' $T/err
$MUSTER -n 2 -- no-such-program-xyz 2> $T/err
is "program not found: 127" $? 127
ok_if "not-found message names the program" grep -q "no-such-program-xyz" $T/err
$MUSTER -n 2 -- ./no/such/path 2> $T/err
is "path not found: 127" $? 127
printf '#!/bin/sh\n' > $T/noexec
$MUSTER -n 1 -- $T/noexec 2> $T/err
is "not executable: 126" $? 126

# --dry-run: one JSON object per rank per line, nothing started
$MUSTER --dry-run --nodes 2 --procs-per-node 2 -x MY_VAR=1 -- touch $T/started > $T/plan
is "dry-run exit 0" $? 0
ok_if "dry-run started nothing" test ! -e $T/started
ok_if "dry-run plan is valid" $PY -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["rank"] for r in rows] == [0, 1, 2, 3], rows
assert [r["node_rank"] for r in rows] == [0, 0, 1, 1]
assert [r["local_rank"] for r in rows] == [0, 1, 0, 1]
for r in rows:
    assert set(r) == {"rank", "local_rank", "node_rank", "host", "launcher", "net", "argv", "env", "place"}, r.keys()
    assert r["launcher"] == "local", r["launcher"]
    assert set(r["net"]) == {"addr", "iface", "ports"}, r["net"]
    assert r["argv"] == ["touch", sys.argv[2]]
    assert r["env"]["RANK"] == str(r["rank"]) and r["env"]["MY_VAR"] == "1"
    assert "MUSTER_JOB_SECRET" not in r["env"]
' $T/plan $T/started

# -x forwards and sets; user values win
FWD_VAR=forwarded $MUSTER -n 2 -x FWD_VAR -x MY_VAR=set -x RANK=99 -- \
	sh -c 'echo $FWD_VAR $MY_VAR $RANK' > $T/out
is "-x forwards and sets" "$(sort -u $T/out | sed 's/^\[.\] //' | sort -u)" "forwarded set 99"

# --log-dir: per-rank logs, untagged
$MUSTER -n 2 --log-dir $T/logs -- sh -c 'echo o$RANK; echo e$RANK >&2' > /dev/null 2>&1
is "rank 1 stdout log" "$(cat $T/logs/rank.1.stdout)" "o1"
is "rank 0 stderr log" "$(cat $T/logs/rank.0.stderr)" "e0"
$MUSTER -n 1 --output-dir $T/outs -- sh -c 'echo $MUSTER_OUTPUT_DIR' > $T/out
is "--output-dir sets MUSTER_OUTPUT_DIR and creates it" \
	"$(cat $T/out)$(test -d $T/outs && echo ' dir')" "[0] $T/outs dir"

# --config: a JSON job spec; the command line wins
cat > $T/job.json <<JSON
{ "nodes": 2, "procs_per_node": 2, "env": { "MY_VAR": "cfg" },
  "program": ["sh", "-c", "echo \$MY_VAR \$GROUP_WORLD_SIZE \$WORLD_SIZE"] }
JSON
$MUSTER --config $T/job.json > $T/out
is "config runs its program" "$(sed 's/^\[.\] //' $T/out | sort -u)" "cfg 2 4"
$MUSTER --config $T/job.json --procs-per-node 1 > $T/out
is "command line overrides config" "$(sed 's/^\[.\] //' $T/out | sort -u)" "cfg 2 2"

# --max-restarts: the whole job again, with the count in the environment
$MUSTER -n 2 --max-restarts 2 -- sh -c \
	'echo try $TORCHELASTIC_RESTART_COUNT; [ $TORCHELASTIC_RESTART_COUNT = 2 ] || exit 4' \
	> $T/out 2> $T/err
is "restarts until success" $? 0
is "three attempts" "$(sed 's/^\[.\] //' $T/out | sort -u | tr '\n' ' ')" "try 0 try 1 try 2 "
$MUSTER -n 1 --max-restarts 1 -- sh -c 'exit 4' > /dev/null 2>&1
is "restarts exhausted: the code" $? 4
# --timeout is the whole job's: restarts do not start it over (each
# attempt fails after 1 s; a limit per attempt would reach the fifth)
t0=$(now_ms)
$MUSTER -n 1 --max-restarts 5 --timeout 2.5 -- sh -c 'sleep 1; exit 4' \
	> /dev/null 2> $T/err
is "--timeout over restarts: exit 124" $? 124
t1=$(now_ms)
ok_if "--timeout over restarts: stopped within 4 s ($((t1 - t0)) ms)" \
	[ $((t1 - t0)) -lt $((4000 * SAN_X)) ]

# --rendezvous: a running musterd instead of the embedded server (the
# launcher creates its job there with musterd's admin secret)
od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > $T/admin
export MUSTER_ADMIN_SECRET_FILE=$T/admin
$MUSTERD --admin-secret-file $T/admin --bind tcp://127.0.0.1:0 --foreground > $T/md.out 2> $T/md.err &
mdpid=$!
i=0; while [ ! -s $T/md.out ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
ep=$(head -1 $T/md.out)
$MUSTER --rendezvous "$ep" --nodes 2 --procs-per-node 2 -- $B/examples/trainer > $T/out 2> $T/err
is "trainer through musterd: exit 0" $? 0
ok_if "trainer through musterd: reached its loss" grep -q '^\[0\] final loss' $T/out
$MUSTER --rendezvous "$ep" -n 1 -- sh -c 'echo $MUSTER_RENDEZVOUS' > $T/out
is "ranks get the musterd endpoint" "$(cat $T/out)" "[0] $ep"
kill $mdpid; wait $mdpid
unset MUSTER_ADMIN_SECRET_FILE
$MUSTER --rendezvous tcp://127.0.0.1:1 -n 1 -- touch $T/started 2> $T/err
is "unreachable musterd: exit 2" $? 2
ok_if "unreachable musterd: says so, starts nothing" sh -c \
	"grep -q 'rendezvous tcp://127.0.0.1:1' $T/err && [ ! -e $T/started ]"

$MUSTER --version > $T/out
ok_if "--version" grep -q '^muster [0-9]*\.[0-9]*\.[0-9]*$' $T/out
$MUSTER --help > $T/out
ok_if "--help on stdout, exit 0" grep -q '^usage: muster' $T/out
done_testing
