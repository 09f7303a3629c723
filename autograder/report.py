"""Step 5 of the pipeline: write what grading found, for TAs and for students.

``results.json`` (SPEC §4's schema), ``grades.csv`` (a row per student, a column per homework,
a total) and ``feedback/<student>.md`` (bilingual, one section per homework; each failed part
says which property failed, the counterexample and expected vs got).  Every file is written
atomically, with the permissions the process umask gives, and depends only on the results, so
the same results give the same bytes.

Student ids are folder names and may hold any byte: ``results.json`` keeps them exactly (an
undecodable byte as the escape ``\\udcNN``, which ``json.loads`` + ``os.fsencode`` turn back into
the byte), feedback file names never collide, ``grades.csv`` is RFC 4180 with formula cells
neutralised, and every student-controlled text is escaped where it lands (``text``).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import tempfile
from pathlib import Path

from . import text
from .course import HOMEWORKS
from .score import HomeworkResult

STATUS_MARK = {"passed": "✅", "failed": "❌", "error": "⚠️", "timeout": "⏱️", "manual": "✍️"}
SAFE_FILE_NAME = re.compile(r"[a-z0-9_][a-z0-9._-]{0,99}")
WINDOWS_RESERVED = re.compile(r"(con|prn|aux|nul|com\d|lpt\d)(\..*)?")


def write_atomically(path: Path, content: str) -> None:
    """``content`` as UTF-8 in ``path``, whole or not at all, mode as the umask says."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(content)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600: other TAs could not read
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def number(value: float) -> str:
    """12.0 → "12", 12.5 → "12.5": the same text on every machine."""
    return f"{value:g}"


def ordered(results: list[HomeworkResult]) -> list[HomeworkResult]:
    return sorted(results, key=lambda r: (r.student, HOMEWORKS.index(r.homework)))


def json_text(value, indent: int | None = None) -> str:
    """JSON that can be written as UTF-8 whatever the ids hold: readable text stays as it is,
    an undecodable byte of a folder name (a lone surrogate) becomes the escape ``\\udcNN``."""
    dumped = json.dumps(value, ensure_ascii=False, indent=indent)
    return re.sub(r"[\ud800-\udfff]", lambda match: f"\\u{ord(match.group()):04x}", dumped)


def results_json(results: list[HomeworkResult]) -> str:
    return json_text([r.as_json() for r in ordered(results)], indent=2) + "\n"


def _table(results: list[HomeworkResult]) -> tuple[list[str], list[list[str]]]:
    """The grade sheet: a header, then a row per student (id, one score per homework, total)."""
    scores: dict[str, dict[str, float]] = {}
    for result in results:
        scores.setdefault(result.student, {})[result.homework] = result.score
    rows = [[student, *(number(own[h]) if h in own else "" for h in HOMEWORKS),
             number(sum(own.values()))] for student, own in sorted(scores.items())]
    return ["student", *HOMEWORKS, "total"], rows


def grades_csv(results: list[HomeworkResult]) -> str:
    return sheet_csv(*_table(results))


def sheet_csv(header: list[str], rows: list[list[str]]) -> str:
    """RFC 4180: CRLF line ends, every field with a comma, quote, CR or LF quoted; a student id
    (the first column) that a spreadsheet would run as a formula is neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    for student, *scores in rows:
        writer.writerow([text.spreadsheet_cell(student), *scores])
    return buffer.getvalue()


def feedback_name(student: str) -> str:
    """A file name for ``student``'s feedback that no other id shares, on any file system: a
    plain lower-case id is kept; any other gets a readable part and a hash of the exact id
    (``~`` never occurs in a kept id, so the two kinds cannot meet)."""
    if SAFE_FILE_NAME.fullmatch(student) and not WINDOWS_RESERVED.fullmatch(student):
        return f"{student}.md"
    readable = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text.utf8(student))
    digest = hashlib.sha256(student.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return f"{readable.lstrip('.')[:60]}~{digest}.md"


def feedback_markdown(student: str, results: list[HomeworkResult]) -> str:
    lines = [f"# 作业反馈 / Feedback — {text.markdown_inline(student)}", "",
             "下面的分数只含自动评分部分（隐藏测试）；简答题由助教人工批改，另计。/ The scores below are the "
             "autograded parts (the hidden tests) only; written answers are graded by a TA, on top.", ""]
    for result in ordered(results):
        written = sum(test.max_score for test in result.tests if test.status == "manual")
        by_hand = (f"（另有 {number(written)} 分简答题由助教批改 / plus {number(written)} points of written "
                   "answers a TA grades）") if written else ""
        lines += [f"## {result.homework}: 自动评分 / autograded {number(result.score)} / {number(result.max_score)}"
                  f"{by_hand}", "",
                  "| 部分 / part | 状态 / status | 分数 / score |", "|---|---|---|"]
        for test in result.tests:
            score = "—" if test.score is None else number(test.score)
            lines.append(f"| `{test.name}` | {STATUS_MARK[test.status]} {test.status} | "
                         f"{score} / {number(test.max_score)} |")
        lines.append("")
        for test in result.tests:
            if test.status not in ("passed", "manual"):
                lines += [f"### `{test.name}` — {test.status}", "",
                          text.markdown_code_block(test.output), ""]
    return "\n".join(lines)


def write_all(out: Path, results: list[HomeworkResult]) -> None:
    write_atomically(out / "results.json", results_json(results))
    write_atomically(out / "grades.csv", grades_csv(results))
    by_student: dict[str, list[HomeworkResult]] = {}
    for result in results:
        by_student.setdefault(result.student, []).append(result)
    for student, own in by_student.items():
        write_atomically(out / "feedback" / feedback_name(student), feedback_markdown(student, own))


def progress_line(done: int, total: int, result: HomeworkResult) -> str:
    counts: dict[str, int] = {}
    for test in result.tests:
        counts[test.status] = counts.get(test.status, 0) + 1
    statuses = " ".join(f"{STATUS_MARK[s]}{n}" for s, n in sorted(counts.items()))
    width = len(str(total))
    return (f"[{done:>{width}}/{total}] {text.one_line(text.utf8(result.student)):<16} "
            f"{result.homework:<15} {number(result.score):>5}/{number(result.max_score):<4} {statuses}")


def summary_table(results: list[HomeworkResult]) -> str:
    """Scores per student and homework, one terminal line each (ids escaped)."""
    header, rows = _table(results)
    rows = [[text.one_line(text.utf8(row[0])), *row[1:]] for row in rows]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths))
                     for row in [header, *rows])


def not_graded(result: HomeworkResult) -> bool:
    """Every autograded part errored or timed out alike: the file could not be read or run."""
    auto = [t for t in result.tests if t.status != "manual"]
    return bool(auto) and all(t.status in ("error", "timeout") for t in auto) and \
        len({t.output for t in auto}) == 1
