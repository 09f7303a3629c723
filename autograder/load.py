"""Step 1 of the pipeline: read a submission into the code units a child runs.

A notebook is parsed here, in the grader, never executed: its answer cells and the cells a
student added become units; test cells are never taken from a submission; given ``setup-*``
cells are taken from the trusted release of the course (as nbgrader's OverwriteCells would), and
``demo-*`` cells are skipped.  A plain ``.py`` module is one unit after the setup cells.

Whatever a file holds — 300 MB, any JSON value anywhere, a 5000-digit integer, GBK text — it
either becomes a program or raises ``SubmissionError`` with a bilingual message: files are read
with a size cap (and never through a link the walk found, never blocking on a FIFO), notebooks
are parsed with the same bounded decoder as the grader's replies (``wire.parse_json``), and
modules are decoded as Python decodes them (a BOM, a PEP 263 cookie).
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import os
import re
import stat
import tokenize
from pathlib import Path

from .course import DEMO_PREFIX, SETUP_PREFIX, Course
from .run import wire

MAGIC_LINE = re.compile(r"^\s*[%!]")
MAX_SUBMISSION_BYTES = 32 * 2**20
NOTEBOOK_LIMITS = wire.Limits(frame_bytes=MAX_SUBMISSION_BYTES, values=500_000, depth=64)


class SubmissionError(Exception):
    """A submission that cannot be read at all; the message is bilingual and says why."""


@dataclasses.dataclass(frozen=True)
class GradedCell:
    grade_id: str
    points: float
    manual: bool


@dataclasses.dataclass(frozen=True)
class Submission:
    """One (student, homework) and the file that holds it.  ``problem``: why it cannot be graded
    at all (a link, two notebooks …), found before reading it; ``note``: said beside its
    results; ``follow``: the TA named this path, so a link there is followed."""
    student: str
    homework: str
    path: Path
    problem: str | None = None
    note: str | None = None
    follow: bool = False

    def read_bytes(self) -> bytes:
        return read_capped(self.path, follow=self.follow)

    def digest(self) -> str:
        """Identifies what is graded (a rerun skips unchanged submissions)."""
        digest = hashlib.sha256(f"{self.student}\0{self.homework}\0{self.problem}\0{self.note}\0"
                                .encode("utf-8", "surrogateescape"))
        if self.problem is None:
            try:
                digest.update(self.read_bytes())
            except SubmissionError as error:
                digest.update(str(error).encode())
        return digest.hexdigest()

    def program(self, course: Course) -> list[tuple[str, object]]:
        """What grading walks through, in order: ``("code", unit)`` to run and ``("part", name)``
        where a test cell stands, so each part is judged with the code above it (as Run All
        and nbgrader do).  A module has no test cells: all its code comes first.
        SubmissionError if the file cannot be read."""
        if self.problem is not None:
            raise SubmissionError(self.problem)
        setup = [("code", unit) for unit in setup_units(course, self.homework)]
        if self.path.suffix == ".py":
            return [*setup, ("code", {"label": self.path.name,
                                      "source": module_text(self.read_bytes())})]
        steps = []
        for index, cell, kind in code_cells(notebook_from_bytes(self.read_bytes())):
            if kind in ("answer", "free"):
                steps.append(("code", unit_of(index, cell)))
            elif kind == "test":
                steps.append(("part", nbgrader_metadata(cell)["grade_id"]))
        return [*setup, *steps]


def read_capped(path: Path, follow: bool) -> bytes:
    """The bytes of a regular file of at most MAX_SUBMISSION_BYTES; SubmissionError otherwise.
    Opened without following a link (unless ``follow``) and without blocking on a FIFO."""
    flags = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
             | (0 if follow else getattr(os, "O_NOFOLLOW", 0)))
    try:
        fd = os.open(path, flags)
    except OSError as error:
        raise SubmissionError(f"无法打开文件 / cannot open the file: {error.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SubmissionError("不是普通文件 / not a regular file")
        data = handle.read(MAX_SUBMISSION_BYTES + 1)
    if len(data) > MAX_SUBMISSION_BYTES:
        raise SubmissionError(f"文件超过 {MAX_SUBMISSION_BYTES // 2**20} MB 的上限 / the file is "
                              f"larger than the {MAX_SUBMISSION_BYTES // 2**20} MB limit "
                              "(clear the outputs and save again)")
    return data


# -- text -----------------------------------------------------------------------------------------
RESAVE = ("请在编辑器中把文件另存为 UTF-8 编码（VS Code：点状态栏右下角的编码 → 通过编码保存 → UTF-8；"
          "记事本：另存为 → 编码选 UTF-8）/ re-save the file as UTF-8 in your editor (VS Code: click the "
          "encoding in the status bar → Save with Encoding → UTF-8; Notepad: Save As → Encoding: UTF-8)")


def likely_encoding(data: bytes) -> str | None:
    """A name for the encoding ``data`` is probably in, when it is not UTF-8 (only to say so)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"
    for codec, name in (("gb18030", "GBK / GB18030"), ("big5", "Big5"), ("shift_jis", "Shift-JIS")):
        try:
            data.decode(codec)
        except UnicodeDecodeError:
            continue
        return name
    return None


def _not_in(expected: str, data: bytes, where: int | None) -> SubmissionError:
    guess = likely_encoding(data)
    at = f"（第 {where} 字节）" if where is not None else ""
    at_en = f" (byte {where})" if where is not None else ""
    zh = f"文件不是 {expected} 文本{at}" + (f"，看起来是 {guess} 编码" if guess else "，编码无法识别")
    en = f"the file is not {expected} text{at_en}" + (f"; it looks like {guess}" if guess else "; its encoding is unknown")
    return SubmissionError(f"{zh} / {en}.\n{RESAVE}")


