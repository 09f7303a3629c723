"""Shared helpers of the project's own tests."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from autograder import course, load
from autograder.run.sandbox import detect_isolation

FIXTURES = Path(__file__).parent / "fixtures"
LOSES = re.compile(r"^# loses: (.*)$", re.MULTILINE)


@pytest.fixture(scope="session")
def isolation():
    return detect_isolation()


def reference_module(homework: str) -> str:
    """The reference answers of ``homework`` as one module (the answer cells of its source)."""
    return "\n\n".join(unit["source"] for unit in load.student_units(load.source_notebook(homework)))


def patched_submission(folder: Path, homework: str, patch: str) -> load.Submission:
    """A ``.py`` submission: the reference answers with ``patch`` appended (later wins)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{homework}.py"
    path.write_text(reference_module(homework) + "\n\n" + patch, encoding="utf-8")
    return load.Submission(folder.name, homework, path)


def expected_losses(path: Path) -> set[str]:
    """The parts a fixture declares it loses (``# loses: a, b`` or ``# loses: nothing``)."""
    declared = LOSES.search(path.read_text(encoding="utf-8")).group(1).strip()
    return set() if declared == "nothing" else {name.strip() for name in declared.split(",")}


def fixture_files(kind: str) -> list[Path]:
    return sorted((FIXTURES / kind).glob("hw*/*.py"))


def lost_parts(result) -> set[str]:
    return {test.name for test in result.tests if test.status not in ("passed", "manual")}


def describe(result) -> str:
    return "\n".join(f"{t.name}: {t.status}\n{t.output}" for t in result.tests
                     if t.status not in ("passed", "manual"))


HOMEWORKS = course.HOMEWORKS
