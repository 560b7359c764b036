#!/bin/sh
# Placement with hwloc (issue 10): each rank bound before exec, read back
# from its own /proc/self/status; OMP_NUM_THREADS and CUDA_VISIBLE_DEVICES
# from the plan; plans of synthetic topologies (tests/topo/) printed by
# --dry-run; bad input: one line, exit 2.
. "$(dirname "$0")/lib.sh"

TOPO=$ROOT/tests/topo
# what each rank writes: its CPUs, OMP_NUM_THREADS and GPUs, one file each
cat > $T/rank.sh <<'EOF'
#!/bin/sh
c=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
echo "$c ${OMP_NUM_THREADS:-unset} ${CUDA_VISIBLE_DEVICES:-unset}" > "$1.$MUSTER_RANK"
EOF
chmod +x $T/rank.sh
mine=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
ncpu=$(nproc)

# field F (1 cpus, 2 omp, 3 gpus) of N ranks' files PREFIX.R, one a line
field() {
	i=0
	while [ $i -lt "$3" ]; do
		cut -d' ' -f"$2" "$1.$i" 2>/dev/null || echo missing
		i=$((i + 1))
	done
}
# place.py disjoint MINE LIST...: the ranks' CPU lists share no CPU, and
# none is all of ours; place.py plan R:CPUS:NUMA:GPUS...: a --dry-run's
# placement is that for each local rank, no two ranks of a node share a
# core or a GPU, and each rank's env has its GPUs
cat > $T/place.py <<'EOF'
import json, sys
def cpus(s):
    out = set()
    for part in s.split(","):
        a, _, b = part.partition("-")
        out.update(range(int(a), int(b or a) + 1))
    return out
def disjoint(mine, lists):
    seen = set()
    for s in map(cpus, lists):
        if not s or s & seen or s == mine or not s <= mine:
            sys.exit(1)
        seen |= s
def plan(args):
    want = {}	# local rank: (cpus, numa, gpus)
    for w in args:
        r, c, numa, gpus = w.split(":")
        want[int(r)] = (c, numa, gpus)
    per_node, bad = {}, []
    for d in map(json.loads, sys.stdin):
        p, lr, r = d["place"], d["local_rank"], d["rank"]
        got = (p.get("cpus"), p.get("numa"), p.get("gpus"))
        if got != want[lr]:
            bad.append("rank %d: %s, want %s" % (r, got, want[lr]))
        if d["env"].get("CUDA_VISIBLE_DEVICES") != p.get("gpus"):
            bad.append("rank %d: env CUDA_VISIBLE_DEVICES %s" %
                       (r, d["env"].get("CUDA_VISIBLE_DEVICES")))
        n = per_node.setdefault(d["node_rank"], [set(), set(), 0])
        c, g = cpus(p["cpus"]), set(p["gpus"].split(","))
        if c & n[0] or g & n[1]:
            bad.append("rank %d shares a core or a GPU" % r)
        n[0] |= c; n[1] |= g; n[2] += 1
    if not per_node or any(n[2] != len(want) for n in per_node.values()):
        bad.append("ranks per node: %s" % [n[2] for n in per_node.values()])
    print("; ".join(bad) if bad else "ok")
if sys.argv[1] == "disjoint":
    disjoint(cpus(sys.argv[2]), sys.argv[3:])
else:
    plan(sys.argv[2:])
EOF
disjoint() { $PY $T/place.py disjoint "$@"; }

# --- binding on this machine (read back from each rank's own status) ---
if [ "$ncpu" -ge 2 ]; then
	"$MUSTER" -n 2 --bind-to core -- $T/rank.sh $T/core > $T/out 2>&1
	ok_if "--bind-to core, 2 ranks: exit 0" [ $? -eq 0 ]
	ok_if "--bind-to core: each rank its own core ($(field $T/core 1 2 | tr '\n' ' '))" \
	    disjoint "$mine" $(field $T/core 1 2)
	if [ "$mine" = "0-1" ]; then
		is "--bind-to core on 2 cores: cores 0 and 1" \
		    "$(field $T/core 1 2 | tr '\n' ' ')" "0 1 "
	fi
	"$MUSTER" -n 2 -- $T/rank.sh $T/dflt > $T/out 2>&1
	ok_if "default, 2 ranks: each its own share of cores" \
	    disjoint "$mine" $(field $T/dflt 1 2)
