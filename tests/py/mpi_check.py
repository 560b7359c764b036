# mpi4py under muster --mpi: real MPI, and muster's names agree with it.
import os
from mpi4py import MPI

comm = MPI.COMM_WORLD
r, n = comm.Get_rank(), comm.Get_size()
e = os.environ
assert r == int(e["RANK"]) == int(e["OMPI_COMM_WORLD_RANK"]) == int(e["MUSTER_RANK"]) == int(e["HOROVOD_RANK"]), r
assert n == int(e["WORLD_SIZE"]) == int(e["OMPI_COMM_WORLD_SIZE"]), n
total = comm.allreduce(r, op=MPI.SUM)
assert total == n * (n - 1) // 2
names = comm.allgather(e["LOCAL_RANK"] + "/" + e["NODE_RANK"])
if r == 0:
    print("mpi4py ok size=%d sum=%d layout=%s" % (n, total, ",".join(names)), flush=True)
