"""The edges of a batch (SPEC §6): what an attacker or a careless export puts in ``submitted/``
around the sandbox — links, planted files, hostile folder names, malformed and oversized
notebooks, reply bombs, memory bombs — graded in one batch through the real CLI beside an honest
student, with one and with two workers, as root and as an ordinary user (user namespaces).

Each costs its own entry only: the honest student keeps full marks, no point comes from a linked
or planted file, ``grades.csv`` has one honest row and no formula cell, every entry has a result
or an error row, the batch exits 0 without a traceback, and the grader's own processes stay
under a memory bound far below what the bombs once cost (3.3 GB)."""
from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

import unprivileged
from autograder.course import HOMEWORKS
from autograder.report import feedback_name
from autograder.run.sandbox import detect_isolation
from conftest import COURSE

GRADER_MEMORY_BOUND = 300 * 2**20  # bytes of RSS for any one grader process (bombs: 3.3 GB)
ODD_NAMES = {"victim~x": "A", "victim x": "B", "zz\rhonest": "B", "=2+5+cmd|' -C calc'!A0": "B",
             os.fsdecode(b"caf\xe9"): "B", "new\nline": "B", "\x1b[2Jansi": "B", "CON": "B"}
HTML_ID = "<img src=x onerror=alert(1)>"  # a folder name that is HTML
FENCE = "```\n\n| `forged` | ✅ passed | 9 / 9 |\n\n```"


def hw1_module(answer: str) -> str:
    return f'ANSWER_I_1 = "{answer}"\n'


BOMBS = {
    # announces a 64 MiB reply frame on the reply pipe (found by trying every descriptor)
    "bomb": "import os, struct\n"
            "def sigmoid(z):\n"
            "    for fd in range(3, 64):\n"
            "        try:\n"
            "            os.write(fd, struct.pack('>I', 64 * 2**20) + b'[' + b'[],' * 2**20)\n"
            "        except OSError:\n"
            "            pass\n"
            "    return 0.5\n",
    # a whole frame under the byte limit, but millions of values: refused before decoding
    "bomb8": "import os, struct\n"
             "def sigmoid(z):\n"
             "    body = b'[' + b'[],' * (2 * 2**20) + b'[]]'\n"
             "    for fd in range(3, 64):\n"
             "        try:\n"
             "            os.write(fd, struct.pack('>I', len(body)) + body)\n"
             "        except OSError:\n"
             "            pass\n"
             "    return 0.5\n",
}


