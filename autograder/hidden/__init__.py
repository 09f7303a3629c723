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


def _draw_no_local_constants() -> None:
    """Hypothesis 6.131+ also draws literals it finds in whichever *local* modules happen to be
    imported, parsed under a time limit, and caches them in ``.hypothesis/constants``.  Which
    modules those are differs between ``nnhw grade``, a notebook kernel and a test run, so the
    generated inputs would too.  There is no public switch (hypothesis issue #4627), so the
    provider's constant draw is replaced by one that uses only hypothesis's own constants."""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:
        return
    needed = ("GLOBAL_CONSTANTS", "choice_permitted", "choice_constraints_key")
    if not all(hasattr(providers, name) for name in needed) or not hasattr(
            getattr(providers, "HypothesisProvider", None), "_maybe_draw_constant"):
        return
    pools: dict = {}

    def maybe_draw_constant(self, choice_type, constraints, *, p: float = 0.05):
        if self._random.random() > p:
            return None
        key = (choice_type, providers.choice_constraints_key(choice_type, constraints))
        if key not in pools:
            pools[key] = sorted((c for c in providers.GLOBAL_CONSTANTS.set_for_type(choice_type)
                                 if providers.choice_permitted(c, constraints)), key=repr)
        return self._random.choice(pools[key]) if pools[key] else None

    providers.HypothesisProvider._maybe_draw_constant = maybe_draw_constant


_draw_no_local_constants()


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
