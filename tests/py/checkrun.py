#!/usr/bin/python3
"""checkrun.py RUN_DIR NP NNODES STATUS [shared]: checks a run directory that
tests/t6200's job wrote (launcher/runrec.h, metrics.h) and prints what is
wrong, one line each, or "complete".  The job: every rank R prints "out
of R" and "err of R", writes outputs/rankR.txt ("rank R of NODE"), logs
loss at steps 0-4 (text form) and acc at step 0 (the Python helper).
"shared": the nodes share one folder (virtual nodes), node 0 gathers it."""
import json
import os
import sys


def main():
    d, np, nn, status = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    shared = sys.argv[5:] == ["shared"]
    bad = []
    j = json.load(open(os.path.join(d, "run.json")))
    want = {"version": 1, "status": status, "np": np, "nnodes": nn}
    for k, v in want.items():
        if j.get(k) != v:
            bad.append("run.json %s: %r, want %r" % (k, j.get(k), v))
    for k in ("id", "command", "cwd", "launcher", "options", "hosts", "start",
              "running", "end", "duration", "exit_code", "ranks", "attempts"):
        if k not in j:
            bad.append("run.json has no %s" % k)
    if bad:
        return bad
    if not j["start"] <= j["running"] <= j["end"]:
        bad.append("start %r running %r end %r out of order" %
                   (j["start"], j["running"], j["end"]))
    hosts = j["hosts"]
    if sorted(r for h in hosts for r in h["ranks"]) != list(range(np)):
        bad.append("hosts do not hold every rank once: %r" % hosts)
    if len(hosts) != nn or any(not h.get("addr") for h in hosts):
        bad.append("hosts: %r" % hosts)
    node_of = {}
    for rk in j["ranks"]:
        r = rk["rank"]
        node_of[r] = rk["node"]
        if rk.get("status") != "Completed" or rk.get("exit_code") != 0 or \
                not rk.get("pid") or not rk.get("host") or \
                not rk["start"] <= rk["end"]:
            bad.append("rank %d: %r" % (r, rk))
    if sorted(node_of) != list(range(np)):
        bad.append("ranks listed: %r" % sorted(node_of))
    for r in range(np):
        for s, text in (("stdout", "out of %d\n" % r), ("stderr", "err of %d\n" % r)):
            p = os.path.join(d, "logs", "rank.%d.%s" % (r, s))
            got = open(p).read() if os.path.exists(p) else None
            if got != text:
                bad.append("logs/rank.%d.%s: %r, want %r" % (r, s, got, text))
        p = os.path.join(d, "outputs", "rank%d.txt" % r)
        got = open(p).read() if os.path.exists(p) else None
        if got != "rank %d of %d\n" % (r, node_of.get(r, -1)):
            bad.append("outputs/rank%d.txt: %r" % (r, got))
    listed = {e["path"]: e for e in j["outputs"]["list"]}
    for r in range(np):
        e = listed.get("rank%d.txt" % r)
        sender = 0 if shared else node_of.get(r)
        if e is None or e["node"] != sender:
            bad.append("outputs list for rank%d.txt: %r (from node %r)" %
                       (r, e, sender))
    seen = {}
    for line in open(os.path.join(d, "metrics.jsonl")):
        m = json.loads(line)
        if not all(k in m for k in ("t", "rank", "name", "step", "value")):
            bad.append("metrics.jsonl line %r" % line)
            continue
        seen.setdefault((m["rank"], m["name"]), []).append((m["step"], m["value"]))
    for r in range(np):
        loss = seen.get((r, "loss"), [])
        want = [(i, round(1.0 / (i + 1 + r), 4)) for i in range(5)]
        if [(s, round(v, 4)) for s, v in loss] != want:
            bad.append("rank %d loss: %r, want %r" % (r, loss, want))
        acc = seen.get((r, "acc"), [])
        if [(s, round(v, 4)) for s, v in acc] != [(0, round(0.5 + 0.1 * r, 4))]:
            bad.append("rank %d acc: %r" % (r, acc))
    s = j["metrics"]["summary"]
    if s.get("loss", {}).get("count") != 5 * np or s.get("acc", {}).get("count") != np:
        bad.append("metrics summary: %r" % s)
    if j["metrics"].get("bad") != 0 or j["metrics"].get("lines") != 6 * np:
        bad.append("metrics lines/bad: %r/%r" % (j["metrics"].get("lines"),
                                                 j["metrics"].get("bad")))
    return bad


if __name__ == "__main__":
    problems = main()
    print("\n".join(problems) if problems else "complete")
