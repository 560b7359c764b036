#!/bin/sh
# Outputs (launcher/gather.h): each host's ./outputs (or --output-dir),
# written by the ranks through $MUSTER_OUTPUT_DIR or the relative path,
# is gathered into the run directory's outputs/ when the ranks end, with
# its sizes in run.json's "outputs"; stale files, symbolic links and clashes.
. "$(dirname "$0")/lib.sh"

# py EXPR FILE: EXPR of j, the "outputs" of run.json FILE (nothing when
# it is no JSON)
py() { $PY -c 'import json, sys
j = json.load(open(sys.argv[2]))["outputs"]
print(eval(sys.argv[1]))' "$1" "$2" 2> /dev/null; }
# listed FILE: "path:size:node" of each file run.json's outputs lists, sorted
listed() { $PY -c 'import json, sys
for e in json.load(open(sys.argv[1]))["outputs"]["list"]:
    print("%s:%d:%d" % (e["path"], e["size"], e["node"]))' "$1" |
	sort | tr '\n' ' '; }

# --- 2 virtual nodes x 2 ranks: every rank's files, whole
W=$T/w
mkdir -p $W/outputs
cd $W
echo "from an earlier run" > outputs/stale.txt
sleep 0.05	# file times are stamped with a coarse clock
$MUSTER --nodes 2 --procs-per-node 2 --run-dir $T/D1 -- sh -c '
	echo "rank $RANK $MUSTER_OUTPUT_DIR" > "$MUSTER_OUTPUT_DIR/rank$RANK.txt"
	head -c 5000000 /dev/urandom > outputs/big$RANK.bin
	if [ $RANK = 0 ]; then
		ln -s /etc/passwd outputs/passwd-link
		ln -s /etc outputs/etc-link
		mkdir -p outputs/sub/deeper && echo deep > outputs/sub/deeper/f
	fi' > $T/out 2> $T/err
is "2 nodes x 2 ranks writing outputs: exit 0" $? 0
n=0
for r in 0 1 2 3; do
	cmp -s $W/outputs/big$r.bin $T/D1/outputs/big$r.bin && n=$((n + 1))
	cmp -s $W/outputs/rank$r.txt $T/D1/outputs/rank$r.txt && n=$((n + 1))
done
is "... all 8 files of the 4 ranks (both nodes) in outputs/, byte for byte" \
	$n 8
is "... each rank's MUSTER_OUTPUT_DIR is ./outputs, absolute" \
	"$(cat $T/D1/outputs/rank2.txt)" "rank 2 $W/outputs"
is "... run.json: every file with its size" "$(listed $T/D1/run.json)" \
"big0.bin:5000000:0 big1.bin:5000000:0 big2.bin:5000000:0 \
big3.bin:5000000:0 rank0.txt:$((${#W} + 16)):0 rank1.txt:$((${#W} + 16)):0 \
rank2.txt:$((${#W} + 16)):0 rank3.txt:$((${#W} + 16)):0 sub/deeper/f:5:0 "
is "... files and bytes counted" \
	"$(py '"%d %d" % (j["files"], j["bytes"])' $T/D1/run.json)" \
	"9 $((20000000 + 4 * (${#W} + 16) + 5))"
stale_ok() { [ ! -e $T/D1/outputs/stale.txt ] &&
	[ "$(py 'j["skipped_old"]' $T/D1/run.json)" = 1 ]; }
ok_if "... the stale file of an earlier run is not gathered (1 skipped)" \
	stale_ok
ok_if "... symbolic links (to a file, to a folder) are not followed" \
	sh -c "[ ! -e $T/D1/outputs/passwd-link ] && [ ! -e $T/D1/outputs/etc-link ] &&
	[ ! -e $T/D1/outputs/etc-link/passwd ]"
is "... and are listed as errors" "$(py '" ".join(sorted(e["path"] + ":" +
	str("symbolic link" in e["error"]) for e in j["errors"]))' \
	$T/D1/run.json)" "etc-link:True passwd-link:True"
is "... one line on stderr says what was not gathered" \
	"$(grep -c "^muster: outputs: 2 things were not gathered: node 0, '[a-z]*-link': a symbolic link: not followed" $T/err)" 1

# --- a failed run gathers too; ranks stopped by the head included
rm -rf $W/outputs
$MUSTER --nodes 2 --procs-per-node 2 --grace 1 --run-dir $T/D2 -- sh -c '
	echo "r$RANK" > "$MUSTER_OUTPUT_DIR/before$RANK.txt"
	[ $RANK = 3 ] && { sleep 0.3; exit 3; }
	trap "echo term$RANK > \"\$MUSTER_OUTPUT_DIR/term$RANK.txt\"; exit 1" TERM
	sleep 30 & wait' > $T/out 2> $T/err
is "a failed run: the failing rank's code" $? 3
is "... every rank's outputs gathered, those written on SIGTERM too" \
	"$(cd $T/D2/outputs && cat before0.txt before1.txt before2.txt \
	before3.txt term0.txt term1.txt term2.txt 2> /dev/null | tr '\n' ' ')" \
	"r0 r1 r2 r3 term0 term1 term2 "
is "... run.json lists all 7" "$(py 'j["files"]' $T/D2/run.json)" 7

