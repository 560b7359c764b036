#!/bin/sh
# Fan-out (--fanout, launcher/relay.h): the head reaches K hosts, each of
# them the next K.  Test hosts h1..h8 (tests/netns.sh); the launcher runs
# in h1, the job on h2..h8: with --fanout 2 the head holds ssh to h2 and
# h3, h2 reaches h4 and h5, h3 reaches h6 and h7, and h4 reaches h8, a
# leaf below a leaf's parent: three levels.
. "$(dirname "$0")/lib.sh"

# --- first a tree on this machine (no test hosts needed): virtual nodes,
# every one reached through an "ssh" that runs the command here
printf '%s\n' '#!/bin/sh' 'while [ "$1" != "--" ]; do shift; done' 'shift 2' \
	'exec sh -c "$1"' > $T/fakessh
chmod +x $T/fakessh
tree_here() { MUSTER_FORCE_SSH=1 $MUSTER --ssh "sh $T/fakessh" "$@"; }
tree_here --fanout 2 --nodes 7 -- sh -c 'echo $RANK $MUSTER_NODE_RANK' \
	> $T/out 2> $T/err
is "7 nodes here in a tree of fan-out 2: exit 0" $? 0
is "... every rank ran, on its node" "$(sort $T/out | tr '\n' ' ')" \
	"[0] 0 0 [1] 1 1 [2] 2 2 [3] 3 3 [4] 4 4 [5] 5 5 [6] 6 6 "
tree_here --fanout 2 --nodes 7 -- sh -c 'exit $((RANK == 6 ? 7 : 0))' \
	2> $T/err
is "rank 6, below two relays, exits 7: the job's code" $? 7
ok_if "... named with its host" \
	grep -q '^muster: rank 6 (host localhost, pid [0-9]*) exited with code 7$' $T/err
# plans larger than a pipe, passed down two relays (--fanout 1: a chain)
big=$(head -c 3000 /dev/zero | tr '\0' x)
tree_here --fanout 1 -x BIG=$big --nodes 3 -n 72 -- sh -c 'echo ${#BIG}' \
	> $T/out 2> $T/err
is "72 ranks with 3 KB each of environment, a chain of 3: exit 0" $? 0
is "... every rank got it" "$(grep -c '^\[[0-9]*\] 3000$' $T/out)" 72
# SIGINT to the head reaches every rank, through the relays
rm -f $T/got.* $T/ready.*
MUSTER_FORCE_SSH=1 $MUSTER --ssh "sh $T/fakessh" --fanout 2 --nodes 7 -- \
	sh -c 'trap "echo INT > '$T'/got.\$RANK; exit 9" INT
	echo r > '$T'/ready.$RANK; while :; do sleep 0.05; done' 2> /dev/null &
mpid=$!
wait_files 7 "$T/ready.*"
is "--fanout 2: the head started 2 connections for 7 nodes" \
	"$(ps -o pid= --ppid $mpid | wc -l)" 2
kill -INT $mpid
wait $mpid
rc=$?
is "SIGINT forwarded to all 7 ranks through the tree" \
	"$(cat $T/got.* 2>/dev/null | wc -l)" 7
is "SIGINT: exit code is the ranks' (9)" $rc 9

# a HELLO whose tree is not one (a node that is no number)
echo '{"hello":1,"node":0,"ports":0,"host":"x","version":"0","tree":[{"node":"a"}]}' |
	$MUSTER --agent > $T/out 2> $T/err
is "a HELLO with a malformed tree: exit 2, one line, no record" \
	"$? $(cat $T/err) $(cat $T/out)" \
	"2 muster: agent: malformed tree in the HELLO on stdin "

# --- then test hosts
hosts_up 8 "fan-out tests"
HOSTS=h2,h3,h4,h5,h6,h7,h8
TAG=$(cat $NS/tag)

