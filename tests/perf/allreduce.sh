#!/bin/sh
# tests/perf/allreduce.sh: muster-allreduce-perf against Open MPI's
# MPI_Allreduce (tests/mpi/allreduce_bench.c) and torch's gloo, in the
# same run, float32 sum, 8 B .. 64 MiB.  Each configuration runs REPEATS
# times, interleaved with its peers; the table shows per-size medians of
# the out-of-place time and busbw, and the ratios the goals speak of:
# speedup = peer time / muster time (small sizes), bw = muster busbw /
# peer busbw (large sizes).
#
# usage: sh tests/perf/allreduce.sh [-r REPEATS] [-e MAXBYTES] [-n ITERS]
#                                   [-g] [shm2 shm4 tcp2 tcp4]
#   -g: skip gloo.  MUSTER_PERF_LAUNCH=file starts ranks without the
#   launcher (tests/tools/flaunch.sh).
cd "$(dirname "$0")/../.." || exit 2
ROOT=$PWD
R=3 MAXB=64M ITERS=20 GLOO=1
while getopts r:e:n:g o; do
	case $o in
	r) R=$OPTARG ;; e) MAXB=$OPTARG ;; n) ITERS=$OPTARG ;; g) GLOO=0 ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
CONFIGS=${*:-shm2 shm4 tcp2 tcp4}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=cma
PERF=$ROOT/build/bin/muster-allreduce-perf
MPIB=$ROOT/build/tests/mpi_allreduce_bench
T=$(mktemp -d /tmp/muster-perf.XXXXXX) || exit 2
trap 'rm -rf "$T"' EXIT INT TERM
# small sizes take many more iterations: one preemption (a millisecond,
# the machine is shared) must not decide a microsecond mean
SMALL="-b 8 -e 64K -f 2 -n 500 -w 20 -c 0"
LARGE="-b 128K -e $MAXB -f 2 -n $ITERS -w 5 -c 0"

for f in "$PERF" "$MPIB"; do
	[ -x "$f" ] || { echo "allreduce.sh: $f missing: make tests" >&2; exit 2; }
done
launch() {	# launch NP NODES
	np=$1 nodes=$2; shift 2
	if [ "${MUSTER_PERF_LAUNCH:-}" != file ] && [ -x "$ROOT/build/bin/muster" ]; then
		"$ROOT/build/bin/muster" --nodes "$nodes" --procs-per-node \
			$((np / nodes)) -- "$@" | sed 's/^\[[0-9]*\] //'
	else
		sh "$ROOT/tests/tools/flaunch.sh" "$np" "$nodes" "$@"
	fi
}
mpi() {		# mpi NP BTL ARGS...
	np=$1 btl=$2; shift 2
	mpirun --allow-run-as-root --oversubscribe --mca pml ob1 \
		--mca btl "self,$btl" --mca btl_tcp_if_include lo \
		-np "$np" "$MPIB" "$@" 2>/dev/null
}
gloo_ok() {
	[ "$GLOO" = 1 ] && /usr/bin/python3 -c 'import torch.distributed' 2>/dev/null
}

# med FILES...: "size median_time median_busbw" per size (out-of-place)
med() {
	cat "$@" | awk '!/^#/ && NF >= 8 { t[$1] = t[$1] " " $6; b[$1] = b[$1] " " $8 }
	function median(s,   a, n, i, j, x) {
		n = split(s, a, " ")
		for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > x + 0; j--) a[j + 1] = a[j]; a[j + 1] = x }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	END { for (s in t) print s, median(t[s]), median(b[s]) }' | sort -n
}

table() {	# table NAME NP GOALSET: joins $T/m $T/o $T/g
	echo
	echo "## $1: float32 sum, $2 ranks, median of $R runs (out-of-place)"
	printf '%10s %10s %10s %8s %9s %9s %7s %10s %9s %8s  %s\n' size \
		muster_us mpi_us speedup muster_bw mpi_bw bw gloo_us gloo_bw \
		vs_gloo goal
	join "$T/m" "$T/o" | join -a 1 - "$T/g" | awk -v set="$3" '
	function goal(s, sp, bw,   g) {
		if (set == "shm2") {
			if (s == 8) return sp >= 1 ? "ok (parity)" : "MISS (parity)"
			if (s >= 8192 && s <= 32768) return sp >= 1.5 ? "ok (1.5x)" : "MISS (1.5x)"
			if (s >= 131072) return bw >= 1 ? "ok (bw 1x)" : "MISS (bw 1x)"
		} else if (set == "shm4") {
			if (s >= 8192 && s <= 32768) return sp >= 2 ? "ok (2x)" : "MISS (2x)"
			if (s >= 131072) return bw >= 1.4 ? "ok (bw 1.4x)" : "MISS (bw 1.4x)"
		} else if (s >= 131072)
			return bw >= 1 ? "ok (bw 1x)" : "MISS (bw 1x)"
		return "-"
	}
	{ sp = $4 > 0 ? $4 / $2 : 0; bw = $5 > 0 ? $3 / $5 : 0
	  gl = NF >= 7 ? sprintf("%10s %9s %7.1fx", $6, $7, $6 / $2) : sprintf("%10s %9s %8s", "-", "-", "-")
	  printf "%10d %10s %10s %7.2fx %9s %9s %6.2fx %s  %s\n", $1, $2, $4, sp, $3, $5, bw, gl, goal($1, sp, bw) }'
}

run_config() {	# NAME NP NODES BTL
	name=$1 np=$2 nodes=$3 btl=$4
	rm -f "$T"/m.* "$T"/o.* "$T"/g.*
	i=1
	while [ "$i" -le "$R" ]; do
		for a in "$SMALL" "$LARGE"; do
			launch "$np" "$nodes" "$PERF" $a
		done > "$T/m.$i" 2>&1
		for a in "$SMALL" "$LARGE"; do
			mpi "$np" "$btl" $a
		done > "$T/o.$i"
		i=$((i + 1))
	done
	if gloo_ok; then
		/usr/bin/python3 "$ROOT/tests/perf/gloo_allreduce.py" "$np" 8 \
			$(numfmt --from=iec "$MAXB") 2 5 1 > "$T/g.1" 2>/dev/null
	else
		: > "$T/g.1"
	fi
	med "$T"/m.* > "$T/m"
	med "$T"/o.* > "$T/o"
	med "$T/g.1" > "$T/g"
	table "$name" "$np" "$name"
}

echo "# muster allreduce benchmark, $(date -u +%FT%TZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# mpi: Open MPI $(mpirun --version 2>/dev/null | head -1 | awk '{print $NF}') MPI_Allreduce, pml ob1"
echo "# sizes <= 64 KiB: 500 iterations per run, larger: $ITERS (nccl-tests -n)"
echo "# gloo: torch gloo, $(/usr/bin/python3 -c 'import torch; print(torch.__version__)' 2>/dev/null || echo absent), 1 run of 5 iterations"
for c in $CONFIGS; do
	case $c in
	shm2) run_config shm2 2 1 vader ;;
	shm4) run_config shm4 4 1 vader ;;
	tcp2) run_config tcp2 2 2 tcp ;;
	tcp4) run_config tcp4 4 2 tcp ;;
	*) echo "allreduce.sh: unknown configuration $c" >&2; exit 2 ;;
	esac
done
