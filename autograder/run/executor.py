"""Run a submission's code and call its functions the same way, whoever hosts it.

The child process (``child.py``) wraps an Executor around a fresh namespace; the in-kernel
nbgrader path wraps one around the notebook's globals.  Either way every call gets fresh copies
of its arguments, the same seeds, captured prints and warnings, a check that the arguments were
not mutated, and a reply of plain data (``wire``), so both paths grade identically.

A request may carry ``cpu_seconds``: the student's code then runs under a CPU-time limit (an
interval timer in this process, where the operating system has one) and the reply says how much
CPU it used.  Limits measured in CPU time give the same verdict on a busy machine as on an idle
one; the grader keeps a wall-clock backstop for code that sleeps or blocks the timer.
Standalone: stdlib and numpy only (the child may not import the rest of ``autograder``).
"""
from __future__ import annotations

import builtins
import contextlib
import io
import random
import signal
import sys
import time
import traceback
import warnings

import numpy as np
import numpy.random  # noqa: F401  (loaded lazily otherwise: after confinement, or in each fork)

from . import callables, explain, wire

OUTPUT_LIMIT = 4000   # characters of a call's prints kept for the feedback
MESSAGE_LIMIT = 600   # characters of an exception message kept
SEED = 0


class CappedText(io.TextIOBase):
    """A stdout stand-in that keeps the first ``limit`` characters and counts the rest."""

    def __init__(self, limit: int = OUTPUT_LIMIT):
        self.limit, self.parts, self.kept, self.dropped = limit, [], 0, 0

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        text = str(text)
        room = max(self.limit - self.kept, 0)
        self.parts.append(text[:room])
        self.kept += min(len(text), room)
        self.dropped += len(text) - min(len(text), room)
        return len(text)

    def getvalue(self) -> str:
        text = "".join(self.parts)
        return text + (f"\n… ({self.dropped} more characters)" if self.dropped else "")


class CpuLimit(BaseException):
    """The student's code used up the CPU time of its request."""


class CpuTimer:
    """An interval timer of CPU time that interrupts student code when it runs out."""

    available = hasattr(signal, "setitimer") and hasattr(signal, "SIGPROF")

    def __init__(self):
        self.armed = False
        if self.available:
            signal.signal(signal.SIGPROF, self._expired)

    def _expired(self, signum, frame):
        if self.armed:
            self.armed = False
            raise CpuLimit()

    def start(self, seconds: float | None) -> None:
        if seconds is not None and self.available:
            self.armed = True
            signal.setitimer(signal.ITIMER_PROF, seconds)

    def stop(self) -> None:
        if self.available:
            self.armed = False
            signal.setitimer(signal.ITIMER_PROF, 0)


def new_namespace() -> dict:
    return {"__name__": "submission", "__builtins__": builtins}


