"""Step 5, for the TA: ``report.html``, the class at a glance (SPEC §7).

One self-contained static page: the score distribution per homework and overall (inline SVG
drawn by matplotlib, no network, no script), each part's pass rate, the most common failing
properties with one counterexample each, the submissions that could not be run or timed out,
what submissions tried that grading does not allow (facts recorded in the sandbox, said as
facts), and the written parts still waiting for a person.  Every piece of student-controlled
text is escaped; the page depends only on the results, so the same results give the same bytes.
"""
from __future__ import annotations

import io
import re
from collections import Counter, defaultdict
from pathlib import Path

from . import load
from .course import HOMEWORKS, Course
from .report import not_graded, number, ordered, write_atomically
from .score import HomeworkResult
from .text import html_text

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif;
       margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; width: 100%; margin: 0.6em 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.number { text-align: right; font-variant-numeric: tabular-nums; }
.bar { display: inline-block; height: 0.8em; background: #4c72b0; vertical-align: middle; }
.bar.low { background: #c44e52; } pre { white-space: pre-wrap; margin: 0; font-size: 12px; }
.muted { color: #666; } figure { margin: 0; } figure svg { max-width: 100%; height: auto; }
@media print { body { margin: 0; max-width: none; } h2 { page-break-after: avoid; }
               tr, figure { page-break-inside: avoid; } .bar { print-color-adjust: exact; -webkit-print-color-adjust: exact; } }
"""
PROPERTY = re.compile(r"^性质 / property: (.*)$", re.MULTILINE)


def write(course: Course, out: Path, results: list[HomeworkResult]) -> None:
    write_atomically(out / "report.html", page(course, results))


def page(course: Course, results: list[HomeworkResult]) -> str:
    results = ordered(results)
    students = sorted({r.student for r in results})
    sections = [
        f"<h1>班级报告 / Class report</h1><p class='muted'>{len(students)} 名学生 / students, "
        f"{len(results)} 份提交 / submissions (student × homework). 分数只含自动评分部分 / scores count "
        "the autograded parts only.</p>",
        _distributions(results),
        _pass_rates(course, results),
        _failing_properties(results),
        _not_run(results),
        _facts(results),
        _written(course, results),
    ]
    return ("<!DOCTYPE html>\n<html lang='zh-Hans'><head><meta charset='utf-8'>"
            "<title>nnhw class report</title>"
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(sections) + "\n</body></html>\n")


def _distributions(results: list[HomeworkResult]) -> str:
    """Histograms of each homework's scores and of the total, as one inline SVG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_homework = defaultdict(list)
    totals: dict[str, float] = defaultdict(float)
    for result in results:
        by_homework[result.homework].append((result.score, result.max_score))
        totals[result.student] += result.score
    panels = [(h, by_homework[h]) for h in HOMEWORKS if by_homework[h]]
    if not panels:
        return "<h2>分数分布 / Score distributions</h2><p>没有结果 / no results.</p>"
    with plt.rc_context({"svg.hashsalt": "nnhw", "svg.fonttype": "none", "font.size": 9}):
        figure, axes = plt.subplots(1, len(panels) + 1, figsize=(2.3 * (len(panels) + 1), 2.2),
                                    layout="constrained")
        for ax, (homework, scores) in zip(axes, panels):
            top = max(m for _, m in scores)
            ax.hist([s for s, _ in scores], bins=max(int(top), 1), range=(0, top), color="#4c72b0")
            ax.set(title=homework, xlabel=f"score / {number(top)}", xlim=(0, top))
        axes[-1].hist(list(totals.values()), bins=20, color="#55a868")
        axes[-1].set(title="total (autograded)", xlabel="score")
        axes[0].set_ylabel("submissions")
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
        plt.close(figure)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    return f"<h2>分数分布 / Score distributions</h2><figure>{svg}</figure>"


def _pass_rates(course: Course, results: list[HomeworkResult]) -> str:
    rows = []
    for homework in HOMEWORKS:
        mine = [r for r in results if r.homework == homework]
        if not mine:
            continue
        for cell in load.graded_cells(course, homework):
            if cell.manual:
                continue
            passed = sum(1 for r in mine for t in r.tests if t.name == cell.grade_id and t.status == "passed")
            rate = passed / len(mine)
            rows.append(f"<tr><td>{homework}</td><td><code>{html_text(cell.grade_id)}</code></td>"
                        f"<td class='number'>{number(cell.points)}</td><td class='number'>{passed}/{len(mine)}</td>"
                        f"<td><span class='bar{' low' if rate < 0.5 else ''}' style='width:{rate * 200:.0f}px'>"
                        f"</span> {rate:.0%}</td></tr>")
    return ("<h2>各部分通过率 / Pass rate per part</h2><table><tr><th>作业 / homework</th><th>部分 / part</th>"
            "<th>分值 / points</th><th>通过 / passed</th><th>通过率 / rate</th></tr>" + "".join(rows) + "</table>")


def _failing_properties(results: list[HomeworkResult], most: int = 15) -> str:
    """The properties that fail most often, each with the first submission's counterexample."""
    counts: Counter = Counter()
    examples: dict[tuple, str] = {}
    for result in results:
        for test in result.tests:
            if test.status == "failed":
                found = PROPERTY.search(test.output)
                key = (result.homework, test.name, found.group(1) if found else test.output.splitlines()[0])
                counts[key] += 1
                examples.setdefault(key, test.output)
    if not counts:
        return "<h2>最常见的失败性质 / Most common failing properties</h2><p>没有 / none.</p>"
    rows = [f"<tr><td class='number'>{count}</td><td>{homework}<br><code>{html_text(part)}</code></td>"
            f"<td>{html_text(prop)}<details open><summary>一个反例 / one counterexample</summary>"
            f"<pre>{html_text(_first_lines(examples[(homework, part, prop)]))}</pre></details></td></tr>"
            for (homework, part, prop), count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:most]]
    return ("<h2>最常见的失败性质 / Most common failing properties</h2><table><tr><th>次数 / times</th>"
            "<th>部分 / part</th><th>性质 / property</th></tr>" + "".join(rows) + "</table>")


def _first_lines(text: str, lines: int = 12, width: int = 300) -> str:
    return "\n".join(line[:width] for line in text.splitlines()[:lines])


def _not_run(results: list[HomeworkResult]) -> str:
    rows = []
    for result in results:
        broken = not_graded(result)
        timed_out = [t for t in result.tests if t.status == "timeout"]
        if broken or timed_out:
            what = "无法运行 / could not be run" if broken else f"超时 / timed out ({len(timed_out)} parts)"
            message = next(t.output for t in result.tests if t.status in ("error", "timeout"))
            rows.append(f"<tr><td>{html_text(result.student)}</td><td>{result.homework}</td><td>{what}</td>"
                        f"<td><pre>{html_text(_first_lines(message, 3))}</pre></td></tr>")
    body = ("<table><tr><th>学生 / student</th><th>作业 / homework</th><th>情况 / what</th><th>原因 / why</th></tr>"
            + "".join(rows) + "</table>") if rows else "<p>没有 / none.</p>"
    return "<h2>无法运行或超时的提交 / Submissions that could not run or timed out</h2>" + body


def _facts(results: list[HomeworkResult]) -> str:
    rows = [f"<tr><td>{html_text(r.student)}</td><td>{r.homework}</td><td><ul>"
            + "".join(f"<li>{html_text(fact)}</li>" for fact in r.facts) + "</ul></td></tr>"
            for r in results if r.facts]
    intro = ("<p class='muted'>沙箱记录下的事实：代码尝试了评分时不允许的操作（都已被拒绝）。这是事实，不是结论。/ Facts "
             "recorded in the sandbox: what the code tried that grading does not allow (all of it was refused). "
             "Facts, not conclusions.</p>")
    body = ("<table><tr><th>学生 / student</th><th>作业 / homework</th><th>尝试 / tried to</th></tr>"
            + "".join(rows) + "</table>") if rows else "<p>没有 / none.</p>"
    return "<h2>尝试了不允许的操作 / Tried what grading does not allow</h2>" + intro + body


def _written(course: Course, results: list[HomeworkResult]) -> str:
    rows = []
    for homework in HOMEWORKS:
        handed_in = sum(1 for r in results if r.homework == homework)
        for cell in load.graded_cells(course, homework):
            if cell.manual and handed_in:
                rows.append(f"<tr><td>{homework}</td><td><code>{html_text(cell.grade_id)}</code></td>"
                            f"<td class='number'>{number(cell.points)}</td><td class='number'>{handed_in}</td></tr>")
    return ("<h2>待人工批改的简答题 / Written parts waiting for a person</h2><p class='muted'>在 nbgrader 的 formgrader 中批改 "
            "/ graded in nbgrader's formgrader (docs/ta-guide.md).</p><table><tr><th>作业 / homework</th>"
            "<th>单元格 / cell</th><th>分值 / points</th><th>份数 / submissions</th></tr>" + "".join(rows) + "</table>")
