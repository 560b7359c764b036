#!/usr/bin/python3
"""azureml_train.py: a training script in Azure ML's shape, for
examples/azureml-job.json (muster --config examples/azureml-job.json).

It "trains" a noisy quadratic (standard library only), logs loss and
accuracy every step through muster's Python helper (`from muster import
run`, as Azure's `Run.get_context()`), or, where that is not importable,
writes the same lines itself to $MUSTER_METRICS (the metric line
protocol: "NAME VALUE STEP"), and rank 0 saves ./outputs/model.json.
"""
import argparse
import json
import math
import os
import random
import time

try:
    from muster import run
except ImportError:
    run = None


class LineLogger:
    """The metric line protocol, written straight to $MUSTER_METRICS."""

    def __init__(self):
        path = os.environ.get("MUSTER_METRICS")
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                          0o644) if path else None

    def log(self, name, value, step):
        if self.fd is not None:
            os.write(self.fd, ("%s %r %d\n" % (name, float(value), step)).encode())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--sleep", type=float, default=0.0)
    a = p.parse_args()
    rank = int(os.environ.get("RANK", "0"))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rng = random.Random(rank)
    w, lines = 5.0, None if run else LineLogger()
    for step in range(a.epochs):
        grad = 2 * w + rng.gauss(0, 0.3)
        w -= a.lr * grad
        loss = w * w + abs(rng.gauss(0, 0.01))
        acc = 1 - math.exp(-step / 5.0) * (0.9 + 0.02 * rank)
        if run:
            run.log("loss", loss)
            run.log("acc", acc)
        else:
            lines.log("loss", loss, step)
            lines.log("acc", acc, step)
        if a.sleep:
            time.sleep(a.sleep)
    print("rank %d/%d: w=%.4f loss=%.5f" % (rank, world, w, loss))
    if rank == 0:
        out = os.environ.get("MUSTER_OUTPUT_DIR", "outputs")
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "model.json"), "w") as f:
            json.dump({"w": w, "loss": loss, "epochs": a.epochs}, f)


main()
