#!/bin/sh
# Parameter-server mode: TF_CONFIG valid by TensorFlow's rules.
. "$(dirname "$0")/lib.sh"

shape() {	# shape CHIEF WORKERS PS EVALUATOR [extra muster args]
	c=$1 w=$2 p=$3 e=$4; shift 4
	args="--workers $w --ps $p"
	[ $c = 1 ] && args="$args --chief"
	[ $e = 1 ] && args="$args --evaluator"
	$MUSTER $args "$@" -- $PY tests/py/envdump.py > $T/tf 2> $T/err
	rc=$?
	ok_if "TF_CONFIG chief=$c workers=$w ps=$p evaluator=$e $*" \
		sh -c "[ $rc = 0 ] && $PY tests/py/tfcheck.py $c $w $p $e < $T/tf"
}
shape 0 2 0 0
shape 0 3 1 0
shape 1 2 1 0
shape 1 2 2 1
shape 1 0 1 0
shape 0 1 0 1
shape 1 4 2 1 --nodes 3
shape 1 2 1 0 --procs-per-node 2

# roles: ROLE_NAME/ROLE_RANK follow the task, RANK stays global
$MUSTER --chief --workers 2 --ps 1 -- sh -c 'echo $RANK $ROLE_NAME $ROLE_RANK $ROLE_WORLD_SIZE' > $T/out
is "roles in torchrun's names" "$(sed 's/^\[.\] //' $T/out | sort | tr '\n' ';')" \
	"0 chief 0 1;1 worker 0 2;2 worker 1 2;3 ps 0 1;"

# tasks really own their ports: each task can listen on its own address
$MUSTER --chief --workers 2 --ps 2 -- $PY -c '
import json, os, socket
tf = json.loads(os.environ["TF_CONFIG"])
t = tf["task"]
host, port = tf["cluster"][t["type"]][t["index"]].rsplit(":", 1)
s = socket.socket(); s.bind((host, int(port))); s.listen()
print("bound", host, port)' > $T/out 2>&1
is "every task binds its TF_CONFIG address" "$(grep -c bound $T/out)" 5

# with other hosts, "localhost" is no address for them, nor is any
# loopback address: the route decides (see t2100 on real-looking hosts);
# the dry run, contacting nobody, says so where it cannot know yet
$MUSTER --dry-run -H localhost:1,otherhost:1 --ps 1 --workers 1 -- true |
	$PY -c 'import json, sys
for l in sys.stdin:
    e = json.loads(l)["env"]
    for a in [e["MASTER_ADDR"]] + json.loads(e["TF_CONFIG"])["cluster"]["worker"]:
        h = a.rsplit(":", 1)[0] if a != e["MASTER_ADDR"] else a
        print("bad" if h in ("localhost", "") or h.startswith("127.") else "ok")' \
	| sort -u > $T/out
is "localhost beside other hosts: MASTER_ADDR and TF_CONFIG never loopback" \
	"$(cat $T/out)" "ok"
done_testing