# hosts_of FILE: "rank:MUSTER_HOST:HOROVOD_HOSTNAME" from envdump lines
hosts_of() {
	$PY -c 'import json, sys
for l in sys.stdin:
    t, _, j = l.partition("] "); e = json.loads(j)
    print("%s:%s:%s" % (t[1:], e["MUSTER_HOST"], e["HOROVOD_HOSTNAME"]))' < "$1" |
	sort -n | tr '\n' ' '
}
# job_left: what runs on the test hosts besides their sshd, "hK:PID:COMM"
job_left() {
	for k in 1 2 3 4 5 6 7 8; do
		for p in $(ip netns pids mu${TAG}h$k 2>/dev/null); do
			c=$(cat /proc/$p/comm 2>/dev/null) || continue
			case $c in sshd|sshd-session) ;; *) echo "h$k:$p:$c" ;; esac
		done
	done
}
# wait_left S: up to S seconds for job_left to say nothing
wait_left() {
	i=0
	while [ -n "$(job_left)" ] && [ $i -lt $(($1 * 20)) ]; do
		sleep 0.05; i=$((i + 1))
	done
}
# ssh clients started by PID, and in host K's namespace
ssh_children() { ps -o comm= --ppid "$1" | grep -c '^ssh$'; }
ssh_in() {
	for p in $(ip netns pids mu${TAG}h$1); do
		[ "$(cat /proc/$p/comm 2>/dev/null)" = ssh ] && echo $p
	done | wc -l
}

# bad input
for v in 0 1025 x; do
	$MUSTER --fanout $v -- true > /dev/null 2> $T/err
	rc=$?
	is "--fanout $v: exit 2, one line naming the option and the range" \
		"$rc $(cat $T/err)" \
		"2 muster: --fanout '$v': expected a whole number from 1 to 1024"
done
echo '{"fanout": 0}' > $T/bad.json
$MUSTER --config $T/bad.json -- true 2> $T/err
is "config \"fanout\": 0: exit 2, one line naming the key and the range" \
	"$? $(cat $T/err)" \
	"2 muster: config '$T/bad.json': \"fanout\" '0': expected a whole number from 1 to 1024"

# every rank on its host, with the environment of a job of 7 hosts
$in_h1 $MUSTER --fanout 2 -H h2:2,h3:2,h4:2,h5:2,h6:2,h7:2,h8:2 -- \
	$PY tests/py/envdump.py > $T/env 2> $T/err
is "--fanout 2, 7 hosts x 2: exit 0" $? 0
ok_if "env consistent across 7 hosts x 2" $PY tests/py/envcheck.py 14 7 < $T/env
is "every rank on its host (MUSTER_HOST, HOROVOD_HOSTNAME)" "$(hosts_of $T/env)" \
	"0:h2:h2 1:h2:h2 2:h3:h3 3:h3:h3 4:h4:h4 5:h4:h4 6:h5:h5 7:h5:h5 8:h6:h6 9:h6:h6 10:h7:h7 11:h7:h7 12:h8:h8 13:h8:h8 "
addr=$(sed -n 's/^\[13\] .*"MASTER_ADDR": "\([^"]*\)".*/\1/p' $T/env)
ok_if "MASTER_ADDR on h8 is rank 0's host h2 ($addr)" \
	sh -c "[ '$addr' = h2 ] || [ '$addr' = 10.200.0.2 ]"

# output: relayed up the tree, tagged, whole lines, stderr apart
$in_h1 $MUSTER --fanout 2 -H $HOSTS -- sh -c \
	'echo out $RANK $(hostname); echo err $RANK >&2; printf partial' \
	> $T/out 2> $T/err
is "stdout of 7 hosts tagged, each rank from its host" \
	"$(grep '^\[[0-6]\] out ' $T/out | sort | tr '\n' ' ')" \
	"[0] out 0 h2 [1] out 1 h3 [2] out 2 h4 [3] out 3 h5 [4] out 4 h6 [5] out 5 h7 [6] out 6 h8 "
is "stderr tagged and apart" "$(grep -c '^\[[0-6]\] err [0-6]$' $T/err)" 7
is "partial last lines flushed" "$(grep -c '^\[[0-6]\] partial$' $T/out)" 7
$in_h1 $MUSTER --fanout 2 -H $HOSTS -- $PY -c '
import os, sys
r = os.environ["RANK"]
for i in range(1000):
    sys.stdout.write(("r%s-%d " % (r, i)) + r * 300 + "\n")
' > $T/many
is "7000 long lines through three levels arrive whole" \
	"$(grep -cE '^\[([0-6])\] r\1-[0-9]+ \1{300}$' $T/many)" 7000

