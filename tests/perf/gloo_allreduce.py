#!/usr/bin/python3
"""torch.distributed gloo allreduce in muster-allreduce-perf's columns.

usage: gloo_allreduce.py NP MINBYTES MAXBYTES FACTOR ITERS WARMUP
Float32 SUM; gloo reduces in place, so both column groups are in-place
runs.  Time: mean per iteration, averaged over ranks.
"""
import os
import sys
import tempfile
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def fmt(v, width):
    for p in (2, 1, 0):
        s = "%.*f" % (p, v)
        if len(s) <= width:
            return s
    return s


def worker(rank, n, store, minb, maxb, factor, iters, warm):
    dist.init_process_group("gloo", init_method="file://" + store,
                            rank=rank, world_size=n)
    torch.set_num_threads(1)
    b = minb
    while b <= maxb:
        count = b // 4
        t = torch.ones(count, dtype=torch.float32)
        cols = []
        for _ in range(2):
            for _ in range(warm):
                dist.all_reduce(t)
            dist.barrier()
            t0 = time.perf_counter()
            for _ in range(iters):
                dist.all_reduce(t)
            el = torch.tensor([(time.perf_counter() - t0) / iters],
                              dtype=torch.float64)
            dist.all_reduce(el)
            sec = el.item() / n
            algbw = count * 4 / 1e9 / sec
            cols.append((fmt(sec * 1e6, 7), fmt(algbw, 6),
                         fmt(algbw * 2 * (n - 1) / n, 6)))
        if rank == 0:
            print("%12d  %12d  %8s  %6s  %6s  %7s  %6s  %6s %6s  %7s  %6s  %6s %6s"
                  % (count * 4, count, "float", "sum", "-1", *cols[0], "0",
                     *cols[1], "0"), flush=True)
        b = int(b * factor)
    dist.destroy_process_group()


def main():
    n, minb, maxb = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    factor, iters, warm = float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    fd, store = tempfile.mkstemp(prefix="muster-gloo.")
    os.close(fd)
    os.unlink(store)
    print("# torch %s gloo allreduce, %d ranks" % (torch.__version__, n))
    sys.stdout.flush()
    mp.spawn(worker, args=(n, store, minb, maxb, factor, iters, warm),
             nprocs=n)
    if os.path.exists(store):
        os.unlink(store)


if __name__ == "__main__":
    main()
