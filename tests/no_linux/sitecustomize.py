"""What the student side may not rely on (no fcntl, os.fork, /proc or prctl), as on Windows/macOS."""
import builtins
import ctypes
import io
import multiprocessing
import os
import sys

sys.modules["fcntl"] = None  # `import fcntl` raises ImportError, as on Windows
for name in ("fork", "forkpty", "register_at_fork"):
    if hasattr(os, name):
        delattr(os, name)


def _proc(path) -> bool:
    try:
        return os.fsdecode(os.fspath(path)).startswith("/proc")
    except TypeError:
        return False


def _hiding_proc(function):
    def wrapped(path=".", *args, **kwargs):
        if _proc(path):
            raise FileNotFoundError(2, "No such file or directory (no /proc here)", path)
        return function(path, *args, **kwargs)
    return wrapped


builtins.open = io.open = _hiding_proc(builtins.open)
os.listdir, os.scandir, os.stat = (_hiding_proc(f) for f in (os.listdir, os.scandir, os.stat))


class _NoPrctl(ctypes.CDLL):
    def __getattr__(self, name):
        if name == "prctl":
            raise AttributeError("no prctl on this system")
        return super().__getattr__(name)


ctypes.CDLL = _NoPrctl
multiprocessing.set_start_method("spawn", force=True)
