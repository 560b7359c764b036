#!/bin/sh
# The test runner: every unit test binary (build/tests/*_test) and every
# shell test (tests/t*.sh) speaks TAP ("ok N name", "not ok N name",
# "ok N name # SKIP why").  Prints failures, then "N passed, N failed,
# N skipped" and exits non-zero on any failure.
# usage: tests/run.sh [PATTERN...]   (substring of a test file name)
cd "$(dirname "$0")/.." || exit 2
export MUSTER_TEST_ROOT="$PWD"
# never inside the caller's Slurm job (tests/lib.sh says why)
for v in $(env | sed -n 's/^\(SLURMD*_[A-Za-z0-9_]*\)=.*/\1/p'); do
	unset "$v"
done
export TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp ${TSAN_OPTIONS:-}"
tmp=$(mktemp -d /tmp/muster-tests.XXXXXX) || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
pass=0; fail=0; skip=0; failed=""
limit=${MUSTER_TEST_TIMEOUT:-300}

run_one() {
	name=$1; shift
	out="$tmp/out"
	start=$(date +%s.%N)
	timeout -k 10 "$limit" "$@" > "$out" 2>&1
	rc=$?
	secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	p=$(grep -c '^ok ' "$out" | tr -d ' ')
	s=$(grep -c '^ok .*# *SKIP' "$out" | tr -d ' ')
	f=$(grep -c '^not ok ' "$out" | tr -d ' ')
	p=$((p - s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc" >> "$out"
	fi
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	printf '%-34s %3d passed %3d failed %3d skipped  %ss\n' "$name" "$p" "$f" "$s" "$secs"
	if [ "$f" -ne 0 ]; then
		failed="$failed $name"
		sed 's/^/    | /' "$out" | grep -v '^    | ok ' | tail -40
	fi
	grep '^ok .*# *SKIP' "$out" | sed 's/^/    | /'
}

match() {
	[ $# -eq 1 ] && return 0
	n=$1; shift
	for pat in "$@"; do case "$n" in *"$pat"*) return 0 ;; esac; done
	return 1
}

b=${MUSTER_BUILD:-build}
for t in $b/tests/*_test; do
	[ -x "$t" ] || continue
	match "$t" "$@" || continue
	run_one "${t#$b/tests/}" "$t"
done
for t in tests/t*.sh; do
	[ -f "$t" ] || continue
	match "$t" "$@" || continue
	run_one "${t#tests/}" sh "$t"
done
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ $((pass + fail)) -gt 0 ]
