"""The grader's side of a child process: start it confined, talk to it, kill all of it.

One ``ChildProcess`` runs one submission of one homework.  Requests and replies travel on two
pipes of their own (``wire`` frames); whatever the student prints to the real stdout/stderr
goes to a third pipe that is drained and capped.  Every wait has a deadline; on a timeout the
child's process group, every process of its sandbox uid, and every orphan it left behind are
killed with SIGKILL, so nothing a student starts outlives grading.
"""
from __future__ import annotations

import ctypes
import dataclasses
import functools
import json
import os
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from . import wire

PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])
PACKAGE_DIR = str(Path(__file__).resolve().parents[1])
SANDBOX_UID_BASE = 1_600_000_000  # + the grader's pid: an unnamed uid no other grader shares
STRAY_OUTPUT_LIMIT = 64 * 1024
PR_SET_CHILD_SUBREAPER = 36
SYSTEM_PATHS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/etc/ld.so.cache", "/etc/localtime")

CHILD_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "HOME": "/tmp",
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MPLBACKEND": "Agg",
    "MPLCONFIGDIR": "/tmp/matplotlib",
}


class ChildTimeout(BaseException):
    """The child did not answer in time (a BaseException, so hypothesis does not shrink it)."""

    def __init__(self, seconds: float, why: str | None = None):
        super().__init__(why or f"no answer within {seconds:g} s")
        self.seconds = seconds


class ChildDied(BaseException):
    """The child ended or broke the protocol in the middle of a request."""


@dataclasses.dataclass(frozen=True)
class Limits:
    memory_bytes: int = 2 * 2**30
    cpu_seconds: int = 600
    file_bytes: int = 16 * 2**20
    open_files: int = 256
    processes: int = 64
    core_bytes: int = 0
    tmp_bytes: int = 64 * 2**20


@dataclasses.dataclass(frozen=True)
class Isolation:
    """How children are confined on this machine.

    ``root``: new mount/network/IPC namespaces, a minimal read-only root, an unprivileged uid.
    ``userns``: the same inside an unprivileged user namespace (no root needed), no capabilities.
    ``none``: only rlimits, a process group and orphan reaping (a machine that allows neither).
    """
    mode: str
    hidden: tuple[str, ...] = ()
    limits: Limits = Limits()
    workdir: str | None = None  # where the child runs (mode "none" only); default: a scratch folder

    def plan(self, new_root: str) -> dict:
        limits = dataclasses.asdict(self.limits)
        tmp_bytes = limits.pop("tmp_bytes")
        if self.mode != "root":
            limits.pop("processes")  # RLIMIT_NPROC counts all of the user's processes
        expose = exposed_paths()
        hide = [path for path in {PACKAGE_DIR, PACKAGE_PARENT, *self.hidden}
                if any(_inside(path, shown) and path != shown for shown in expose)]
        return {"mode": self.mode, "new_root": new_root, "expose": expose, "hide": sorted(hide),
                "tmp_bytes": tmp_bytes, "limits": limits, "uid": sandbox_uid(),
                "workdir": "/tmp/work" if self.mode != "none" else (self.workdir or new_root)}

    def with_hidden(self, paths) -> "Isolation":
        return dataclasses.replace(self, hidden=tuple(sorted({*self.hidden, *map(str, paths)})))


def sandbox_uid() -> int:
    """The uid of this grader process's children (root mode).  Unique among live graders, and
    a grader runs one child at a time, so killing "every process of this uid" is exact."""
    return SANDBOX_UID_BASE + os.getpid()


