#!/bin/sh
# Inside a Slurm allocation muster takes its nodes and slots from it
# (slurm.h, options.h): `muster --dry-run -- prog` in real salloc and
# sbatch jobs of the test cluster (tests/slurm.sh) shows the allocation's
# nodes and ranks per node, explicit -n/--nodes/-H/--procs-per-node are
# checked against it (too big: one line naming the job, exit 2),
# --launcher local ignores it, and `srun -n2 muster` is refused.  Bad
# Slurm variables set by hand need no cluster and come first.  The
# cluster part is skipped only when this machine cannot run one.
. "$(dirname "$0")/lib.sh"

SL="sh $ROOT/tests/slurm.sh"

# summary: each node's ranks and the launchers, from --dry-run's lines
cat > $T/summary.py <<'EOF'
import json, sys
nodes, launchers = {}, set()
for line in sys.stdin:
    d = json.loads(line)
    nodes.setdefault(d["host"], []).append(str(d["rank"]))
    launchers.add(d["launcher"])
print(" ".join("%s:%s" % (h, ",".join(r)) for h, r in nodes.items()),
      "/".join(sorted(launchers)))
EOF
summary() { $PY $T/summary.py; }

# --- hand-set environment, no cluster: a fake srun first in PATH ---
mkdir -p $T/bin
printf '#!/bin/sh\nexit 0\n' > $T/bin/srun
chmod +x $T/bin/srun
# in_env VAR=VAL... -- ARGS: muster --dry-run ARGS -- true in exactly
# that Slurm environment, PATH only $T/bin (no real srun: Slurm's
# clients are installed here); "RC|stdout summary|stderr"
in_env() {
	vars=""
	while [ "$1" != -- ]; do vars="$vars $1"; shift; done
	shift
	env -i PATH="$T/bin" HOME=/tmp $vars \
		"$MUSTER" --dry-run "$@" -- true > $T/out 2> $T/err
	rc=$?
	if [ $rc = 0 ]; then
		echo "$rc|$(summary < $T/out)|$(cat $T/err)"
	else
		echo "$rc|$(wc -l < $T/out | tr -d ' ')|$(cat $T/err)"
	fi
}
J="SLURM_JOB_ID=7 SLURM_JOB_NODELIST=n[1-2] SLURM_NTASKS=4"
is "hand-set salloc -N2 -n4: 2 ranks on each node, launcher slurm" \
	"$(in_env $J SLURM_TASKS_PER_NODE='2(x2)' --)" "0|n1:0,1 n2:2,3 slurm|"
is "SLURM_JOB_NODELIST 'n[1-': one line, exit 2" \
	"$(in_env SLURM_JOB_ID=7 SLURM_JOB_NODELIST='n[1-' SLURM_NTASKS=2 \
	SLURM_TASKS_PER_NODE=2 --)" \
	"2|0|muster: SLURM_JOB_NODELIST: 'n[1-': '[' without ']' (expected Slurm's hostlist, as \"n[1-4]\")"
is "SLURM_JOB_NODELIST unset" \
	"$(in_env SLURM_JOB_ID=7 --)" \
	"2|0|muster: SLURM_JOB_NODELIST is not set (Slurm job 7: expected its nodes, as \"n[1-4]\")"
is "SLURM_JOB_ID 'abc'" \
	"$(in_env SLURM_JOB_ID=abc SLURM_JOB_NODELIST=n1 --)" \
	"2|0|muster: SLURM_JOB_ID 'abc': expected a Slurm job number"
is "SLURM_TASKS_PER_NODE '2(x3)' for 2 nodes" \
	"$(in_env $J SLURM_TASKS_PER_NODE='2(x3)' --)" \
	"2|0|muster: SLURM_TASKS_PER_NODE '2(x3)': more counts than the 2 nodes (SLURM_JOB_NODELIST 'n[1-2]' has 2)"
is "SLURM_TASKS_PER_NODE '3' for 2 nodes" \
	"$(in_env $J SLURM_TASKS_PER_NODE=3 --)" \
	"2|0|muster: SLURM_TASKS_PER_NODE '3': 1 count for 2 nodes (SLURM_JOB_NODELIST 'n[1-2]' has 2)"
is "SLURM_TASKS_PER_NODE '0(x2)'" \
	"$(in_env $J SLURM_TASKS_PER_NODE='0(x2)' --)" \
	"2|0|muster: SLURM_TASKS_PER_NODE '0(x2)': a count of 0 (expected counts from 1, as \"2(x3),1\") (SLURM_JOB_NODELIST 'n[1-2]' has 2)"
is "SLURM_TASKS_PER_NODE '99999999999(x2)'" \
	"$(in_env $J SLURM_TASKS_PER_NODE='99999999999(x2)' --)" \
	"2|0|muster: SLURM_TASKS_PER_NODE '99999999999(x2)': expected counts from 1 to 1048576, as \"2(x3),1\" (SLURM_JOB_NODELIST 'n[1-2]' has 2)"
