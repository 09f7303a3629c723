"""The visible half of a test cell never fails a part its hidden half passes.

nbgrader scores a test cell zero as soon as its visible checks fail, so if a visible check
leaned on another part (or demanded more than the hidden test does), nbgrader and ``nnhw grade``
would disagree on an honest but partly wrong student.  Each wrong and right fixture is written
into a notebook where a student would write it, its public checks are run (``nnhw check``), and
its hidden tests (``nnhw grade``); a part the hidden tests pass must pass its public checks."""
from __future__ import annotations

import json
import shutil

import pytest

from autograder import check, load
from autograder.course import HOMEWORKS
from autograder.samples import answered_notebook, with_answers_replaced
from conftest import COURSE, fixture_files, grade


@pytest.mark.parametrize("fixture", [None, *fixture_files("wrong"), *fixture_files("right")],
                         ids=lambda p: "reference" if p is None else f"{p.parent.name}/{p.stem}")
def test_public_checks_never_fail_what_the_hidden_tests_pass(fixture, isolation, tmp_path):
    homeworks = [fixture.parent.name] if fixture else HOMEWORKS
    (tmp_path / "data").mkdir()  # where hw5's notebook looks for the digits: a folder above it
    shutil.copy(COURSE.data / "digits.npz", tmp_path / "data" / "digits.npz")
    for homework in homeworks:
        notebook = answered_notebook(COURSE, homework)
        if fixture:
            notebook = with_answers_replaced(notebook, fixture.read_text(encoding="utf-8"))
        path = tmp_path / "student" / homework / f"{homework}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(notebook, ensure_ascii=False), encoding="utf-8")
        submission = load.Submission("student", homework, path)
        hidden, public = grade(submission, isolation), check.check(COURSE, submission)
        passed = {t.name for t in hidden.tests if t.status == "passed"}
        refused = {r.part: r for r in public.results if r.status != "passed"}
        assert not passed & set(refused), [(part, refused[part]) for part in passed & set(refused)]
        if fixture is None:
            assert not refused and hidden.score == hidden.max_score
