"""A red team of hostile submissions, graded in one batch through the real CLI next to an honest
student: each loses exactly what it breaks, the honest student keeps full marks, the output
folder holds only the grader's files, and no process a submission started outlives grading."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import unprivileged
from autograder.course import HOMEWORKS
from autograder.run.sandbox import detect_isolation
from conftest import COURSE, FIXTURES, expected_losses, patched_submission, sandbox_processes

HOSTILE = sorted((FIXTURES / "hostile").glob("hw*/*.py"))

pytestmark = pytest.mark.skipif(detect_isolation().mode == "none",
                                reason="this machine allows no namespaces: files are reachable")


@pytest.fixture(scope="module", params=["root", "user"])
def batch(request):
    """The red team graded as root (its own sandbox uid per child) and as an ordinary user
    (a user namespace, no capabilities), as a TA without root would."""
    if request.param == "root" and detect_isolation().mode != "root":
        pytest.skip("not running as root")
    if request.param == "user" and not unprivileged.available():
        pytest.skip("no unprivileged user namespaces here")
    root = Path(tempfile.mkdtemp(prefix="nnhw-hostile-", dir="/tmp"))
    submitted, out = root / "submitted", root / "out"
    for fixture in HOSTILE:
        patched_submission(submitted / f"{fixture.parent.name}-{fixture.stem}",
                           fixture.parent.name, fixture.read_text("utf-8"))
    shutil.copytree(COURSE.solutions, submitted / "honest")
    command = [sys.executable, "-m", "autograder.cli", "grade", str(submitted), "--out", str(out),
               "--workers", "2"]
    if request.param == "user":
        unprivileged.hand_over(root)
        command = unprivileged.as_user(command, [root])
    watched = [Path("/tmp"), Path.home(), Path.cwd()]
    before = {folder: snapshot(folder) for folder in watched}
    completed = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=root)
    results = {(r["student"], r["homework"]): r for r in json.loads((out / "results.json").read_text())}
    changed = {folder: changes(before[folder], snapshot(folder)) for folder in watched}
    yield {"completed": completed, "results": results, "out": out, "changed": changed}
    shutil.rmtree(root, ignore_errors=True)


def snapshot(folder: Path) -> dict[str, tuple]:
    """Each entry of ``folder``: its kind, size and modification time."""
    found = {}
    for entry in os.scandir(folder):
        info = entry.stat(follow_symlinks=False)
        found[entry.name] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return found


def changes(before: dict, after: dict) -> set[str]:
    """Names of the entries added or changed between two snapshots of a folder."""
    return {name for name, state in after.items() if before.get(name) != state}


@pytest.mark.parametrize("fixture", HOSTILE, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_hostile_submission_loses_exactly_what_it_breaks(batch, fixture):
    result = batch["results"][(f"{fixture.parent.name}-{fixture.stem}", fixture.parent.name)]
    lost = {t["name"] for t in result["tests"] if t["status"] not in ("passed", "manual")}
    assert lost == expected_losses(fixture), json.dumps(result, ensure_ascii=False, indent=1)


def test_honest_student_keeps_full_marks(batch):
    for homework in HOMEWORKS:
        result = batch["results"][("honest", homework)]
        assert result["score"] == result["max_score"] > 0, (homework, result)


def test_batch_finishes_with_a_result_for_every_submission(batch):
    assert len(batch["results"]) == len(HOSTILE) + len(HOMEWORKS)
    # every submission has rows (each hostile one lost only what it broke): exit status 0
    assert batch["completed"].returncode == 0, batch["completed"].stderr[-3000:]
    assert "0 could not be run at all" in batch["completed"].stdout


def test_nothing_outlives_grading(batch):
    assert sandbox_processes() == []


def test_forged_files_land_nowhere(batch):
    out = batch["out"]
    assert sorted(p.name for p in out.iterdir()) == ["feedback", "grades.csv", "journal.jsonl",
                                                      "report.html", "results.json"]
    for path in [out / "results.json", out / "grades.csv", out / "journal.jsonl"]:
        assert "forger" not in path.read_text(encoding="utf-8")
    for folder, changed in batch["changed"].items():  # what existed before may; nothing new
        assert not {"results.json", "grades.csv"} & changed, (folder, changed)


FACTS = {"hw2_logistic-borrows_the_reference": "import autograder (not available while grading)",
         "hw2_logistic-patches_the_checks": "replace numpy.isclose",
         "hw5_mlp-forges_results": "open ",
         "hw5_mlp-resource_attacks": "more than the 64 processes"}


def test_what_was_tried_is_recorded_as_facts(batch):
    """Facts for the TA's report, from the journal: each hostile act is there; the honest
    student, and the hostile fixtures that only break their own answers, show none."""
    facts = {}
    for line in (batch["out"] / "journal.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        facts.setdefault(entry["result"]["student"], []).extend(entry["facts"])
    for student, fact in FACTS.items():
        assert any(fact in found for found in facts[student]), (student, facts[student])
    assert not facts["honest"]
    assert not facts["hw1_likelihood-exits"] and not facts["hw2_logistic-mutates_inputs"]


def test_output_is_capped(batch):
    result = batch["results"][("hw1_likelihood-prints_200_mb", "hw1_likelihood")]
    assert len(json.dumps(result)) < 100_000


def test_messages_say_what_happened(batch):
    def output(student, homework, part):
        tests = batch["results"][(student, homework)]["tests"]
        return next(t for t in tests if t["name"] == part)

    exits = "hw1_likelihood-exits"
    assert "SystemExit" in output(exits, "hw1_likelihood", "mle_proportion_values")["output"]
    assert "ended its process" in output(exits, "hw1_likelihood", "gaussian_mle")["output"]
    assert "KeyboardInterrupt" in output(exits, "hw1_likelihood", "likelihood_stationary_points")["output"]
    signals = output("hw3_perceptron-ignores_signals", "hw3_perceptron", "perceptron_update_rule")
    assert signals["status"] == "timeout"
    loops = output("hw4_xor-loops_at_import", "hw4_xor", "bump_predict")
    assert loops["status"] == "timeout" and "loading" in loops["output"]
    memory = output("hw5_mlp-resource_attacks", "hw5_mlp", "conv2d_parameters")
    assert "MemoryError" in memory["output"]
    mutation = output("hw2_logistic-mutates_inputs", "hw2_logistic", "logistic_gradient")
    assert "does not modify its inputs" in mutation["output"]
    strange = output("hw4_xor-returns_strange_things", "hw4_xor", "xor_predict")
    assert "too large" in strange["output"]


def test_an_installation_under_tmp_stays_visible(tmp_path, monkeypatch):
    """The child's private /tmp must not hide a virtualenv that lives under /tmp (CI clones do)."""
    from autograder.run import sandbox
    from autograder.run.student import SandboxBackend, Student

    package = Path(tempfile.mkdtemp(prefix="nnhw-site-", dir="/tmp"))
    (package / "lazily_imported.py").write_text("ANSWER = 42\n")
    os.chmod(package, 0o755)
    exposed = sandbox.exposed_paths()
    monkeypatch.setattr(sandbox, "exposed_paths", lambda: [*exposed, str(package)])
    try:
        backend = SandboxBackend(detect_isolation())
        backend.add({"label": "cell 1", "source": f"import sys\nsys.path.append({str(package)!r})\n"
                     "def answer():\n    import lazily_imported\n    return lazily_imported.ANSWER\n"})
        assert Student(backend).answer() == 42
        backend.close()
    finally:
        shutil.rmtree(package)
