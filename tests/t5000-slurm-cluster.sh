#!/bin/sh
# The test Slurm cluster (tests/slurm.sh) is a real one: nodes n1..n3 are
# separate hosts (network, UTS and mount namespaces) running Debian's
# slurmd, with slurmctld and munged on the login host ctl, where every
# client here runs.  srun, salloc, sbatch with no TTY, scancel and
# --kill-on-bad-exit behave as on a cluster, two clusters run side by
# side, and down leaves nothing.  Skipped only when this machine cannot
# run the daemons (slurm.sh up exits 77).
. "$(dirname "$0")/lib.sh"

SL="sh $ROOT/tests/slurm.sh"
C=$T/cluster
mkdir -p $C

# bad input: one line, exit 1, before anything is made
$SL up 0 $C > $T/out 2>&1
is "up 0: refused in one line" "$? $(cat $T/out)" \
	"1 slurm.sh: up: N must be 1 to 200, got 0"
mkdir -p "$T/a b"
$SL up 1 "$T/a b" > $T/out 2>&1
is "up in a folder with a blank: refused in one line" "$? $(cat $T/out)" \
	"1 slurm.sh: $T/a b: want a folder whose path has only letters, digits and /._+-"
$SL exec $C true > $T/out 2>&1
is "exec with no cluster up: refused in one line" "$? $(cat $T/out)" \
	"1 slurm.sh: $C: no cluster up (host ctl is gone)"

# (down before up is a no-op: a test killed during up still cleans up)
slurm_down() { $SL down $C; }
test_cleanup_hooks="slurm_down $test_cleanup_hooks"
t0=$(now_ms)
rc=0
$SL up 3 $C 2> $T/up.err || rc=$?
up_ms=$(($(now_ms) - t0))
if [ $rc -eq 77 ]; then	# not root, no namespaces, no packages to be had
	skip "Slurm cluster tests" "cannot run a Slurm cluster here: $(tail -1 $T/up.err)"
	done_testing
	exit 0
elif [ $rc -ne 0 ]; then
	is "slurm.sh up 3" "$(tail -1 $T/up.err)" ""
	sed 's/^/# /' $T/up.err | tail -20
	done_testing
	exit 0
fi
grep '^slurm.sh: installed' $T/up.err | sed 's/^/# /'
tag=$(cat $C/tag)

# $on_ctl CMD...: a client on the login host, never left hanging
on_ctl="timeout -k 5 60 $SL exec $C"
sorted() { sort | tr '\n' ' '; }
is "up 3 (${up_ms} ms): sinfo shows 3 idle nodes" \
	"$($on_ctl sinfo -h -N -o '%N %T' | sorted)" "n1 idle n2 idle n3 idle "
ok_if "guard route in the root namespace while the cluster is up" \
	sh -c "ip route show | grep -q '^unreachable 10.202.0.0/24 metric $tag'"
# (from the root namespace the controller is unreachable at once)
$PY -c 'import socket, sys
try:
    socket.create_connection(("10.202.0.254", int(sys.argv[1])), 2)
except OSError as e:
    print(e.strerror)' "$(cat $C/port)" > $T/out 2>&1
is "root namespace cannot reach the controller" "$(cat $T/out)" \
	"No route to host"

# nodes are separate hosts with stock Debian name resolution
is "srun -N 2 hostname: n1 and n2" \
	"$($on_ctl srun -N 2 hostname 2>> $T/client.err | sorted)" "n1 n2 "
$on_ctl srun -N 3 sh -c 'echo $(hostname) $(hostname -I) \
	$(getent hosts $(hostname) | head -1 | cut -d" " -f1) $SLURMD_NODENAME' \
	> $T/out 2> $T/err
is "srun -N 3: own name, address, 127.0.1.1 first in /etc/hosts" \
	"$(sort $T/out | tr -s ' \t' '  ')" "n1 10.202.0.1 127.0.1.1 n1
n2 10.202.0.2 127.0.1.1 n2
n3 10.202.0.3 127.0.1.1 n3"

$SL up 1 $C > $T/out 2>&1
is "up again in the same folder: refused" "$? $(cat $T/out)" \
	"1 slurm.sh: $C: already holds a cluster"
is "exec clears the caller's SLURM_* and sets SLURM_CONF" "$(SLURM_JOB_ID=99 \
	SLURM_CONF=/x $SL exec $C sh -c 'echo ${SLURM_JOB_ID:-none} $SLURM_CONF')" \
	"none $C/etc/slurm.conf"
is "on 2: a command on node n2" "$($SL on $C 2 hostname)" n2
is "srun submitted from node n3" \
	"$(timeout -k 5 60 $SL on $C 3 srun -N 2 hostname 2>> $T/client.err |
	sorted)" "n1 n2 "

