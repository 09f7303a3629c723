"""A class's worth of submissions: graded by worker processes, recorded as each one finishes.

Every finished (student, homework) is appended to ``journal.jsonl`` in the output folder at
once, with a fingerprint of the submission and of the grader; a rerun skips what the journal
already holds (unless ``force``).  The journal is the truth of an output folder: the reports
are always rebuilt from all of it, so an interrupted batch leaves reports of what finished, a
rerun resumes where it stopped, and grading a few students into a class's folder updates their
rows and keeps everyone else's.

Grading happens in worker processes (one even for ``workers=1``): a worker that dies — the
grader's own bug, the kernel's OOM killer — costs only the submission it held, which is retried
once in a fresh worker and then becomes an error row.  Workers ignore Ctrl-C; the main process
stops them at once and writes what finished.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import multiprocessing.connection
import os
import resource
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Callable, Iterable

from . import class_report, discover, load, report
from .course import HOMEWORKS, Course
from .run.confine import die_with_parent
from .run.sandbox import Isolation, strong_isolation
from .score import HomeworkResult, TestResult, grade_submission, unreadable

JOURNAL = "journal.jsonl"
RETRY = "retry"  # the fingerprint of a result a rerun must redo (its worker died)
# A worker's own address space: far above what grading needs (≈ 300 MB), far below the machine.
WORKER_MEMORY_BYTES = 6 * 2**30
# A worker that holds one submission longer than this is stuck (the homework budget is enforced
# inside it; this is the backstop for the grader's own bugs).
WORKER_GRACE_SECONDS = 120.0


class Interrupted(Exception):
    """Ctrl-C or SIGTERM: the batch stopped early (finished results are in the journal)."""


def grader_fingerprint(course: Course) -> str:
    """Changes whenever the grader's code or a source notebook of the course changes."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    files = [(f"autograder/{p.relative_to(package).as_posix()}", p) for p in package.rglob("*.py")]
    files += [(p.relative_to(course.root).as_posix(), p) for p in course.solutions.rglob("*.ipynb")]
    for name, path in sorted(files):
        digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def key_of(student: str, homework: str) -> str:
    return json.dumps([student, homework])


def read_journal(out: Path) -> dict[str, dict]:
    """The latest journal entry of each (student, homework); a torn last line (a killed grader)
    and anything else that is not an entry of ours are ignored."""
    entries = {}
    path = out / JOURNAL
    if path.exists():
        with path.open(encoding="utf-8", errors="surrogateescape") as stream:
            for line in stream:
                try:
                    entry = json.loads(line)
                    result = result_from_json(entry["result"], entry.get("facts", ()))
                except (ValueError, KeyError, TypeError, AttributeError):
                    continue
                entries[key_of(result.student, result.homework)] = {**entry, "result": result}
    return entries


def result_from_json(data: dict, facts=()) -> HomeworkResult:
    tests = tuple(TestResult(**test) for test in data["tests"])
    if data["homework"] not in HOMEWORKS or not isinstance(data["student"], str):
        raise ValueError("not a result")
    return HomeworkResult(data["student"], data["homework"], data["score"], data["max_score"], tests,
                          tuple(str(fact) for fact in facts))


class Journal:
    def __init__(self, out: Path):
        out.mkdir(parents=True, exist_ok=True)
        self.stream = open(out / JOURNAL, "a", encoding="utf-8")

    def record(self, fingerprint: str, result: HomeworkResult) -> None:
        line = report.json_text({"fingerprint": fingerprint, "result": result.as_json(),
                                 "facts": list(result.facts)})
        self.stream.write(line + "\n")  # one write, then fsync: a line is there whole or torn
        self.stream.flush()
        os.fsync(self.stream.fileno())

    def close(self) -> None:
        self.stream.close()


