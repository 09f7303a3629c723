"""Step 4 of the pipeline: run a homework's parts against a submission and score them.

A part is worth the points of its nbgrader test cell in the source notebook; it passes whole or
scores zero.  Every way a part can end maps to one status (``passed``, ``failed``, ``error``,
``timeout``), written parts are ``manual``, and nothing a submission does stops the others.
"""
from __future__ import annotations

import dataclasses
import re
import sys
import time
import traceback
import warnings

from hypothesis.errors import Flaky

from . import hidden, load
from .course import Course
from .compare import Failed
from .reference import reference
from .run.protocol import ChildDied, ChildTimeout
from .run.sandbox import Isolation
from .run.protocol import describe_problem
from .run.student import NotDone, OutOfTime, SandboxBackend, Student, StudentRaised, notes

HOMEWORK_BUDGET = 120.0  # seconds of wall time for all hidden tests of one homework
# Characters of a part's message kept: far more than any message of ours, far less than what a
# submission that forges its replies could make the results hold.
OUTPUT_LIMIT = 8000


@dataclasses.dataclass(frozen=True)
class TestResult:
    name: str
    score: float | None
    max_score: float
    status: str
    output: str


@dataclasses.dataclass(frozen=True)
class HomeworkResult:
    student: str
    homework: str
    score: float
    max_score: float
    tests: tuple[TestResult, ...]
    facts: tuple[str, ...] = ()  # what the code tried that grading does not allow (for the TA)

    def as_json(self) -> dict:
        """The row of ``results.json`` (SPEC §4's schema; the facts go to the TA's report)."""
        return {"student": self.student, "homework": self.homework, "score": self.score,
                "max_score": self.max_score,
                "tests": [dataclasses.asdict(test) for test in self.tests]}


@dataclasses.dataclass(frozen=True)
class Part:
    name: str
    points: float
    manual: bool
    test: object  # part(student, ref), or None for a written part


def parts(course: Course, homework: str) -> list[Part]:
    """The graded parts of ``homework`` in notebook order, with their tests and points."""
    tests = hidden.tests(homework)
    cells = load.graded_cells(course, homework)
    autograded = {cell.grade_id for cell in cells if not cell.manual}
    if autograded != set(tests):
        raise RuntimeError(f"{homework}: test cells {sorted(autograded ^ set(tests))} have no "
                           "hidden test, or hidden tests have no test cell")
    return [Part(cell.grade_id, cell.points, cell.manual, tests.get(cell.grade_id))
            for cell in cells]


def run_part(part: Part, student: Student, ref) -> TestResult:
    """One part against one submission: never raises for anything the submission does."""
    if part.manual:
        return _left_for_a_person(part)
    status, output = "passed", ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the grader's own warnings are nobody's business
        try:
            part.test(student, ref)
        except Failed as failure:
            status, output = "failed", str(failure)
        except Flaky:
            status, output = "failed", ("性质 / property: 相同输入给出相同结果 / the same input "
                                        "gives the same result (your code is nondeterministic)")
        except NotDone as error:
            failure = student.backend.load_failure
            cause = failed_definition(student.backend, error.name)
            if failure:  # not defined because the code that defines it never finished
                status, output = failure[0], f"代码没有运行完 / your code did not finish loading: {failure[1]}"
            elif cause:  # not defined because the cell that defines it failed to run
                status, output = "error", cause
            else:
                status, output = "error", str(error)
        except StudentRaised as error:
            status, output = "error", str(error)
        except OutOfTime:
            status, output = "timeout", ("本作业的总时间预算已用完 / the homework's time budget "
                                         "(nnhw grade --timeout) is used up")
        except ChildTimeout as timeout:
            status, output = "timeout", f"超时 / timed out: {timeout}"
        except ChildDied as died:
            status, output = "error", f"进程意外结束 / your code ended its process: {died}"
        except Exception as error:  # a bug of the grader: say so, and keep grading the batch
            print(traceback.format_exc(), file=sys.stderr)
            status, output = "error", f"评分程序内部错误 / internal grader error: {error!r}"
    if status != "passed":  # cells that failed to run, unless the message already names them
        output += notes([p for p in student.backend.problems if p["label"] not in output])
    score = part.points if status == "passed" else 0.0
    return TestResult(part.name, score, part.points, status, capped(output))


def capped(output: str) -> str:
    return output if len(output) <= OUTPUT_LIMIT else output[:OUTPUT_LIMIT] + " …"


def failed_definition(backend, name: str | None) -> str | None:
    """Why ``name`` is undefined when a cell that mentions it failed to run (a syntax error, an
    exception on the way): that cell's error, said first, instead of "not done yet"."""
    if not name:
        return None
    mentions = re.compile(rf"\b{re.escape(name)}\b")
    sources = {unit["label"]: unit["source"] for unit in getattr(backend, "units", [])}
    for problem in getattr(backend, "problems", []):
        if problem["type"] != "NotImplementedError" and mentions.search(sources.get(problem["label"], "")):
            if problem["type"] == "SyntaxError":
                return (f"{problem['label']} 有语法错误 / has a syntax error: {problem['message']}，"
                        f"所以 `{name}` 没有定义 / so `{name}` is not defined")
            return f"`{name}` 没有定义，因为 / is not defined because {describe_problem(problem)}"
    return None


def _left_for_a_person(part: Part) -> TestResult:
    return TestResult(part.name, None, part.points, "manual",
                      "人工批改 / graded by hand (written answer)")


def result_of(student_id: str, homework: str, tests: list[TestResult], facts=()) -> HomeworkResult:
    graded = [test for test in tests if test.status != "manual"]
    return HomeworkResult(student_id, homework, sum(test.score for test in graded),
                          sum(test.max_score for test in graded), tuple(tests), tuple(facts))


def unreadable(course: Course, submission: load.Submission, reason: str) -> HomeworkResult:
    """Every part errors with the same reason (a file that cannot be read or run at all)."""
    tests = [_left_for_a_person(part) if part.manual
             else TestResult(part.name, 0.0, part.points, "error", reason)
             for part in parts(course, submission.homework)]
    return result_of(submission.student, submission.homework, tests)


def grade_submission(course: Course, submission: load.Submission, isolation: Isolation,
                     budget: float = HOMEWORK_BUDGET) -> HomeworkResult:
    """Grade one (student, homework) of ``course`` in a confined child process."""
    try:
        program = submission.program(course)
    except load.SubmissionError as error:
        return unreadable(course, submission, f"无法读取提交 / cannot read the submission: {error}")
    deadline = time.monotonic() + budget
    backend = SandboxBackend(isolation, deadline=deadline)
    student = Student(backend, deadline=deadline)
    ref = reference(course, submission.homework)
    by_name = {part.name: part for part in parts(course, submission.homework)}
    done: dict[str, TestResult] = {}
    try:
        for kind, item in program:
            if kind == "code":
                backend.add(item)
            elif item in by_name and item not in done:
                done[item] = run_part(by_name[item], student, ref)
        for name, part in by_name.items():  # written parts, and test cells a student deleted
            if name not in done:
                done[name] = run_part(part, student, ref)
    finally:
        backend.close()
    tests = [done[name] for name in by_name]
    if submission.note:
        tests = [dataclasses.replace(test, output=f"注意 / note: {submission.note}\n{test.output}".rstrip())
                 if test.status != "manual" else test for test in tests]
    return result_of(submission.student, submission.homework, tests, backend.facts)