def module_text(data: bytes) -> str:
    """A ``.py`` file's text, decoded as Python decodes it: a UTF-8 BOM, a PEP 263 coding
    cookie, otherwise UTF-8; never a guess (a wrong guess would garble the code)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        if "invalid or missing" in str(error.msg):  # no cookie, and a first line that is not UTF-8
            raise _not_in("UTF-8", data, None) from None
        # an unknown codec in the cookie, or a BOM beside another cookie
        raise SubmissionError(f"文件的编码声明有误 / the file's coding declaration is wrong: {error.msg}") from None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise _not_in(encoding.upper().replace("-SIG", ""), data, error.start) from None


def text_of(data: bytes) -> str:
    """A notebook's text: UTF-8 (as nbformat writes it), with or without a BOM."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _not_in("UTF-8", data, error.start) from None


# -- notebooks ----------------------------------------------------------------------------------
def notebook_from_bytes(data: bytes) -> dict:
    """The notebook's JSON, checked to be one this module can walk: SubmissionError otherwise."""
    try:
        notebook = wire.parse_json(text_of(data), NOTEBOOK_LIMITS)
    except wire.WireError as error:
        raise SubmissionError(f"不是有效的笔记本 / not a valid notebook: {error}") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        version = notebook.get("nbformat") if isinstance(notebook, dict) else None
        if type(version) is int and version < 4:
            raise SubmissionError(f"笔记本格式 nbformat {version} 太旧，请在 Jupyter 中打开并另存 / "
                                  f"nbformat {version} is too old: open and save it in Jupyter")
        raise SubmissionError("不是 Jupyter 笔记本（没有 cells 列表）/ not a Jupyter notebook "
                              "(no list of cells)")
    if notebook.get("nbformat") != 4 or type(notebook.get("nbformat")) is not int:
        version = json.dumps(notebook.get("nbformat"))[:40]
        raise SubmissionError(f"不支持的笔记本格式 / unsupported nbformat {version} (expected 4)")
    for index, cell in enumerate(notebook["cells"], start=1):
        problem = _malformed(cell)
        if problem:
            raise SubmissionError(f"第 {index} 个单元格格式错误 / cell {index} is malformed: {problem}"
                                  " (open and save the notebook in Jupyter)")
    return notebook


def read_notebook(path: Path) -> dict:
    """A trusted notebook of the course (a source or release notebook)."""
    return notebook_from_bytes(read_capped(path, follow=True))


def _malformed(cell) -> str | None:
    """What makes ``cell`` unlike an nbformat 4 cell, in the fields grading reads."""
    if not isinstance(cell, dict):
        return "not an object"
    if not isinstance(cell.get("cell_type"), str):
        return "cell_type is not text"
    source = cell.get("source", "")
    if not (isinstance(source, str) or (isinstance(source, list)
                                        and all(isinstance(line, str) for line in source))):
        return "source is not text or a list of lines"
    metadata = cell.get("metadata", {})
    if not isinstance(metadata, dict):
        return "metadata is not an object"
    nbgrader = metadata.get("nbgrader", {})
    if not isinstance(nbgrader, dict):
        return "metadata.nbgrader is not an object"
    if "grade_id" in nbgrader and not isinstance(nbgrader["grade_id"], str):
        return "grade_id is not text"
    if nbgrader.get("grade") and not nbgrader.get("solution") and cell["cell_type"] == "code" \
            and not isinstance(nbgrader.get("grade_id"), str):
        return "a test cell without a grade_id"
    return None


def source_text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def nbgrader_metadata(cell: dict) -> dict:
    metadata = cell.get("metadata")
    nbgrader = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return nbgrader if isinstance(nbgrader, dict) else {}


def cell_kind(cell: dict) -> str:
    """answer | test | manual | setup | demo | given | free (a cell the student added)."""
    meta = nbgrader_metadata(cell)
    grade_id = str(meta.get("grade_id", ""))
    if meta.get("grade") and meta.get("solution"):
        return "manual"
    if meta.get("grade"):
        return "test"
    if meta.get("solution"):
        return "answer"
    if grade_id.startswith(SETUP_PREFIX):
        return "setup"
    if grade_id.startswith(DEMO_PREFIX):
        return "demo"
    return "given" if meta.get("locked") else "free"


def _strip_magics(source: str) -> str:
    """IPython-only lines (``%matplotlib``, ``!pip``) become blank: line numbers stay right."""
    return "\n".join("" if MAGIC_LINE.match(line) else line for line in source.splitlines())


def code_cells(notebook: dict):
    """(1-based index, cell, kind) of every code cell, in order."""
    for index, cell in enumerate(notebook["cells"], start=1):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            yield index, cell, cell_kind(cell)


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
def source_notebook(course: Course, homework: str) -> dict:
    return read_notebook(course.source_notebook(homework))


@functools.lru_cache(maxsize=None)
def public_notebook(course: Course, homework: str) -> dict:
    return read_notebook(course.public_notebook(homework))


def setup_units(course: Course, homework: str) -> list[dict]:
    """The given setup cells, always from the untouched release (never the submission's copy)."""
    return [unit_of(index, cell) for index, cell, kind in code_cells(public_notebook(course, homework))
            if kind == "setup"]


def graded_cells(course: Course, homework: str) -> list[GradedCell]:
    """The graded cells of the source notebook, in order: test cells and written answers."""
    cells = []
    for cell in source_notebook(course, homework)["cells"]:
        meta = nbgrader_metadata(cell)
        if meta.get("grade"):
            cells.append(GradedCell(str(meta["grade_id"]), float(meta["points"]),
                                    manual=bool(meta.get("solution"))))
    return cells
