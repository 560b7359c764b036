#!/bin/sh
# muster inside real Slurm allocations (tests/slurm.sh: nodes n1 and n2 are
# separate hosts with their own slurmd, slurmctld on the login host ctl,
# where salloc and sbatch run): muster takes the nodes and the ranks per
# node from the allocation and starts its agents with one srun step that
# dials back.  Ranks placed by node with the full worker environment,
# sbatch with no TTY (examples/slurm.sbatch), fail-fast, --timeout,
# scancel of the job or of muster's step, signals, the launcher SIGKILLed
# leaving nothing on any node, torch DDP and mpi4py under --mpi, an
# uneven allocation.  Skipped only when this machine cannot run the
# daemons (slurm.sh up exits 77).
. "$(dirname "$0")/lib.sh"

cluster_up 2 "muster under Slurm"

# $on_ctl CMD...: a client on the login host, never left hanging
on_ctl="timeout -k 5 60 $SL exec $C"
# marked H MARK: the processes on host H (1, 2 or ctl) whose command
# line has MARK (a zombie has none)
marked() {
	for p in $($SL pids $C $1); do
		tr '\0' ' ' 2>/dev/null < /proc/$p/cmdline | grep -q -F -- "$2" &&
			echo $p
	done
}
# left MARK: " H:PID" for each process with MARK still on n1, n2 or ctl
left() {
	for h in 1 2 ctl; do
		for p in $(marked $h "$1"); do printf ' %s:%s' $h $p; done
	done
}
# settled MARK...: up to 5 s until no process has any MARK; what is left
settled() {
	i=0
	while [ $i -lt 100 ]; do
		l=""
		for m in "$@"; do l="$l$(left "$m")"; done
		[ -z "$l" ] && return 0
		sleep 0.05
		i=$((i + 1))
	done
	echo "$l"
}
# err_of FILE: muster's lines of a client's stderr, for test names
err_of() { grep '^muster: ' "$1" | head -3 | tr '\n' ' ' | cut -c1-200; }
# job_of NAME: the id of the job named NAME
job_of() { $on_ctl squeue -h -n "$1" -o %i | head -1; }
# wait_job ID: polls (sbatch --wait sleeps 2 s, then 8) until the job is
# done, 60 s at most; prints "STATE EXITCODE"
wait_job() {
	i=0
	while [ $i -lt 600 ]; do
		s=$($on_ctl scontrol -o show job "$1" 2>/dev/null)
		st=$(echo "$s" | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
		case "$st" in
		PENDING|CONFIGURING|RUNNING|COMPLETING|SUSPENDED|"") ;;
		*) echo "$st $(echo "$s" | sed -n 's/.*ExitCode=\([0-9:]*\).*/\1/p')"
		   return ;;
		esac
		sleep 0.1
		i=$((i + 1))
	done
	echo "still $st after 60 s"
}
MASTER=10.202.0.1	# n1's address on the cluster's network

# a rank that says where it is and what it was told
cat > $T/show.sh <<'EOF'
echo "$RANK $LOCAL_RANK $LOCAL_WORLD_SIZE $NODE_RANK $WORLD_SIZE $SLURMD_NODENAME $(hostname)"
EOF
# a rank with a child, that writes pid, child pid and ready files
cat > $T/wait.sh <<EOF
echo \$\$ > $T/pid.\$RANK
sleep \$1 & echo \$! > $T/gpid.\$RANK
echo r > $T/ready.\$RANK
wait
EOF
fresh() { rm -f $T/pid.* $T/gpid.* $T/ready.* $T/got.* $T/mpid $T/mrc; }
pidfiles() { echo $(rank_files $T/pid 4) $(rank_files $T/gpid 4); }

# --- salloc: nodes and ranks per node from the allocation
t0=$(now_ms)
$on_ctl salloc -N2 -n4 $MUSTER -- sh $T/show.sh > $T/out 2> $T/err
rc=$?
ms=$(($(now_ms) - t0))
is "salloc -N2 -n4 muster: exit 0 (${ms} ms) $(err_of $T/err)" $rc 0
is "... 4 ranks tagged [R], placed by node: 0,1 on n1, 2,3 on n2" \
	"$(sort $T/out)" "[0] 0 0 2 0 4 n1 n1
