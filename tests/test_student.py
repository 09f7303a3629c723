"""The student side: ``nnhw release`` writes a bundle with nothing secret in it, the bundle
installs on its own, and its self-check (``nnhw check`` and plain ``pytest``) says "not done
yet" on the stubs and passes once the notebooks are answered."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import check
from autograder.course import HOMEWORKS
from autograder.release import release
from autograder.samples import answered_notebook
from conftest import COURSE, secret_lines

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bundle") / "nnhw-student"
    release(COURSE, folder)
    return folder


@pytest.fixture(scope="module")
def bundle_python(bundle, tmp_path_factory):
    """The bundle installed as a student would: ``pip install -e .`` in a fresh virtualenv."""
    venv = tmp_path_factory.mktemp("student-venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", str(bundle)], check=True,
                   capture_output=True, timeout=900)
    return python


def in_bundle(python: Path, bundle: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), *args], cwd=bundle, capture_output=True, text=True,
                          timeout=900)


def test_bundle_holds_what_a_student_needs_and_nothing_more(bundle):
    files = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
    for homework in HOMEWORKS:
        assert f"assignments/{homework}/{homework}.ipynb" in files
    assert {"README.md", "pyproject.toml", "data/digits.npz", "data/README.md",
            "tests/test_public_checks.py", "autograder/check.py"} <= files
    for forbidden in ("solutions", "hidden", "reference.py", "score.py", "kernel.py", "gradebook.py",
                      "submissions", "batch.py", "report.py", "nbgrader_config.py"):
        assert not [f for f in files if forbidden in f], forbidden


def test_no_line_of_an_answer_a_hidden_test_or_a_rubric_is_in_the_bundle(bundle):
    texts = {p: p.read_text(encoding="utf-8") for p in bundle.rglob("*")
             if p.is_file() and p.suffix in (".py", ".ipynb", ".md", ".toml")}
    for path, text in texts.items():
        if path.suffix == ".ipynb":  # compare cell sources, not JSON-escaped text
            text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"])
        content = {line.strip() for line in text.splitlines()}
        for homework in HOMEWORKS:
            leaked = secret_lines(homework) & content
            assert not leaked, (path.relative_to(bundle), homework, sorted(leaked)[:5])


def test_stubs_read_not_done_yet(bundle, bundle_python):
    completed = in_bundle(bundle_python, bundle, "-m", "autograder.cli", "check")
    assert completed.returncode == 1
    parts = [line for line in completed.stdout.splitlines() if line.startswith("  ") and "/" in line
             and not line.startswith(("    ", "  →"))]
    summaries = [line for line in completed.stdout.splitlines() if line.startswith("  → 0/")]
    assert len(summaries) == len(HOMEWORKS) and all("written answers a TA grades" in s for s in summaries)
    expected = sum(len(check.public_parts(COURSE, h)) for h in HOMEWORKS)
    assert len(parts) == expected and all("尚未完成 / not done yet" in line for line in parts), \
        completed.stdout
    assert "hidden tests will grade more" in completed.stdout
    assert "✅" not in completed.stdout  # no part of an untouched stub passes
    tested = in_bundle(bundle_python, bundle, "-m", "pytest")
    assert tested.returncode == 1 and f"{expected} failed" in tested.stdout
    # One failure section per part holding just the message; the short summary repeats it only
    # when the terminal is wide enough, so count the sections, not the phrase.
    sections = [line for line in tested.stdout.splitlines() if line == "尚未完成 / not done yet"]
    assert "Traceback" not in tested.stdout and len(sections) == expected, tested.stdout


def test_answered_notebooks_pass_every_public_check(bundle, bundle_python, tmp_path):
    for homework in HOMEWORKS:
        path = bundle / "assignments" / homework / f"{homework}.ipynb"
        path.write_text(json.dumps(answered_notebook(COURSE, homework), ensure_ascii=False), encoding="utf-8")
    completed = in_bundle(bundle_python, bundle, "-m", "autograder.cli", "check")
    assert completed.returncode == 0, completed.stdout
    assert "all tests passed" not in completed.stdout.lower()
    tested = in_bundle(bundle_python, bundle, "-m", "pytest")
    assert tested.returncode == 0, tested.stdout[-3000:]


def test_the_grader_is_not_in_the_bundle(bundle, bundle_python):
    completed = in_bundle(bundle_python, bundle, "-m", "autograder.cli", "grade", ".")
    assert completed.returncode == 2 and "invalid choice" in completed.stderr


def test_release_refuses_a_folder_in_use(bundle):
    from autograder.release import ReleaseError
    with pytest.raises(ReleaseError):
        release(COURSE, bundle)


@pytest.mark.parametrize("homework", HOMEWORKS)
def test_release_notebooks_render_to_html(homework):
    import nbformat
    from nbconvert import HTMLExporter

    notebook = nbformat.read(str(COURSE.release_notebook(homework)), as_version=4)
    nbformat.validate(notebook)
    html, _ = HTMLExporter().from_notebook_node(notebook)
    assert "YOUR CODE HERE" in html and "Checklist" in html


NO_LINUX = Path(__file__).parent / "no_linux"  # a sitecustomize that removes fcntl, os.fork, /proc, prctl


def interpreter(version: str) -> str | None:
    """A Python of ``version`` on this machine (pyenv's, or on the PATH)."""
    found = sorted(Path("/root/.pyenv/versions").glob(f"{version}.*/bin/python")) if os.access("/root", os.X_OK) else []
    return str(found[-1]) if found else shutil.which(f"python{version}")


@pytest.mark.parametrize("version", ["3.10", "3.13"])  # the oldest and the newest the package supports
def test_self_check_on_any_platform_python_and_path(version, tmp_path_factory):
    """The bundle's self-check uses only portable primitives: it runs where fcntl, os.fork, /proc
    and prctl do not exist and multiprocessing spawns (Windows, macOS), on the oldest and the
    newest Python, from a folder whose path has CJK characters and a space."""
    python = interpreter(version)
    if python is None:
        pytest.skip(f"no Python {version} here")
    folder = tmp_path_factory.mktemp("home") / "张三" / "深度学习 作业" / "nnhw-student"
    release(COURSE, folder)
    venv = folder.parent / ".venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    student = venv / "bin" / "python"
    subprocess.run([str(student), "-m", "pip", "install", "-q", "-e", str(folder)], check=True,
                   capture_output=True, timeout=900)
    env = {**os.environ, "PYTHONPATH": str(NO_LINUX)}

    def run(*args):
        return subprocess.run([str(student), *args], cwd=folder, env=env, capture_output=True, text=True,
                              timeout=900)

    shimmed = run("-c", "import os, multiprocessing; print(hasattr(os, 'fork'), multiprocessing.get_start_method()); "
                        "import fcntl")
    assert shimmed.stdout.split() == ["False", "spawn"], shimmed.stdout  # the shim is in force
    assert "fcntl" in shimmed.stderr and shimmed.returncode != 0, shimmed.stderr
    stubs = run("-m", "autograder.cli", "check")
    expected = sum(len(check.public_parts(COURSE, h)) for h in HOMEWORKS)
    assert stubs.returncode == 1 and stubs.stdout.count(check.NOT_DONE) >= expected, stubs.stdout[-2000:]
    assert "Traceback" not in stubs.stdout + stubs.stderr, stubs.stderr[-2000:]
    tested = run("-m", "pytest")
    assert tested.returncode == 1 and f"{expected} failed" in tested.stdout, tested.stdout[-2000:]
    for homework in HOMEWORKS:
        path = folder / "assignments" / homework / f"{homework}.ipynb"
        path.write_text(json.dumps(answered_notebook(COURSE, homework), ensure_ascii=False), encoding="utf-8")
    answered = run("-m", "autograder.cli", "check")
    assert answered.returncode == 0, answered.stdout[-3000:] + answered.stderr[-2000:]
    assert run("-m", "pytest").returncode == 0
