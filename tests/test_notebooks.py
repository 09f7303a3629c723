"""The release notebooks as students run them, in a real Jupyter kernel, in a folder that holds
nothing but the notebook (as on Colab): answered with the reference they run top to bottom
without an error; blank they run without a traceback — every unfinished part says "not done
yet" in one line and the demonstration cells say so instead of failing.  And the README's table
of points is the notebooks' own."""
from __future__ import annotations

import json
import os
import re

import nbclient
import nbformat
import pytest

from autograder import load
from autograder.course import HOMEWORKS
from autograder.samples import answered_notebook
from conftest import COURSE, ROOT

pytestmark = pytest.mark.slow
NOT_DONE = "⏳ 尚未完成 / not done yet"


def run_alone(notebook: dict, folder) -> nbformat.NotebookNode:
    """``notebook`` executed cell by cell (errors allowed) in an otherwise empty ``folder``."""
    node = nbformat.reads(json.dumps(notebook), as_version=4)
    backend = os.environ.pop("MPLBACKEND", None)  # the kernel's own inline backend draws the plots
    try:
        nbclient.NotebookClient(node, timeout=300, allow_errors=True,
                                resources={"metadata": {"path": str(folder)}}).execute()
    finally:
        if backend is not None:
            os.environ["MPLBACKEND"] = backend
    return node


def errors(node) -> list[tuple[str, dict]]:
    return [(load.nbgrader_metadata(cell).get("grade_id", f"cell {index}"), output)
            for index, cell in enumerate(node.cells) if cell.cell_type == "code"
            for output in cell.outputs if output.output_type == "error"]


@pytest.mark.parametrize("homework", HOMEWORKS)
def test_answered_release_runs_clean_from_an_empty_folder(homework, tmp_path):
    node = run_alone(answered_notebook(COURSE, homework), tmp_path)
    assert not errors(node), [(where, output.ename, output.evalue) for where, output in errors(node)]
    for cell in node.cells:  # every demonstration that plots drew its figure
        if "plt." in cell.source and cell.cell_type == "code":
            assert any("image/png" in o.get("data", {}) for o in cell.outputs), cell.source[:80]
    assert os.listdir(tmp_path) == []  # it found its data without leaving anything behind


@pytest.mark.parametrize("homework", HOMEWORKS)
def test_blank_release_says_not_done_yet_without_a_traceback(homework, tmp_path):
    blank = nbformat.read(str(COURSE.release_notebook(homework)), as_version=4)
    node = run_alone(blank, tmp_path)
    for where, output in errors(node):
        shown = "\n".join(output.traceback)
        assert shown.startswith(NOT_DONE) and "Traceback" not in shown, (where, shown[:500])
    for cell in node.cells:
        grade_id = load.nbgrader_metadata(cell).get("grade_id", "")
        if grade_id.startswith("demo-"):
            assert not [o for o in cell.outputs if o.output_type == "error"], grade_id
            printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            assert NOT_DONE in printed, (grade_id, printed)
            assert not [o for o in cell.outputs if "image/png" in o.get("data", {})], grade_id  # no empty axes


def notebook_points(homework: str) -> tuple[float, float]:
    cells = load.graded_cells(COURSE, homework)
    return (sum(c.points for c in cells if not c.manual), sum(c.points for c in cells if c.manual))


def test_the_readme_table_shows_the_notebooks_points():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = {match[0]: (float(match[1]), float(match[2]), float(match[3])) for match in
            re.findall(r"^\| `(hw\d_\w+)` \|[^|]*\| (\d+) \| (\d+) \| (\d+) \|$", text, flags=re.MULTILINE)}
    assert set(rows) == set(HOMEWORKS)
    for homework in HOMEWORKS:
        auto, written = notebook_points(homework)
        assert rows[homework] == (auto, written, auto + written), homework
    assert sum(total for _, _, total in rows.values()) == 100
