#!/bin/sh
# Run records end to end: real jobs, on 2 virtual nodes and on 2 test
# hosts with disks of their own, print output, write ./outputs and log
# metrics (the text form from the shell, run.log from Python) on both
# nodes; each run directory is complete (tests/py/checkrun.py).  Then
# muster runs, show, plot and compare read those runs and the plot
# renders in headless Chromium.
. "$(dirname "$0")/lib.sh"

R=$MUSTER_RUNS_DIR
# the job: each rank's output, outputs file and metrics (checkrun.py)
job='echo "out of $RANK"; echo "err of $RANK" >&2
echo "rank $RANK of $NODE_RANK" > $MUSTER_OUTPUT_DIR/rank$RANK.txt
for i in 0 1 2 3 4; do
	awk -v i=$i -v r=$RANK "BEGIN { printf \"loss %.4f %d\\n\", 1 / (i + 1 + r), i }" > $MUSTER_METRICS
done
'$PY' -c "from muster import run; run.log(\"acc\", 0.5 + 0.1 * $RANK, step=0)"'
jget() { $PY -c 'import json, sys
j = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2" 2> /dev/null; }

# --- 2 virtual nodes x 2 ranks
mkdir -p $T/w && cd $T/w
$MUSTER --nodes 2 --procs-per-node 2 --job-id vnodes -- sh -c "$job" \
	> $T/out 2> $T/err
is "2 virtual nodes: exit 0, nothing on stderr but the ranks'" \
	"$? $(grep -v '^\[[0-3]\] err of [0-3]$' $T/err)" "0 "
is "... its run directory is complete" \
	"$($PY $ROOT/tests/py/checkrun.py $R/vnodes 4 2 Completed shared)" complete
is "... the ranks' outputs folder is the job's ./outputs" \
	"$(ls $T/w/outputs | tr '\n' ' ')" "rank0.txt rank1.txt rank2.txt rank3.txt "

# --- a failed run: which rank failed first, and why
$MUSTER --nodes 2 --procs-per-node 2 --job-id failed --grace 1 -- sh -c '
	if [ $RANK = 1 ]; then sleep 0.3; echo "loss 9 0" > $MUSTER_METRICS
		echo boom >&2; exit 3; fi
	echo "loss 1 0" > $MUSTER_METRICS; exec sleep 30' > /dev/null 2> $T/ferr
rc=$?
reason=$(grep '^muster: rank 1 ' $T/ferr | sed 's/^muster: //')
is "a failed run: exit 3, Failed, rank 1 first, its reason as printed" \
	"$rc $(jget $R/failed/run.json '(j["status"], j["first_failure"]["rank"],
	j["first_failure"]["exit_code"], j["first_failure"]["reason"])')" \
	"3 ('Failed', 1, 3, '$reason')"
is "... the others were stopped by muster" \
	"$(jget $R/failed/run.json '" ".join("%d:%s" % (r["rank"], r["status"])
	for r in j["ranks"])')" "0:Killed 1:Failed 2:Killed 3:Killed"
is "... its stderr log holds what it said" "$(cat $R/failed/logs/rank.1.stderr)" boom

# --- what muster runs, show, plot and compare say of them
$MUSTER runs > $T/runs
ok_if "runs: both, newest first" sh -c "sed -n 2p $T/runs | grep -q '^failed .* Failed ' &&
	sed -n 3p $T/runs | grep -q '^vnodes .* Completed '"
ok_if "runs: the last value of each metric" sh -c "
	grep -q '^failed .* loss=9 *\$' $T/runs && grep -Eq '^vnodes .* (acc=0\.[5-8] loss=0\.[0-9]+|loss=0\.[0-9]+ acc=0\.[5-8]) *\$' $T/runs"
$MUSTER show vnodes > $T/show
ok_if "show: status, ranks and metrics" sh -c "grep -q 'Completed' $T/show &&
	grep -Eq '^ *3 .*Completed' $T/show && grep -q 'loss' $T/show"
