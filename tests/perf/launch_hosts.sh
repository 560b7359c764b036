#!/bin/sh
# tests/perf/launch_hosts.sh: launch and tear down a trivial job (`true`)
# across namespaced test hosts (tests/netns.sh, each with its own sshd),
# muster against Open MPI's mpirun over ssh (which fans out as a tree by
# default), in the same run, interleaved: 4 and 16 hosts, 1 and 4 ranks
# per host.  Both launchers run inside h1, h1 takes part, and they reach
# the others with the same ssh_config.  Per case, the median of RUNS runs:
#   wall  the launch to exit time, ms;
#   cpu   the user+sys time of the launcher itself and of what it starts
#         on h1 (its ssh clients, h1's agent and ranks), ms, from
#         getrusage(RUSAGE_CHILDREN) around each run; the benchmark is a
#         child subreaper, so the ssh clients mpirun leaves behind when it
#         exits are reaped and counted too; what runs on the other hosts
#         (sshd, their shells, agents or orteds) is not in it.
# One ssh command (`ssh h2 true`) is measured too, for scale: on this
# machine every host's ssh handshake and login shell share the same CPUs.
# Goals (shared/DESIGN.md; issue 9): at 16 hosts, muster's wall time at
# most 0.5x mpirun's,
# and muster's cpu at 16 hosts at most 1.5x its cpu at 4 (same ranks per
# host).  Not part of make check; needs root (network namespaces).
#
# usage: sh tests/perf/launch_hosts.sh [HOSTS:RANKS[/fK]...]  (default: 4:1
#        4:4 16:1 16:4); RUNS=N (default 5) runs per case and launcher;
#        /fK: muster with --fanout K.
#   FANOUT (default 2): the --fanout of the extra cases 16:1/fK and 16:4/fK
#   (a tree of muster's agents), run only when `muster --help` shows
#   --fanout.  FANOUT= (empty) leaves them out.
#   SSH_OPTS: added to the ssh command of both launchers, e.g.
#   SSH_OPTS="-o KexAlgorithms=curve25519-sha256": OpenSSH 9's default
#   post-quantum key exchange costs about 100 ms of CPU per connection
#   on each end here, most of a launch on this 2-core machine.
cd "$(dirname "$0")/../.." || exit 2
ROOT=$PWD
PY=/usr/bin/python3
MUSTER=$ROOT/${MUSTER_BUILD:-build}/bin/muster
RUNS=${RUNS:-5}
FANOUT=${FANOUT-2}
CASES=${*:-4:1 4:4 16:1 16:4}
[ -x "$MUSTER" ] || { echo "launch_hosts.sh: $MUSTER missing: make" >&2; exit 2; }
command -v mpirun > /dev/null || { echo "launch_hosts.sh: no mpirun (Open MPI)" >&2; exit 2; }
if [ -n "$FANOUT" ] && "$MUSTER" --help 2>&1 | grep -q -- '--fanout'; then
	for r in 1 4; do CASES="$CASES 16:$r/f$FANOUT"; done
else
	FANOUT=""
fi
bad_case() {
	echo "launch_hosts.sh: case '$1': expected HOSTS:RANKS[/fK], 1..250 hosts," \
		"1 or more ranks, K a --fanout" >&2
	exit 2
}
max=0
for c in $CASES; do
	hr=${c%/f*} f=${c#"${c%/f*}"}
	f=${f#/f} h=${hr%%:*} r=${hr#*:}
	case "$hr" in *:*) ;; *) bad_case "$c" ;; esac
	case "$h" in ''|*[!0-9]*) bad_case "$c" ;; esac
	case "$r" in ''|*[!0-9]*) bad_case "$c" ;; esac
	case "$c" in */f*) case "$f" in ''|*[!0-9]*) bad_case "$c" ;; esac ;; esac
	[ "$h" -ge 1 ] && [ "$h" -le 250 ] && [ "$r" -ge 1 ] || bad_case "$c"
	[ "$h" -gt "$max" ] && max=$h
done
T=$(mktemp -d /tmp/muster-perf.XXXXXX) || exit 2
NS=$T/hosts
mkdir -p "$NS"
trap 'sh "$ROOT/tests/netns.sh" down "$NS"; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
rc=0
sh tests/netns.sh up "$max" "$NS" 2> "$T/up.err" || rc=$?
if [ $rc -ne 0 ]; then
	echo "# launch_hosts: skipped: cannot make $max test hosts: $(tail -1 "$T/up.err")"
	[ $rc -eq 77 ] && exit 0
	exit 1