[1] 1 1 2 0 4 n1 n1
[2] 2 0 2 1 4 n2 n2
[3] 3 1 2 1 4 n2 n2"
is "... a clean run: nothing on stderr but salloc's own lines (no srun noise)" \
	"$(grep -v '^salloc: ' $T/err)" ""

# output streams: a rank on n2 says a line on stdout and on stderr, then
# waits until the test has seen both in muster's output files
rm -f $T/seen
timeout -k 5 30 $SL exec $C salloc -N2 -n4 $MUSTER -- sh -c "[ \$RANK = 2 ] || exit 0
	echo out-\$SLURMD_NODENAME; echo err-\$SLURMD_NODENAME >&2
	i=0; while [ ! -e $T/seen ] && [ \$i -lt 200 ]; do sleep 0.05; i=\$((i + 1)); done
	[ -e $T/seen ]" > $T/out 2> $T/err &
bg=$!
t0=$(now_ms)
i=0
while ! { grep -q '^\[2\] out-n2$' $T/out && grep -q '^\[2\] err-n2$' $T/err; } &&
    [ $i -lt 300 ]; do sleep 0.05; i=$((i + 1)); done
ms=$(($(now_ms) - t0))
touch $T/seen
wait $bg
is "rank 2's stdout and stderr lines reach muster's while it runs (${ms} ms): exit 0" \
	"$? $(grep -c '^\[2\] out-n2$' $T/out) $(grep -c '^\[2\] err-n2$' $T/err)" "0 1 1"

# the whole worker environment, as locally and over ssh
$on_ctl salloc -N2 -n4 $MUSTER -- $PY tests/py/envdump.py > $T/env 2> $T/err
$PY tests/py/envcheck.py 4 2 < $T/env > $T/envcheck
is "salloc: every rank's environment consistent (envcheck, 4 ranks on 2 nodes)" \
	"$(cat $T/envcheck)" "envcheck: 4 ranks on 2 nodes consistent"
# SLURM_* intact in the ranks: the job's id and node list
$on_ctl salloc -N2 -n4 sh -c "echo job \$SLURM_JOB_ID; exec $MUSTER -- \
	sh -c 'echo \$RANK \$SLURM_JOB_ID \$SLURM_JOB_NODELIST \$SLURMD_NODENAME'" \
	> $T/out 2> $T/err
job=$(sed -n 's/^job //p' $T/out)
is "salloc: SLURM_JOB_ID, SLURM_JOB_NODELIST, SLURMD_NODENAME intact in the ranks" \
	"$(grep '^\[' $T/out | sort)" "[0] 0 $job n[1-2] n1
