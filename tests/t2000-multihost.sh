#!/bin/sh
# Multi-host launches over ssh: test hosts h1..h3 are network namespaces
# with their own sshd (tests/netns.sh); the launcher runs inside h1 and
# reaches h2 and h3 with --ssh/MUSTER_SSH.  Nothing here runs a client in
# the root namespace (shared/research/netns.md).
. "$(dirname "$0")/lib.sh"

hosts_up 3 "multi-host tests"
SSH=$MUSTER_SSH
ok_if "guard routes in the root namespace while hosts are up" \
	sh -c "ip route show | grep -q '^unreachable 10.200.0.0/24' &&
		ip route show | grep -q '^unreachable 10.200.1.0/24'"

# $in_h1 CMD... (hosts_up): CMD inside h1 (a simple command: "$!" is its pid)

# the hosts are like real ones (tests/netns.sh): h1 resolves its own name
# to 127.0.1.1, others' names to their cluster address on eth1; eth0, the
# first interface, holds 10.200.1.K and leads nowhere
is "test hosts: on h1, h1 is 127.0.1.1 and h2 is 10.200.0.2" \
	"$($in_h1 $PY -c 'import socket
print(socket.gethostbyname("h1"), socket.gethostbyname("h2"))')" \
	"127.0.1.1 10.200.0.2"
is "test hosts: eth0 (first) 10.200.1.1, eth1 10.200.0.1" \
	"$($in_h1 ip -o -4 addr show | awk '$2 != "lo" { print $2, $4 }' |
	tr '\n' ' ')" "eth0 10.200.1.1/24 eth1 10.200.0.1/24 "

# hosts_of FILE: "rank:MUSTER_HOST:HOROVOD_HOSTNAME" from envdump lines
hosts_of() {
	$PY -c 'import json, sys
for l in sys.stdin:
    t, _, j = l.partition("] "); e = json.loads(j)
    print("%s:%s:%s" % (t[1:], e["MUSTER_HOST"], e["HOROVOD_HOSTNAME"]))' < "$1" |
	sort -n | tr '\n' ' '
}

# launch time and the environment across hosts
t0=$(now_ms)
$in_h1 $MUSTER -H h1:2,h2:2 -- true
rc=$?
ms=$(($(now_ms) - t0))
is "muster -H h1:2,h2:2 -- true: exit 0 (${ms} ms)" $rc 0
$in_h1 $MUSTER -H h1:2,h2:2 -- $PY tests/py/envdump.py > $T/env 2> $T/err
ok_if "env consistent across 2 hosts x 2" $PY tests/py/envcheck.py 4 2 < $T/env
is "MUSTER_HOST, HOROVOD_HOSTNAME per host" "$(hosts_of $T/env)" \
	"0:h1:h1 1:h1:h1 2:h2:h2 3:h2:h2 "
