#!/bin/sh
# Run records (runrec.h): the head's run directory.  run.json with every
# field a reader needs and the right status (Completed, Failed naming the
# rank that failed first with the line muster printed, TimedOut,
# Canceled, Running left by a SIGKILLed launcher whose .lock is free),
# every rank's logs byte for byte, the default ./muster-runs/JOBID (.1
# when taken), --no-record, a run directory that cannot be made (one
# warning, the job runs), restarts, --mpi, the progress line on a
# terminal only, and the logs of remote ranks over ssh.
. "$(dirname "$0")/lib.sh"

# jget FILE EXPR [ARG...]: EXPR (Python: j the parsed run.json, the ARGs
# from sys.argv[3]) printed
jget() {
	$PY -c 'import json, sys
j = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$@" 2>&1
}
# wait_status DIR STATUS: up to 10 s for DIR/run.json to say STATUS
wait_status() {
	i=0
	while ! grep -q "\"status\":[[:space:]]*\"$2\"" "$1/run.json" \
	    2>/dev/null && [ $i -lt 200 ]; do
		sleep 0.05; i=$((i + 1))
	done
}
STATE=$B/tests/runrec_state	# what a reader shows (tests/tools)

# --- a 2-node job: run.json complete, each rank's logs exact
prog='echo "out $RANK"; echo "err $RANK" >&2; printf "a\rb\n"
case $RANK in
1) printf "tail without newline" ;;
3) head -c 1200000 /dev/zero | tr "\0" y; echo ;;
esac'
$MUSTER --nodes 2 --procs-per-node 2 --run-dir $T/r1 -- sh -c "$prog" \
	> $T/out1 2> $T/err1
is "2 nodes: exit 0, nothing said" "$? $(cat $T/err1 | grep -v '^\[' )" "0 "
bad_logs=""
for r in 0 1 2 3; do
	RANK=$r sh -c "$prog" > $T/want.out 2> $T/want.err
	cmp -s $T/want.out $T/r1/logs/rank.$r.stdout || bad_logs="$bad_logs $r.stdout"
	cmp -s $T/want.err $T/r1/logs/rank.$r.stderr || bad_logs="$bad_logs $r.stderr"
done
is "2 nodes: every rank's stdout and stderr in logs/, byte for byte (a CR, \
a last line without newline, a 1.2 MB line)" "$bad_logs" ""
ok_if "2 nodes: the partial last line shows whole on muster's stdout" \
	grep -qx '\[1\] tail without newline' $T/out1
is "2 nodes: run.json's run" "$(jget $T/r1/run.json '(j["version"],
	j["status"], j["exit_code"], j["command"][:2], j["np"], j["nnodes"],
	j["cwd"] == __import__("os").getcwd(), len(j["id"]) > 0,
	j["start"] <= j["running"] <= j["end"], j["duration"] >= 0,
	"first_failure" in j, len(j["attempts"]), j["attempts"][0]["exit_code"])')" \
	"(1, 'Completed', 0, ['sh', '-c'], 4, 2, True, True, True, True, False, 1, 0)"
is "2 nodes: launcher and options" "$(jget $T/r1/run.json '(
	j["launcher"]["kind"], type(j["launcher"]["pid"]).__name__,
	j["launcher"]["host"] == __import__("socket").gethostname(),
	j["launcher"]["version"] == sys.argv[3], j["options"]["np"],
	j["options"]["nodes"], j["options"]["procs_per_node"],
	j["options"]["mode"], j["options"]["run_dir"])' \
	"$($MUSTER --version | cut -d' ' -f2)")" \
	"('local', 'int', True, True, 4, 2, 2, 'plain', '$T/r1')"
is "2 nodes: hosts" "$(jget $T/r1/run.json '[(h["node"], h["host"],
	h["addr"], h["ranks"]) for h in j["hosts"]]')" \
	"[(0, 'localhost', '127.0.0.1', [0, 1]), (1, 'localhost', '127.0.0.1', [2, 3])]"
