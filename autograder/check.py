"""The student's self-check: a notebook run as Jupyter's "Run All" would, in a child process,
with the public checks (the test cells of the untouched release) judging each part.

Given cells and checks come from the untouched release, the answers from the student's file.
Each part is ``passed``, ``not done yet`` (a stub still raising NotImplementedError, or a name
no cell ever mentioned), ``wrong`` (an assertion of the public checks fails: shown with the
failing line, its message, what it compared — got / expected — and the notebook section with
the formulas) or ``error`` (a name is missing because an earlier cell that mentions it failed:
that cell's error is shown).  These are only the public checks: the hidden tests grade more,
and the report says so.
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from . import load
from .course import DEMO_PREFIX, Course
from .run.portable import PortableChild
from .run.protocol import ChildDied, ChildTimeout, describe_problem, well_formed

NOT_DONE = "尚未完成 / not done yet"  # a public check asserts this when an answer is still None
UNDEFINED = re.compile(r"name '(\w+)' is not defined")
CELL_TIMEOUT = 120.0  # seconds for one cell: a notebook may train a network in one
MARKS = {"passed": "✅", "not done": "⏳", "wrong": "❌", "error": "⚠️", "timeout": "⏱️",
         "skipped": "·"}
WORDS = {"passed": "通过 / passed", "not done": NOT_DONE,
         "wrong": "未通过 / wrong", "error": "出错 / error", "timeout": "超时 / timed out",
         "skipped": "未检查 / not checked (an earlier cell did not finish)"}


@dataclasses.dataclass(frozen=True)
class CheckResult:
    part: str
    status: str
    detail: str = ""


@dataclasses.dataclass(frozen=True)
class Report:
    homework: str
    path: Path
    results: tuple[CheckResult, ...]
    problems: tuple[str, ...]  # the student's own cells that raised (a stub's raise is not news)

    @property
    def all_passed(self) -> bool:
        return all(result.status == "passed" for result in self.results)


def public_parts(course: Course, homework: str) -> list[str]:
    return [load.nbgrader_metadata(cell)["grade_id"] for _, cell, kind
            in load.code_cells(load.public_notebook(course, homework)) if kind == "test"]


def _sections(notebook: dict) -> dict[str, str]:
    """Each test cell's nearest heading above it: where the formulas for that part are."""
    found, heading = {}, ""
    for cell in notebook["cells"]:
        source = load.source_text(cell)
        if cell.get("cell_type") == "markdown":
            titles = [line.lstrip("#").strip() for line in source.splitlines() if line.startswith("## ")]
            heading = titles[-1] if titles else heading
        elif load.nbgrader_metadata(cell).get("grade") and cell.get("cell_type") == "code":
            found[load.nbgrader_metadata(cell)["grade_id"]] = heading
    return found


def _units(course: Course, submission: load.Submission) -> list[tuple[str | None, dict]]:
    """(part or None, unit) in run order: the student's cells where they put them, the given
    cells and checks from the untouched release; given cells a student deleted are put back
    (setup first, checks last).  SubmissionError if the file cannot be read."""
    trusted = {load.nbgrader_metadata(cell)["grade_id"]: (kind, load.unit_of(index, cell))
               for index, cell, kind in load.code_cells(load.public_notebook(course, submission.homework))
               if kind in ("setup", "demo", "test")}

    def given(grade_id: str) -> tuple[str | None, dict]:
        kind, unit = trusted[grade_id]
        return (grade_id if kind == "test" else None), unit

    if submission.problem is not None:
        raise load.SubmissionError(submission.problem)
    if submission.path.suffix == ".py":
        module = {"label": submission.path.name, "source": load.module_text(submission.read_bytes())}
        return ([given(g) for g, (kind, _) in trusted.items() if kind == "setup"] + [(None, module)]
                + [given(g) for g, (kind, _) in trusted.items() if kind != "setup"])
    units, seen = [], set()
    for index, cell, kind in load.code_cells(load.notebook_from_bytes(submission.read_bytes())):
        grade_id = load.nbgrader_metadata(cell).get("grade_id")
        if kind in ("answer", "free"):
            units.append((None, load.unit_of(index, cell)))
        elif grade_id in trusted and grade_id not in seen:
            seen.add(grade_id)
            units.append(given(grade_id))
    missing = [g for g in trusted if g not in seen]
    return ([given(g) for g in missing if trusted[g][0] == "setup"] + units
            + [given(g) for g in missing if trusted[g][0] == "test"])


def _cause(problem: dict, failed: list[tuple[dict, dict]]) -> str:
    """For a name a check cannot find: the last earlier cell that failed and mentions it (it
    never got to define the name), described in one line; "" when none did (not written yet)."""
    missing = UNDEFINED.match(problem["message"]) if problem["type"] == "NameError" else None
    if missing is None:
        return ""
    mentions = re.compile(rf"\b{re.escape(missing.group(1))}\b")
    causes = [error for unit, error in failed if mentions.search(unit["source"])]
    return describe_problem(causes[-1]) if causes else ""


