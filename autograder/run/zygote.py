"""The fork server: a pristine process that forks a fresh child for every submission.

Starting a Python interpreter and importing numpy costs about 0.15 s; forking a process that
already did costs milliseconds.  The zygote imports everything a child needs, then waits on a
Unix socket for the grader: each request carries a child's configuration and its three pipe
ends.  It never runs student code, and every child is forked from it in the same pristine state.

Each child is forked twice (zygote → intermediate → child) and the intermediate exits at once,
so the child is re-parented to the grader, a subreaper: the grader waits for it and reads its
exit status as it would for its own child.  Standalone: stdlib and numpy only.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import time
import traceback

from . import child, confine, executor, observe  # noqa: F401  (imported so forked children have them)

REQUEST_BYTES = 1 << 20


def serve(sock: socket.socket, grader: int) -> None:
    while True:
        message, fds, _, _ = socket.recv_fds(sock, REQUEST_BYTES, 4)
        if not message:
            return
        config = json.loads(message)
        read_pid, write_pid = os.pipe()
        intermediate = os.fork()
        if intermediate == 0:
            sock.close()
            os.close(read_pid)
            pid = os.fork()
            if pid == 0:
                os.close(write_pid)
                _become_child(config, fds, grader)
            os.write(write_pid, str(pid).encode())
            os._exit(0)  # the child is re-parented to the grader
        os.close(write_pid)
        os.waitpid(intermediate, 0)
        pid = int(os.read(read_pid, 32) or b"0")
        os.close(read_pid)
        for fd in fds:
            os.close(fd)
        sock.sendall(json.dumps({"pid": pid}).encode() + b"\n")


def _become_child(config: dict, fds: list[int], grader: int) -> None:
    requests, replies, output, facts = fds
    status = 0
    try:
        os.setsid()
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
        deadline = time.monotonic() + 5
        while os.getppid() != grader:  # wait until the intermediate is gone
            if time.monotonic() > deadline:
                os._exit(70)
            time.sleep(0.0005)
        child.main([json.dumps({**config, "requests_fd": requests, "replies_fd": replies,
                                "facts_fd": facts})])
    except BaseException:  # e.g. the confinement failed: the grader reads this from the output
        traceback.print_exc()
        status = 1
    finally:
        os._exit(status)


def main(argv: list[str]) -> None:
    fd, grader = int(argv[0]), int(argv[1])
    confine.die_with_parent(15)  # SIGTERM: the zygote ends with its grader
    serve(socket.socket(fileno=fd), grader)


if __name__ == "__main__":
    main(sys.argv[1:])
