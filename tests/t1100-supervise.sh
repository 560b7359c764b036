#!/bin/sh
# Supervision: fail-fast timing, signals, no orphans, time limits.
. "$(dirname "$0")/lib.sh"

# fail-fast: rank 2 fails 0.5 s after every rank wrote its pid, the others
# would sleep 30 s
for layout in "-n 4" "--nodes 2 --procs-per-node 2" "--nodes 4 --procs-per-node 1"; do
	rm -f $T/pid.* $T/failed_at
	$MUSTER $layout -- sh -c '
		echo $$ > '$T'/pid.$RANK
		if [ $RANK = 2 ]; then
			while [ $(ls '$T'/pid.* | wc -l) -lt 4 ]; do sleep 0.02; done
			sleep 0.5; date +%s%3N > '$T'/failed_at; exit 3
		fi
		exec sleep 30' 2> $T/err
	rc=$?
	end=$(now_ms)
	is "fail-fast ($layout): exit code of rank 2" $rc 3
	ms=$((end - $(cat $T/failed_at)))
	ok_if "fail-fast ($layout): all stopped within 1 s (took ${ms} ms)" [ $ms -lt 1000 ]
	ok_if "fail-fast ($layout): no worker left" none_alive $(rank_files $T/pid 4)
	ok_if "fail-fast ($layout): names rank 2" grep -q 'rank 2 (host localhost, pid [0-9]*) exited with code 3' $T/err
done

# a worker that ignores SIGTERM is killed after the grace period
rm -f $T/pid.*
start=$(now_ms)
$MUSTER -n 3 --grace 0.5 -- sh -c '
	echo $$ > '$T'/pid.$RANK
	[ $RANK = 0 ] && {
		while [ $(ls '$T'/pid.* | wc -l) -lt 3 ]; do sleep 0.02; done
		sleep 0.3; exit 5; }
	trap "" TERM; while :; do sleep 0.05; done' 2> /dev/null
rc=$?
ms=$(($(now_ms) - start))
is "SIGTERM-ignoring ranks: first failure's code" $rc 5
ok_if "SIGTERM-ignoring ranks: SIGKILL after grace (took ${ms} ms)" [ $ms -lt 2000 ]
ok_if "SIGTERM-ignoring ranks: none left" none_alive $(rank_files $T/pid 3)

# SIGINT to the launcher reaches every rank
rm -f $T/got.*
$MUSTER -n 3 -- sh -c 'trap "echo INT > '$T'/got.\$RANK; exit 9" INT
	echo ready > '$T'/ready.$RANK; while :; do sleep 0.05; done' &
mpid=$!
wait_files 3 "$T/ready.*"
kill -INT $mpid
wait $mpid
rc=$?
is "SIGINT forwarded to all 3 ranks" "$(cat $T/got.* 2>/dev/null | wc -l)" 3
is "SIGINT: exit code is the ranks' (9)" $rc 9

# SIGTERM likewise; ranks that die of it give 143
rm -f $T/ready.*
$MUSTER -n 2 -- sh -c 'echo r > '$T'/ready.$RANK; exec sleep 30' &
mpid=$!
wait_files 2 "$T/ready.*"
kill -TERM $mpid
wait $mpid
is "SIGTERM forwarded: 143" $? 143

# SIGTERM reaches stopped ranks too (SIGCONT with it): the job ends
rm -f $T/ready.* $T/pid.*
$MUSTER -n 2 -- sh -c 'echo $$ > '$T'/pid.$RANK; echo r > '$T'/ready.$RANK
	kill -STOP $$; sleep 30' 2> $T/err &
mpid=$!
wait_files 2 "$T/ready.*"
sleep 0.3
t0=$(now_ms)
kill -TERM $mpid
wait $mpid
rc=$?
t1=$(now_ms)
is "SIGTERM to stopped ranks: 143" $rc 143
ok_if "SIGTERM to stopped ranks: ended in $((t1 - t0)) ms" [ $((t1 - t0)) -lt $((2000 * SAN_X)) ]
ok_if "SIGTERM to stopped ranks: none left" none_alive $(rank_files $T/pid 2)

