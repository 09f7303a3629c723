"""The secure nbgrader path: ``nnhw autograde`` is ``nbgrader autograde`` without a kernel.

nbgrader's autograde sanitises each submission (clears outputs, restores test cells from the
gradebook) and then *executes* it in a kernel the student's code controls.  Here the execution
step is replaced by ``IsolatedGrades``: the sanitised notebook is graded by the isolated grader,
and each test cell gets the result as its output (the score as ``text/plain``, the bilingual
message as ``text/markdown``).  nbgrader's own ``SaveAutoGrades`` then records those scores, so
formgrader, ``generate_feedback`` and ``export`` show trusted numbers; manual grades are kept.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import nbformat
from nbgrader.apps import NbGraderAPI
from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets.config import Config, PyFileConfigLoader

from .kernel import PartScore
from .load import Submission
from .run.sandbox import detect_isolation
from .score import grade_submission


class IsolatedGrades(NbGraderPreprocessor):
    """Stands in for nbgrader's Execute: nothing in the notebook runs in this process."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with tempfile.TemporaryDirectory(prefix="nnhw-autograde-") as folder:
            path = Path(folder) / info["student"] / f"{info['assignment']}.ipynb"
            path.parent.mkdir()
            nbformat.write(nb, str(path))
            result = grade_submission(Submission(info["student"], info["assignment"], path),
                                      detect_isolation())
        tests = {test.name: test for test in result.tests}
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
                test = tests[meta["grade_id"]]
                shown = PartScore(test.score, test.max_score, test.status, test.output)
                cell.outputs = [nbformat.v4.new_output(
                    "execute_result", execution_count=None,
                    data={"text/plain": repr(float(shown)), "text/markdown": shown._repr_markdown_()})]
        return nb, resources


# nbgrader's own autograde steps, with the kernel (Execute) swapped for the isolated grader.
SECURE_PIPELINE = [IsolatedGrades if step is Execute else step
                   for step in Autograde.class_traits()["autograde_preprocessors"].default()]


def autograde(course: Path, homework: str, students: list[str] | None = None) -> dict[str, dict]:
    """Autograde ``submitted/<student>/<homework>/`` of the course at ``course`` securely;
    returns nbgrader's outcome (``success``, ``log``, ``error``) per student."""
    config = Config()
    config_file = course / "nbgrader_config.py"
    if config_file.exists():
        config.merge(PyFileConfigLoader(config_file.name, path=str(course)).load_config())
    config.CourseDirectory.root = str(course.resolve())
    config.Autograde.autograde_preprocessors = SECURE_PIPELINE
    api = NbGraderAPI(config=config)
    if students is None:
        submitted = course / "submitted"
        students = sorted(p.name for p in submitted.iterdir() if (p / homework).is_dir()) \
            if submitted.is_dir() else []
    return {student: api.autograde(homework, student, force=True, create=True)
            for student in students}
