#!/bin/sh
# libmuster hardening (issue 8), ranks started without the launcher
# (file:// bootstrap, as tests/tools/flaunch.sh does), so what is proved
# is the library's alone:
#  - a rank killed at any point of the set-up leaves no shared-memory
#    file in /dev/shm;
#  - the TCP ring's handshake is keyed by the job secret: a stray client
#    speaking the old token or garbage is refused and the job completes,
#    a leader with another secret cannot join;
#  - a collective whose arguments differ between ranks fails with
#    MUSTER_EINVAL on every rank, naming the mismatch.
. "$(dirname "$0")/lib.sh"
W=$B/tests/coll_worker
ROGUE=$B/tests/ring_rogue

# start_ranks DIR NP NODES [ENV=VAL...]: NP ranks of coll_worker on NODES
# virtual nodes, bootstrap file://DIR; their pids in $pids, outputs in
# DIR.out.R.  With late=MS set, the last local rank of each node starts
# MS ms after the others (a slow import, a loaded host); with only="R..."
# set, only those ranks start (the others by a later call).
start_ranks() {
	sr_dir=$1 sr_np=$2 sr_nodes=$3
	shift 3
	mkdir -p "$sr_dir"
	pids="" sr_r=0 sr_node=0
	sr_base=$((sr_np / sr_nodes)) sr_extra=$((sr_np % sr_nodes))
	while [ "$sr_node" -lt "$sr_nodes" ]; do
		sr_sz=$sr_base
		[ "$sr_node" -lt "$sr_extra" ] && sr_sz=$((sr_sz + 1))
		sr_lr=0
		while [ "$sr_lr" -lt "$sr_sz" ]; do
			case " ${only:-$sr_r} " in
			*" $sr_r "*) ;;
			*) sr_r=$((sr_r + 1)) sr_lr=$((sr_lr + 1)); continue ;;
			esac
			sr_wait=0
			[ "${late:-0}" -gt 0 ] && [ "$sr_lr" -eq $((sr_sz - 1)) ] &&
				sr_wait=0.$(printf %03d "$late")
			(sleep "$sr_wait"; exec env MUSTER_RANK=$sr_r MUSTER_SIZE=$sr_np \
			    MUSTER_LOCAL_RANK=$sr_lr MUSTER_LOCAL_SIZE=$sr_sz \
			    MUSTER_NODE_RANK=$sr_node MUSTER_NUM_NODES=$sr_nodes \
			    MUSTER_JOB_ID=t4500 MUSTER_RENDEZVOUS=file://$sr_dir \
			    "$@" "$W") > "$sr_dir.out.$sr_r" 2>&1 &
			pids="$pids $!"
			sr_r=$((sr_r + 1)) sr_lr=$((sr_lr + 1))
		done
		sr_node=$((sr_node + 1))
	done
}

# wait_ranks: waits for $pids; $rcs gets their exit codes in rank order
wait_ranks() {
	rcs=""
	for p in $pids; do
		wait "$p"
		rcs="$rcs $?"
	done
	rcs=${rcs# }
}

# rand N: a random number in [0, N]
rand() { echo $(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % ($1 + 1) )); }

# --- 1. shared memory: kill a rank at a random point of the set-up
# 2 nodes of 2 ranks: two segments per run.  Local rank 1 of each node
# starts 0..30 ms late, so each leader spends that long between making
# its segment and seeing it mapped; the kill comes after a random 0..40
# ms: mostly in the set-up (in the leader's wait, before the late rank
# maps, or while it maps), sometimes in the first collectives.  Odd runs
# let the others notice and give up by themselves (MUSTER_TIMEOUT=1);
# even runs then kill them all 50 ms later, as a launcher ends a job.
# After each run no /dev/shm/muster-* file of any of its processes may
# remain (the names carry the creator's pid, so other jobs on this
# machine do not count).
runs=40 leaked=0 early=0
run=1
while [ $run -le $runs ]; do
	late=$(rand 30)
	start_ranks "$T/k$run" 4 2 MUSTER_TIMEOUT=1 COLL_OPS=50
	late=0
	victim=$(rand 3)
	set -- $pids
	shift "$victim"
	sleep "0.0$(printf %02d "$(rand 40)")"
	kill -9 "$1" 2>/dev/null || early=$((early + 1))
	if [ $((run % 2)) -eq 0 ]; then
		sleep 0.05
		for p in $pids; do kill -9 "$p" 2>/dev/null; done
	fi
	wait_ranks 2>/dev/null
	for p in $pids; do
		for f in /dev/shm/muster-"$p"-*; do
			[ -e "$f" ] || continue
			echo "# run $run (rank $victim killed): left $f"
			leaked=$((leaked + 1))
			rm -f "$f"
		done
	done
	run=$((run + 1))
done
is "shm: $runs runs with a rank killed in the set-up leave no /dev/shm file" \
	"$leaked" 0
ok_if "shm: the kills hit live ranks ($early of $runs had already exited)" \
	[ "$early" -lt $((runs / 2)) ]

# and an undisturbed job of the same shape completes
start_ranks "$T/k0" 4 2 MUSTER_TIMEOUT=10 COLL_OPS=50
wait_ranks
is "shm: the same job, not killed, completes" "$rcs" "0 0 0 0"

