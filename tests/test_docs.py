"""Every shell block of the TA guide runs, in order, in a copy of the course, and does what the
guide says it does; the formgrader block starts a real Jupyter server whose pages are loaded."""
from __future__ import annotations

import csv
import datetime
import getpass
import json
import os
import re
import signal
import subprocess
import threading
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, TA_ENV, course_copy

pytestmark = pytest.mark.slow
GUIDE = ROOT / "docs" / "ta-guide.md"
URL = re.compile(r"(http://127\.0\.0\.1:\d+)/\S*\?token=(\w+)")


def shell_blocks(text: str) -> list[tuple[str, str]]:
    """(kind, script) of every ```bash block: kind is "server" for ```bash server."""
    return re.findall(r"```bash ?(\w*)\n(.*?)```", text, flags=re.DOTALL)


def get(base: str, token: str, path: str) -> str:
    request = urllib.request.Request(base + path, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.read().decode()


def serve_and_look(script: str, course: Path, env: dict) -> dict:
    """Start the guide's server command, wait for the address it prints, load the formgrader
    pages a grader opens, stop it as Ctrl-C does; returns the pages by name."""
    server = subprocess.Popen(["bash", "-c", script], cwd=course, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
    found: list = []
    output: list[str] = []

    def read():
        for line in server.stderr:
            output.append(line)
            if not found and (match := URL.search(line)):
                found.append(match.groups())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        for _ in range(600):
            if found or server.poll() is not None:
                break
            threading.Event().wait(0.2)
        assert found, "".join(output)[-3000:]
        base, token = found[0]
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
            alice = gradebook.find_submission_notebook("hw2_logistic", "hw2_logistic", "alice").id
        # The pages fill themselves from formgrader's API: what they show is what it answers.
        return {"formgrader": get(base, token, "/formgrader"),
                "assignments": json.loads(get(base, token, "/formgrader/api/assignments")),
                "submissions": json.loads(get(base, token, "/formgrader/api/submissions/hw2_logistic")),
                "alice": get(base, token, f"/formgrader/submissions/{alice}/")}
    finally:
        os.killpg(server.pid, signal.SIGINT)  # Ctrl-C, twice: the server asks once
        threading.Event().wait(0.5)
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=60)


def test_the_ta_guide_runs_as_written(tmp_path):
    course = course_copy(tmp_path / "course")
    env = dict(TA_ENV)
    if os.geteuid() == 0:  # this test's machine only: a TA is told to add --allow-root or not be root
        config = tmp_path / "jupyter-config"
        config.mkdir()
        (config / "jupyter_server_config.json").write_text(json.dumps({"ServerApp": {"allow_root": True}}))
        env["JUPYTER_CONFIG_DIR"] = str(config)
    blocks = shell_blocks(GUIDE.read_text(encoding="utf-8"))
    assert [kind for kind, _ in blocks].count("server") == 1 and len(blocks) >= 12
    pages = {}
    for kind, script in blocks:
        if kind == "server":
            pages = serve_and_look(script, course, env)
            continue
        completed = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=course, env=env,
                                   capture_output=True, text=True, timeout=900)
        assert completed.returncode == 0, (script, completed.stdout[-2000:], completed.stderr[-2000:])

    # Formgrader, as a grader sees it: the roster's names, the rubric under each written answer.
    assert "nbgrader formgrade" in pages["formgrader"]
    assert "hw2_logistic" in {assignment["name"] for assignment in pages["assignments"]}
    shown = {row["student"]: (row["first_name"], row["last_name"], row["timestamp"] is not None)
             for row in pages["submissions"]}
    assert shown == {"alice": ("Alice", "Wang", True), "bob": ("Bob", "Zhang", True), "carolli": ("Carol", "Li", True)}
    assert "Rubric for TAs" in pages["alice"] and "似然是各样本概率之积" in pages["alice"]

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        assert gradebook.find_assignment("hw2_logistic").duedate == datetime.datetime(2026, 3, 21, 15, 59, 59)
        assert gradebook.find_student("carolli").first_name == "Carol"
        submissions = {s.student.id: s for s in gradebook.assignment_submissions("hw2_logistic")}
        assert {s: (submissions[s].score, submissions[s].total_seconds_late > 0) for s in submissions} == {
            "alice": (20, False),    # 13 autograded + 7 by hand
            "bob": (0, True),        # the cheat, 9 hours late
            "carolli": (18, False),  # her newer "(1)" copy: 13 autograded + 5 by hand
        }
        assert not any(notebook.needs_manual_grade for s in submissions.values() for notebook in s.notebooks)
        exchanged = gradebook.find_submission("hw1_likelihood", getpass.getuser())
        assert exchanged.timestamp is not None and exchanged.score == 0  # the untouched release
    assert (course / "submitted" / getpass.getuser() / "hw1_likelihood" / "timestamp.txt").exists()

    exported = {(row["assignment"], row["student_id"]): row for row in csv.DictReader((course / "grades.csv").open())}
    assert float(exported[("hw2_logistic", "alice")]["score"]) == 20
    assert exported[("hw2_logistic", "bob")]["timestamp"].startswith("2026-03-22 01:00:00")
    feedback = (course / "feedback" / "bob" / "hw2_logistic" / "hw2_logistic.html").read_text()
    assert "A TA grades the answer above by a rubric" in feedback and "Rubric for TAs" not in feedback

    header, *rows = list(csv.reader((course / "final-grades.csv").open(encoding="utf-8", newline="")))
    final = {row[0]: dict(zip(header, row)) for row in rows}
    assert final["alice"]["hw2_logistic (/20)"] == "20" and final["carolli"]["hw2_logistic (/20)"] == "18"
    assert final["alice"]["written parts not graded yet"] == ""

    assert (tmp_path / "nnhw-student" / "assignments" / "hw2_logistic" / "hw2_logistic.ipynb").exists()
    assert "<svg" in (course / "grades" / "report.html").read_text(encoding="utf-8")
    assert (course / "merged" / "grades.csv").read_text() == (course / "grades" / "grades.csv").read_text()
