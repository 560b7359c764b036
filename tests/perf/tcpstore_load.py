#!/usr/bin/python3
"""tcpstore_load.py N: torch's TCPStore as the reference rendezvous.

A TCPStore master runs in its own process; N members (threads, each its
own TCPStore client connection) join -- rank = add("rank", 1) - 1 -- and
pass a barrier (add "arrived"; the last sets "go"; all wait for "go"),
as torch.distributed's store-based rendezvous and barrier do.
Prints "SECONDS SERVER_PEAK_RSS_KB".
"""
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta


def server():
    import torch.distributed as dist
    store = dist.TCPStore("127.0.0.1", 0, is_master=True,
                          wait_for_workers=False,
                          timeout=timedelta(seconds=120))
    print(store.port, flush=True)
    sys.stdin.read()  # until the parent closes our stdin


def main():
    n = int(sys.argv[1])
    import torch.distributed as dist
    srv = subprocess.Popen([sys.executable, __file__, "--server"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    port = int(srv.stdout.readline())
    errors = []
    threading.stack_size(256 * 1024)

    def member():
        try:
            s = dist.TCPStore("127.0.0.1", port, is_master=False,
                              timeout=timedelta(seconds=120))
            s.add("rank", 1)
            if s.add("arrived", 1) == n:
                s.set("go", "1")
            s.wait(["go"])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    def group(count):
        ts = [threading.Thread(target=member) for _ in range(count)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        os._exit(1 if errors else 0)

    # a few processes of threads: one interpreter's GIL would be the
    # bottleneck, not the store
    procs = int(os.environ.get("TCPSTORE_PROCS", str(max(8, n // 128))))
    procs = max(1, min(procs, n))
    t0 = time.monotonic()
    pids = []
    for i in range(procs):
        count = n * (i + 1) // procs - n * i // procs
        pid = os.fork()
        if pid == 0:
            group(count)
        pids.append(pid)
    for pid in pids:
        _, st = os.waitpid(pid, 0)
        if st != 0:
            errors.append("a member process failed (status %d)" % st)
    secs = time.monotonic() - t0
    with open("/proc/%d/status" % srv.pid) as f:
        rss = [line.split()[1] for line in f if line.startswith("VmHWM")][0]
    srv.stdin.close()
    srv.wait()
    if errors:
        print("errors: %d, first: %s" % (len(errors), errors[0]),
              file=sys.stderr)
        sys.exit(1)
    print("%.3f %s" % (secs, rss))


if __name__ == "__main__":
    if sys.argv[1:] == ["--server"]:
        server()
    else:
        main()