[1] 1 $job n[1-2] n1
[2] 2 $job n[1-2] n2
[3] 3 $job n[1-2] n2"
# the addresses a rank connects to: MASTER_ADDR is n1's, the rendezvous
# the head's (ctl, where salloc runs), MUSTER_ADDR each node's own, the
# interfaces eth0 (the nodes' only one); nothing resolves to 127.x
# net_of FILE HEAD: "rank:host:what is wrong" per rank of netcheck.py lines
net_of() {
	$PY -c 'import json, sys
head = sys.argv[1]
for l in sys.stdin:
    t, _, j = l.partition("] ")
    if not j.startswith("{"):
        continue
    e = json.loads(j); k = e["hostname"][1:]; bad = []
    if e["MUSTER_ADDR"] != "10.202.0." + k: bad.append("MUSTER_ADDR=%s" % e["MUSTER_ADDR"])
    if e["MASTER_ADDR"] != "10.202.0.1": bad.append("MASTER_ADDR=%s" % e["MASTER_ADDR"])
    rdv = e["MUSTER_RENDEZVOUS"].split("//")[1].rsplit(":", 1)[0]
    if rdv != head: bad.append("MUSTER_RENDEZVOUS=%s" % e["MUSTER_RENDEZVOUS"])
    for v in ("GLOO_SOCKET_IFNAME", "NCCL_SOCKET_IFNAME", "TP_SOCKET_IFNAME"):
        if e[v] != "eth0": bad.append("%s=%s" % (v, e[v]))
    bad += ["resolves to " + a for a in e["resolved"] if not a.startswith("10.202.0.")]
    print("%s:%s:%s" % (t[1:], e["hostname"], " ".join(bad) or "ok"))' "$2" < "$1" |
	sort -n | tr '\n' ' '
}
$on_ctl salloc -N2 -n4 $MUSTER -- $PY tests/py/netcheck.py > $T/net 2> $T/err
is "salloc: MASTER_ADDR $MASTER, rendezvous on ctl, MUSTER_ADDR, eth0: all reach" \
	"$(net_of $T/net 10.202.0.254)" "0:n1:ok 1:n1:ok 2:n2:ok 3:n2:ok "

# uneven: SLURM_TASKS_PER_NODE=2,1
$on_ctl salloc -N2 -n3 $MUSTER -- sh $T/show.sh > $T/out 2> $T/err
is "salloc -N2 -n3 (SLURM_TASKS_PER_NODE=2,1): 2 ranks on n1, 1 on n2 $(err_of $T/err)" \
	"$(sort $T/out)" "[0] 0 0 2 0 3 n1 n1
[1] 1 1 2 0 3 n1 n1
[2] 2 0 1 1 3 n2 n2"

# muster itself a task of a step (srun -n1 muster): the agent step starts
# beside it (--overlap) and the ranks still span the allocation
$on_ctl salloc -N2 -n4 srun -N1 -n1 $MUSTER -- sh $T/show.sh > $T/out 2> $T/err
is "srun -N1 -n1 muster inside salloc -N2 -n4: 4 ranks on n1, n2 $(err_of $T/err)" \
	"$(sort $T/out)" "[0] 0 0 2 0 4 n1 n1
[1] 1 1 2 0 4 n1 n1
[2] 2 0 2 1 4 n2 n2
[3] 3 1 2 1 4 n2 n2"

# placement on the nodes (srun binds nothing, muster does): by default
# each of a node's 2 ranks gets one of its 2 cores; --bind-to none, all
cpus='echo $(hostname) $(sed -n "s/^Cpus_allowed_list:[[:space:]]*//p" /proc/self/status)'
$on_ctl salloc -N2 -n4 $MUSTER --report-bindings -- sh -c "$cpus" > $T/out 2> $T/err
is "default binding under Slurm: each rank of a node on its own core" \
	"$(sort $T/out | tr '\n' ' ')" "[0] n1 0 [1] n1 1 [2] n2 0 [3] n2 1 "
is "--report-bindings: one line per rank, named by its Slurm node" \
	"$(grep '^muster: n[12] rank ' $T/err | sort | tr '\n' ';')" \
	"muster: n1 rank 0: cpus 0 numa 0;muster: n1 rank 1: cpus 1 numa 0;muster: n2 rank 2: cpus 0 numa 0;muster: n2 rank 3: cpus 1 numa 0;"
$on_ctl salloc -N2 -n4 $MUSTER --bind-to none -- sh -c "$cpus" > $T/out 2> $T/err
is "--bind-to none under Slurm: every rank on both cores" \
	"$(sort $T/out | tr '\n' ' ')" "[0] n1 0-1 [1] n1 0-1 [2] n2 0-1 [3] n2 0-1 "

# explicit -n and -H win within the allocation: a part of it only
# (-n 2 fills the first node, -H n2:2 is n2 alone)
$on_ctl salloc -N2 -n4 sh -c "$MUSTER -n 2 -- sh $T/show.sh > $T/out1
	$MUSTER -H n2:2 -- sh $T/show.sh > $T/out2" 2> $T/err
