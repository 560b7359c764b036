# tests/lib.sh: sourced by tests/t*.sh.  TAP output, temp dirs, helpers.
#   ok_if NAME COMMAND...   "ok"/"not ok" by the command's status
#   is NAME GOT WANT        string equality, shows both on failure
#   skip NAME WHY           a skip, never counted as a pass
#   done_testing            prints the plan
set -u
cd "${MUSTER_TEST_ROOT:-$(dirname "$0")/..}" || exit 2
ROOT=$PWD
B=$ROOT/${MUSTER_BUILD:-build}	# make check SANITIZE=... sets another
MUSTER=$B/bin/muster
MUSTERD=$B/bin/musterd
PY=/usr/bin/python3
T=$(mktemp -d /tmp/muster-t.XXXXXX)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
test_n=0
test_cleanup_hooks=""
trap 'for h in $test_cleanup_hooks; do $h; done; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM

ok_if() {
	name=$1; shift
	test_n=$((test_n + 1))
	if "$@"; then echo "ok $test_n $name"; else echo "not ok $test_n $name"; fi
}
is() {
	test_n=$((test_n + 1))
	if [ "$2" = "$3" ]; then
		echo "ok $test_n $1"
	else
		echo "not ok $test_n $1"
		printf '#   got:  %s\n#   want: %s\n' "$2" "$3" | head -20
	fi
}
skip() {
	test_n=$((test_n + 1))
	echo "ok $test_n $1 # SKIP $2"
}
done_testing() {
	echo "1..$test_n"
}
# now_ms: wall clock in milliseconds
now_ms() { date +%s%3N; }
