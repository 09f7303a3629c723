"""Submissions made from the reference: what a student who got everything right hands in.

The answers of a source notebook (its solution regions, markers removed) pasted into the
release notebook.  The project's tests and benchmarks build whole classes from these.
"""
from __future__ import annotations

import ast
import json
import re

from . import load
from .course import Course

SOLUTION_MARKER = re.compile(r"[ \t]*### (BEGIN|END) SOLUTION[ \t]*(\n|$)")


def answered_notebook(course: Course, homework: str) -> dict:
    """The release notebook with every answer cell filled in as the reference does it."""
    answers = {}
    for cell in load.source_notebook(course, homework)["cells"]:
        meta = load.nbgrader_metadata(cell)
        if meta.get("grade_id") and meta.get("solution"):
            answers[meta["grade_id"]] = SOLUTION_MARKER.sub("", load.source_text(cell))
    notebook = json.loads(course.release_notebook(homework).read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        grade_id = load.nbgrader_metadata(cell).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
    return notebook


def with_extra_cell(notebook: dict, source: str) -> dict:
    """The notebook with a code cell of the student's own added at the end (it runs last, so
    what it defines replaces the answers above it)."""
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
            "source": source}
    return {**notebook, "cells": [*notebook["cells"], cell]}


def with_answers_replaced(notebook: dict, source: str) -> dict:
    """The notebook with each top-level definition in ``source`` written into the answer cell
    that defines the same name, after the right one: a student whose answer there is wrong.
    Statements that define no answer (imports, helpers) go with the next one that does."""
    cells = [dict(cell) for cell in notebook["cells"]]
    homes = {}
    for cell in cells:
        if load.nbgrader_metadata(cell).get("solution") and cell["cell_type"] == "code":
            for name in _defined_names(load.source_text(cell)):
                homes.setdefault(name, cell)
    pending, home = [], None
    for node in ast.parse(source).body:
        pending.append(ast.get_source_segment(source, node))
        home = next((homes[name] for name in _names_of(node) if name in homes), None)
        if home is not None:
            home["source"] = load.source_text(home) + "\n\n" + "\n\n".join(pending) + "\n"
            pending = []
    if pending:
        return with_extra_cell({**notebook, "cells": cells}, "\n\n".join(pending))
    return {**notebook, "cells": cells}


def _names_of(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [target.id for target in node.targets if isinstance(target, ast.Name)]
    return []


def _defined_names(source: str) -> list[str]:
    try:
        return [name for node in ast.parse(source).body for name in _names_of(node)]
    except SyntaxError:
        return []