# (not its name: on h1 that resolves to 127.0.1.1, issue 9)
is "MASTER_ADDR is rank 0's host's cluster address" \
	"$(sed -n 's/^\[3\] .*"MASTER_ADDR": "\([^"]*\)".*/\1/p' $T/env)" 10.200.0.1
$in_h1 $MUSTER -H h1:2,h2:2,h3:2 -- $PY tests/py/envdump.py > $T/env 2> $T/err
ok_if "env consistent across 3 hosts x 2" $PY tests/py/envcheck.py 6 3 < $T/env
# (stdout only: root's ~/.bashrc may complain on stderr under ssh)
$in_h1 $MUSTER -H h1:1,h2:1,h3:1 -- sh -c 'echo $RANK $(hostname) $(pwd)' \
	> $T/out 2> $T/err
is "ranks run on their hosts, in the launcher's folder" "$(sort $T/out)" \
	"[0] 0 h1 $ROOT
[1] 1 h2 $ROOT
[2] 2 h3 $ROOT"
printf 'h1 slots=2  # first\nh2 slots=2\n' > $T/hostfile
$in_h1 $MUSTER --hostfile $T/hostfile -- $PY tests/py/envdump.py > $T/env 2> $T/err
ok_if "hostfile h1 slots=2 / h2 slots=2: env consistent" \
	$PY tests/py/envcheck.py 4 2 < $T/env
$in_h1 $MUSTER --ssh "$SSH" -H h2:1,h3:1 -- sh -c 'echo $(hostname)' > $T/out 2> $T/err
is "--ssh, launcher host not in the job" "$(sort $T/out | tr '\n' ' ')" \
	"[0] h2 [1] h3 "
$in_h1 env -u MUSTER_SSH $MUSTER -H h1:1,h2:1 -- true 2> $T/err > /dev/null
# (without the test's ssh_config the host key is unknown: BatchMode fails)
ok_if "no MUSTER_SSH: plain ssh fails and says so" \
	grep -q '^muster: ssh to h2 failed (exit 255)' $T/err

# the agent's path is quoted for the remote shell (git's sq_quote)
Q="$T/it's a \$dir!"
mkdir -p "$Q" && cp $MUSTER "$Q/muster"
$in_h1 "$Q/muster" -H h1:1,h2:1 -- hostname > $T/out 2> $T/err
is "muster at a path with ', \$, ! and a blank starts its agent on h2" \
	"$(sort $T/out | tr '\n' ' ')" "[0] h1 [1] h2 "

# output: tagged, line-atomic, stderr apart
$in_h1 $MUSTER -H h1:2,h2:2 -- sh -c 'echo out $RANK; echo err $RANK >&2; printf partial' \
	> $T/out 2> $T/err
is "stdout tagged across hosts" "$(grep -c '^\[[0-3]\] out [0-3]$' $T/out)" 4
is "stderr tagged and apart" "$(grep -c '^\[[0-3]\] err [0-3]$' $T/err)" 4
is "partial last lines flushed" "$(grep -c '^\[[0-3]\] partial$' $T/out)" 4
$in_h1 $MUSTER -H h1:2,h2:2 -- $PY -c '
import os, sys
r = os.environ["RANK"]
for i in range(2000):
    sys.stdout.write(("r%s-%d " % (r, i)) + r * 300 + "\n")
' > $T/many
is "8000 long lines from 2 hosts arrive whole" \
	"$(grep -cE '^\[([0-3])\] r\1-[0-9]+ \1{300}$' $T/many)" 8000

# fail-fast: rank 2 on h2 fails; every rank on h1 and h2 stops within 1 s
rm -f $T/pid.* $T/ready.*
$in_h1 $MUSTER -H h1:2,h2:2 -- sh -c 'echo $$ > '$T'/pid.$RANK
	echo r > '$T'/ready.$RANK
	if [ $RANK = 2 ]; then
		while [ $(ls '$T'/ready.* | wc -l) -lt 4 ]; do sleep 0.02; done
		date +%s%3N > '$T'/failed_at; exit 7
	fi
	exec sleep 30' > /dev/null 2> $T/err
rc=$?
end=$(now_ms)
ms=$((end - $(cat $T/failed_at 2>/dev/null || echo 0)))
is "rank on h2 fails: exit code is its 7" $rc 7
ok_if "message names rank 2 and host h2" \
	grep -q 'rank 2 (host h2, pid [0-9]*) exited with code 7' $T/err
ok_if "fail-fast across hosts: all stopped in ${ms} ms (< 1000)" [ $ms -lt 1000 ]
ok_if "fail-fast: no rank left on h1 or h2" none_alive $(rank_files $T/pid 4)

# SIGINT to the launcher reaches every rank on every host
rm -f $T/got.* $T/ready.*
$in_h1 $MUSTER -H h1:2,h2:2 -- sh -c 'trap "echo INT > '$T'/got.\$RANK; exit 9" INT
	echo r > '$T'/ready.$RANK; while :; do sleep 0.05; done' &
mpid=$!
wait_files 4 "$T/ready.*"
kill -INT $mpid
wait $mpid
rc=$?
is "SIGINT forwarded to all 4 ranks on 2 hosts" "$(cat $T/got.* 2>/dev/null | wc -l)" 4
is "SIGINT: exit code is the ranks' (9)" $rc 9

# the launcher SIGKILLed: ssh ends, the remote agent sees EOF, workers go
rm -f $T/pid.* $T/gpid.* $T/ready.*
$in_h1 $MUSTER -H h1:2,h2:2 -- sh -c 'echo $$ > '$T'/pid.$RANK
	sleep 100 & echo $! > '$T'/gpid.$RANK
	echo r > '$T'/ready.$RANK; wait' &
mpid=$!
wait_files 4 "$T/ready.*"
is "the background job is the launcher itself" "$(cat /proc/$mpid/comm)" muster
kill -KILL $mpid
wait_gone $T/pid.* $T/gpid.*
ok_if "launcher SIGKILLed: workers and children on h1 and h2 gone within 2 s" \
	none_alive $(rank_files $T/pid 4) $(rank_files $T/gpid 4)
wait $mpid 2>/dev/null

# the ssh connection dies: the job fails, the remote workers go
rm -f $T/pid.* $T/ready.*
$in_h1 $MUSTER -H h1:1,h2:1 -- sh -c 'echo $$ > '$T'/pid.$RANK
	echo r > '$T'/ready.$RANK; exec sleep 30' 2> $T/err &
mpid=$!
wait_files 2 "$T/ready.*"
spid=$(ps -o ppid= -p "$(cat $T/pid.1)" | tr -d ' ')	# the remote agent
kill -KILL "$spid"	# as a crashed host: the agent is gone
wait $mpid
rc=$?
wait_gone $T/pid.*
is "remote agent killed: job fails with ssh's 255" $rc 255
ok_if "remote agent killed: 'lost the agent of host h2'" grep -q \
	'^muster: lost the agent of host h2 (ssh exited with code 255): 1 of its 1 ranks unaccounted for' $T/err
ok_if "remote agent killed: no worker left on either host" \
	none_alive $(rank_files $T/pid 2)

# the ssh client dies: the head fails the job, the remote agent reads EOF
rm -f $T/pid.* $T/ready.*
$in_h1 $MUSTER -H h1:1,h2:1 -- sh -c 'echo $$ > '$T'/pid.$RANK
	echo r > '$T'/ready.$RANK; exec sleep 30' 2> $T/err &
mpid=$!
wait_files 2 "$T/ready.*"
cpid=$(ps -o pid=,comm= --ppid $mpid | awk '$2 == "ssh" { print $1 }')
kill -KILL $cpid
wait $mpid
rc=$?
wait_gone $T/pid.*
is "ssh client killed: exit 137" $rc 137
ok_if "ssh client killed: the message says so" \
	grep -q '^muster: the ssh connection of host h2 (pid [0-9]*) was killed by SIGKILL' $T/err
ok_if "ssh client killed: no worker left on either host" \
	none_alive $(rank_files $T/pid 2)

# a plan larger than a pipe (64 KiB) for each of 2 remote hosts
big=$(head -c 3000 /dev/zero | tr '\0' x)
t0=$(now_ms)
$in_h1 $MUSTER -x BIG=$big -H h1:1,h2:24,h3:24 -- sh -c 'echo ${#BIG}' \
	> $T/out 2> $T/err
rc=$?
ms=$(($(now_ms) - t0))
is "49 ranks with 3 KB each of environment on 3 hosts: exit 0 (${ms} ms)" $rc 0
is "every rank got it" "$(grep -c '^\[[0-9]*\] 3000$' $T/out)" 49

# --timeout across hosts
t0=$(now_ms)
$in_h1 $MUSTER --timeout 1 -H h1:1,h2:1 -- sleep 30 2> /dev/null
rc=$?
ms=$(($(now_ms) - t0))
is "--timeout 1 across hosts: 124" $rc 124
ok_if "--timeout 1 across hosts took ${ms} ms (< 3000)" [ $ms -lt 3000 ]

# unreachable and bad hosts, programs missing on a remote host
$in_h1 $MUSTER -H h1:1,h9:1 -- sleep 30 > /dev/null 2> $T/err
is "unknown host: exit 255" $? 255
ok_if "unknown host: 'ssh to h9 failed' with ssh's reason" \
	grep -q "^muster: ssh to h9 failed (exit 255): ssh: .*h9" $T/err
$in_h1 $MUSTER -H h1:1,h2:1 -- ./no-such-program > /dev/null 2> $T/err
is "program missing: 127" $? 127
ok_if "program missing: names a rank and its host" \
	grep -q "rank [01] (host h[12]): cannot run './no-such-program'" $T/err
$in_h1 $MUSTER -H h1:1,-oProxyCommand=x:1 -- true 2> $T/err
is "a host starting with '-' is refused: 2" $? 2

# the C trainer (libmuster over the CURVE rendezvous, TCP between hosts)
TRAINER=$B/examples/trainer
if [ -x $TRAINER ]; then
	final() { sed -n 's/^\(\[0\] \)\{0,1\}final loss //p' "$1"; }
	$MUSTER -n 1 -- $TRAINER --steps 100 > $T/one 2>&1
	one=$(final $T/one)
	$in_h1 env MUSTER_TIMEOUT=30 $MUSTER -H h1:2,h2:2 -- $TRAINER --steps 100 \
		> $T/out 2>&1
	got=$(final $T/out)
	ok_if "trainer on 2 hosts x 2: loss $got = $one (1 process)" awk \
		-v a="$got" -v b="$one" 'BEGIN { d = a - b; if (d < 0) d = -d;
		m = a < 0 ? -a : a; exit !(a != "" && b != "" && d <= 1e-9 * m + 1e-15) }'
	[ -n "$got" ] || sed 's/^/# /' $T/out | head -20
else
	skip "trainer on 2 hosts" "${B#$ROOT/}/examples/trainer not built"
fi

# torch DDP (gloo, env://) across 2 hosts
if $PY -c 'import torch' 2>/dev/null; then
	$in_h1 $MUSTER -H h1:1,h2:1 -- $PY tests/py/ddp_train.py > $T/out 2> $T/err
	is "torch DDP on 2 hosts: exit 0" $? 0
	is "torch DDP on 2 hosts: every rank trained" \
		"$(grep -c 'ddp ok .* world=2' $T/out)" 2
	# (the error, not the traceback's frames)
	grep -v '^\[[0-9]*\]   ' $T/err | head -5 | sed 's/^/# /'
else
	skip "torch DDP on 2 hosts" "python3-torch is not installed"
fi

# --mpi: mpirun starts orted over --ssh/MUSTER_SSH; muster gives it the
# head's network (every host is inside it), so that Open MPI does not try
# the isolated eth0 first (its connect timeout: 3 s more per launch)
if $PY -c 'import mpi4py' 2>/dev/null && command -v mpirun > /dev/null; then
	t0=$(now_ms)
	$in_h1 timeout -k 5 60 $MUSTER --mpi -v -H h1:2,h2:2 -- \
		$PY tests/py/mpi_check.py > $T/out 2> $T/err
	rc=$?
	is "mpi4py under --mpi on 2 hosts: exit 0 ($(($(now_ms) - t0)) ms)" $rc 0
	ok_if "--mpi: mpirun told the head's network (oob and btl)" \
		grep -q 'oob_tcp_if_include 10.200.0.0/24 .*btl_tcp_if_include 10.200.0.0/24' $T/err
	ok_if "mpi4py under --mpi on 2 hosts: allreduce and layout" \
		grep -q '^\[0\] mpi4py ok size=4 sum=6 layout=0/0,1/0,0/1,1/1$' $T/out
	head -5 $T/err | sed 's/^/# /'
else
	skip "--mpi on 2 hosts" "mpi4py or mpirun missing"
fi

done_testing