else
	skip "--bind-to core, 2 ranks" "one CPU"
	skip "default, 2 ranks" "one CPU"
fi
"$MUSTER" -n 2 --bind-to none -- $T/rank.sh $T/none > $T/out 2>&1
is "--bind-to none: every rank has all our CPUs" \
    "$(field $T/none 1 2 | sort -u)" "$mine"

# more ranks than cores: nothing bound, and -v says why
n=$((ncpu * 2))
"$MUSTER" -n $n -v -- $T/rank.sh $T/over > $T/out 2> $T/err
is "default, $n ranks on $ncpu CPUs: not bound" \
    "$(field $T/over 1 $n | sort -u)" "$mine"
ok_if "-v says why they are not bound" \
    grep -q "^muster: localhost: ranks not bound: $n ranks but [0-9]* cores$" $T/err
is "... and OMP_NUM_THREADS stays muster's 1" \
    "$(field $T/over 2 $n | sort -u)" 1

# OMP_NUM_THREADS: the share; the user's value wins
"$MUSTER" -n 1 -- $T/rank.sh $T/omp1 > $T/out 2>&1
want=$("$MUSTER" -n 1 --dry-run -- true | $PY -c \
    'import json,sys; print(json.loads(sys.stdin.readline())["place"]["omp"])')
is "1 rank: OMP_NUM_THREADS is its share of cores" "$(field $T/omp1 2 1)" "$want"
"$MUSTER" -n 2 --topology $TOPO/gpu8-4numa.xml -- $T/rank.sh $T/omp2 > $T/out 2>&1
is "2 ranks, gpu8-4numa: the share (8 cores) over muster's default of 1" \
    "$(field $T/omp2 2 2 | tr '\n' ' ')" "8 8 "
"$MUSTER" -n 2 -x OMP_NUM_THREADS=7 --topology $TOPO/gpu8-4numa.xml -- \
    $T/rank.sh $T/omp3 > $T/out 2>&1
is "-x OMP_NUM_THREADS=7 wins" "$(field $T/omp3 2 2 | tr '\n' ' ')" "7 7 "
OMP_NUM_THREADS=7 "$MUSTER" -n 2 --topology $TOPO/gpu8-4numa.xml -- \
    $T/rank.sh $T/omp4 > $T/out 2>&1
is "OMP_NUM_THREADS=7 in our environment wins" \
    "$(field $T/omp4 2 2 | tr '\n' ' ')" "7 7 "
OMP_NUM_THREADS=7 "$MUSTER" -n 1 -- $T/rank.sh $T/omp5 > $T/out 2>&1
is "... on this machine too" "$(field $T/omp5 2 1)" 7

# --report-bindings: one line per rank, once, on stderr
if [ "$ncpu" -ge 2 ]; then
	"$MUSTER" -n 2 --bind-to core --report-bindings -- true > $T/out 2> $T/err
	is "--report-bindings: a line per rank" \
	    "$(grep -c '^muster: localhost rank [01]: cpus [0-9,-]* numa [0-9]*$' $T/err)" 2
	ok_if "... rank 0 and rank 1, once each" sh -c \
	    "[ \$(grep -c 'rank 0: ' $T/err) -eq 1 ] && [ \$(grep -c 'rank 1: ' $T/err) -eq 1 ]"
else
	skip "--report-bindings" "one CPU"
	skip "--report-bindings once" "one CPU"
fi

# --mpi: mpirun binds nothing, each wrapper applies its rank's part
if command -v mpirun > /dev/null && [ "$ncpu" -ge 2 ]; then
	"$MUSTER" --mpi -n 2 --bind-to core -- $T/rank.sh $T/mpi > $T/out 2>&1
	ok_if "--mpi --bind-to core: each rank its own core ($(field $T/mpi 1 2 | tr '\n' ' '))" \
	    disjoint "$mine" $(field $T/mpi 1 2)
	"$MUSTER" --mpi -n 2 --topology $TOPO/gpu8-4numa.xml -- \
	    $T/rank.sh $T/mpig > $T/out 2>&1
	is "--mpi --topology: GPUs and OMP_NUM_THREADS as without --mpi" \
	    "$(field $T/mpig 3 2 | tr '\n' ' ')$(field $T/mpig 2 2 | tr '\n' ' ')" \
	    "0 2 8 8 "
