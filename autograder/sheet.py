"""``nnhw sheet``: the final grade sheet, every point in it.

``grades.csv`` (``nnhw grade``) counts the autograded parts only.  Once written answers are
graded in nbgrader's formgrader, this writes one sheet from the course's gradebook: a row per
student, a column per homework with autograded and written points together, a total, and the
written parts still waiting for a person.  Each header states its column's maximum
(``hw2_logistic (/20)``): a row of maxima would look like a student.  The autograded points can
come from ``nnhw grade``'s ``results.json`` instead (``results``), for a class autograded there
and only hand-graded in nbgrader.  RFC 4180, with formula cells neutralised, like grades.csv.
"""
from __future__ import annotations

import json
from pathlib import Path

from . import load
from .course import HOMEWORKS, Course
from .report import number, sheet_csv, write_atomically


def rows(course: Course, gradebook_url: str, results: Path | None = None) -> tuple[list[str], list[list[str]]]:
    """The sheet's header and rows."""
    from nbgrader.api import Gradebook, MissingEntry

    cells = {h: load.graded_cells(course, h) for h in HOMEWORKS}
    maxima = {h: sum(c.points for c in cells[h]) for h in HOMEWORKS}
    autograded = _results(results) if results else None
    table: dict[str, dict[str, float]] = {}
    pending: dict[str, list[str]] = {}
    with Gradebook(gradebook_url) as gradebook:
        for student in (record.id for record in gradebook.students):
            for homework in HOMEWORKS:
                try:
                    notebook = gradebook.find_submission_notebook(homework, homework, student)
                except MissingEntry:
                    continue
                written = {c.grade_id for c in cells[homework] if c.manual}
                points = 0.0
                for grade in notebook.grades:  # nbgrader's score: the manual one once given
                    if grade.name in written and grade.needs_manual_grade:
                        pending.setdefault(student, []).append(f"{homework}/{grade.name}")
                    if grade.name in written or autograded is None:
                        points += grade.score or 0.0
                if autograded is not None:
                    points += autograded.get((student, homework), 0.0)
                table.setdefault(student, {})[homework] = points
    if autograded is not None:  # students autograded by nnhw but absent from the gradebook
        for (student, homework), points in autograded.items():
            table.setdefault(student, {}).setdefault(homework, points)
    header = ["student", *(f"{h} (/{number(maxima[h])})" for h in HOMEWORKS),
              f"total (/{number(sum(maxima.values()))})", "written parts not graded yet"]
    body = [[student, *(number(own[h]) if h in own else "" for h in HOMEWORKS), number(sum(own.values())),
             " ".join(pending.get(student, []))] for student, own in sorted(table.items())]
    return header, body


def _results(folder: Path) -> dict[tuple[str, str], float]:
    data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    return {(row["student"], row["homework"]): float(row["score"]) for row in data}


def write(course: Course, gradebook_url: str, out: Path, results: Path | None = None) -> int:
    """Write the sheet to ``out``; returns the number of students in it."""
    header, body = rows(course, gradebook_url, results)
    write_atomically(out, sheet_csv(header, body))
    return len(body)
