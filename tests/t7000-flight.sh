#!/bin/sh
# Flight records (launcher/flight.h, common/flight_fmt.h): real jobs of
# 4 ranks in a loop of allreduces.  One rank SIGSTOPs itself before
# iteration 50's allreduce: its agent's files, read while it is stopped
# (tests/tools/flight_dump), say the others wait in #51 and that rank 3
# has not entered it, and so does the head's report (MUSTER_FLIGHT_ASK_MS,
# the agents' q records).  One rank skips iteration 5's allreduce
# (unchecked: MUSTER_CHECK_ARGS=0) and waits after the loop: the report
# names it as skipping #6.  The records go when the job ends; without a
# run record there are none; junk in MUSTER_FLIGHT is ignored.
. "$(dirname "$0")/lib.sh"
LOOP=$B/tests/flight_loop
DUMP=$B/tests/flight_dump
export MUSTER_TIMEOUT=30
export TMPDIR=$T/tmp
mkdir -p "$TMPDIR"

flights() { ls "$TMPDIR"/muster-metrics-*/flight.* 2>/dev/null; }
# until the report of the job's records holds $1 (4 s at most): in $T/rep
wait_report() {
	i=0
	while [ $i -lt 80 ]; do
		if [ "$(flights | wc -l)" -eq 4 ]; then
			$DUMP $(flights) > $T/rep 2>&1
			grep -q "$1" $T/rep && return 0
		fi
		sleep 0.05; i=$((i + 1))
	done
	sed 's/^/# /' $T/rep
	return 1
}
# rep_is NAME WANT: the report, its waits' seconds as S
rep_is() { is "$1" "$(sed 's/waiting [0-9.]* s/waiting S/' $T/rep)" "$2"; }
# stop_job PID: the launcher and everything under it
stop_job() {
	kill -TERM "$1" 2>/dev/null
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
}

# --- a stopped rank ---
MUSTER_FLIGHT_ASK_MS=300 $MUSTER -n 4 -- $LOOP -n 5000 -u 1000 -s 3:50 \
	> $T/out 2> $T/err &
job=$!
ok_if "stopped rank: the report names rank 3 and #51" wait_report \
	"rank 3 has not entered it, last completed #50"
rep_is "stopped rank: the report's line" \
	"allreduce #51 (float32 x 2): ranks 0-2 waiting S; rank 3 has not entered it, last completed #50"
ok_if "stopped rank: the waits grow with time" sh -c \
	"sleep 1; $DUMP $(flights | tr '\n' ' ') | grep -q 'waiting [1-9]'"
f3=$(flights | grep 'flight\.3$')
ok_if "a record is 0600 in a 0700 directory" sh -c \
	"[ \"\$(stat -c %a $f3)\" = 600 ] && [ \"\$(stat -c %a \$(dirname $f3))\" = 700 ]"
$DUMP -q "$f3" > $T/q
ok_if "rank 3's q record (records.h)" grep -q '^q\[3\] {"v":1,"rank":3,"pid":[0-9]' $T/q
$DUMP -r "$f3" > $T/qr
is "its q record decodes to the same state" "$(cat $T/qr)" \
	"no collective in flight: rank 3 last completed #50"
ok_if "the head's report from the agents' q records" grep -q \
	"^muster: flight: allreduce #51 (float32 x 2): ranks 0-2 waiting [0-9.]* s; rank 3 has not entered it, last completed #50\$" \
	$T/err
stop_job $job
ok_if "the job's end removes the records" sh -c "[ -z \"\$(ls $TMPDIR/muster-metrics-* 2>/dev/null)\" ]"

# --- the end time of a collective that waited: the stopped rank goes
# on; #51 took the others as long as it stayed stopped (a quick one's
# end is its start, flightrec.h: a wait must read the clock)
$MUSTER -n 4 -- sh -c "$LOOP -n 52 -u 1000 -s 3:50 && sleep 30" \
	> $T/out 2> $T/err &
job=$!
ok_if "a stopped rank again (#51)" wait_report \
	"rank 3 has not entered it, last completed #50"
