# tests/lib.sh: sourced by tests/t*.sh.  TAP output, temp dirs, helpers.
#   ok_if NAME COMMAND...   "ok"/"not ok" by the command's status
#   is NAME GOT WANT        string equality, shows both on failure
#   skip NAME WHY           a skip, never counted as a pass
#   done_testing            prints the plan
#   alive/none_alive PIDFILE..., wait_gone PIDFILE..., wait_files N GLOB
#   rank_files PREFIX N     PREFIX.0 ... PREFIX.N-1 (one pidfile per rank)
#   hosts_up N WHAT [ARGS]  N test hosts (tests/netns.sh) for the file's WHAT
#   cluster_up N WHAT       a Slurm cluster of N nodes (tests/slurm.sh)
#   bad WANT ARGS...        muster ARGS refused: exit 2, one line on stderr
#                           holding WANT, $T/started not made (P makes it)
#   stacks_of, frames_in, stack_section FILE ...: a stack snapshot's ranks
set -u
# never inside the caller's Slurm job (CI may run in one): muster would
# take its nodes; the Slurm tests make their own cluster and jobs
for v in $(env | sed -n 's/^\(SLURMD*_[A-Za-z0-9_]*\)=.*/\1/p'); do
	unset "$v"
done
cd "${MUSTER_TEST_ROOT:-$(dirname "$0")/..}" || exit 2
ROOT=$PWD
B=$ROOT/${MUSTER_BUILD:-build}	# make check SANITIZE=... sets another
MUSTER=$B/bin/muster
MUSTERD=$B/bin/musterd
PY=/usr/bin/python3
T=$(mktemp -d /tmp/muster-t.XXXXXX)
# run records (runrec.h) of the jobs a test starts go here, not into the
# checkout's ./muster-runs; a test that looks at the default unsets it
export MUSTER_RUNS_DIR=$T/muster-runs
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
test_n=0
# time bounds stretch under sanitizers (their code runs 2-15x slower):
# the timing claims are the plain build's
SAN_X=1
[ -n "${MUSTER_SANITIZE:-}" ] && SAN_X=3
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
alive() {	# alive PIDFILE...: true if any listed process still runs
	for f in "$@"; do	# (a zombie waiting for init to reap it is dead)
		[ -s "$f" ] && [ -r /proc/$(cat "$f")/stat ] &&
		    [ "$(cut -d' ' -f3 /proc/$(cat "$f")/stat 2>/dev/null)" != Z ] &&
		    return 0
	done
	return 1
}
none_alive() {	# none_alive PIDFILE...: true if no listed process runs;
	# false, with a '#' line, when there is nothing to look at: no
	# pidfile, or one that is missing, empty or not a pid
	[ $# -gt 0 ] || { echo "# none_alive: no pidfile given"; return 1; }
	for f in "$@"; do
		case $(cat "$f" 2>/dev/null) in
		""|*[!0-9]*) echo "# none_alive: no pid in $f"; return 1 ;;
		esac
	done
	! alive "$@"
}
wait_gone() {	# wait_gone PIDFILE...: up to 2 s for them to end
	i=0
	while alive "$@" && [ $i -lt 40 ]; do sleep 0.05; i=$((i + 1)); done
}
wait_files() {	# wait_files N GLOB: until N files match (10 s at most)
	i=0
	while [ "$(ls $2 2>/dev/null | wc -l)" -lt "$1" ] && [ $i -lt 200 ]; do
		sleep 0.05; i=$((i + 1))
	done
	wf_n=$(ls $2 2>/dev/null | wc -l)
	[ "$wf_n" -ge "$1" ] || echo "# wait_files: only $wf_n of $1 files match $2"
}
rank_files() {	# rank_files PREFIX N: the names PREFIX.0 ... PREFIX.N-1
	i=0
	while [ $i -lt "$2" ]; do echo "$1.$i"; i=$((i + 1)); done
}
# stack snapshot files (launcher/stacks.h):
# stacks_of FILE: "R:STATUS" per rank of a snapshot file, e.g. "0:taken 1:taken"
stacks_of() {
	sed -n 's/^=== rank \([0-9]*\) (.*): \([a-z ]*\)[:=].*/\1:\2/p' "$1" |
	    sed 's/ *$//' | tr '\n' ' ' | sed 's/ $//'
}
# frames_in FILE WORD: how many ranks' sections name WORD
frames_in() {
	awk -v w="$2" '/^=== rank /{r=$3} index($0, w) && r != "" {s[r]=1}
	    END {n=0; for (k in s) n++; print n}' "$1"
}
# stack_section FILE R: rank R's section of a snapshot file
stack_section() { awk -v r="$2" '/^=== rank /{in_r = ($3 == r)} in_r' "$1"; }
bad() {	# bad "WORD IN MESSAGE" ARGS...
	want=$1; shift
	rm -f $T/started
	"$MUSTER" "$@" > $T/out 2> $T/err
	rc=$?
	lines=$(wc -l < $T/err)
	test_n=$((test_n + 1))
	if [ $rc -eq 2 ] && [ "$lines" -eq 1 ] && grep -qF -- "$want" $T/err &&
	    grep -q '^muster: ' $T/err && [ ! -e $T/started ]; then
		echo "ok $test_n bad input: $*"
	else
		echo "not ok $test_n bad input: $* (rc $rc, $lines lines, want '$want')"
		sed 's/^/#   /' $T/err | head -5
	fi
}
P="touch $T/started"

