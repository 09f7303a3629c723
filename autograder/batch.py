"""A class's worth of submissions: graded in parallel, recorded as each one finishes.

Every finished (student, homework) is appended to ``journal.jsonl`` in the output folder at
once, with a fingerprint of the submission and of the grader; a rerun skips what the journal
already holds (unless ``force``), so an interrupted batch resumes where it stopped.  The
reports are rewritten from the journal at the end.
"""
from __future__ import annotations

import concurrent.futures
import hashlib
import json
import multiprocessing
import os
import sys
from pathlib import Path
from typing import Callable

from . import course, load, report
from .run.sandbox import Isolation, detect_isolation
from .score import HomeworkResult, TestResult, grade_submission, unreadable

JOURNAL = "journal.jsonl"


def grader_fingerprint() -> str:
    """Changes whenever the grader's code or a source notebook changes."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted([*package.rglob("*.py"), *course.SOLUTIONS.rglob("*.ipynb")]):
        digest.update(path.relative_to(course.ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def read_journal(out: Path) -> dict[str, dict]:
    """Journal entries by submission key; a torn last line (a killed grader) is ignored."""
    entries = {}
    path = out / JOURNAL
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
                entries[entry["key"]] = entry
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
    return entries


def _key(submission: load.Submission) -> str:
    return f"{submission.student}/{submission.homework}"


def _from_json(data: dict) -> HomeworkResult:
    return HomeworkResult(data["student"], data["homework"], data["score"], data["max_score"],
                          tuple(TestResult(**test) for test in data["tests"]))


class Journal:
    def __init__(self, out: Path):
        out.mkdir(parents=True, exist_ok=True)
        self.stream = open(out / JOURNAL, "a", encoding="utf-8")

    def record(self, key: str, fingerprint: str, result: HomeworkResult) -> None:
        line = json.dumps({"key": key, "fingerprint": fingerprint, "result": result.as_json()},
                          ensure_ascii=False)
        self.stream.write(line + "\n")  # one write, then fsync: a line is there whole or torn
        self.stream.flush()
        os.fsync(self.stream.fileno())

    def close(self) -> None:
        self.stream.close()


def in_shard(student: str, shard: tuple[int, int]) -> bool:
    """Whether ``student`` belongs to shard K of N (1-based): a stable hash of the id, so all
    homeworks of a student land in the same shard on every machine."""
    k, n = shard
    return int(hashlib.sha256(student.encode()).hexdigest()[:12], 16) % n == k - 1


def grade_batch(paths: list[Path], out: Path, workers: int = 1, budget: float = 120.0,
                force: bool = False, on_result: Callable[[int, int, HomeworkResult], None] = None,
                isolation: Isolation | None = None,
                shard: tuple[int, int] = (1, 1)) -> list[HomeworkResult]:
    """Grade everything under ``paths`` (only shard K of N) into ``out``; returns every result
    of the batch."""
    submissions = [s for s in load.find_submissions(paths) if in_shard(s.student, shard)]
    isolation = (isolation or detect_isolation()).with_hidden(
        [p.resolve() for p in paths] + [out.resolve(), Path.cwd().resolve()])
    grader = grader_fingerprint()
    fingerprints = {_key(s): grader + s.digest() for s in submissions}
    journal = {} if force else read_journal(out)
    done = {key: _from_json(entry["result"]) for key, entry in journal.items()
            if fingerprints.get(key) == entry.get("fingerprint")}
    todo = [s for s in submissions if _key(s) not in done]
    results = [done[_key(s)] for s in submissions if _key(s) in done]
    writer = Journal(out)
    try:
        for submission, result in _run(todo, workers, budget, isolation):
            if result is None:  # the grader itself failed: report it, do not journal it
                result = unreadable(submission, "评分进程意外结束，重新运行即可重试 / a grader "
                                                "worker died; rerun to retry")
            else:
                writer.record(_key(submission), fingerprints[_key(submission)], result)
            results.append(result)
            if on_result:
                on_result(len(results), len(submissions), result)
    finally:
        writer.close()
    report.write_all(out, results)
    return report.ordered(results)


def merge(out: Path, shards: list[Path]) -> list[HomeworkResult]:
    """One report from the output folders of several shards (or machines)."""
    results: dict[tuple[str, str], HomeworkResult] = {}
    for folder in shards:
        for data in json.loads((folder / "results.json").read_text(encoding="utf-8")):
            result = _from_json(data)
            key = (result.student, result.homework)
            if key in results and results[key] != result:
                raise ValueError(f"{key} was graded differently in two shards")
            results[key] = result
    report.write_all(out, list(results.values()))
    return report.ordered(list(results.values()))


def _run(todo: list[load.Submission], workers: int, budget: float, isolation: Isolation):
    """(submission, result) in the order they finish; result None if the grader failed."""
    if workers <= 1 or len(todo) <= 1:
        for submission in todo:
            yield submission, grade_submission(submission, isolation, budget)
        return
    context = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = {pool.submit(grade_submission, s, isolation, budget): s for s in todo}
        for future in concurrent.futures.as_completed(futures):
            try:
                yield futures[future], future.result()
            except Exception as error:
                print(f"grader worker failed on {_key(futures[future])}: {error!r}", file=sys.stderr)
                yield futures[future], None


def warn_if_weak(isolation: Isolation) -> None:
    if isolation.mode == "none":
        print("警告 / warning: 本机不允许 Linux 命名空间，学生代码只受资源限制与进程组隔离；"
              "见 README 的安全一节 / this machine allows no Linux namespaces: student code runs "
              "with rlimits and a process group only (see the README's security section).",
              file=sys.stderr)