# --- outputs that take longer to send than the head gives agents to end
# after a failure (--grace 0.1 + 1 s): not cut
rm -rf $W/outputs
$MUSTER --nodes 2 --procs-per-node 1 --grace 0.1 --run-dir $T/D5 -- sh -c '
	[ $RANK = 1 ] || exec sleep 30
	head -c 400000000 /dev/zero > outputs/big.bin
	date +%s%3N > '$T'/failed_at; exit 3' 2> $T/err
rc=$?
ms=$(($(now_ms) - $(cat $T/failed_at)))
got="$rc $(stat -c %s $T/D5/outputs/big.bin 2> /dev/null)"
if [ "$got" = "3 400000000" ] && [ $ms -lt 1500 ]; then	# too fast to tell
	skip "400 MB of outputs after a failure, not cut" "sent in $ms ms"
else
	is "400 MB of outputs after a failure, in $ms ms: not cut" "$got" \
		"3 400000000"
fi
rm -rf $T/D5 $W/outputs

# --- --output-dir: that folder is gathered (and MUSTER_OUTPUT_DIR is it)
$MUSTER --nodes 2 --procs-per-node 1 --output-dir $T/od --run-dir $T/D3 -- \
	sh -c 'echo "$MUSTER_OUTPUT_DIR" > "$MUSTER_OUTPUT_DIR/o$RANK"' \
	2> $T/err
is "--output-dir D: D gathered" "$? $(cat $T/D3/outputs/o0 $T/D3/outputs/o1 |
	tr '\n' ' ')" "0 $T/od $T/od "

# --- -x MUSTER_OUTPUT_DIR: the rank's own value stays
$MUSTER -n 1 -x MUSTER_OUTPUT_DIR=/nowhere --run-dir $T/D6 -- \
	sh -c 'echo "$MUSTER_OUTPUT_DIR" > outputs/where' 2> $T/err
is "-x MUSTER_OUTPUT_DIR=/nowhere: kept (./outputs still gathered)" \
	"$? $(cat $T/D6/outputs/where)" "0 /nowhere"

# --- a full disk in the run directory: one line, the job's status kept
mkdir $T/small
if mount -t tmpfs -o size=1m muster-t6100 $T/small 2> /dev/null; then
	$MUSTER --nodes 2 --procs-per-node 1 --run-dir $T/small/D -- sh -c '
		echo small > outputs/small$RANK
		head -c 3000000 /dev/zero > outputs/big$RANK' 2> $T/err
	rc=$?
	umount $T/small
	is "outputs on a full disk: exit 0, one line says so" \
		"$rc $(grep -c '^muster: outputs: cannot write .*No space left on device' $T/err) $(wc -l < $T/err)" \
		"0 1 2"
else
	skip "outputs on a full disk" "cannot mount a tmpfs here"
fi

# --- no run record: nothing gathered, no outputs folder made
mkdir $T/empty && cd $T/empty
$MUSTER --nodes 2 -n 2 --no-record -- true
is "--no-record: exit 0, no ./outputs made" "$? $(ls $T/empty)" "0 "
cd $W

# --- real hosts: each its own disk
hosts_up 3 "outputs gathered from test hosts"
# The test hosts share this machine's files; a host of its own disk is
# played by a mount namespace where the job's folder ($T/run) is that
# host's $T/disk-hK, for h2 and h3 (reached over ssh; the launcher runs
# in h1, in $T/run itself).  For h3, h2 is its relay (--fanout 1).
own_disks h2 h3
$in_h1 sh -c "cd $T/run && exec $MUSTER --ssh 'sh $T/hostssh' --fanout 1 \
	-H h1:1,h2:1,h3:1 --timeout 60 --run-dir $T/D4 -- sh -c '
	h=\$(hostname)
	echo \$h > outputs/host-\$h.txt
	echo \"common from \$h\" > outputs/common.txt
	echo same > \$MUSTER_OUTPUT_DIR/same.txt'" > $T/out 2> $T/err
is "3 hosts (h3 through h2's relay) writing outputs: exit 0" $? 0
sed 's/^/# /' $T/err | head -5
is "... each host's files, from its own disk" \
	"$(cd $T/D4/outputs && cat host-h1.txt host-h2.txt host-h3.txt \
	2> /dev/null | tr '\n' ' ')" "h1 h2 h3 "
ok_if "... h2's and h3's were not on h1's (the test can tell)" \
	sh -c "[ ! -e $T/run/outputs/host-h2.txt ] &&
	[ -e $T/disk-h2/outputs/host-h2.txt ]"
is "... a same-named file with other bytes goes to node.I/" \
	"$(cat $T/D4/outputs/common.txt $T/D4/outputs/node.1/common.txt \
	$T/D4/outputs/node.2/common.txt 2> /dev/null | tr '\n' ' ')" \
	"common from h1 common from h2 common from h3 "
is "... listed with each node; the same bytes listed once" \
	"$(listed $T/D4/run.json)" "common.txt:15:0 host-h1.txt:3:0 \
host-h2.txt:3:1 host-h3.txt:3:2 node.1/common.txt:15:1 \
node.2/common.txt:15:2 same.txt:5:0 "
ok_if "... no node.I copy of the identical file" \
	sh -c "[ ! -e $T/D4/outputs/node.1/same.txt ] &&
	[ ! -e $T/D4/outputs/node.2/same.txt ]"
done_testing
