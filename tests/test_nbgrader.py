"""nbgrader end to end, for real, on a copy of this course: generate_assignment, autograde,
generate_feedback and export, against the same files ``nnhw grade`` scores.  Every autograde
entry point — ``nbgrader autograde``, ``NbGraderAPI.autograde`` loaded with the course's
configuration, formgrader's Autograde button through a running Jupyter server, ``nnhw
autograde`` — grades in isolation: a cheat that owns the kernel gets nothing from any of them,
and gets its points only from the kernel path, which runs only when asked for."""
from __future__ import annotations

import csv
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from autograder import load, score
from autograder.course import HOMEWORKS
from conftest import COURSE, ROOT, TA_ENV, course_copy, grade

pytestmark = pytest.mark.slow

PARTIAL = COURSE.data / "submissions" / "partial"


def run(*command, cwd):
    """A command of the course's toolchain, as a TA would type it (the venv's bin on PATH)."""
    completed = subprocess.run(list(map(str, command)), cwd=cwd, env=TA_ENV, capture_output=True,
                               text=True, timeout=900)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return completed


def release_cell(notebook: dict, grade_id: str) -> dict:
    return next(c for c in notebook["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)


def place(course_dir: Path, student: str, homework: str, notebook) -> Path:
    path = course_dir / "submitted" / student / homework / f"{homework}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(notebook, Path):
        shutil.copy(notebook, path)
    else:
        path.write_text(json.dumps(notebook), encoding="utf-8")
    return path


def released(homework: str) -> dict:
    return json.loads(COURSE.release_notebook(homework).read_text(encoding="utf-8"))


def with_answer(homework: str, grade_id: str, source: str, start: dict | None = None) -> dict:
    notebook = start or json.loads(COURSE.source_notebook(homework).read_text(encoding="utf-8"))
    release_cell(notebook, grade_id)["source"] = source
    return notebook


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory):
    """A copy of the course with every kind of submission in ``submitted/``, autograded by
    plain nbgrader (real kernels)."""
    root = course_copy(tmp_path_factory.mktemp("course"), ("solutions", "data", "nbgrader_config.py"))
    for homework in HOMEWORKS:
        run("nbgrader", "generate_assignment", homework, "--force", cwd=root)
        place(root, "reference", homework, COURSE.source_notebook(homework))
        place(root, "stubs", homework, COURSE.release_notebook(homework))
    for notebook in sorted(PARTIAL.glob("*/*.ipynb")):
        place(root, "partial", notebook.parent.name, notebook)
    # Turns every later cell, hidden tests included, into `pass` (full marks in plain nbgrader).
    place(root, "transformer", "hw2_logistic", with_answer(
        "hw2_logistic", "answer-sigmoid",
        "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])",
        start=released("hw2_logistic")))
    # Tags its (restored) test cells skip-execution and deletes others: neither may help.
    skipper = released("hw5_mlp")
    for cell in skipper["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade") and cell["cell_type"] == "code":
            cell["metadata"]["tags"] = ["skip-execution"]
    skipper["cells"] = [c for c in skipper["cells"]
                        if c["metadata"].get("nbgrader", {}).get("grade_id") != "forward_macs"]
    place(root, "skipper", "hw5_mlp", skipper)
    # A correct answer whose code prints a RuntimeWarning (ln 0) in a test cell.
    place(root, "warner", "hw1_likelihood", with_answer(
        "hw1_likelihood", "answer-binomial_log_likelihood", '''
def binomial_log_likelihood(p, k, n):
    p = np.asarray(p, dtype=float)
    log_comb = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
    from_k = k * np.log(p) if k > 0 else np.zeros_like(p)          # warns at p = 0
    from_rest = (n - k) * np.log1p(-p) if n > k else np.zeros_like(p)
    result = log_comb + from_k + from_rest
    return result[()] if result.ndim == 0 else result
'''))
    # A written answer holding an unclosed mark-scheme marker: its own text, not a rubric.
    place(root, "marker", "hw2_logistic", with_answer(
        "hw2_logistic", "written-loss", "### BEGIN MARK SCHEME\nmy own derivation", start=released("hw2_logistic")))
    for homework in HOMEWORKS:
        run("nbgrader", "autograde", homework, "--force", cwd=root)
    return root


def gradebook_scores(root: Path, homework: str, student: str) -> dict[str, float | None]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(homework, homework, student)
        return {grade.name: grade.auto_score for grade in notebook.grades
                if not grade.name.startswith("rubric-")}  # 0-point task cells (see the rubric test)


def nnhw_scores(path: Path, student: str, homework: str) -> dict[str, float | None]:
    result = grade(load.Submission(student, homework, path))
    return {test.name: test.score for test in result.tests}


def autograded(scores: dict) -> dict:
    """The autograded parts only (nbgrader also gives 0 to a written answer left untouched)."""
    return {name: value for name, value in scores.items() if not name.startswith("written-")}


def test_release_notebooks_are_generated_from_the_source(course_dir):
    for homework in HOMEWORKS:
        generated = json.loads((course_dir / "assignments" / homework / f"{homework}.ipynb").read_text())
        committed = json.loads(COURSE.release_notebook(homework).read_text())
        assert generated == committed, f"assignments/{homework} is stale: run nbgrader generate_assignment"


def test_release_has_no_solution_and_no_hidden_test():
    for homework in HOMEWORKS:
        text = COURSE.release_notebook(homework).read_text(encoding="utf-8")
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "grade_part",
                       "import autograder", "参考答案 / Model answer", "Rubric for TAs"):
            assert marker not in text, (homework, marker)
        source = COURSE.source_notebook(homework).read_text(encoding="utf-8")
        assert source.count("BEGIN SOLUTION") > 0 and source.count("grade_part") > 0