is "SLURM_JOB_CPUS_PER_NODE 'lots' (no tasks asked for)" \
	"$(in_env SLURM_JOB_ID=7 SLURM_JOB_NODELIST=n1 \
	SLURM_JOB_CPUS_PER_NODE=lots --)" \
	"2|0|muster: SLURM_JOB_CPUS_PER_NODE 'lots': expected counts from 1 to 1048576, as \"2(x3),1\" (SLURM_JOB_NODELIST 'n1' has 1)"
is "a broken SLURM_TASKS_PER_NODE with --launcher local: ignored" \
	"$(in_env $J SLURM_TASKS_PER_NODE='2(x' -- --launcher local -n 2)" \
	"0|localhost:0,1 local|"
is "... and with --launcher ssh -H: ignored" \
	"$(in_env $J SLURM_TASKS_PER_NODE='2(x' -- --launcher ssh -H h1:2)" \
	"0|h1:0,1 ssh|"
is "--launcher slurm outside an allocation" "$(in_env -- --launcher slurm)" \
	"2|0|muster: --launcher slurm: not inside a Slurm allocation (SLURM_JOB_ID is not set: run muster under salloc or sbatch)"
rm $T/bin/srun
is "--launcher slurm with no srun in PATH" \
	"$(in_env $J SLURM_TASKS_PER_NODE='2(x2)' -- --launcher slurm)" \
	"2|0|muster: --launcher slurm: srun not found in PATH (Slurm job 7)"
is "no srun: auto leaves the allocation alone" \
	"$(in_env $J SLURM_TASKS_PER_NODE='2(x' --)" "0|localhost:0 local|"
is "--mpi with --launcher ssh" "$(in_env -- --mpi --launcher ssh)" \
	"2|0|muster: --mpi: starts the ranks with mpirun, not with --launcher ssh (--launcher mpi is --mpi)"

# --- the real cluster: 2 nodes of 2 CPUs ---
cluster_up 2 "Slurm allocation tests"

# cases NAME: the muster option lists of $T/cases.NAME, one a line,
# each run as `muster --dry-run OPTIONS -- prog` where the allocation
# runs its command; one result line each, "RC|summary|stderr"
cat > $T/cases.sh <<EOF
#!/bin/sh
# cases.sh FILE: each line of FILE is muster's options for one dry run
while IFS= read -r opts; do
	eval "set -- \$opts"
	"$MUSTER" --dry-run "\$@" -- prog > $T/case.out 2> $T/case.err
	rc=\$?
	if [ \$rc = 0 ]; then
		s=\$($PY $T/summary.py < $T/case.out)
	else
		s=\$(wc -l < $T/case.out | tr -d ' ')
	fi
	rm -f $T/case.out
	echo "\$rc|\$s|\$(cat $T/case.err)"
done < "\$1"
echo "job \$SLURM_JOB_ID"
EOF
# check NAME: compares the results of $T/cases.NAME with $T/want.NAME,
# line by line (the job id in the wanted text as J)
check() {
	job=$(sed -n 's/^job //p' $T/got.$1)
	n=0
	while IFS= read -r opts; do
		n=$((n + 1))
		want=$(sed -n "${n}p" $T/want.$1 | sed "s/(job J)/(job $job)/; s/job J /job $job /")
		is "$1: muster --dry-run $opts" "$(sed -n "${n}p" $T/got.$1)" "$want"
	done < $T/cases.$1
}

# salloc -N2 -n4: SLURM_TASKS_PER_NODE=2(x2)
cat > $T/cases.n4 <<'EOF'

-n 3
-n 5
--nodes 2 --procs-per-node 2
--nodes 1 --procs-per-node 2
--nodes 3
--procs-per-node 3
-n 6 --nodes 2
-H n2
-H n2:2,n1:1
-H n3
-H n1:3
-H n2 --procs-per-node 3
--launcher local
--launcher slurm -n 2 --nodes 2
--ps 1 --workers 2
EOF
T2="(SLURM_TASKS_PER_NODE=2(x2))"
cat > $T/want.n4 <<EOF
0|n1:0,1 n2:2,3 slurm|
0|n1:0,1 n2:2 slurm|
2|0|muster: -n 5: the Slurm allocation (job J) holds 4 tasks $T2
0|n1:0,1 n2:2,3 slurm|
0|n1:0,1 slurm|
2|0|muster: --nodes 3: the Slurm allocation (job J) holds 2 nodes
2|0|muster: --procs-per-node 3: node n1 of Slurm job J holds 2 tasks $T2
2|0|muster: -n 6 over --nodes 2: 3 on node n1, which holds 2 tasks in Slurm job J $T2
0|n2:0 slurm|
0|n2:0,1 n1:2 slurm|
2|0|muster: -H n3: not a node of Slurm job J (n[1-2])
2|0|muster: -H n1:3: node n1 of Slurm job J holds 2 tasks $T2
2|0|muster: --procs-per-node 3: node n2 of Slurm job J holds 2 tasks $T2
0|localhost:0 local|
0|n1:0 n2:1 slurm|
0|n1:0,1 n2:2 slurm|
EOF
$on_ctl salloc -N2 -n4 sh $T/cases.sh $T/cases.n4 > $T/got.n4 2> $T/salloc.err
check n4

