"""nbgrader configuration of the nnhw course directory (this repository).

The source notebooks (reference answers) live in ``solutions/``, the generated student notebooks
in ``assignments/``.  The rest hardens nbgrader's autograde against known weaknesses; see the
TA guide in README.md and ``tests/test_nbgrader.py``, which runs every command for real.
"""
c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "nnhw"
c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".hypothesis"]

# A test cell tagged "skip-execution" would otherwise be skipped, i.e. scored as passed.
c.Execute.skip_cells_with_tag = "nnhw-never-skip"
# Test cells a student deleted are put back from the gradebook.
c.OverwriteCells.add_missing_cells = True
# A correct answer whose code prints a warning must not lose the points of the cell it runs in.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"(?s).*Warning\b.*"
# The slowest honest hidden part (training the digit network) takes about a second.
c.Execute.timeout = 120
