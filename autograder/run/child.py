"""The child process: confine itself, then serve the grader's requests on two pipes.

Started by ``sandbox.ChildProcess`` as ``python -c`` with one JSON argument: the descriptors of
the request and reply pipes and the confinement plan.  It imports only stdlib, numpy and the
standalone modules of this package, and all of them before the student's code runs.
"""
from __future__ import annotations

import json
import sys

from . import confine, executor


def main(argv: list[str]) -> None:
    config = json.loads(argv[0])
    confine.confine(config["plan"])
    executor.main_loop(executor.Executor(), config["requests_fd"], config["replies_fd"])


if __name__ == "__main__":
    main(sys.argv[1:])