is "show --json: the run and where it is" \
	"$($MUSTER show vnodes --json | $PY -c 'import json, sys
j = json.load(sys.stdin); print(j["status"], j["np"], j["interrupted"], j["dir"].endswith("vnodes"))')" \
	"Completed 4 False True"
$MUSTER compare vnodes failed > $T/cmp
ok_if "compare: both runs' statuses side by side" \
	grep -Eq 'Completed +Failed' $T/cmp
$MUSTER plot vnodes loss -o $T/loss.svg > $T/plot
is "plot: the path it wrote" "$(cat $T/plot)" "$T/loss.svg"
$PY $ROOT/tests/py/svginfo.py $T/loss.svg > $T/info
is "plot: valid XML, one series per rank, 5 points each, a legend" \
	"$($PY -c 'import json, sys
c = json.load(open(sys.argv[1]))["charts"][0]
print([s["label"] for s in c["series"]], [s["points"] for s in c["series"]], c["legend"])' $T/info)" \
	"['rank 0', 'rank 1', 'rank 2', 'rank 3'] [5, 5, 5, 5] ['rank 0', 'rank 1', 'rank 2', 'rank 3']"
$MUSTER plot vnodes loss --mean -o $T/mean.svg > /dev/null
is "plot --mean: one series" "$($PY $ROOT/tests/py/svginfo.py $T/mean.svg |
	$PY -c 'import json, sys
print([s["label"] for s in json.load(sys.stdin)["charts"][0]["series"]])')" "['mean']"
if command -v chromium > /dev/null; then
	timeout 60 chromium --headless --no-sandbox --disable-gpu \
		--force-device-scale-factor=1 --hide-scrollbars \
		--user-data-dir=$T/chromium --screenshot=$T/loss.png \
		--window-size=960,384 file://$T/loss.svg > $T/chromium.log 2>&1
	area=$($PY -c 'import json,sys
x, y, w, h = json.load(open(sys.argv[1]))["charts"][0]["area"]
print(int(x) + 2, int(y) + 2, int(x + w) - 2, int(y + h) - 2)' $T/info)
	cols=$($PY -c 'import json,sys
print(" ".join(s["stroke"] for s in json.load(open(sys.argv[1]))["charts"][0]["series"]))' $T/info)
	$PY $ROOT/tests/py/pngcolors.py $T/loss.png $area 10 $cols > $T/px
	is "chromium draws each rank's line of the real run in its colour" \
		"$(awk '{ print ($2 >= 10 ? "drawn" : "missing " $2) }' $T/px | tr '\n' ' ')" \
		"drawn drawn drawn drawn "
else
	skip "chromium draws the real run's lines" "no chromium (make check installs it as root)"
fi

# --- 2 test hosts, each with a disk of its own for the job's folder
hosts_up 2 "a run record of a job on test hosts"
# as in t6100: h2 sees its own $T/disk-h2 as the job's folder $T/run
own_disks h2
printf '%s\n' "$job" > $T/job.sh
$in_h1 sh -c "cd $T/run && MUSTER_RUNS_DIR=$R exec $MUSTER --ssh 'sh $T/hostssh' \
	-H h1:2,h2:2 --timeout 60 --job-id hosts -- sh $T/job.sh" > $T/out 2> $T/err
is "2 test hosts: exit 0" "$? $(grep -v '^\[[0-3]\] err of [0-3]$' $T/err)" "0 "
is "... its run directory is complete, h2's part from h2" \
	"$($PY $ROOT/tests/py/checkrun.py $R/hosts 4 2 Completed)" complete
ok_if "... h2's outputs were only on h2's disk (the test can tell)" \
	sh -c "[ -e $T/disk-h2/outputs/rank2.txt ] && [ ! -e $T/run/outputs/rank2.txt ]"
is "... hosts named in run.json" \
	"$(jget $R/hosts/run.json '" ".join(h["host"] for h in j["hosts"])')" "h1 h2"
done_testing
