#!/bin/sh
# Python frames in stack snapshots (launcher/pystacks.h): muster's
# sitecustomize.py registers faulthandler in every Python process of a
# rank; a snapshot asks those, and only those, for their frames.
. "$(dirname "$0")/lib.sh"

W=$ROOT/tests/py/pywait.py	# waits in wait_in_here() until $PYW_DIR/go
HOOK=$ROOT/lib/python/muster-hook
LOOP=$B/tests/stall_loop
SIG=$($PY -c 'import signal; print(signal.SIGRTMIN + 11)')


# --- the hook alone ---
got=$(env -u MUSTER_PYSTACKS PYTHONPATH=$HOOK $PY -c \
	"import signal; print(signal.getsignal($SIG) == signal.SIG_DFL)" 2>&1)
is "hook without MUSTER_PYSTACKS: registers nothing" "$got" True
got=$(PYTHONPATH=$HOOK $PY -c 'import sitecustomize; print(sitecustomize.__file__)' 2>&1)
want=$(env -u PYTHONPATH $PY -c 'import sitecustomize; print(sitecustomize.__file__)' 2>&1)
is "hook: the sitecustomize it shadows runs (Debian's, here)" "$got" "$want"
got=$(MUSTER_PYSTACKS=$T/nosuch PYTHONPATH=$HOOK $PY -c 'print("fine")' 2>&1)
is "hook: an error of its own is swallowed" "$got" fine
got=$(MUSTER_DEBUG=1 MUSTER_PYSTACKS=$T/nosuch PYTHONPATH=$HOOK $PY -c 'print("fine")' 2>&1)
ok_if "... said in one line with MUSTER_DEBUG" sh -c "[ \"\$(echo '$got' | wc -l)\" = 2 ] &&
	echo '$got' | grep -q '^muster: python frames hook: not registered: .*nosuch'"
mkdir -p $T/ubad
echo 'raise RuntimeError("user site broke")' > $T/ubad/sitecustomize.py
want=$(PYTHONPATH=$T/ubad $PY -c 'print("on")' 2>&1)
got=$(MUSTER_PYSTACKS=$T PYTHONPATH=$HOOK:$T/ubad $PY -c 'print("on")' 2>&1)
is "hook: a user's sitecustomize that fails is reported as without muster" "$got" "$want"
ok_if "... which is Python's own message" sh -c "echo '$want' | grep -q 'Error in sitecustomize'"

# --- 4 Python ranks on 2 virtual nodes, rank 3 stopped: muster stacks ---
mkdir -p $T/tmp $T/j1
R=$T/muster-runs/py
TMPDIR=$T/tmp PYW_DIR=$T/j1 $MUSTER --nodes 2 --procs-per-node 2 --run-dir $R -- \
	$PY $W > $T/out 2> $T/err &
mpid=$!
wait_files 4 "$T/j1/pid.*"
is "the agents made a folder per rank, each with one registration" \
	"$(ls $T/tmp/muster-metrics-*/py.*/ 2>/dev/null | grep -c '^[0-9][0-9]*$')" 4
f=$(ls $T/tmp/muster-metrics-*/py.*/$(cat $T/j1/pid.0) 2>/dev/null)
ok_if "... its first line names its pid and signal $SIG" \
	grep -q "^muster-pystacks 1 pid=$(cat $T/j1/pid.0) start=[0-9]* signal=$SIG fd=[0-9]* main=0x[0-9a-f]*$" "$f"
kill -STOP $(cat $T/j1/pid.3)
t0=$(now_ms)
$MUSTER stacks py > $T/st.out 2> $T/st.err
rc=$?
echo "# muster stacks of 4 Python ranks took $(($(now_ms) - t0)) ms"
is "muster stacks: exit 0" $rc 0
is "muster stacks: every rank's stack" "$(stacks_of $T/st.out)" "0:taken 1:taken 2:taken 3:taken"
is "Python frames: ranks 0-2 are in wait_in_here" "$(frames_in $T/st.out ' in wait_in_here')" 3
is "Python frames: in the script" "$(frames_in $T/st.out "File \"$W\", line ")" 3
is "Python frames: one section per running rank, its own pid" \
	"$(for r in 0 1 2; do stack_section $T/st.out $r | grep -c "^Python frames (pid $(cat $T/j1/pid.$r), main thread 0x"; done | tr -d '\n')" 111
ok_if "stopped rank 3: python frames not available, said so" \
	grep -q "^=== rank 3 (host localhost, pid $(cat $T/j1/pid.3)): taken: python frames: not available (process stopped)" $T/st.out
is "stopped rank 3: no Python frames section" "$(stack_section $T/st.out 3 | grep -c '^Python frames')" 0
if command -v gdb > /dev/null; then
	is "native frames (gdb) of every rank still" "$(frames_in $T/st.out '#0 ')" 4
else
	skip "native frames of every rank still" "no gdb"
fi
is "the launcher's summary names each running rank's Python frame" \
	"$(grep -c "^muster:   rank [0-2] (host localhost, pid [0-9]*): python $W:[0-9]* wait_in_here" $T/err)" 3
is "stopped rank 3 is still stopped" "$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' /proc/$(cat $T/j1/pid.3)/status)" T
kill -CONT $(cat $T/j1/pid.3)
touch $T/j1/go
wait $mpid
is "the job ends well" $? 0
is "every rank ran to its end, its handlers unchanged" "$(grep -c '^\[[0-3]\] handled 0 sitecustomize none$' $T/out)" 4
is "the agents' folders are gone" "$(ls -A $T/tmp)" ""

# --- one node, 5 ranks: a forked child; a user's sitecustomize and
# handlers of its own; the signal taken (ignored): the next one; a shell
# that forged a registration; the C loop ---
mkdir -p $T/j2 $T/usite
printf 'import os\nUSER_MARK = "user-" + os.environ.get("RANK", "?")\n' > $T/usite/sitecustomize.py
cat > $T/rank.sh <<EOF
case \$RANK in
0) PYW_FORK=1 exec $PY $W ;;
1) PYW_HANDLERS=1 exec $PY $W ;;
2) trap '' $SIG; exec $PY $W ;;
3)	# no handler for $SIG: the signal would kill it
	start=\$(sed 's/.*) //' /proc/\$\$/stat | cut -d' ' -f20)
	exec 9> \$MUSTER_PYSTACKS/\$\$
	echo "muster-pystacks 1 pid=\$\$ start=\$start signal=$SIG fd=9 main=0x1" >&9
	echo \$\$ > $T/j2/pid.3
	while [ ! -e $T/j2/go ]; do sleep 0.1; done
	echo "sh done" ;;