class Executor:
    def __init__(self, namespace: dict | None = None, timer: CpuTimer | None = None):
        """``timer``: where CPU limits are enforced (a child); without one they are only
        measured (the notebook kernel, which must not get our signal handler)."""
        self.namespace = new_namespace() if namespace is None else namespace
        self.kept: dict[int, object] = {}
        self.sources: dict[str, list[str]] = {}
        self.timer = timer

    # -- requests ------------------------------------------------------------------------------
    def handle(self, request: dict) -> dict:
        operation = request.get("op")
        cpu_seconds = request.get("cpu_seconds")
        if operation == "load":
            return {"status": "ok", "problems": self.load(request["units"], bool(request.get("explain")),
                                                          cpu_seconds)}
        if operation == "call":
            return self.call(request["function"], request.get("args", []),
                             request.get("kwargs", {}), keep=bool(request.get("keep")),
                             cpu_seconds=cpu_seconds)
        if operation == "get":
            return self.get(request["name"])
        return {"status": "protocol", "message": f"unknown operation {operation!r}"}

    def load(self, units: list[dict], explain_asserts: bool = False,
             cpu_seconds: float | None = None) -> list[dict]:
        """Run each code unit (a notebook cell or a module) in order, as Jupyter would: a unit
        that fails is reported and the next one still runs.  ``explain_asserts``: a failed
        assert also says what it compared (the self-check asks for it; grading never does).
        A unit over its CPU time is reported as a problem of type ``CpuLimit``."""
        problems = []
        for unit in units:
            label, source = unit["label"], unit["source"]
            self.sources[label] = source.splitlines()
            try:
                code = compile(source, label, "exec")
            except SyntaxError as error:
                problems.append({"label": label, "type": "SyntaxError",
                                 "message": f"{error.msg} (line {error.lineno})"})
                continue
            outcome = self._guarded(lambda: exec(code, self.namespace), explain_asserts, cpu_seconds)
            if outcome["status"] == "cpu_limit":
                problems.append({"label": label, "type": "CpuLimit", "kinds": ["CpuLimit"],
                                 "message": f"used more than {cpu_seconds:g} s of CPU time",
                                 "where": None})
            elif outcome["status"] != "ok":
                problems.append({"label": label, **outcome["error"]})
        return problems

    def get(self, name: str) -> dict:
        if name not in self.namespace:
            return {"status": "missing"}
        return self._reply_with(self.namespace[name], keep=False)

    def call(self, name: str, args_tree, kwargs_tree, keep: bool = False,
             cpu_seconds: float | None = None) -> dict:
        function = self.namespace.get(name)
        if function is None:
            return {"status": "missing"}
        if not callable(function):
            return {"status": "not_callable", "type": type(function).__name__}
        args = wire.decode(args_tree, self._resolve)
        kwargs = wire.decode(kwargs_tree, self._resolve)
        before = _snapshot((args, kwargs))
        outcome = self._guarded(lambda: function(*args, **kwargs), cpu_seconds=cpu_seconds)
        mutated = [position for position, (old, new) in
                   enumerate(zip(list(before[0]) + list(before[1].values()),
                                 list(args) + list(kwargs.values())))
                   if not _same(old, new)]
        if outcome["status"] != "ok":
            return outcome
        reply = self._reply_with(outcome.pop("value"), keep)
        return {**outcome, **reply, "mutated": mutated}

    # -- helpers -------------------------------------------------------------------------------
    def _guarded(self, run, explain_asserts: bool = False, cpu_seconds: float | None = None) -> dict:
        """Run student code with seeds set, prints/warnings captured and its CPU time limited
        and measured; never raises."""
        random.seed(SEED)
        np.random.seed(SEED)
        printed = CappedText()
        start, interrupted = time.process_time(), False
        with warnings.catch_warnings(record=True) as caught, \
                contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            warnings.simplefilter("always")
            try:
                try:
                    if self.timer:
                        self.timer.start(cpu_seconds)
                    value = run()
                finally:
                    if self.timer:
                        self.timer.stop()
            except CpuLimit:
                value, interrupted = None, True
            except BaseException as error:  # SystemExit, KeyboardInterrupt too: all are answers
                described = self._describe(error)
                if explain_asserts and isinstance(error, AssertionError):
                    described["explanation"] = explain.explain(error, self.sources)
                return {"status": "raised", "error": described, "stdout": printed.getvalue()}
        used = time.process_time() - start
        if interrupted or (cpu_seconds is not None and used > cpu_seconds):
            return {"status": "cpu_limit", "cpu": round(used, 3), "stdout": printed.getvalue()}
        return {"status": "ok", "value": value, "stdout": printed.getvalue(), "cpu": round(used, 3),
                "warnings": sorted({f"{w.category.__name__}: {w.message}" for w in caught})}

    def _reply_with(self, value, keep: bool) -> dict:
        if keep:
            handle = len(self.kept) + 1
            self.kept[handle] = value
            return {"status": "ok", "value": {wire.HANDLE: handle}}
        try:
            return {"status": "ok", "value": wire.encode(value)}
        except (wire.WireError, ValueError, RecursionError, MemoryError) as error:
            return {"status": "unsendable", "message": str(error)[:MESSAGE_LIMIT]}

    def _resolve(self, marker: str, payload):
        if marker == wire.FUNCTION:
            return callables.build(payload["kind"], wire.decode(payload["params"]))
        if marker == wire.STUDENT_FUNCTION:
            return self.namespace[payload]
        return self.kept[payload]

    def _describe(self, error: BaseException) -> dict:
        try:
            message = str(error)[:MESSAGE_LIMIT]
        except BaseException:
            message = "<unprintable message>"
        where = None
        for frame, line in traceback.walk_tb(error.__traceback__):
            label = frame.f_code.co_filename
            if label in self.sources:
                source = self.sources[label]
                text = source[line - 1].strip() if 0 < line <= len(source) else ""
                where = {"label": label, "line": line, "text": text[:200], "function": frame.f_code.co_name}
        kinds = [kind.__name__ for kind in type(error).__mro__]
        return {"type": type(error).__name__, "kinds": kinds, "message": message, "where": where}


def _snapshot(value):
    """A deep copy of the plain data in ``value`` (functions and kept objects are shared)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)):
        return type(value)(_snapshot(item) for item in value)
    if isinstance(value, dict):
        return {key: _snapshot(item) for key, item in value.items()}
    return value


def _same(old, new) -> bool:
    """Whether an argument still holds what it held before the call (NaN equals NaN)."""
    if isinstance(old, np.ndarray):
        return (isinstance(new, np.ndarray) and old.shape == new.shape
                and old.dtype == new.dtype and np.array_equal(old, new, equal_nan=True))
    if isinstance(old, (list, tuple)):
        return (type(old) is type(new) and len(old) == len(new)
                and all(_same(a, b) for a, b in zip(old, new)))
    if isinstance(old, dict):
        return (isinstance(new, dict) and old.keys() == new.keys()
                and all(_same(old[key], new[key]) for key in old))
    if isinstance(old, (bool, int, float, str, np.generic)) or old is None:
        return type(old) is type(new) and (old == new or (old != old and new != new))
    return True  # functions and kept objects: not the caller's data


def main_loop(executor: Executor, requests_fd: int, replies_fd: int, observer=None) -> None:
    """Serve requests until the grader closes the stream; after each, the ``observer`` (where
    there is one) looks for replaced functions (``observe``)."""
    frames = wire.FrameBuffer(wire.REQUESTS)
    executor.timer = CpuTimer()
    while True:
        request = wire.read_frame(requests_fd, frames)
        if request is None:
            return
        try:
            reply = executor.handle(request)
        except Exception as error:  # a malformed request is the grader's bug, not the student's
            reply = {"status": "protocol", "message": f"{type(error).__name__}: {error}"}
        if observer is not None:
            observer.check()
        try:
            wire.write_frame(replies_fd, reply, wire.REPLIES)
        except (wire.WireError, MemoryError) as error:
            wire.write_frame(replies_fd, {"status": "unsendable", "message": str(error)[:MESSAGE_LIMIT]},
                             wire.REPLIES)
        sys.stdout.flush()
