#!/bin/sh
# rdv_load.sh: N simulated members (non-blocking DEALERs, tests/tools/
# rdv_load.c) join one job of a fresh musterd and pass a barrier; prints
# members, seconds and the server's peak RSS, then the same for torch's
# TCPStore (python3-torch) when present, and the ratio.
# usage: tests/perf/rdv_load.sh [MEMBERS...]   (default: 64 1024 4096)
# Goal (DESIGN.md): 4096 members in under 1 s on 2 cores.
cd "$(dirname "$0")/../.." || exit 2
MUSTERD=build/bin/musterd
LOAD=build/tests/rdv_load
PY=/usr/bin/python3
[ -x "$MUSTERD" ] && [ -x "$LOAD" ] || { echo "rdv_load.sh: build first (make tests)" >&2; exit 2; }
sizes=${*:-64 1024 4096}
reps=${RDV_LOAD_REPS:-3}
tmp=$(mktemp -d /tmp/rdv-load.XXXXXX) || exit 2
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
export MUSTER_JOB_SECRET=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')

# median of stdin numbers
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

printf '%-8s %10s %10s %12s %12s %8s\n' members musterd_s rss_MiB tcpstore_s tcpstore_rss speedup
for n in $sizes; do
	: > "$tmp/times"; rss=0
	for r in $(seq "$reps"); do
		"$MUSTERD" --foreground --quiet --open --bind tcp://127.0.0.1:0 > "$tmp/ep" &
		pid=$!
		for i in $(seq 200); do [ -s "$tmp/ep" ] && break; sleep 0.05; done
		ep=$(head -1 "$tmp/ep")
		out=$("$LOAD" "$ep" "$n" 1 2>"$tmp/load.err") || {
			echo "rdv_load $ep $n failed: $out $(tail -3 "$tmp/load.err")" >&2
			exit 1; }
		echo "$out" | awk '{ print $6 }' >> "$tmp/times"
		kb=$(awk '/VmHWM/ { print $2 }' /proc/$pid/status)
		[ "$kb" -gt "$rss" ] && rss=$kb
		kill "$pid"; wait "$pid" 2>/dev/null; pid=""
	done
	ours=$(median < "$tmp/times")
	ts="-"; trss="-"; ratio="-"
	if [ "${RDV_LOAD_TORCH:-1}" = 1 ] && "$PY" -c 'import torch' 2>/dev/null; then
		res=$("$PY" tests/perf/tcpstore_load.py "$n" 2>"$tmp/py.err")
		if [ -n "$res" ]; then
			ts=$(echo "$res" | awk '{ print $1 }')
			trss=$(echo "$res" | awk '{ printf "%.0f", $2 / 1024 }')
			ratio=$(awk -v a="$ts" -v b="$ours" 'BEGIN { printf "%.1fx", a / b }')
		else
			ts="error"; sed 's/^/# /' "$tmp/py.err" | tail -3
		fi
	fi
	printf '%-8s %10s %10s %12s %12s %8s\n' "$n" "$ours" \
	    "$(awk -v k="$rss" 'BEGIN { printf "%.0f", k / 1024 }')" "$ts" "$trss" "$ratio"
done