is "-n 2, then -H n2:2 inside salloc -N2 -n4: n1's 2 slots, then n2 alone $(err_of $T/err)" \
	"$(sort $T/out1; sort $T/out2)" "[0] 0 0 2 0 2 n1 n1
[1] 1 1 2 0 2 n1 n1
[0] 0 0 2 0 2 n2 n2
[1] 1 1 2 0 2 n2 n2"

# --launcher local inside an allocation stays on this host (ctl)
$on_ctl salloc -N2 -n4 $MUSTER --launcher local -n 2 -- hostname > $T/out 2> $T/err
is "--launcher local inside salloc: both ranks on ctl" "$(sort $T/out | tr '\n' ' ')" \
	"[0] ctl [1] ctl "

# more than the allocation holds: one line naming it, exit 2
$on_ctl salloc -N2 -n4 -J mu-bad sh -c "echo job \$SLURM_JOB_ID
	$MUSTER -n 5 -- true 2> $T/bad1; echo \$? > $T/bad1.rc
	$MUSTER --nodes 3 -- true 2> $T/bad2; echo \$? > $T/bad2.rc" > $T/out 2> $T/err
job=$(sed -n 's/^job //p' $T/out)
is "-n 5 in a 4-task allocation: exit 2, one line naming job $job and SLURM_TASKS_PER_NODE" \
	"$(cat $T/bad1.rc 2>/dev/null) $(wc -l < $T/bad1) $(grep -c "^muster: .*$job.*SLURM_TASKS_PER_NODE" $T/bad1)" \
	"2 1 1"
is "--nodes 3 in a 2-node allocation: exit 2, one line naming job $job" \
	"$(cat $T/bad2.rc 2>/dev/null) $(wc -l < $T/bad2) $(grep -c "^muster: .*$job" $T/bad2)" \
	"2 1 1"
sed 's/^/# /' $T/bad1 $T/bad2

# --- sbatch: examples/slurm.sbatch, no TTY, no stdin; the head runs on n1
TRAINER=$B/examples/trainer
final() { sed -n 's/^\(\[0\] \)\{0,1\}final loss //p' "$1"; }
$MUSTER -n 1 -- $TRAINER --steps 200 > $T/one 2>&1
one=$(final $T/one)
t0=$(now_ms)
id=$(MUSTER=$MUSTER TRAINER=$TRAINER $on_ctl sbatch --parsable \
	-o "$T/batch.%j.out" examples/slurm.sbatch < /dev/null 2> $T/err)
st=$(wait_job "$id")
ms=$(($(now_ms) - t0))
is "sbatch examples/slurm.sbatch (${ms} ms): COMPLETED, exit 0" "$st" "COMPLETED 0:0"
out=$T/batch.$id.out
is "... its output: the allocation, then where each rank runs" \
	"$(sed -n 1p $out 2>/dev/null; grep ' on n[0-9]$' $out 2>/dev/null | sort)" \
	"job $id on n[1-2] (2 ranks per node)
[0] rank 0 of 4 on n1
[1] rank 1 of 4 on n1
[2] rank 2 of 4 on n2
[3] rank 3 of 4 on n2"
got=$(final $out)
is "... the trainer on 2 nodes x 2 ranks: the loss of one process" \
	"${got:-none}" "$one"
[ -n "$got" ] || sed 's/^/#   /' $out 2>/dev/null | head -10

# --- fail-fast: rank 3 on n2 exits 3, the others sleep
fresh
cat > $T/fail.sh <<EOF
echo \$\$ > $T/pid.\$RANK
echo r > $T/ready.\$RANK
if [ \$RANK = 3 ]; then
	while [ \$(ls $T/ready.* | wc -l) -lt 4 ]; do sleep 0.02; done
	date +%s%3N > $T/failed_at; exit 3
fi
exec sleep 61
EOF
$on_ctl salloc -N2 -n4 sh -c "$MUSTER -- sh $T/fail.sh 2> $T/err
	echo \$? \$(date +%s%3N) > $T/mrc" > /dev/null 2> $T/salloc.err
