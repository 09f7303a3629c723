"""The ``nnhw`` command: a thin layer over the pipeline's steps.

Exit status of every command that grades (``grade``, ``merge``, ``autograde``), for scripts and
schedulers: 0 = every submission it was given has result rows, whatever the students did;
1 = ``--strict`` and some submission could not be run at all (it still has rows);
2 = bad arguments, nothing to grade, no course, or strong isolation unavailable;
3 = the grader itself failed (a bug: the traceback is printed); 130 = interrupted (Ctrl-C or
SIGTERM): what finished is written, and a rerun resumes.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import traceback
from pathlib import Path

from .course import Course, CourseNotFound

OK, STRICT_FAILURE, USAGE, INTERNAL, INTERRUPTED = 0, 1, 2, 3, 130


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _course(args) -> Course:
    return Course.at(args.course) if args.course else Course.find()


def _grade(args) -> int:
    from . import batch, report
    from .discover import DiscoveryError
    from .run.sandbox import WeakIsolation, strong_isolation

    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        _say(f"找不到 / not found: {', '.join(missing)}")
        return USAGE
    try:
        course = _course(args)
        isolation = strong_isolation(allow_weak=args.allow_weak_isolation)
    except (CourseNotFound, WeakIsolation) as error:
        _say(str(error))
        return USAGE
    try:
        Path(args.out).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        _say(f"无法创建输出文件夹 / cannot create the output folder {args.out}: {error.strerror}")
        return USAGE
    if isolation.mode == "none":
        _say("警告 / warning: 弱隔离：学生代码只受资源限制与进程组约束，能读到参考答案 / weak isolation: "
             "student code runs with rlimits and a process group only and can read the reference answers.")

    def progress(done, total, result):
        _say(report.progress_line(done, total, result))

    try:
        outcome = batch.grade_batch(course, paths, Path(args.out), workers=args.workers,
                                    budget=args.timeout, force=args.force, on_result=progress,
                                    isolation=isolation, shard=args.shard,
                                    on_stop=lambda: _say("正在停止… / stopping…"))
    except DiscoveryError as error:
        _say(str(error))
        return USAGE
    if outcome.interrupted:
        _say(f"已停止 / stopped: {outcome.graded} 份已批改并记入日志；重新运行同一命令即可继续 / "
             f"{outcome.graded} graded and kept in the journal; run the same command again to resume.")
        return INTERRUPTED
    if not outcome.results and args.shard == (1, 1):  # an empty shard of a batch is fine
        _say("没有找到提交 / no submissions found (hw1_likelihood.ipynb, hw2_logistic.py, …)")
        return USAGE
    broken = [r for r in outcome.results if report.not_graded(r)]
    print(report.summary_table(outcome.results))
    print(f"{len(outcome.results)} submissions: {outcome.graded} graded, {outcome.reused} reused from "
          f"the journal; {len(broken)} could not be run at all / 共 {len(outcome.results)} 份：批改 "
          f"{outcome.graded} 份，沿用日志 {outcome.reused} 份；{len(broken)} 份完全无法运行")
    out = Path(args.out)
    print(f"→ {out / 'results.json'}, {out / 'grades.csv'}, {out / 'feedback'}/, {out / 'report.html'}")
    return STRICT_FAILURE if args.strict and broken else OK


def _check(args) -> int:
    from . import check
    from .discover import DiscoveryError, find_submissions

    try:
        course = _course_for_students(args)
        found = find_submissions([Path(p) for p in args.paths] or [course.assignments])
    except (CourseNotFound, DiscoveryError) as error:
        _say(str(error))
        return USAGE
    if not found:
        _say("没有找到作业 / no homework notebooks found (hw1_likelihood.ipynb …)")
        return USAGE
    reports = []
    for submission in found:
        reports.append(check.check(course, submission))
        print(check.render(reports[-1], check.written_points(course, submission.homework)), end="\n\n",
              flush=True)
    print(check.FOOTER)
    return 0 if all(report.all_passed for report in reports) else 1


def _course_for_students(args) -> Course:
    if args.course:
        return Course.at(args.course)
    return Course.find(need_solutions=False)


def _merge(args) -> int:
    from . import batch, report

    missing = [folder for folder in args.shards if not (Path(folder) / "results.json").exists()]
    if missing:
        _say(f"没有 results.json / no results.json in: {', '.join(missing)}")
        return USAGE
    try:
        results = batch.merge(_course(args), Path(args.out), [Path(folder) for folder in args.shards])
    except CourseNotFound as error:
        _say(str(error))
        return USAGE
    except ValueError as error:
        _say(f"无法合并 / cannot merge: {error}")
        return USAGE
    print(report.summary_table(results))
    broken = [r for r in results if report.not_graded(r)]
    return STRICT_FAILURE if args.strict and broken else OK


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
    from .run.sandbox import WeakIsolation

    try:
        outcomes = gradebook.autograde(Path(args.course or "."), args.homework, args.student or None,
                                       allow_weak=args.allow_weak_isolation)
    except WeakIsolation as error:
        _say(str(error))
        return USAGE
    if not outcomes:
        _say(f"没有找到提交 / no submissions in {Path(args.course or '.') / 'submitted'}/*/{args.homework}/")
        return USAGE
    failed = 0
    for student, outcome in outcomes.items():
        if outcome["success"]:
            _say(f"✅ {student} {args.homework}: {outcome['score']:g} / {outcome['max_score']:g} "
                 "autograded points")
        else:
            failed += 1
            _say(f"⚠️ {student} {args.homework}: nbgrader could not autograde it\n"
                 f"{outcome.get('error') or outcome.get('log', '')}")
    return INTERNAL if failed else OK


def _sheet(args) -> int:
    from . import sheet

    try:
        course = _course(args)
    except CourseNotFound as error:
        _say(str(error))
        return USAGE
    database = Path(args.gradebook) if args.gradebook else course.root / "gradebook.db"
    if not database.exists():
        _say(f"没有成绩册 / no gradebook at {database} (autograde with nbgrader first, or pass --gradebook)")
        return USAGE
    if args.results and not (Path(args.results) / "results.json").exists():
        _say(f"没有 results.json / no results.json in {args.results}")
        return USAGE
    count = sheet.write(course, f"sqlite:///{database.resolve()}", Path(args.out),
                        Path(args.results) if args.results else None)
    print(f"→ {args.out}: {count} 名学生，含人工批改的分数 / students, written points included")
    return OK


def _release(args) -> int:
    from . import release

    try:
        written = release.release(_course(args), Path(args.folder))
    except (CourseNotFound, release.ReleaseError) as error:
        _say(str(error))
        return USAGE
    print(f"学生版已写入 / student bundle written: {args.folder} ({len(written)} files)")
    return OK


def _course_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--course", metavar="DIR", help="the course folder (default: the one "
                        "holding the working folder, else the repository nnhw was installed from)")


def _strict_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--strict", action="store_true", help="exit 1 when some submission could "
                        "not be run at all (it still gets error rows)")


def _weak_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-weak-isolation", action="store_true",
                        help="grade even where neither root nor user namespaces are available "
                        "(student code can then read the reference answers)")


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="nnhw", description="神经网络作业 / Lecture 2 homework: "
                                   "grade, self-check, release.")
    verbs = main.add_subparsers(dest="verb", required=True)
    self_check = verbs.add_parser("check", help="run the public checks on your own work "
                                  "(自查 / self-check)")
    self_check.add_argument("paths", nargs="*", metavar="NOTEBOOK",
                            help="notebooks, .py files or folders (default: assignments/)")
    _course_option(self_check)
    self_check.set_defaults(run=_check)
    if importlib.util.find_spec("autograder.hidden") is None:
        return main  # a student bundle: only the self-check is there
    grade = verbs.add_parser("grade", help="grade submissions in isolated child processes",
                             epilog=__doc__.split("\n\n", 1)[1])
    grade.add_argument("paths", nargs="+", metavar="PATH",
                       help="notebooks, .py modules, student folders or a submitted/ tree")
    grade.add_argument("--out", default="out", help="output folder (default: %(default)s)")
    grade.add_argument("--workers", type=int, default=1,
                       help="submissions graded in parallel (default: %(default)s)")
    grade.add_argument("--timeout", type=float, default=120.0,
                       help="wall-time budget in seconds for one homework of one student "
                       "(default: %(default)g)")
    grade.add_argument("--force", action="store_true",
                       help="regrade these submissions even if the output folder already holds them")
    grade.add_argument("--shard", type=_shard, default=(1, 1), metavar="K/N",
                       help="grade only shard K of N (students split by a stable hash); "
                       "combine the shards' folders with `nnhw merge`")
    _course_option(grade)
    _strict_option(grade)
    _weak_option(grade)
    grade.set_defaults(run=_grade)
    combine = verbs.add_parser("merge", help="combine the output folders of several shards")
    combine.add_argument("shards", nargs="+", metavar="SHARD_OUT", help="output folders of shards")
    combine.add_argument("--out", default="out", help="output folder (default: %(default)s)")
    _course_option(combine)
    _strict_option(combine)
    combine.set_defaults(run=_merge)
    secure = verbs.add_parser("autograde", help="nbgrader autograde, with the isolated grader "
                              "instead of a kernel (the secure path for TAs)")
    secure.add_argument("homework", help="assignment id, e.g. hw2_logistic")
    secure.add_argument("--student", action="append", help="only these students (repeatable)")
    secure.add_argument("--course", metavar="DIR", help="the nbgrader course folder (default: .)")
    _weak_option(secure)
    secure.set_defaults(run=_autograde)
    final = verbs.add_parser("sheet", help="the final grade sheet from nbgrader's gradebook: autograded "
                             "and written points, each column's maximum in its header")
    final.add_argument("--out", default="final-grades.csv", help="the sheet to write (default: %(default)s)")
    final.add_argument("--gradebook", metavar="DB", help="nbgrader's gradebook (default: the course's gradebook.db)")
    final.add_argument("--results", metavar="DIR", help="take the autograded points from `nnhw grade`'s "
                       "output folder instead of the gradebook")
    _course_option(final)
    final.set_defaults(run=_sheet)
    bundle = verbs.add_parser("release", help="write the student bundle (notebooks, data, "
                              "public checks; no answers, no hidden tests)")
    bundle.add_argument("folder", help="a new or empty folder")
    _course_option(bundle)
    bundle.set_defaults(run=_release)
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        _say("已中断 / interrupted")
        return INTERRUPTED
    except Exception:  # the grader's own failure: say so plainly, with what a developer needs
        traceback.print_exc()
        _say("评分程序内部错误 / internal error of nnhw (the traceback above)")
        return INTERNAL


if __name__ == "__main__":
    sys.exit(main())
