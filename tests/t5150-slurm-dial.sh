#!/bin/sh
# --launcher slurm on a real Slurm cluster (tests/slurm.sh): the agents'
# job step and its dial-back (launcher/slurm.h).  The srun command line;
# each rank's srun task variables; connections to the agents' port that
# are not agents (wrong token, not JSON, silent) are closed and said, and
# the job goes on; srun failing before the agents connect fails the job
# naming the nodes; a signal before every node connected ends the step.
# Skipped only when this machine cannot run the daemons.
. "$(dirname "$0")/lib.sh"

cluster_up 2 "Slurm dial-back tests"
on_ctl="timeout -k 5 90 $SL exec $C"
# the agents' muster: on n2 it starts late, so that n1 waits for it
cat > $T/slow-muster <<EOF
#!/bin/sh
[ "\$SLURMD_NODENAME" = n2 ] && sleep \${SLOW:-0}
exec $MUSTER "\$@"
EOF
chmod +x $T/slow-muster

# 1. the step, and what each rank sees
$on_ctl salloc -N2 -n4 $MUSTER -v -- sh -c 'echo $SLURM_PROCID \
	$SLURM_LOCALID $SLURM_NODEID $SLURM_NTASKS $SLURM_NPROCS \
	$SLURMD_NODENAME ${SLURM_JOB_ID:+job} ${SLURM_STEP_ID:+step}' \
	> $T/out 2> $T/err
is "salloc -N2 -n4: exit 0" "$?" 0
is "every rank: srun's task variables as srun -n 4 sets them" \
	"$(sed 's/^\[[0-9]*\] //' $T/out | sort)" "0 0 0 4 4 n1 job step
1 1 0 4 4 n1 job step
2 0 1 4 4 n2 job step
3 1 1 4 4 n2 job step"
grep 'start in one Slurm job step' $T/err > $T/cmd
ok_if "-v: one srun step, one task per node, no srun binding" \
	grep -q "'[^']*/srun' '--jobid=[0-9]*' '--nodes=2' '--ntasks=2' '--ntasks-per-node=1' .*'--kill-on-bad-exit=1' '--cpu-bind=none' .*'--overlap' .*'$MUSTER' '--agent' '--dial' '10.202.0.254:[0-9]*'" $T/cmd
ok_if "-v: each node's agent connected back from its own address" \
	sh -c "grep -q 'node 0 (n1): its agent connected from 10.202.0.1:' $T/err &&
	    grep -q 'node 1 (n2): its agent connected from 10.202.0.2:' $T/err"
$on_ctl salloc -N2 -n4 $MUSTER -- true > $T/out 2> $T/err
is "without -v: nothing from srun on stderr (only salloc's lines)" \
	"$(grep -v '^salloc: ' $T/err)" ""

# 2. connections that are not agents, while n2's agent is late
cat > $T/rogue.sh <<EOF
SLOW=12 $MUSTER -v --remote-muster $T/slow-muster -- sh -c 'echo ran \$RANK' \
	> $T/rogue.out 2> $T/rogue.err &
m=\$!
for i in \$(seq 100); do
	grep -q 'connect back to' $T/rogue.err && break
	sleep 0.1
done
port=\$(sed -n 's/.*connect back to 10.202.0.254:\([0-9]*\).*/\1/p' $T/rogue.err)
$PY - \$port <<'PY'
import socket, sys, time
port = int(sys.argv[1])
def say(line):
    s = socket.create_connection(("10.202.0.254", port), 5)
    s.sendall(line)
    s.settimeout(5)
    try:
        print("rogue got", repr(s.recv(100)))
    except OSError as e:
        print("rogue got", e)
    s.close()
say(b'{"dial":1,"token":"00000000000000000000000000000000","host":"n2"}\n')
say(b'GET / HTTP/1.0\n')
silent = socket.create_connection(("10.202.0.254", port), 5)
time.sleep(11)
silent.close()
PY
wait \$m
echo muster exit \$?
EOF
$on_ctl salloc -N2 -n4 sh $T/rogue.sh > $T/out 2> $T/err
is "rogue connections: each closed at once, the silent one after 10 s" \
	"$(grep rogue $T/out)" "rogue got b''