@pytest.mark.parametrize("homework", HOMEWORKS)
def test_reference_notebooks_validate(homework):
    completed = run("nbgrader", "validate", COURSE.source_notebook(homework), cwd=ROOT)
    assert "Success! Your notebook passes all the tests." in completed.stdout


@pytest.mark.parametrize("homework", HOMEWORKS)
def test_plain_autograde_matches_nnhw_grade(course_dir, homework):
    reference = gradebook_scores(course_dir, homework, "reference")
    points = {p.name: p.points for p in score.parts(COURSE, homework)}
    assert reference == {name: (None if name.startswith("written-") else points[name])
                         for name in points}
    assert all(not value for value in gradebook_scores(course_dir, homework, "stubs").values())
    submitted = course_dir / "submitted" / "partial" / homework / f"{homework}.ipynb"
    if submitted.exists():
        assert autograded(gradebook_scores(course_dir, homework, "partial")) == \
            autograded(nnhw_scores(submitted, "partial", homework))


def test_the_kernel_path_runs_only_on_request_and_is_hardened(course_dir):
    """``--IsolatedGrades.kernel=True``: the student's kernel runs the hidden cells, so the
    input-transformer cheat gets its 13 points there (and only there); a correct answer whose
    code prints a warning keeps its points on that path too."""
    run("nbgrader", "autograde", "hw2_logistic", "--student", "transformer", "--force",
        "--IsolatedGrades.kernel=True", cwd=course_dir)
    assert sum(v for v in gradebook_scores(course_dir, "hw2_logistic", "transformer").values() if v) == 13
    run("nbgrader", "autograde", "hw1_likelihood", "--student", "warner", "--force",
        "--IsolatedGrades.kernel=True", cwd=course_dir)
    path = course_dir / "submitted" / "warner" / "hw1_likelihood" / "hw1_likelihood.ipynb"
    expected = nnhw_scores(path, "warner", "hw1_likelihood")
    assert autograded(gradebook_scores(course_dir, "hw1_likelihood", "warner")) == autograded(expected)
    assert expected["binomial_log_likelihood_edges"] == 1
    run("nbgrader", "autograde", "hw2_logistic", "--student", "transformer", "--force", cwd=course_dir)
    assert not any(gradebook_scores(course_dir, "hw2_logistic", "transformer").values())


def test_skip_tags_and_deleted_test_cells_do_not_help(course_dir):
    scores = gradebook_scores(course_dir, "hw5_mlp", "skipper")
    assert set(scores) == {p.name for p in score.parts(COURSE, "hw5_mlp")}  # the deleted cell is back
    assert all(not value for value in scores.values())


def test_no_hypothesis_folder_in_submissions(course_dir):
    assert not list((course_dir / "autograded").rglob(".hypothesis"))
    assert not list((course_dir / "submitted").rglob(".hypothesis"))


