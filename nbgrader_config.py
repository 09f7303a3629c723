"""nbgrader configuration of the nnhw course directory (this repository).

The source notebooks (reference answers) live in ``solutions/``, the generated student notebooks
in ``assignments/``.  Autograding, by every entry point nbgrader has (``nbgrader autograde``,
``NbGraderAPI.autograde`` in a script, formgrader's Autograde button), runs the isolated grader
instead of a Jupyter kernel: ``IsolatedGrades`` takes the place of nbgrader's ``Execute``.
Each written answer's rubric is a task cell of 0 points: formgrader shows it to the grader,
the release and ``generate_feedback`` leave it out.  A
person who wants the kernel path anyway asks for it: ``--IsolatedGrades.kernel=True``.
The rest hardens that kernel path; ``tests/test_nbgrader.py`` runs every entry point for real.
"""
import os

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "nnhw"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".hypothesis"]

try:
    from autograder.gradebook import feedback_pipeline, isolated_pipeline
except ImportError as missing:  # fail closed: never fall back to grading in the student's kernel
    from nbgrader.preprocessors import NbGraderPreprocessor

    reason = str(missing)  # `missing` itself is unbound once this block ends

    class NnhwIsNotInstalled(NbGraderPreprocessor):
        def preprocess(self, nb, resources):
            raise RuntimeError(f"nnhw is not importable by this Python ({reason}): "
                               "run `pip install -e .` in the course folder, then run the command again")

    c.Autograde.autograde_preprocessors = [NnhwIsNotInstalled]
    c.GenerateFeedback.preprocessors = [NnhwIsNotInstalled]  # it would show the rubrics
else:
    c.Autograde.autograde_preprocessors = isolated_pipeline()
    # Rubrics (mark schemes of the task cells after written answers) stay out of feedback.
    c.GenerateFeedback.preprocessors = feedback_pipeline()
    # LMS bulk downloads (Canvas, Moodle names, with the times the zip records) for
    # `nbgrader zip_collect`; the LMS's time zone: c.LmsArchives.timezone.
    c.ZipCollectApp.extractor_plugin = "autograder.collect.LmsArchives"
    c.ZipCollectApp.collector_plugin = "autograder.collect.LmsFileNames"

# The kernel path, when asked for: a test cell tagged "skip-execution" would otherwise be
# skipped, i.e. scored as passed; test cells a student deleted are put back from the gradebook;
# a correct answer whose code prints a warning must not lose the points of the cell it runs in.
c.Execute.skip_cells_with_tag = "nnhw-never-skip"
c.OverwriteCells.add_missing_cells = True
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"(?s).*Warning\b.*"
# The slowest honest hidden part (training the digit network) takes about a second.
c.Execute.timeout = 120