# exit codes: every one 0, or the failing rank's
$in_h1 $MUSTER --fanout 2 -H $HOSTS -- sh -c 'exit $((RANK == 5 ? 3 : 0))' \
	> /dev/null 2> $T/err
is "rank 5 on h7 exits 3: the job's code is 3" $? 3
ok_if "... and the message names rank 5 and h7" \
	grep -q '^muster: rank 5 (host h7, pid [0-9]*) exited with code 3$' $T/err

# fail-fast from a leaf below a leaf: rank 6 on h8 (head -> h2 -> h4 -> h8)
rm -f $T/pid.* $T/ready.* $T/failed_at
$in_h1 $MUSTER --fanout 2 -H $HOSTS -- sh -c 'echo $$ > '$T'/pid.$RANK
	echo r > '$T'/ready.$RANK
	if [ $RANK = 6 ]; then
		while [ $(ls '$T'/ready.* | wc -l) -lt 7 ]; do sleep 0.02; done
		date +%s%3N > '$T'/failed_at; exit 7
	fi
	exec sleep 30' > /dev/null 2> $T/err
rc=$?
end=$(now_ms)
ms=$((end - $(cat $T/failed_at 2>/dev/null || echo 0)))
is "rank 6 on h8 fails: exit code is its 7" $rc 7
ok_if "message names rank 6 and host h8" \
	grep -q '^muster: rank 6 (host h8, pid [0-9]*) exited with code 7$' $T/err
ok_if "fail-fast through the tree: all stopped in ${ms} ms (< 1000)" [ $ms -lt 1000 ]
ok_if "fail-fast: no rank left on any host" none_alive $(rank_files $T/pid 7)

# a relay lost mid-tree: h4's relay (reached from h2, reaching h8) is
# SIGKILLed; its warden kills what it started, h2 says so, the job ends
rm -f $T/pid.* $T/ready.*
$in_h1 $MUSTER --fanout 2 -H $HOSTS -- sh -c 'echo $$ > '$T'/pid.$RANK
	echo r > '$T'/ready.$RANK; exec sleep 30' > /dev/null 2> $T/err &
mpid=$!
wait_files 7 "$T/ready.*"
relay=$(for p in $(ip netns pids mu${TAG}h4); do
	[ "$(cat /proc/$p/comm 2>/dev/null)" = ssh ] && ps -o ppid= -p $p
done | tr -d ' ' | head -1)
is "h4 runs a relay (muster, the parent of its ssh to h8)" \
	"$(cat /proc/$relay/comm 2>/dev/null)" muster
t0=$(now_ms)
case $relay in
''|*[!0-9]*) kill -TERM $mpid ;;	# no relay there: end the job (a failure)
*) kill -KILL $relay ;;
esac
wait $mpid
rc=$?
ms=$(($(now_ms) - t0))
ok_if "relay on h4 killed: the job fails (exit $rc), 'lost the agent of host h4'" \
	sh -c "[ $rc -ne 0 ] && grep -q '^muster: lost the agent of host h4 ' $T/err"
ok_if "relay on h4 killed: the job ended in ${ms} ms (< 1000)" \
	sh -c "[ -n '$relay' ] && [ $ms -lt 1000 ]"
wait_left 2
is "relay on h4 killed: 7 ranks were up, then nothing of the job left" \
	"$(ls $T/ready.* | wc -l) $(job_left)" "7 "

# an agent lost at a leaf below a leaf: h8's (its rank's parent) SIGKILLed
rm -f $T/pid.* $T/ready.*
$in_h1 $MUSTER --fanout 2 -H $HOSTS -- sh -c 'echo $$ > '$T'/pid.$RANK
	echo r > '$T'/ready.$RANK; exec sleep 30' > /dev/null 2> $T/err &
mpid=$!
wait_files 7 "$T/ready.*"
agent=$(ps -o ppid= -p "$(cat $T/pid.6)" | tr -d ' ')
t0=$(now_ms)
case $agent in
''|*[!0-9]*) kill -TERM $mpid ;;
*) kill -KILL $agent ;;
esac
wait $mpid
rc=$?
ms=$(($(now_ms) - t0))
ok_if "agent on h8 killed: the job fails (exit $rc), 'lost the agent of host h8'" \
	sh -c "[ $rc -ne 0 ] && grep -q '^muster: lost the agent of host h8 .*1 of its 1 ranks unaccounted for' $T/err"