def test_the_api_with_the_course_configuration_grades_in_isolation(course_dir):
    """What a script (or formgrader) does: NbGraderAPI loaded with nbgrader_config.py."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    api = NbGraderAPI(CourseDirectory(config=config), config=config)
    for student, expected in (("transformer", 0), ("reference", 13)):
        assert api.autograde("hw2_logistic", student, force=True)["success"]
        assert sum(v for v in gradebook_scores(course_dir, "hw2_logistic", student).values() if v) == expected


@pytest.fixture(scope="module")
def formgrader(course_dir):
    """A Jupyter server with nbgrader's formgrader, in the course, on 127.0.0.1 with a token."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = secrets.token_hex(16)
    server = subprocess.Popen(
        ["jupyter", "server", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={course_dir}",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        cwd=course_dir, env=TA_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            http(base, token, "GET", "/api/status")
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError(server.stderr.read().decode()[-3000:]) from None
            time.sleep(0.3)
    yield base, token
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


def http(base: str, token: str, method: str, path: str) -> bytes:
    request = urllib.request.Request(base + path, method=method, data=b"" if method == "POST" else None,
                                     headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=600) as response:
        return response.read()


def test_formgraders_autograde_button_grades_in_isolation(course_dir, formgrader):
    """The request formgrader's ⚡ Autograde button sends, to a real server."""
    base, token = formgrader
    for student, expected in (("transformer", 0), ("reference", 13)):
        reply = json.loads(http(base, token, "POST", f"/formgrader/api/submission/hw2_logistic/{student}/autograde"))
        assert reply["success"], reply
        assert sum(v for v in gradebook_scores(course_dir, "hw2_logistic", student).values() if v) == expected
    assert b"hw2_logistic" in http(base, token, "GET", "/formgrader/gradebook/hw2_logistic")


def test_secure_path_then_feedback_and_export(course_dir):
    """``nnhw autograde`` gives the cheat nothing, keeps honest scores and a TA's manual
    grade; feedback and export then show the trusted scores."""
    from nbgrader.api import Gradebook

    database = f"sqlite:///{course_dir / 'gradebook.db'}"
    with Gradebook(database) as gradebook:
        grade = gradebook.find_grade("written-loss", "hw2_logistic", "hw2_logistic", "reference")
        grade.manual_score, grade.needs_manual_grade = 1.5, False
        gradebook.db.commit()
    completed = run(sys.executable, "-m", "autograder.cli", "autograde", "hw2_logistic", cwd=course_dir)
    assert "transformer hw2_logistic: 0 / 13" in completed.stderr
    assert "reference hw2_logistic: 13 / 13" in completed.stderr
    assert all(not v for v in gradebook_scores(course_dir, "hw2_logistic", "transformer").values())
    assert sum(v for v in gradebook_scores(course_dir, "hw2_logistic", "reference").values() if v) == 13
    with Gradebook(database) as gradebook:
        grade = gradebook.find_grade("written-loss", "hw2_logistic", "hw2_logistic", "reference")
        assert grade.manual_score == 1.5

    run("nbgrader", "generate_feedback", "hw2_logistic", "--force", cwd=course_dir)
    html = (course_dir / "feedback" / "transformer" / "hw2_logistic" / "hw2_logistic.html").read_text()
    text = re.sub(r"<[^>]+>", "", html)  # the code as a reader sees it, without highlighting
    assert 'autograder.grade_part("hw2_logistic", "sigmoid_values", globals())' in text
    assert text.count("grade_part(") == 9  # one line per hidden cell, nothing more
    assert "def _" not in text and "hypothesis" not in text
    run("nbgrader", "export", cwd=course_dir)
    rows = {(r["assignment"], r["student_id"]): r for r in csv.DictReader((course_dir / "grades.csv").open())}
    assert float(rows[("hw2_logistic", "transformer")]["score"]) == 0
    assert float(rows[("hw2_logistic", "reference")]["score"]) == 14.5


def rubric_line(homework: str, written: str) -> str:
    """A line of the rubric of one written part, as the source notebook has it."""
    source = "".join(release_cell(json.loads(COURSE.source_notebook(homework).read_text(encoding="utf-8")),
                                  f"rubric-{written}")["source"])
    return next(line for line in source.splitlines() if line.startswith("- "))


def test_rubrics_show_to_graders_and_never_to_students(course_dir, formgrader):
    """Each written answer's rubric is a task cell of 0 points: in formgrader's grading page of a
    submission, not in the release, not in feedback; it never flags a submission as waiting
    for a manual grade; a student's own marker text cannot break feedback."""
    from nbgrader.api import Gradebook

    line = rubric_line("hw2_logistic", "written-loss")
    words = "似然是各样本概率之积"
    assert words in line
    assert words not in COURSE.release_notebook("hw2_logistic").read_text(encoding="utf-8")
    base, token = formgrader
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook("hw2_logistic", "hw2_logistic", "reference")
        submission_id = notebook.id
        rubrics = [g for g in notebook.grades if g.name.startswith("rubric-")]
        assert len(rubrics) == 4 and all(g.max_score == 0 and not g.needs_manual_grade for g in rubrics)
        stubs = gradebook.find_submission_notebook("hw1_likelihood", "hw1_likelihood", "stubs")
        assert not stubs.needs_manual_grade  # untouched written answers are 0, rubrics need nothing
    page = http(base, token, "GET", f"/formgrader/submissions/{submission_id}/").decode()
    assert words in page and "Rubric for TAs" in page

    # Formgrader's "Generate Feedback" button (the command line is in test_docs).
    reply = json.loads(http(base, token, "POST", "/formgrader/api/assignment/hw2_logistic/generate_feedback"))
    assert reply["success"], reply
    for student in ("reference", "marker"):
        html = (course_dir / "feedback" / student / "hw2_logistic" / "hw2_logistic.html").read_text()
        assert "A TA grades the answer above by a rubric (2 points)." in html
        assert words not in html and "Rubric for TAs" not in html
    marker = (course_dir / "feedback" / "marker" / "hw2_logistic" / "hw2_logistic.html").read_text()
    assert "my own derivation" in marker


def test_the_final_sheet_adds_written_points_once_graded(course_dir, tmp_path):
    """``nnhw sheet``: autograded and written points per homework, each maximum in its header,
    the written parts nobody has graded yet named; with ``--results`` the autograded points
    come from ``nnhw grade``."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
        for written, points in (("written-stationary-cases", 1.5), ("written-p0-p1", 1)):
            grade = gradebook.find_grade(written, "hw1_likelihood", "hw1_likelihood", "reference")
            grade.manual_score, grade.needs_manual_grade = points, False
        grade = gradebook.find_grade("written-p0-p1", "hw1_likelihood", "hw1_likelihood", "partial")
        grade.needs_manual_grade = True  # an answer a TA has yet to read
        gradebook.db.commit()
    sheet = tmp_path / "final.csv"
    run(sys.executable, "-m", "autograder.cli", "sheet", "--out", sheet, cwd=course_dir)
    header, *rows = list(csv.reader(sheet.open(encoding="utf-8", newline="")))
    assert header == ["student", "hw1_likelihood (/15)", "hw2_logistic (/20)", "hw3_perceptron (/20)",
                      "hw4_xor (/25)", "hw5_mlp (/20)", "total (/100)", "written parts not graded yet"]
    table = {row[0]: dict(zip(header, row)) for row in rows}
    assert table["reference"]["hw1_likelihood (/15)"] == "14.5"  # 12 autograded + 1.5 + 1 written
    assert "hw1_likelihood/" not in table["reference"]["written parts not graded yet"]
    assert table["stubs"]["hw1_likelihood (/15)"] == "0"
    assert "hw1_likelihood/written-p0-p1" in table["partial"]["written parts not graded yet"]
    assert table["skipper"]["hw1_likelihood (/15)"] == ""  # no such submission

    # Autograded points from `nnhw grade` instead (e.g. a class autograded there).
    out = tmp_path / "nnhw"
    run(sys.executable, "-m", "autograder.cli", "grade", course_dir / "submitted", "--out", out, cwd=course_dir)
    from_results = tmp_path / "final-from-results.csv"
    run(sys.executable, "-m", "autograder.cli", "sheet", "--results", out, "--out", from_results, cwd=course_dir)
    header, *rows = list(csv.reader(from_results.open(encoding="utf-8", newline="")))
    table = {row[0]: dict(zip(header, row)) for row in rows}
    assert table["reference"]["hw1_likelihood (/15)"] == "14.5"
    assert table["transformer"]["hw2_logistic (/20)"] == "0"


def test_without_nnhw_autograde_and_feedback_fail_closed(tmp_path):
    """If the course's Python cannot import nnhw, nbgrader neither grades in the kernel nor
    writes feedback (which would show the rubrics); it says why."""
    root = course_copy(tmp_path / "course", ("solutions", "data", "nbgrader_config.py"))
    run("nbgrader", "generate_assignment", "hw2_logistic", "--force", cwd=root)
    place(root, "alice", "hw2_logistic", COURSE.source_notebook("hw2_logistic"))
    run("nbgrader", "autograde", "hw2_logistic", cwd=root)  # with nnhw: graded, rubrics in autograded/
    broken = tmp_path / "broken"
    (broken / "autograder").mkdir(parents=True)
    (broken / "autograder" / "__init__.py").write_text('raise ImportError("simulated: nnhw missing")\n')
    env = {**TA_ENV, "PYTHONPATH": str(broken)}
    for command in (["nbgrader", "generate_feedback", "hw2_logistic", "--force"],
                    ["nbgrader", "autograde", "hw2_logistic", "--force"]):
        completed = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=600)
        assert "nnhw is not importable by this Python (simulated: nnhw missing)" in completed.stderr, \
            completed.stderr[-3000:]
        assert completed.returncode != 0
    assert not list(root.glob("feedback/*/hw2_logistic/*.html"))
