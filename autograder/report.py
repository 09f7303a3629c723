"""Step 5 of the pipeline: write what grading found, for TAs and for students.

``results.json`` (SPEC §4's schema), ``grades.csv`` (a row per student, a column per homework,
a total) and ``feedback/<student>.md`` (bilingual, one section per homework; each failed part
says which property failed, the counterexample and expected vs got).  Every file is written
atomically and depends only on the results, so the same results give the same bytes.
"""
from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

from . import course
from .score import HomeworkResult

STATUS_MARK = {"passed": "✅", "failed": "❌", "error": "⚠️", "timeout": "⏱️", "manual": "✍️"}


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
        stream.write(text)
    os.replace(temporary, path)


def number(value: float) -> str:
    """12.0 → "12", 12.5 → "12.5": the same text on every machine."""
    return f"{value:g}"


def ordered(results: list[HomeworkResult]) -> list[HomeworkResult]:
    return sorted(results, key=lambda r: (r.student, course.HOMEWORKS.index(r.homework)))


def results_json(results: list[HomeworkResult]) -> str:
    return json.dumps([r.as_json() for r in ordered(results)], ensure_ascii=False, indent=2) + "\n"


def grades_csv(results: list[HomeworkResult]) -> str:
    table: dict[str, dict[str, float]] = {}
    for result in results:
        table.setdefault(result.student, {})[result.homework] = result.score
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", *course.HOMEWORKS, "total"])
    for student in sorted(table):
        scores = table[student]
        writer.writerow([student, *(number(scores[h]) if h in scores else "" for h in course.HOMEWORKS),
                         number(sum(scores.values()))])
    return buffer.getvalue()


def feedback_markdown(student: str, results: list[HomeworkResult]) -> str:
    lines = [f"# 作业反馈 / Feedback — {student}", "",
             "自动评分只给出隐藏测试的分数；简答题由助教人工批改。/ Automatic scores cover the "
             "hidden tests; written answers are graded by a TA.", ""]
    for result in ordered(results):
        lines += [f"## {result.homework}: {number(result.score)} / {number(result.max_score)}", "",
                  "| 部分 / part | 状态 / status | 分数 / score |", "|---|---|---|"]
        for test in result.tests:
            score = "—" if test.score is None else number(test.score)
            lines.append(f"| `{test.name}` | {STATUS_MARK[test.status]} {test.status} | "
                         f"{score} / {number(test.max_score)} |")
        lines.append("")
        for test in result.tests:
            if test.status not in ("passed", "manual"):
                lines += [f"### `{test.name}` — {test.status}", "", "```text", test.output, "```", ""]
    return "\n".join(lines)


def write_all(out: Path, results: list[HomeworkResult]) -> None:
    write_atomically(out / "results.json", results_json(results))
    write_atomically(out / "grades.csv", grades_csv(results))
    by_student: dict[str, list[HomeworkResult]] = {}
    for result in results:
        by_student.setdefault(result.student, []).append(result)
    for student, own in by_student.items():
        write_atomically(out / "feedback" / f"{_safe(student)}.md", feedback_markdown(student, own))


def _safe(name: str) -> str:
    """A student id as a file name (ids come from folder names, so they are mostly safe)."""
    cleaned = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name).lstrip(".")
    return cleaned or "_"


def progress_line(done: int, total: int, result: HomeworkResult) -> str:
    counts: dict[str, int] = {}
    for test in result.tests:
        counts[test.status] = counts.get(test.status, 0) + 1
    statuses = " ".join(f"{STATUS_MARK[s]}{n}" for s, n in sorted(counts.items()))
    width = len(str(total))
    return (f"[{done:>{width}}/{total}] {result.student:<16} {result.homework:<15} "
            f"{number(result.score):>5}/{number(result.max_score):<4} {statuses}")


def summary_table(results: list[HomeworkResult]) -> str:
    """Scores per student and homework, and how many submissions could not be graded at all."""
    rows = list(csv.reader(io.StringIO(grades_csv(results))))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) for row in rows]
    broken = sum(1 for r in results if not_graded(r))
    lines.append(f"{len(results)} submissions graded; {broken} could not be run at all "
                 f"/ 共 {len(results)} 份，{broken} 份完全无法运行")
    return "\n".join(lines)


def not_graded(result: HomeworkResult) -> bool:
    """Every autograded part errored or timed out: the file could not be read or run."""
    auto = [t for t in result.tests if t.status != "manual"]
    return bool(auto) and all(t.status in ("error", "timeout") for t in auto) and \
        len({t.output for t in auto}) == 1