# TCP between hosts by name, as a launcher's head on ctl and its agents
# on the nodes will talk; on ctl its own name is 127.0.1.1 first (stock
# Debian), so a head must not advertise what its hostname resolves to
is "on ctl, ctl resolves first to 127.0.1.1" \
	"$($SL exec $C getent hosts ctl | head -1 | tr -s ' \t' ' ')" "127.0.1.1 ctl"
lport=$(($(cat $C/port) + 2))
$on_ctl $PY -c 'import socket, sys
s = socket.socket(); s.settimeout(20)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(8)
open(sys.argv[2], "w").close()
for i in range(2):
    c, a = s.accept()
    print(a[0], c.makefile().readline().strip(), flush=True)' $lport $T/listening \
	> $T/tcp.out 2>&1 &
tcp_pid=$!
wait_files 1 $T/listening
$on_ctl srun -N 2 $PY -c 'import socket, sys
c = socket.create_connection(("ctl", int(sys.argv[1])), 5)
c.sendall((socket.gethostname() + "\n").encode())' $lport 2>> $T/client.err
wait $tcp_pid
is "tasks on n1 and n2 reach a server on ctl by name" "$(sort $T/tcp.out)" \
	"10.202.0.1 n1
10.202.0.2 n2"

# salloc: the shell runs on the login host, steps on the nodes
$on_ctl salloc -N 2 sh -c 'echo $SLURM_JOB_NODELIST $(hostname)' \
	> $T/out 2> $T/err
is "salloc -N 2: SLURM_JOB_NODELIST, shell on ctl" "$(cat $T/out)" "n[1-2] ctl"
$on_ctl salloc -N 3 sh -c 'srun hostname | sort | tr "\n" " "' \
	> $T/out 2> $T/err
is "salloc -N 3: srun inside the allocation" "$(cat $T/out)" "n1 n2 n3 "

# sbatch --wait, no TTY and no stdin: the script runs on n1, its srun on both
cat > $T/job.sh <<'EOF'
#!/bin/sh
#SBATCH -N 2
echo "batch on $(hostname) nodes $SLURM_JOB_NODELIST"
srun hostname | sort
EOF
t0=$(now_ms)
setsid -w $on_ctl sbatch --wait -o "$T/batch.%j.out" $T/job.sh \
	< /dev/null > $T/out 2>&1
rc=$?
ms=$(($(now_ms) - t0))
is "sbatch --wait of a 2-node script, no TTY (${ms} ms): exit 0" "$rc" 0
is "its output file: batch step on n1, srun on both" \
	"$(cat $T/batch.*.out 2>/dev/null)" "batch on n1 nodes n[1-2]
n1
n2"

# in_node K PIDFILE: the pid in PIDFILE runs in node K's namespaces
in_node() { $SL pids $C $1 | grep -qx "$(cat $2 2>/dev/null)"; }
# marked K MARK: processes in node K whose command line has MARK
marked() {
	for p in $($SL pids $C $1); do
		tr '\0' ' ' 2>/dev/null < /proc/$p/cmdline | grep -q -- "$2" && echo $p
	done
}

# scancel of a running step stops its tasks on every node
$on_ctl srun -N 2 --job-name=mu-cancel sh -c \
	"echo \$\$ > $T/task.\$SLURM_NODEID; exec sleep 987" > $T/srun.out 2>&1 &
srun_pid=$!
wait_files 2 "$T/task.[01]"
both_in() { in_node 1 $T/task.0 && in_node 2 $T/task.1; }
ok_if "the step's tasks run in n1's and n2's namespaces" both_in
job=$($on_ctl squeue -h -n mu-cancel -o %i)
t0=$(now_ms)
$on_ctl scancel "$job.0"
is "scancel $job.0: exit 0" $? 0
i=0
while kill -0 $srun_pid 2> /dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
wait $srun_pid
rc=$?
wait_gone $T/task.0 $T/task.1
ms=$(($(now_ms) - t0))
is "scancel: srun ends, its tasks killed (${ms} ms)" "$rc" 137
ok_if "scancel: no task left on either node" none_alive $T/task.0 $T/task.1
is "scancel: no 'sleep 987' in the node namespaces" \
	"$(marked 1 'sleep 987')$(marked 2 'sleep 987')" ""

# --kill-on-bad-exit: task 1 fails, task 0 is stopped with it
rm -f $T/task.*
cat > $T/bad.sh <<EOF
if [ \$SLURM_NODEID = 1 ]; then
	sleep 0.5; touch $T/failed.\$SLURM_JOB_ID; exit 3
