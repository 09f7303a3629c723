"""The child process: confine itself, then serve the grader's requests on two pipes.

Started by ``sandbox.ChildProcess`` as ``python -c`` with one JSON argument: the descriptors of
the request and reply pipes and the confinement plan.  It imports only stdlib, numpy and the
standalone modules of this package, and all of them before the student's code runs.
"""
from __future__ import annotations

import json
import sys

from . import confine, executor, observe


def main(argv: list[str]) -> None:
    config = json.loads(argv[0])
    confine.confine(config["plan"])
    observer = observe.for_plan(config["plan"], config["facts_fd"]).install()  # before student code
    executor.main_loop(executor.Executor(), config["requests_fd"], config["replies_fd"], observer)


if __name__ == "__main__":
    main(sys.argv[1:])