is "2 nodes: ranks" "$(jget $T/r1/run.json '[(r["rank"], r["node"],
	r["host"], r["pid"] > 1, r["start"] <= r["end"], r["exit_code"],
	r["status"], "signal" in r) for r in j["ranks"]]')" \
	"[(0, 0, 'localhost', True, True, 0, 'Completed', False), \
(1, 0, 'localhost', True, True, 0, 'Completed', False), \
(2, 1, 'localhost', True, True, 0, 'Completed', False), \
(3, 1, 'localhost', True, True, 0, 'Completed', False)]"
ok_if "2 nodes: outputs/ made, no temporary run.json left, .lock free" \
	sh -c "[ -d $T/r1/outputs ] && [ ! -e $T/r1/.run.json.tmp ] &&
	flock -n $T/r1/.lock true"
is "2 nodes: a reader sees Completed, no launcher" "$($STATE $T/r1)" \
	"Completed 0"

# --- Failed: rank 2 fails first; first_failure is the line muster printed
$MUSTER -n 4 --run-dir $T/r2 -- sh -c 'if [ $RANK = 2 ]; then sleep 0.3
	exit 3; fi; exec sleep 30' 2> $T/err2
rc=$?
said=$(grep '^muster: rank 2 ' $T/err2 | sed 's/^muster: //')
# the reason line, then its victims (head.h): ranks 0,1,3 got SIGTERM
is "Failed: exit 3, the reason line and its victims'" \
	"$rc $(grep -c '^muster: ' $T/err2) $(grep -c '^muster: ranks 0-1,3 ended after rank 2 failed: likely its victims' $T/err2)" \
	"3 2 1"
is "Failed: status, first_failure = rank 2 and the line muster printed" \
	"$(jget $T/r2/run.json '(j["status"], j["exit_code"],
	j["first_failure"]["rank"], j["first_failure"]["exit_code"],
	j["first_failure"]["pid"] == j["ranks"][2]["pid"],
	j["first_failure"]["reason"], j["attempts"][0]["reason"] ==
	j["first_failure"]["reason"])')" \
	"('Failed', 3, 2, 3, True, '$said', True)"
is "Failed: rank 2 Failed, the others Killed by SIGTERM" \
	"$(jget $T/r2/run.json '[(r["status"], r.get("signal")) for r in j["ranks"]]')" \
	"[('Killed', 'SIGTERM'), ('Killed', 'SIGTERM'), ('Failed', None), ('Killed', 'SIGTERM')]"

# --- TimedOut
$MUSTER -n 2 --timeout 0.5 --run-dir $T/r3 -- sleep 30 2> $T/err3
rc=$?
said=$(sed -n 's/^muster: \(time limit.*\)/\1/p' $T/err3)
is "TimedOut: exit 124, status, the limit's line as the attempt's reason" \
	"$rc $(jget $T/r3/run.json '(j["status"], j["exit_code"],
	j["attempts"][0]["reason"], [r["status"] for r in j["ranks"]])')" \
	"124 ('TimedOut', 124, '$said', ['Killed', 'Killed'])"

# --- Canceled: SIGINT to muster once the run is Running
$MUSTER -n 2 --run-dir $T/r4 -- sh -c 'exec sleep 30' 2> $T/err4 &
mpid=$!
wait_status $T/r4 Running
ok_if "Running: run.json says so while the ranks run, .lock held" \
	sh -c "grep -q '\"status\":.*\"Running\"' $T/r4/run.json &&
	! flock -n $T/r4/.lock true"
is "Running: a reader sees it running, the launcher live" "$($STATE $T/r4)" \
	"Running 1"
kill -INT $mpid
wait $mpid
rc=$?
is "Canceled: status and exit code" "$(jget $T/r4/run.json '(j["status"],
	j["exit_code"])')" "('Canceled', $rc)"

# --- SIGKILL of the launcher: run.json still whole, Running; .lock free
rm -f $T/pid.*
$MUSTER -n 2 --run-dir $T/r5 -- sh -c 'echo $$ > '$T'/pid.$RANK
	exec sleep 30' 2> /dev/null &
mpid=$!
wait_status $T/r5 Running
kill -KILL $mpid
wait $mpid 2> /dev/null
wait_gone $T/pid.*
is "SIGKILLed launcher: run.json parses, status Running" \
	"$(jget $T/r5/run.json 'j["status"]')" "Running"
