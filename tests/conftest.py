"""Shared helpers of the project's own tests."""
from __future__ import annotations

import keyword
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from autograder import load, score
from autograder.course import HOMEWORKS, Course
from autograder.run.sandbox import SANDBOX_UID_BASE, detect_isolation, grader_pid_of

ROOT = Path(__file__).resolve().parent.parent
COURSE = Course.at(ROOT)
FIXTURES = Path(__file__).parent / "fixtures"
SAMPLES = ROOT / "data" / "submissions"
LOSES = re.compile(r"^# loses: (.*)$", re.MULTILINE)
# What a TA's course folder holds (links in data/submissions kept as links).
COURSE_FILES = ("solutions", "assignments", "data", "nbgrader_config.py")
# The environment of a command a TA types: this venv's tools on PATH.
TA_ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def course_copy(folder: Path, names=COURSE_FILES) -> Path:
    """A copy of the course in ``folder`` (made if missing), as a TA would have it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, folder / name, symlinks=True)
        else:
            shutil.copy(source, folder / name)
    return folder


@pytest.fixture(scope="session")
def isolation():
    return detect_isolation()


def grade(submission: load.Submission, isolation=None, **options):
    """``submission`` graded as ``nnhw grade`` grades it, in this repository's course."""
    return score.grade_submission(COURSE, submission, isolation or detect_isolation(), **options)


def reference_module(homework: str) -> str:
    """The reference answers of ``homework`` as one module (the answer cells of its source)."""
    source = load.Submission("reference", homework, COURSE.source_notebook(homework))
    return "\n\n".join(unit["source"] for kind, unit in source.program(COURSE) if kind == "code")


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


REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS|MARK SCHEME)\n(.*?)### END \1", re.DOTALL)


def secret_lines(homework: str) -> set[str]:
    """Every line inside a solution, hidden-test or mark-scheme (rubric) region of the source
    notebook that says something (a bare ``break`` or ``)`` is syntax, not an answer)."""
    lines = set()
    for cell in load.source_notebook(COURSE, homework)["cells"]:
        for _, body in REGION.findall(load.source_text(cell)):
            lines |= {line.strip() for line in body.splitlines() if _says_something(line)}
    return lines


def _says_something(line: str) -> bool:
    words = re.findall(r"[^\W\d]\w*|\d", line)
    return any(word not in keyword.kwlist for word in words)


def fixture_files(kind: str) -> list[Path]:
    return sorted((FIXTURES / kind).glob("hw*/*.py"))


def lost_parts(result) -> set[str]:
    return {test.name for test in result.tests if test.status not in ("passed", "manual")}


def describe(result) -> str:
    return "\n".join(f"{t.name}: {t.status}\n{t.output}" for t in result.tests
                     if t.status not in ("passed", "manual"))



def sandbox_processes() -> list[str]:
    """Every live process that runs as a sandbox uid (root mode) although the grader it belongs
    to (its uid encodes the grader's pid) is gone, as 'pid uid'.  Zombies are dead already (a
    killed grader leaves them to PID 1, which may reap them late); graders still at work (other
    tests running in parallel) may have children."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            fields = dict(line.split(":", 1) for line in
                          Path(f"/proc/{entry}/status").read_text().splitlines() if ":" in line)
        except OSError:
            continue
        uid = int(fields["Uid"].split()[0])
        grader_alive = os.path.exists(f"/proc/{grader_pid_of(uid)}")
        if uid >= SANDBOX_UID_BASE and not grader_alive and not fields["State"].strip().startswith("Z"):
            found.append(f"{entry} {uid}")
    return found
