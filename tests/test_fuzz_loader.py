"""Property-based fuzzing of discovery and loading (SPEC §6, malformed input): whatever a
submitted tree holds — any JSON value anywhere in a notebook, any bytes, any folder names, links
anywhere, FIFOs — discovery returns entries and loading returns a program or raises
``SubmissionError`` with a message, never anything else; and a batch of such trees ends with a
row for every entry, with one worker and with two."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder import batch, load
from autograder.course import HOMEWORKS
from autograder.discover import find_submissions
from autograder.run.sandbox import detect_isolation
from conftest import COURSE

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


@st.composite
def cells(draw):
    """A cell that is mostly right, with any field possibly replaced by any JSON value."""
    cell = {"cell_type": draw(st.sampled_from(["code", "markdown", "raw", "other"])),
            "metadata": {"nbgrader": {"grade_id": draw(st.sampled_from(
                ["answer-sigmoid", "sigmoid_values", "setup-imports", "x", "demo-a"])),
                "grade": draw(st.booleans()), "solution": draw(st.booleans()),
                "locked": draw(st.booleans()), "points": draw(st.sampled_from([0, 1, 2.5]))}},
            "source": draw(st.one_of(st.text(max_size=40), st.lists(st.text(max_size=10), max_size=3))),
            "outputs": []}
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from([("cell_type",), ("source",), ("metadata",),
                                     ("metadata", "nbgrader"), ("metadata", "nbgrader", "grade_id"),
                                     ("metadata", "nbgrader", "grade"), ("metadata", "nbgrader", "points")]))
        target = cell
        for key in path[:-1]:
            if not isinstance(target.get(key), dict):
                target[key] = {}
            target = target[key]
        target[path[-1]] = draw(json_values)
    return cell if draw(st.integers(0, 9)) else draw(json_values)


@st.composite
def notebook_bytes(draw) -> bytes:
    kind = draw(st.sampled_from(["notebook", "notebook", "value", "bytes", "text", "huge int", "deep"]))
    if kind == "notebook":
        notebook = {"cells": draw(st.lists(cells(), max_size=6)), "metadata": draw(json_values),
                    "nbformat": draw(st.sampled_from([4, 4, 4, 3, "4", None])), "nbformat_minor": 5}
        text = json.dumps(notebook)
        encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "gbk"]))
        return text.encode(encoding, "replace")
    if kind == "value":
        return json.dumps(draw(json_values)).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "huge int":
        return b'{"cells": [], "nbformat": ' + b"9" * draw(st.integers(4000, 6000)) + b"}"
    if kind == "deep":
        depth = draw(st.integers(50, 5000))
        return b"[" * depth + b"]" * depth
    return draw(st.text(max_size=200)).encode("utf-8", "surrogateescape")


module_bytes = st.one_of(st.binary(max_size=200), st.text(max_size=200).map(lambda t: t.encode()),
                         st.sampled_from([b"\xef\xbb\xbfx = 1\n", b"# -*- coding: gbk -*-\nx = '\xc4\xe3'\n",
                                          b"# coding: nonsense\n", b"\xef\xbb\xbf# coding: latin-1\n",
                                          "x = '你好'\n".encode("gbk")]))


def program_or_message(submission: load.Submission) -> None:
    try:
        steps = submission.program(COURSE)
    except load.SubmissionError as error:
        assert str(error).strip()
    else:
        assert all(kind in ("code", "part") for kind, _ in steps)
        assert all(isinstance(item["source"], str) for kind, item in steps if kind == "code")
        assert all(isinstance(item, str) for kind, item in steps if kind == "part")


@FUZZ
@given(data=notebook_bytes())
def test_any_notebook_bytes_load_or_say_why(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("nb") / "hw2_logistic.ipynb"
    path.write_bytes(data)
    program_or_message(load.Submission("x", "hw2_logistic", path))


@FUZZ
@given(data=module_bytes)
def test_any_module_bytes_load_or_say_why(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("py") / "hw3_perceptron.py"
    path.write_bytes(data)
    program_or_message(load.Submission("x", "hw3_perceptron", path))


names = st.one_of(st.sampled_from([*HOMEWORKS, *(f"{h}.ipynb" for h in HOMEWORKS),
                                   *(f"{h}.py" for h in HOMEWORKS), "a", ".hidden", "x y", "=1+1"]),
                  st.binary(min_size=1, max_size=12).filter(lambda b: b"/" not in b and b"\0" not in b
                                                           and b not in (b".", b".."))
                  .map(os.fsdecode))


@st.composite
def trees(draw, depth: int = 3):
    """A folder: entries that are files (notebooks, modules, anything), folders, links (to
    inside, outside, themselves, nowhere) and FIFOs."""
    entries = {}
    for name in draw(st.lists(names, max_size=5, unique=True)):
        kind = draw(st.sampled_from(["file", "file", "dir", "dir", "link", "fifo"] if depth else ["file", "link"]))
        if kind == "file":
            entries[name] = ("file", draw(notebook_bytes() if name.endswith(".ipynb") else module_bytes))
        elif kind == "dir":
            entries[name] = ("dir", draw(trees(depth - 1)))
        elif kind == "link":
            entries[name] = ("link", draw(st.sampled_from([".", "..", "/", "../..", "missing", name,
                                                           "/etc/passwd"])))
        else:
            entries[name] = ("fifo", None)
    return entries


def materialise(folder: Path, tree: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (kind, content) in tree.items():
        path = folder / name
        if kind == "file":
            path.write_bytes(content)
        elif kind == "dir":
            materialise(path, content)
        elif kind == "link":
            path.symlink_to(content)
        else:
            os.mkfifo(path)


@FUZZ
@given(tree=trees())
def test_any_tree_is_discovered_without_error(tmp_path_factory, tree):
    root = tmp_path_factory.mktemp("tree")
    materialise(root / "submitted", tree)
    found = find_submissions([root / "submitted"])
    assert len({(s.student, s.homework) for s in found}) == len(found)
    for submission in found:
        assert submission.homework in HOMEWORKS and isinstance(submission.student, str)
        program_or_message(submission)


homework_entries = st.sampled_from([*HOMEWORKS, *(f"{h}.ipynb" for h in HOMEWORKS),
                                    *(f"{h}.py" for h in HOMEWORKS)])


@st.composite
def classes(draw):
    """A submitted/ tree of a few students, each with a few homework entries of any kind."""
    students = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    tree = {}
    for student in students:
        folder = {}
        for entry in draw(st.lists(homework_entries, min_size=1, max_size=3, unique=True)):
            if entry in HOMEWORKS:
                inner = f"{entry}.ipynb" if draw(st.booleans()) else f"{entry}.py"
                content = draw(notebook_bytes() if inner.endswith(".ipynb") else module_bytes)
                folder[entry] = ("dir", {inner: ("file", content)})
            else:
                folder[entry] = draw(st.one_of(
                    st.tuples(st.just("file"), notebook_bytes() if entry.endswith(".ipynb") else module_bytes),
                    st.tuples(st.just("link"), st.sampled_from(["/", "..", "missing"])),
                    st.tuples(st.just("fifo"), st.none())))
        tree[student] = ("dir", folder) if draw(st.integers(0, 5)) else ("link", "/")
    return tree


@pytest.mark.parametrize("workers", [1, 2])
@settings(FUZZ, max_examples=4)
@given(tree=classes())
def test_a_batch_of_any_class_has_a_row_for_every_entry(tmp_path_factory, workers, tree):
    root = tmp_path_factory.mktemp("batch")
    materialise(root / "submitted", tree)
    expected = {(s.student, s.homework) for s in find_submissions([root / "submitted"])}
    outcome = batch.grade_batch(COURSE, [root / "submitted"], root / "out", workers=workers,
                                isolation=detect_isolation(), budget=30)
    assert {(r.student, r.homework) for r in outcome.results} == expected
    assert not outcome.interrupted
