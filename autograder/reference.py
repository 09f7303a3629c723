"""The reference answers, built by running the source notebook's setup and answer cells.

The source notebook in ``<course>/solutions/`` is the only place a reference answer is written;
the grader runs its cells once per course, in its own process (trusted code), and the hidden
tests call the functions found there.  ``ref.course`` is the course they came from (the hidden
tests read the course's data through it).
"""
from __future__ import annotations

import functools
import types

from . import load
from .course import Course
from .run.executor import new_namespace


@functools.lru_cache(maxsize=None)
def reference(course: Course, homework: str) -> types.SimpleNamespace:
    namespace = new_namespace()
    for unit in load.reference_units(load.source_notebook(course, homework)):
        exec(compile(unit["source"], f"<reference {unit['label']}>", "exec"), namespace)
    answers = {name: value for name, value in namespace.items() if not name.startswith("__")}
    return types.SimpleNamespace(**answers, course=course)