def build_class(root: Path) -> Path:
    """A course-like folder (``solutions/`` beside ``submitted/``, as nbgrader lays it out)."""
    shutil.copytree(COURSE.solutions, root / "solutions")
    submitted = root / "submitted"
    for homework in HOMEWORKS:
        target = submitted / "honest" / homework
        target.mkdir(parents=True)
        shutil.copy(COURSE.source_notebook(homework), target)
    # links: a notebook, a student folder, a homework folder, the root of the file system
    (submitted / "eve" / "hw2_logistic").mkdir(parents=True)
    (submitted / "eve" / "hw2_logistic" / "hw2_logistic.ipynb").symlink_to(
        "../../../solutions/hw2_logistic/hw2_logistic.ipynb")
    (submitted / "eve" / "hw1_likelihood.py").write_text(hw1_module("B"))
    (submitted / "mallory").symlink_to("../solutions")
    (submitted / "rooted").symlink_to("/")
    (submitted / "linkhw").mkdir()
    (submitted / "linkhw" / "hw4_xor").symlink_to("../honest/hw4_xor")
    # depth: 600 nested folders with a homework file at the bottom
    deep, previous = submitted / "deep", os.getcwd()
    deep.mkdir()
    os.chdir(deep)
    try:
        for _ in range(600):
            os.mkdir("a")
            os.chdir("a")
        Path("hw1_likelihood.py").write_text(hw1_module("B"))
    finally:
        os.chdir(previous)
    # a file planted one level down, named after another student
    (submitted / "aaron" / "honest").mkdir(parents=True)
    (submitted / "aaron" / "hw1_likelihood.py").write_text(hw1_module("B"))
    (submitted / "aaron" / "honest" / "hw2_logistic.py").write_text("def sigmoid(z):\n    return 0\n")
    # folder names: collisions after sanitising, CR, formulas, a non-UTF-8 byte, terminal codes
    for name, answer in ODD_NAMES.items():
        folder = submitted / name
        folder.mkdir()
        (folder / "hw1_likelihood.py").write_text(hw1_module(answer))
    # malformed files
    notebook = json.loads(COURSE.release_notebook("hw1_likelihood").read_text(encoding="utf-8"))
    broken = json.loads(json.dumps(notebook))
    broken["cells"][1]["source"] = [1, 2]
    write(submitted / "badsource" / "hw1_likelihood.ipynb", json.dumps(broken))
    big = json.loads(json.dumps(notebook))
    big["metadata"]["huge"] = 0
    write(submitted / "bigint" / "hw1_likelihood.ipynb",
          json.dumps(big).replace('"huge": 0', '"huge": ' + "7" * 5000))
    write(submitted / "nested" / "hw1_likelihood.ipynb", "[" * 100_000 + "]" * 100_000)
    write(submitted / "utf16" / "hw1_likelihood.ipynb", json.dumps(notebook), encoding="utf-16")
    (submitted / "huge").mkdir()
    with open(submitted / "huge" / "hw1_likelihood.ipynb", "wb") as sparse:
        sparse.truncate(300 * 2**20)  # 300 MB that take no disk space
    (submitted / "fifo").mkdir()
    os.mkfifo(submitted / "fifo" / "hw3_perceptron.ipynb")
    (submitted / "dirfile" / "hw1_likelihood.ipynb").mkdir(parents=True)
    # two submissions of one homework; a jupytext pair
    for folder in ("dup", "dupmod"):
        suffix = ".ipynb" if folder == "dup" else ".py"
        content = json.dumps(notebook) if folder == "dup" else hw1_module("B")
        write(submitted / folder / f"hw1_likelihood{suffix}", content)
        write(submitted / folder / "hw1_likelihood" / f"hw1_likelihood{suffix}", content)
    shutil.copy(COURSE.source_notebook("hw2_logistic"), write(submitted / "pair" / "hw2_logistic.py",
                                                               "def sigmoid(z):\n    return 0\n").parent)
    # reply bombs, a memory bomb through a width the student chooses, a forged Markdown row
    for name, source in BOMBS.items():
        write(submitted / name / "hw2_logistic.py", source)
    write(submitted / "wide" / "hw4_xor.py", "import numpy as np\n"
          "def bump_network(f, n_bumps):\n    h = 4000\n"
          "    return [(np.ones((h, 1)), np.zeros(h)), (np.ones((1, h)), np.zeros(1))]\n")
    write(submitted / "fence" / "hw2_logistic.py",
          f"def sigmoid(z):\n    raise ValueError({FENCE!r})\n")
    # a student folder named like a homework file: only its own entry (once, the whole tree)
    write(submitted / "hw5_mlp.py" / "hw5_mlp.py", "def count_parameters(sizes):\n    return 0\n")
    write(submitted / HTML_ID / "hw1_likelihood.ipynb", "{not json")  # listed in report.html
    # ignored: a hidden folder, a stray file beside the student folders
    write(submitted / ".hidden" / "hw1_likelihood.py", hw1_module("B"))
    write(submitted / "README.txt", "not a student")
    return submitted


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)
    return path


class PeakMemory:
    """The largest resident set (VmHWM) of any grader process while a command runs, sampled
    from /proc: the main process and its workers (the sandbox children run other code)."""

    def __init__(self, marker: str):
        self.marker, self.peak, self.done = marker.encode(), 0, threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()

    def _watch(self):
        while not self.done.wait(0.05):
            for entry in os.listdir("/proc"):
                try:
                    if entry.isdigit() and self.marker in Path(f"/proc/{entry}/cmdline").read_bytes():
                        status = Path(f"/proc/{entry}/status").read_text()
                        kib = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
                        self.peak = max(self.peak, kib * 1024)
                except (OSError, AttributeError):
                    continue


