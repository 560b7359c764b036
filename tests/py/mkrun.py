#!/usr/bin/python3
"""mkrun.py: a hand-made run directory, as launcher/runrec.h and metrics.h
describe it, for the tests of `muster runs/show/plot/compare`.

    mkrun.py DIR ID STATUS START [key=value...]

keys: np=N (ranks), nodes=K, dur=S (seconds; none: no end), exit=C,
fail=R (rank R failed: exit 3), metrics=NAME:KIND,... (KIND down, up,
flat, one (one point), null (all null), list), steps=N, opt.NAME=V,
cmd=WORD,WORD..., bad=N (lines that are no metric), summary=0 (no
"summary" in run.json)
"""
import json
import math
import os
import sys


def series(kind, rank, steps):
    for s in range(steps):
        if kind == "down":
            v = 2.0 / (1 + s * 0.1) + 0.05 * rank
        elif kind == "up":
            v = 1 - math.exp(-s / 10.0) - 0.02 * rank
        elif kind == "flat":
            v = 0.5
        elif kind == "one":
            if s > 0:
                return
            v = 0.25 + rank
        elif kind == "null":
            v = None
        else:
            v = s
        yield s, v


def main():
    d, rid, status, start = sys.argv[1:5]
    kv = dict(a.split("=", 1) for a in sys.argv[5:])
    start = float(start)
    np_ = int(kv.get("np", 2))
    nodes = int(kv.get("nodes", 1))
    steps = int(kv.get("steps", 20))
    fail = int(kv["fail"]) if "fail" in kv else None
    os.makedirs(os.path.join(d, "logs"), exist_ok=True)
    hosts = []
    per = (np_ + nodes - 1) // nodes
    for i in range(nodes):
        rk = list(range(i * per, min(np_, (i + 1) * per)))
        hosts.append({"node": i, "host": "node%d" % i, "addr": "10.0.0.%d" % (i + 1), "ranks": rk})
    run = {"version": int(kv.get("version", 1)), "id": rid, "status": status,
           "command": kv.get("cmd", "python3,train.py,--lr,0.1").split(","),
           "cwd": "/tmp",
           "launcher": {"kind": "local", "host": "head", "pid": 4242, "version": "0.1.0"},
           "options": {"np": np_, "nodes": nodes, "procs_per_node": per, "timeout": 0,
                       "max_restarts": 0, "mode": "plain"},
           "np": np_, "nnodes": nodes, "hosts": hosts, "start": start, "running": start + 0.5}
    for k, v in kv.items():
        if k.startswith("opt."):
            run["options"][k[4:]] = json.loads(v) if v[:1].isdigit() else v
    ranks = []
    for r in range(np_):
        st = "Running" if status in ("Running", "Starting") else "Completed"
        code = 0
        if fail is not None and r == fail:
            st, code = "Failed", 3
        elif fail is not None:
            st, code = "Killed", 143
        e = {"rank": r, "node": r // per, "host": "node%d" % (r // per), "pid": 1000 + r,
             "start": start + 0.5, "status": st}
        if status not in ("Running", "Starting"):
            e["end"] = start + float(kv.get("dur", 10))
            e["exit_code"] = code
            if st == "Killed":
                e["signal"] = "SIGTERM"
        ranks.append(e)
    run["ranks"] = ranks
    if "dur" in kv:
        run["end"] = start + float(kv["dur"])
        run["duration"] = float(kv["dur"])
        run["exit_code"] = int(kv.get("exit", 3 if fail is not None else 0))
    if fail is not None:
        run["first_failure"] = {"rank": fail, "host": "node%d" % (fail // per), "pid": 1000 + fail,
                                "exit_code": 3,
                                "reason": "rank %d (host node%d, pid %d) exited with code 3"
                                          % (fail, fail // per, 1000 + fail)}
    run["outputs"] = {"files": 2, "bytes": 3000, "list": [], "errors": []}
    summary = {}
    lines = []
    t = start
    for spec in filter(None, kv.get("metrics", "").split(",")):
        name, kind = spec.split(":")
        for r in range(np_):
            for s, v in series(kind, r, steps):
                t += 0.01
                if kind == "list":
                    lines.append({"t": t, "rank": r, "name": name, "values": [1, 2, 3]})
                    continue
                lines.append({"t": t, "rank": r, "name": name, "step": s, "value": v})
                if v is None:
                    summary.setdefault(name, {"count": 0})
                    summary[name]["count"] += 1
                    continue
                m = summary.setdefault(name, {"count": 0, "min": v, "max": v})
                m["count"] += 1
                m["last"], m["last_step"] = v, s
                m["min"], m["max"] = min(m.get("min", v), v), max(m.get("max", v), v)
    lines.sort(key=lambda e: e["t"])
    with open(os.path.join(d, "metrics.jsonl"), "w") as f:
        for e in lines:
            f.write(json.dumps(e) + "\n")
        for i in range(int(kv.get("bad", 0))):
            f.write("this is no metric %d\n" % i)
    if kv.get("summary", "1") != "0":
        run["metrics"] = {"lines": len(lines), "bad": int(kv.get("bad", 0)), "summary": summary}
    with open(os.path.join(d, "run.json"), "w") as f:
        json.dump(run, f)
    open(os.path.join(d, ".lock"), "w").close()


main()
