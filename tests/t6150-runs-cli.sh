#!/bin/sh
# muster runs / show / plot / compare on hand-made run directories
# (launcher/runrec.h, metrics.h: tests/py/mkrun.py writes them), the SVG
# parsed (xml.etree) and rendered in headless Chromium.
. "$(dirname "$0")/lib.sh"

R=$T/runs
MK="$PY tests/py/mkrun.py"
now=$(date +%s)
$MK $R/abc123 abc123 Completed $((now - 3600)) np=4 nodes=2 dur=95 \
	metrics=loss:down,acc:up
$MK $R/abd456 abd456 Failed $((now - 1800)) np=4 dur=12 fail=2 \
	metrics=loss:down opt.lr=0.5
$MK $R/live01 live01 Running $((now - 60)) np=2 metrics=loss:down summary=0
$MK $R/dead01 dead01 Running $((now - 120)) np=2 metrics=loss:down summary=0
$MK $R/big001 big001 Failed $((now - 7200)) np=40 nodes=4 dur=4000 fail=17
$MK $R/odd001 odd001 Completed $((now - 9000)) np=2 dur=1 steps=5 \
	'metrics=one:one,nul:null,a<b&c"d:down,lst:list,loss:flat' bad=3
# a launcher holds live01's lock (flock execs sleep: one process)
flock -F -x $R/live01/.lock sleep 120 &
lockpid=$!
stop_lock() { kill $lockpid 2>/dev/null; wait $lockpid 2>/dev/null; }
test_cleanup_hooks="stop_lock $test_cleanup_hooks"
i=0
while [ $i -lt 100 ] && flock -n -s $R/live01/.lock true; do
	sleep 0.02; i=$((i + 1))
done
m() { m_cmd=$1; shift; $MUSTER $m_cmd --runs-dir $R "$@"; }

# runs: newest first, Interrupted only where no launcher holds the lock
m runs > $T/out 2> $T/err
is "runs: exit 0, nothing on stderr" "$?:$(cat $T/err)" "0:"
is "runs: newest first" "$(awk 'NR > 1 { print $1 }' $T/out | tr '\n' ' ')" \
	"live01 dead01 abd456 abc123 big001 odd001 "
is "runs: header" "$(head -1 $T/out | tr -s ' ')" \
	"ID START DURATION RANKS HOSTS STATUS METRICS"
ok_if "runs: live01 Running, dead01 Interrupted" sh -c \
	"grep -q '^live01 .* Running ' $T/out && grep -q '^dead01 .* Interrupted ' $T/out"
ok_if "runs: two hosts as 'node0 +1', ranks, duration" \
	grep -q '^abc123  .*  1m35s  *4  *node0 +1  *Completed  *loss=0\.[0-9]* acc=0\.[0-9]*$' $T/out
ok_if "runs: big001's 40 ranks, 4 hosts, 1h06m" \
	grep -q '^big001  .*  1h06m  *40  *node0 +3  *Failed *$' $T/out