ok_if "agent on h8 killed: the job ended in ${ms} ms (< 1000)" \
	sh -c "[ -n '$agent' ] && [ $ms -lt 1000 ]"
wait_left 2
is "agent on h8 killed: 7 ranks were up, then nothing of the job left" \
	"$(ls $T/ready.* | wc -l) $(job_left)" "7 "

# the head SIGKILLed: its two connections close, each relay stops its
# node and closes its children's stdin, and so on down
rm -f $T/ready.*
$in_h1 $MUSTER --fanout 2 -H $HOSTS -- sh -c 'sleep 100 &
	echo r > '$T'/ready.$RANK; wait' > /dev/null 2>&1 &
mpid=$!
wait_files 7 "$T/ready.*"
is "the background job is the launcher itself" "$(cat /proc/$mpid/comm)" muster
is "--fanout 2: the head holds 2 ssh connections for 7 hosts" \
	"$(ssh_children $mpid)" 2
is "... h4 holds the one to h8" "$(ssh_in 4)" 1
kill -KILL $mpid
wait $mpid 2>/dev/null
t0=$(now_ms)
wait_left 5
ms=$(($(now_ms) - t0))
is "head SIGKILLed: 7 ranks were up, then nothing of the job on h1..h8 (${ms} ms)" \
	"$(ls $T/ready.* | wc -l) $(job_left)" "7 "

# SIGTERM to the head stops the whole tree: 143
rm -f $T/ready.*
$in_h1 $MUSTER --fanout 2 -H $HOSTS -- sh -c 'echo r > '$T'/ready.$RANK
	exec sleep 100' > /dev/null 2>&1 &
mpid=$!
wait_files 7 "$T/ready.*"
t0=$(now_ms)
kill -TERM $mpid
wait $mpid
rc=$?
ms=$(($(now_ms) - t0))
is "SIGTERM to the head: exit 143 (${ms} ms)" $rc 143
wait_left 2
is "SIGTERM: 7 ranks were up, then nothing of the job left on any host" \
	"$(ls $T/ready.* | wc -l) $(job_left)" "7 "

# the launch-time gain (printed, not asserted: 2 CPUs run every "host"),
# and the CPU time of the launcher and the ssh clients it waits for
for k in 2 32; do
	t0=$(now_ms)
	if [ -x /usr/bin/time ]; then
		$in_h1 /usr/bin/time -o $T/cpu -f '%U %S' $MUSTER --fanout $k \
			-H $HOSTS -- true
	else
		echo '? ?' > $T/cpu
		$in_h1 $MUSTER --fanout $k -H $HOSTS -- true
	fi
	rc=$?
	ms=$(($(now_ms) - t0))
	is "--fanout $k -H 7 hosts -- true: exit 0 (${ms} ms)" $rc 0
	echo "# launch and tear-down of 7 hosts with --fanout $k: ${ms} ms," \
		"launcher CPU (user sys) $(tail -1 $T/cpu) s"
done

# a leaf host that cannot be reached (its sshd gone): named, exit 255
kill $(cat $NS/sshd.8.pid)
t0=$(now_ms)
$in_h1 $MUSTER --fanout 2 -H $HOSTS -- sleep 30 > /dev/null 2> $T/err
rc=$?
ms=$(($(now_ms) - t0))
is "h8 unreachable: exit 255" $rc 255
ok_if "h8 unreachable: 'ssh to h8 failed' with ssh's reason (${ms} ms)" \
	grep -q "^muster: ssh to h8 failed (exit 255): ssh: connect to host h8 port 22: Connection refused" $T/err
# (two ssh handshakes, h2 then h4, come before h8 is found unreachable)
ok_if "h8 unreachable: the job ended, its sleep 30 stopped (${ms} ms < 10000)" \
	sh -c "[ $rc = 255 ] && [ $ms -lt 10000 ]"
wait_left 2
is "h8 unreachable: nothing of the job left on any host" "$rc $(job_left)" "255 "

done_testing
