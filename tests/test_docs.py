"""Every shell block of the TA guide runs, in order, in a copy of the course, and does what the
guide says it does."""
from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow
GUIDE = ROOT / "docs" / "ta-guide.md"


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL)


def test_the_ta_guide_runs_as_written(tmp_path):
    copy = tmp_path / "course"
    copy.mkdir()
    for name in ("solutions", "assignments", "data", "nbgrader_config.py"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, symlinks=True)
        else:
            shutil.copy(source, copy / name)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    blocks = shell_blocks(GUIDE.read_text(encoding="utf-8"))
    assert len(blocks) >= 6
    for block in blocks:
        completed = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=copy, env=env,
                                   capture_output=True, text=True, timeout=900)
        assert completed.returncode == 0, (block, completed.stdout[-2000:], completed.stderr[-2000:])

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{copy / 'gradebook.db'}") as gradebook:
        alice = gradebook.find_submission_notebook("hw2_logistic", "hw2_logistic", "alice")
        bob = gradebook.find_submission_notebook("hw2_logistic", "hw2_logistic", "bob")
        assert (alice.score, bob.score) == (20, 0)  # 13 autograded + 7 by hand; the cheat: 0
    rows = {row["student_id"]: row for row in csv.DictReader((copy / "grades.csv").open())}
    assert float(rows["alice"]["score"]) == 20 and float(rows["bob"]["score"]) == 0
    assert (copy / "feedback" / "bob" / "hw2_logistic" / "hw2_logistic.html").exists()
    assert (tmp_path / "nnhw-student" / "assignments" / "hw2_logistic" / "hw2_logistic.ipynb").exists()
    merged = (copy / "merged" / "grades.csv").read_text()
    assert merged == (copy / "grades" / "grades.csv").read_text()
