"""Checks TF_CONFIG of every task by TensorFlow's rules (research §3).

usage: tfcheck.py CHIEF WORKERS PS EVALUATOR   (lines "[r] {json}" on stdin)
"""
import json, sys

chief, workers, ps, evaluator = map(int, sys.argv[1:5])
def fail(msg):
    print("tfcheck: " + msg)
    sys.exit(1)

cfgs = {}
for line in sys.stdin:
    if line.startswith("["):
        tag, _, rest = line.partition("] ")
        env = json.loads(rest)
        if env.get("TF_CONFIG") is None:
            fail("rank %s: no TF_CONFIG" % tag)
        cfgs[int(tag[1:])] = json.loads(env["TF_CONFIG"])
n = chief + workers + ps + evaluator
if sorted(cfgs) != list(range(n)):
    fail("tasks seen %s, want %d" % (sorted(cfgs), n))
cluster = cfgs[0]["cluster"]
want = {"chief": chief, "worker": workers, "ps": ps}
for t, k in want.items():
    if len(cluster.get(t, [])) != k:
        fail("cluster[%s] has %d tasks, want %d" % (t, len(cluster.get(t, [])), k))
if "evaluator" in cluster:
    fail("evaluator must not be in the training cluster")
if set(cluster) - set(want):
    fail("unexpected job names %s" % (set(cluster) - set(want)))
addrs = [a for t in cluster for a in cluster[t]]
if len(set(addrs)) != len(addrs):
    fail("addresses are not distinct: %s" % addrs)
for a in addrs:
    host, _, port = a.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        fail("bad address %r" % a)
order = ["chief"] * chief + ["worker"] * workers + ["ps"] * ps + ["evaluator"] * evaluator
counts = {}
for r in range(n):
    c = cfgs[r]
    if c["cluster"] != cluster:
        fail("task %d sees another cluster" % r)
    if c.get("environment") != "cloud":
        fail("task %d: environment %r" % (r, c.get("environment")))
    t, i = c["task"]["type"], c["task"]["index"]
    if t != order[r] or i != counts.get(t, 0) or not isinstance(i, int):
        fail("task %d is %s:%s, want %s:%d" % (r, t, i, order[r], counts.get(order[r], 0)))
    counts[t] = counts.get(t, 0) + 1
    if t != "evaluator" and i >= len(cluster[t]):
        fail("task %d index out of range" % r)
print("tfcheck: %d tasks valid" % n)