pid3=$($DUMP -q $(flights | grep 'flight\.3$') | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
sleep 0.6
kill -CONT "$pid3"
# #51's length on rank 0 in s once it ended (its q record's e:
# [idx, seq, op, ..., -START_AGE, -END_AGE or null])
took51() {
	$DUMP -q $(flights | grep 'flight\.0$') | tr '[' '\n' |
	awk -F'[],]' '$2 == 51 && $13 != "null" { print ($13 - $12) / 1e9 }'
}
i=0
while [ $i -lt 80 ] && [ -z "$(took51)" ]; do sleep 0.05; i=$((i + 1)); done
t=$(took51)
ok_if "rank 0's #51 ended when rank 3 went on: ${t:-?} s >= 0.5 s" \
	awk -v t="$t" 'BEGIN { exit !(t != "" && t >= 0.5) }'
stop_job $job

# --- a rank SIGSTOPped from outside, at whatever collective it was
$MUSTER -n 4 -- $LOOP -n 200000 -u 200 > $T/out 2> $T/err &
job=$!
ok_if "running: every rank has a record" wait_report "waiting\|no collective"
pid1=$($DUMP -q $(flights | grep 'flight\.1$') | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
kill -STOP "$pid1"
ok_if "rank 1 stopped by us (pid $pid1): named" wait_report \
	"rank 1 has not entered it"
# stopped between collectives, or inside one after giving its part
line=$(grep 'ranks 0,2,3 waiting' $T/rep)
k=$(echo "$line" | sed -n 's/^allreduce #\([0-9]*\) .*/\1/p')
is "... the others wait in the next one, #$k" \
	"$(echo "$line" | sed 's/waiting [0-9.]* s/waiting S/;s/\(last completed\|waiting in\) #/... #/')" \
	"allreduce #$k (float32 x 2): ranks 0,2,3 waiting S; rank 1 has not entered it, ... #$((k - 1))"
kill -CONT "$pid1"
stop_job $job

# --- --stall-timeout (stacks.h): the stall report's lines are the
# flight records' (collectives that complete are progress: no stall
# while the loop runs, though it prints nothing)
$MUSTER -n 4 --stall-timeout 1 --run-dir $T/stall -- \
	$LOOP -n 5000 -u 1000 -s 3:50 > $T/out 2> $T/err &
job=$!
ok_if "--stall-timeout: the report names the collective and rank 3" sh -c '
	i=0; while [ $i -lt 120 ]; do
		grep -q "allreduce #51 (float32 x 2): ranks 0-2 waiting [0-9.]* s; rank 3 has not entered it, last completed #50" '"$T"'/err && exit 0
		sleep 0.05; i=$((i + 1))
	done; sed "s/^/# /" '"$T"'/err | head -8; exit 1'
is "... one report: the loop's collectives before it were progress" \
	"$(grep -c 'no rank made progress' $T/err)" 1
stop_job $job

# --- issue 12's stall cases with --stall-timeout 2: one of 4 ranks
# stopped inside the loop, one skipping a collective; the report names
# the rank and the sequence number within S + 2 s of the stall, and the
# run record holds every rank's stack
# stall_case NAME ARGS REPORT: the loop with ARGS; REPORT, the line
stall_case() {
	R=$T/sc.$1
	rm -rf $R
	MUSTER_CHECK_ARGS=0 $MUSTER -n 4 --stall-timeout 2 --run-dir $R -- \
		$LOOP $2 > $T/out 2> $T/err &
	job=$!
	i=0
	while ! grep -q "^muster: $3" $T/err && [ $i -lt 300 ]; do
		sleep 0.05; i=$((i + 1))
	done
	t0=$(now_ms)
	j=0
	while [ -z "$(ls $R/stacks/*.txt 2>/dev/null)" ] && [ $j -lt 300 ]; do
		sleep 0.05; j=$((j + 1))
	done
	t1=$(now_ms)
	w=$(sed -n "s/^muster: .* waiting \([0-9.]*\) s; .*/\1/p" $T/err | head -1)
	echo "# $1: reported after ${w:-?} s of the stall (S = 2 s), stacks saved $((t1 - t0)) ms later"
	ok_if "stall ($1): the report names the rank and #" grep -q "^muster: $3" $T/err
	ok_if "stall ($1): reported within S + 2 s (${w:-none} s)" \
		awk -v w="${w:-99}" -v s=$SAN_X 'BEGIN { exit !(w <= 4.0 * s) }'
	ok_if "stall ($1): stacks saved within S + 2 s (${w:-none} s + $((t1 - t0)) ms)" \
		awk -v w="${w:-99}" -v d=$((t1 - t0)) -v s=$SAN_X 'BEGIN { exit !(w + d / 1000 <= 4.0 * s) }'
	f=$(ls $R/stacks/*.txt 2>/dev/null | head -1)
	is "stall ($1): every rank's stack in the run record" \
		"$(sed -n 's/^=== rank \([0-9]*\) (.*): \(taken\) ===$/\1:\2/p' "${f:-/dev/null}" | tr '\n' ' ')" \
		"0:taken 1:taken 2:taken 3:taken "
	ok_if "stall ($1): the waiting ranks' stacks are in the collective" \
		[ "$(grep -c 'shm_barrier\|shm_wait\|allreduce' "${f:-/dev/null}")" -ge 3 ]
	stop_job $job
}
stall_case stopped "-n 5000 -u 1000 -s 3:50" \
	"allreduce #51 (float32 x 2): ranks 0-2 waiting [0-9.]* s; rank 3 has not entered it, last completed #50$"
stall_case skipped "-n 20 -v -h -k 2:5" \
	"rank 2 skipped #6: its allreduce #6 (float32 x [0-9]*) is the others' next, allreduce #7"

# --- two virtual nodes (TCP between their leaders): the head's report
# joins both agents' q records
MUSTER_FLIGHT_ASK_MS=300 $MUSTER --nodes 2 --procs-per-node 2 -- \
	$LOOP -n 5000 -u 1000 -s 2:30 > $T/out 2> $T/err &
job=$!
ok_if "2 nodes: the head's report names rank 2 and #31" sh -c '
	i=0; while [ $i -lt 80 ]; do
		grep -q "^muster: flight: allreduce #31 (float32 x 2): ranks 0,1,3 waiting [0-9.]* s; rank 2 has not entered it, last completed #30\$" '"$T"'/err && exit 0
		sleep 0.05; i=$((i + 1))
	done; sed "s/^/# /" '"$T"'/err | head -5; exit 1'
ok_if "2 nodes: each agent keeps its node's records" sh -c \
	"[ \$(ls -d $TMPDIR/muster-metrics-* | wc -l) = 2 ] && [ \$(ls $TMPDIR/muster-metrics-*/flight.* | wc -l) = 4 ]"
stop_job $job

# --- a rank that skips a collective (unchecked) ---
MUSTER_CHECK_ARGS=0 $MUSTER -n 4 -- $LOOP -n 20 -v -h -k 2:5 \
	> $T/out 2> $T/err &
job=$!
ok_if "skipping rank: the others wait in #20" wait_report \
	"rank 2 has not entered it, last completed #19"
rep_is "skipping rank: the report" \
	"allreduce #20 (float32 x 5): ranks 0,1,3 waiting S; rank 2 has not entered it, last completed #19
rank 2 skipped #6: its allreduce #6 (float32 x 4) is the others' next, allreduce #7 (float32 x 4)"
stop_job $job

# --- without a loop: every collective completed, and ranks without libmuster ---
# (rank 0 in a communicator of its own, by a file:// bootstrap)
mkdir $T/fb
$MUSTER -n 2 -- sh -c 'if [ "$MUSTER_RANK" = 0 ]; then
	MUSTER_SIZE=1 MUSTER_LOCAL_SIZE=1 MUSTER_NUM_NODES=1 \
	MUSTER_RENDEZVOUS=file://'"$T/fb"' '"$LOOP"' -n 7 && sleep 30
	else sleep 30; fi' > $T/out 2> $T/err &
job=$!
ok_if "one rank with libmuster, one without" sh -c '
	i=0; while [ $i -lt 100 ]; do
		f=$(ls '"$TMPDIR"'/muster-metrics-*/flight.* 2>/dev/null)
		[ -n "$f" ] && '"$DUMP"' $f > '"$T"'/rep 2>&1 &&
			grep -q "last completed #7" '"$T"'/rep && exit 0
		sleep 0.05; i=$((i + 1))
	done; exit 1'
is "... says where each is" "$(cat $T/rep)" \
	"no collective in flight: rank 0 last completed #7
rank 1: no flight record (no libmuster, or not started)"
stop_job $job

# --- no run record: no records ---
$MUSTER --no-record -n 1 -- sh -c 'echo "flight=${MUSTER_FLIGHT:-none}"' > $T/out 2>&1
is "--no-record: no MUSTER_FLIGHT" "$(sed 's/^\[0\] //' $T/out)" "flight=none"
$MUSTER -n 1 -- sh -c 'echo "flight=${MUSTER_FLIGHT:-none}"' 2>&1 |
	sed 's/^\[0\] //' > $T/out
ok_if "a run record: MUSTER_FLIGHT names the rank's record" \
	grep -q "^flight=$TMPDIR/muster-metrics-.*/flight.0\$" $T/out
# without $TMPDIR: in memory (metrics.h), not on /tmp's disk, and gone
# at the end
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	env -u TMPDIR $MUSTER -n 1 -- sh -c 'echo "flight=$MUSTER_FLIGHT"; [ -f "$MUSTER_FLIGHT" ] && echo file' 2>&1 |
		sed 's/^\[0\] //' > $T/out
	ok_if "no \$TMPDIR: the record is in /dev/shm" sh -c \
		"grep -q '^flight=/dev/shm/muster-metrics-[^/]*/flight.0\$' $T/out && grep -qx file $T/out"
	d=$(sed -n 's|^flight=\(.*\)/flight.0$|\1|p' $T/out)
	ok_if "... its directory goes at the end" sh -c "[ -n '$d' ] && [ ! -e '$d' ]"
else
	skip "no \$TMPDIR: the record is in /dev/shm" "not writable here"
	skip "... its directory goes at the end" "not writable here"
fi

# --- bad input ---
printf 'junk' > $T/junk
$DUMP $T/junk > $T/out 2>&1
rc=$?
is "a junk file: one line naming it, exit 1" "$rc $(cat $T/out)" \
	"1 flight_dump: '$T/junk': 4 bytes: not a flight record"
$DUMP $T/nonexistent > $T/out 2>&1
ok_if "a missing file: one line naming it" sh -c \
	"[ \$(wc -l < $T/out) = 1 ] && grep -q \"cannot open the flight record '$T/nonexistent'\" $T/out"
MUSTER_FLIGHT=$T/junk sh $ROOT/tests/tools/flaunch.sh 2 1 $LOOP -n 10 > $T/out 2>&1
ok_if "MUSTER_FLIGHT naming junk: libmuster runs without" sh -c \
	"grep -q 'rank 0 done' $T/out && grep -q 'rank 1 done' $T/out && [ \"\$(cat $T/junk)\" = junk ]"
done_testing