ok_if "SIGKILLed launcher: nobody holds .lock" flock -n $T/r5/.lock true
is "SIGKILLed launcher: a reader sees Interrupted" "$($STATE $T/r5)" \
	"Interrupted 0"
ok_if "SIGKILLed launcher: its ranks are gone" none_alive $T/pid.0 $T/pid.1
# what muster show and muster runs say of these real runs
show_status() { $MUSTER show "$1" --json | $PY -c 'import json, sys
j = json.load(sys.stdin); print(j["status"], j["interrupted"])'; }
is "muster show: Completed, Failed, TimedOut, Canceled, Interrupted" \
	"$(for r in r1 r2 r3 r4 r5; do show_status $T/$r; done | tr '\n' ' ')" \
	"Completed False Failed False TimedOut False Canceled False Running True "
mkdir $T/all && for r in r1 r2 r3 r4 r5; do ln -s $T/$r $T/all/$r; done
is "muster runs --json: the five, Running marked interrupted" \
	"$($MUSTER runs --runs-dir $T/all --json | $PY -c 'import json, sys
import os
print(" ".join(sorted("%s:%s" % (os.path.basename(e["dir"]),
	"Interrupted" if e["interrupted"] else e["status"])
	for e in json.load(sys.stdin))))' 2>&1)" \
	"r1:Completed r2:Failed r3:TimedOut r4:Canceled r5:Interrupted"

# --- a run directory that cannot be made: one warning, the job runs
: > $T/file
$MUSTER -n 2 --run-dir $T/file/run -- sh -c 'echo ran' > $T/out6 2> $T/err6
is "--run-dir under a file: exit 0, the job ran, one warning" \
	"$? $(wc -l < $T/out6) $(cat $T/err6)" "0 2 muster: cannot keep the run \
record in '$T/file/run': Not a directory (the job runs without one)"
mkdir $T/ro
if unshare -m sh -c "mount -t tmpfs -o ro tmpfs $T/ro" 2> /dev/null; then
	unshare -m sh -c "mount -t tmpfs -o ro tmpfs $T/ro && exec $MUSTER \
		-n 1 --run-dir $T/ro/run -- true" > /dev/null 2> $T/err6
	is "--run-dir on a read-only file system: exit 0, one warning" \
		"$? $(cat $T/err6)" "0 muster: cannot keep the run record in \
'$T/ro/run': Read-only file system (the job runs without one)"
else
	skip "--run-dir on a read-only file system" "no mount namespace here"
fi

# --- logs that cannot be kept open, or opened: the job goes on
mkdir -p $T/r15/logs
ln -s $T/target $T/r15/logs/rank.0.stdout
$MUSTER -n 2 --run-dir $T/r15 -- sh -c 'echo x$RANK' > $T/out15 2> $T/err15
is "a log that is a symbolic link: not followed, one warning, exit 0" \
	"$? $(wc -l < $T/out15) $([ -e $T/target ] || echo no-target) \
$(cat $T/r15/logs/rank.1.stdout) $(cat $T/err15)" "0 2 no-target x1 muster: \
cannot open '$T/r15/logs/rank.0.stdout': Too many levels of symbolic links \
(the run record's logs are incomplete)"
sh -c "ulimit -n 256 && exec $MUSTER --nodes 8 --procs-per-node 8 \
	--run-dir $T/r16 -- sh -c 'echo o\$RANK; echo e\$RANK >&2; sleep 0.2
	echo p\$RANK'" > /dev/null 2> $T/err16
rc=$?
bad=""
for r in $(seq 0 63); do
	[ "$(cat $T/r16/logs/rank.$r.stdout $T/r16/logs/rank.$r.stderr |
	    tr '\n' ' ')" = "o$r p$r e$r " ] || bad="$bad $r"
done
is "64 ranks, 256 descriptors: exit 0, one warning, 128 logs whole" \
	"$rc $(grep -v '^\[' $T/err16) $bad" "0 muster: too few file descriptors \
to keep the run record's 128 logs open in '$T/r16/logs': opening them for \
each write "

# --- the default ./muster-runs/JOBID, .1 when it holds a run; --no-record
# (lib.sh points MUSTER_RUNS_DIR into $T: these look at the default)
$MUSTER -n 1 --job-id envdir -- true
ok_if "MUSTER_RUNS_DIR: the default record goes under it" \
	[ -s $MUSTER_RUNS_DIR/envdir/run.json ]
runs_dir=$MUSTER_RUNS_DIR
unset MUSTER_RUNS_DIR
mkdir $T/cwd
(cd $T/cwd && $MUSTER --no-tag -n 1 -- sh -c 'echo $MUSTER_JOB_ID' > $T/id7)
id=$(cat $T/id7)
is "default: ./muster-runs/JOBID, the job's id" \
	"$(cd $T/cwd && ls muster-runs) $(jget $T/cwd/muster-runs/$id/run.json \
	'j["id"]')" "$id $id"
(cd $T/cwd && $MUSTER -n 1 --job-id same -- true &&
	$MUSTER -n 1 --job-id same -- true && $MUSTER -n 1 --job-id same -- true)
is "default: a JOBID run again gets .1, .2" \
	"$(cd $T/cwd/muster-runs && ls -d same* | tr '\n' ' ')" "same same.1 same.2 "
mkdir $T/cwd2
(cd $T/cwd2 && $MUSTER -n 1 --no-record -- true &&
	$MUSTER -n 1 --dry-run -- true > /dev/null &&
	printf '{"no_record": true}\n' > c.json &&
	$MUSTER --config c.json -n 1 -- true)
ok_if "--no-record, --dry-run, config no_record: no muster-runs" \
	[ ! -e $T/cwd2/muster-runs ]
export MUSTER_RUNS_DIR=$runs_dir
printf '{"np": 2, "run_dir": "%s", "program": ["true"]}\n' $T/r7 > $T/c7.json
$MUSTER --config $T/c7.json
is "--config: its path and its JSON as given in run.json (run_dir from it)" \
	"$(jget $T/r7/run.json '(j["config"] == sys.argv[3], j["spec"], j["np"])' \
	$T/c7.json)" "(True, {'np': 2, 'run_dir': '$T/r7', 'program': ['true']}, 2)"

# --- --max-restarts 1, the first attempt failing: two attempts
$MUSTER -n 2 --max-restarts 1 --run-dir $T/r8 -- sh -c '[ $RANK = 0 ] &&
	[ ! -e '$T'/once ] && { : > '$T'/once; exit 5; }; exit 0' 2> $T/err8
rc=$?
said=$(sed -n 's/^muster: \(rank 0 .*\)/\1/p' $T/err8)
is "--max-restarts 1: two attempts, the first's reason, Completed" \
	"$rc $(jget $T/r8/run.json '(j["status"], [(a["attempt"], a["exit_code"],
	a.get("reason")) for a in j["attempts"]], "first_failure" in j,
	[r["status"] for r in j["ranks"]])')" \
	"0 ('Completed', [(0, 5, '$said'), (1, 0, None)], False, ['Completed', 'Completed'])"

