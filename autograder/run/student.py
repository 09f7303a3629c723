"""What a hidden test sees of a submission: its functions and constants, as plain data.

``Student`` turns ``student.sigmoid(z)`` into a request to a backend and the reply back into a
value, or into the exception that tells the scorer what happened.  Two backends answer the same
requests: ``SandboxBackend`` (a confined child process, for ``nnhw grade``) and
``InProcessBackend`` (the notebook's own namespace, for a hidden cell run by nbgrader).
"""
from __future__ import annotations

import dataclasses
import time

from ..compare import Failed, call_text, show
from . import observe, wire
from .executor import Executor
from .protocol import ChildDied, ChildTimeout, describe_problem, well_formed
from .sandbox import ChildProcess, Isolation

# Limits in CPU time of the child, so a busy machine cannot turn a pass into a timeout; the wall
# clock only backstops code that sleeps, waits or blocks the timer.  Stated in the notebooks.
MAX_FACTS = 40
CALL_CPU_SECONDS = 5.0   # one call of a student's function
LOAD_CPU_SECONDS = 10.0  # one notebook cell (or a whole module) while loading


def wall_backstop(cpu_seconds: float) -> float:
    """Wall seconds to wait for a request limited to ``cpu_seconds`` of CPU: room for a
    machine busy with two other graders, then the child is killed."""
    return 2 * cpu_seconds + 5


class NotDone(BaseException):
    """The answer is missing or still the stub: nothing to shrink, the part scores zero.
    ``name``: the function or constant that is missing."""

    def __init__(self, message: str, name: str | None = None):
        super().__init__(message)
        self.name = name


class StudentRaised(Exception):
    """The student's code raised on a valid input (an Exception, so hypothesis shrinks it)."""

    def __init__(self, text: str, raised: "Raised"):
        super().__init__(text)
        self.raised = raised


class OutOfTime(ChildTimeout):
    """The homework's whole time budget is used up."""


@dataclasses.dataclass(frozen=True)
class Reply:
    value: object
    warnings: tuple[str, ...]
    stdout: str


@dataclasses.dataclass(frozen=True)
class Raised:
    """The student's function raised (``Student.outcome`` returns this instead of raising)."""
    kinds: tuple[str, ...]  # the exception's class and its bases, by name
    message: str

    def is_a(self, kind: str) -> bool:
        return kind in self.kinds


@dataclasses.dataclass(frozen=True)
class Kept:
    """A value the child keeps (a trained model of any type) for later calls."""
    handle: int
    description: str

    def __wire__(self):
        return {wire.HANDLE: self.handle}


class StudentFunction:
    """One of the student's functions passed as an argument: rebuilt in the child, called
    through the proxy when the grader's reference code calls it."""

    def __init__(self, student: "Student", name: str):
        self.student, self.name, self.description = student, name, f"<your {name}>"

    def __wire__(self):
        return {wire.STUDENT_FUNCTION: self.name}

    def __call__(self, *args, **kwargs):
        return getattr(self.student, self.name)(*args, **kwargs)