# salloc -N2 --ntasks-per-node=1: SLURM_NTASKS_PER_NODE=1
printf '%s\n' "" "-n 3" "--procs-per-node 2" > $T/cases.tpn
cat > $T/want.tpn <<'EOF'
0|n1:0 n2:1 slurm|
2|0|muster: -n 3: the Slurm allocation (job J) holds 2 tasks (SLURM_NTASKS_PER_NODE=1)
2|0|muster: --procs-per-node 2: node n1 of Slurm job J holds 1 task (SLURM_NTASKS_PER_NODE=1)
EOF
$on_ctl salloc -N2 --ntasks-per-node=1 sh $T/cases.sh $T/cases.tpn \
	> $T/got.tpn 2>> $T/salloc.err
check tpn

# salloc -N2, no -n: the CPUs (1 per node here: CR_Core gives a core)
printf '%s\n' "" "-n 3" > $T/cases.cpus
cat > $T/want.cpus <<'EOF'
0|n1:0 n2:1 slurm|
2|0|muster: -n 3: the Slurm allocation (job J) holds 2 CPUs (SLURM_JOB_CPUS_PER_NODE=1(x2))
EOF
$on_ctl salloc -N2 sh $T/cases.sh $T/cases.cpus > $T/got.cpus \
	2>> $T/salloc.err
check cpus

# salloc -N2 -n3: uneven, SLURM_TASKS_PER_NODE=2,1
printf '%s\n' "" "-n 4" "--procs-per-node 2" "-H n2:2" > $T/cases.n3
cat > $T/want.n3 <<'EOF'
0|n1:0,1 n2:2 slurm|
2|0|muster: -n 4: the Slurm allocation (job J) holds 3 tasks (SLURM_TASKS_PER_NODE=2,1)
2|0|muster: --procs-per-node 2: node n2 of Slurm job J holds 1 task (SLURM_TASKS_PER_NODE=2,1)
2|0|muster: -H n2:2: node n2 of Slurm job J holds 1 task (SLURM_TASKS_PER_NODE=2,1)
EOF
$on_ctl salloc -N2 -n3 sh $T/cases.sh $T/cases.n3 > $T/got.n3 \
	2>> $T/salloc.err
check n3

# sbatch, no TTY: the batch script runs on n1 with no SLURM_STEP_ID
cp $T/cases.n3 $T/cases.batch
cp $T/want.n3 $T/want.batch
cat > $T/job.sh <<EOF
#!/bin/sh
sh $T/cases.sh $T/cases.batch > $T/got.batch
echo "\${SLURM_STEP_ID-unset} \$(hostname)" > $T/batch.step
EOF
setsid -w $on_ctl sbatch --wait -N2 -n3 -o $T/batch.out $T/job.sh \
	< /dev/null > $T/sbatch.out 2>&1
is "sbatch --wait -N2 -n3: exit 0" "$? $(cat $T/batch.out)" "0 "
is "sbatch: the batch script has no SLURM_STEP_ID, runs on n1" \
	"$(cat $T/batch.step)" "unset n1"
check batch

# muster started as the tasks of a step: each refuses; one task: fine
$on_ctl salloc -N2 -n4 sh -c "srun -n2 $MUSTER --dry-run -- prog \
	> $T/step2.out 2> $T/step2.err; echo \$? > $T/step2.rc
	srun -n1 $MUSTER --dry-run -- prog > $T/step1.out 2> $T/step1.err
	echo \$? > $T/step1.rc" > /dev/null 2>> $T/salloc.err
ok_if "srun -n2 muster: srun fails" test "$(cat $T/step2.rc)" != 0
is "srun -n2 muster: each task says why in one line" \
	"$(grep '^muster:' $T/step2.err | sed 's/job [0-9]*/job J/' | sort)" \
	"muster: started as task 0 of 2 of a Slurm step (job J, step 0): start muster once, it starts its own step on every node
muster: started as task 1 of 2 of a Slurm step (job J, step 0): start muster once, it starts its own step on every node"
is "srun -n2 muster: no plan printed" "$(wc -l < $T/step2.out)" 0
is "srun -n1 muster: the whole allocation, by its CPUs" \
	"$(cat $T/step1.rc) $(summary < $T/step1.out)" "0 n1:0,1 n2:2,3 slurm"
done_testing
