"""``nnhw grade`` end to end on the shipped sample submissions: the README's main job."""
from __future__ import annotations

import csv
import html.parser
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from autograder.course import HOMEWORKS
from conftest import ROOT, SAMPLES as SAMPLE_FOLDER, sandbox_processes

SAMPLES = sorted(SAMPLE_FOLDER.iterdir())
FAST_SAMPLES = [SAMPLE_FOLDER / name for name in ("partial", "syntax_error", "cheater")]
RESULT_KEYS = {"student", "homework", "score", "max_score", "tests"}
TEST_KEYS = {"name", "score", "max_score", "status", "output"}


def nnhw(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600, **kwargs)


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    out = tmp_path_factory.mktemp("samples") / "out"
    completed = nnhw("grade", *SAMPLES, "--out", out, "--workers", "2")
    return completed, out, json.loads((out / "results.json").read_text(encoding="utf-8"))


def progress_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if re.match(r"\[\s*\d+/\d+\]", line)]


def find(results, student, homework):
    return next(r for r in results if (r["student"], r["homework"]) == (student, homework))


def test_main_job_grades_every_sample(samples):
    completed, out, results = samples
    assert completed.returncode == 0, completed.stderr
    assert len(results) == 17
    for result in results:
        assert set(result) == RESULT_KEYS
        assert result["score"] == sum(t["score"] for t in result["tests"] if t["status"] != "manual")
        for test in result["tests"]:
            assert set(test) == TEST_KEYS
            assert test["status"] in {"passed", "failed", "error", "timeout", "manual"}
            assert (test["score"] is None) == (test["status"] == "manual")
    assert [(r["student"], r["homework"]) for r in results] == sorted(
        (r["student"], r["homework"]) for r in results)


def test_scores_of_the_samples(samples):
    _, _, results = samples
    for homework in HOMEWORKS:
        reference = find(results, "reference", homework)
        assert reference["score"] == reference["max_score"]
        assert find(results, "stubs", homework)["score"] == 0
    assert find(results, "cheater", "hw2_logistic")["score"] == 0
    assert find(results, "infinite_loop", "hw3_perceptron")["score"] == 8  # exercise III's parts
    statuses = {t["name"]: t["status"] for t in find(results, "partial", "hw2_logistic")["tests"]}
    assert [n for n, s in statuses.items() if s == "failed"] == [
        "sigmoid_stable", "logistic_loss_values", "logistic_loss_stable"]


def test_grades_csv_has_a_row_per_student_and_a_column_per_homework(samples):
    _, out, _ = samples
    rows = list(csv.DictReader((out / "grades.csv").open(encoding="utf-8")))
    assert [row["student"] for row in rows] == ["cheater", "infinite_loop", "partial", "reference",
                                                 "stubs", "syntax_error"]
    partial = next(row for row in rows if row["student"] == "partial")
    assert partial["hw5_mlp"] == "" and float(partial["total"]) == sum(
        float(partial[h]) for h in HOMEWORKS if partial[h])


def test_feedback_is_bilingual_and_never_shows_test_code(samples):
    _, out, _ = samples
    files = sorted((out / "feedback").glob("*.md"))
    assert [f.stem for f in files] == ["cheater", "infinite_loop", "partial", "reference", "stubs",
                                       "syntax_error"]
    text = (out / "feedback" / "partial.md").read_text(encoding="utf-8")
    assert "性质 / property" in text and "反例 / counterexample" in text and "期望 / expected" in text
    # What is autograded and what a person still grades, per homework (hw2 is worth 13 + 7).
    reference = (out / "feedback" / "reference.md").read_text(encoding="utf-8")
    assert "## hw2_logistic: 自动评分 / autograded 13 / 13（另有 7 分简答题由助教批改 / plus 7 points of " \
           "written answers a TA grades）" in reference
    hidden_sources = "".join(p.read_text() for p in (ROOT / "autograder" / "hidden").glob("*.py"))
    for file in files:
        content = file.read_text(encoding="utf-8")
        for marker in ("def _", "@given", "@prop", "ref.", "hypothesis", "expect_close", "Traceback"):
            assert marker not in content, (file.name, marker)
        for line in hidden_sources.splitlines():
            if len(line.strip()) > 30:
                assert line.strip() not in content, (file.name, line)


def test_progress_and_summary(samples):
    completed, _, _ = samples
    assert completed.stderr.count("/17]") == 17
    assert "17 submissions: 17 graded, 0 reused from the journal; 0 could not be run at all" \
        in completed.stdout


def wait_for_journal(out, entries: int):
    """Until a running batch has journaled ``entries`` submissions (at most 5 minutes); the journal."""
    journal = out / "journal.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and (not journal.exists() or
                                           len(journal.read_text().splitlines()) < entries):
        time.sleep(0.05)
    return journal


