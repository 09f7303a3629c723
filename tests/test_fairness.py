"""What hidden tests hand to student code (SPEC §6): never a reference answer or anything derived
from one, and the same whatever order the test cells stand in.

Every part of every homework is run against the reference answers as the "student" (in this
process), with every call to student code recorded, and every value a reference answer function
returned.  A student call made while a reference answer is running (the reference driving the
student's code, so that what it is given comes from the reference's computation) or an argument
equal to an earlier output of a reference answer (other than an input handed back) would let a
student's code copy an answer: the audit fails on either."""
from __future__ import annotations

import types

import numpy as np
import pytest

from autograder import load, score
from autograder.course import HOMEWORKS
from autograder.reference import reference
from autograder.run import wire
from autograder.run.executor import new_namespace
from autograder.run.student import InProcessBackend, Student
from conftest import COURSE


def answer_names(homework: str) -> set[str]:
    """Names the answer cells of the source notebook define (what a student is graded on)."""
    names = set()
    for index, cell, kind in load.code_cells(load.source_notebook(COURSE, homework)):
        if kind == "answer":
            before = set(namespace := new_namespace())
            for unit in load.reference_units(load.source_notebook(COURSE, homework)):
                exec(compile(unit["source"], unit["label"], "exec"), namespace)
                if unit["label"] == load.unit_of(index, cell)["label"]:
                    break
            names |= set(namespace) - before
    return {name for name in names if not name.startswith("_")}


def nodes(value) -> list[np.ndarray]:
    """The array-like pieces of a value worth comparing (two or more numbers)."""
    found = []
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        for item in value:
            found += nodes(item)
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return found
    return found + ([array] if array.size >= 2 else [])


class Recorder:
    """The audit's view of one homework: student calls and reference outputs, in order."""

    def __init__(self, homework: str):
        self.events, self.inside_reference = [], 0
        trusted = reference(COURSE, homework)
        names = answer_names(homework)
        self.ref = types.SimpleNamespace(**{
            name: self._watched(name, value) if name in names and callable(value) else value
            for name, value in vars(trusted).items()})
        namespace = new_namespace()
        for unit in load.reference_units(load.source_notebook(COURSE, homework)):
            exec(compile(unit["source"], unit["label"], "exec"), namespace)
        backend = InProcessBackend(namespace)
        handle = backend.request

        def request(message, timeout):
            if message.get("op") == "call":
                args = wire.decode(message["args"], lambda marker, payload: None)
                self.events.append(("call", message["function"], args, self.inside_reference))
            return handle(message, timeout)

        backend.request = request
        self.student = Student(backend)

    def _watched(self, name, function):
        def watched(*args, **kwargs):
            self.inside_reference += 1
            try:
                result = function(*args, **kwargs)
            finally:
                self.inside_reference -= 1
            self.events.append(("output", name, result, nodes([args, kwargs])))
            return result
        return watched


@pytest.mark.parametrize("homework", HOMEWORKS)
def test_no_argument_is_or_comes_from_a_reference_answer(homework):
    recorder = Recorder(homework)
    for part in score.parts(COURSE, homework):
        if part.manual:
            continue
        outputs = []
        recorder.events.clear()
        part.test(recorder.student, recorder.ref)
        for kind, name, value, extra in recorder.events:
            if kind == "output":
                handed_back = extra
                outputs += [node for node in nodes(value)
                            if not any(node.shape == given.shape and np.array_equal(node, given)
                                       for given in handed_back)]
                continue
            assert not extra, f"{part.name}: the reference drives the student's {name}"
            for given in nodes(value):
                copied = [node for node in outputs if node.shape == given.shape
                          and np.array_equal(node, given, equal_nan=True)]
                assert not copied, f"{part.name}: {name} is given an output of a reference answer"


def calls_per_part(homework: str, order) -> dict[str, list]:
    recorder, given = Recorder(homework), {}
    for part in order(score.parts(COURSE, homework)):
        if not part.manual:
            recorder.events.clear()
            part.test(recorder.student, recorder.ref)
            given[part.name] = [(name, repr(args)) for kind, name, args, _ in recorder.events
                                if kind == "call"]
    return given


@pytest.mark.parametrize("homework", HOMEWORKS)
def test_what_a_part_is_given_does_not_depend_on_the_order_of_the_test_cells(homework):
    in_order = calls_per_part(homework, list)
    assert in_order == calls_per_part(homework, lambda parts: list(reversed(parts)))
    assert in_order == calls_per_part(homework, lambda parts: [p for p in parts for _ in (0, 1)])
