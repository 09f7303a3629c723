"""The kernel path: a hidden test cell's one call, run inside the notebook's own kernel.

``grade_part`` runs the same part as ``nnhw grade`` against the notebook's globals and returns
its score as the cell's value: nbgrader reads the number (partial credit, 0 or full), the
student sees a bilingual message.  It never raises and never writes to stderr, so a correct
answer that happens to print a warning keeps its points.  Student code shares this interpreter,
so this path trusts the submission: the course's nbgrader configuration grades with the isolated
grader instead, and this runs only where a person asks for it (``nbgrader validate`` of a source
notebook, or ``--IsolatedGrades.kernel=True``).
"""
from __future__ import annotations

import contextlib
import io

from .course import Course
from .reference import reference
from .run.student import InProcessBackend, Student
from .score import parts, run_part
from .text import markdown_code_block


class PartScore(float):
    """A float for nbgrader (``text/plain``), a message for people (``text/markdown``)."""

    def __new__(cls, score: float, points: float, status: str, output: str):
        value = super().__new__(cls, score)
        value.points, value.status, value.output = points, status, output
        return value

    def _repr_markdown_(self) -> str:
        mark = "✅ 通过 / passed" if self.status == "passed" else f"❌ {self.status}"
        body = f"\n\n{markdown_code_block(self.output)}" if self.output else ""
        return f"**{mark}** — {float(self):g} / {self.points:g}{body}"


def grade_part(homework: str, name: str, namespace: dict) -> PartScore:
    course = Course.find()  # the kernel runs in the notebook's folder, inside the course
    part = next(p for p in parts(course, homework) if p.name == name)
    with contextlib.redirect_stderr(io.StringIO()):
        result = run_part(part, Student(InProcessBackend(namespace)), reference(course, homework))
    return PartScore(result.score, result.max_score, result.status, result.output)
