#!/bin/sh
# Hang forensics (stacks.h): --stall-timeout, stack snapshots of every
# rank on every node, muster stacks, SIGUSR1, --stall-action abort, and
# the failure message's stderr tail and victims.
. "$(dirname "$0")/lib.sh"

LOOP=$B/tests/stall_loop	# prints "tick N" every 0.2 s from stall_loop_wait

# bad input: one line, exit 2, nothing started
bad "--stall-timeout '-1': expected seconds (a number over 0" \
	--stall-timeout -1 -n 1 -- sh -c "$P"
bad "--stall-timeout 'abc': expected seconds" --stall-timeout abc -n 1 -- sh -c "$P"
bad "--stall-timeout '0': expected seconds" --stall-timeout 0 -n 1 -- sh -c "$P"
bad "--stall-action 'x': expected report or abort" --stall-action x -n 1 -- sh -c "$P"
echo '{"stall_timeout": -3, "program": ["true"]}' > $T/bad.json
bad "stall_timeout" --config $T/bad.json

command -v gdb > /dev/null || { skip "stack snapshots" "no gdb (Debian's gdb package)"; done_testing; exit 0; }

wait_stacks() {	# wait_stacks DIR N: until DIR/stacks holds N files (30 s at most)
	i=0
	while [ "$(ls $1/stacks/*.txt 2>/dev/null | wc -l)" -lt $2 ] && [ $i -lt 600 ]; do
		sleep 0.05; i=$((i + 1))
	done
}
ticks() {	# ticks FILE: waits until FILE has 8 lines (10 s at most)
	i=0
	while [ "$(cat $1 2> /dev/null | wc -l)" -lt 8 ] && [ $i -lt 200 ]; do
		sleep 0.05; i=$((i + 1))
	done
}
proc_state() { sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' /proc/$1/status 2>/dev/null; }

# --- a stall: 4 ranks on 2 virtual nodes, all SIGSTOPped ---
R=$T/r1
$MUSTER --nodes 2 --procs-per-node 2 --stall-timeout 2 --run-dir $R -- \
	sh -c 'echo $$ > '$T'/pid.$RANK; exec '$LOOP' 75' > $T/out 2> $T/err &
mpid=$!
wait_files 4 "$T/pid.*"
ticks $T/out
for r in 0 1 2 3; do kill -STOP $(cat $T/pid.$r); done
t0=$(now_ms)
i=0
while ! grep -q 'no rank made progress' $T/err && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
t_report=$(($(now_ms) - t0))
wait_stacks $R 1
t_stacks=$(($(now_ms) - t0))
echo "# stall report after ${t_report} ms, its stacks saved after ${t_stacks} ms (S = 2 s)"
ok_if "stall: reported within S + 2 s (${t_report} ms)" [ $t_report -le $((4000 * SAN_X)) ]
ok_if "stall: stacks saved within S + 2 s (${t_stacks} ms)" \
	[ $t_stacks -le $((4000 * SAN_X)) ]
f=$(ls $R/stacks/*.txt 2>/dev/null | head -1)
ok_if "stall: the run record holds stacks/1-TIME.txt" sh -c "echo '$f' | grep -q '/stacks/1-[0-9]\{8\}-[0-9]\{6\}\.txt$'"
is "stall: every rank's stack taken" "$(stacks_of $f)" "0:taken 1:taken 2:taken 3:taken"
# the loop's frames (main, stall_loop_wait: in stall_loop.c); a rank is
# nearly always in nanosleep, seldom in printf
is "stall: every rank's stack shows stall_loop.c's frames" "$(frames_in $f stall_loop.c:)" 4
ok_if "stall: and nanosleep's" [ "$(frames_in $f nanosleep)" -ge 1 ]
ok_if "stall: the file holds the report (each rank stopped by SIGSTOP)" \
	[ "$(grep -c 'last output .* s ago, stopped by SIGSTOP' $f)" -eq 4 ]
ok_if "stall: stderr names the file" grep -q "muster: stacks of 4 of 4 ranks (a stall: no progress for 2 s) taken in .*: $f" $T/err
is "stall: stderr sums up each rank's top frames" \
	"$(grep -c '^muster:   rank [0-3] (host localhost, pid [0-9]*): [_a-zA-Z].* < ' $T/err)" 4
sleep 2.5
is "stall: stopped ranks stay stopped after the snapshot" \
	"$(for r in 0 1 2 3; do proc_state $(cat $T/pid.$r); done | tr -d '\n')" TTTT
is "stall: reported once per stall" "$(grep -c 'no rank made progress' $T/err)" 1
for r in 0 1 2 3; do kill -CONT $(cat $T/pid.$r); done
wait $mpid
is "stall (report): the job goes on when continued and ends well" $? 0
is "stall (report): every rank finished its loop" "$(grep -c '^\[[0-3]\] tick 74$' $T/out)" 4
is "stall (report): the options are in run.json" \
	"$(tr -d ' \t\n' < $R/run.json | grep -o '"stall_timeout":2,"stall_action":"report"')" \
	'"stall_timeout":2,"stall_action":"report"'

# a second stall after progress resumed is reported again
rm -f $T/pid.*
R=$T/r2
$MUSTER -n 1 --stall-timeout 1 --run-dir $R -- \
	sh -c 'echo $$ > '$T'/pid.0; exec '$LOOP' 50' > $T/out 2> $T/err &
mpid=$!
wait_files 1 "$T/pid.*"
ticks $T/out
kill -STOP $(cat $T/pid.0); wait_stacks $R 1; kill -CONT $(cat $T/pid.0)
sleep 0.5
kill -STOP $(cat $T/pid.0); wait_stacks $R 2; kill -CONT $(cat $T/pid.0)
wait $mpid
is "two stalls: two reports, two files" \
	"$(grep -c 'no rank made progress' $T/err) $(ls $R/stacks | wc -l)" "2 2"

# --- muster stacks on a running job: every rank's stack, the job goes on ---
rm -f $T/pid.*
R=$T/muster-runs/stk
$MUSTER --nodes 2 --procs-per-node 2 --run-dir $R -- \
	sh -c 'echo $$ > '$T'/pid.$RANK; exec '$LOOP' 40' > $T/out 2> $T/err &
mpid=$!
wait_files 4 "$T/pid.*"
ticks $T/out
$MUSTER stacks > $T/st.out 2> $T/st.err
is "muster stacks: exit 0" $? 0
is "muster stacks: prints every rank's stack" "$(stacks_of $T/st.out)" "0:taken 1:taken 2:taken 3:taken"
is "muster stacks: stall_loop.c's frames in each" "$(frames_in $T/st.out stall_loop.c:)" 4
ok_if "muster stacks: asked by SIGUSR1" grep -q 'asked by SIGUSR1' $T/st.out
ok_if "muster stacks: the same text is in the run record" cmp -s $T/st.out $R/stacks/1-*.txt
$MUSTER stacks stk > $T/st2.out 2> /dev/null
is "muster stacks ID: a second snapshot, by run id" "$? $(ls $R/stacks | wc -l)" "0 2"
wait $mpid
is "muster stacks: the job completes" $? 0
is "muster stacks: every rank finished (not stopped, SIGUSR1 not forwarded)" \
	"$(grep -c '^\[[0-3]\] tick 39$' $T/out)" 4
$MUSTER stacks > /dev/null 2> $T/st.err
is "muster stacks, nothing running: exit 1" "$? $(wc -l < $T/st.err)" "1 1"
ok_if "... says so" grep -q "no running job in $T/muster-runs" $T/st.err
$MUSTER stacks stk > /dev/null 2> $T/st.err
is "muster stacks of an ended run: exit 1" "$? $(wc -l < $T/st.err)" "1 1"
ok_if "... says it is not running" grep -q "run stk is not running (Completed)" $T/st.err
$MUSTER stacks nosuch > /dev/null 2> $T/st.err
is "muster stacks of no such run: exit 2" $? 2
$MUSTER stacks a b > /dev/null 2> $T/st.err
is "muster stacks with two ids: exit 2" $? 2

# --- SIGUSR1 to the launcher does the same ---
rm -f $T/pid.*
R=$T/r3
$MUSTER -n 2 --run-dir $R -- sh -c 'echo $$ > '$T'/pid.$RANK; exec '$LOOP' 40' > $T/out 2> $T/err &
mpid=$!
wait_files 2 "$T/pid.*"
ticks $T/out
kill -USR1 $mpid
wait_stacks $R 1
wait $mpid
is "SIGUSR1: the job completes" $? 0
is "SIGUSR1: a snapshot of both ranks in the run record" "$(stacks_of $R/stacks/1-*.txt)" "0:taken 1:taken"
is "SIGUSR1: no rank got it" "$(grep -c '^\[[01]\] tick 39$' $T/out)" 2

# --- a snapshot that fails names the rank and why; the job goes on ---
mkdir -p $T/hang $T/deny $T/none
printf '#!/bin/sh\nexec sleep 100\n' > $T/hang/gdb
printf '#!/bin/sh\necho "ptrace: Operation not permitted." >&2; exit 1\n' > $T/deny/gdb
chmod +x $T/hang/gdb $T/deny/gdb
# snap_fail NAME PATH WANT: rank 0's line in the file of a job run with PATH
snap_fail() {
	rm -rf $T/r6
	env PATH="$2" MUSTER_STACKS_RANK_MS=1000 MUSTER_STACKS_TOOL=${TOOL:-gdb} \
		$MUSTER -n 1 --run-dir $T/r6 -- \
		$LOOP 25 > $T/out 2> $T/err &
	sf_pid=$!
	ticks $T/out
	if [ "$(wc -l < $T/out)" -lt 8 ]; then	# seen once: say where it is
		echo "# $1: no ticks in 10 s: $(grep State /proc/$sf_pid/status)"
		sed 's/^/#   err: /' $T/err
		eu-stack -p $sf_pid 2>&1 | sed 's/^/#   /' | head -40
	fi
	kill -USR1 $sf_pid
	wait_stacks $T/r6 1
	wait $sf_pid
	sf_rc=$?
	is "snapshot $1: named, the job goes on (exit 0, 25 ticks)" \
		"$sf_rc $(grep -c tick $T/out) $(sed -n 's/pid [0-9]*/pid P/; s/^=== rank 0 //p' $T/r6/stacks/1-*.txt)" \
		"0 25 (host localhost, pid P): $3 ==="
}
snap_fail "past its time" "$T/hang:$PATH" \
	"timed out: gdb did not finish within its time: killed (the rank is left as it was)"
snap_fail "refused" "$T/deny:$PATH" "failed: gdb: ptrace: Operation not permitted."
# eu-stack (elfutils), muster's first choice where it is installed, the same
printf '#!/bin/sh\necho "eu-stack: dwfl_linux_proc_attach pid 1: Operation not permitted" >&2; exit 1\n' > $T/deny/eu-stack
chmod +x $T/deny/eu-stack
TOOL=eu-stack snap_fail "refused (eu-stack)" "$T/deny:$PATH" \
	"failed: eu-stack: dwfl_linux_proc_attach pid 1: Operation not permitted"
TOOL=eu-stack snap_fail "without eu-stack" "$T/none" \
	"failed: cannot run eu-stack (Debian's elfutils package): No such file or directory"
snap_fail "without gdb" "$T/none" \
	"failed: cannot run gdb (Debian's gdb package): No such file or directory"
ok_if "snapshot without gdb: said on stderr for the rank" \
	grep -q "^muster:   rank 0 (host localhost): no stack: cannot run gdb" $T/err

# --- --stall-action abort: stops the job, exit 124, status TimedOut ---
rm -f $T/pid.*
R=$T/r4
$MUSTER --nodes 2 --procs-per-node 1 --stall-timeout 1 --stall-action abort --grace 0.5 \
	--run-dir $R -- sh -c 'echo $$ > '$T'/pid.$RANK; exec '$LOOP'' > $T/out 2> $T/err &
mpid=$!
wait_files 2 "$T/pid.*"
ticks $T/out
kill -STOP $(cat $T/pid.0) $(cat $T/pid.1)
wait $mpid
is "stall abort: exit 124" $? 124
is "stall abort: the stacks were taken first" "$(stacks_of $R/stacks/1-*.txt)" "0:taken 1:taken"
ok_if "stall abort: says why" grep -q 'muster: no rank made progress for 1s (--stall-action abort): stopping all 2 ranks' $T/err
ok_if "stall abort: run.json says TimedOut" sh -c "tr -d ' \t' < $R/run.json | grep -q '\"status\":\"TimedOut\"'"
wait_gone $(rank_files $T/pid 2)
ok_if "stall abort: no rank left" none_alive $(rank_files $T/pid 2)

# --- the failure message: the failed rank's stderr tail, its victims ---
$MUSTER -n 4 -- sh -c 'if [ $RANK = 1 ]; then sleep 0.5
	for i in $(seq 1 12); do echo "err line $i" >&2; done; exit 3; fi
	exec sleep 30' > /dev/null 2> $T/err
is "failure: exit code" $? 3
ok_if "failure: names rank 1" grep -q '^muster: rank 1 (host localhost, pid [0-9]*) exited with code 3$' $T/err
ok_if "failure: the last 10 lines of its stderr follow" grep -q "^muster: the last 10 lines of rank 1's stderr:$" $T/err
is "failure: those lines, indented, 3 to 12" "$(sed -n 's/^muster:     err line //p' $T/err | tr '\n' ' ')" "3 4 5 6 7 8 9 10 11 12 "
ok_if "failure: the victims named" grep -q '^muster: ranks 0,2-3 ended after rank 1 failed: likely its victims (SIGTERM from muster, or lost their peer)$' $T/err
$MUSTER -n 2 -- sh -c '[ $RANK = 1 ] && exit 4; exit 0' > /dev/null 2> $T/err
is "failure without stderr or victims: one line" "$? $(wc -l < $T/err)" "4 1"

# --- a torch gloo job with one rank stopped ---
# grep_wait SECONDS PATTERN FILE...: until a file holds PATTERN
grep_wait() {
	gw_t=$(($1 * 20)); gw_p=$2; shift 2; i=0
	while ! grep -q "$gw_p" "$@" 2> /dev/null && [ $i -lt $gw_t ]; do
		sleep 0.05; i=$((i + 1))
	done
}
if $PY -c 'import torch' 2> /dev/null; then
	rm -f $T/pid.*
	R=$T/r5
	# report mode: torch's import may be a stall of its own on a busy
	# machine; the snapshot of the stopped rank is the one that says so
	STALL_DIR=$T $MUSTER -n 2 --stall-timeout 3 --run-dir $R -- \
		$PY tests/py/stall_train.py 60 > $T/out 2> $T/err &
	mpid=$!
	grep_wait 60 'step 10' $T/out
	kill -STOP $(cat $T/pid.1)
	grep_wait 60 'stopped by SIGSTOP' $R/stacks/*.txt
	f=$(grep -l 'stopped by SIGSTOP' $R/stacks/*.txt | head -1)
	grep_wait 30 "^muster: stacks of .*: $f" $T/err
	kill -CONT $(cat $T/pid.1)
	wait $mpid
	is "torch: the gloo job goes on when continued, and ends well" $? 0
	ok_if "torch: the report says rank 1 is stopped" grep -q '^muster:   rank 1 (host localhost, pid [0-9]*): last output .* s ago, stopped by SIGSTOP$' $T/err
	is "torch: both ranks' stacks" "$(stacks_of "$f")" "0:taken 1:taken"
	is "torch: each rank's interpreter frames" "$(frames_in "$f" _PyEval_EvalFrameDefault)" 2
	ok_if "torch: the waiting rank is in gloo" sh -c "sed -n '/^=== rank 0/,/^=== rank 1/p' $f | grep -q gloo"
	# Python frames (pystacks.h): the running rank's, from faulthandler
	ok_if "torch: the waiting rank's Python frames: the script's train_steps" \
		sh -c "sed -n '/^=== rank 0/,/^=== rank 1/p' $f | grep -q '^  File \".*/stall_train.py\", line [0-9]* in train_steps$'"
	ok_if "torch: ... calling all_reduce" \
		sh -c "sed -n '/^=== rank 0/,/^=== rank 1/p' $f | grep -q '^  File \".*\", line [0-9]* in all_reduce$'"
	ok_if "torch: the stopped rank's Python frames are not available, said so" \
		grep -q '^=== rank 1 (host localhost, pid [0-9]*): taken: python frames: not available (process stopped)' "$f"
	is "torch: the stopped rank has native frames only" \
		"$(sed -n '/^=== rank 1/,$p' $f | grep -c '^Python frames')" 0
	ok_if "torch: the summary names the waiting rank's innermost Python frame" \
		grep -q '^muster:   rank 0 (host localhost, pid [0-9]*): python [^ ]*\.py:[0-9]* [a-z_]*; ' $T/err
	grep -q 'no Python frames' "$f" && echo "# torch: $(grep -o 'no Python frames[^=]*' "$f" | head -1)"
else
	skip "torch gloo stall" "no torch for $PY"
fi

# --- over 3 namespaced ssh hosts, h3 reached through h2 (--fanout 1,
# a relay): stacks from every host ---
hosts_up 3 "stacks over ssh hosts"
rm -f $T/pid.*
$in_h1 $MUSTER -H h1:1,h2:1,h3:1 --fanout 1 --run-dir $T/muster-runs/ssh -- \
	sh -c 'echo $$ > '$T'/pid.$RANK; exec '$LOOP' 60' > $T/out 2> $T/err &
mpid=$!
wait_files 3 "$T/pid.*"
ticks $T/out
$MUSTER stacks ssh > /dev/null 2> $T/st.err
is "ssh hosts: muster stacks from another host refuses (1)" "$? $(wc -l < $T/st.err)" "1 1"
ok_if "... naming the launcher's host" grep -q "run ssh's launcher runs on host h1, not here" $T/st.err
$in_h1 $MUSTER stacks ssh > $T/st.out 2> $T/st.err
is "ssh hosts: muster stacks on h1" $? 0
is "ssh hosts: every rank's stack" "$(stacks_of $T/st.out)" "0:taken 1:taken 2:taken"
ok_if "ssh hosts: from h1, h2 and h3 (through h2's relay)" sh -c "grep -q '^=== rank 0 (host h1, pid' $T/st.out &&
	grep -q '^=== rank 1 (host h2, pid' $T/st.out && grep -q '^=== rank 2 (host h3, pid' $T/st.out"
is "ssh hosts: stall_loop.c's frames in each" "$(frames_in $T/st.out stall_loop.c:)" 3
wait $mpid
is "ssh hosts: the job completes" $? 0

done_testing
