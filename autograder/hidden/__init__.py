"""The hidden tests: one module per homework, each part named after its nbgrader test cell.

A part is a function ``part(student, ref)`` that returns when the student's answer is right and
raises otherwise (``compare.Failed`` for a wrong answer).  Properties inside a part are
hypothesis tests that take ``student`` and ``ref`` as plain arguments and generate the rest.
Points are not here: they are read from the source notebook's test cells.
"""
from __future__ import annotations

import importlib

from hypothesis import HealthCheck, Phase, Verbosity, settings

# Same examples on every run and machine; no example database; no timing-dependent failures.
GRADING = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=40,
    report_multiple_bugs=False,
    print_blob=False,
    verbosity=Verbosity.quiet,
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
    suppress_health_check=list(HealthCheck),
)

_PARTS: dict[str, dict] = {}


def part(function):
    """Register ``function`` as the part of its module's homework with the same name."""
    homework = function.__module__.rsplit(".", 1)[-1]
    _PARTS.setdefault(homework, {})[function.__name__] = function
    return function


def prop(examples: int = 40):
    """Apply the grading settings, with ``examples`` generated inputs, to a hypothesis test."""
    return settings(GRADING, max_examples=examples)


def tests(homework: str) -> dict:
    """The part functions of ``homework``, by name."""
    importlib.import_module(f"{__name__}.{homework}")
    return _PARTS[homework]