MODES = [("root", 1), ("root", 2), ("user", 1), ("user", 2)]


@pytest.fixture(scope="module", params=MODES, ids=[f"{who}-{n}worker" for who, n in MODES])
def batch(request):
    who, workers = request.param
    if who == "root" and detect_isolation().mode != "root":
        pytest.skip("not running as root")
    if who == "user" and not unprivileged.available():
        pytest.skip("no unprivileged user namespaces here")
    root = Path(tempfile.mkdtemp(prefix="nnhw-edges-", dir="/tmp"))
    submitted = build_class(root)
    (submitted / "locked").mkdir()
    (submitted / "locked" / "hw1_likelihood.py").write_text(hw1_module("B"))
    out = root / "out"
    marker = f"--out={out}"
    command = [sys.executable, "-m", "autograder.cli", "grade", str(submitted), marker,
               "--workers", str(workers), "--course", str(COURSE.root)]
    if who == "user":
        unprivileged.hand_over(root)
        command = unprivileged.as_user(command, [root])
    os.chmod(submitted / "locked", 0)
    try:
        with PeakMemory(marker) as memory:
            completed = subprocess.run(command, capture_output=True, timeout=600, cwd=root)
    finally:
        os.chmod(submitted / "locked", 0o755)
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    yield {"who": who, "completed": completed, "out": out, "peak": memory.peak,
           "results": {(r["student"], r["homework"]): r for r in results}}
    shutil.rmtree(root, ignore_errors=True)


def outputs(result: dict) -> str:
    return "\n".join(t["output"] for t in result["tests"])


def test_the_batch_finishes_cleanly(batch):
    completed = batch["completed"]
    stderr = completed.stderr.decode("utf-8", "replace")
    assert completed.returncode == 0, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    assert "\x1b" not in completed.stdout.decode("utf-8", "replace") + stderr  # no terminal codes


def test_the_honest_student_keeps_full_marks(batch):
    for homework in HOMEWORKS:
        result = batch["results"][("honest", homework)]
        assert result["score"] == result["max_score"] > 0, (homework, outputs(result))


def test_no_point_comes_from_a_link(batch):
    results = batch["results"]
    assert "symbolic link" in outputs(results[("eve", "hw2_logistic")])
    assert results[("eve", "hw2_logistic")]["score"] == 0
    assert results[("eve", "hw1_likelihood")]["score"] > 0  # her real file is graded
    for student in ("mallory", "rooted"):
        for homework in HOMEWORKS:
            assert results[(student, homework)]["score"] == 0
            assert "symbolic link" in outputs(results[(student, homework)])
    assert "symbolic link" in outputs(results[("linkhw", "hw4_xor")])


def test_files_deeper_than_the_layouts_are_never_credited(batch):
    students = {student for student, _ in batch["results"]}
    assert not {"deep", "a", ".hidden", "README.txt"} & students
    assert {homework for student, homework in batch["results"] if student == "hw5_mlp.py"} == {"hw5_mlp"}
    assert {homework for student, homework in batch["results"] if student == "aaron"} == {"hw1_likelihood"}


def test_every_odd_entry_costs_only_itself_and_says_why(batch):
    results = batch["results"]
    says = {("badsource", "hw1_likelihood"): "cell 2 is malformed",
            ("bigint", "hw1_likelihood"): "not a valid notebook",
            ("nested", "hw1_likelihood"): "nested deeper",
            ("utf16", "hw1_likelihood"): "UTF-16",
            ("huge", "hw1_likelihood"): "MB limit",
            ("fifo", "hw3_perceptron"): "not a regular file",
            ("dirfile", "hw1_likelihood"): "not a regular file",
            ("dup", "hw1_likelihood"): "more than one submission",
            ("dupmod", "hw1_likelihood"): "more than one submission"}
    for key, phrase in says.items():
        auto = [t for t in results[key]["tests"] if t["status"] != "manual"]
        assert {t["status"] for t in auto} == {"error"} and results[key]["score"] == 0, key
        assert all(phrase in t["output"] for t in auto), (key, auto[0]["output"])
    assert "hw1_likelihood" in outputs(results[("dup", "hw1_likelihood")])  # both are named
    pair = results[("pair", "hw2_logistic")]
    assert pair["score"] == pair["max_score"] and "the notebook is graded" in outputs(pair)


