"""The course's fixed facts: homework ids, where each notebook lives, how cells are named.

Everything else (reference answers, point values, rubrics) lives in the source notebooks under
``solutions/`` and is read from there, so each fact has exactly one home.
"""
from __future__ import annotations

from pathlib import Path

HOMEWORKS = ("hw1_likelihood", "hw2_logistic", "hw3_perceptron", "hw4_xor", "hw5_mlp")

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
ASSIGNMENTS = ROOT / "assignments"
DATA = ROOT / "data"
# In a student bundle assignments/ holds the student's own work, so ``nnhw release`` puts
# untouched copies of the release notebooks here; in the course repository there are none and
# assignments/ itself is the untouched release.
PUBLIC = Path(__file__).resolve().parent / "public"

# Given (read-only) code cells are named by their nbgrader grade_id.  ``setup-*`` cells define
# what the answers build on (imports, the lecture's example data) and are run before the
# student's answers; ``demo-*`` cells (plots, demonstrations) are for reading, not grading.
SETUP_PREFIX = "setup-"
DEMO_PREFIX = "demo-"


def source_notebook(homework: str) -> Path:
    """The instructor's notebook with the reference answers and hidden-test calls."""
    return SOLUTIONS / homework / f"{homework}.ipynb"


def release_notebook(homework: str, root: Path = ROOT) -> Path:
    """The student's notebook, generated from the source by ``nbgrader generate_assignment``."""
    return root / "assignments" / homework / f"{homework}.ipynb"


def public_notebook(homework: str) -> Path:
    """The untouched student notebook: the trusted source of given cells and public checks."""
    bundled = PUBLIC / f"{homework}.ipynb"
    return bundled if bundled.exists() else release_notebook(homework)


def homework_of(path: Path) -> str | None:
    """The homework a submitted file belongs to, known from its file name (``hw4_xor.ipynb``)."""
    if path.suffix not in (".ipynb", ".py"):
        return None
    return path.stem if path.stem in HOMEWORKS else None


def is_homework_name(name: str) -> bool:
    return name in HOMEWORKS
