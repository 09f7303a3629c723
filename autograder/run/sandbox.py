"""The grader's side of a child process: start it confined, talk to it, kill all of it.

One ``ChildProcess`` runs one submission of one homework; it is forked by this grader process's
fork server (``zygote``) in a pristine state.  Requests and replies travel on two pipes of their
own (``wire`` frames); whatever the student prints to the real stdout/stderr goes to a third
pipe that is drained and capped.  Every wait has a deadline; on a timeout the
child's process group, every process of its sandbox uid, and every orphan it left behind are
killed with SIGKILL, so nothing a student starts outlives grading.
"""
from __future__ import annotations

import atexit
import ctypes
import dataclasses
import functools
import json
import multiprocessing.util
import os
import platform
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from . import numerics, wire
from .protocol import ChildDied, ChildTimeout

PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])
PACKAGE_DIR = str(Path(__file__).resolve().parents[1])
SANDBOX_UID_BASE = 1_600_000_000  # + 4 × the grader's pid + a slot: unnamed uids nobody shares
UID_SLOTS = 4  # children one grader process may have alive at once
STRAY_OUTPUT_LIMIT = 64 * 1024
FACT_BYTES = 16 * 1024  # of fact lines kept per child (a fork bomb writes one per process)
PR_SET_CHILD_SUBREAPER = 36
F_SETPIPE_SZ = 1031
PIPE_BYTES = 1 << 20  # Linux's default ceiling for an unprivileged pipe (fs.pipe-max-size)
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
    **numerics.pinned(),  # the same kernels, so the same verdicts, on every grading machine
}


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

    def plan(self, new_root: str, uid: int) -> dict:
        limits = dataclasses.asdict(self.limits)
        tmp_bytes = limits.pop("tmp_bytes")
        if self.mode == "none" or (self.mode == "userns" and not nproc_counts_per_namespace()):
            limits.pop("processes")  # it would count all of the user's processes
        expose = exposed_paths()
        hide = [path for path in {PACKAGE_DIR, PACKAGE_PARENT, *self.hidden}
                if any(_inside(path, shown) and path != shown for shown in expose)]
        return {"mode": self.mode, "new_root": new_root, "expose": expose, "hide": sorted(hide),
                "tmp_bytes": tmp_bytes, "limits": limits, "uid": uid,
                "workdir": "/tmp/work" if self.mode != "none" else (self.workdir or new_root)}

    def with_hidden(self, paths) -> "Isolation":
        return dataclasses.replace(self, hidden=tuple(sorted({*self.hidden, *map(str, paths)})))


