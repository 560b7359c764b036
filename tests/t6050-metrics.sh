#!/bin/sh
# Metrics (launcher/metrics.h): ranks log on $MUSTER_METRICS (a FIFO of
# their agent's) with echo, with lib/python's muster and with libmuster's
# muster_log_metric; the head writes metrics.jsonl with rank, step and
# time while the job runs, counts bad lines, loses none of 10^6, and the
# FIFOs go when the agent does (killed too).  Progress bars ('\r' without
# a newline) reach muster's stdout at once.  Last, metrics from an ssh
# host (test hosts) reach the head.
. "$(dirname "$0")/lib.sh"
ML=$B/tests/metric_log
export TMPDIR=$T/tmp	# where agents make their FIFO directories
mkdir -p $TMPDIR
R=$T/run
ML_PY="$ROOT/lib/python"

# field F of metrics.jsonl lines (the head writes them in one shape)
jq_py() { $PY -c '
import json, sys
for l in open(sys.argv[1]):
        print(eval(sys.argv[2], {"json": json}, {"m": json.loads(l)}))' "$@"; }
# "R:N " for each rank R with N lines in $R/metrics.jsonl
lines_per_rank() {
	jq_py $R/metrics.jsonl 'm["rank"]' | sort | uniq -c |
		awk '{ printf "%s:%s ", $2, $1 }'
}

# --- echo from a shell, 2 virtual nodes x 2 ranks
rm -rf $R
$MUSTER --nodes 2 --procs-per-node 2 --run-dir $R -- sh -c '
	for i in 0 1 2; do echo "loss 0.$RANK" > $MUSTER_METRICS; done
	echo "{\"name\":\"acc\",\"value\":$RANK,\"step\":7}" > $MUSTER_METRICS
	echo "lr 1e-3 5" >> $MUSTER_METRICS' > $T/out 2> $T/err
is "shell ranks: exit 0, nothing said" "$?:$(cat $T/err)" "0:"
is "shell ranks: 20 lines in metrics.jsonl" "$(wc -l < $R/metrics.jsonl)" 20
is "shell ranks: each rank's loss steps 0 1 2, its value" \
	"$(jq_py $R/metrics.jsonl '"%d:%d:%s" % (m["rank"], m["step"], m["value"]) if m["name"] == "loss" else ""' | grep . | sort | tr '\n' ' ')" \
	"0:0:0 0:1:0 0:2:0 1:0:0.1 1:1:0.1 1:2:0.1 2:0:0.2 2:1:0.2 2:2:0.2 3:0:0.3 3:1:0.3 3:2:0.3 "
is "shell ranks: JSON and text lines with a step keep it" \
	"$(jq_py $R/metrics.jsonl '"%s:%d" % (m["name"], m["step"]) if m["name"] != "loss" else ""' | grep . | sort -u | tr '\n' ' ')" \
	"acc:7 lr:5 "
now=$(date +%s)
is "shell ranks: every line has a wall time t (within a minute)" \
	"$(jq_py $R/metrics.jsonl 'abs(m["t"] - '$now') < 60' | sort -u)" True
is "shell ranks: the summary" "$($PY -c '
import json; s = json.load(open("'$R'/run.json"))["metrics"]
l = s["summary"]["loss"]
print(s["lines"], s["bad"], l["count"], l["min"], l["max"])')" "20 0 12 0 0.3"
is "the FIFO directories are gone" "$(ls $TMPDIR)" ""

# --- Python's helper (found on PYTHONPATH) and libmuster, together
rm -rf $R
$MUSTER --nodes 2 --procs-per-node 2 --run-dir $R -- sh -c '
	if [ $((RANK % 2)) = 0 ]; then exec '$PY' -c "
import muster
from muster import run
assert muster.Run.get_context() is run
for i in range(3):
    run.log(\"loss\", 1.0 / (i + 1))
run.log(\"loss\", float(\"nan\"), step=9)
run.log_list(\"l\", [1.5, -2])
run.log_row(\"r\", **{\"a b\": 1.5, \"c\": -2})"
	else exec '$ML' log 3 0; fi' > $T/out 2> $T/err
is "python and C ranks: exit 0, nothing said" "$?:$(cat $T/err)" "0:"
for r in 0 1 2 3; do
	is "rank $r ($([ $((r % 2)) = 0 ] && echo python || echo C)): loss steps, list, row" \
		"$(jq_py $R/metrics.jsonl 'str(m.get("step")) + ":" + json.dumps(m.get("value", m.get("values", m.get("row")))) if m["rank"] == '$r' else ""' 2>&1 | grep . | tr '\n' ' ')" \
		"$([ $((r % 2)) = 0 ] && echo '0:1 1:0.5 2:0.3333333333333333 9:null None:[1.5, -2] None:{"a b": 1.5, "c": -2} ' ||
		   echo '0:1 1:0.5 2:0.3333333333333333 None:[1.5, -2] None:{"a b": 1.5, "c": -2} ')"
done
ok_if "nan recorded as null, \"nonfinite\":\"nan\"" grep -q '"step":9,"value":null,"nonfinite":"nan"}' $R/metrics.jsonl

# --- without a record: no MUSTER_METRICS, the helpers do nothing, quietly
$MUSTER -n 2 --no-record -- sh -c '
	[ -z "${MUSTER_METRICS+set}" ] || { echo "MUSTER_METRICS set"; exit 1; }
	'$PY' -c "from muster import run; run.log(\"x\", 1); run.log_row(\"r\", a=1)" &&
	'$ML' log 2 0' > $T/out 2>&1
is "--no-record: no MUSTER_METRICS, python and C calls do nothing, exit 0" \
	"$?:$(cat $T/out)" "0:"
is "a bad name is MUSTER_EINVAL, said" "$($ML bad)" \
	"invalid argument: muster_log: the name is not 1 to 255 bytes without blanks or control bytes"

# --- the helper's folder on PYTHONPATH: the build tree's, or an install's
$MUSTER -n 1 --no-record -- $PY -c 'import muster; print(muster.__file__)' \
	> $T/out 2>&1
is "build tree: ranks import lib/python's muster" "$(cat $T/out)" \
	"[0] $ROOT/lib/python/muster/__init__.py"
mkdir -p $T/inst/bin $T/inst/share/muster/python/muster
cp $MUSTER $T/inst/bin/
cp lib/python/muster/__init__.py $T/inst/share/muster/python/muster/
PYTHONPATH=/elsewhere $T/inst/bin/muster -n 1 --no-record -- sh -c \
	'echo $PYTHONPATH; '$PY' -c "import muster; print(muster.__file__)"' \
	> $T/out 2>&1
is "installed: PREFIX/share/muster/python, after the user's PYTHONPATH" \
	"$(cat $T/out | tr '\n' ' ')" \
	"[0] /elsewhere:$T/inst/share/muster/python [0] $T/inst/share/muster/python/muster/__init__.py "

# --- live: a line is in metrics.jsonl while its rank still runs
rm -rf $R
$MUSTER -n 1 --run-dir $R -- sh -c '
	echo "early 1" > $MUSTER_METRICS
	i=0; while [ ! -e '$T'/go ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
	echo "late 2" > $MUSTER_METRICS' > /dev/null 2>&1 &
job=$!
i=0
while [ "$(grep -c early $R/metrics.jsonl 2>/dev/null)" != 1 ] && [ $i -lt 200 ]; do
	sleep 0.05; i=$((i + 1))
done
is "live: the first metric is in metrics.jsonl while the rank waits" \
	"$(grep -c early $R/metrics.jsonl 2>/dev/null):$(grep -c late $R/metrics.jsonl 2>/dev/null)" "1:0"
touch $T/go
wait $job
is "live: then the rank's last one, at its end" "$(grep -c late $R/metrics.jsonl)" 1

# --- a bad line: counted and named, the job unaffected
rm -rf $R
$MUSTER -n 2 --run-dir $R -- sh -c '
	echo "ok 1" > $MUSTER_METRICS
	[ $RANK = 1 ] && echo "this is not a metric" > $MUSTER_METRICS
	echo "ok 2" > $MUSTER_METRICS' > $T/out 2> $T/err
is "a bad line: exit 0" $? 0
is "a bad line: one message naming rank 1 and the line" "$(cat $T/err)" \
	"muster: 1 metric line could not be read and was not recorded; the first, from rank 1: 'this is not a metric': expected NAME VALUE [STEP] or a JSON object (metrics.h)"
is "a bad line: counted, the good ones kept" "$($PY -c '
import json; s = json.load(open("'$R'/run.json"))["metrics"]
print(s["lines"], s["bad"])')" "4 1"
# a line over 65536 bytes: dropped by the agent, said once, the next kept
$MUSTER -n 1 --run-dir $R -- sh -c '
	'$PY' -c "print(\"x\" * 70000 + \" 1\")" > $MUSTER_METRICS
	echo "after 1" > $MUSTER_METRICS' > $T/out 2> $T/err
is "a line too long: dropped, said once" "$(cat $T/err)" \
	"muster: localhost: rank 0: 1 metric line longer than 65536 bytes dropped"
is "a line too long: the next one kept" "$(grep -c '"name":"after"' $R/metrics.jsonl)" 1

# --- 10^6 lines from 4 ranks (2 nodes x 2): none lost, each rank's in order
rm -rf $R
start=$(now_ms)
$MUSTER --nodes 2 --procs-per-node 2 --run-dir $R -- $ML seq 250000 > $T/out 2>&1
rc=$?
ms=$(($(now_ms) - start))
is "10^6 lines: exit 0 (${ms} ms)" "$rc:$(cat $T/out)" "0:"
is "10^6 lines: each rank's 250000 in order, step = value, none lost" \
	"$(awk -F'[:,}]' '{ r = $4; if ($8 != n[r] || $10 != n[r]) bad++; n[r]++ }
	END { print NR, n[0], n[1], n[2], n[3], bad + 0 }' $R/metrics.jsonl)" \
	"1000000 250000 250000 250000 250000 0"
ok_if "10^6 lines: within 60 s (${ms} ms)" [ $ms -lt 60000 ]

# --- the job stopped (--timeout, SIGTERM to muster): the FIFOs go too
$MUSTER --nodes 2 --procs-per-node 1 --timeout 1 --run-dir $R -- sleep 30 \
	> /dev/null 2>&1
is "--timeout: exit 124, the FIFO directories gone" "$?:$(ls $TMPDIR)" "124:"
rm -f $T/pid.*
$MUSTER --nodes 2 --procs-per-node 1 --run-dir $R -- sh -c \
	'echo $$ > '$T'/pid.$RANK; exec sleep 30' > /dev/null 2>&1 &
job=$!
wait_files 2 "$T/pid.*"
kill -TERM $job
wait $job
is "SIGTERM to muster: the FIFO directories gone" "$(ls $TMPDIR)" ""

# --- 4 threads of one rank at once: whole lines, each thread's in order
rm -rf $R
$MUSTER -n 1 --run-dir $R -- $ML threads 4 20000 > $T/out 2>&1
is "4 threads: exit 0" "$?:$(cat $T/out)" "0:"
is "4 threads: 80000 whole lines, each thread's steps = values, in order" \
	"$(awk -F'[:,}]' '{ k = $6; if ($8 != n[k] || $10 != n[k]) bad++; n[k]++ }
	END { print NR, n["\"t0\""], n["\"t3\""], bad + 0 }' $R/metrics.jsonl)" \
	"80000 20000 20000 0"

# --- an agent killed (SIGKILL): its warden removes the FIFOs
rm -f $T/agent
$MUSTER -n 1 --run-dir $R -- sh -c 'echo $PPID > '$T'/agent; exec sleep 30' \
	> /dev/null 2>&1 &
job=$!
wait_files 1 $T/agent
sleep 0.2
ok_if "the agent's FIFO directory is there while it runs" \
	sh -c "ls $TMPDIR/muster-metrics-*/rank.0 > /dev/null"
kill -KILL $(cat $T/agent)
wait $job
sleep 0.2
is "an agent killed: its FIFO directory is gone" "$(ls $TMPDIR)" ""

# --- a progress bar: each '\r' segment reaches muster's stdout at once
cat > $T/ts.py <<'PYEOF'
import os, subprocess, sys, time
t0 = time.time()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE)
out = b""
first = None
while True:
    b = os.read(p.stdout.fileno(), 65536)
    if not b:
        break
    out += b
    if first is None and b"2%" in out:
        first = time.time() - t0
total = time.time() - t0
p.wait()
print("%d %.2f %.2f %r" % (p.returncode, first or -1, total, out))
PYEOF
$PY $T/ts.py $MUSTER -n 1 --no-record --log-dir $T/logs -- sh -c '
	for i in 1 2 3 4 5 6 7 8; do printf "\r%d%%" $i; sleep 0.3; done; echo' > $T/bar
read -r rc first total out < $T/bar
is "a bar: exit 0" $rc 0
ok_if "a bar: '2%' on muster's stdout after ${first} s of ${total} s" \
	awk -v f=$first -v t=$total 'BEGIN { exit !(f > 0 && f < 1.2 && t > 2) }'
is "a bar: each segment tagged, redrawn in place" "$out" \
	"b'[0] \\r[0] 1%\\r[0] 2%\\r[0] 3%\\r[0] 4%\\r[0] 5%\\r[0] 6%\\r[0] 7%\\r[0] 8%\\n'"
is "a bar: the log holds the bytes as written" "$(od -An -c $T/logs/rank.0.stdout | tr -d '\n' | tr -s ' ')" \
	" \\r 1 % \\r 2 % \\r 3 % \\r 4 % \\r 5 % \\r 6 % \\r 7 % \\r 8 % \\n"

# --- through relays (--fanout 1, a chain of 3 nodes, an "ssh" that runs
# the command here): the relays pass m records on
printf '%s\n' '#!/bin/sh' 'while [ "$1" != "--" ]; do shift; done' 'shift 2' \
	'exec sh -c "$1"' > $T/fakessh
rm -rf $R
MUSTER_FORCE_SSH=1 $MUSTER --ssh "sh $T/fakessh" --fanout 1 --nodes 3 \
	--run-dir $R -- $ML log 2 0 > $T/out 2>&1
is "through 2 relays: exit 0" "$?:$(cat $T/out)" "0:"
is "through 2 relays: each node's rank logged its 4 lines" \
	"$(lines_per_rank)" "0:4 1:4 2:4 "

# --- --mpi: no head between; the wrappers here append to metrics.jsonl
if command -v mpirun > /dev/null; then
	rm -rf $R
	timeout -k 5 60 $MUSTER --mpi -n 2 --run-dir $R -- sh -c '
		[ -z "${MUSTER_METRICS_WHERE+set}" ] || echo "the wrapper'"'"'s variable leaked"
		echo "loss 0.$RANK" > $MUSTER_METRICS
		exec '$PY' -c "from muster import run; run.log(\"py\", 1, step=4)"' \
		> $T/out 2>&1
	is "--mpi: exit 0, nothing said" "$?:$(cat $T/out)" "0:"
	is "--mpi: each rank's lines in metrics.jsonl" \
		"$(jq_py $R/metrics.jsonl '"%d:%s:%d" % (m["rank"], m["name"], m["step"])' | sort | tr '\n' ' ')" \
		"0:loss:0 0:py:4 1:loss:0 1:py:4 "
	is "--mpi: the FIFO directories are gone" "$(ls $TMPDIR)" ""
else
	skip "--mpi metrics" "no mpirun"
fi

# two ranks' bars: each redraw tagged anew, never marked as a cut line
$MUSTER -n 2 --no-record -- sh -c '
	for i in 1 2 3 4; do printf "\r%d/4" $i; sleep 0.1; done; echo' > $T/out
is "two bars: 4 redraws each, no '[R]+ ' mark" \
	"$(tr '\r' '\n' < $T/out | grep -c '^\[[01]\] [1-4]/4$'):$(grep -c '\]+ ' $T/out)" \
	"8:0"

# --- ssh hosts: metrics from h2's agent reach the head on h1
hosts_up 2 "metrics over ssh"
rm -rf $R
$in_h1 $MUSTER --timeout 60 -H h1:1,h2:1 --run-dir $R -- $ML log 3 0 \
	> $T/out 2>&1
is "over ssh: exit 0" "$?:$(cat $T/out)" "0:"
is "over ssh: h2's rank 1 logged its 5 lines, as h1's rank 0" \
	"$(lines_per_rank)" "0:5 1:5 "
# under --mpi h2's wrapper sees the run directory on this kernel (the test
# hosts share it): it records its metrics too
if command -v mpirun > /dev/null; then
	rm -rf $R
	$in_h1 timeout -k 5 60 $MUSTER --mpi -H h1:1,h2:1 --run-dir $R -- \
		$ML log 3 0 > $T/out 2>&1
	is "--mpi over ssh: exit 0" "$?:$(cat $T/out)" "0:"
	is "--mpi over ssh: both ranks' lines" "$(lines_per_rank)" "0:5 1:5 "
fi
done_testing
