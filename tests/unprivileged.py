"""Run a command as an ordinary user, the way a TA without root runs the grader.

Tests run as root on CI, where the interpreter may live under a folder only root can enter
(``/root`` is 0700).  As root we can give the command a private mount namespace in which such
folders are replaced by world-traversable copies of themselves (a tmpfs holding bind mounts of
their entries), then drop to an unprivileged uid with no capabilities: the grader then meets
exactly what a TA's own account meets, user namespaces included.  Run as an ordinary user
already, the command is run as it is.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

UID = 1000  # any unprivileged uid: it needs no account


def available() -> bool:
    """Whether an unprivileged user can create user namespaces here (the grader needs it)."""
    probe = as_user(["unshare", "--user", "--map-root-user", "--mount", "--net", "--pid",
                     "--fork", "true"])
    return shutil.which("unshare") is not None and subprocess.run(
        probe, capture_output=True, timeout=60).returncode == 0


def as_user(command: list[str], needed: list[Path] = ()) -> list[str]:
    """``command`` as the unprivileged user, with ``needed`` paths (and this interpreter,
    its packages and this repository) reachable."""
    if os.geteuid() != 0:
        return command
    paths = [Path(sys.prefix), Path(sys.base_prefix), Path(os.path.realpath(sys.executable)),
             Path(__file__).resolve().parent.parent, *map(Path, needed)]
    closed = sorted({folder for path in paths for folder in [path, *path.parents]
                     if folder.is_dir() and not _enterable(folder)},
                    key=lambda folder: len(folder.parts))
    script = ["set -e", "view=$(mktemp -d /tmp/nnhw-view-XXXXXX)"]
    for index, folder in enumerate(closed):
        quoted, original = shlex.quote(str(folder)), f"$view/{index}"
        script += [f"mkdir {original}", f"mount --bind {quoted} {original}",
                   f"mount -t tmpfs -o mode=0755 tmpfs {quoted}",
                   f"for entry in {original}/* {original}/.[!.]*; do",
                   '  [ -e "$entry" ] || [ -L "$entry" ] || continue',
                   f'  target={quoted}/"$(basename "$entry")"',
                   '  if [ -d "$entry" ] && [ ! -L "$entry" ]; then mkdir "$target"; '
                   'else touch "$target"; fi',
                   '  mount --bind "$entry" "$target" 2>/dev/null || true',
                   "done"]
    script.append(f"exec setpriv --reuid={UID} --regid={UID} --clear-groups --inh-caps=-all "
                  f"-- env HOME=/tmp {shlex.join(command)}")
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(script)]


def _enterable(folder: Path) -> bool:
    """Whether the unprivileged user may enter ``folder``."""
    info = os.stat(folder)
    return bool(info.st_mode & 0o001 or (info.st_uid == UID and info.st_mode & 0o100))


def hand_over(folder: Path) -> Path:
    """Make ``folder`` (and everything in it) the unprivileged user's; returns it."""
    if os.geteuid() == 0:
        for root, folders, files in os.walk(folder):
            for name in [*folders, *files]:
                os.lchown(os.path.join(root, name), UID, UID)
        os.lchown(folder, UID, UID)
    return folder