def nproc_counts_per_namespace() -> bool:
    """RLIMIT_NPROC counts the processes of a user namespace, not all of the user's, since
    Linux 5.14 (ucounts): a TA's own processes then do not count against a sandbox's 64."""
    try:
        major, minor = (int(part) for part in platform.release().split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (5, 14)


_live: dict[int, "ChildProcess"] = {}  # sandbox uid → this grader's child that holds it


def _free_uid() -> int:
    """A uid no live child of any grader holds: unique among graders (it encodes our pid) and
    among our own children (a free slot), so killing "every process of this uid" is exact."""
    base = SANDBOX_UID_BASE + UID_SLOTS * os.getpid()
    return next(base + slot for slot in range(UID_SLOTS) if base + slot not in _live)


def grader_pid_of(uid: int) -> int:
    return (uid - SANDBOX_UID_BASE) // UID_SLOTS


class Zygote:
    """This grader process's fork server (see ``zygote``), started on first use."""

    def __init__(self):
        become_subreaper()  # the zygote's grandchildren, our sandbox children, come to us
        self.socket, theirs = socket.socketpair()
        self.socket.settimeout(30)
        bootstrap = (f"import sys; sys.path.insert(0, {PACKAGE_PARENT!r}); "
                     "from autograder.run import zygote; zygote.main(sys.argv[1:])")
        self.process = subprocess.Popen(
            [sys.executable, "-s", "-B", "-c", bootstrap, str(theirs.fileno()), str(os.getpid())],
            stdin=subprocess.DEVNULL, pass_fds=(theirs.fileno(),), env=CHILD_ENV, cwd="/",
            start_new_session=True)
        theirs.close()
        self.owner = os.getpid()
        self.replies = self.socket.makefile("rb")

    def fork(self, config: dict, fds: list[int]) -> int:
        """The pid of a new child running ``child.main(config)`` with ``fds`` as its pipes."""
        try:
            socket.send_fds(self.socket, [json.dumps(config).encode()], fds)
            line = self.replies.readline()
        except OSError as error:
            raise ChildDied(f"the fork server failed: {error}") from None
        if not line:
            raise ChildDied("the fork server ended")
        return json.loads(line)["pid"]

    def close(self) -> None:
        self.replies.close()
        self.socket.close()
        if self.owner == os.getpid():
            self.process.wait()


_zygote: Zygote | None = None
SCRATCH_PREFIX = "nnhw-grader-"


@functools.lru_cache(maxsize=None)
def _scratch_root(pid: int) -> str:
    """This grader's folder for its children's mount points and working folders.  Folders of
    graders that died without cleaning up (SIGKILL) are swept here."""
    base = tempfile.gettempdir()
    for name in os.listdir(base):
        owner = name[len(SCRATCH_PREFIX):]
        if name.startswith(SCRATCH_PREFIX) and owner.isdigit() and not os.path.exists(f"/proc/{owner}"):
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)
    root = os.path.join(base, f"{SCRATCH_PREFIX}{pid}")
    os.makedirs(root, mode=0o755, exist_ok=True)
    # multiprocessing's finalizers run at exit in the main process and in pool workers alike
    multiprocessing.util.Finalize(None, shutil.rmtree, args=(root,), kwargs={"ignore_errors": True},
                                  exitpriority=0)
    return root


def zygote() -> Zygote:
    global _zygote
    if _zygote is not None and (_zygote.owner != os.getpid() or _zygote.process.poll() is not None):
        _zygote.close()  # a forked worker's copy of its parent's, or one that ended
        _zygote = None
    if _zygote is None:
        _zygote = Zygote()
    return _zygote


@atexit.register
def _close_zygote() -> None:
    if _zygote is not None:
        _zygote.close()


class _Reparented:
    """A child the fork server made ours (re-parented to us): ``poll``/``wait`` like Popen."""

    def __init__(self, pid: int):
        self.pid, self.returncode = pid, None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # already reaped (by the orphan sweep)
                self.returncode = -signal.SIGKILL
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.0005
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired("child", timeout)
            time.sleep(delay)
            delay = min(delay * 2, 0.02)
        return self.returncode


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


def detect_isolation() -> Isolation:
    """The strongest mode this machine allows, found by starting one child in each."""
    return _probe()[0]


@functools.lru_cache(maxsize=1)
def _probe() -> tuple[Isolation, tuple[str, ...]]:
    """(the strongest mode that works, why each stronger one failed)."""
    if not sys.platform.startswith("linux"):
        return Isolation("none"), (f"{sys.platform} has no Linux namespaces",)
    modes = ("root", "userns") if os.geteuid() == 0 else ("userns",)
    failures = []
    for mode in modes:
        child = ChildProcess(Isolation(mode))
        try:
            with child:
                child.request({"op": "load", "units": []}, timeout=30)
            return Isolation(mode), tuple(failures)
        except (ChildDied, ChildTimeout) as error:
            said = bytes(child.stray_output).decode("utf-8", "replace").strip().splitlines()
            failures.append(f"{mode}: {said[-1] if said else error}")
    return Isolation("none"), tuple(failures)


class WeakIsolation(Exception):
    """Strong isolation is unavailable and weak isolation was not asked for; the message says
    why and how to get strong isolation."""