set -- $(cat $T/mrc 2>/dev/null) none 0
ms=$(($2 - $(cat $T/failed_at 2>/dev/null || echo 0)))
is "rank 3 on n2 exits 3: muster exits 3" "$1" 3
ok_if "... within 1 s of the failure (${ms} ms)" [ "$ms" -ge 0 -a "$ms" -lt 1000 ]
ok_if "... the message names rank 3 and node n2: $(err_of $T/err)" grep -q \
	'^muster: rank 3 (host n2, pid [0-9]*) exited with code 3' $T/err
wait_gone $(rank_files $T/pid 4)
ok_if "... no rank left" none_alive $(rank_files $T/pid 4)
is "... no sleep, agent or srun left on n1, n2, ctl" \
	"$(settled 'sleep 61' "$MUSTER")" ""

# ... with --max-restarts 1 the whole job starts again, on both nodes
rm -f $T/once
$on_ctl salloc -N2 -n4 $MUSTER --max-restarts 1 -- sh -c "if [ \$RANK = 3 ] &&
	[ ! -e $T/once ]; then touch $T/once; exit 3; fi
	echo \$TORCHELASTIC_RESTART_COUNT \$(hostname)" > $T/out 2> $T/err
is "--max-restarts 1, rank 3 fails once: exit 0, all 4 ranks of the restart on n1, n2 $(err_of $T/err)" \
	"$? $(grep ' 1 n[12]$' $T/out | sort | tr '\n' ' ')" \
	"0 [0] 1 n1 [1] 1 n1 [2] 1 n2 [3] 1 n2 "

# ... and in a batch job: the job's exit code is the failed rank's
id=$($on_ctl sbatch --parsable -N2 --ntasks-per-node=2 -o "$T/fail.%j.out" \
	--wrap "exec $MUSTER -- sh -c '[ \$RANK = 2 ] && exit 5; exec sleep 70'" \
	< /dev/null)
is "sbatch, rank 2 exits 5: the job FAILED with exit code 5" "$(wait_job "$id")" \
	"FAILED 5:0"
ok_if "... the message in its output names rank 2 and n2" grep -q \
	'^muster: rank 2 (host n2, pid [0-9]*) exited with code 5' $T/fail.$id.out
is "... nothing left on any node" "$(settled 'sleep 70' "$MUSTER")" ""

# --- --timeout 2
fresh
t0=$(now_ms)
$on_ctl salloc -N2 -n4 $MUSTER --timeout 2 -- sh $T/wait.sh 62 > /dev/null 2> $T/err
rc=$?
ms=$(($(now_ms) - t0))
is "--timeout 2: exit 124" $rc 124
ok_if "... stopped in time (${ms} ms, salloc included)" [ $ms -lt 8000 ]
ok_if "... says so: $(err_of $T/err)" grep -q '^muster: .*time limit' $T/err
wait_gone $(pidfiles)
ok_if "... no rank or child left" none_alive $(pidfiles)
is "... nothing left on any node" "$(settled 'sleep 62' "$MUSTER")" ""

# start_bg NAME SECS [salloc|srun]: muster in the background in a
# salloc job named NAME, its ranks wait.sh SECS; $bg is the client's pid,
# $T/mpid muster's; returns once every rank is ready
start_bg() {
	fresh
	timeout -k 5 45 $SL exec $C salloc -N2 -n4 -J $1 sh -c \
		"echo \$\$ > $T/mpid; exec $MUSTER -- sh $T/wait.sh $2" \
		> /dev/null 2> $T/err &
	bg=$!
	wait_files 4 "$T/ready.*"
}
# stop_bg CMD...: CMD stops the background muster; $rc is the client's
# exit status, $ms the time from CMD to its end
stop_bg() {
	t0=$(now_ms)
	"$@"
	wait $bg
	rc=$?
	ms=$(($(now_ms) - t0))
}
# stopped NAME SECS: the checks after muster was stopped from outside
stopped() {
	wait_gone $(pidfiles)
	ok_if "$1: every rank and its child stopped" none_alive $(pidfiles)
	is "$1: nothing left on any node" "$(settled "sleep $2" "$MUSTER")" ""
}