# --- 2. the TCP ring's handshake is keyed by the job's secret
# strays_job DIR MODE...: two nodes of one rank; rank 1 starts first,
# one stray per MODE (ring_rogue) connects to its ring port before rank
# 0 exists, then rank 0 starts; $rcs, $ms (the job's time from rank 0's
# start), the strays' reports in DIR.stray.K
strays_job() {
	sj_d=$1
	shift
	only=1 start_ranks "$sj_d" 2 2 MUSTER_TIMEOUT=10 COLL_OPS=20
	sj_p1=$pids sj_rogues="" sj_k=0
	for sj_m in "$@"; do
		MUSTER_JOB_ID=t4500 "$ROGUE" "$sj_d" 1 "$sj_m" 8 \
			> "$sj_d.stray.$sj_k" 2>&1 &
		sj_rogues="$sj_rogues $!"
		sj_k=$((sj_k + 1))
	done
	sleep 0.5
	only=0 start_ranks "$sj_d" 2 2 MUSTER_TIMEOUT=10 COLL_OPS=20
	pids="$pids $sj_p1"
	sj_t0=$(now_ms)
	wait_ranks
	ms=$(($(now_ms) - sj_t0))
	for sj_p in $sj_rogues; do wait "$sj_p"; done
}

# One stray speaks the old handshake (a hash of public values), one
# garbage, one nothing: each is refused (closed), and the job completes.
d=$T/rogue
strays_job "$d" old garbage silent
is "ring: with strays on the port, the job completes" "$rcs" "0 0"
ok_if "ring: ... in ${ms} ms (not held up by them)" [ "$ms" -lt 5000 ]
k=0
for m in old garbage silent; do
	ok_if "ring: the stray speaking $m is closed: $(cat "$d.stray.$k")" \
		grep -q "^closed after 0 bytes" "$d.stray.$k"
	k=$((k + 1))
done
sed 's/^/# /' "$d.out.0" "$d.out.1"
ok_if "ring: the file:// bootstrap holds the job's secret, mode 0600" \
	[ "$(stat -c %a%s "$d/.muster-secret" 2>/dev/null)" = 60032 ]

# More silent strays than a leader keeps pending (16): the oldest are
# pushed out, the neighbour still gets in.
d=$T/flood
strays_job "$d" $(seq 20 | sed 's/.*/silent/')
is "ring: with 20 silent strays on the port, the job completes" "$rcs" "0 0"
ok_if "ring: ... in ${ms} ms" [ "$ms" -lt 5000 ]
is "ring: ... and every stray was closed" \
	"$(cat "$d".stray.* | grep -c '^closed after 0 bytes')" 20

# A leader with another secret cannot join: both leaders fail the
# set-up (exit 2), saying why, within the timeout.
d=$T/wrong
only=0 start_ranks "$d" 2 2 MUSTER_TIMEOUT=3 MUSTER_JOB_SECRET=alpha-$$
p0=$pids
only=1 start_ranks "$d" 2 2 MUSTER_TIMEOUT=3 MUSTER_JOB_SECRET=beta-$$
pids="$p0 $pids"
t0=$(now_ms)
wait_ranks
ms=$(($(now_ms) - t0))
is "ring: leaders with different secrets both fail to start" "$rcs" "2 2"
ok_if "ring: ... within the timeout (${ms} ms)" [ "$ms" -lt 6000 ]
ok_if "ring: ... a rank says the other has not this job's key" \
	grep -q "rank [01] (leader of node [01]) .*without this job's key" \
	"$d.out.0" "$d.out.1"
ok_if "ring: ... and the other names the handshake too" \
	[ "$(grep -l "MUSTER_JOB_SECRET" "$d.out.0" "$d.out.1" | wc -l)" -eq 2 ]
sed 's/^/# /' "$d.out.0" "$d.out.1"
# and with the same secret (and no bootstrap secret file) it works
d=$T/right
start_ranks "$d" 2 2 MUSTER_TIMEOUT=10 MUSTER_JOB_SECRET=alpha-$$
wait_ranks
is "ring: leaders with the same MUSTER_JOB_SECRET run" "$rcs" "0 0"
ok_if "ring: ... and make no secret file" [ ! -e "$d/.muster-secret" ]

# --- 3. a collective whose arguments differ between ranks
# Rank 3 (node 1, not its leader) calls its large allreduces with one
# element fewer: every rank fails with MUSTER_EINVAL at the first of
# them, naming the mismatch, in well under the timeout (was: exit 0
# with wrong sums).
d=$T/odd
start_ranks "$d" 4 2 MUSTER_TIMEOUT=20 COLL_OPS=10 COLL_ODD_RANK=3
t0=$(now_ms)
wait_ranks
ms=$(($(now_ms) - t0))
is "mismatch: every rank fails" "$rcs" "1 1 1 1"
ok_if "mismatch: ... within 5 s of a 20 s timeout (${ms} ms)" [ "$ms" -lt 5000 ]
want="rank 3 called allreduce(99999 x float32, sum), rank 2 allreduce(100000 x float32, sum)"
n=0
for r in 0 1 2 3; do
	grep "^rank $r: invalid argument " "$d.out.$r" |
		grep -qF "mismatched collective: $want" && n=$((n + 1))
done
is "mismatch: each rank says EINVAL and names it" "$n" 4
sed 's/^/# /' "$d.out.0"

done_testing
