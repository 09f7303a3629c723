"""nnhw's grader: load a submission → run it in a child process → compare with the reference
→ score → report.  ``grade_part`` is the one call a notebook's hidden test cell makes."""


def grade_part(homework: str, part: str, namespace: dict):
    """Run one hidden part against a notebook's globals (nbgrader's in-kernel path)."""
    from .kernel import grade_part as run

    return run(homework, part, namespace)