else
	skip "--mpi --bind-to core" "no mpirun, or one CPU"
	skip "--mpi --topology" "no mpirun, or one CPU"
fi

# --- a topology file of another machine: its plan's environment only ---
"$MUSTER" -n 4 -v --topology $TOPO/gpu8-4numa.xml -- $T/rank.sh $T/gpu \
    > $T/out 2> $T/err
is "--topology gpu8-4numa.xml, 4 ranks: CUDA_VISIBLE_DEVICES each different" \
    "$(field $T/gpu 3 4 | tr '\n' ' ')" "0 2 4 6 "
is "... and nothing bound here" "$(field $T/gpu 1 4 | sort -u)" "$mine"
ok_if "... -v says the file is not this machine's" \
    grep -q "is not this machine's: its plan sets the ranks' environment, nothing is bound" $T/err
CUDA_VISIBLE_DEVICES=3,5 "$MUSTER" -n 2 --topology $TOPO/gpu8-4numa.xml -- \
    $T/rank.sh $T/vis > $T/out 2>&1
is "CUDA_VISIBLE_DEVICES=3,5 is the set split" \
    "$(field $T/vis 3 2 | tr '\n' ' ')" "3 5 "

# --- plans on synthetic topologies, through the real launcher ---
# 2 sockets x 2 NUMA x 8 cores (2 threads each: PU n and n+32), 2 GPUs
# per NUMA node
plan() {	# plan TOPOLOGY ARGS...: the dry-run's placement, checked
	t=$1; shift
	"$MUSTER" --dry-run --topology $TOPO/$t "$@"
}
W8="0:0-3,32-35:0:0 1:4-7,36-39:0:1 2:8-11,40-43:1:2 3:12-15,44-47:1:3
4:16-19,48-51:2:4 5:20-23,52-55:2:5 6:24-27,56-59:3:6 7:28-31,60-63:3:7"
W4="0:0-7,32-39:0:0 1:8-15,40-47:1:2 2:16-23,48-55:2:4 3:24-31,56-63:3:6"
is "gpu8-4numa, 8 ranks: a GPU and 4 cores of its NUMA node each" \
    "$(plan gpu8-4numa.xml -n 8 -- true | $PY $T/place.py plan $W8)" ok
is "gpu8-4numa, 4 ranks: one GPU of each NUMA node, its 8 cores" \
    "$(plan gpu8-4numa.xml -n 4 -- true | $PY $T/place.py plan $W4)" ok
is "gpu8-4numa, 2 nodes of 8 ranks: each node planned alike" \
    "$(plan gpu8-4numa.xml --nodes 2 -n 16 -- true | $PY $T/place.py plan $W8)" ok
HWLOC_XMLFILE=$TOPO/gpu8-4numa.xml "$MUSTER" --dry-run -n 4 -- true > $T/x
is "HWLOC_XMLFILE as --topology" "$($PY $T/place.py plan $W4 < $T/x)" ok
is "gpu8-2numa, 4 ranks: 2 per socket, the nearest GPUs" \
    "$(plan gpu8-2numa.xml -n 4 -- true | $PY $T/place.py plan \
    0:0-3:0:0 1:4-7:0:1 2:8-11:1:4 3:12-15:1:5)" ok
is "gpu8-4numa, --gpus-per-proc 2, 4 ranks" \
    "$(plan gpu8-4numa.xml -n 4 --gpus-per-proc 2 -- true | $PY $T/place.py plan \
    0:0-7,32-39:0:0,1 1:8-15,40-47:1:2,3 2:16-23,48-55:2:4,5 3:24-31,56-63:3:6,7)" ok