# --- scancel of the whole job while muster runs in salloc
start_bg mu-scj 63
job=$(job_of mu-scj)
stop_bg $on_ctl scancel "$job"
ok_if "salloc, scancel $job: muster exits non-zero (exit $rc) within 10 s (${ms} ms)" \
	[ $rc -ne 0 -a $ms -lt 10000 ]
ok_if "... with a message: $(err_of $T/err)" grep -q '^muster: ' $T/err
stopped "salloc, scancel of the job" 63

# --- scancel of muster's step only (JOBID.STEP, from squeue -s)
start_bg mu-scs 64
job=$(job_of mu-scs)
step=$($on_ctl squeue -h -s -j "$job" -o '%i %j' | awk '$2 == "muster" { print $1 }')
stop_bg $on_ctl scancel "${step:-none}"
ok_if "scancel of the step ${step:-(none named muster)}: muster exits non-zero (exit $rc) within 10 s (${ms} ms)" \
	[ -n "$step" -a $rc -ne 0 -a $ms -lt 10000 ]
ok_if "... with a message that says so: $(err_of $T/err)" \
	grep -q '^muster: .*cancel' $T/err
stopped "scancel of the step" 64

# --- SIGINT and SIGTERM to muster: forwarded to every rank on both nodes
fresh
cat > $T/trap.sh <<EOF
trap "echo INT > $T/got.\$RANK; exit 9" INT
echo \$\$ > $T/pid.\$RANK
echo r > $T/ready.\$RANK
while :; do sleep 0.05; done
EOF
$on_ctl salloc -N2 -n4 sh -c "echo \$\$ > $T/mpid; exec $MUSTER -- sh $T/trap.sh" \
	> /dev/null 2> $T/err &
bg=$!
wait_files 4 "$T/ready.*"
kill -INT "$(cat $T/mpid)"
wait $bg
rc=$?
is "SIGINT to muster: every rank on n1 and n2 got it" \
	"$(cat $T/got.* 2>/dev/null | wc -l)" 4
is "SIGINT: exit code is the ranks' (9)" $rc 9
wait_gone $(rank_files $T/pid 4)
ok_if "SIGINT: no rank left" none_alive $(rank_files $T/pid 4)
grep -q '^srun: interrupt' $T/err && echo "# note: srun saw the SIGINT too"

start_bg mu-term 65
stop_bg kill -TERM "$(cat $T/mpid)"
is "SIGTERM to muster: the ranks die of it, 143 (${ms} ms)" $rc 143
stopped "SIGTERM" 65

# --- the launcher SIGKILLed: the agents lose their connection
start_bg mu-kill 66
is "the background job's muster is muster" "$(cat /proc/$(cat $T/mpid)/comm 2>/dev/null)" muster
t0=$(now_ms)
kill -KILL "$(cat $T/mpid)"
wait_gone $(pidfiles)
wait_gone $(pidfiles)
ms=$(($(now_ms) - t0))
ok_if "launcher SIGKILLed: every rank and child on n1 and n2 gone (${ms} ms)" \
	none_alive $(pidfiles)
is "... no agent, srun or sleep left on any host" "$(settled 'sleep 66' "$MUSTER" \
	'job-name=muster')" ""
wait $bg 2> /dev/null

# --- muster's srun SIGKILLed (not its shepherd child): slurmstepd kills
# the agents; as over ssh when the ssh client dies, muster says what died
start_bg mu-srun 68
srun_pid=$(ps -o pid=,comm= --ppid "$(cat $T/mpid)" | awk '$2 == "srun" { print $1 }')
stop_bg kill -KILL "${srun_pid:-none}"
ok_if "srun ${srun_pid:-(none found)} SIGKILLed: muster exits non-zero (exit $rc) within 10 s (${ms} ms)" \
	[ -n "$srun_pid" -a $rc -ne 0 -a $ms -lt 10000 ]