def in_shard(student: str, shard: tuple[int, int]) -> bool:
    """Whether ``student`` belongs to shard K of N (1-based): a stable hash of the id, so all
    homeworks of a student land in the same shard on every machine."""
    k, n = shard
    digest = hashlib.sha256(student.encode("utf-8", "surrogateescape")).hexdigest()
    return int(digest[:12], 16) % n == k - 1


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one ``grade_batch`` did: its submissions' results, and how they came about."""
    results: list[HomeworkResult]  # this batch's submissions, in report order
    graded: int
    reused: int
    interrupted: bool


def grade_batch(course: Course, paths: Iterable[Path], out: Path, workers: int = 1,
                budget: float = 120.0, force: bool = False,
                on_result: Callable[[int, int, HomeworkResult], None] | None = None,
                isolation: Isolation | None = None, shard: tuple[int, int] = (1, 1),
                on_stop: Callable[[], None] | None = None) -> Outcome:
    """Grade everything under ``paths`` (only shard K of N) into ``out``.  Interrupted (Ctrl-C,
    SIGTERM) → stops within a second, writes the reports of what the journal holds and returns
    with ``interrupted``.  DiscoveryError if a path named cannot be read."""
    paths = list(paths)
    submissions = [s for s in discover.find_submissions(paths) if in_shard(s.student, shard)]
    isolation = (isolation or strong_isolation()).with_hidden(
        [Path(p).resolve() for p in paths] + [out.resolve(), Path.cwd().resolve(), course.root])
    grader = grader_fingerprint(course)
    fingerprints = {key_of(s.student, s.homework): grader + s.digest() for s in submissions}
    journal = read_journal(out)
    reused = {key: entry["result"] for key, entry in journal.items()
              if not force and fingerprints.get(key) == entry.get("fingerprint")}
    todo = [s for s in submissions if key_of(s.student, s.homework) not in reused]
    finished = dict(reused)
    writer = Journal(out)
    interrupted = False
    try:
        with stopping_on_signals():
            for submission, result, fingerprint in _graded(course, todo, workers, budget, isolation):
                key = key_of(submission.student, submission.homework)
                writer.record(fingerprint or fingerprints[key], result)
                finished[key] = result
                if on_result:
                    on_result(len(finished) - len(reused), len(todo), result)
    except Interrupted:
        interrupted = True
        if on_stop:
            on_stop()
    finally:
        writer.close()
        everything = [entry["result"] for entry in read_journal(out).values()]
        report.write_all(out, everything)
        class_report.write(course, out, everything)
    mine = [finished[key] for key in fingerprints if key in finished]
    return Outcome(report.ordered(mine), len(finished) - len(reused), len(reused), interrupted)


def merge(course: Course, out: Path, shards: list[Path]) -> list[HomeworkResult]:
    """One report from the output folders of several shards (or machines); ValueError if two
    shards graded one submission differently."""
    results: dict[str, HomeworkResult] = {}
    for folder in shards:
        text = (folder / "results.json").read_text(encoding="utf-8")
        for data in json.loads(text):
            result = result_from_json(data)
            key = key_of(result.student, result.homework)
            if key in results and results[key] != result:
                raise ValueError(f"{report.text.one_line(result.student)}/{result.homework} was "
                                 "graded differently in two shards")
            results[key] = result
    report.write_all(out, list(results.values()))
    class_report.write(course, out, list(results.values()))
    return report.ordered(list(results.values()))


# -- workers -------------------------------------------------------------------------------------
def _graded(course: Course, todo: list[load.Submission], workers: int, budget: float,
            isolation: Isolation):
    """(submission, result, fingerprint or None) in the order they finish.  A submission whose
    worker died twice gets an error row, journaled with the RETRY fingerprint."""
    if not todo:
        return
    pool = _Pool(min(max(workers, 1), len(todo)), course, isolation, budget)
    queue = list(reversed(todo))
    deaths: dict[tuple[str, str], int] = {}
    try:
        while queue or pool.busy:
            while queue and pool.idle:
                pool.assign(queue.pop())
            for submission, result in pool.wait():
                if result is not None:
                    yield submission, result, None
                    continue
                key = (submission.student, submission.homework)
                deaths[key] = deaths.get(key, 0) + 1
                if deaths[key] < 2:
                    queue.append(submission)
                else:
                    yield submission, unreadable(course, submission, (
                        "评分进程两次意外结束，重新运行即可重试 / the grader's worker died twice on "
                        "this submission; rerun to retry")), RETRY
    finally:
        pool.close()