omp=$(plan gpu8-4numa.xml -n 8 -- true | $PY -c '
import json, sys
print(" ".join("%s/%s" % (d["place"]["omp"], d["env"]["OMP_NUM_THREADS"])
               for d in map(json.loads, sys.stdin)))')
is "gpu8-4numa, 8 ranks: omp 4, and OMP_NUM_THREADS=4 in the env" "$omp" \
    "4/4 4/4 4/4 4/4 4/4 4/4 4/4 4/4"
"$MUSTER" --dry-run -n 2 -H localhost:1,h5200-remote.invalid:1 -- true > $T/r 2>&1
ok_if "--dry-run without a file: a remote node is placed by its agent" \
    grep -q '"place":"planned by the agent of h5200-remote.invalid at start' $T/r
ok_if "... a local one here" grep -q '"place":{"topology":"this machine"' $T/r

# --- bad input: one line naming it, exit 2, nothing started ---
bad "--bind-to 'sideways': expected none, core, l3cache, numa or socket" \
    --bind-to sideways -n 2 -- $P
bad "--map-by 'diagonal'" --map-by diagonal -n 2 -- $P
bad "gpus-per-proc 9: the node has 8 GPUs" \
    --gpus-per-proc 9 --topology $TOPO/gpu8-4numa.xml -- $P
bad "9 local ranks with 1 GPU each need 9 GPUs, the node has 8" \
    -n 9 --topology $TOPO/gpu8-4numa.xml -- $P
bad "gpus-per-proc 9: the node has 8 GPUs" \
    --dry-run --gpus-per-proc 9 --topology $TOPO/gpu8-4numa.xml -- $P
bad "not-hwloc.xml': not an hwloc XML topology" \
    --topology $TOPO/not-hwloc.xml -- $P
bad "garbage.xml': not an hwloc XML topology" \
    --dry-run --topology $TOPO/garbage.xml -- $P
bad "garbage.xml': not an hwloc XML topology" \
    --mpi --topology $TOPO/garbage.xml -- $P
bad "topology file '$T/nope.xml': No such file or directory" \
    --topology $T/nope.xml -- $P
export HWLOC_XMLFILE=$TOPO/not-hwloc.xml
bad "not-hwloc.xml': not an hwloc XML topology" -- $P
unset HWLOC_XMLFILE
# found by the agent (no file: its own machine), before any rank starts
bad "localhost: bind-to core: $((ncpu + 1)) local ranks but the node has" \
    -n $((ncpu + 1)) --bind-to core -- $P
if ! ls /dev/nvidia0 /dev/kfd > /dev/null 2>&1; then
	bad "localhost: gpus-per-proc 1: the node has no GPUs" \
	    --gpus-per-proc 1 -- $P
else
	skip "--gpus-per-proc 1 on a node without GPUs" "this one has GPUs"
fi

# --- other hosts: each agent places its own node's ranks ---
NS=$T/hosts
mkdir -p $NS
rc=0
sh $ROOT/tests/netns.sh up 2 $NS 2> $T/up.err || rc=$?
if [ $rc -ne 0 ]; then
	skip "placement on other hosts" "no test hosts: $(tail -1 $T/up.err)"
	done_testing
	exit 0
fi
netns_down() { sh $ROOT/tests/netns.sh down $NS; }
test_cleanup_hooks="netns_down $test_cleanup_hooks"
export MUSTER_SSH="ssh -F $NS/ssh_config"
in_h1="sh $ROOT/tests/netns.sh exec $NS 1"
$in_h1 $MUSTER -H h1:2,h2:2 --report-bindings --topology $TOPO/gpu8-4numa.xml \
    -- $T/rank.sh $T/hosts.gpu > $T/out 2> $T/err
is "-H h1:2,h2:2 --topology: each node's ranks their GPUs" \
    "$(field $T/hosts.gpu 3 4 | tr '\n' ' ')" "0 2 0 2 "
is "... each agent reports its own ranks" \
    "$(grep -o '^muster: h[12] rank [0-3]: cpus [0-9,-]* numa [0-9] gpus [0-9]' $T/err | sort)" \
    "muster: h1 rank 0: cpus 0-7,32-39 numa 0 gpus 0
muster: h1 rank 1: cpus 8-15,40-47 numa 1 gpus 2
muster: h2 rank 2: cpus 0-7,32-39 numa 0 gpus 0
muster: h2 rank 3: cpus 8-15,40-47 numa 1 gpus 2"
$in_h1 $MUSTER -H h1:1,h2:$((ncpu + 1)) --bind-to core -- true > $T/out 2> $T/err
rc=$?
is "a remote node that cannot be placed: exit 2" $rc 2
ok_if "... one line naming the host and the input" sh -c "[ \$(wc -l < $T/err) -eq 1 ] &&
    grep -q '^muster: h2: bind-to core: $((ncpu + 1)) local ranks but the node has [0-9]* cores' $T/err"
done_testing