def test_grading_twice_gives_identical_bytes(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        assert nnhw("grade", *FAST_SAMPLES, "--out", out).returncode == 0
    for name in ("results.json", "grades.csv", "feedback/partial.md", "feedback/cheater.md"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_single_files_and_module_submissions(tmp_path):
    notebook = SAMPLE_FOLDER / "partial" / "hw3_perceptron" / "hw3_perceptron.ipynb"
    module = SAMPLE_FOLDER / "partial" / "hw2_logistic.py"
    completed = nnhw("grade", notebook, module, "--out", tmp_path / "out")
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [(r["student"], r["homework"]) for r in results] == [
        ("partial", "hw2_logistic"), ("partial", "hw3_perceptron")], completed.stderr


def test_usage_errors(tmp_path):
    assert nnhw("grade", tmp_path / "missing", "--out", tmp_path / "o").returncode == 2
    (tmp_path / "empty").mkdir()
    assert nnhw("grade", tmp_path / "empty", "--out", tmp_path / "o").returncode == 2


def test_an_interrupted_batch_resumes_where_it_stopped(tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "autograder.cli", "grade", *map(str, SAMPLES), "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    journal = wait_for_journal(out, 3)
    os.killpg(process.pid, signal.SIGKILL)  # the grader, mid-batch: no chance to clean up
    process.wait()
    time.sleep(1)
    assert sandbox_processes() == []  # its children died with it
    graded_before = len(journal.read_text().splitlines())
    assert 3 <= graded_before < 17
    assert not (out / "results.json").exists()
    resumed = nnhw("grade", *SAMPLES, "--out", out)
    assert resumed.returncode == 0
    assert len(progress_lines(resumed.stderr)) == 17 - graded_before  # only the missing ones
    assert f"{17 - graded_before} graded, {graded_before} reused from the journal" in resumed.stdout
    results = json.loads((out / "results.json").read_text())
    assert len(results) == 17 and find(results, "reference", "hw4_xor")["score"] == 16
    forced = nnhw("grade", SAMPLES[0], "--out", out, "--force")
    assert forced.stderr.count("/1]") == 1


def test_shards_merge_into_the_same_report(samples, tmp_path):
    _, whole, _ = samples
    shards = [tmp_path / f"shard{k}" for k in (1, 2, 3)]
    for k, folder in enumerate(shards, start=1):
        assert nnhw("grade", *SAMPLES, "--out", folder, "--shard", f"{k}/3").returncode == 0
    sizes = [len(json.loads((f / "results.json").read_text())) for f in shards]
    assert sum(sizes) == 17 and max(sizes) < 17  # every submission once, really split
    assert nnhw("merge", *shards, "--out", tmp_path / "merged").returncode == 0
    for name in ("results.json", "grades.csv", "feedback/partial.md"):
        assert (tmp_path / "merged" / name).read_bytes() == (whole / name).read_bytes(), name
    assert nnhw("grade", SAMPLES[0], "--shard", "4/3", "--out", tmp_path / "x").returncode == 2


def test_ctrl_c_stops_within_two_seconds_and_a_rerun_finishes_the_same_bytes(samples, tmp_path):
    _, whole, _ = samples
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "autograder.cli", "grade", *map(str, SAMPLES),
                                "--out", str(out), "--workers", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    journal = wait_for_journal(out, 4)
    pressed = time.monotonic()
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends: the whole group
    stdout, stderr = process.communicate(timeout=30)
    assert time.monotonic() - pressed < 2.0
    assert process.returncode == 130 and "stopped" in stderr and "Traceback" not in stderr, stderr
    time.sleep(0.5)
    assert sandbox_processes() == []
    finished = [json.loads(line)["result"] for line in journal.read_text().splitlines()]
    assert 4 <= len(finished) < 17
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    key = lambda r: (r["student"], r["homework"])  # noqa: E731
    assert sorted(results, key=key) == sorted(finished, key=key)  # exactly what the journal holds
    rows = list(csv.DictReader((out / "grades.csv").open(encoding="utf-8", newline="")))
    assert {row["student"] for row in rows} == {r["student"] for r in finished}
    resumed = nnhw("grade", *SAMPLES, "--out", out)
    assert resumed.returncode == 0
    assert len(progress_lines(resumed.stderr)) == 17 - len(finished)
    for name in ("results.json", "grades.csv", "feedback/partial.md", "feedback/reference.md"):
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name


def test_regrading_one_student_keeps_every_other_row(samples, tmp_path):
    _, whole, _ = samples
    out = tmp_path / "class"
    shutil.copytree(whole, out)
    completed = nnhw("grade", SAMPLE_FOLDER / "partial", "--out", out, "--force")
    assert completed.returncode == 0 and len(progress_lines(completed.stderr)) == 4
    for name in ("results.json", "grades.csv", "feedback/reference.md", "feedback/partial.md"):
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name


def locked_down(command: list[str]) -> list[str]:
    """``command`` where no namespace of any kind can be made (a locked-down container): a user
    namespace whose own limit of nested user namespaces is 0."""
    script = "echo 0 > /proc/sys/user/max_user_namespaces && exec \"$@\""
    return ["unshare", "--user", "--map-root-user", "sh", "-c", script, "sh", *command]


def test_weak_isolation_is_refused_with_the_fix_named(tmp_path):
    command = [sys.executable, "-m", "autograder.cli", "grade", str(SAMPLE_FOLDER / "partial"),
               "--out", str(tmp_path / "out")]
    probe = subprocess.run(locked_down(["true"]), capture_output=True)
    if probe.returncode != 0:
        pytest.skip("cannot make a user namespace to lock down here")
    refused = subprocess.run(locked_down(command), capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert "sudo sysctl user.max_user_namespaces" in refused.stderr
    assert "--allow-weak-isolation" in refused.stderr and not (tmp_path / "out" / "results.json").exists()
    allowed = subprocess.run(locked_down([*command, "--allow-weak-isolation"]), capture_output=True,
                             text=True, timeout=300)
    assert allowed.returncode == 0 and "weak isolation" in allowed.stderr, allowed.stderr
    assert len(json.loads((tmp_path / "out" / "results.json").read_text())) == 4


def test_the_advice_names_ubuntus_apparmor_switch(monkeypatch):
    from autograder.run import sandbox

    settings = {"kernel.apparmor_restrict_unprivileged_userns": "1"}
    monkeypatch.setattr(sandbox, "_sysctl", settings.get)
    advice = sandbox.weak_isolation_advice(["userns: mount: Permission denied"])
    assert "24.04" in advice and "kernel.apparmor_restrict_unprivileged_userns=0" in advice
    monkeypatch.setattr(sandbox.sys, "platform", "darwin")
    assert "docs/security.md" in sandbox.weak_isolation_advice(["darwin has no Linux namespaces"])


def test_strict_fails_only_when_a_submission_could_not_be_run(tmp_path):
    broken = tmp_path / "zoe" / "hw1_likelihood.ipynb"
    broken.parent.mkdir()
    broken.write_text("{not json")
    paths = [SAMPLE_FOLDER / "partial", broken.parent]
    assert nnhw("grade", *paths, "--out", tmp_path / "a").returncode == 0
    assert nnhw("grade", *paths, "--out", tmp_path / "b", "--strict").returncode == 1
    assert nnhw("grade", SAMPLE_FOLDER / "partial", "--out", tmp_path / "c", "--strict").returncode == 0


def test_paths_with_spaces_and_cjk_characters(tmp_path):
    submitted = tmp_path / "深度学习 作业" / "submitted"
    for student in ("张三", "li si"):
        (submitted / student / "hw2_logistic").mkdir(parents=True)
        shutil.copy(ROOT / "solutions" / "hw2_logistic" / "hw2_logistic.ipynb", submitted / student / "hw2_logistic")
    out = tmp_path / "成绩 输出"
    completed = nnhw("grade", submitted, "--out", out)
    assert completed.returncode == 0, completed.stderr
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert {(r["student"], r["score"]) for r in results} == {("张三", 13), ("li si", 13)}
    assert len(list((out / "feedback").iterdir())) == 2 and "张三" in (out / "grades.csv").read_text(encoding="utf-8")


class Page(html.parser.HTMLParser):
    """The structure of an HTML page: headings, tables' rows, and every URL it would fetch."""

    def __init__(self, text: str):
        super().__init__()
        self.headings, self.rows, self.fetches, self.tags, self._in = [], [], [], set(), None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag in ("h1", "h2"):
            self._in = (tag, [])
        if tag == "tr":
            self.rows.append([])
        self.fetches += [value for name, value in attrs if name in ("src", "href") and value]

    def handle_endtag(self, tag):
        if self._in and tag == self._in[0]:
            self.headings.append("".join(self._in[1]))
            self._in = None

    def handle_data(self, data):
        if self._in:
            self._in[1].append(data)
        elif self.rows:
            self.rows[-1].append(data)


def test_the_class_report_shows_the_class_at_a_glance(samples):
    _, out, results = samples
    page = Page((out / "report.html").read_text(encoding="utf-8"))
    assert [h.split(" / ")[-1] for h in page.headings] == [
        "Class report", "Score distributions", "Pass rate per part", "Most common failing properties",
        "Submissions that could not run or timed out", "Tried what grading does not allow",
        "Written parts waiting for a person"]
    assert "svg" in page.tags and "script" not in page.tags and page.fetches == []  # self-contained
    text = " ".join(" ".join(row) for row in page.rows)
    assert "infinite_loop" in text and "timed out" in text
    facts = [row for row in page.rows if any("(not available while grading)" in cell for cell in row)]
    assert facts and all(row[0] == "cheater" for row in facts)  # honest samples show none
    rates = {row[1]: row[3] for row in page.rows if len(row) >= 4 and row[0] == "hw2_logistic"}
    assert rates["sigmoid_values"] == f"{sum(1 for r in results if r['homework'] == 'hw2_logistic' and any(t['name'] == 'sigmoid_values' and t['status'] == 'passed' for t in r['tests']))}/4"
