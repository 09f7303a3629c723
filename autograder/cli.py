"""The ``nnhw`` command: a thin layer over the pipeline's steps."""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from . import course


def _grade(args) -> int:
    from . import batch, report

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
                                force=args.force, on_result=progress, isolation=isolation,
                                shard=args.shard)
    if not results and args.shard == (1, 1):  # an empty shard of a batch is fine
        print("没有找到提交 / no submissions found (hw1_likelihood.ipynb, hw2_logistic.py, …)",
              file=sys.stderr)
        return 2
    print(report.summary_table(results))
    print(f"→ {Path(args.out) / 'results.json'}, {Path(args.out) / 'grades.csv'}, "
          f"{Path(args.out) / 'feedback'}/")
    return 1 if any(report.not_graded(r) for r in results) else 0


def _check(args) -> int:
    from . import check, load

    paths = [Path(p) for p in args.paths] or [course.ASSIGNMENTS]
    found = load.find_submissions(paths)
    if not found:
        print("没有找到作业 / no homework notebooks found (hw1_likelihood.ipynb …)", file=sys.stderr)
        return 2
    reports = []
    for submission in found:
        try:
            reports.append(check.check(submission.path, submission.homework))
        except load.SubmissionError as error:
            print(f"⚠️ {submission.path}: {error}")
            return 1
        print(check.render(reports[-1]), end="\n\n", flush=True)
    print(check.FOOTER)
    return 0 if all(report.all_passed for report in reports) else 1


def _merge(args) -> int:
    from . import batch, report

    missing = [folder for folder in args.shards if not (Path(folder) / "results.json").exists()]
    if missing:
        print(f"没有 results.json / no results.json in: {', '.join(missing)}", file=sys.stderr)
        return 2
    results = batch.merge(Path(args.out), [Path(folder) for folder in args.shards])
    print(report.summary_table(results))
    return 0


def _shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError("K/N, e.g. 2/8") from None
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError("K/N needs 1 ≤ K ≤ N")
    return k, n


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


def _release(args) -> int:
    from . import release

    try:
        written = release.release(Path(args.folder))
    except release.ReleaseError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"学生版已写入 / student bundle written: {args.folder} ({len(written)} files)")
    return 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="nnhw", description="神经网络作业 / Lecture 2 homework: "
                                   "grade, self-check, release.")
    verbs = main.add_subparsers(dest="verb", required=True)
    self_check = verbs.add_parser("check", help="run the public checks on your own work "
                                  "(自查 / self-check)")
    self_check.add_argument("paths", nargs="*", metavar="NOTEBOOK",
                            help="notebooks, .py files or folders (default: assignments/)")
    self_check.set_defaults(run=_check)
    if importlib.util.find_spec("autograder.hidden") is None:
        return main  # a student bundle: only the self-check is there
    grade = verbs.add_parser("grade", help="grade submissions in isolated child processes")
    grade.add_argument("paths", nargs="+", metavar="PATH",
                       help="notebooks, .py modules, student folders or a submitted/ tree")
    grade.add_argument("--out", default="out", help="output folder (default: out)")
    grade.add_argument("--workers", type=int, default=1, help="submissions graded in parallel")
    grade.add_argument("--timeout", type=float, default=120.0,
                       help="wall-time budget in seconds for one homework of one student")
    grade.add_argument("--force", action="store_true",
                       help="regrade everything, even what the output folder already holds")
    grade.add_argument("--shard", type=_shard, default=(1, 1), metavar="K/N",
                       help="grade only shard K of N (students split by a stable hash); "
                       "combine the shards' folders with `nnhw merge`")
    grade.set_defaults(run=_grade)
    combine = verbs.add_parser("merge", help="combine the output folders of several shards")
    combine.add_argument("shards", nargs="+", metavar="SHARD_OUT", help="output folders of shards")
    combine.add_argument("--out", default="out", help="output folder (default: out)")
    combine.set_defaults(run=_merge)
    secure = verbs.add_parser("autograde", help="nbgrader autograde, with the isolated grader "
                              "instead of a kernel (the secure path for TAs)")
    secure.add_argument("homework", help="assignment id, e.g. hw2_logistic")
    secure.add_argument("--student", action="append", help="only these students (repeatable)")
    secure.add_argument("--course", default=".", help="the nbgrader course directory (default: .)")
    secure.set_defaults(run=_autograde)
    bundle = verbs.add_parser("release", help="write the student bundle (notebooks, data, "
                              "public checks; no answers, no hidden tests)")
    bundle.add_argument("folder", help="a new or empty folder")
    bundle.set_defaults(run=_release)
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