4) echo \$\$ > $T/j2/pid.4; exec $LOOP 40 ;;
esac
EOF
TMPDIR=$T/tmp PYW_DIR=$T/j2 PYTHONPATH=$T/usite $MUSTER -n 5 --run-dir $T/muster-runs/mix -- \
	sh $T/rank.sh > $T/out 2> $T/err &
mpid=$!
wait_files 5 "$T/j2/pid.*"
got=$(head -1 $T/tmp/muster-metrics-*/py.2/$(cat $T/j2/pid.2) 2>/dev/null)
ok_if "rank 2 ($SIG ignored): registered the next signal, $((SIG + 1))" \
	sh -c "echo '$got' | grep -q ' signal=$((SIG + 1)) '"
$MUSTER stacks mix > $T/st.out 2> $T/st.err
is "muster stacks: exit 0" $? 0
is "every rank's stack" "$(stacks_of $T/st.out)" "0:taken 1:taken 2:taken 3:taken 4:taken"
is "ranks 0-2: Python frames in wait_in_here" "$(frames_in $T/st.out ' in wait_in_here')" 3
is "rank 0's forked child too, in wait_in_child, its own section" \
	"$(stack_section $T/st.out 0 | grep -A3 "^Python frames (pid $(cat $T/j2/child.0)," | grep -c ' in wait_in_child')" 1
is "ranks 3 (a pretender) and 4 (C): no Python frames" \
	"$( (stack_section $T/st.out 3; stack_section $T/st.out 4) | grep -c '^Python frames')" 0
touch $T/j2/go
wait $mpid
is "the job ends well (no rank killed by the signal)" $? 0
is "ranks 0-2: the user's sitecustomize ran, their own handlers never called" \
	"$(sed -n 's/^\[\([0-2]\)\] handled \([0-9]*\) sitecustomize \(.*\)/\1 \2 \3/p' $T/out | sort | tr '\n' ,)" \
	"0 0 user-0,1 0 user-1,2 0 user-2,"
is "rank 3 (sh, forged, not catching $SIG) ran to its end" "$(grep -c '^\[3\] sh done$' $T/out)" 1
is "rank 4 (the C loop) ran to its end" "$(grep -c '^\[4\] tick 39$' $T/out)" 1
is "the agent's folder is gone" "$(ls -A $T/tmp)" ""

# --- --no-record: the whole snapshot on stderr, Python frames in it ---
mkdir -p $T/j3
TMPDIR=$T/tmp PYW_DIR=$T/j3 $MUSTER -n 1 --no-record -- $PY $W > $T/out 2> $T/err &
mpid=$!
wait_files 1 "$T/j3/pid.*"
kill -USR1 $mpid
i=0
while ! grep -q '^=== rank 0' $T/err && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
touch $T/j3/go
wait $mpid
is "--no-record: the job ends well" $? 0
ok_if "--no-record: the snapshot (on stderr) holds the Python frames" \
	grep -q "^  File \"$W\", line [0-9]* in wait_in_here$" $T/err

# --- an installed muster finds its hook in PREFIX/share/muster/python ---
I=$T/inst
mkdir -p $I/bin $I/share/muster/python/muster $I/share/muster/python/muster-hook
cp $MUSTER $I/bin/
cp lib/python/muster/__init__.py $I/share/muster/python/muster/
cp $HOOK/sitecustomize.py $I/share/muster/python/muster-hook/
PYTHONPATH=/elsewhere $I/bin/muster -n 1 --no-record --no-tag -- sh -c 'echo $PYTHONPATH' > $T/out 2>&1
is "installed: PYTHONPATH: its hook, the user's, its helper" "$(cat $T/out)" \
	"$I/share/muster/python/muster-hook:/elsewhere:$I/share/muster/python"

# --- over 2 namespaced ssh hosts: each host's agent, its own hook ---
hosts_up 2 "Python frames over ssh hosts"
mkdir -p $T/j4
$in_h1 $MUSTER -H h1:1,h2:1 --run-dir $T/muster-runs/ssh -- \
	env PYW_DIR=$T/j4 $PY $W > $T/out 2> $T/err &
mpid=$!
wait_files 2 "$T/j4/pid.*"
$in_h1 $MUSTER stacks ssh > $T/st.out 2> $T/st.err
is "ssh hosts: muster stacks on h1" $? 0
is "ssh hosts: both ranks' Python frames in wait_in_here" "$(frames_in $T/st.out ' in wait_in_here')" 2
ok_if "ssh hosts: from h1 and h2" sh -c "grep -q '^=== rank 0 (host h1, pid' $T/st.out &&
	grep -q '^=== rank 1 (host h2, pid' $T/st.out"
touch $T/j4/go
wait $mpid
is "ssh hosts: the job ends well" $? 0

done_testing
