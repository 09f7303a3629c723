"""Source files are read as Python reads them (SPEC §8): a module saved with a UTF-8 BOM, as GBK
with a PEP 263 cookie, with CRLF line ends or with tabs grades exactly like its UTF-8 twin, in
``nnhw grade`` and in ``nnhw check``; a GBK file without a cookie (which Python itself refuses)
gets a message in both languages naming the likely encoding and how to re-save it as UTF-8."""
from __future__ import annotations

import re

import pytest

from autograder import check, load
from conftest import COURSE, grade

HOMEWORK = "hw2_logistic"
COMMENT = "# 逻辑回归：讲义的三行推导 / logistic regression\n"


def saved(source: str, form: str) -> bytes:
    """The reference module of homework II (with a Chinese comment) saved as a student's editor would."""
    text = COMMENT + source
    if form == "utf-8":
        return text.encode("utf-8")
    if form == "utf-8 with BOM":
        return text.encode("utf-8-sig")
    if form == "gbk with a cookie":
        return ("# -*- coding: gbk -*-\n" + text).encode("gbk", "replace")  # ᵀ in a docstring: "?"
    if form == "crlf":
        return text.replace("\n", "\r\n").encode("utf-8")
    if form == "tabs":
        return re.sub(r"^((?:    )+)", lambda m: "\t" * (len(m.group(1)) // 4), text, flags=re.MULTILINE).encode("utf-8")
    if form == "gbk without a cookie":
        return text.encode("gbk", "replace")
    raise ValueError(form)


@pytest.fixture(scope="module")
def source():
    """The answers only, as a student's module holds them (the given setup runs before it)."""
    program = load.Submission("reference", HOMEWORK, COURSE.source_notebook(HOMEWORK)).program(COURSE)
    return "\n\n".join(unit["source"] for kind, unit in program
                        if kind == "code" and not unit["label"].startswith("cell setup-"))


def write(tmp_path, data: bytes):
    path = tmp_path / "student" / f"{HOMEWORK}.py"
    path.parent.mkdir()
    path.write_bytes(data)
    return load.Submission("student", HOMEWORK, path)


@pytest.mark.parametrize("form", ["utf-8 with BOM", "gbk with a cookie", "crlf", "tabs"])
def test_every_encoding_python_reads_grades_like_utf8(form, source, tmp_path, isolation):
    submission = write(tmp_path, saved(source, form))
    result = grade(submission, isolation)
    assert result.score == result.max_score, [(t.name, t.output) for t in result.tests if t.status != "passed"]
    assert check.check(COURSE, submission).all_passed


def test_gbk_without_a_cookie_says_how_to_resave(source, tmp_path, isolation):
    submission = write(tmp_path, saved(source, "gbk without a cookie"))
    result = grade(submission, isolation)
    auto = [t for t in result.tests if t.status != "manual"]
    assert result.score == 0 and {t.status for t in auto} == {"error"}
    for message in [auto[0].output] + [r.detail for r in check.check(COURSE, submission).results]:
        assert "GBK" in message and "UTF-8" in message, message
        assert "另存为" in message and "Save with Encoding" in message, message


def test_a_notebook_with_a_bom_still_reads(tmp_path, isolation):
    path = tmp_path / "student" / f"{HOMEWORK}.ipynb"
    path.parent.mkdir()
    path.write_bytes(b"\xef\xbb\xbf" + COURSE.source_notebook(HOMEWORK).read_bytes())
    result = grade(load.Submission("student", HOMEWORK, path), isolation)
    assert result.score == result.max_score