class Student:
    def __init__(self, backend, cpu_seconds: float = CALL_CPU_SECONDS, deadline: float | None = None,
                 timed_out: set | None = None):
        self.backend, self.cpu_seconds, self.deadline = backend, cpu_seconds, deadline
        # A function that timed out once is not waited for again: a submission that hangs
        # everywhere costs one timeout per function, not one per hidden test.
        self.timed_out = set() if timed_out is None else timed_out

    def slow(self, seconds: float) -> "Student":
        """The same submission with more CPU time per call (training a network)."""
        return Student(self.backend, seconds, self.deadline, self.timed_out)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self.call(name, *args, **kwargs).value

    def call(self, name: str, *args, **kwargs) -> Reply:
        return self._call(name, args, kwargs, keep=False)

    def outcome(self, name: str, *args, **kwargs) -> Reply | Raised:
        """Like ``call``, but an exception the student raises on purpose is returned."""
        try:
            return self._call(name, args, kwargs, keep=False)
        except StudentRaised as raised:
            return raised.raised

    def keep(self, name: str, *args, **kwargs) -> Kept:
        return self._call(name, args, kwargs, keep=True).value

    def function(self, name: str) -> StudentFunction:
        return StudentFunction(self, name)

    def constant(self, name: str):
        reply = self._request({"op": "get", "name": name})
        if reply["status"] == "missing":
            raise NotDone(_not_defined(name), name)
        value = self._value(reply, name)
        if value is None:
            raise NotDone(f"尚未完成 / not done yet: {name} is still None")
        return value

    # -- internals -----------------------------------------------------------------------------
    def _call(self, name: str, args: tuple, kwargs: dict, keep: bool) -> Reply:
        call = call_text(name, args, kwargs)
        if name in self.timed_out:
            raise ChildTimeout(self.cpu_seconds, f"{name} 在另一个输入上已经超时 / {name} already timed "
                                                 "out on another input")
        try:
            reply = self._request({"op": "call", "function": name, "args": wire.encode(list(args)),
                                   "kwargs": wire.encode(kwargs), "keep": keep,
                                   "cpu_seconds": self.cpu_seconds})
        except OutOfTime:
            raise
        except ChildTimeout as timeout:
            self.timed_out.add(name)
            raise ChildTimeout(timeout.seconds, (
                f"{call} 在 {timeout.seconds:g} s 内没有返回 / gave no answer within {timeout.seconds:g} s "
                f"of wall time (a call may use {self.cpu_seconds:g} s of CPU time; does it sleep, wait "
                "for input or block signals?)")) from None
        status = reply["status"]
        if status == "cpu_limit":
            self.timed_out.add(name)
            raise ChildTimeout(self.cpu_seconds, (
                f"{call} 用了超过 {self.cpu_seconds:g} s 的 CPU 时间（每次调用的上限）/ used more than "
                f"{self.cpu_seconds:g} s of CPU time, the limit of one call"))
        if status == "missing":
            raise NotDone(_not_defined(name), name)
        if status == "not_callable":
            raise Failed(f"{name} 应当是函数 / should be a function, but it is a {reply['type']}")
        if status == "raised":
            error = reply["error"]
            if error["type"] == "NotImplementedError":
                where = error.get("where")
                origin = f" (from {where['label']})" if where else ""
                raise NotDone(f"尚未完成 / not done yet: {name} still raises NotImplementedError{origin}")
            raise StudentRaised(_raised_text(call, error),
                                Raised(tuple(error["kinds"]), error["message"]))
        if reply.get("mutated"):
            raise Failed(f"性质 / property: 不修改输入 / does not modify its inputs\n"
                         f"反例 / counterexample: {call}\n"
                         f"被修改的参数 / modified argument(s): #{', #'.join(str(i + 1) for i in reply['mutated'])}")
        if keep:
            return Reply(Kept(reply["value"][wire.HANDLE], f"<the result of your {name}>"), (), "")
        return Reply(self._value(reply, call), tuple(reply.get("warnings", ())),
                     reply.get("stdout", ""))

    def _value(self, reply: dict, call):
        if reply["status"] == "unsendable":
            raise Failed(f"{call} 返回了无法比较的对象 / returned something that is not plain data "
                         f"(numbers, arrays, lists, tuples, dicts): {reply['message']}")
        try:
            return wire.decode(reply["value"])
        except (wire.WireError, ValueError, KeyError, TypeError) as error:
            raise ChildDied(f"sent a malformed value ({error})") from None

    def _request(self, message: dict) -> dict:
        timeout = wall_backstop(self.cpu_seconds)
        if self.deadline is not None:
            timeout = min(timeout, self.deadline - time.monotonic())
            if timeout <= 0:
                raise OutOfTime(0)
        reply = self.backend.request(message, timeout)
        if not well_formed(reply):
            raise ChildDied(f"answered something that is not a reply: {show(reply, 100)}")
        if reply["status"] == "protocol":
            raise ChildDied(f"could not follow the protocol: {reply['message']}")
        return reply


def _not_defined(name: str) -> str:
    return f"尚未完成 / not done yet: `{name}` is not defined"


def notes(problems: list[dict]) -> str:
    """Cells that failed to run, as notes for a student (an unfinished stub is not news)."""
    return "".join(f"\n注意 / note: {describe_problem(p)}" for p in problems
                   if p["type"] != "NotImplementedError")


def _raised_text(call: str, error: dict) -> str:
    where = error.get("where")
    place = f"\n位置 / where: {where['label']}, line {where['line']}: {where['text']}" if where else ""
    return (f"性质 / property: 对合法输入不报错 / runs without raising on a valid input\n"
            f"反例 / counterexample: {call}\n"
            f"异常 / raised: {error['type']}: {error['message']}{place}")


class InProcessBackend:
    """Calls into a namespace in this interpreter (the notebook kernel under nbgrader), with
    the same copying and plain-data round trip as a child process."""

    load_failure = None  # the notebook ran its own cells: nothing was loaded here

    def __init__(self, namespace: dict):
        self.executor, self.problems = Executor(namespace), []

    def request(self, message: dict, timeout: float) -> dict:
        request = _round_trip(message, wire.REQUESTS)
        return _round_trip(self.executor.handle(request), wire.REPLIES)