def strong_isolation(allow_weak: bool = False) -> Isolation:
    """The isolation to grade with: a namespace mode, or mode ``none`` only when the TA asked
    for it explicitly (``allow_weak``); WeakIsolation otherwise."""
    if not sys.platform.startswith("linux"):
        raise WeakIsolation(weak_isolation_advice(("namespaces exist only on Linux",)))
    isolation, failures = _probe()
    if isolation.mode == "none" and not allow_weak:
        raise WeakIsolation(weak_isolation_advice(failures))
    return isolation


def _sysctl(name: str) -> str | None:
    try:
        return Path("/proc/sys", *name.split(".")).read_text().strip()
    except OSError:
        return None


def weak_isolation_advice(failures) -> str:
    """Why strong isolation is unavailable here, and the fix for this machine's case."""
    if not sys.platform.startswith("linux"):
        fix = ("在 Linux 上批改，或用 docs/security.md 中的容器（macOS/Windows 上用 Docker Desktop）/ "
               "grade on Linux, or in the container of docs/security.md (Docker Desktop on macOS or Windows)")
    elif _sysctl("kernel.apparmor_restrict_unprivileged_userns") == "1":
        fix = ("Ubuntu 23.10 起（含 24.04 LTS）AppArmor 限制了非特权用户命名空间 / Ubuntu 23.10 and later "
               "(24.04 LTS included) restrict unprivileged user namespaces through AppArmor: "
               "`sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0` (or run as root)")
    elif _sysctl("kernel.unprivileged_userns_clone") == "0":
        fix = "`sudo sysctl kernel.unprivileged_userns_clone=1` (or run as root)"
    elif _sysctl("user.max_user_namespaces") == "0":
        fix = "`sudo sysctl user.max_user_namespaces=15000` (or run as root)"
    else:
        fix = ("以 root 运行（例如 sudo），或在 docs/security.md 的容器中运行（容器需要 --cap-add SYS_ADMIN "
               "--security-opt seccomp=unconfined）/ run as root (e.g. with sudo), or in the container of "
               "docs/security.md (which needs --cap-add SYS_ADMIN --security-opt seccomp=unconfined)")
    reasons = "; ".join(failures) or "no namespace could be created"
    return (f"评分需要强隔离（root 或 Linux 用户命名空间），本机都不可用 / grading needs strong isolation "
            f"(root, or Linux user namespaces), and this machine allows neither ({reasons}).\n"
            f"解决办法 / fix: {fix}.\n"
            f"若确实要在弱隔离下评分（学生代码只受资源限制，能读到参考答案）/ to grade anyway with weak "
            f"isolation (rlimits and a process group only: student code can read the reference "
            f"answers): --allow-weak-isolation")


