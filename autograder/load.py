"""Step 1 of the pipeline: find submissions and turn each into the code units a child runs.

A notebook is parsed here, in the grader, never executed: its answer cells and the cells a
student added become units; test cells are never taken from a submission; given ``setup-*``
cells are taken from the trusted source notebook (as nbgrader's OverwriteCells would), and
``demo-*`` cells are skipped.  A plain ``.py`` module is one unit after the setup cells.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
from pathlib import Path
from typing import Iterable

from . import course

MAGIC_LINE = re.compile(r"^\s*[%!]")


class SubmissionError(Exception):
    """A submission that cannot be read at all; the message is bilingual and says why."""


@dataclasses.dataclass(frozen=True)
class GradedCell:
    grade_id: str
    points: float
    manual: bool


@dataclasses.dataclass(frozen=True)
class Submission:
    student: str
    homework: str
    path: Path

    def digest(self) -> str:
        """Identifies the content graded (used to skip unchanged submissions on a rerun)."""
        data = self.path.read_bytes() if self.path.is_file() else b""
        return hashlib.sha256(f"{self.student}\0{self.homework}\0".encode() + data).hexdigest()

    def program(self) -> list[tuple[str, object]]:
        """What grading walks through, in order: ``("code", unit)`` to run and ``("part", name)``
        where a test cell stands, so each part is judged with the code above it (as Run All
        and nbgrader do).  A module has no test cells: all its code comes first.
        SubmissionError if the file cannot be read."""
        setup = [("code", unit) for unit in setup_units(self.homework)]
        if self.path.suffix == ".py":
            return [*setup, ("code", {"label": self.path.name,
                                      "source": text_of(self.path.read_bytes())})]
        steps = []
        for index, cell, kind in code_cells(read_notebook(self.path)):
            if kind in ("answer", "free"):
                steps.append(("code", unit_of(index, cell)))
            elif kind == "test":
                steps.append(("part", str(nbgrader_metadata(cell).get("grade_id"))))
        return [*setup, *steps]



# -- discovery ----------------------------------------------------------------------------------
def find_submissions(paths: Iterable[Path]) -> list[Submission]:
    """Every (student, homework) under ``paths``: notebooks, ``.py`` modules, student folders
    (files directly or in ``<homework>/`` subfolders) and trees of student folders.  A notebook
    wins over a module of the same homework; the first path given wins over later ones."""
    found: dict[tuple[str, str], Submission] = {}
    for path in paths:
        for submission in _walk(Path(path)):
            found.setdefault((submission.student, submission.homework), submission)
    return sorted(found.values(), key=lambda s: (s.student, course.HOMEWORKS.index(s.homework)))


def _walk(path: Path) -> list[Submission]:
    if path.is_file():
        homework = course.homework_of(path)
        return [Submission(_student_of_file(path), homework, path)] if homework else []
    if not path.is_dir():
        return []
    own = _homework_files(path)
    if own:
        student = path.parent.name if course.is_homework_name(path.name) else path.name
        return [Submission(student, homework, file) for homework, file in own.items()]
    return [submission for child in sorted(path.iterdir())
            if child.is_dir() and not child.name.startswith(".")
            for submission in _walk(child)]


def _homework_files(folder: Path) -> dict[str, Path]:
    files = {}
    for homework in course.HOMEWORKS:
        for candidate in (folder / f"{homework}.ipynb", folder / homework / f"{homework}.ipynb",
                          folder / f"{homework}.py", folder / homework / f"{homework}.py"):
            if candidate.is_file():
                files[homework] = candidate
                break
    return files


def _student_of_file(path: Path) -> str:
    folder = path.resolve().parent
    return folder.parent.name if course.is_homework_name(folder.name) else folder.name


# -- notebooks ----------------------------------------------------------------------------------
def text_of(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SubmissionError(f"文件不是 UTF-8 文本 / the file is not UTF-8 text "
                              f"(byte {error.start})") from None


def read_notebook(path: Path) -> dict:
    """The notebook's JSON, checked just enough to be walked safely."""
    try:
        notebook = json.loads(text_of(path.read_bytes()))
    except json.JSONDecodeError as error:
        raise SubmissionError(f"不是有效的 JSON / not valid JSON: {error.msg} "
                              f"(line {error.lineno}, column {error.colno})") from None
    except RecursionError:
        raise SubmissionError("不是有效的笔记本 / not a notebook (nested too deeply)") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        version = notebook.get("nbformat") if isinstance(notebook, dict) else None
        if isinstance(version, int) and version < 4:
            raise SubmissionError(f"笔记本格式 nbformat {version} 太旧，请在 Jupyter 中打开并另存 / "
                                  f"nbformat {version} is too old: open and save it in Jupyter")
        raise SubmissionError("不是 Jupyter 笔记本（没有 cells 列表）/ not a Jupyter notebook "
                              "(no list of cells)")
    if notebook.get("nbformat") != 4:
        raise SubmissionError(f"不支持的笔记本格式 / unsupported nbformat {notebook.get('nbformat')!r} "
                              "(expected 4)")
    return notebook


