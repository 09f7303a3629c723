"""LMS bulk downloads through ``nbgrader zip_collect`` configured for this course: Canvas and
Moodle names, a browser's "(1)" copies, the times the zip records as ``timestamp.txt``, names
from Chinese Windows, and archives that try to write outside their folder."""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from autograder.collect import student_id
from conftest import ROOT, TA_ENV, course_copy

SPEC = importlib.util.spec_from_file_location("make_lms_zips", ROOT / "data" / "make_lms_zips.py")
make_lms_zips = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(make_lms_zips)
HOMEWORK = make_lms_zips.HOMEWORK


def test_the_shipped_lms_zips_are_current(tmp_path):
    make_lms_zips.write_zips(tmp_path)
    for archive in make_lms_zips.ZIPS:
        assert (tmp_path / archive).read_bytes() == (ROOT / "data" / "lms" / archive).read_bytes(), \
            f"data/lms/{archive} is stale: run python data/make_lms_zips.py"


@pytest.mark.parametrize("name, expected", [
    ("alice", "alice"), ("Carol Li", "carolli"), ("张 三", "张三"), ("o'brien", None),
    ("..", None), (".hidden", None), ("a/b", None), ("", None), ("_x", None)])
def test_student_ids_are_plain_folder_names(name, expected):
    assert student_id(name) == expected


class GbkName(zipfile.ZipInfo):
    """A member named as Windows in China names it: its code page, no UTF-8 flag."""
    __slots__ = ()

    def _encodeFilenameFlags(self):
        return self.filename.encode("gbk"), self.flag_bits


def add(opened: zipfile.ZipFile, name: str, data: bytes, when=(2026, 3, 20, 12, 0, 0), *,
        gbk: bool = False, link: bool = False) -> None:
    info = (GbkName if gbk else zipfile.ZipInfo)(name, when)
    info.external_attr = (0o120777 if link else 0o100644) << 16
    opened.writestr(info, data)


@pytest.mark.slow
def test_lms_downloads_are_collected_with_their_times(tmp_path):
    course = course_copy(tmp_path / "course")
    archive = course / "downloaded" / HOMEWORK / "archive"
    archive.mkdir(parents=True)
    for name in make_lms_zips.ZIPS:
        shutil.copy(ROOT / "data" / "lms" / name, archive)
    reference = make_lms_zips.sample("reference")
    with zipfile.ZipFile(archive / "hostile.zip", "w") as opened:
        add(opened, f"张三_4243_assignsubmission_file_{HOMEWORK}.ipynb", reference, gbk=True)
        add(opened, f"../../escaped_1_2_{HOMEWORK}.ipynb", reference)
        add(opened, f"/tmp/absolute_1_2_{HOMEWORK}.ipynb", reference)
        add(opened, f"\\tmp\\backslashed_1_2_{HOMEWORK}.ipynb", reference)  # as Windows tools write paths
        add(opened, f"C:\\evil_1_2_{HOMEWORK}.ipynb", reference)
        add(opened, f"linked_1_2_{HOMEWORK}.ipynb", b"/etc/passwd", link=True)
        add(opened, f".._1_2_{HOMEWORK}.ipynb", reference)
        add(opened, f"huge_1_2_{HOMEWORK}.ipynb", reference + b" " * 300_000)
        add(opened, f"damaged_1_2_{HOMEWORK}.ipynb", b"DAMAGED" + reference)
        # Two people called Wang Wei, told apart by Moodle's numbers: both are collected.
        add(opened, f"Wang Wei_5001_assignsubmission_file_/{HOMEWORK}.ipynb", reference)
        add(opened, f"Wang Wei_5002_assignsubmission_file_/{HOMEWORK}.ipynb", make_lms_zips.sample("stubs"))
    whole = (archive / "hostile.zip").read_bytes()
    (archive / "hostile.zip").write_bytes(whole.replace(b"DAMAGED", b"DAMAGES"))  # its CRC no longer fits
    completed = subprocess.run(["nbgrader", "zip_collect", HOMEWORK, "--LmsArchives.max_member_bytes=200000"],
                               cwd=course, env=TA_ENV, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    log = completed.stderr

    submitted = course / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == ["alice", "bob", "carolli", "wangwei", "wangwei-5002", "张三"]
    times = {p.name: (p / HOMEWORK / "timestamp.txt").read_text() for p in submitted.iterdir()}
    # The zip's local times (Asia/Shanghai, UTC+8) in UTC; Carol's newer "(1)" copy wins.
    assert times == {"alice": "2026-03-20 12:15:00", "bob": "2026-03-22 01:00:00",
                     "carolli": "2026-03-21 14:30:00", "张三": "2026-03-20 04:00:00",
                     "wangwei": "2026-03-20 04:00:00", "wangwei-5002": "2026-03-20 04:00:00"}
    assert (submitted / "wangwei" / HOMEWORK / f"{HOMEWORK}.ipynb").read_bytes() == reference
    assert "Two students are named 'Wang Wei': the one numbered 5002 in the LMS is collected as wangwei-5002" in log
    assert (submitted / "carolli" / HOMEWORK / f"{HOMEWORK}.ipynb").read_bytes() == reference
    assert (submitted / "bob" / HOMEWORK / f"{HOMEWORK}.ipynb").read_bytes() == make_lms_zips.sample("cheater")
    for student in submitted.iterdir():
        assert sorted(p.name for p in (student / HOMEWORK).iterdir()) == [f"{HOMEWORK}.ipynb", "timestamp.txt"]

    assert "'../../escaped_1_2_hw2_logistic.ipynb' in hostile.zip: it points outside" in log
    assert "'/tmp/absolute_1_2_hw2_logistic.ipynb' in hostile.zip: it points outside" in log
    assert "backslashed_1_2_hw2_logistic.ipynb' in hostile.zip: it points outside" in log
    assert "evil_1_2_hw2_logistic.ipynb' in hostile.zip: it points outside" in log
    assert f"'huge_1_2_hw2_logistic.ipynb' in hostile.zip: {len(reference) + 300_000} bytes" in log
    assert "'linked_1_2_hw2_logistic.ipynb' in hostile.zip: a link" in log
    assert "'damaged_1_2_hw2_logistic.ipynb' in hostile.zip: Bad CRC-32" in log
    assert "'..' cannot be a student folder" in log
    assert not list(tmp_path.rglob("escaped*")) and not Path(f"/tmp/absolute_1_2_{HOMEWORK}.ipynb").exists()
    assert not Path(f"/tmp/backslashed_1_2_{HOMEWORK}.ipynb").exists()
    assert not [p for p in (course / "downloaded").rglob("*") if p.is_symlink()]