def become_subreaper() -> None:
    """Orphans of our children (double-forked daemons) are re-parented to us, to be reaped."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


class ChildProcess:
    def __init__(self, isolation: Isolation):
        self.isolation = isolation
        self.stray_output = bytearray()
        self.fact_lines = bytearray()
        self.process: _Reparented | None = None

    # -- life cycle ----------------------------------------------------------------------------
    def __enter__(self) -> "ChildProcess":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        server = zygote()
        self.uid = _free_uid()
        _live[self.uid] = self
        self.scratch = tempfile.mkdtemp(prefix="child-", dir=_scratch_root(os.getpid()))
        os.chmod(self.scratch, 0o755)
        requests_read, self.requests = os.pipe()
        self.replies, replies_write = os.pipe()
        output_read, output_write = os.pipe()
        facts_read, facts_write = os.pipe()
        try:
            pid = server.fork({"plan": self.isolation.plan(self.scratch, self.uid)},
                              [requests_read, replies_write, output_write, facts_write])
        finally:
            for fd in (requests_read, replies_write, output_write, facts_write):
                os.close(fd)
        self.process = _Reparented(pid)
        self.output, self.facts_pipe = output_read, facts_read
        for fd in (self.requests, self.replies, self.output, self.facts_pipe):
            os.set_blocking(fd, False)
        import fcntl  # Linux only, as is everything this class does

        for fd in (self.requests, self.replies):
            try:  # large arguments and results cross in one go instead of 64 KiB at a time
                fcntl.fcntl(fd, F_SETPIPE_SZ, PIPE_BYTES)
            except OSError:
                pass
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.replies, selectors.EVENT_READ)
        self.selector.register(self.output, selectors.EVENT_READ)
        self.selector.register(self.facts_pipe, selectors.EVENT_READ)
        self.frames = wire.FrameBuffer(wire.REPLIES)

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
        self.selector.close()
        while self._drain(self.facts_pipe) and len(self.fact_lines) < FACT_BYTES:
            pass  # what the last moments wrote (a fork bomb's children, say)
        for fd in (self.replies, self.output, self.facts_pipe):
            os.close(fd)
        shutil.rmtree(self.scratch, ignore_errors=True)
        self.process = None

    @property
    def alive(self) -> bool:
        return self.process is not None

    # -- requests ------------------------------------------------------------------------------
    def request(self, message: dict, timeout: float) -> dict:
        """Send one request and wait for its reply; ChildTimeout/ChildDied end the child."""
        deadline = time.monotonic() + timeout
        outgoing = self._send(memoryview(wire.dumps(message)))
        if outgoing:  # the pipe is full: finish the write as the child reads
            self.selector.register(self.requests, selectors.EVENT_WRITE)
        try:
            while True:
                reply = self._take_reply()
                if reply is not None:
                    return reply
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.close(grace=0)
                    raise ChildTimeout(timeout)
                for key, _ in self.selector.select(remaining):
                    if key.fd == self.requests:
                        outgoing = self._send(outgoing)
                        if not outgoing:
                            self.selector.unregister(self.requests)
                    elif not self._drain(key.fd):
                        self.selector.unregister(key.fd)
                        if key.fd == self.replies:
                            self._died("ended")
        finally:
            if self.process is not None and self.requests in self.selector.get_map():
                self.selector.unregister(self.requests)

    def _send(self, outgoing: memoryview) -> memoryview:
        try:
            return outgoing[os.write(self.requests, outgoing):]
        except BlockingIOError:
            return outgoing
        except BrokenPipeError:
            self._died("stopped reading requests")

    def _drain(self, fd: int) -> bool:
        """Read what is there; False at end of stream."""
        try:
            data = os.read(fd, 1 << 20)
        except BlockingIOError:
            return True
        if not data:
            return False
        if fd == self.replies:
            try:
                self.frames.feed(data)
            except wire.WireError as error:
                self._refused(error)
        else:
            kept = self.stray_output if fd == self.output else self.fact_lines
            limit = STRAY_OUTPUT_LIMIT if fd == self.output else FACT_BYTES
            kept += data[:max(limit - len(kept), 0)]
        return True

    def facts(self) -> dict[str, int]:
        """What the child's observer wrote down (``observe``), with how many processes did."""
        found: dict[str, int] = {}
        for line in bytes(self.fact_lines).decode("utf-8", "replace").splitlines():
            if line.strip():
                found[line.strip()] = found.get(line.strip(), 0) + 1
        return found

    def _take_reply(self) -> dict | None:
        try:
            return self.frames.take()
        except wire.WireError as error:
            self._refused(error)

    def _refused(self, error: wire.WireError):
        self.close(grace=0)
        raise ChildDied(f"sent a reply the grader refuses ({error})")

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
            _kill_uid(self.uid)
        self.process.wait()
        _live.pop(self.uid, None)
        if self.isolation.mode == "none":  # with namespaces, nothing escapes the PID namespace
            _reap_orphans({child.process.pid for child in _live.values() if child.process}
                          | ({_zygote.process.pid} if _zygote is not None else set()))


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
    """Kill and reap the processes re-parented to us (we are a subreaper) by children that
    escaped without a PID namespace (mode ``none``): every child of ours that is not one of our
    live sandbox children (``keep``).  Only ``batch`` workers and ``nnhw grade`` run children in
    that mode, and they have no other children."""
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