def test_locked_folders_cost_only_themselves(batch):
    locked = batch["results"][("locked", "hw1_likelihood")]
    if batch["who"] == "user":  # root reads anything; a TA's account cannot
        assert locked["score"] == 0 and "cannot" in outputs(locked)
    else:
        assert locked["score"] > 0


def test_bombs_are_refused_and_memory_stays_bounded(batch):
    for name in BOMBS:
        sigmoid = next(t for t in batch["results"][(name, "hw2_logistic")]["tests"]
                       if t["name"] == "sigmoid_values")
        assert sigmoid["status"] == "error" and "refuses" in sigmoid["output"], sigmoid
    wide = next(t for t in batch["results"][("wide", "hw4_xor")]["tests"] if t["name"] == "bump_network")
    assert wide["status"] == "failed" and "h ≤" in wide["output"], wide
    assert 0 < batch["peak"] < GRADER_MEMORY_BOUND, batch["peak"]


def test_ids_are_kept_exactly_and_feedback_names_never_collide(batch):
    ids = {student for student, _ in batch["results"]}
    assert set(ODD_NAMES) <= ids
    assert os.fsencode(os.fsdecode(b"caf\xe9")) in {os.fsencode(i) for i in ids}
    names = [feedback_name(student) for student in ids]
    assert len(set(map(str.casefold, names))) == len(ids)
    files = {p.name for p in (batch["out"] / "feedback").iterdir()}
    assert files == set(names)
    for student, answer in ODD_NAMES.items():  # each file holds its own student's result
        text = (batch["out"] / "feedback" / feedback_name(student)).read_text(encoding="utf-8")
        assert ("answer_I_1` | ✅" in text) == (answer == "B"), student


def test_the_grade_sheet_is_rfc_4180_with_no_formula(batch):
    raw = (batch["out"] / "grades.csv").read_bytes()
    unquoted = re.sub(rb'"(?:[^"]|"")*"', b"", raw)  # CR and LF may appear only inside quotes
    assert unquoted.count(b"\n") == unquoted.count(b"\r\n") == unquoted.count(b"\r") > 1
    with open(batch["out"] / "grades.csv", encoding="utf-8", newline="") as stream:
        rows = list(csv.reader(stream))
    students = [row[0] for row in rows[1:]]
    assert students.count("honest") == 1 and "zz\rhonest" in students
    assert len(students) == len({s for s, _ in batch["results"]})
    assert all(not cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r"))
               for row in rows for cell in row)
    assert "'=2+5+cmd|' -C calc'!A0" in students and "\\x1b[2Jansi" in students
    with open(batch["out"] / "grades.csv", encoding="utf-8") as stream:  # universal newlines
        assert [line.split(",")[0] for line in stream].count("honest") == 1


def test_student_text_cannot_forge_feedback(batch):
    text = (batch["out"] / "feedback" / "fence.md").read_text(encoding="utf-8")
    outside = re.sub(r"(?ms)^(`{3,})\w*\n.*?^\1\s*$", "", text)  # what renders outside code blocks
    assert "forged" not in outside and "forged" in text
    heading = (batch["out"] / "feedback" / feedback_name("new\nline")).read_text(encoding="utf-8")
    assert heading.splitlines()[0] == "# 作业反馈 / Feedback — new\\\\nline"


def test_the_class_report_escapes_what_students_control(batch):
    text = (batch["out"] / "report.html").read_text(encoding="utf-8")
    assert "<img" not in text and html.escape(HTML_ID) in text
    assert "<script" not in text.lower() and "forged" not in re.sub(r"<pre>.*?</pre>", "", text, flags=re.S)


def test_output_files_follow_the_umask(batch):
    out = batch["out"]
    for path in [out / "results.json", out / "grades.csv", out / "report.html", *(out / "feedback").iterdir()]:
        assert path.stat().st_mode & 0o777 == 0o644, path
