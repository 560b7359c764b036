"""Launch benchmark: `muster -n N -- true` against `mpirun -np N true`,
measured in the same run (median of R runs each, interleaved).

usage: launch.py [N...]   (default 8 32)
"""
import os, statistics, subprocess, sys, threading, time

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
muster = os.path.join(root, "build", "bin", "muster")
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
runs = int(os.environ.get("RUNS", "21"))

def wall(cmd):
    # A blocking wait: subprocess.run(timeout=) polls with growing sleeps
    # (0.5, 1, 2 ... 32 ms, then 50), so a 33 ms launch read as 64 ms.
    t = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    watchdog = threading.Timer(60, p.kill)
    watchdog.start()
    rc = p.wait()
    dt = time.perf_counter() - t
    watchdog.cancel()
    if rc != 0:
        sys.exit("failed (%d): %s" % (rc, " ".join(cmd)))
    return dt

print("# launch: median wall time of %d runs, same run, interleaved" % runs)
print("# %6s  %12s  %12s  %8s" % ("procs", "muster ms", "mpirun ms", "ratio"))
worst = 0.0
for n in [int(a) for a in sys.argv[1:]] or [8, 32]:
    mpi = ["mpirun", "--oversubscribe", "-np", str(n)]
    if n >= 32:	# mpirun's threaded spawn hangs above the cutoff (machine-facts.md)
        mpi += ["--mca", "odls_base_cutoff", "1000"]
    mpi.append("true")
    ours = [muster, "-n", str(n), "--", "true"]
    wall(ours); wall(mpi)
    a, b = [], []
    for _ in range(runs):
        a.append(wall(ours))
        b.append(wall(mpi))
    ma, mb = statistics.median(a) * 1e3, statistics.median(b) * 1e3
    worst = max(worst, ma / mb)
    print("  %6d  %12.1f  %12.1f  %7.2fx" % (n, ma, mb, ma / mb))
print("# goal: muster at most 0.5x of mpirun's wall time; worst ratio %.2f (%s)"
      % (worst, "met" if worst <= 0.5 else "NOT met"))
