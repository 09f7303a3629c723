"""Grading throughput: ``nnhw grade`` against ``nbgrader autograde`` on the same class.

Builds a class in a temporary nbgrader course (a copy of this one): per four students, two
answer everything right, one is partly wrong (one realistic wrong answer per homework, taken
from tests/fixtures/wrong) and one hands in the untouched stubs.  Then it times

  * ``nnhw grade submitted/ --workers W`` (the whole class, every homework),
  * ``nbgrader autograde <hw>`` for the five homeworks (one kernel per notebook),
  * one whole submission graded by ``nnhw grade`` pinned to a single core,

checks that both tools give every autograded part the same score, and prints a table.
With ``--scaling`` it also times ``nnhw grade`` on 1, 10 and 100 students with 1 and 2 workers.

    python benchmarks/grading_throughput.py --students 20 --workers 2
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder import course
from autograder.samples import answered_notebook, with_answers_replaced

ROOT = course.ROOT
BIN = Path(sys.executable).parent
WRONG = {hw: sorted((ROOT / "tests" / "fixtures" / "wrong" / hw).glob("*.py")) for hw in course.HOMEWORKS}


def run(command, cwd, cores=None) -> float:
    """Wall seconds of ``command`` (with the venv's bin on PATH), optionally pinned to cores."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    start = time.perf_counter()
    subprocess.run(list(map(str, command)), cwd=cwd, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   preexec_fn=(lambda: os.sched_setaffinity(0, cores)) if cores else None)
    return time.perf_counter() - start


def build_course(folder: Path, students: int) -> None:
    for name in ("solutions", "data", "nbgrader_config.py"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, folder / name)
    for homework in course.HOMEWORKS:
        run(["nbgrader", "generate_assignment", homework, "--force"], folder)
    write_class(folder / "submitted", students)


def write_class(submitted: Path, students: int) -> None:
    for index in range(students):
        for homework in course.HOMEWORKS:
            kind = ("right", "right", "wrong", "stub")[index % 4]
            if kind == "stub":
                notebook = json.loads(course.release_notebook(homework).read_text(encoding="utf-8"))
            elif kind == "wrong":
                fixture = WRONG[homework][index // 4 % len(WRONG[homework])]
                notebook = with_answers_replaced(answered_notebook(homework), fixture.read_text("utf-8"))
            else:
                notebook = answered_notebook(homework)
            path = submitted / f"student{index:03d}" / homework / f"{homework}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(notebook, ensure_ascii=False), encoding="utf-8")


def nbgrader_scores(folder: Path) -> dict:
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}") as gradebook:
        for homework in course.HOMEWORKS:
            for submission in gradebook.assignment_submissions(homework):
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        if not grade.name.startswith("written-"):
                            scores[(submission.student.id, homework, grade.name)] = grade.auto_score
    return scores


def nnhw_scores(out: Path) -> dict:
    return {(r["student"], r["homework"], t["name"]): t["score"]
            for r in json.loads((out / "results.json").read_text(encoding="utf-8"))
            for t in r["tests"] if t["status"] != "manual"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-nbgrader", action="store_true")
    parser.add_argument("--scaling", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="nnhw-bench-"))
    try:
        build_course(folder, args.students)
        notebooks = args.students * len(course.HOMEWORKS)
        rows = []
        seconds = run([sys.executable, "-m", "autograder.cli", "grade", "submitted", "--out", "out",
                       "--workers", args.workers], folder)
        rows.append((f"nnhw grade --workers {args.workers}", notebooks, seconds))
        one = folder / "submitted" / "student000"
        single = run([sys.executable, "-m", "autograder.cli", "grade", one, "--out", "one"], folder,
                     cores={0})
        rows.append(("nnhw grade, 1 submission, 1 core", len(course.HOMEWORKS), single))
        if not args.skip_nbgrader:
            seconds = sum(run(["nbgrader", "autograde", hw, "--force"], folder) for hw in course.HOMEWORKS)
            rows.append(("nbgrader autograde (5 homeworks)", notebooks, seconds))
        print(f"\n{args.students} students × {len(course.HOMEWORKS)} notebooks, {os.cpu_count()} cores")
        print(f"{'':38} {'notebooks':>9} {'wall s':>8} {'s/notebook':>10}")
        for name, count, wall in rows:
            print(f"{name:38} {count:>9} {wall:>8.1f} {wall / count:>10.3f}")
        if not args.skip_nbgrader:
            ratio = rows[2][2] / rows[0][2]
            print(f"nnhw grade is {ratio:.1f}× faster than nbgrader autograde on the same class")
            ours, theirs = nnhw_scores(folder / "out"), nbgrader_scores(folder)
            differ = sorted(key for key in ours if ours[key] != theirs.get(key))
            print(f"same scores: {not differ} ({len(ours)} autograded parts compared"
                  + (f"; differ: {differ[:5]}" if differ else "") + ")")
        if args.scaling:
            for students in (1, 10, 100):
                shutil.rmtree(folder / "submitted")
                write_class(folder / "submitted", students)
                for workers in (1, 2):
                    wall = run([sys.executable, "-m", "autograder.cli", "grade", "submitted", "--out",
                                f"scale-{students}-{workers}", "--workers", workers], folder)
                    print(f"scaling: {students:>3} students, {workers} worker(s): {wall:6.1f} s "
                          f"({wall / students:.2f} s per student)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
