"""Loading a submission: what is found, what runs, and a clear message for what cannot."""
from __future__ import annotations

import json
import shutil

import pytest

from autograder import load
from autograder.discover import find_submissions
from autograder.load import SubmissionError
from conftest import COURSE, SAMPLES, grade


def notebook(cells, nbformat=4) -> str:
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": nbformat, "nbformat_minor": 5})


def code(source, **nbgrader) -> dict:
    metadata = {"nbgrader": {"schema_version": 3, **nbgrader}} if nbgrader else {}
    return {"cell_type": "code", "metadata": metadata, "source": source, "outputs": [],
            "execution_count": None}


def test_finds_every_layout(tmp_path):
    (tmp_path / "submitted" / "alice" / "hw2_logistic").mkdir(parents=True)
    shutil.copy(COURSE.release_notebook("hw2_logistic"),
                tmp_path / "submitted" / "alice" / "hw2_logistic" / "hw2_logistic.ipynb")
    (tmp_path / "submitted" / "bob").mkdir()
    (tmp_path / "submitted" / "bob" / "hw3_perceptron.py").write_text("x = 1\n")
    (tmp_path / "submitted" / "bob" / "notes.py").write_text("ignored\n")
    (tmp_path / "carol").mkdir()
    (tmp_path / "carol" / "hw1_likelihood.ipynb").write_text(notebook([]))
    found = find_submissions([tmp_path / "submitted", tmp_path / "carol" / "hw1_likelihood.ipynb"])
    assert [(s.student, s.homework, s.path.suffix) for s in found] == [
        ("alice", "hw2_logistic", ".ipynb"), ("bob", "hw3_perceptron", ".py"),
        ("carol", "hw1_likelihood", ".ipynb")]
    # a homework folder given directly belongs to the student folder above it
    assert [s.student for s in find_submissions([tmp_path / "submitted" / "alice" / "hw2_logistic"])] == ["alice"]


def test_a_notebook_wins_over_a_module_of_the_same_homework(tmp_path):
    (tmp_path / "dan").mkdir()
    (tmp_path / "dan" / "hw4_xor.py").write_text("")
    (tmp_path / "dan" / "hw4_xor.ipynb").write_text(notebook([]))
    assert [s.path.suffix for s in find_submissions([tmp_path / "dan"])] == [".ipynb"]


@pytest.mark.parametrize("content, says", [
    (b"\xff\xfe not utf-8", "UTF-8"),
    (b'{"cells": [', "not valid JSON"),
    (b'[1, 2, 3]', "not a Jupyter notebook"),
    (notebook([], nbformat=3).encode(), "nbformat 3"),
    (b'{"worksheets": [], "nbformat": 3}', "nbformat 3 is too old"),
    (b"[" * 100_000, "not"),
])
def test_unreadable_notebooks_get_a_clear_message(tmp_path, content, says):
    path = tmp_path / "hw1_likelihood.ipynb"
    path.write_bytes(content)
    with pytest.raises(SubmissionError, match=says):
        load.Submission("x", "hw1_likelihood", path).program(COURSE)


def test_unreadable_notebook_is_an_error_row_for_every_part(tmp_path, isolation):
    path = tmp_path / "eve" / "hw1_likelihood.ipynb"
    path.parent.mkdir()
    path.write_bytes(b"\x89PNG not a notebook")
    result = grade(load.Submission("eve", "hw1_likelihood", path), isolation)
    auto = [t for t in result.tests if t.status != "manual"]
    assert result.score == 0 and {t.status for t in auto} == {"error"}
    assert all("UTF-8" in t.output for t in auto)


def test_test_cells_are_never_taken_from_a_submission_and_setup_comes_from_the_release(tmp_path):
    cells = [
        code("X_EXAMPLE = 'tampered'", grade=False, solution=False, locked=True,
             grade_id="setup-example-data"),
        code("def f():\n    return 1", grade=False, solution=True, grade_id="answer-f"),
        code("raise SystemExit('a test cell')", grade=True, solution=False, locked=True,
             grade_id="perceptron_trace_rows", points=3),
        code("import matplotlib; plot_everything()", grade=False, solution=False, locked=True,
             grade_id="demo-two-lines"),
        code("%matplotlib inline\n!pip install cheats\nhelper = 2"),
        {"cell_type": "markdown", "metadata": {}, "source": "text"},
    ]
    path = tmp_path / "hw3_perceptron.ipynb"
    path.write_text(notebook(cells))
    steps = load.Submission("joy", "hw3_perceptron", path).program(COURSE)
    setup, *own = [item for kind, item in steps if kind == "code"]
    assert "X_EXAMPLE = np.array" in setup["source"]  # the untouched release's, not the submission's
    assert [u["label"] for u in own] == ["cell answer-f", "cell 5"]
    assert own[1]["source"] == "\n\nhelper = 2"  # magics blanked, line numbers kept
    assert [item for kind, item in steps if kind == "part"] == ["perceptron_trace_rows"]


