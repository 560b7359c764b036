# muster's startup hook for Python ranks: their Python frames in stack
# snapshots (launcher/pystacks.h tells the whole story).
#
# The agent puts this folder first on a rank's PYTHONPATH (it holds this
# file only) and names in MUSTER_PYSTACKS a directory private to the
# rank.  Python's site module imports the first sitecustomize on sys.path:
# this one.  It
#  - registers the standard library's faulthandler for one real-time
#    signal that nothing of the process handles (the first of SIGRTMIN+11
#    to SIGRTMIN+14 whose disposition is the default), writing every
#    thread's Python frames to MUSTER_PYSTACKS/<pid>, and writes on that
#    file's first line what the agent checks before it ever sends that
#    signal (the pid, its start time, the signal, the descriptor, the main
#    thread); a process forked with os.fork() gets a file of its own;
#  - then runs the sitecustomize it shadows (the next one on sys.path:
#    Debian's /usr/lib/python3.11/sitecustomize.py, or a user's), as
#    Python would have without muster.
# Its own part never stops a rank: any error in it is swallowed (one line
# on stderr with MUSTER_DEBUG set); errors of the shadowed sitecustomize
# are reported by Python as they would be without muster.

_FIRST = 11  # SIGRTMIN + 11 ...
_TRIES = 4  # ... to SIGRTMIN + 14


def _debug(what, err):
    import os
    import sys
    if os.environ.get("MUSTER_DEBUG"):
        try:
            sys.stderr.write("muster: python frames hook: %s: %s\n"
                             % (what, err))
        except Exception:
            pass


def _start_time():
    # /proc/self/stat's 22nd field (after the command's closing paren)
    with open("/proc/self/stat", "rb") as f:
        stat = f.read()
    return int(stat[stat.rindex(b")") + 2:].split()[19])


def _register(directory, sig, old_fd):
    import faulthandler
    import os
    import _thread
    pid = os.getpid()
    path = os.path.join(directory, str(pid))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC,
                 0o600)
    try:
        faulthandler.register(sig, file=fd, all_threads=True, chain=False)
    except Exception:
        os.close(fd)
        raise
    if old_fd is not None and old_fd != fd:
        os.close(old_fd)  # the parent's, inherited by fork
    os.write(fd, ("muster-pystacks 1 pid=%d start=%d signal=%d fd=%d "
                  "main=0x%016x\n" % (pid, _start_time(), sig, fd,
                                      _thread.get_ident())).encode())
    return fd, path


def _pystacks():
    import os
    directory = os.environ.get("MUSTER_PYSTACKS")
    if not directory:
        return
    import _signal  # not signal, whose enums cost 15 ms a start
    for sig in range(_signal.SIGRTMIN + _FIRST,
                     min(_signal.SIGRTMIN + _FIRST + _TRIES,
                         _signal.SIGRTMAX + 1)):
        if _signal.getsignal(sig) == _signal.SIG_DFL:
            break
    else:
        _debug("no free real-time signal", "SIGRTMIN+%d to +%d are taken"
               % (_FIRST, _FIRST + _TRIES - 1))
        return
    state = list(_register(directory, sig, None))

    def after_fork():
        try:
            state[:] = _register(directory, sig, state[0])
        except Exception as err:
            _debug("after fork", err)

    def at_exit():
        if os.getpid() == int(os.path.basename(state[1])):
            try:
                os.unlink(state[1])
            except OSError:
                pass

    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=after_fork)
    import atexit
    atexit.register(at_exit)


def _shadowed():
    # the spec of the next sitecustomize on sys.path after this folder
    # (this folder left out: it may be there twice), or None
    import os
    import sys
    here = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))

    def ours(p):
        try:
            return os.path.realpath(os.path.abspath(p or os.curdir)) == here
        except Exception:
            return False

    for i, p in enumerate(sys.path):
        if isinstance(p, str) and ours(p):
            break
    else:
        return None
    rest = [p for p in sys.path[i + 1:] if not (isinstance(p, str) and ours(p))]
    # importlib's own modules, loaded at every start (importlib.util and
    # .machinery cost 7 ms a start), else the public ones
    ext = sys.modules.get("_frozen_importlib_external")
    if ext is None or not hasattr(ext, "PathFinder"):
        import importlib.machinery as ext
    spec = ext.PathFinder.find_spec("sitecustomize", rest)
    return spec if spec is not None and spec.loader is not None else None


def _chain():
    # run as Python would have run it: its errors are reported by site
    import sys
    try:
        spec = _shadowed()
    except Exception as err:
        _debug("no shadowed sitecustomize", err)
        return
    if spec is None:
        return
    boot = sys.modules.get("_frozen_importlib")
    if boot is None or not hasattr(boot, "module_from_spec"):
        import importlib.util as boot
    mod = boot.module_from_spec(spec)
    sys.modules["sitecustomize"] = mod
    spec.loader.exec_module(mod)


try:
    _pystacks()
except Exception as _err:
    _debug("not registered", _err)
_chain()
