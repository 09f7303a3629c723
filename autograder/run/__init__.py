"""Step 2 of the pipeline: run a submission in an isolated child process.

``sandbox`` (grader side) starts and kills children; ``child``, ``confine``, ``executor``,
``explain``, ``wire`` and ``callables`` are the only code a child runs besides the student's.
"""
