"""The visible half of a test cell never fails a part its hidden half passes.

nbgrader scores a test cell zero as soon as its visible checks fail, so if a visible check
leaned on another part (or demanded more than the hidden test does), nbgrader and ``nnhw grade``
would disagree on an honest but partly wrong student.  Each wrong and right fixture is written
into a notebook where a student would write it, its public checks are run (``nnhw check``), and
its hidden tests (``nnhw grade``); a part the hidden tests pass must pass its public checks."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


REPRESENTING = '''
import numpy as _np

_STYLE = {style!r}
_DEPTH = [0]


def _represent(value):
    """The same answer in another representation the contract allows."""
    if isinstance(value, (list, tuple)) or (isinstance(value, _np.ndarray) and value.ndim > 0):
        items = [_represent(item) for item in value]
        numeric = all(isinstance(i, (int, float, _np.number)) and not isinstance(i, bool) for i in items)
        if _STYLE["sequence"] == "array" and numeric and items:
            return _np.array(items)
        return tuple(items) if _STYLE["sequence"] == "tuple" else items
    if isinstance(value, (float, _np.floating, _np.ndarray)) and not isinstance(value, bool):
        number = float(value)
        if _STYLE["number"] == "int" and number.is_integer():
            return int(number)
        return _np.float64(number) if _STYLE["number"] == "numpy" else number
    if isinstance(value, (int, _np.integer)) and not isinstance(value, (bool, _np.bool_)):
        return _np.int64(value) if _STYLE["number"] == "numpy" else int(value)
    return value


def _outside(function):
    """``function``, whose result is re-represented only for callers outside the answers."""
    def wrapped(*args, **kwargs):
        _DEPTH[0] += 1
        try:
            result = function(*args, **kwargs)
        finally:
            _DEPTH[0] -= 1
        return _represent(result) if _DEPTH[0] == 0 else result
    return wrapped
'''

representations = st.fixed_dictionaries({"sequence": st.sampled_from(["tuple", "list", "array"]),
                                         "number": st.sampled_from(["float", "numpy", "int"])})


def representing(homework: str, style: dict) -> str:
    """Source that re-represents every answer of ``homework`` (functions and constants)."""
    lines = [REPRESENTING.format(style=style)]
    namespace = {}
    for unit in load.reference_units(load.source_notebook(COURSE, homework)):
        before = set(namespace)
        exec(compile(unit["source"], unit["label"], "exec"), namespace)
        if not unit["label"].startswith("cell setup-"):
            for name in sorted(set(namespace) - before):
                if name.startswith("_") or isinstance(namespace[name], type(np)):
                    continue
                wrap = "_outside" if callable(namespace[name]) else "_represent"
                lines.append(f"{name} = {wrap}({name})")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("homework", HOMEWORKS)
@settings(max_examples=5, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(style=representations)
def test_right_answers_in_any_representation_pass_public_and_hidden(homework, isolation, tmp_path_factory, style):
    """Tuples, lists or arrays; floats, numpy scalars or ints for integral floats: the contract
    allows them all, so neither the public checks nor the hidden tests may refuse them."""
    folder = tmp_path_factory.mktemp("representation")
    notebook = with_answers_replaced(answered_notebook(COURSE, homework), representing(homework, style))
    path = folder / "student" / homework / f"{homework}.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(notebook, ensure_ascii=False), encoding="utf-8")
    submission = load.Submission("student", homework, path)
    hidden, public = grade(submission, isolation), check.check(COURSE, submission)
    assert hidden.score == hidden.max_score, [(t.name, t.output) for t in hidden.tests if t.status == "failed"
                                              or t.status == "error"]
    assert public.all_passed, [(r.part, r.detail) for r in public.results if r.status != "passed"]
