# A Python rank for t7150 (launcher/pystacks.h): writes its pid to
# $PYW_DIR/pid.RANK, says "ready", then waits in wait_in_here() until
# $PYW_DIR/go exists.  PYW_FORK=1: a child of os.fork() waits too, in
# wait_in_child().  PYW_HANDLERS=1: handlers of its own for SIGUSR2 and
# SIGRTMIN, whose calls it counts.  At the end it prints what it saw:
# "handled N", and the sitecustomize module's USER_MARK (a user's own, on
# PYTHONPATH, chained by muster's) or "none".
import os
import signal
import sys
import time

d = os.environ["PYW_DIR"]
go = os.path.join(d, "go")
got = []
if os.environ.get("PYW_HANDLERS"):
    for s in (signal.SIGUSR2, signal.SIGRTMIN):
        signal.signal(s, lambda n, f: got.append(n))


def wait_in_here():
    while not os.access(go, os.F_OK):  # C, no Python frame of its own
        time.sleep(0.1)


def wait_in_child():
    while not os.access(go, os.F_OK):
        time.sleep(0.1)


child = 0
if os.environ.get("PYW_FORK"):
    child = os.fork()
    if child == 0:
        wait_in_child()
        os._exit(0)
    with open(os.path.join(d, "child.%s" % os.environ["RANK"]), "w") as f:
        f.write("%d\n" % child)
with open(os.path.join(d, "pid.%s" % os.environ["RANK"]), "w") as f:
    f.write("%d\n" % os.getpid())
print("ready", flush=True)
wait_in_here()
if child and os.waitpid(child, 0)[1] != 0:
    sys.exit(3)
import sitecustomize
print("handled %d sitecustomize %s" % (len(got),
      getattr(sitecustomize, "USER_MARK", "none")), flush=True)