ok_if "... the message says srun was killed: $(err_of $T/err)" \
	grep -q '^muster: .*srun.*SIGKILL' $T/err
stopped "srun SIGKILLed" 68

# --- sbatch: scancel of the job; the head (in the batch step) and agents
fresh
cat > $T/cancel.sbatch <<EOF
#!/bin/sh
#SBATCH -N 2
#SBATCH --ntasks-per-node=2
exec $MUSTER -- sh $T/wait.sh 69
EOF
id=$($on_ctl sbatch --parsable -o "$T/cancel.%j.out" $T/cancel.sbatch < /dev/null)
wait_files 4 "$T/ready.*"
$on_ctl scancel "$id"
st=$(wait_job "$id")
is "sbatch, scancel $id: CANCELLED" "${st%% *}" CANCELLED
stopped "sbatch, scancel of the job" 69
ok_if "... muster said so in the job's output: $(err_of $T/cancel.$id.out)" \
	grep -q '^muster: ' $T/cancel.$id.out

# --- real clients inside the allocation
timeout -k 5 120 $SL exec $C salloc -N2 -n4 $MUSTER --timeout 90 -- \
	$PY tests/py/ddp_train.py > $T/out 2> $T/err
rc=$?
is "torch DDP (gloo) on n1, n2 x 2: exit 0 $(err_of $T/err)" $rc 0
is "... every rank trained and agrees" \
	"$(grep -c '^\[[0-3]\] ddp ok rank=[0-3] world=4' $T/out)" 4
[ $rc = 0 ] || grep -v '^salloc: ' $T/err | sed 's/^/#   /' | head -5

if $PY -c 'import mpi4py' 2>/dev/null && command -v mpirun > /dev/null; then
	$on_ctl salloc -N2 -n4 $MUSTER --mpi --timeout 50 -- \
		$PY tests/py/mpi_check.py > $T/out 2> $T/err
	is "mpi4py under --mpi in salloc -N2 -n4: exit 0 $(err_of $T/err)" $? 0
	ok_if "... allreduce and layout (2 per node)" grep -q \
		'^\[0\] mpi4py ok size=4 sum=6 layout=0/0,1/0,0/1,1/1$' $T/out
	$on_ctl salloc -N2 -n4 $MUSTER --mpi --timeout 50 -- sh $T/show.sh \
		> $T/out 2> $T/err
	is "--mpi: mpirun places the ranks on the allocation's nodes" \
		"$(sort $T/out | awk '{ print $1, $NF }' | tr '\n' ' ')" \
		"[0] n1 [1] n1 [2] n2 [3] n2 "
else
	skip "mpi4py under --mpi in an allocation" "python3-mpi4py or mpirun missing"
fi
# --- the run record of a Slurm job: every node's logs and metrics
$on_ctl salloc -N2 -n4 $MUSTER --run-dir $T/srec -- sh -c '
	echo "out $RANK $(hostname)"; echo "loss 0.$RANK 1" > $MUSTER_METRICS' \
	> /dev/null 2> $T/err
rc=$?
is "run record in an allocation: Completed, launcher slurm, both nodes" \
	"$rc $($PY -c 'import json, sys
j = json.load(open(sys.argv[1]))
print(j["status"], j["launcher"]["kind"], [h["host"] for h in j["hosts"]],
	j["metrics"]["lines"], sorted(r["status"] for r in j["ranks"]))' \
	$T/srec/run.json 2>&1)" \
	"0 Completed slurm ['n1', 'n2'] 4 ['Completed', 'Completed', 'Completed', 'Completed']"
is "... each rank's log, from its node" "$(cat $T/srec/logs/rank.0.stdout \
	$T/srec/logs/rank.3.stdout 2>&1 | tr '\n' ' ')" "out 0 n1 out 3 n2 "
done_testing