# ranks that ignore a forwarded SIGTERM: stopped after the grace period,
# SIGTERM then SIGKILL, said as muster's
rm -f $T/ready.* $T/pid.*
$MUSTER -n 2 --grace 0.5 -- sh -c 'trap "" TERM; echo $$ > '$T'/pid.$RANK
	echo r > '$T'/ready.$RANK; while :; do sleep 0.05; done' 2> $T/err &
mpid=$!
wait_files 2 "$T/ready.*"
t0=$(now_ms)
kill -TERM $mpid
wait $mpid
rc=$?
t1=$(now_ms)
is "SIGTERM ignored: 137" $rc 137
ok_if "SIGTERM ignored: killed after twice the grace ($((t1 - t0)) ms)" \
	[ $((t1 - t0)) -ge 900 ] && [ $((t1 - t0)) -lt $((3000 * SAN_X)) ]
ok_if "SIGTERM ignored: said as muster's SIGKILL" \
	grep -q "killed by SIGKILL (muster's: still running 1s after SIGTERM" $T/err
ok_if "SIGTERM ignored: none left" none_alive $(rank_files $T/pid 2)

# a second Ctrl-C kills ranks that ignore SIGINT
rm -f $T/ready.* $T/pid.*
$MUSTER -n 2 -- sh -c 'trap "" INT; echo $$ > '$T'/pid.$RANK
	echo r > '$T'/ready.$RANK; while :; do sleep 0.05; done' 2> $T/err &
mpid=$!
wait_files 2 "$T/ready.*"
kill -INT $mpid
sleep 0.3
ok_if "first SIGINT ignored by the ranks: still running" alive $T/pid.0 $T/pid.1
kill -INT $mpid
wait $mpid
is "second SIGINT kills: 137" $? 137
ok_if "second SIGINT: no rank left" none_alive $(rank_files $T/pid 2)

# no orphans when the launcher is SIGKILLed (workers and their children)
for layout in "-n 3" "--nodes 2 --procs-per-node 2"; do
	rm -f $T/pid.* $T/gpid.* $T/ready.*
	$MUSTER $layout -- sh -c 'echo $$ > '$T'/pid.$RANK
		sleep 100 & echo $! > '$T'/gpid.$RANK
		echo r > '$T'/ready.$RANK; wait' &
	mpid=$!
	n=$(printf '%s\n' "$layout" | awk '{ print $2 == 3 ? 3 : 4 }')	# (echo would eat -n)
	wait_files $n "$T/ready.*"
	kill -KILL $mpid
	wait_gone $T/pid.* $T/gpid.*
	ok_if "launcher SIGKILLed ($layout): workers and children gone within 2 s" \
		none_alive $(rank_files $T/pid $n) $(rank_files $T/gpid $n)
	wait $mpid 2>/dev/null
done

# an agent SIGKILLed: its workers die, the job fails
rm -f $T/pid.* $T/ready.*
$MUSTER --nodes 2 --procs-per-node 1 -- sh -c 'echo $$ > '$T'/pid.$RANK
	echo r > '$T'/ready.$RANK; exec sleep 30' 2> $T/err &
mpid=$!
wait_files 2 "$T/ready.*"
apid=$(ps -o ppid= -p "$(cat $T/pid.1)" | tr -d ' ')
kill -KILL "$apid"
wait $mpid
rc=$?
ok_if "agent SIGKILLed: job fails (rc $rc)" [ $rc -ne 0 ]
ok_if "agent SIGKILLed: no worker left" none_alive $(rank_files $T/pid 2)

# --timeout: everything stops, exit 124
rm -f $T/pid.*
start=$(now_ms)
$MUSTER --timeout 0.5 -n 2 -- sh -c 'echo $$ > '$T'/pid.$RANK; exec sleep 30' 2> $T/err
rc=$?
ms=$(($(now_ms) - start))
is "--timeout: exit 124" $rc 124
ok_if "--timeout: stopped in time (${ms} ms)" [ $ms -lt 1500 ]
ok_if "--timeout: says so" grep -q 'time limit' $T/err
ok_if "--timeout: no worker left" none_alive $(rank_files $T/pid 2)
$MUSTER --timeout 5 -n 2 -- true
is "--timeout not reached: 0" $? 0
done_testing
