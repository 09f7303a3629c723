"""The course: its fixed facts (homework ids, how cells are named) and ``Course``, the one object
that says which course folder a command works on.

Everything else (reference answers, point values, rubrics) lives in the source notebooks under
``<course>/solutions/`` and is read from there, so each fact has exactly one home.  Nothing in the
grader reads a global root: every step is handed a ``Course`` (as nbgrader hands its apps a
``CourseDirectory``), so a preprocessor running in another course folder, a non-editable install
and tests in a temporary folder all grade the course they were given.
"""
from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path

HOMEWORKS = ("hw1_likelihood", "hw2_logistic", "hw3_perceptron", "hw4_xor", "hw5_mlp")

PACKAGE = Path(__file__).resolve().parent
# In a student bundle assignments/ holds the student's own work, so ``nnhw release`` puts
# untouched copies of the release notebooks here, inside the package; in the course repository
# there are none and assignments/ itself is the untouched release.
PUBLIC = PACKAGE / "public"

# Given (read-only) code cells are named by their nbgrader grade_id.  ``setup-*`` cells define
# what the answers build on (imports, the lecture's example data) and are run before the
# student's answers; ``demo-*`` cells (plots, demonstrations) are for reading, not grading.
SETUP_PREFIX = "setup-"
DEMO_PREFIX = "demo-"


class CourseNotFound(Exception):
    """No course folder where one was looked for; the message says where to run instead."""


@dataclasses.dataclass(frozen=True)
class Course:
    """A course folder: ``solutions/`` (source notebooks, only where grading happens),
    ``assignments/`` (the release) and ``data/``."""
    root: Path

    @classmethod
    def at(cls, root: os.PathLike | str) -> "Course":
        return cls(Path(root).resolve())

    @classmethod
    def find(cls, start: os.PathLike | str | None = None, *, need_solutions: bool = True) -> "Course":
        """The course a command run in ``start`` (default: the working folder) works on: the
        nearest folder at or above it that is a course (``solutions/`` and ``assignments/``;
        for a student, ``assignments/`` is enough), else the repository this package was
        installed from (an editable install)."""
        here = Path(start or os.getcwd()).resolve()
        for folder in (here, *here.parents, PACKAGE.parent):
            candidate = cls(folder)
            if candidate.is_course(need_solutions):
                return candidate
        what = "solutions/ and assignments/" if need_solutions else "assignments/"
        raise CourseNotFound(f"找不到课程文件夹 / no course folder (one with {what}) at or above "
                             f"{here}: run the command inside the course, or pass --course DIR")

    def is_course(self, need_solutions: bool = True) -> bool:
        return self.assignments.is_dir() and (self.solutions.is_dir() or not need_solutions)

    @property
    def solutions(self) -> Path:
        return self.root / "solutions"

    @property
    def assignments(self) -> Path:
        return self.root / "assignments"

    @property
    def data(self) -> Path:
        return self.root / "data"

    def source_notebook(self, homework: str) -> Path:
        """The instructor's notebook with the reference answers and hidden-test calls."""
        return self.solutions / homework / f"{homework}.ipynb"

    def release_notebook(self, homework: str) -> Path:
        """The student's notebook, generated from the source by ``nbgrader generate_assignment``."""
        return self.assignments / homework / f"{homework}.ipynb"

    def public_notebook(self, homework: str) -> Path:
        """The untouched student notebook: the trusted source of given cells and public checks."""
        bundled = PUBLIC / f"{homework}.ipynb"
        return bundled if bundled.exists() else self.release_notebook(homework)


@functools.lru_cache(maxsize=1)
def default() -> Course:
    """The course of the working folder (see ``Course.find``), for code with no course in hand."""
    return Course.find()


def homework_of(name: str) -> str | None:
    """The homework a submitted file belongs to, known from its file name (``hw4_xor.ipynb``)."""
    stem, dot, suffix = name.rpartition(".")
    return stem if dot and suffix in ("ipynb", "py") and stem in HOMEWORKS else None


def is_homework_name(name: str) -> bool:
    return name in HOMEWORKS
