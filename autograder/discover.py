"""Step 0 of the pipeline: find the submissions under the paths a TA names.

Only two shapes hold a submission (SPEC §6): nbgrader's ``<tree>/<student>/<hw>/<hw>.ipynb`` and
a student folder ``<student>/<hw>.ipynb`` (or ``.py``, in either place).  The student id is the
first path component under the folder named: the folder itself for one student, the notebook's
parent (or grandparent, in nbgrader's layout) for a single file.  Nothing deeper is looked at, so
a file planted further down is never credited to whoever an inner folder is named after.

A path named on the command line is the TA's choice and is followed; a symbolic link found while
walking is never followed (it would let ``submitted/eve`` point at ``solutions/``).  Whatever is
odd about an entry — a link, two notebooks for one homework, a folder that cannot be read, a
FIFO — becomes a ``Submission`` with a ``problem``: an error row for that entry, never an
exception out of the batch.  Entries are seen with ``lstat`` only, so walking costs a few system
calls per student however deep or strange the tree is.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterable

from .course import HOMEWORKS, homework_of, is_homework_name
from .load import Submission
from .text import one_line


class DiscoveryError(Exception):
    """A path the TA named cannot be read at all (the message says which and why)."""


def find_submissions(paths: Iterable[os.PathLike | str]) -> list[Submission]:
    """Every (student, homework) under ``paths``, one entry each, sorted by student and homework."""
    found: dict[tuple[str, str], list[Submission]] = {}
    for path in paths:
        for submission in _named(Path(os.path.abspath(path))):
            found.setdefault((submission.student, submission.homework), []).append(submission)
    chosen = [_one_of(candidates) for candidates in found.values()]
    return sorted(chosen, key=lambda s: (s.student, HOMEWORKS.index(s.homework)))


def _named(path: Path) -> list[Submission]:
    """What a path named on the command line holds (followed, even if it is a link)."""
    if path.is_file() or (path.exists() and not path.is_dir()):
        homework = homework_of(path.name)
        if homework is None:
            return []
        parent = path.parent
        student = parent.parent.name if is_homework_name(parent.name) else parent.name
        return [Submission(student, homework, path, follow=True)]
    if not path.is_dir():
        return []
    if is_homework_name(path.name):  # <student>/<hw>/ named directly
        return list(_homework_files(path, path.parent.name, (path.name,)))
    try:
        names = sorted(name for name in os.listdir(path) if not name.startswith("."))
    except OSError as error:
        raise DiscoveryError(f"无法读取 / cannot read {path}: {error.strerror}") from None
    # A tree as soon as one ordinary subfolder holds homework: then a folder that a student named
    # like a homework (``submitted/hw1_likelihood.ipynb/``) is just that student's entry.
    students = [name for name in names if not is_homework_name(name) and _kind(path / name) == "dir"
                and _holds_homework(path / name)]
    if not students and _holds_homework(path):
        return list(_student_folder(path, path.name))
    return [submission for name in names for submission in _tree_entry(path / name)]


def _holds_homework(folder: Path) -> bool:
    """Whether ``folder`` has an entry where a submission would be (seen by ``lstat`` only)."""
    return any(_kind(folder / name) != "missing" for homework in HOMEWORKS
               for name in (f"{homework}.ipynb", f"{homework}.py", homework))


def _tree_entry(entry: Path) -> list[Submission]:
    """A first-level entry of a tree: a student folder, or something that costs only itself."""
    kind = _kind(entry)
    if kind == "link":
        return _every_homework(entry, "学生文件夹是符号链接，未跟随 / the student folder is a "
                                      "symbolic link: not followed")
    if kind != "dir":
        return []  # a stray file beside the student folders
    try:
        return list(_student_folder(entry, entry.name))
    except OSError as error:
        return _every_homework(entry, f"无法读取学生文件夹 / cannot read the student folder: "
                                      f"{error.strerror}")


def _student_folder(folder: Path, student: str):
    """The homework files of one student folder: ``<hw>.ipynb|.py`` and ``<hw>/<hw>.ipynb|.py``."""
    for homework in HOMEWORKS:
        yield from _homework_files(folder, student, (homework,))
        inner = folder / homework
        kind = _kind(inner)
        if kind == "link":
            yield Submission(student, homework, inner, problem=_LINK.format(name=homework + "/"))
        elif kind == "dir":
            yield from _homework_files(inner, student, (homework,))


def _homework_files(folder: Path, student: str, homeworks: tuple[str, ...]):
    for homework in homeworks:
        for suffix in (".ipynb", ".py"):
            path = folder / f"{homework}{suffix}"
            kind = _kind(path)
            if kind == "file":
                yield Submission(student, homework, path)
            elif kind == "link":
                yield Submission(student, homework, path, problem=_LINK.format(name=path.name))
            elif kind == "unreadable":
                yield Submission(student, homework, path,
                                 problem=f"{one_line(path.name)} 无法读取 / cannot be read (permissions)")
            elif kind in ("other", "dir"):
                yield Submission(student, homework, path,
                                 problem=f"{one_line(path.name)} 不是普通文件 / is not a regular file")


_LINK = "{name} 是符号链接，未跟随 / {name} is a symbolic link: not followed"


def _kind(path: Path) -> str:
    """missing | file | dir | link | other (FIFO, socket, device) | unreadable, by ``lstat``."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return "missing"
    except OSError:
        return "unreadable"
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISREG(mode):
        return "file"
    return "dir" if stat.S_ISDIR(mode) else "other"


def _every_homework(entry: Path, problem: str) -> list[Submission]:
    return [Submission(entry.name, homework, entry, problem=problem) for homework in HOMEWORKS]


def _one_of(candidates: list[Submission]) -> Submission:
    """The one submission of a (student, homework) found in several places: a notebook beside a
    module of the same homework (a jupytext pair) is graded with a note; two notebooks, or two
    modules, are an error naming both (never "first found wins")."""
    distinct = list({_identity(c): c for c in candidates}.values())
    if len(distinct) == 1:
        return distinct[0]
    first = distinct[0]
    problems = [c for c in distinct if c.problem]
    notebooks = [c for c in distinct if not c.problem and c.path.suffix == ".ipynb"]
    modules = [c for c in distinct if not c.problem and c.path.suffix == ".py"]
    if not problems and len(notebooks) == 1:
        skipped = ", ".join(one_line(str(m.path)) for m in modules)
        return Submission(first.student, first.homework, notebooks[0].path, follow=notebooks[0].follow,
                          note=f"同一作业还有 / also found {skipped}: 批改的是笔记本 / the notebook is graded")
    if problems and not notebooks and not modules:
        return problems[0]
    named = "; ".join(one_line(str(c.path)) for c in distinct)
    return Submission(first.student, first.homework, first.path,
                      problem=f"同一学生的同一作业有多份提交，无法判断批改哪一份 / more than one "
                              f"submission of this homework for this student: {named}")


def _identity(submission: Submission) -> tuple:
    """Two finds of the same file (named twice, or through a link the TA named) are one."""
    try:
        return (os.path.realpath(submission.path), submission.problem)
    except (OSError, ValueError):
        return (str(submission.path), submission.problem)
