"""Facts of what a submission tried that grading does not allow, recorded inside the child.

The sandbox already refuses these (the course is not mounted, there is no network, processes are
limited); this module only writes down that they were tried, so a TA sees facts, not guesses:
importing the grader or the reference, opening or listing files outside the sandbox's own
folders, sending signals, starting processes, using the network or ctypes, replacing the
functions checks rely on.  An audit hook (PEP 578), installed before any student code runs,
sees the events; once installed it cannot be removed.  Each fact is written at once, as one line,
to a pipe of its own (small writes to a pipe are atomic, and never block: a fact that finds the
pipe full is dropped), so the facts of a child killed at a timeout, or of a fork bomb's
processes, still reach the grader.  Honest answers cause none of these.  The submission could
write to that pipe itself: it can only add facts about itself.  Standalone: stdlib only.
"""
from __future__ import annotations

import os
import sys

FORBIDDEN_MODULES = ("autograder", "solutions", "hidden", "nbgrader", "reference")
MAX_FACTS = 40
STARTED = "start a process"
# Functions a check might lean on: replacing them is a fact worth reporting.
WATCHED = (("numpy", "isclose"), ("numpy", "allclose"), ("numpy", "array_equal"), ("math", "isclose"),
           ("numpy.testing", "assert_allclose"), ("builtins", "isinstance"), ("builtins", "open"))


class Observer:
    def __init__(self, fd: int, allowed: list[str], hidden: list[str] = ()):
        self.fd = fd
        self.allowed = tuple(path.rstrip("/") + "/" for path in allowed)
        self.hidden = tuple(path.rstrip("/") + "/" for path in hidden)
        self.noted: set[str] = set()  # facts this process wrote already
        self.originals = {(module, name): getattr(sys.modules[module], name)
                          for module, name in WATCHED if module in sys.modules}
        # The child's own code is ``autograder.run``: what is loaded now is not the student's doing.
        self.modules = {name: sys.modules.get(name) for name in FORBIDDEN_MODULES}

    def install(self) -> "Observer":
        os.set_blocking(self.fd, False)
        sys.addaudithook(self._event)
        return self

    def _note(self, fact: str, every_time: bool = False) -> None:
        """Write ``fact`` once per process (or every time: each process started counts)."""
        if not every_time and (fact in self.noted or len(self.noted) >= MAX_FACTS):
            return
        self.noted.add(fact)
        try:
            os.write(self.fd, fact.encode("utf-8", "replace")[:400] + b"\n")
        except OSError:  # the pipe is full (or gone): drop it
            pass

    def _outside(self, path) -> str | None:
        """``path`` as text if it lies outside the sandbox's own folders."""
        if not isinstance(path, (str, bytes)):
            return None
        text = os.fsdecode(path)
        if not text.startswith("/"):
            return None
        inside = (text + "/").startswith(self.allowed) and not (text + "/").startswith(self.hidden)
        return None if inside else text[:120]

    def _event(self, event: str, args: tuple) -> None:
        try:
            self._observe(event, args)
        except Exception:  # noqa: BLE001 (observing must never change what the code does)
            pass

    def _observe(self, event: str, args: tuple) -> None:
        if event == "import" and str(args[0]).partition(".")[0] in FORBIDDEN_MODULES \
                and not str(args[0]).startswith("autograder.run"):
            self._note(f"import {args[0].partition('.')[0]} (not available while grading)")
        elif event == "open" and (path := self._outside(args[0])):
            self._note(f"open {path} (outside the sandbox)")
        elif event in ("os.listdir", "os.scandir", "glob.glob") and (path := self._outside(args[0])) \
                and path not in sys.path:  # the import system scans sys.path itself
            self._note(f"list {path} (outside the sandbox)")
        elif event in ("os.kill", "os.killpg"):
            self._note(f"send signal {args[1]} to process {args[0]}")
        elif event in ("os.fork", "os.forkpty", "os.posix_spawn", "subprocess.Popen", "os.system", "os.exec"):
            self._note(STARTED, every_time=True)
        elif event in ("socket.connect", "socket.bind", "socket.getaddrinfo"):
            self._note("use the network (there is none while grading)")
        elif event == "ctypes.dlopen":
            self._note(f"load a C library with ctypes ({args[0]})")

    def check(self) -> None:
        """Note functions that checks rely on and that were replaced, and forbidden modules
        put into ``sys.modules`` (after each request: no audit event shows these)."""
        for (module, name), original in self.originals.items():
            if getattr(sys.modules.get(module), name, original) is not original:
                self._note(f"replace {module}.{name}")
        for module in FORBIDDEN_MODULES:
            if sys.modules.get(module) is not self.modules[module]:
                self._note(f"put a module named {module} in sys.modules")


def for_plan(plan: dict, fd: int) -> "Observer":
    """The observer of a child confined by ``plan`` (``sandbox.Isolation.plan``), writing to
    ``fd``: what the sandbox shows it (its exposed paths, private /tmp, working folder,
    devices) is allowed."""
    return Observer(fd, [*plan["expose"], "/tmp", plan["workdir"], "/dev/null", "/dev/zero", "/dev/random",
                         "/dev/urandom"], plan["hide"])
