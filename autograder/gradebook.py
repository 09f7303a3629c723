"""nbgrader's autograde with the isolated grader in place of the kernel, for every entry point.

nbgrader's autograde sanitises each submission (clears outputs, restores test cells from the
gradebook) and then *executes* it in a kernel the student's code controls.  ``IsolatedGrades``
takes the place of that execution step: the sanitised notebook is graded by the isolated grader
(``score.grade_submission``), and each test cell gets the result as its output (the score as
``text/plain``, the bilingual message as ``text/markdown``).  nbgrader's own ``SaveAutoGrades``
then records those scores, so formgrader, ``generate_feedback`` and ``export`` show trusted
numbers; manual grades are kept.

The course's ``nbgrader_config.py`` puts it into ``Autograde.autograde_preprocessors``, so plain
``nbgrader autograde``, ``NbGraderAPI.autograde`` and formgrader's Autograde button all take this
path; ``nnhw autograde`` is the same with a score printed per student.  The kernel path stays
available only when a person asks for it (``--IsolatedGrades.kernel=True``), and weak isolation
is refused unless asked for (``--IsolatedGrades.allow_weak_isolation=True``).
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import nbformat
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.preprocessors import Execute, NbGraderPreprocessor, SaveAutoGrades
from traitlets import Bool
from traitlets.config import Config, PyFileConfigLoader


class IsolatedGrades(NbGraderPreprocessor):
    """Stands in for nbgrader's Execute: nothing in the notebook runs in this process."""

    kernel = Bool(False, help="Run the notebook in a Jupyter kernel as plain nbgrader does "
                  "(student code can then subvert its own hidden tests). Only on request.").tag(config=True)
    allow_weak_isolation = Bool(False, help="Grade even where neither root nor user namespaces "
                                "are available (student code can then read the reference "
                                "answers).").tag(config=True)

    def preprocess(self, nb, resources):
        if self.kernel:
            self.log.warning("nnhw: grading in the student's kernel, as asked (not isolated)")
            return Execute(parent=self.parent).preprocess(nb, resources)
        from .kernel import PartScore

        tests = {test["name"]: test for test in self._graded(nb, resources["nbgrader"]["assignment"])}
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
                test = tests[meta["grade_id"]]
                shown = PartScore(test["score"], test["max_score"], test["status"], test["output"])
                cell.outputs = [nbformat.v4.new_output(
                    "execute_result", execution_count=None,
                    data={"text/plain": repr(float(shown)), "text/markdown": shown._repr_markdown_()})]
        return nb, resources

    def _graded(self, nb, homework: str) -> list[dict]:
        """The notebook's parts, graded by ``nnhw grade`` in a process of its own: the process
        nbgrader runs in (a Jupyter server, with users' kernels) never forks sandboxes or reaps
        anything; RuntimeError with the grader's message if it cannot grade."""
        with tempfile.TemporaryDirectory(prefix="nnhw-autograde-") as folder:
            path = Path(folder) / "submission" / homework / f"{homework}.ipynb"
            path.parent.mkdir(parents=True)
            nbformat.write(nb, str(path))
            command = [sys.executable, "-m", "autograder.cli", "grade", str(path),
                       "--out", str(Path(folder) / "out"), "--course", str(self._coursedir().root)]
            if self.allow_weak_isolation:
                command.append("--allow-weak-isolation")
            completed = subprocess.run(command, capture_output=True, text=True, encoding="utf-8",
                                       stdin=subprocess.DEVNULL, cwd=folder)
            results = Path(folder) / "out" / "results.json"
            if completed.returncode != 0 or not results.exists():
                raise RuntimeError(f"nnhw could not grade this notebook:\n{completed.stderr[-4000:]}")
            (result,) = json.loads(results.read_text(encoding="utf-8"))
        return result["tests"]

    def _coursedir(self):
        """nbgrader's CourseDirectory of the converter this preprocessor works for."""
        owner = self.parent
        while owner is not None and not hasattr(owner, "coursedir"):
            owner = getattr(owner, "parent", None)
        if owner is None:
            raise RuntimeError("IsolatedGrades runs only inside nbgrader's Autograde converter")
        return owner.coursedir


