"""The same verdict on every machine (SPEC §6): a grading machine's BLAS kernel and numpy's SIMD
code must not decide a grade.  A chaotic digit network (a fixture) gives different accuracies
under different kernels when nothing is pinned; graded, every fixture gets identical verdicts
whichever kernel the grading machine would pick."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course import HOMEWORKS
from autograder.run import numerics
from conftest import COURSE, FIXTURES, fixture_files, patched_submission

CHAOTIC = FIXTURES / "wrong" / "hw5_mlp" / "chaotic_softmax.py"
# What three grading machines with AVX2 might pick: OpenBLAS kernels and numpy SIMD targets.
MACHINES = [{"OPENBLAS_CORETYPE": "Haswell"},
            {"OPENBLAS_CORETYPE": "Sandybridge", "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"},
            {"OPENBLAS_CORETYPE": "Prescott", "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"}]

pytestmark = pytest.mark.skipif(
    "avx2" not in Path("/proc/cpuinfo").read_text() if os.path.exists("/proc/cpuinfo") else True,
    reason="needs an x86-64 CPU with AVX2 to try several OpenBLAS kernels")

TRAIN_AND_SCORE = """
import json, sys
import numpy as np
np.seterr(all="ignore")
CASE_LAYERS = [64, 32, 10]
exec(open(sys.argv[1], encoding="utf-8").read())
with np.load(sys.argv[2]) as data:
    params = train_digits(data["X_train"], data["y_train"], seed=0)
    print(json.dumps(float(np.mean(predict_digits(params, data["X_test"]) == data["y_test"]))))
"""


def chaotic_accuracy(machine: dict) -> float:
    """The chaotic network's held-out accuracy, trained in a plain process with ``machine``'s
    choices of kernel in its environment."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OPENBLAS_", "NPY_"))}
    completed = subprocess.run(
        [sys.executable, "-c", TRAIN_AND_SCORE, str(CHAOTIC), str(COURSE.data / "digits.npz")],
        env={**env, "OPENBLAS_NUM_THREADS": "1", **machine}, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_the_chaotic_network_depends_on_the_kernel_when_nothing_is_pinned():
    accuracies = {chaotic_accuracy(machine) for machine in MACHINES}
    assert len(accuracies) > 1, accuracies  # the fixture is chaotic: it has teeth


def test_pinned_kernels_give_the_same_numbers_whatever_the_machine_picks():
    """What a grading child runs with: the machine's choice, overridden by the pin."""
    accuracies = {chaotic_accuracy({**machine, **numerics.pinned()}) for machine in MACHINES}
    assert len(accuracies) == 1, accuracies


@pytest.fixture(scope="module")
def every_fixture(tmp_path_factory):
    submitted = tmp_path_factory.mktemp("kernels") / "submitted"
    for fixture in fixture_files("wrong") + fixture_files("right"):
        homework = fixture.parent.name
        patched_submission(submitted / f"{fixture.parent.parent.name}-{homework}-{fixture.stem}",
                           homework, fixture.read_text("utf-8"))
    for homework in HOMEWORKS:
        patched_submission(submitted / "reference", homework, "")
    return submitted


def verdicts(results_json: Path) -> dict:
    return {(r["student"], r["homework"], t["name"]): (t["status"], t["score"])
            for r in json.loads(results_json.read_text(encoding="utf-8")) for t in r["tests"]}


def test_every_fixture_gets_the_same_verdict_whatever_kernel_the_machine_picks(every_fixture, tmp_path):
    seen = []
    for index, machine in enumerate(MACHINES):
        env = {**{key: value for key, value in os.environ.items() if not key.startswith(("OPENBLAS_", "NPY_"))},
               **machine}
        out = tmp_path / f"machine{index}"
        completed = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", str(every_fixture),
                                    "--out", str(out), "--workers", "2"],
                                   env=env, capture_output=True, text=True, timeout=900)
        assert completed.returncode == 0, completed.stderr[-3000:]
        seen.append(verdicts(out / "results.json"))
    assert seen[0] == seen[1] == seen[2]
    chaotic = ("wrong-hw5_mlp-chaotic_softmax", "hw5_mlp", "digits_accuracy")
    pinned_passes = chaotic_accuracy(numerics.pinned()) >= 0.94
    assert seen[0][chaotic][0] == ("passed" if pinned_passes else "failed")