def source_text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def nbgrader_metadata(cell: dict) -> dict:
    metadata = cell.get("metadata")
    nbgrader = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return nbgrader if isinstance(nbgrader, dict) else {}


def _kind(cell: dict) -> str:
    """answer | test | manual | setup | demo | given | free (a cell the student added)."""
    meta = nbgrader_metadata(cell)
    grade_id = str(meta.get("grade_id", ""))
    if meta.get("grade") and meta.get("solution"):
        return "manual"
    if meta.get("grade"):
        return "test"
    if meta.get("solution"):
        return "answer"
    if grade_id.startswith(course.SETUP_PREFIX):
        return "setup"
    if grade_id.startswith(course.DEMO_PREFIX):
        return "demo"
    return "given" if meta.get("locked") else "free"


def _strip_magics(source: str) -> str:
    """IPython-only lines (``%matplotlib``, ``!pip``) become blank: line numbers stay right."""
    return "\n".join("" if MAGIC_LINE.match(line) else line for line in source.splitlines())


def code_cells(notebook: dict):
    """(1-based index, cell, kind) of every code cell, in order."""
    for index, cell in enumerate(notebook["cells"], start=1):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            yield index, cell, _kind(cell)


def unit_of(index: int, cell: dict) -> dict:
    """A cell as a code unit, labelled by its grade id (or its position)."""
    grade_id = nbgrader_metadata(cell).get("grade_id")
    label = f"cell {grade_id}" if grade_id else f"cell {index}"
    return {"label": label, "source": _strip_magics(source_text(cell))}


def reference_units(notebook: dict) -> list[dict]:
    """What the reference namespace is built from: the setup and answer cells of the source."""
    return [unit_of(index, cell) for index, cell, kind in code_cells(notebook)
            if kind in ("setup", "answer")]


@functools.lru_cache(maxsize=None)
def source_notebook(homework: str) -> dict:
    return read_notebook(course.source_notebook(homework))


@functools.lru_cache(maxsize=None)
def public_notebook(homework: str) -> dict:
    return read_notebook(course.public_notebook(homework))


def setup_units(homework: str) -> list[dict]:
    """The given setup cells, always from the untouched release (never the submission's copy)."""
    return [unit_of(index, cell) for index, cell, kind in code_cells(public_notebook(homework))
            if kind == "setup"]


def graded_cells(homework: str) -> list[GradedCell]:
    """The graded cells of the source notebook, in order: test cells and written answers."""
    cells = []
    for cell in source_notebook(homework)["cells"]:
        meta = nbgrader_metadata(cell)
        if meta.get("grade"):
            cells.append(GradedCell(str(meta["grade_id"]), float(meta["points"]),
                                    manual=bool(meta.get("solution"))))
    return cells