rogue got b''"
is "rogue connections: the job ran all 4 ranks and exited 0" \
	"$(grep -c '^\[.\] ran' $T/rogue.out) $(grep 'muster exit' $T/out)" \
	"4 muster exit 0"
ok_if "wrong token: said, naming the peer" grep -q \
	"a connection from 10.202.0.254:[0-9]* to the agents' port 10.202.0.254:[0-9]*: wrong token: closed" \
	$T/rogue.err
ok_if "not JSON: said" grep -q \
	"a connection from 10.202.0.254:[0-9]* .*: its first line is not a JSON object: closed" \
	$T/rogue.err
ok_if "silent: closed after 10 s, said" grep -q \
	"a connection from 10.202.0.254:[0-9]* .* said nothing for 10 s: closed" \
	$T/rogue.err

# 3. srun fails before any agent connects: the nodes are named
$on_ctl salloc -N2 -n4 $MUSTER --remote-muster /nonexistent/muster -- true \
	> $T/out 2> $T/err
is "no muster on the nodes: exit 2 (srun's)" "$?" 2
ok_if "no muster on the nodes: slurmstepd's reason passed on" \
	grep -q 'execve(): /nonexistent/muster: No such file or directory' $T/err
ok_if "no muster on the nodes: one line naming both nodes" grep -qx \
	"muster: the Slurm job step of the agents ended (srun: exit 2) before n1, n2 connected: srun said why above" \
	$T/err

# 4. --preflight checks every node through srun, as the agents start
$on_ctl salloc -N2 -n4 $MUSTER --preflight -v -- true > $T/out 2> $T/err
is "--preflight -v: exit 0" "$?" 0
is "--preflight -v: each node reached with srun, its address its own" \
	"$(sed -n 's/^\(n[12]: ok: reachable (srun)\).* address \([0-9.]*\) .*/\1 \2/p' $T/err | sort)" \
	"n1: ok: reachable (srun) 10.202.0.1
n2: ok: reachable (srun) 10.202.0.2"
$on_ctl salloc -N2 -n4 $MUSTER --preflight --remote-muster /nonexistent/muster \
	-- true > $T/out 2> $T/err
is "--preflight, no muster on the nodes: exit 1, both named, no launch" \
	"$? $(grep -c 'FAILED' $T/err) $(grep -c 'muster: --preflight: 2 of 2 hosts failed (n1, n2): not launching' $T/err)" \
	"1 2 1"

$on_ctl salloc -N2 -n4 $MUSTER --check -- true > $T/out 2> $T/err
is "--check with no host, in an allocation: its nodes, through srun" \
	"$? $(sed -n 's/^\(n[12]: ok: reachable (srun)\).*/\1/p' $T/out | sort | tr '\n' ' ')" \
	"0 n1: ok: reachable (srun) n2: ok: reachable (srun) "

# 5. SIGTERM while n2's agent has not connected: the step ends, nothing left
cat > $T/early.sh <<EOF
SLOW=30 $MUSTER --remote-muster $T/slow-muster -- sleep 60 &
m=\$!
sleep 2
kill -TERM \$m
t0=\$(date +%s%3N)
wait \$m
echo muster exit \$? after \$((\$(date +%s%3N) - t0)) ms
sleep 1
echo steps: \$(squeue -h -s -j \$SLURM_JOB_ID -o %j | grep -c muster)
EOF
$on_ctl salloc -N2 -n4 sh $T/early.sh > $T/out 2> $T/err
ms=$(sed -n 's/.* after \([0-9]*\) ms/\1/p' $T/out)
is "SIGTERM before every node connected: exit 143" \
	"$(sed -n 's/\(muster exit [0-9]*\).*/\1/p' $T/out)" "muster exit 143"
ok_if "... within 5 s (${ms:-?} ms), the step gone" \
	sh -c "[ ${ms:-99999} -lt 5000 ] && grep -qx 'steps: 0' $T/out"
left=$($SL pids $C 2 | xargs -r ps -o comm= -p | grep -c -e sleep -e muster)
is "... nothing of the job left on n2" "$left" 1	# the namespace's sleep

done_testing
