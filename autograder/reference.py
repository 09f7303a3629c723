"""The reference answers, built by running the source notebook's setup and answer cells.

The source notebook in ``solutions/`` is the only place a reference answer is written; the
grader runs its cells once, in its own process (trusted code), and the hidden tests call the
functions found there.
"""
from __future__ import annotations

import functools
import types

from . import load
from .run.executor import new_namespace


@functools.lru_cache(maxsize=None)
def reference(homework: str) -> types.SimpleNamespace:
    namespace = new_namespace()
    for unit in load.reference_units(load.source_notebook(homework)):
        exec(compile(unit["source"], f"<reference {unit['label']}>", "exec"), namespace)
    return types.SimpleNamespace(**{name: value for name, value in namespace.items()
                                    if not name.startswith("__")})