# --- --mpi: status and exit code (mpirun keeps the ranks); the logs of
# the ranks on this machine
if command -v mpirun > /dev/null; then
	$MUSTER --mpi -n 2 --run-dir $T/r9 -- sh -c 'echo "out $RANK"
		echo "err $RANK" >&2' > /dev/null 2>&1
	rc=$?
	$MUSTER --mpi -n 2 --run-dir $T/r10 -- sh -c 'exit 4' > /dev/null 2>&1
	rc2=$?
	is "--mpi: Completed and Failed, with exit codes" \
		"$rc $(jget $T/r9/run.json '(j["status"], j["exit_code"],
		j["launcher"]["kind"], "ranks" in j)') $rc2 $(jget $T/r10/run.json \
		'(j["status"], j["exit_code"])')" \
		"0 ('Completed', 0, 'mpi', False) 4 ('Failed', 4)"
	is "--mpi: the wrappers here keep each rank's logs in the record" \
		"$(cat $T/r9/logs/rank.0.stdout $T/r9/logs/rank.1.stdout \
		$T/r9/logs/rank.1.stderr 2>&1 | tr '\n' ' ')" "out 0 out 1 err 1 "
else
	skip "--mpi record" "no mpirun"
fi

# --- the progress line: on a terminal, in place; never on a pipe, or -q
cat > $T/ptyrun.py <<'EOF'
import os, pty, select, sys
# runs argv on a new terminal (stdin, stdout, stderr), prints what it wrote
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b""
while True:
    try:
        r, _, _ = select.select([fd], [], [], 30)
        d = os.read(fd, 65536) if r else b""
    except OSError:
        d = b""
    if not d:
        break
    out += d