def _round_trip(message: dict, limits: wire.Limits) -> dict:
    return wire.loads(wire.dumps(message, limits)[4:], limits)


class SandboxBackend:
    """A confined child that runs the submission's code units, added as grading reaches them
    (so a notebook's part is judged with the code above its test cell, as nbgrader does).

    The child is restarted after a crash or a timeout and loads the units again, so one broken
    function costs only its own parts.  A unit that hangs or ends the process while loading is
    skipped from then on, as nbgrader goes on after a cell that times out."""

    def __init__(self, isolation: Isolation, load_cpu_seconds: float = LOAD_CPU_SECONDS,
                 deadline: float | None = None):
        self.isolation, self.load_cpu_seconds, self.deadline = isolation, load_cpu_seconds, deadline
        self.units: list[dict] = []
        self.skipped: dict[int, tuple[str, str]] = {}  # unit index → (status, why) it was skipped
        self.problems: list[dict] = []
        self.seen: dict[str, int] = {}  # what the code tried that grading does not allow (``observe``)
        self.child: ChildProcess | None = None
        self.loaded = 0

    def add(self, unit: dict) -> None:
        self.units.append(unit)

    @property
    def load_failure(self) -> tuple[str, str] | None:
        """(status, why) if some of the code never ran: a unit that hung ("timeout") or ended
        the process ("error")."""
        if not self.skipped:
            return None
        statuses = {status for status, _ in self.skipped.values()}
        return ("timeout" if "timeout" in statuses else "error",
                "; ".join(why for _, why in self.skipped.values()))

    def request(self, message: dict, timeout: float) -> dict:
        self._load()
        return self._observed(self.child, message, timeout)

    def _observed(self, child: ChildProcess, message: dict, timeout: float) -> dict:
        """``child.request``, noting a reply the grader refused as a fact."""
        try:
            return child.request(message, timeout)
        except ChildDied as died:
            if "refuses" in str(died):
                self.seen.setdefault("send a reply larger or deeper than the grader accepts", 1)
            raise

    def _gather(self, child: ChildProcess | None) -> None:
        if child is not None:
            for fact, processes in child.facts().items():
                self.seen[fact] = self.seen.get(fact, 0) + processes
            child.fact_lines.clear()

    @property
    def facts(self) -> list[str]:
        """Each fact once, with how often when more than once (processes started are counted,
        and named past the sandbox's limit)."""
        limit = self.isolation.limits.processes
        shown = []
        for fact, count in list(self.seen.items())[:MAX_FACTS]:
            if fact == observe.STARTED and count >= limit:
                shown.append(f"{fact} ×{count} (more than the {limit} processes a submission may have)")
            else:
                shown.append(f"{fact} ×{count}" if count > 1 else fact)
        return shown

    def _load(self) -> None:
        while True:
            if self.child is None or not self.child.alive:
                self._gather(self.child)
                self.child = ChildProcess(self.isolation)
                self.child.start()
                self.loaded, self.problems = 0, []
            while self.loaded < len(self.units) and self.loaded in self.skipped:
                self.loaded += 1
            if self.loaded == len(self.units):
                return
            unit = self.units[self.loaded]
            timeout = wall_backstop(self.load_cpu_seconds)
            if self.deadline is not None:
                timeout = min(timeout, self.deadline - time.monotonic())
                if timeout <= 0:
                    raise OutOfTime(0)
            try:
                reply = self._observed(self.child, {"op": "load", "units": [unit],
                                                    "cpu_seconds": self.load_cpu_seconds}, timeout)
            except ChildTimeout:
                self.skipped[self.loaded] = ("timeout", f"{unit['label']} 运行超时 / did not finish "
                                             f"within {timeout:g} s of wall time (does it wait?)")
                continue
            except ChildDied as died:
                self.skipped[self.loaded] = ("error", f"{unit['label']} 结束了进程 / ended its "
                                                      f"process: {died}")
                continue
            if not well_formed(reply) or reply["status"] != "ok":
                raise ChildDied(f"answered the load request with {show(reply, 100)}")
            problems = reply.get("problems", [])
            if any(problem["type"] == "CpuLimit" for problem in problems):
                self.skipped[self.loaded] = ("timeout", (
                    f"{unit['label']} 运行时用了超过 {self.load_cpu_seconds:g} s 的 CPU 时间（每个单元格的上限）/ "
                    f"used more than {self.load_cpu_seconds:g} s of CPU time while loading, the limit "
                    "of one cell (a loop at top level?)"))
            else:
                self.problems += problems
            self.loaded += 1

    def close(self) -> None:
        if self.child is not None:
            self.child.close()
            self._gather(self.child)
