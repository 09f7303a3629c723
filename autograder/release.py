"""``nnhw release DIR``: the student bundle.

The five release notebooks, the digits data, the public checks and what ``nnhw check`` needs
to run them, a README and a minimal ``pyproject.toml``.  Only the modules listed here are
copied: no reference answer, no hidden test, no mark scheme and no grader can be in it.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from .course import HOMEWORKS, Course

PACKAGE = Path(__file__).resolve().parent
# The modules a self-check runs: loading, the child process, the public checks and the CLI.
# Only portable modules: no fork server, namespaces or other Linux-only machinery of the grader.
STUDENT_MODULES = ("__init__.py", "course.py", "discover.py", "load.py", "text.py", "check.py", "cli.py",
                   "run/__init__.py", "run/callables.py", "run/executor.py", "run/explain.py",
                   "run/numerics.py", "run/portable.py", "run/protocol.py", "run/wire.py")
DATA_FILES = ("digits.npz", "README.md")


class ReleaseError(Exception):
    pass


def release(course: Course, target: Path) -> list[Path]:
    """Write the bundle of ``course`` into ``target`` (new or empty); returns the files written."""
    if target.exists() and any(target.iterdir()):
        raise ReleaseError(f"{target} 不是空文件夹 / is not empty")
    copies = {course.release_notebook(h): [target / "assignments" / h / f"{h}.ipynb",
                                                      target / "autograder" / "public" / f"{h}.ipynb"]
              for h in HOMEWORKS}
    copies |= {PACKAGE / module: [target / "autograder" / module] for module in STUDENT_MODULES}
    copies |= {course.data / name: [target / "data" / name] for name in DATA_FILES}
    copies |= {PACKAGE / "bundle" / "README.md": [target / "README.md"],
               PACKAGE / "bundle" / "pyproject.toml": [target / "pyproject.toml"],
               PACKAGE / "bundle" / "test_public_checks.py": [target / "tests" / "test_public_checks.py"],
               PACKAGE / "bundle" / "conftest.py": [target / "tests" / "conftest.py"]}
    written = []
    for source, destinations in copies.items():
        for destination in destinations:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)
            written.append(destination)
    return sorted(written)
