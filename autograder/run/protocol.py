"""The request/reply protocol between a grader (or the self-check) and a child process, apart
from how the child is started: the two ways a child fails a request, and what a reply must look
like before anything in it is trusted.  Standalone: stdlib only (the student bundle has it).
"""
from __future__ import annotations


class ChildTimeout(BaseException):
    """The child did not answer in time (a BaseException, so hypothesis does not shrink it)."""

    def __init__(self, seconds: float, why: str | None = None):
        super().__init__(why or f"no answer within {seconds:g} s")
        self.seconds = seconds


class ChildDied(BaseException):
    """The child ended or broke the protocol in the middle of a request."""


_TEXT, _TEXTS, _INTS, _SECONDS = str, "list of str", "list of int", "seconds"
_REPLY_FIELDS = {
    "ok": {"stdout": _TEXT, "warnings": _TEXTS, "mutated": _INTS, "cpu": _SECONDS},
    "cpu_limit": {"cpu": _SECONDS, "stdout": _TEXT},
    "raised": {"error": "error", "stdout": _TEXT},
    "missing": {},
    "not_callable": {"type": _TEXT},
    "unsendable": {"message": _TEXT},
    "protocol": {"message": _TEXT},
}


def well_formed(reply) -> bool:
    """Whether a reply has the shape the executor gives it (a child may send anything)."""
    if not isinstance(reply, dict) or reply.get("status") not in _REPLY_FIELDS:
        return False
    for field, kind in _REPLY_FIELDS[reply["status"]].items():
        if field in reply and not _is(reply[field], kind):
            return False
    if reply["status"] == "raised" and "error" not in reply:
        return False
    problems = reply.get("problems", [])
    return isinstance(problems, list) and all(
        _is(problem, "error") and isinstance(problem.get("label"), str) for problem in problems)


def _is(value, kind) -> bool:
    if kind is str:
        return isinstance(value, str)
    if kind == _TEXTS:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == _INTS:
        return isinstance(value, list) and all(type(v) is int for v in value)
    if kind == _SECONDS:
        return type(value) in (int, float) and value >= 0
    where = value.get("where") if isinstance(value, dict) else None
    return (isinstance(value, dict) and isinstance(value.get("type"), str)
            and isinstance(value.get("message"), str)
            and _is(value.get("kinds", []), _TEXTS)
            and (where is None or (isinstance(where, dict) and isinstance(where.get("label"), str)
                                   and type(where.get("line")) is int
                                   and isinstance(where.get("text"), str))))


def describe_problem(problem: dict) -> str:
    """A load problem (a cell that failed to run) in one line."""
    where = problem.get("where")
    line = f", line {where['line']}: {where['text']}" if where else ""
    return (f"{problem['label']} 运行出错 / raised {problem['type']}: {problem['message']}{line}")
