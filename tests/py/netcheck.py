# Prints, as one JSON line, what this rank is told to advertise and what
# its host is: the addresses and interface names muster sets, the host
# name, MASTER_ADDR and the rendezvous host as they resolve here, and whether each TF_CONFIG task address of this rank can be bound
# here (TF_CONFIG mode: the task binds and listens on it, then waits for
# every task to be listening, in the folder given, and connects to all).
import json, os, socket, sys, time

keys = ["MASTER_ADDR", "MASTER_PORT", "MUSTER_ADDR", "MUSTER_RENDEZVOUS",
        "GLOO_SOCKET_IFNAME", "NCCL_SOCKET_IFNAME", "TP_SOCKET_IFNAME",
        "RANK"]
out = {k: os.environ.get(k) for k in keys}
out["hostname"] = socket.gethostname()
# what this rank would connect to, resolved here as a client would
rdv = (out["MUSTER_RENDEZVOUS"] or "//:").split("//")[1].rsplit(":", 1)[0]
out["resolved"] = []
for name in (out["MASTER_ADDR"], rdv):
    try:
        out["resolved"].append(socket.gethostbyname(name))
    except OSError as e:
        out["resolved"].append("no: %s: %s" % (name, e))
tf = os.environ.get("TF_CONFIG")
if tf and len(sys.argv) > 1:
    ready = sys.argv[1]
    tf = json.loads(tf)
    t = tf["task"]
    me = tf["cluster"][t["type"]][t["index"]]
    host, port = me.rsplit(":", 1)
    s = socket.socket()
    try:
        s.bind((host, int(port)))
        s.listen(16)
        out["bound"] = me
    except OSError as e:
        out["bound"] = "no: %s: %s" % (me, e)
    open(os.path.join(ready, out["RANK"]), "w").close()
    n = sum(len(v) for v in tf["cluster"].values())
    for _ in range(400):
        if len(os.listdir(ready)) >= n:
            break
        time.sleep(0.05)
    reached = []
    for addrs in tf["cluster"].values():
        for a in addrs:
            h, p = a.rsplit(":", 1)
            try:
                socket.create_connection((h, int(p)), timeout=5).close()
                reached.append(a)
            except OSError as e:
                reached.append("no: %s: %s" % (a, e))
    out["reached"] = reached
    out["tf"] = me
    time.sleep(1)	# the others connect to us meanwhile
print(json.dumps(out), flush=True)
