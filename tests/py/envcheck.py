"""Checks the environment every rank got (lines "[r] {json}" on stdin).

usage: envcheck.py NP NODES   (ranks placed node by node, NP/NODES each)
Prints TAP-free diagnostics and exits 1 on the first inconsistency.
"""
import json, os, sys

np_, nodes = int(sys.argv[1]), int(sys.argv[2])
ppn = np_ // nodes
seen = {}
for line in sys.stdin:
    if not line.startswith("["):
        continue
    tag, _, rest = line.partition("] ")
    seen[int(tag[1:])] = json.loads(rest)

def fail(msg):
    print("envcheck: " + msg)
    sys.exit(1)

if sorted(seen) != list(range(np_)):
    fail("ranks seen %s, want 0..%d" % (sorted(seen), np_ - 1))
ports, jobs, addrs = set(), set(), set()
for r, e in seen.items():
    node, local = r // ppn, r % ppn
    want = {
        "RANK": r, "WORLD_SIZE": np_, "LOCAL_RANK": local,
        "LOCAL_WORLD_SIZE": ppn, "GROUP_RANK": node, "GROUP_WORLD_SIZE": nodes,
        "NODE_RANK": node, "ROLE_RANK": r, "ROLE_WORLD_SIZE": np_,
        "MUSTER_RANK": r, "MUSTER_SIZE": np_, "MUSTER_LOCAL_RANK": local,
        "MUSTER_LOCAL_SIZE": ppn, "MUSTER_NODE_RANK": node,
        "MUSTER_NUM_NODES": nodes, "HOROVOD_RANK": r, "HOROVOD_SIZE": np_,
        "HOROVOD_LOCAL_RANK": local, "HOROVOD_LOCAL_SIZE": ppn,
        "HOROVOD_CROSS_RANK": node, "HOROVOD_CROSS_SIZE": nodes,
        "TORCHELASTIC_RESTART_COUNT": 0,
    }
    for k, v in want.items():
        if e.get(k) != str(v):
            fail("rank %d: %s=%r, want %r" % (r, k, e.get(k), str(v)))
    if e.get("ROLE_NAME") != "default":
        fail("rank %d: ROLE_NAME=%r" % (r, e.get("ROLE_NAME")))
    for k in ("MASTER_ADDR", "MASTER_PORT", "MUSTER_JOB_ID",
              "MUSTER_RENDEZVOUS", "MUSTER_JOB_SECRET", "HOROVOD_HOSTNAME",
              "AZ_BATCH_MASTER_NODE", "AZ_BATCHAI_MPI_MASTER_NODE",
              "TORCHELASTIC_RUN_ID"):
        if not e.get(k):
            fail("rank %d: %s missing" % (r, k))
    if e["AZ_BATCH_MASTER_NODE"] != e["MASTER_ADDR"] + ":" + e["MASTER_PORT"]:
        fail("AZ_BATCH_MASTER_NODE %r" % e["AZ_BATCH_MASTER_NODE"])
    if e["AZ_BATCHAI_MPI_MASTER_NODE"] != e["MASTER_ADDR"]:
        fail("AZ_BATCHAI_MPI_MASTER_NODE %r" % e["AZ_BATCHAI_MPI_MASTER_NODE"])
    omp = e.get("OMP_NUM_THREADS") or ""
    # muster's 1, or with ranks bound the rank's share of the cores
    if ppn > 1 and omp != "1" and not (omp.isdigit() and
                                        int(omp) * ppn <= os.cpu_count()):
        fail("rank %d: OMP_NUM_THREADS=%r with %d per node"
             % (r, e.get("OMP_NUM_THREADS"), ppn))
    if any(k.startswith("OMPI_COMM_WORLD") and e[k] for k in e):
        fail("rank %d: OMPI_* set outside --mpi" % r)
    ports.add(e["MASTER_PORT"]); jobs.add(e["MUSTER_JOB_ID"])
    addrs.add((e["MUSTER_RENDEZVOUS"], e["MUSTER_JOB_SECRET"], e["MASTER_ADDR"]))
if len(ports) != 1 or len(jobs) != 1 or len(addrs) != 1:
    fail("job-wide values differ between ranks")
port = int(ports.pop())
if not 1024 <= port <= 65535 or port == 29500:
    fail("MASTER_PORT %d is not a free ephemeral port" % port)
print("envcheck: %d ranks on %d nodes consistent" % (np_, nodes))