class _Pool:
    """Worker processes, each grading one submission at a time over a pipe."""

    def __init__(self, size: int, course: Course, isolation: Isolation, budget: float):
        self.course, self.isolation, self.budget = course, isolation, budget
        self.context = multiprocessing.get_context("fork")
        self.workers = [self._start() for _ in range(size)]

    def _start(self) -> dict:
        ours, theirs = self.context.Pipe()
        process = self.context.Process(target=_work, args=(theirs, self.course, self.isolation,
                                                           self.budget), daemon=True)
        # Blocked, not ignored: a Ctrl-C during the fork still reaches us once it is done.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        theirs.close()
        return {"process": process, "pipe": ours, "job": None, "since": 0.0}

    @property
    def idle(self) -> bool:
        return any(worker["job"] is None for worker in self.workers)

    @property
    def busy(self) -> bool:
        return any(worker["job"] is not None for worker in self.workers)

    def assign(self, submission: load.Submission) -> None:
        worker = next(w for w in self.workers if w["job"] is None)
        worker["job"], worker["since"] = submission, time.monotonic()
        try:
            worker["pipe"].send(submission)
        except OSError:  # it died while idle: the next wait() finds it
            pass

    def wait(self) -> list[tuple[load.Submission, HomeworkResult | None]]:
        """(submission, result or None if its worker died) of the jobs that ended."""
        handles = {}
        for worker in self.workers:
            if worker["job"] is not None:
                handles[worker["pipe"]] = worker
                handles[worker["process"].sentinel] = worker
        ready = multiprocessing.connection.wait(list(handles), timeout=0.5)
        ended = {id(handles[handle]): handles[handle] for handle in ready}
        for worker in self.workers:
            if worker["job"] is not None and time.monotonic() - worker["since"] > \
                    self.budget + WORKER_GRACE_SECONDS:
                worker["process"].kill()  # stuck: the grader's own bug, backstopped here
                ended[id(worker)] = worker
        return [self._collect(worker) for worker in ended.values()]

    def _collect(self, worker: dict) -> tuple[load.Submission, HomeworkResult | None]:
        submission, result = worker["job"], None
        try:
            if worker["pipe"].poll():
                result = worker["pipe"].recv()
        except (EOFError, OSError):
            result = None
        if result is None or not worker["process"].is_alive():
            self._stop(worker)
            worker.update(self._start())
        worker["job"] = None
        return submission, result

    @staticmethod
    def _stop(worker: dict) -> None:
        worker["process"].kill()
        worker["process"].join()
        worker["pipe"].close()

    def close(self) -> None:
        for worker in self.workers:
            self._stop(worker)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _work(pipe, course: Course, isolation: Isolation, budget: float) -> None:
    """A worker: grade what arrives until the pipe closes; dies with the batch."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal's Ctrl-C is the batch's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    die_with_parent(signal.SIGKILL)
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    while True:
        try:
            submission = pipe.recv()
        except EOFError:
            return
        try:
            result = grade_submission(course, submission, isolation, budget)
        except Exception as error:  # a bug of the grader: this submission only, and say so
            traceback.print_exc(file=sys.stderr)
            result = unreadable(course, submission, f"评分程序内部错误 / internal grader error: {error!r}")
        pipe.send(result)


class stopping_on_signals:
    """While active (in the main thread), Ctrl-C and SIGTERM raise ``Interrupted``."""

    def __enter__(self):
        self.saved = {}
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self.saved[sig] = signal.signal(sig, _interrupt)
        return self

    def __exit__(self, *exc):
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)


def _interrupt(signum, frame):
    for sig in STOP_SIGNALS:  # one is enough: the rest of the stop must not be interrupted
        signal.signal(sig, signal.SIG_IGN)
    raise Interrupted(signal.Signals(signum).name)