# hosts_up N WHAT [ARGS...]: N test hosts h1..hN (tests/netns.sh up N $NS
# ARGS), taken down when the test ends; MUSTER_SSH reaches them and
# $in_h1 CMD runs CMD inside h1.  Where they cannot be made (not root, no
# namespaces: exit 77) the file's WHAT is reported skipped with the reason,
# and on another failure the failure; either way the file ends there.
netns_down() { sh $ROOT/tests/netns.sh down $NS; }
hosts_up() {
	hu_n=$1 hu_what=$2
	shift 2
	NS=$T/hosts
	mkdir -p $NS
	hu_rc=0
	sh $ROOT/tests/netns.sh up $hu_n $NS "$@" 2> $T/up.err || hu_rc=$?
	if [ $hu_rc -eq 77 ]; then
		skip "$hu_what" "cannot make test hosts: $(tail -1 $T/up.err)"
	elif [ $hu_rc -ne 0 ]; then
		is "test hosts up" "$(tail -1 $T/up.err)" ""
	fi
	if [ $hu_rc -ne 0 ]; then
		done_testing
		exit 0
	fi
	test_cleanup_hooks="netns_down $test_cleanup_hooks"
	export MUSTER_SSH="ssh -F $NS/ssh_config"
	in_h1="sh $ROOT/tests/netns.sh exec $NS 1"
}

# own_disks HOST...: the test hosts share this machine's files; each HOST
# named gets a disk of its own for the job's folder $T/run (a mount
# namespace where $T/run is $T/disk-HOST) when muster reaches it with
# --ssh "sh $T/hostssh" (after hosts_up)
own_disks() {
	mkdir -p $T/run
	for od_h in "$@"; do mkdir -p $T/disk-$od_h; done
	cat > $T/hostssh <<EOF
#!/bin/sh
# ssh as muster runs it (-- HOST COMMAND), the command in the host's view
[ "\$1" = -- ] && shift
h=\$1; shift
exec ssh -F $NS/ssh_config -- "\$h" "unshare -m sh $T/hostview \$h \$*"
EOF
	cat > $T/hostview <<EOF
#!/bin/sh
h=\$1; shift
mount --bind $T/disk-\$h $T/run || exit 1
[ "\$1" = exec ] && shift
exec "\$@"
EOF
}

# cluster_up N WHAT: a real Slurm cluster (tests/slurm.sh up N $C: nodes
# n1..nN, login host ctl), taken down when the test ends; $SL is
# slurm.sh and $on_ctl CMD runs a client on ctl, never left hanging.
# Skipped or failed as hosts_up.
slurm_down() { $SL down $C; }
cluster_up() {
	SL="sh $ROOT/tests/slurm.sh"
	C=$T/cluster
	mkdir -p $C
	test_cleanup_hooks="slurm_down $test_cleanup_hooks"
	cu_rc=0
	$SL up $1 $C 2> $T/up.err || cu_rc=$?
	if [ $cu_rc -eq 77 ]; then
		skip "$2" "cannot run a Slurm cluster here: $(tail -1 $T/up.err)"
	elif [ $cu_rc -ne 0 ]; then
		is "slurm.sh up $1" "$(tail -1 $T/up.err)" ""
		sed 's/^/# /' $T/up.err | tail -20
	fi
	if [ $cu_rc -ne 0 ]; then
		done_testing
		exit 0
	fi
	on_ctl="timeout -k 5 120 $SL exec $C"
}
