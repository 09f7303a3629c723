"""Confine the child process before it runs any student code.

The grader decides a *plan* (``sandbox.Isolation``) and the child carries it out on itself, so
no ``preexec_fn`` runs in the grader.  With namespaces (as root, or in an unprivileged user
namespace) the child gets a new root file system that holds only what Python and numpy need,
read-only, plus a private, size-limited ``/tmp``: the course, the reference, the hidden tests,
other students' work and the output folder simply do not exist there.  It has no network.
Then resource limits, and an unprivileged uid (or no capabilities left in a user namespace).
Standalone: stdlib only.
"""
from __future__ import annotations

import ctypes
import os
import platform
import resource
import signal

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = (
    0x20000, 0x8000000, 0x10000000, 0x20000000, 0x40000000)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
DEVICES = ("null", "zero", "random", "urandom")

LIMITS = {
    "memory_bytes": resource.RLIMIT_AS,
    "cpu_seconds": resource.RLIMIT_CPU,
    "file_bytes": resource.RLIMIT_FSIZE,
    "open_files": resource.RLIMIT_NOFILE,
    "processes": resource.RLIMIT_NPROC,
    "core_bytes": resource.RLIMIT_CORE,
}

_libc = ctypes.CDLL(None, use_errno=True)


class ConfinementError(OSError):
    pass


def confine(plan: dict) -> None:
    """Carry out ``plan`` (see ``sandbox.Isolation.plan``) on the current process."""
    die_with_parent(signal.SIGTERM if plan["mode"] != "none" else signal.SIGKILL)
    if plan["mode"] in ("root", "userns"):
        _enter_namespaces(userns=plan["mode"] == "userns")
        _build_root(plan["new_root"], plan["expose"], plan["hide"], plan["tmp_bytes"])
        _pivot_root(plan["new_root"])
    for name, value in plan["limits"].items():
        resource.setrlimit(LIMITS[name], (value, value))
    if plan["mode"] == "root":
        os.setgroups([])
        os.setresgid(plan["uid"], plan["uid"], plan["uid"])
        os.setresuid(plan["uid"], plan["uid"], plan["uid"])
    elif plan["mode"] == "userns":
        _drop_capabilities()
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    os.makedirs(plan["workdir"], exist_ok=True)
    os.chdir(plan["workdir"])


def die_with_parent(sig: int) -> None:
    _check(_libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0), "prctl(PDEATHSIG)")


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise ConfinementError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source, target, fstype, flags, data=None) -> None:
    _check(_libc.mount(_c(source), _c(target), _c(fstype), ctypes.c_ulong(flags), _c(data)),
           f"mount {source} on {target}")


def _c(text):
    return None if text is None else os.fsencode(text)


def _enter_namespaces(userns: bool) -> None:
    """New mount, network, IPC and PID namespaces.  The process that entered them stays
    behind, waiting; its first child, PID 1 of the new namespace, returns and goes on.  When
    the grader kills that PID 1, the kernel kills every process in the namespace with it, so
    no double fork or ``setsid`` escapes."""
    uid, gid = os.getuid(), os.getgid()
    flags = (CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWPID
             | (CLONE_NEWUSER if userns else 0))
    _check(_libc.unshare(flags), "unshare")
    if userns:
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                           ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as handle:
                handle.write(text)
    init = os.fork()
    if init:
        # Should the grader die (even by SIGKILL), SIGTERM arrives here: take PID 1, and so
        # the whole namespace, down with us.
        signal.signal(signal.SIGTERM, lambda *_: (os.kill(init, signal.SIGKILL), os._exit(1)))
        _, status = os.waitpid(init, 0)
        os._exit(os.waitstatus_to_exitcode(status) % 256)
    die_with_parent(signal.SIGKILL)
    _mount(None, "/", None, MS_REC | MS_PRIVATE)


def _locked_flags(path: str) -> int:
    """The mount flags of ``path`` a user namespace may not drop on a remount."""
    found = os.statvfs(path).f_flag
    pairs = ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC),
             (os.ST_NOATIME, MS_NOATIME), (os.ST_NODIRATIME, MS_NODIRATIME),
             (os.ST_RELATIME, MS_RELATIME))
    return sum(ms for st, ms in pairs if found & st)


def _build_root(new_root: str, expose: list[str], hide: list[str], tmp_bytes: int) -> None:
    _mount("tmpfs", new_root, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=0755")
    # The private /tmp first: an installation that lives under /tmp is bound inside it below.
    os.makedirs(new_root + "/tmp", exist_ok=True)
    _mount("tmpfs", new_root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={tmp_bytes},mode=1777")
    for path in expose:
        target = new_root + path
        if os.path.islink(path):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.symlink(os.readlink(path), target)
            continue
        if os.path.isdir(path):
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            open(target, "a").close()
        _mount(path, target, None, MS_BIND | MS_REC)
        _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID
               | _locked_flags(path))
    for path in hide:
        if os.path.isdir(new_root + path):
            _mount("tmpfs", new_root + path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV,
                   "size=4k,mode=0")
    os.makedirs(new_root + "/dev", exist_ok=True)
    for name in DEVICES:
        open(f"{new_root}/dev/{name}", "a").close()
        _mount(f"/dev/{name}", f"{new_root}/dev/{name}", None, MS_BIND)
    os.makedirs(new_root + "/.old", exist_ok=True)


def _pivot_root(new_root: str) -> None:
    number = SYS_PIVOT_ROOT[platform.machine()]
    _check(_libc.syscall(number, _c(new_root), _c(new_root + "/.old")), "pivot_root")
    os.chdir("/")
    _check(_libc.umount2(_c("/.old"), MNT_DETACH), "umount old root")
    os.rmdir("/.old")
    _mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _drop_capabilities() -> None:
    """Give up the capabilities a user namespace grants its creator (so no chroot escape,
    no new mounts): the child keeps only what an ordinary process has."""
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")