os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", "replace"))
EOF
job='echo a$RANK; sleep 1.2; echo b$RANK'
$PY $T/ptyrun.py $MUSTER -n 2 --run-dir $T/r11 -- sh -c "$job" > $T/tty
esc=$(printf '\033')
cr=$(printf '\r')
ok_if "progress: drawn in place on a terminal" grep -q \
	"${cr}muster: nodes 1/1 up, ranks 2/2 running, 0:01 elapsed${esc}\[K" $T/tty
$PY $T/ptyrun.py $MUSTER -n 2 --run-dir $T/r11m -- sh -c \
	'echo "loss 0.25 7" > $MUSTER_METRICS; sleep 1.2' > $T/ttym
ok_if "progress: the last metric logged, with its step" grep -q \
	"${cr}muster: nodes 1/1 up, ranks 2/2 running, 0:01 elapsed, loss 0.25 @ step 7${esc}\[K" $T/ttym
ok_if "progress: erased after its last drawing" $PY -c 'import sys
t = open(sys.argv[1], encoding="utf-8", newline="").read()
sys.exit(t.find("\r\033[K", t.rindex("\rmuster: nodes")) < 0)' $T/tty
is "progress: the ranks' lines whole once it is taken out" \
	"$(sed "s/${cr}muster: nodes[^$esc]*${esc}\[K//g; s/${cr}${esc}\[K//g" \
	$T/tty | tr -d "$cr" | sort | tr '\n' ' ')" "[0] a0 [0] b0 [1] a1 [1] b1 "
$PY $T/ptyrun.py $MUSTER -q -n 2 --run-dir $T/r12 -- sh -c "$job" > $T/tty
ok_if "progress: none with --quiet" sh -c "! grep -q 'nodes' $T/tty"
$PY $T/ptyrun.py sh -c "exec $MUSTER -n 2 --run-dir $T/r13 -- sh -c '$job' \
	2> $T/err13" > $T/tty
ok_if "progress: none when stderr is not a terminal" \
	sh -c "! grep -q nodes $T/tty $T/err13"

# --- over ssh (2 namespaced hosts): the remote ranks' logs come home
hosts_up 2 "run records over ssh"
$in_h1 $MUSTER --timeout 60 -H h1:1,h2:2 --run-dir $T/r14 -- sh -c \
	'echo "rank $RANK on $(hostname)"; echo "e$RANK" >&2' > /dev/null 2> $T/err14
is "ssh: exit 0, the ranks' stderr" "$? $(sort $T/err14 | tr '\n' ' ')" \
	"0 [0] e0 [1] e1 [2] e2 "
is "ssh: each remote rank's logs in logs/" "$(cat $T/r14/logs/rank.0.stdout \
	$T/r14/logs/rank.1.stdout $T/r14/logs/rank.2.stdout \
	$T/r14/logs/rank.2.stderr | tr '\n' ' ')" \
	"rank 0 on h1 rank 1 on h2 rank 2 on h2 e2 "
is "ssh: hosts with their addresses" "$(jget $T/r14/run.json '(
	j["launcher"]["kind"], [(h["host"], h["addr"], h["ranks"]) for h in
	j["hosts"]], [r["host"] for r in j["ranks"]])')" \
	"('ssh', [('h1', '10.200.0.1', [0]), ('h2', '10.200.0.2', [1, 2])], ['h1', 'h2', 'h2'])"
done_testing
