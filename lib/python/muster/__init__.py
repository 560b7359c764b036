"""muster: log metrics from a rank into the job's run record.

The shape of Azure ML's Run, with nothing but the standard library:

    from muster import run
    run.log("loss", 0.25)              # a scalar; step counted per name
    run.log("loss", 0.25, step=10)
    run.log_list("accuracies", [0.9, 0.8])
    run.log_row("confusion", tp=3, fp=1)

    import muster
    run = muster.Run.get_context()     # the same object

Each call writes one line (launcher/metrics.h, the JSON forms) with one
write(2) to the FIFO named by MUSTER_METRICS, which the rank's agent
reads; the launcher records it in metrics.jsonl with the rank, the step
and the wall time.  Without MUSTER_METRICS (not started by muster, or
--no-record) every call does nothing, silently.  nan and inf are
recorded as null.  The agent puts this folder on every rank's
PYTHONPATH, so ranks import it without installing anything.
"""

import json
import math
import os
import threading
import time

__all__ = ["Run", "run"]

_LINE_MAX = 65536  # LCH_METRIC_LINE_MAX
_NAME_MAX = 255


def _num(v):
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def _check_name(name, blanks=False):
    if not isinstance(name, str):
        raise TypeError("muster: a metric name is a str, not %s"
                        % type(name).__name__)
    b = name.encode("utf-8")
    bad = [c for c in b if c < 0x20 or c == 0x7f or (c == 0x20 and not blanks)]
    if not 0 < len(b) <= _NAME_MAX or bad:
        raise ValueError("muster: metric name %r: expected 1 to 255 bytes "
                         "without %scontrol characters"
                         % (name, "" if blanks else "blanks or "))


class Run(object):
    """This rank's run: where its metrics go (one per process)."""

    _context = None
    _lock = threading.Lock()

    def __init__(self, path=None):
        self._path = path if path is not None else os.environ.get(
            "MUSTER_METRICS")
        self._fd = None
        self._wlock = threading.Lock()
        self.rank = int(os.environ.get("RANK", os.environ.get(
            "MUSTER_RANK", "0")) or 0)

    @classmethod
    def get_context(cls):
        """The run of this process (Azure ML's Run.get_context())."""
        with cls._lock:
            if cls._context is None:
                cls._context = cls()
            return cls._context

    def _open(self):
        # O_NONBLOCK for the open only: a FIFO nobody reads is an error
        # (ENXIO), not a wait; writes block while the launcher is behind.
        # O_CREAT: MUSTER_METRICS may name a plain file the user chose.
        fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT |
                     getattr(os, "O_CLOEXEC", 0) | os.O_NONBLOCK, 0o644)
        os.set_blocking(fd, True)
        return fd

    def _write(self, obj):
        if not self._path:
            return
        obj["t"] = round(time.time(), 6)
        line = (json.dumps(obj, separators=(",", ":"), allow_nan=False) +
                "\n").encode("utf-8")
        if len(line) > _LINE_MAX:
            raise ValueError("muster: metric %r: the line would pass %d "
                             "bytes" % (obj["name"], _LINE_MAX))
        with self._wlock:
            if self._fd is None:
                self._fd = self._open()
            view = memoryview(line)
            while view:
                view = view[os.write(self._fd, view):]

    def log(self, name, value, step=None, description=""):
        """A scalar; step (a whole number >= 0) or the count of name."""
        _check_name(name)
        obj = {"name": name, "value": _num(value)}
        if step is not None:
            if int(step) < 0:
                raise ValueError("muster: step %r: expected >= 0" % (step,))
            obj["step"] = int(step)
        self._write(obj)

    def log_list(self, name, value, description=""):
        """A list of numbers under name."""
        _check_name(name)
        self._write({"name": name, "values": [_num(v) for v in value]})

    def log_row(self, name, description=None, **kwargs):
        """A row: named columns of numbers (run.log_row("r", x=1, y=2))."""
        _check_name(name)
        for k in kwargs:
            _check_name(k, blanks=True)
        self._write({"name": name,
                     "row": {k: _num(v) for k, v in kwargs.items()}})


run = Run.get_context()
