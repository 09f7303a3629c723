"""The hidden tests have teeth: the reference gets full marks, blank stubs get zero without a
crash, each realistic wrong answer loses exactly the parts it breaks, and correct answers
written differently keep full marks.  All through real, confined child processes."""
from __future__ import annotations

import pytest

from autograder import load, score
from conftest import (COURSE, HOMEWORKS, describe, expected_losses, fixture_files, grade,
                      lost_parts, patched_submission)


@pytest.mark.parametrize("homework", HOMEWORKS)
def test_reference_gets_every_autograded_point(homework, isolation):
    result = grade(load.Submission("reference", homework, COURSE.source_notebook(homework)), isolation)
    assert result.score == result.max_score > 0, describe(result)
    assert result.facts == ()
    assert {t.status for t in result.tests} == {"passed", "manual"}


@pytest.mark.parametrize("homework", HOMEWORKS)
def test_blank_stubs_get_zero_and_say_not_done(homework, isolation):
    result = grade(load.Submission("stubs", homework, COURSE.release_notebook(homework)), isolation)
    auto = [t for t in result.tests if t.status != "manual"]
    assert result.score == 0 and auto
    for test in auto:
        assert test.status == "error" and "not done yet" in test.output, (test.name, test.output)


@pytest.mark.parametrize("fixture", fixture_files("wrong") + fixture_files("right"),
                         ids=lambda path: f"{path.parent.parent.name}/{path.parent.name}/{path.stem}")
def test_fixture_loses_exactly_its_parts(fixture, isolation, tmp_path):
    homework = fixture.parent.name
    submission = patched_submission(tmp_path / fixture.stem, homework, fixture.read_text("utf-8"))
    result = grade(submission, isolation)
    expected = expected_losses(fixture)
    assert lost_parts(result) == expected, describe(result)
    assert result.facts == (), result.facts  # an honest mistake tries nothing grading forbids
    names = {part.name for part in score.parts(COURSE, homework)}
    assert expected <= names, f"fixture names unknown parts: {expected - names}"


@pytest.mark.parametrize("homework", HOMEWORKS)
def test_every_homework_has_four_wrong_answers_and_a_right_one(homework):
    assert len([f for f in fixture_files("wrong") if f.parent.name == homework]) >= 4
    assert [f for f in fixture_files("right") if f.parent.name == homework]
