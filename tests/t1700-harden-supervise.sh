#!/bin/sh
# Supervision under an unlucky or hostile job (issue 8): output nobody
# reads, stopped agents, daemons and grandchildren, leftover shared
# memory, exit codes that tell the truth, long lines, log files.
. "$(dirname "$0")/lib.sh"

# kills what a failed test left behind (pids in $T/*.pid-files)
leftovers() {
	for f in $T/pid.* $T/gpid.* $T/dpid.* $T/mpid $T/relay.pid; do
		[ -s "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
	done
	for p in $T/apid; do [ -s "$p" ] && kill -CONT "$(cat "$p")" 2>/dev/null; done
	rm -f /dev/shm/muster-*-t1700x 2>/dev/null
	umount $T/small 2>/dev/null
	return 0
}
test_cleanup_hooks="leftovers"

# wait_for PID SECS: waits up to SECS for the background job PID; rc is
# its exit status, or "hung" (and it is SIGKILLed) when it did not end
wait_for() {
	echo "$1" > $T/mpid
	wf_i=0
	while [ -r /proc/$1/stat ] &&
	    [ "$(cut -d' ' -f3 /proc/$1/stat 2>/dev/null)" != Z ] &&
	    [ $wf_i -lt $(($2 * 20)) ]; do
		sleep 0.05; wf_i=$((wf_i + 1))
	done
	if [ -r /proc/$1/stat ] &&
	    [ "$(cut -d' ' -f3 /proc/$1/stat 2>/dev/null)" != Z ]; then
		kill -KILL "$1"; wait "$1" 2>/dev/null; rc=hung
	else
		wait "$1"; rc=$?
	fi
	rm -f $T/mpid
}

# --- output nobody reads -------------------------------------------------
# a FIFO held open for reading (fd 3) and never read: a full pipe
mkfifo $T/fifo
exec 3<>$T/fifo

start=$(now_ms)
$MUSTER --timeout 1 --grace 0.5 -n 2 -- yes > $T/fifo 2> $T/err &
wait_for $! 15
ms=$(($(now_ms) - start))
is "stdout not read: --timeout still ends the job with 124" "$rc" 124
ok_if "stdout not read: within 6 s (took ${ms} ms)" [ $ms -lt 6000 ]
ok_if "stdout not read: says time limit" grep -q 'time limit' $T/err
ok_if "stdout not read: says output was not written" \
	grep -q 'not written to stdout: it was not being read' $T/err

for sig in TERM INT HUP; do
	rm -f $T/ready.*
	$MUSTER -n 2 -- sh -c 'echo r > '$T'/ready.$RANK; exec yes' \
		> $T/fifo 2> $T/err &
	mpid=$!
	wait_files 2 "$T/ready.*"
	sleep 0.5	# the pipe is full by now
	start=$(now_ms)
	kill -$sig $mpid
	wait_for $mpid 15
	ms=$(($(now_ms) - start))
	ok_if "stdout not read: SIG$sig ends the job (rc $rc, ${ms} ms)" \
		[ "$rc" != hung ] && [ $ms -lt 6000 ]
done
exec 3>&-

# --- agents that do not stop ---------------------------------------------
# rank 1's agent is SIGSTOPped: the time limit still ends the job, 124
rm -f $T/pid.* $T/apid
start=$(now_ms)
$MUSTER --timeout 1.5 --grace 0.5 --nodes 2 --procs-per-node 1 -- sh -c \
	'echo $$ > '$T'/pid.$RANK; exec sleep 30' 2> $T/err &
mpid=$!
wait_files 2 "$T/pid.*"
ps -o ppid= -p "$(cat $T/pid.1)" | tr -d ' ' > $T/apid
kill -STOP "$(cat $T/apid)"
wait_for $mpid 20
ms=$(($(now_ms) - start))
is "stopped agent: the job ends with 124" "$rc" 124
ok_if "stopped agent: within 8 s (took ${ms} ms)" [ $ms -lt 8000 ]
ok_if "stopped agent: says time limit" grep -q 'time limit' $T/err
wait_gone $T/pid.* $T/apid
ok_if "stopped agent: it and its ranks are gone" \
	none_alive $T/pid.0 $T/pid.1 $T/apid

# a connection that stops answering: an "ssh" that runs the agent in its
# own session here, its records through a relay (cat) we then SIGSTOP
printf '%s\n' '#!/bin/sh' 'while [ "$1" != "--" ]; do shift; done' 'shift 2' \
	'setsid sh -c "$1" | cat' > $T/fakessh
chmod +x $T/fakessh
rm -f $T/pid.*
start=$(now_ms)
MUSTER_FORCE_SSH=1 $MUSTER --ssh $T/fakessh --timeout 1.5 --grace 0.5 -n 2 -- \
	sh -c 'echo $$ > '$T'/pid.$RANK; exec sleep 30' 2> $T/err &
mpid=$!
wait_files 2 "$T/pid.*"
pgrep -x -P "$(pgrep -P $mpid -f fakessh)" cat > $T/relay.pid
kill -STOP "$(cat $T/relay.pid)"
wait_for $mpid 20
ms=$(($(now_ms) - start))
is "connection stops answering: the job ends with 124" "$rc" 124
ok_if "connection stops answering: within 8 s (took ${ms} ms)" [ $ms -lt 8000 ]
ok_if "connection stops answering: says the connection was dropped" \
	grep -q 'the connection for localhost did not end within the grace period' $T/err
wait_gone $T/pid.0 $T/pid.1
ok_if "connection stops answering: no rank left" none_alive $T/pid.0 $T/pid.1
kill -KILL "$(cat $T/relay.pid)" 2>/dev/null	# (on a failure only)

# --- no orphans ------------------------------------------------------------
# a rank's daemon (fork, setsid, fork) does not outlive the job
rm -f $T/dpid.*
$MUSTER -n 2 -- sh -c 'setsid -f sh -c "echo \$\$ > '$T'/dpid.$RANK
	exec sleep 100" < /dev/null > /dev/null 2>&1
	while [ ! -s '$T'/dpid.$RANK ]; do sleep 0.02; done' 2> $T/err
is "daemon: the job's own code is kept" $? 0
wait_gone $T/dpid.0 $T/dpid.1
ok_if "daemon: ranks' daemons are gone at the end of the job" \
	none_alive $T/dpid.0 $T/dpid.1
# the same under --mpi: each --mpi-rank wrapper has its warden too
if command -v mpirun > /dev/null; then
	rm -f $T/dpid.*
	$MUSTER --mpi -n 2 -- sh -c 'setsid -f sh -c "echo \$\$ > '$T'/dpid.$RANK
		exec sleep 100" < /dev/null > /dev/null 2>&1
		while [ ! -s '$T'/dpid.$RANK ]; do sleep 0.02; done' 2> $T/err
	is "--mpi daemon: the job's own code is kept" $? 0
	wait_gone $T/dpid.0 $T/dpid.1
	ok_if "--mpi daemon: ranks' daemons are gone at the end of the job" \
		none_alive $T/dpid.0 $T/dpid.1
else
	skip "--mpi daemon" "mpirun is not installed"
fi

# an agent SIGKILLed: its ranks' children and daemons go with its ranks
rm -f $T/pid.* $T/gpid.* $T/dpid.* $T/ready.*
$MUSTER --nodes 2 --procs-per-node 1 -- sh -c 'echo $$ > '$T'/pid.$RANK
	sleep 100 & echo $! > '$T'/gpid.$RANK
	setsid -f sh -c "echo \$\$ > '$T'/dpid.$RANK; exec sleep 100" \
		< /dev/null > /dev/null 2>&1
	while [ ! -s '$T'/dpid.$RANK ]; do sleep 0.02; done
	echo r > '$T'/ready.$RANK; wait' 2> $T/err &
mpid=$!
wait_files 2 "$T/ready.*"
kill -KILL "$(ps -o ppid= -p "$(cat $T/pid.1)" | tr -d ' ')"
wait_for $mpid 15
ok_if "agent SIGKILLed: the job fails (rc $rc)" [ "$rc" != hung ] && [ "$rc" != 0 ]
wait_gone $T/pid.1 $T/gpid.1 $T/dpid.1
ok_if "agent SIGKILLed: its ranks' children and daemons are gone" \
	none_alive $T/pid.1 $T/gpid.1 $T/dpid.1
ok_if "agent SIGKILLed: the other node's too" \
	none_alive $T/pid.0 $T/gpid.0 $T/dpid.0

# --- shared memory a job left ----------------------------------------------
# a segment named as lib/shm.c names them, by a rank's pid, is removed;
# one of another process (our own shell's pid) is left alone
touch /dev/shm/muster-$$-t1700x
$MUSTER -n 2 -- sh -c 'echo x > /dev/shm/muster-$$-t1700x; echo $$ > '$T'/pid.$RANK'
ok_if "shm: the ranks' leftover segments are removed" \
	[ ! -e /dev/shm/muster-$(cat $T/pid.0)-t1700x ] && \
	[ ! -e /dev/shm/muster-$(cat $T/pid.1)-t1700x ]
ok_if "shm: another process's segment is left alone" [ -e /dev/shm/muster-$$-t1700x ]
rm -f /dev/shm/muster-$$-t1700x
# and when the agent was SIGKILLed
rm -f $T/pid.* $T/ready.*
$MUSTER -n 1 -- sh -c 'echo x > /dev/shm/muster-$$-t1700x
	echo $$ > '$T'/pid.$RANK; exec sleep 30' 2> /dev/null &
mpid=$!
wait_files 1 "$T/pid.*"
kill -KILL "$(ps -o ppid= -p "$(cat $T/pid.0)" | tr -d ' ')"
wait_for $mpid 15
ok_if "shm: removed after the agent was SIGKILLed too" \
	[ ! -e /dev/shm/muster-$(cat $T/pid.0)-t1700x ]

# --- exit codes and messages that tell the truth -------------------------
mkdir -p $T/bin
printf '#!/bin/sh\necho hi\n' > $T/bin/noexec
chmod 644 $T/bin/noexec
PATH=$T/bin:$PATH $MUSTER -n 2 -- noexec 2> $T/err
is "not executable in PATH: 126" $? 126
ok_if "not executable in PATH: says so, with the path" \
	grep -q "cannot run 'noexec' (found as $T/bin/noexec): Permission denied" $T/err
ok_if "not executable in PATH: not 'not found'" sh -c "! grep -q 'not found' $T/err"

# a second Ctrl-C: SIGKILL is ours, not the OOM killer's
rm -f $T/ready.*
$MUSTER -n 2 -- sh -c 'trap "" INT; echo r > '$T'/ready.$RANK
	while :; do sleep 0.05; done' 2> $T/err &
mpid=$!
wait_files 2 "$T/ready.*"
kill -INT $mpid
sleep 0.3
kill -INT $mpid
wait_for $mpid 10
is "second SIGINT: 137" "$rc" 137
ok_if "second SIGINT: no OOM-killer hint" sh -c "! grep -q OOM $T/err"
ok_if "second SIGINT: says the SIGKILL was muster's" \
	grep -q "killed by SIGKILL (muster's, after the second SIGINT)" $T/err

# a SIGSTOPped rank: the rank that fails of it is not the one to blame
rm -f $T/pid.*
$MUSTER -n 3 --timeout 40 -- sh -c 'echo $$ > '$T'/pid.$RANK
	if [ $RANK = 1 ]; then (sleep 0.5; kill -STOP $$) & fi
	exec '$B'/examples/trainer --steps 10000000' > /dev/null 2> $T/err
rc=$?
ok_if "stopped rank: the job fails (rc $rc)" [ $rc -ne 0 ] && [ $rc -ne 124 ]
ok_if "stopped rank: the stopped rank is named" grep -q \
	"rank 1 (host localhost, pid $(cat $T/pid.1)) was stopped by SIGSTOP when rank [02] failed" $T/err
# and at the time limit
rm -f $T/pid.*
$MUSTER -n 2 --timeout 1 --grace 0.3 -- sh -c 'echo $$ > '$T'/pid.$RANK
	[ $RANK = 1 ] && kill -STOP $$; exec sleep 30' 2> $T/err
is "stopped rank at the time limit: 124" $? 124
ok_if "stopped rank at the time limit: named" grep -q \
	"rank 1 (host localhost, pid $(cat $T/pid.1)) was stopped by SIGSTOP at the time limit" $T/err

# --- long lines ---------------------------------------------------------------
# kept whole up to the bound (1 MiB), even from ranks writing side by side
long='import os, sys
r = os.environ["RANK"]
for i in range(int(sys.argv[1])):
	sys.stdout.write(r * int(sys.argv[2]) + "\n"); sys.stdout.flush()'
$MUSTER -n 3 -- $PY -c "$long" 4 600000 > $T/out 2> $T/err
ok_if "long lines: 600 kB lines of 3 ranks, each whole and tagged" \
	sh -c "$PY tests/py/longlines.py 3 4 600000 1 < $T/out && \
	[ \$(grep -c '^\[[012]\] [012]*\$' $T/out) = 12 ]"
# one rank alone on its stream: whole at any length, with --no-tag too
$MUSTER -n 1 --no-tag -- $PY -c "$long" 2 3000000 > $T/out 2> $T/err
is "long lines: --no-tag keeps a 3 MB line whole" \
	"$(awk '{ print length($0) }' $T/out | tr '\n' ' ')" "3000000 3000000 "
# past the bound, lines of ranks writing side by side are cut, never mixed,
# and each piece after a cut is marked "[R]+ "
for tag in "" --no-tag; do
	$MUSTER -n 2 $tag -- $PY -c "$long" 3 2500000 > $T/out 2> $T/err
	ok_if "long lines${tag:+ ($tag)}: 2.5 MB lines of 2 ranks never mix, and join back" \
		$PY tests/py/longlines.py 2 3 2500000 $([ -z "$tag" ] && echo 1 || echo 0) < $T/out
done
ok_if "long lines: nothing on stderr" [ ! -s $T/err ]

# --- log files (--log-dir) ----------------------------------------------------
(umask 022; $MUSTER -n 2 --log-dir $T/logs/job -- sh -c 'echo out $RANK' > /dev/null)
is "logs: created dirs are 0700" "$(stat -c %a $T/logs) $(stat -c %a $T/logs/job)" "700 700"
is "logs: files are 0600" "$(stat -c %a $T/logs/job/rank.0.stdout $T/logs/job/rank.1.stderr | tr '\n' ' ')" "600 600 "
is "logs: hold the output" "$(cat $T/logs/job/rank.1.stdout)" "out 1"

# a symbolic link planted in a shared log dir is refused, its target untouched
mkdir -p $T/shared && chmod 1777 $T/shared
echo precious > $T/victim
ln -s $T/victim $T/shared/rank.1.stdout
$MUSTER -n 2 --log-dir $T/shared -- echo hi > /dev/null 2> $T/err
is "logs: a planted symlink fails the job with 2" $? 2
ok_if "logs: the symlink is named and refused" \
	grep -q "'$T/shared/rank.1.stdout' is a symbolic link: refusing" $T/err
is "logs: the symlink's target is untouched" "$(cat $T/victim)" precious
rm -f $T/shared/rank.*
ln $T/victim $T/shared/rank.0.stderr
$MUSTER -n 2 --log-dir $T/shared -- echo hi > /dev/null 2> $T/err
is "logs: a planted hard link fails the job with 2" $? 2
is "logs: the hard link's file is untouched" "$(cat $T/victim)" precious
rm -f $T/shared/rank.*
mkfifo $T/shared/rank.0.stdout
$MUSTER -n 1 --log-dir $T/shared -- echo hi > /dev/null 2> $T/err &
wait_for $! 10
is "logs: a planted FIFO is refused, without waiting for a reader" "$rc" 2
rm -f $T/shared/rank.0.stdout

# a full log filesystem: one warning per file, exit 74
mkdir $T/small
if mount -t tmpfs -o size=16k tmpfs $T/small 2> /dev/null; then
	$MUSTER -n 2 --log-dir $T/small -- sh -c \
		'head -c 100000 /dev/zero | tr "\0" a; echo' > /dev/null 2> $T/err
	is "logs: a full filesystem gives exit 74" $? 74
	ok_if "logs: the warning names the file and the error" grep -q \
		"cannot write the log '$T/small/rank.0.stdout' of rank 0: No space left on device" $T/err
	is "logs: one warning per file" "$(grep -c 'rank.0.stdout' $T/err)" 1
	umount $T/small
else
	skip "logs: a full filesystem gives exit 74" "cannot mount a tmpfs here"
	skip "logs: the warning names the file and the error" "no tmpfs"
	skip "logs: one warning per file" "no tmpfs"
fi

# our own stdout: /dev/full is said and exits 74; a closed pipe stays 141
$MUSTER -n 2 -- echo hi > /dev/full 2> $T/err
is "stdout /dev/full: exit 74" $? 74
ok_if "stdout /dev/full: says so once" \
	[ "$(grep -c 'cannot write to stdout: No space left on device' $T/err)" = 1 ]
($MUSTER -n 2 -- yes 2> /dev/null; echo $? > $T/rc) | head -1 > /dev/null
is "stdout closed: 141 as before" "$(cat $T/rc)" 141

done_testing
