"""The ``nnhw`` command: a thin layer over the pipeline's steps."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import batch, report


def _grade(args) -> int:
    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print(f"找不到 / not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    isolation = batch.detect_isolation()
    batch.warn_if_weak(isolation)

    def progress(done, total, result):
        print(report.progress_line(done, total, result), file=sys.stderr, flush=True)

    results = batch.grade_batch(paths, Path(args.out), workers=args.workers, budget=args.timeout,
                                force=args.force, on_result=progress, isolation=isolation)
    if not results:
        print("没有找到提交 / no submissions found (hw1_likelihood.ipynb, hw2_logistic.py, …)",
              file=sys.stderr)
        return 2
    print(report.summary_table(results))
    print(f"→ {Path(args.out) / 'results.json'}, {Path(args.out) / 'grades.csv'}, "
          f"{Path(args.out) / 'feedback'}/")
    return 1 if any(report.not_graded(r) for r in results) else 0


def _autograde(args) -> int:
    from . import gradebook  # imports nbgrader: only this verb needs it

    outcomes = gradebook.autograde(Path(args.course), args.homework, args.student or None)
    if not outcomes:
        print(f"没有找到提交 / no submissions in {Path(args.course) / 'submitted'}/*/{args.homework}/",
              file=sys.stderr)
        return 2
    for student, outcome in outcomes.items():
        mark = "✅" if outcome["success"] else "⚠️"
        print(f"{mark} {student} {args.homework}", file=sys.stderr)
        if not outcome["success"]:
            print(outcome.get("error") or outcome.get("log", ""), file=sys.stderr)
    return 0 if all(o["success"] for o in outcomes.values()) else 1


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="nnhw", description="神经网络作业 / Lecture 2 homework: "
                                   "grade, self-check, release.")
    verbs = main.add_subparsers(dest="verb", required=True)
    grade = verbs.add_parser("grade", help="grade submissions in isolated child processes")
    grade.add_argument("paths", nargs="+", metavar="PATH",
                       help="notebooks, .py modules, student folders or a submitted/ tree")
    grade.add_argument("--out", default="out", help="output folder (default: out)")
    grade.add_argument("--workers", type=int, default=1, help="submissions graded in parallel")
    grade.add_argument("--timeout", type=float, default=120.0,
                       help="wall-time budget in seconds for one homework of one student")
    grade.add_argument("--force", action="store_true",
                       help="regrade everything, even what the output folder already holds")
    grade.set_defaults(run=_grade)
    secure = verbs.add_parser("autograde", help="nbgrader autograde, with the isolated grader "
                              "instead of a kernel (the secure path for TAs)")
    secure.add_argument("homework", help="assignment id, e.g. hw2_logistic")
    secure.add_argument("--student", action="append", help="only these students (repeatable)")
    secure.add_argument("--course", default=".", help="the nbgrader course directory (default: .)")
    secure.set_defaults(run=_autograde)
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
