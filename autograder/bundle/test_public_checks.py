"""The public checks of every homework, one pytest test per part (`python -m pytest`)."""
import functools

import pytest

from autograder import check
from autograder.course import HOMEWORKS, Course
from autograder.discover import find_submissions

COURSE = Course.find(need_solutions=False)


@functools.lru_cache(maxsize=None)
def report(homework):
    submission, = find_submissions([COURSE.release_notebook(homework)])
    return {result.part: result for result in check.check(COURSE, submission).results}


@pytest.mark.parametrize("homework, part", [(homework, part) for homework in HOMEWORKS
                                            for part in check.public_parts(COURSE, homework)])
def test_public_check(homework, part):
    result = report(homework)[part]
    if result.status != "passed":
        pytest.fail(f"{check.WORDS[result.status]}\n{result.detail}".rstrip(), pytrace=False)