class RubricsNeedNoGrade(NbGraderPreprocessor):
    """Each written answer is followed by its rubric: a task cell of 0 points whose mark scheme
    nbgrader restores into the graded notebook, so formgrader shows it to the grader.  Recorded
    as graded (0 of 0), it does not flag every submission as needing a manual grade.  The rubric
    cells are taken from the gradebook, not from the submission."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            notebook = gradebook.find_notebook(info["notebook"], info["assignment"])
            for rubric in (cell.name for cell in notebook.task_cells if not cell.max_score):
                grade = gradebook.find_grade(rubric, info["notebook"], info["assignment"], info["student"])
                if grade.manual_score is None:
                    grade.auto_score, grade.needs_manual_grade = 0.0, False
            gradebook.db.commit()
        return nb, resources


class HideRubrics(NbGraderPreprocessor):
    """Feedback without the rubrics: the mark scheme of every task cell is cleared, as in the
    student's release.  Only task cells: a student's own text, whatever markers it holds, is
    theirs to read back and cannot make feedback fail."""

    def preprocess_cell(self, cell, resources, index):
        if utils.is_task(cell):
            cell.source = without_mark_scheme(cell.source)
        return cell, resources


def without_mark_scheme(source: str) -> str:
    """``source`` without its ``### BEGIN MARK SCHEME`` … ``### END MARK SCHEME`` regions (an
    unclosed region runs to the end)."""
    kept, inside = [], False
    for line in source.split("\n"):
        if "BEGIN MARK SCHEME" in line:
            inside = True
        elif "END MARK SCHEME" in line:
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept).rstrip()


def isolated_pipeline() -> list:
    """nbgrader's own autograde steps, with the kernel (Execute) swapped for the isolated grader
    and the rubrics recorded as graded."""
    steps = []
    for step in Autograde.class_traits()["autograde_preprocessors"].default():
        steps.append(IsolatedGrades if step is Execute else step)
        if step is SaveAutoGrades:
            steps.append(RubricsNeedNoGrade)
    return steps


def feedback_pipeline() -> list:
    """nbgrader's feedback steps with the rubrics cleared before the page is written."""
    return [HideRubrics, *GenerateFeedback.class_traits()["preprocessors"].default()]


def course_config(course: Path) -> Config:
    """The course's ``nbgrader_config.py`` (if any), rooted at ``course``."""
    config = Config()
    config_file = course / "nbgrader_config.py"
    if config_file.exists():
        config.merge(PyFileConfigLoader(config_file.name, path=str(course)).load_config())
    config.CourseDirectory.root = str(course.resolve())
    return config


def autograde(course: Path, homework: str, students: list[str] | None = None,
              allow_weak: bool = False) -> dict[str, dict]:
    """Autograde ``submitted/<student>/<homework>/`` of the course at ``course`` securely;
    returns nbgrader's outcome (``success``, ``log``, ``error``) per student, with the
    autograded ``score`` and ``max_score`` it recorded."""
    from nbgrader.apps import NbGraderAPI
    from sqlalchemy.exc import SAWarning

    from .run.sandbox import strong_isolation

    strong_isolation(allow_weak)  # refuse before nbgrader starts, with the advice
    config = course_config(course)
    config.Autograde.autograde_preprocessors = isolated_pipeline()
    config.IsolatedGrades.allow_weak_isolation = allow_weak
    api = NbGraderAPI(config=config)
    if students is None:
        submitted = course / "submitted"
        students = sorted(p.name for p in submitted.iterdir() if (p / homework).is_dir()) \
            if submitted.is_dir() else []
    outcomes = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's gradebook, not ours to fix
        for student in students:
            outcome = api.autograde(homework, student, force=True, create=True)
            if outcome["success"]:
                with api.gradebook as gradebook:
                    outcome.update(autograded_points(gradebook, homework, student))
            outcomes[student] = outcome
    return outcomes


def autograded_points(gradebook, homework: str, student: str) -> dict:
    """The autograded score and maximum nbgrader recorded for one student's homework."""
    notebook = gradebook.find_submission_notebook(homework, homework, student)
    graded = [grade for grade in notebook.grades if grade.cell.cell_type == "code"]
    return {"score": sum(grade.auto_score or 0 for grade in graded),
            "max_score": sum(grade.max_score for grade in graded)}
