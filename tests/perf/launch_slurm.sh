#!/bin/sh
# tests/perf/launch_slurm.sh: launch and tear down a trivial job (`true`)
# inside one real Slurm allocation (tests/slurm.sh: N namespaced nodes
# and a login host ctl, where the job runs as from an salloc shell):
# muster (one srun step of agents that dial back) against the peers in
# the same allocation, in the same run, interleaved:
#   srun    `srun -n NP true`: Slurm's own launch, the floor;
#   mpirun  `mpirun -np NP true`: Open MPI, which starts its orted with
#           srun (plm slurm) as muster starts its agents.
# Per launcher the median wall time of RUNS runs, ms, and muster's ratio
# to each peer.  Goal: muster at most 0.5x mpirun (shared/DESIGN.md's
# launch goal, here inside Slurm); muster over srun is what the agents
# and their dial-back cost on top of the step.  Not part of make check;
# needs root (the cluster's namespaces and daemons).
#
# usage: sh tests/perf/launch_slurm.sh [NODES:RANKS_PER_NODE...]
#        (default 2:2 4:2); RUNS=N (default 9).
cd "$(dirname "$0")/../.." || exit 2
ROOT=$PWD
MUSTER=$ROOT/${MUSTER_BUILD:-build}/bin/muster
RUNS=${RUNS:-9}
CASES=${*:-2:2 4:2}
[ -x "$MUSTER" ] || { echo "launch_slurm.sh: $MUSTER missing: make" >&2; exit 2; }
command -v mpirun > /dev/null || { echo "launch_slurm.sh: no mpirun" >&2; exit 2; }
SL="sh $ROOT/tests/slurm.sh"
max=0
for c in $CASES; do
	n=${c%%:*}
	[ "$n" -gt "$max" ] && max=$n
done
C=$(mktemp -d /tmp/mstperf.XXXX)
trap '$SL down $C; rm -rf $C' EXIT
trap 'exit 130' INT TERM
MUSTER_SLURM_CPUS=4 $SL up "$max" $C > /dev/null 2> $C/up.err || {
	echo "launch_slurm.sh: no Slurm cluster here: $(tail -1 $C/up.err)" >&2
	exit 2
}

# the measuring side runs in the allocation's shell, on ctl
cat > $C/bench.sh <<'EOF'
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
np=$1 runs=$2 muster=$3
ms() { date +%s%N | cut -c1-13; }
one() {	# one LAUNCHER: its wall time, ms
	t0=$(ms)
	case $1 in
	muster) "$muster" -n $np -- true ;;
	srun) srun -n $np true ;;
	mpirun) mpirun -q -np $np true ;;
	esac > /dev/null 2>&1 || echo "fail $1" >&2
	echo $(($(ms) - t0))
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for l in muster srun mpirun; do one $l > /dev/null; done	# warm up
i=0
while [ $i -lt $runs ]; do
	for l in muster srun mpirun; do echo "$l $(one $l)"; done
	i=$((i + 1))
done > times
for l in muster srun mpirun; do
	echo "$l $(awk -v l=$l '$1 == l { print $2 }' times | median)"
done
EOF

echo "# launch inside a Slurm allocation: median wall ms of $RUNS runs, interleaved"
printf '# %8s  %8s  %8s  %8s  %10s  %10s\n' case muster srun mpirun "vs srun" "vs mpirun"
worst=0
for c in $CASES; do
	n=${c%%:*} ppn=${c#*:}
	np=$((n * ppn))
	out=$(cd $C && timeout 600 $SL exec $C salloc -N $n \
		--ntasks-per-node $ppn sh $C/bench.sh $np $RUNS $MUSTER 2> $C/err)
	m=$(echo "$out" | awk '$1 == "muster" { print $2 }')
	s=$(echo "$out" | awk '$1 == "srun" { print $2 }')
	p=$(echo "$out" | awk '$1 == "mpirun" { print $2 }')
	if [ -z "$m" ] || [ -z "$s" ] || [ -z "$p" ]; then
		echo "launch_slurm.sh: $c: no result: $(grep -v '^salloc' $C/err | tail -2)" >&2
		exit 1
	fi
	grep '^fail' $C/err >&2
	rs=$(awk -v a=$m -v b=$s 'BEGIN { printf "%.2f", a / b }')
	rp=$(awk -v a=$m -v b=$p 'BEGIN { printf "%.2f", a / b }')
	worst=$(awk -v a=$rp -v w=$worst 'BEGIN { print (a > w) ? a : w }')
	printf '  %8s  %8d  %8d  %8d  %9sx  %9sx\n' "$n:$ppn" $m $s $p $rs $rp
done
met=$(awk -v w=$worst 'BEGIN { print (w <= 0.5) ? "met" : "NOT met" }')
echo "# goal: muster at most 0.5x mpirun's wall time; worst ratio $worst ($met)"