fi

cat > "$T/bench.py" <<'EOF'
import ctypes, os, resource, signal, statistics, subprocess, sys, time

muster, cfg, runs, fanout = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
cases = sys.argv[5:]
ssh = ("ssh -F " + cfg + " " + os.environ.get("SSH_OPTS", "")).strip()
env = dict(os.environ, MUSTER_SSH=ssh, OMPI_ALLOW_RUN_AS_ROOT="1",
           OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")

# what a launcher leaves behind when it exits (mpirun does not wait for
# its ssh clients) comes to us, and is reaped and counted with its run
PR_SET_CHILD_SUBREAPER = 36
ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

def reap():
    """wait for every orphan that came to us; after 10 s, SIGKILL them"""
    end = time.monotonic() + 10
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid:
            continue
        if time.monotonic() > end:
            me = os.getpid()
            for t in os.listdir("/proc/%d/task" % me):
                for c in open("/proc/%d/task/%s/children" % (me, t)).read().split():
                    os.kill(int(c), signal.SIGKILL)
        time.sleep(0.005)

def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime

def run(cmd):
    """(wall s, cpu s) of one run of cmd; the job is ended after 60 s"""
    c0, t0 = cpu(), time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        _, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        sys.exit("launch_hosts: timed out after 60 s: %s" % " ".join(cmd))
    dt = time.perf_counter() - t0
    reap()
    dc = cpu() - c0
    if p.returncode != 0:
        sys.exit("launch_hosts: failed (%d): %s\n%s" % (p.returncode, " ".join(cmd),
                 err.decode(errors="replace")[-2000:]))
    return dt, dc

def med(xs):
    return statistics.median(xs) * 1e3

ssh1 = ssh.split() + ["h2", "true"]
run(ssh1)
print("# launch_hosts: median of %d runs each, same run, interleaved; muster vs mpirun over ssh"
      % runs)
print("# one ssh command (ssh h2 true): %.1f ms" % med([run(ssh1)[0] for _ in range(runs)]))
print("# %6s %6s %4s  %10s %10s %7s  %9s %9s %7s" % ("hosts", "ranks", "fan",
      "muster ms", "mpirun ms", "ratio", "m cpu ms", "o cpu ms", "ratio"))
res = {}
for c in cases:
    c, _, f = c.partition("/f")
    h, r = (int(x) for x in c.split(":"))
    hosts = ",".join("h%d:%d" % (i, r) for i in range(1, h + 1))
    ours = [muster] + (["--fanout", f] if f else []) + ["-H", hosts, "--", "true"]
    mpi = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(h * r),
           "-H", hosts, "--mca", "plm_rsh_agent", ssh,
           "--mca", "oob_tcp_if_include", "10.200.0.0/24",
           "--mca", "btl_tcp_if_include", "10.200.0.0/24", "true"]
    run(ours); run(mpi)
    a, b = [], []
    for _ in range(runs):
        a.append(run(ours))
        b.append(run(mpi))
    wa, wb = med([x[0] for x in a]), med([x[0] for x in b])
    ca, cb = med([x[1] for x in a]), med([x[1] for x in b])
    res[(h, r, f)] = (wa, wb, ca, cb)
    print("  %6d %6d %4s  %10.1f %10.1f %6.2fx  %9.1f %9.1f %6.2fx" % (h, r, f or "-",
          wa, wb, wa / wb, ca, cb, ca / cb if cb else 0), flush=True)
for f in sorted({k[2] for k in res}):
    for r in sorted({k[1] for k in res}):
        if (16, r, f) not in res:
            continue
        wa, wb, ca, _ = res[(16, r, f)]
        tag = "16 hosts x %d%s" % (r, ", --fanout " + f if f else "")
        print("# goal: %s: wall at most 0.5x mpirun's: %.2fx (%s)"
              % (tag, wa / wb, "met" if wa / wb <= 0.5 else "NOT met"))
        if (4, r, "") in res:
            c4 = res[(4, r, "")][2]
            print("# goal: %s: muster cpu at most 1.5x of 4 hosts': %.2fx (%s)"
                  % (tag, ca / c4, "met" if ca / c4 <= 1.5 else "NOT met"))
if not fanout:
    print("# no --fanout cases (FANOUT empty, or this muster has no --fanout)")
EOF
sh tests/netns.sh exec "$NS" 1 "$PY" "$T/bench.py" "$MUSTER" "$NS/ssh_config" \
	"$RUNS" "$FANOUT" $CASES
