"""A child process for the student's self-check, built only from what every platform has.

``nnhw check`` runs on Windows, macOS and Linux laptops, in Colab and on JupyterHubs: a fresh
interpreter started with ``subprocess``, requests on its stdin, replies on its stdout (``wire``
frames), timeouts kept by reader threads, and ``Popen.kill`` when time is up.  No fork server,
no ``fcntl``, ``/proc``, ``prctl`` or namespaces: those are the grader's, for TAs on Linux.  It
is not a sandbox — the student runs their own code on their own machine.

In the child (``serve``), the protocol moves to descriptors of its own before any student code
runs: whatever the code prints, even straight to descriptor 1, goes to stderr and cannot
corrupt a frame; ``input()`` reads an empty stdin.
"""
from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

from . import numerics, wire
from .protocol import ChildDied, ChildTimeout

PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])
STRAY_OUTPUT_LIMIT = 64 * 1024
# As the grader's children compute, so the self-check's numbers are the grader's.
CHILD_ENV = {"PYTHONHASHSEED": "0", "PYTHONIOENCODING": "utf-8", "MPLBACKEND": "Agg",
             "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
             **numerics.pinned()}


class PortableChild:
    """One fresh interpreter serving requests, in the folder ``workdir``."""

    def __init__(self, workdir: os.PathLike | str):
        self.workdir = str(workdir)
        self.process: subprocess.Popen | None = None
        self.stray_output = bytearray()

    def __enter__(self) -> "PortableChild":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        bootstrap = (f"import sys; sys.path.insert(0, {PACKAGE_PARENT!r}); "
                     "from autograder.run import portable; portable.serve()")
        flags = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        self.process = subprocess.Popen(
            [sys.executable, "-c", bootstrap], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, cwd=self.workdir, env={**os.environ, **CHILD_ENV},
            creationflags=flags, start_new_session=os.name == "posix")
        self.replies: queue.Queue = queue.Queue()
        threading.Thread(target=self._read_replies, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    @property
    def alive(self) -> bool:
        return self.process is not None

    def request(self, message: dict, timeout: float) -> dict:
        """Send one request and wait for its reply; ChildTimeout/ChildDied end the child."""
        try:
            self.process.stdin.write(wire.dumps(message))
            self.process.stdin.flush()
        except OSError:
            self._died("stopped reading requests")
        try:
            reply = self.replies.get(timeout=timeout)
        except queue.Empty:
            self.close()
            raise ChildTimeout(timeout) from None
        if isinstance(reply, BaseException):
            self._died(str(reply))
        return reply

    def _read_replies(self) -> None:
        frames, stream = wire.FrameBuffer(wire.REPLIES), self.process.stdout
        try:
            while True:
                message = frames.take()
                if message is not None:
                    self.replies.put(message)
                    continue
                chunk = stream.read1(1 << 16)
                if not chunk:
                    self.replies.put(ChildDied("ended"))
                    return
                frames.feed(chunk)
        except (wire.WireError, OSError, ValueError) as error:
            self.replies.put(ChildDied(f"sent a reply that is not ours ({error})"))

    def _drain_stderr(self) -> None:
        for chunk in iter(lambda: self.process.stderr.read1(1 << 16), b""):
            room = STRAY_OUTPUT_LIMIT - len(self.stray_output)
            self.stray_output += chunk[:max(room, 0)]

    def _died(self, what: str):
        process = self.process
        self.close()
        code = process.returncode
        raise ChildDied(what + (f" (exit status {code})" if code is not None else ""))

    def close(self) -> None:
        """End the child (and, on POSIX, its process group); safe to call twice."""
        if self.process is None:
            return
        process, self.process = self.process, None
        try:
            process.stdin.close()
        except OSError:
            pass
        try:
            process.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            if os.name == "posix":
                import signal
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except OSError:
                    pass
            process.kill()
            process.wait()


def serve() -> None:
    """The child: move the protocol off descriptors 0 and 1, then answer requests."""
    from . import executor

    requests, replies = os.dup(0), os.dup(1)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)
    sys.stdin = open(0, closefd=False)
    sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)
    executor.main_loop(executor.Executor(), requests, replies)