def _judge(part: str, problem: dict | None, heading: str, cause: str = "") -> CheckResult:
    if problem is None:
        return CheckResult(part, "passed")
    where = problem.get("where") or {}
    in_check = where.get("label") == f"cell {part}"
    if problem["type"] == "NotImplementedError":
        function = where.get("function") if where.get("function") not in (None, "<module>") else None
        return CheckResult(part, "not done", f"{function} 还没有写完 / {function} is not written yet"
                           if function else "")
    if problem["type"] == "AssertionError" and problem["message"].startswith(NOT_DONE):
        names = problem["message"].partition(": ")[2]
        return CheckResult(part, "not done", f"{names} 还没有填写 / {names} not filled in yet" if names else "")
    if problem["type"] == "NameError" and in_check and not cause:
        return CheckResult(part, "not done", problem["message"])
    line = f"    {where['text']}\n" if where.get("text") else ""
    message = f"    {problem['type']}: {problem['message']}\n" if problem["message"] else \
        f"    {problem['type']}\n"
    because = f"    因为前面的单元格出错 / because an earlier cell failed: {cause}\n" if cause else ""
    compared = "".join(f"    {row}\n" for row in problem.get("explanation", "").splitlines())
    hint = f"    见笔记本 / see the notebook: {heading}" if heading else ""
    status = "wrong" if problem["type"] == "AssertionError" and in_check else "error"
    return CheckResult(part, status, (line + message + because + compared + hint).rstrip())


def check(course: Course, submission: load.Submission) -> Report:
    """Run a student's notebook or module and the public checks of its homework."""
    homework, path = submission.homework, submission.path
    parts = public_parts(course, homework)
    try:
        units = _units(course, submission)
    except load.SubmissionError as error:
        return Report(homework, path, tuple(CheckResult(part, "error", str(error)) for part in parts), ())
    headings = _sections(load.public_notebook(course, homework))
    results, problems, failed, broken = {}, [], [], None
    child = PortableChild(path.parent)
    child.start()
    try:
        for part, unit in units:
            if broken is not None:
                if part:
                    results[part] = CheckResult(part, "skipped", broken)
                continue
            try:
                reply = child.request({"op": "load", "units": [unit], "explain": part is not None},
                                      CELL_TIMEOUT)
            except (ChildTimeout, ChildDied) as error:
                broken = f"{unit['label']}: {error}"
                if part:
                    results[part] = CheckResult(part, "timeout" if isinstance(error, ChildTimeout)
                                                else "error", broken)
                continue
            found = reply.get("problems", []) if well_formed(reply) else []
            if part:
                results[part] = _judge(part, found[0] if found else None, headings.get(part, ""),
                                       _cause(found[0], failed) if found else "")
            elif found and found[0]["type"] != "NotImplementedError":
                failed.append((unit, found[0]))
                if not unit["label"].startswith(f"cell {DEMO_PREFIX}"):  # a demo's failure is
                    problems.append(describe_problem(found[0]))  # news only if a check needs it
    finally:
        child.close()
    ordered = tuple(results[part] for part in parts if part in results)
    return Report(homework, path, ordered, tuple(problems))


def render(report: Report, written_points: float = 0.0) -> str:
    lines = [f"{report.homework} — 公开检查 / public checks ({report.path})"]
    lines += [f"  ⚠️ {problem}" for problem in report.problems]
    for result in report.results:
        lines.append(f"  {MARKS[result.status]} {result.part:<32} {WORDS[result.status]}")
        if result.detail:
            lines.append(result.detail if result.detail.startswith("    ") else f"    {result.detail}")
    passed = sum(1 for result in report.results if result.status == "passed")
    lines.append(f"  → {passed}/{len(report.results)} 项公开检查通过 / public checks passed"
                 + (f"；另有 {written_points:g} 分简答题由助教批改 / plus {written_points:g} points of written "
                    "answers a TA grades" if written_points else ""))
    return "\n".join(lines)


def written_points(course: Course, homework: str) -> float:
    """Points of the homework's written answers (graded by a person, never by a check)."""
    return sum(float(load.nbgrader_metadata(cell).get("points", 0))
               for cell in load.public_notebook(course, homework)["cells"]
               if load.cell_kind(cell) == "manual")


FOOTER = ("这些只是公开检查（讲义中的例子和不需要参考答案的性质）；提交后，隐藏测试会检查更多情况。\n"
          "These are the public checks only (the lecture's examples and reference-free properties); "
          "hidden tests will grade more.")