# last values: from the summary, or from metrics.jsonl when there is none
want=$($PY -c 'import json,sys
for l in open(sys.argv[1]): e = json.loads(l)
print("loss=%.4g" % e["value"])' $R/live01/metrics.jsonl)
ok_if "runs: a running run's last loss read from metrics.jsonl ($want)" \
	grep -q "^live01 .* $want\$" $T/out
MUSTER_RUNS_DIR=$R $MUSTER runs > $T/out2
is "runs: MUSTER_RUNS_DIR" "$(cut -c1-30 $T/out2)" "$(cut -c1-30 $T/out)"
$MUSTER runs --runs-dir $T/nothing > $T/out; rc=$?
is "runs: no runs directory" "$rc:$(cat $T/out)" "0:no runs in $T/nothing"
is "runs --json: no runs directory" "$($MUSTER runs --json --runs-dir $T/nothing)" "[]"
# on a terminal, lines are cut to its width
script -q -c "stty cols 50; $MUSTER runs --runs-dir $R" /dev/null > $T/tty 2>&1
is "runs: cut to a 50-column terminal" \
	"$(tr -d '\r' < $T/tty | awk '{ if (length($0) > m) m = length($0) } END { print m }')" 50

# runs --json: an array, newest first
m runs --json > $T/json
is "runs --json" "$($PY -c 'import json,sys
v = json.load(open(sys.argv[1]))
print(" ".join("%s:%s:%s:%d" % (r["id"], r["status"], r["interrupted"],
    len(r["hosts"])) for r in v))
print(v[3]["metrics"]["loss"] > 0, v[3]["dir"].endswith("/abc123"), v[3]["np"])' $T/json)" \
	"live01:Running:False:1 dead01:Running:True:1 abd456:Failed:False:1 abc123:Completed:False:2 big001:Failed:False:4 odd001:Completed:False:1
True True 4"

# show: summary, each rank, each metric's count, last and best
m show abc > $T/out 2> $T/err
is "show: exit 0" "$?:$(cat $T/err)" "0:"
ok_if "show: status, command, hosts" sh -c "grep -q '^status    Completed (exit code 0)' $T/out &&
	grep -q '^command   python3 train.py --lr 0.1\$' $T/out &&
	grep -q '^hosts     2: node0 (ranks 0-1), node1 (ranks 2-3)\$' $T/out"
is "show: one row per rank" "$(grep -c '^  [0-3]  *node[01]  *100[0-3]  *0  *-  *Completed$' $T/out)" 4
best=$($PY -c 'import json,sys
v = [json.loads(l) for l in open(sys.argv[1])]
lo = min(e["value"] for e in v if e["name"] == "loss")
hi = max(e["value"] for e in v if e["name"] == "acc")
print("%.4g %.4g" % (lo, hi))' $R/abc123/metrics.jsonl)
is "show: best loss is the min, best acc the max" \
	"$(awk '$1 == "loss" || $1 == "acc" { print $2, $4, $5 }' $T/out | tr '\n' ' ')" \
	"80 ${best% *} (min) 80 ${best#* } (max) "
ok_if "show: outputs, logs and plot" sh -c "grep -q '^outputs   2 files, 2.9 KiB in $R/abc123/outputs' $T/out &&
	grep -q '^logs      $R/abc123/logs' $T/out && grep -q '^plot .*$R/abc123/plot.svg' $T/out"
m show abd > $T/out
ok_if "show: the first failure and its reason" \
	grep -q '^failure   rank 2 (host node0, pid 1002) exited with code 3$' $T/out
# 40 ranks: runs that ended alike collapse into one row
m show big001 > $T/out
is "show: 40 ranks in 3 rows" "$(sed -n '/^  RANK/,/^$/p' $T/out | sed 1d | sed '/^$/d' | tr -s ' ')" \
" 0-16 (several) - 143 SIGTERM Killed
 17 node1 1017 3 - Failed
 18-39 (several) - 143 SIGTERM Killed"
m show dead01 > $T/out
ok_if "show: an interrupted run says so" \
	grep -q '^status    Interrupted (run.json says Running; its launcher is gone)' $T/out
ok_if "show: a running run's metrics from metrics.jsonl" \
	grep -q '^  loss *40 ' $T/out
# which run: latest, -N, a path
is "show latest is the newest" "$(m show latest | head -1)" "run       live01"
is "show -2" "$(m show -2 | head -1)" "run       dead01"
is "show -6 is the oldest" "$(m show -6 | head -1)" "run       odd001"
is "show by path" "$($MUSTER show $R/abd456 | head -1)" "run       abd456"
is "show by path, from inside it" "$(cd $R/abd456 && $MUSTER show . | sed -n 2p)" \
	"dir       ."

# show --json: run.json, with interrupted and dir
for r in abc123:False live01:False dead01:True; do
	m show ${r%:*} --json > $T/json
	is "show --json ${r%:*}" "$($PY -c 'import json,sys
j = json.load(open(sys.argv[1]))
print(j["id"], j["interrupted"], j["dir"] == sys.argv[2], j["version"], len(j["ranks"]))' \
	$T/json $R/${r%:*})" "${r%:*} ${r#*:} True 1 $($PY -c 'import json,sys
print(len(json.load(open(sys.argv[1]))["ranks"]))' $R/${r%:*}/run.json)"
done

# compare: side by side, options that differ, metrics per run
m compare abc abd > $T/out 2> $T/err
is "compare: exit 0" "$?:$(cat $T/err)" "0:"
is "compare: header and status" "$(sed -n '1,2p' $T/out | tr -s ' ')" \
" abc123 abd456
status Completed Failed"
ok_if "compare: the options that differ, not the others" sh -c "
	grep -q '^option nodes  *2  *1\$' $T/out && grep -q '^option lr  *-  *0.5\$' $T/out &&
	! grep -q '^option np ' $T/out"
ok_if "compare: each metric's last and best" sh -c "
	grep -q '^loss best (min)  *0\.[0-9]*  *0\.[0-9]*\$' $T/out &&
	grep -q '^acc last  *0\.[0-9]*  *-\$' $T/out"
m compare abc abd latest dead > $T/out
is "compare: four runs" "$(head -1 $T/out | tr -s ' ')" " abc123 abd456 live01 dead01"

# plot: one chart per metric, one path per rank, legend, ticks, titles
m plot abc > $T/out 2> $T/err
is "plot: prints the SVG's path" "$?:$(cat $T/out):$(cat $T/err)" "0:$R/abc123/plot.svg:"
$PY tests/py/svginfo.py $R/abc123/plot.svg > $T/info
is "plot: charts, series, legend and titles" "$($PY -c 'import json,sys
for c in json.load(open(sys.argv[1]))["charts"]:
    print(c["metric"], [s["label"] for s in c["series"]] == c["legend"],
          len(c["series"]), len(set(s["stroke"] for s in c["series"])),
          [s["points"] for s in c["series"]], c["axis_titles"], c["title"])' $T/info)" \
"loss True 4 4 [20, 20, 20, 20] ['step', 'loss'] loss (run abc123)
acc True 4 4 [20, 20, 20, 20] ['step', 'acc'] acc (run abc123)"
is "plot: ticks at 1-2-5 steps around the data" "$($PY -c 'import json,sys
c = json.load(open(sys.argv[1]))["charts"][0]
d = [round(b - a, 9) for a, b in zip(c["yticks"], c["yticks"][1:])]
print(c["xticks"][0], c["xticks"][-1], len(set(d)), len(c["yticks"]) >= 3,
      str(d[0]).strip("0.") in ("1", "2", "5"))' $T/info)" "0.0 20.0 1 True True"
# --mean: one line, each step's mean over the ranks
m plot abc loss --mean -o $T/mean.svg > $T/out
$PY tests/py/svginfo.py $T/mean.svg > $T/info
is "plot --mean: one series, 20 points" "$(cat $T/out) $($PY -c 'import json,sys
c = json.load(open(sys.argv[1]))["charts"]
print(len(c), c[0]["legend"], c[0]["series"][0]["points"])' $T/info)" \
	"$T/mean.svg 1 ['mean'] 20"
# a live run's last line, half written: no complaint
printf '{"t":1.0,"rank":0,"name":"loss","st' >> $R/live01/metrics.jsonl
m plot live01 > $T/out 2> $T/err
is "plot: a line still being written is no bad line" "$?:$(cat $T/err)" "0:"
m plot abc acc > $T/out
is "plot METRIC: plot-METRIC.svg" "$(cat $T/out)" "$R/abc123/plot-acc.svg"
# odd names and shapes: one point, all null, a list, markup in a name
m plot odd001 > $T/out 2> $T/err
is "plot: odd metrics plotted, 3 bad lines said" "$?:$(cat $T/err)" \
	"0:muster: $R/odd001/metrics.jsonl: 3 lines that are no metric skipped (the first: line 43)"
$PY tests/py/svginfo.py $R/odd001/plot.svg > $T/info
is "plot: one point, null, escaped name" "$($PY -c 'import json,sys
for c in json.load(open(sys.argv[1]))["charts"]:
    print(c["metric"], len(c["series"]), [s["points"] for s in c["series"]])' $T/info)" \
"one 2 [1, 1]
nul 0 []
a<b&c\"d 2 [5, 5]
loss 2 [5, 5]"
ok_if "plot: a chart with no values says so" \
	grep -q '>no finite values</text>' $R/odd001/plot.svg

# 10^5 steps on 2 ranks: at most ~2000 points per path, spikes kept
$PY -c 'import sys
with open(sys.argv[1], "w") as f:
    for s in range(100000):
        for r in range(2):
            v = 100.0 if s == 54321 else (s % 1000) / 1000.0
            f.write("{\"t\":1.0,\"rank\":%d,\"name\":\"loss\",\"step\":%d,\"value\":%r}\n" % (r, s, v))' \
	$R/odd001/metrics.jsonl
start=$(now_ms)
m plot odd001 -o $T/big.svg > /dev/null
ms=$(($(now_ms) - start))
$PY tests/py/svginfo.py $T/big.svg > $T/info
is "plot: 2 x 10^5 points thinned, the spike kept (${ms} ms, $(wc -c < $T/big.svg) bytes)" \
	"$($PY -c 'import json,sys
c = json.load(open(sys.argv[1]))["charts"][0]
print([1000 < s["points"] <= 2002 for s in c["series"]], c["yticks"][-1] >= 100)' $T/info)" \
	"[True, True] True"
ok_if "plot: the SVG stays small" [ $(wc -c < $T/big.svg) -lt 200000 ]

# the chart in a browser: every series' colour is drawn in the plot area
if ! command -v chromium > /dev/null && [ "$(id -u)" = 0 ]; then
	(timeout 300 apt-get install -y --no-install-recommends chromium ||
	    { timeout 300 apt-get update && timeout 300 apt-get install -y \
	    --no-install-recommends chromium; }) > $T/apt.log 2>&1
fi
if command -v chromium > /dev/null; then
	m plot abc loss -o $T/loss.svg > /dev/null
	start=$(now_ms)
	timeout 60 chromium --headless --no-sandbox --disable-gpu \
		--force-device-scale-factor=1 --hide-scrollbars \
		--user-data-dir=$T/chromium --screenshot=$T/loss.png \
		--window-size=960,384 file://$T/loss.svg > $T/chromium.log 2>&1
	ms=$(($(now_ms) - start))
	$PY tests/py/svginfo.py $T/loss.svg > $T/info
	area=$($PY -c 'import json,sys
x, y, w, h = json.load(open(sys.argv[1]))["charts"][0]["area"]
print(int(x) + 2, int(y) + 2, int(x + w) - 2, int(y + h) - 2)' $T/info)
	cols=$($PY -c 'import json,sys
print(" ".join(s["stroke"] for s in json.load(open(sys.argv[1]))["charts"][0]["series"]))' $T/info)
	# and one colour of the palette that no series has: never seen
	$PY tests/py/pngcolors.py $T/loss.png $area 40 $cols '#9467bd' > $T/px
	is "chromium renders each rank's line in its colour (${ms} ms)" \
		"$(awk '{ print ($2 >= 50 ? "drawn" : "missing " $2) }' $T/px | tr '\n' ' ')" \
		"drawn drawn drawn drawn missing 0 "
else
	skip "chromium renders the chart" "no chromium (not root, or apt failed: $(tail -1 $T/apt.log 2>/dev/null))"
fi

# bad input: one line, exit 2
bad "no run 'nope' in $R (muster runs lists them)" show nope --runs-dir $R
bad "run id 'ab' is ambiguous in $R: abc123, abd456" show ab --runs-dir $R
bad "no run 'nope' in $T/nothing" show nope --runs-dir $T/nothing
bad "no run '-9' in $R" show -9 --runs-dir $R
bad "run abc123: no scalar metric 'nope' (its metrics: loss, acc)" plot abc nope --runs-dir $R
bad "run odd001: no scalar metric 'lst'" plot odd001 lst --runs-dir $R
bad "muster show takes one run id" show --runs-dir $R
bad "muster show takes one run id" show abc abd --runs-dir $R
bad "muster compare takes two run ids or more" compare abc --runs-dir $R
bad "muster runs takes no run id" runs abc --runs-dir $R
bad "unknown option '--mean' for muster show" show abc --mean --runs-dir $R
bad "unknown option '-o' for muster compare" compare abc abd -o x --runs-dir $R
bad "option '--runs-dir' needs a value" runs --runs-dir
(unset MUSTER_RUNS_DIR; bad "no run 'nope' in ./muster-runs" show nope)
test_n=$((test_n + 1))
B2=$T/broken
mkdir -p $B2/notjson $B2/v2 $B2/arr $B2/good
printf '{"version":1, "id":' > $B2/notjson/run.json
$MK $B2/v2 v2 Completed $now version=2 dur=1
echo '[1, 2]' > $B2/arr/run.json
$MK $B2/good good Completed $now dur=1
bad "$B2/notjson/run.json: not a run record (expected a JSON object, invalid JSON)" \
	show notjson --runs-dir $B2
bad "$B2/v2/run.json: run record version 2; this muster reads version 1" \
	show v2 --runs-dir $B2
bad "$B2/arr/run.json: not a run record (expected a JSON object)" \
	compare arr good --runs-dir $B2
bad "$T/runs/run.json: No such file or directory" show $T/runs/
$MUSTER runs --runs-dir $B2 > $T/out 2> $T/err
is "runs: broken records named on stderr, the good listed" \
	"$?:$(awk 'NR > 1 { print $1 }' $T/out):$(sed "s|$B2/||" $T/err | tr '\n' ';')" \
	"0:good:muster: arr/run.json: not a run record (expected a JSON object);muster: notjson/run.json: not a run record (expected a JSON object, invalid JSON);muster: v2/run.json: run record version 2; this muster reads version 1;"
m plot big001 > $T/out 2> $T/err
is "plot: a run with nothing logged" "$?:$(cat $T/err)" \
	"1:muster: run big001: no scalar metric in $R/big001/metrics.jsonl to plot"
rm $R/big001/metrics.jsonl
m plot big001 > $T/out 2> $T/err
is "plot: a run without metrics.jsonl" "$?:$(cat $T/err)" \
	"1:muster: run big001: $R/big001/metrics.jsonl: No such file or directory (no metric was logged)"
m plot abc -o $T/nodir/x.svg > $T/out 2> $T/err
is "plot: a file that cannot be written" "$?:$(cat $T/out):$(cat $T/err)" \
	"1::muster: cannot write $T/nodir/x.svg: No such file or directory (give -o FILE)"
# whatever a run.json holds, of whatever type: read, never a crash
W=$T/weird
mkdir -p $W/w1 $W/w2 $W/w3
echo '{"version":1,"id":5,"status":7,"command":"x","hosts":{"a":1},"ranks":[1,"a",{"rank":1e300,"pid":"p","exit_code":[]}],"start":"s","end":1e300,"duration":-5,"np":"n","options":[1],"metrics":{"summary":{"x":{"count":1e300,"last":"l"}}},"outputs":{"files":"f"},"first_failure":{"rank":null}}' > $W/w1/run.json
echo '{"version":1,"hosts":[{"host":5,"ranks":[null,{"x":1}]},3],"ranks":{"rank":2},"status":"Running","start":1e300}' > $W/w2/run.json
printf '{"rank":1e300,"name":"m","step":-1,"value":1}\n{"rank":"x","name":"m","step":1e300,"value":2}\n\0\0\0\n{"name":"m","value":1e308}\n{"name":"m","value":-1e308}\n' > $W/w2/metrics.jsonl
echo '{"version":1}' > $W/w3/run.json
for c in "runs" "runs --json" "show w1" "show w1 --json" "show w2" "show w3" \
    "compare w1 w2 w3" "plot w2 -o $T/w.svg"; do
	$MUSTER $c --runs-dir $W > $T/out 2> $T/err
	rc=$?
	ok_if "odd run.json, odd metrics: muster $c (exit $rc)" [ $rc -lt 2 ]
done
$PY tests/py/svginfo.py $T/w.svg > $T/info
is "plot: values near DBL_MAX and odd ranks plotted" "$($PY -c 'import json,sys
c = json.load(open(sys.argv[1]))["charts"][0]
print(len(c["series"]), sum(s["points"] for s in c["series"]), len(c["yticks"]) >= 2)' $T/info)" "1 4 True"

# a program named like a command still runs after --
mkdir -p $T/bin
printf '#!/bin/sh\necho i am show\n' > $T/bin/show
chmod +x $T/bin/show
PATH=$T/bin:$PATH $MUSTER --no-record -- show > $T/out 2>&1
is "muster -- show runs a program called show" "$?:$(cat $T/out)" "0:[0] i am show"
$MUSTER show --help > $T/out
ok_if "show --help" grep -q '^usage: muster show ID' $T/out
done_testing
