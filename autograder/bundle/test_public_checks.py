"""The public checks of every homework, one pytest test per part (`python -m pytest`)."""
import functools

import pytest

from autograder import check, course


@functools.lru_cache(maxsize=None)
def report(homework):
    return {result.part: result for result in
            check.check(course.release_notebook(homework), homework).results}


@pytest.mark.parametrize("homework, part", [(homework, part) for homework in course.HOMEWORKS
                                            for part in check.public_parts(homework)])
def test_public_check(homework, part):
    result = report(homework)[part]
    if result.status != "passed":
        pytest.fail(f"{check.WORDS[result.status]}\n{result.detail}".rstrip(), pytrace=False)