fi
echo \$\$ > $T/task.\$SLURM_JOB_ID; exec sleep 988
EOF
t0=$(now_ms)
$on_ctl srun -N 2 --kill-on-bad-exit=1 sh $T/bad.sh > $T/out 2> $T/err
rc=$?
ms=$(($(now_ms) - t0))
ok_if "--kill-on-bad-exit: srun fails (exit $rc) within 15 s (${ms} ms)" \
	test "$rc" -ne 0 -a "$ms" -lt 15000
ok_if "--kill-on-bad-exit: the other task is gone" none_alive $T/task.*
ok_if "--kill-on-bad-exit: srun names the failed task" \
	grep -q 'task 1: Exited with exit code 3' $T/err
# the control: without it the other task runs on after the failure
rm -f $T/task.* $T/failed.*
$on_ctl srun -N 2 --job-name=mu-nokill --kill-on-bad-exit=0 sh $T/bad.sh \
	> /dev/null 2>&1 &
srun_pid=$!
wait_files 1 "$T/failed.*"
wait_files 1 "$T/task.*"
sleep 1
ok_if "control, --kill-on-bad-exit=0: the other task still runs 1 s later" \
	alive $T/task.*
$on_ctl scancel -n mu-nokill
wait $srun_pid
cat $T/err >> $T/client.err

# the time of a whole job: srun -N 2 true, a new allocation each time
lat=""
bad=0
for i in 1 2 3 4 5; do
	t0=$(now_ms)
	$on_ctl srun -N 2 true 2>> $T/client.err || bad=1
	lat="$lat $(($(now_ms) - t0))"
done
is "srun -N 2 true x5: exit 0 (ms:$lat)" $bad 0

# a second cluster beside the first: its own names and ports
C2=$T/cluster2
mkdir -p $C2
slurm_down2() { $SL down $C2; }
test_cleanup_hooks="slurm_down2 $test_cleanup_hooks"
t0=$(now_ms)
$SL up 1 $C2 2> $T/up2.err
rc=$?
ms=$(($(now_ms) - t0))
is "second cluster up 1 beside it (${ms} ms)" "$rc $(tail -1 $T/up2.err)" "0 "
ok_if "second cluster: another tag and other ports" \
	test "$(cat $C2/tag 2>/dev/null)" != "$tag" -a \
	"$(cat $C2/port 2>/dev/null)" != "$(cat $C/port)"
is "second cluster: its own single node" \
	"$(timeout 60 $SL exec $C2 sinfo -h -N -o '%N %T' 2>&1)" "n1 idle"
is "second cluster: srun hostname" \
	"$(timeout 60 $SL exec $C2 srun hostname 2>&1)" n1
$SL down $C2
is "second cluster down: exit 0" $? 0
is "first cluster still whole" \
	"$($on_ctl srun -N 3 hostname 2>> $T/client.err | sorted)" "n1 n2 n3 "

# down: what runs in the hosts, including a task that left its job
# with setsid and a running batch job, is stopped, and nothing is left
$on_ctl srun -N 2 sh -c 'setsid sleep 989 < /dev/null > /dev/null 2>&1 &'
$on_ctl sbatch -N 1 -o /dev/null --wrap 'sleep 990' > /dev/null
i=0
while [ -z "$(marked 1 'sleep 990')" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
ok_if "before down: a setsid task outlives its job, a batch job runs" \
	test -n "$(marked 1 'sleep 989')" -a -n "$(marked 1 'sleep 990')"
: > $T/all.pids
for h in ctl 1 2 3; do $SL pids $C $h >> $T/all.pids; done
t0=$(now_ms)
$SL down $C
rc=$?
down_ms=$(($(now_ms) - t0))
is "down (${down_ms} ms): exit 0" $rc 0
left=""
for p in $(cat $T/all.pids); do [ -e /proc/$p ] && left="$left $p"; done
is "down: none of the $(wc -l < $T/all.pids) processes of the hosts is left" "$left" ""
named=""
for f in /proc/[0-9]*/cmdline; do
	tr '\0' ' ' 2>/dev/null < $f | grep -q -F "$C/" && named="$named $f"
done
is "down: no process names the cluster's folder" "$named" ""
ours="^sl${tag}(sw|ctl|n[0-9]+)\$"
is "down: no namespace, /etc/netns dir or guard route left" \
	"$(ls /run/netns /etc/netns 2>/dev/null | grep -E "$ours")$(ip route show |
	grep "metric $tag\$")" ""
$SL down $C
is "down again: nothing to do, exit 0" $? 0
n=$(grep -c 'queued and waiting for resources' $T/client.err)
echo "# $n of the srun jobs waited for the previous job's nodes"
echo "# times: up ${up_ms} ms, down ${down_ms} ms, srun -N 2 true${lat} ms"
done_testing