def test_answers_moved_to_new_cells_and_deleted_cells_still_grade(tmp_path, isolation):
    """A student who deleted the answer cells and wrote everything in fresh cells is graded on
    what they wrote, like nbgrader would."""
    reference = load.Submission("r", "hw5_mlp", COURSE.source_notebook("hw5_mlp"))
    sources = [unit["source"] for kind, unit in reference.program(COURSE)
               if kind == "code" and not unit["label"].startswith("cell setup-")]
    path = tmp_path / "fay" / "hw5_mlp.ipynb"
    path.parent.mkdir()
    path.write_text(notebook([code(source) for source in sources]))
    result = grade(load.Submission("fay", "hw5_mlp", path), isolation)
    assert result.score == result.max_score


def test_duplicated_grade_ids_run_in_order(tmp_path, isolation):
    cells = [code("def count_parameters(sizes):\n    return 0", grade=False, solution=True,
                  grade_id="answer-counting"),
             code("def count_parameters(sizes):\n    return sum(a * b + b for a, b in zip(sizes, sizes[1:]))",
                  grade=False, solution=True, grade_id="answer-counting")]
    path = tmp_path / "gus" / "hw5_mlp.ipynb"
    path.parent.mkdir()
    path.write_text(notebook(cells))
    result = grade(load.Submission("gus", "hw5_mlp", path), isolation)
    statuses = {t.name: t.status for t in result.tests}
    assert statuses["count_parameters"] == "passed" and statuses["forward_macs"] == "error"


def test_an_empty_notebook_is_not_done(tmp_path, isolation):
    path = tmp_path / "hal" / "hw3_perceptron.ipynb"
    path.parent.mkdir()
    path.write_text(notebook([]))
    result = grade(load.Submission("hal", "hw3_perceptron", path), isolation)
    assert all("not done yet" in t.output for t in result.tests if t.status != "manual")


def test_a_syntax_error_is_reported_where_it_is(isolation):
    submission = load.Submission("syntax_error", "hw3_perceptron",
                                 SAMPLES / "syntax_error" / "hw3_perceptron" / "hw3_perceptron.ipynb")
    result = grade(submission, isolation)
    failing = [t for t in result.tests if t.status == "error"]
    assert failing and all("has a syntax error" in t.output and "answer-perceptron_train" in t.output
                           and "line" in t.output and "not done yet" not in t.output for t in failing), \
        [t.output for t in failing]
    assert {t.name for t in result.tests if t.status == "passed"} == {"hw3_trace", "hw3_final",
                                                                      "choose_m2_at_5"}


def test_each_part_is_judged_where_its_test_cell_stands(tmp_path, isolation):
    """As in Run All and nbgrader: a later cell that redefines an answer does not change a part
    above it, and an answer written below its test cell does not count for it."""
    from autograder.samples import answered_notebook, with_extra_cell

    notebook = with_extra_cell(answered_notebook(COURSE, "hw5_mlp"),
                               "def count_parameters(sizes):\n    return 0\n")
    moved = next(c for c in notebook["cells"]
                 if load.nbgrader_metadata(c).get("grade_id") == "answer-counting")
    notebook["cells"].remove(moved)  # count_parameters &co now come after every test cell
    notebook["cells"].append(moved)
    path = tmp_path / "ivy" / "hw5_mlp.ipynb"
    path.parent.mkdir()
    path.write_text(json.dumps(notebook), encoding="utf-8")
    result = grade(load.Submission("ivy", "hw5_mlp", path), isolation)
    statuses = {t.name: t.status for t in result.tests}
    assert statuses["count_parameters"] == statuses["forward_macs"] == "error"  # not yet defined
    assert statuses["digits_accuracy"] == "passed"

    early = with_extra_cell(answered_notebook(COURSE, "hw5_mlp"), "def count_parameters(sizes):\n    return 0\n")
    path.write_text(json.dumps(early), encoding="utf-8")
    result = grade(load.Submission("ivy", "hw5_mlp", path), isolation)
    assert result.score == result.max_score  # the redefinition comes after every test cell


def test_a_folder_named_like_a_homework_costs_only_its_own_entry(tmp_path):
    """Named ``hw1_likelihood.ipynb``, a student's folder must not turn the whole tree into
    one student's folder (every other student would vanish)."""
    for student in ("alice", "bob"):
        (tmp_path / "submitted" / student).mkdir(parents=True)
        (tmp_path / "submitted" / student / "hw3_perceptron.py").write_text("x = 1\n")
    (tmp_path / "submitted" / "hw1_likelihood.ipynb").mkdir()
    (tmp_path / "submitted" / "hw2_logistic").mkdir()
    (tmp_path / "submitted" / "hw2_logistic" / "hw2_logistic.py").write_text("x = 1\n")
    found = {(s.student, s.homework) for s in find_submissions([tmp_path / "submitted"])}
    assert found == {("alice", "hw3_perceptron"), ("bob", "hw3_perceptron"),
                     ("hw2_logistic", "hw2_logistic")}
    # a student folder with junk subfolders is still a student folder
    (tmp_path / "carol" / "data").mkdir(parents=True)
    (tmp_path / "carol" / "hw4_xor.py").write_text("x = 1\n")
    assert [s.student for s in find_submissions([tmp_path / "carol"])] == ["carol"]