def _inside(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


@functools.lru_cache(maxsize=1)
def exposed_paths() -> list[str]:
    """What a child must see: the interpreter, its site-packages, the system libraries."""
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    wanted = set(prefixes) | {p for p in SYSTEM_PATHS if os.path.lexists(p)}
    wanted |= {entry for entry in sys.path
               if entry and os.path.isdir(entry) and any(_inside(entry, p) for p in prefixes)}
    wanted.add(str(Path(np.__file__).resolve().parents[1]))
    wanted |= {os.path.realpath(p) for p in wanted if not os.path.islink(p)}
    kept: list[str] = []
    for path in sorted(wanted):  # a parent sorts before its children
        if os.path.islink(path) or not any(_inside(path, k) for k in kept
                                            if not os.path.islink(k)):
            kept.append(path)
    return kept


@functools.lru_cache(maxsize=1)
def detect_isolation() -> Isolation:
    """The strongest mode this machine allows, found by starting one child in each."""
    modes = ("root",) if os.geteuid() == 0 else ("userns",)
    for mode in modes:
        try:
            with ChildProcess(Isolation(mode)) as child:
                child.request({"op": "load", "units": []}, timeout=30)
            return Isolation(mode)
        except (ChildDied, ChildTimeout):
            continue
    return Isolation("none")


def become_subreaper() -> None:
    """Orphans of our children (double-forked daemons) are re-parented to us, to be reaped."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


class ChildProcess:
    def __init__(self, isolation: Isolation):
        self.isolation = isolation
        self.stray_output = bytearray()
        self.process: subprocess.Popen | None = None

    # -- life cycle ----------------------------------------------------------------------------
    def __enter__(self) -> "ChildProcess":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        become_subreaper()
        self.scratch = tempfile.mkdtemp(prefix="nnhw-child-")
        os.chmod(self.scratch, 0o755)
        plan = self.isolation.plan(self.scratch)
        requests_read, self.requests = os.pipe()
        self.replies, replies_write = os.pipe()
        output_read, output_write = os.pipe()
        config = {"plan": plan, "requests_fd": requests_read, "replies_fd": replies_write}
        bootstrap = (f"import sys; sys.path.insert(0, {PACKAGE_PARENT!r}); "
                     "from autograder.run import child; child.main(sys.argv[1:])")
        self.process = subprocess.Popen(
            [sys.executable, "-s", "-B", "-c", bootstrap, json.dumps(config)],
            stdin=subprocess.DEVNULL, stdout=output_write, stderr=output_write,
            pass_fds=(requests_read, replies_write), env=CHILD_ENV, cwd="/",
            start_new_session=True)
        for fd in (requests_read, replies_write, output_write):
            os.close(fd)
        self.output = output_read
        for fd in (self.requests, self.replies, self.output):
            os.set_blocking(fd, False)
        self.inbox = bytearray()
        self.children_before = set(_children_of(os.getpid())) - {self.process.pid}

    def close(self, grace: float = 0.5) -> None:
        """End the child and everything it started; safe to call twice."""
        if self.process is None:
            return
        os.close(self.requests)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        self._kill_everything()
        for fd in (self.replies, self.output):
            os.close(fd)
        shutil.rmtree(self.scratch, ignore_errors=True)
        self.process = None

    @property
    def alive(self) -> bool:
        return self.process is not None

    # -- requests ------------------------------------------------------------------------------
    def request(self, message: dict, timeout: float) -> dict:
        """Send one request and wait for its reply; ChildTimeout/ChildDied end the child."""
        outgoing = memoryview(wire.dumps(message))
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.replies, selectors.EVENT_READ)
            selector.register(self.output, selectors.EVENT_READ)
            selector.register(self.requests, selectors.EVENT_WRITE)
            while True:
                reply = self._take_reply()
                if reply is not None:
                    return reply
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.close(grace=0)
                    raise ChildTimeout(timeout)
                for key, _ in selector.select(remaining):
                    if key.fd == self.requests:
                        try:
                            outgoing = outgoing[os.write(self.requests, outgoing):]
                        except BrokenPipeError:
                            self._died("stopped reading requests")
                        if not outgoing:
                            selector.unregister(self.requests)
                    elif not self._drain(key.fd):
                        selector.unregister(key.fd)
                        if key.fd == self.replies:
                            self._died("ended")

    def _drain(self, fd: int) -> bool:
        """Read what is there; False at end of stream."""
        try:
            data = os.read(fd, 1 << 20)
        except BlockingIOError:
            return True
        if not data:
            return False
        if fd == self.replies:
            self.inbox += data
            if len(self.inbox) > wire.MAX_FRAME_BYTES + 4:
                self._died("sent a reply larger than the limit")
        else:
            room = STRAY_OUTPUT_LIMIT - len(self.stray_output)
            self.stray_output += data[:max(room, 0)]
        return True

    def _take_reply(self) -> dict | None:
        if len(self.inbox) < 4:
            return None
        (size,) = struct.unpack(">I", self.inbox[:4])
        if size > wire.MAX_FRAME_BYTES:
            self._died("sent a reply larger than the limit")
        if len(self.inbox) < 4 + size:
            return None
        body = bytes(self.inbox[4:4 + size])
        del self.inbox[:4 + size]
        try:
            return wire.loads(body)
        except (ValueError, RecursionError) as error:
            self._died(f"sent a malformed reply ({type(error).__name__})")

    def _died(self, what: str):
        process = self.process
        self.close(grace=0.2)  # long enough to learn the real exit status
        code = process.returncode if process is not None else None
        if code is not None and code < 0:
            what += f" (killed by {signal.Signals(-code).name})"
        elif code is not None:
            what += f" (exit status {code})"
        raise ChildDied(what)

    # -- killing -------------------------------------------------------------------------------
    def _kill_everything(self) -> None:
        # PID 1 of the child's namespace first: the kernel then kills all of the namespace.
        for pid in [*_children_of(self.process.pid), self.process.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.isolation.mode == "root":
            _kill_uid(sandbox_uid())
        self.process.wait()
        _reap_orphans(self.children_before)


def _kill_uid(uid: int) -> None:
    """SIGKILL every process of ``uid``: only a process of that uid can do it at once."""
    for _ in range(3):
        pid = os.fork()
        if pid == 0:
            try:
                os.setresuid(uid, uid, uid)
                os.kill(-1, signal.SIGKILL)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)


def _reap_orphans(keep: set[int]) -> None:
    """Kill and reap the processes re-parented to us (we are a subreaper) by escaping children:
    every child of ours that was not there before this child started."""
    me = os.getpid()
    for _ in range(100):
        orphans = [pid for pid in _children_of(me) if pid not in keep]
        if not orphans:
            return
        for pid in orphans:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in orphans:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def _children_of(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append(int(entry))
    return found
