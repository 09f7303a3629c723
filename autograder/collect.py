"""Submissions from an LMS bulk download, for nbgrader's ``nbgrader zip_collect``.

Canvas and Moodle hand a TA one zip per assignment, with the student in each file's name:

- Canvas: ``alice_12345_67890_hw1_likelihood.ipynb`` (``<name>[_LATE]_<user id>_<submission
  id>_<file>``), a resubmission as ``hw1_likelihood-1.ipynb``;
- Moodle: ``Alice Smith_4242_assignsubmission_file_hw1_likelihood.ipynb``, or a folder of that
  name holding ``hw1_likelihood.ipynb``;
- and a browser that saved a file twice: ``hw1_likelihood (1).ipynb``.

``LmsArchives`` unpacks the zips keeping what the archive records: the date of each file (the
time the LMS stored with it, in the LMS's time zone) and its name, also when the zip was made
on Chinese Windows (GBK names); it skips, with a log line, entries that would land outside
their folder (``..``, ``/x``, ``\\x``, ``C:x``), links, and oversized or damaged members.
``LmsFileNames`` reads the student and the homework from each name and the time from the file,
so ``nbgrader zip_collect`` writes ``submitted/<student>/<hw>/`` with a ``timestamp.txt`` (late
submissions show as late in formgrader).  The student id is the name as the LMS writes it,
lowercased without spaces (``alice``, ``alicesmith``): Moodle's number is per assignment, so it
cannot identify a student across homework; it only tells two people of one name apart within a
download.  Both plugins are set for this course in ``nbgrader_config.py``.
"""
from __future__ import annotations

import datetime
import os
import re
import shutil
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo

from nbgrader.plugins.zipcollect import ExtractorPlugin, FileNameCollectorPlugin
from traitlets import Integer, Unicode

# <number>: Canvas's user id, Moodle's participant number: one person within one download.
CANVAS = re.compile(r"(?P<name>[^_]+)(?:_LATE)?_(?P<number>\d+)_\d+_(?P<file>.+)", re.IGNORECASE)
MOODLE = re.compile(r"(?P<name>.+?)_(?P<number>\d+)_assignsubmission_[a-z]+_(?P<file>.*)")
# "hw1_likelihood (1).ipynb" (a browser's second copy), "hw1_likelihood-1.ipynb" (Canvas's).
COPY_SUFFIX = re.compile(r"(?:\s*\(\d+\)|-\d+)$")
UTF8_NAMES = 0x800  # the zip flag saying a member's name is UTF-8


class LmsArchives(ExtractorPlugin):
    """Unpacks each zip of ``downloaded/<hw>/archive/`` into a folder of its own; other files
    are copied with their modification time."""

    timezone = Unicode("Asia/Shanghai", help="The LMS server's time zone: zip files record "
                       "local times without one.").tag(config=True)
    max_member_bytes = Integer(64 * 2**20, help="The largest file taken from a zip.").tag(config=True)

    def extract(self, archive_path: str, extracted_path: str) -> None:
        for folder, _, files in os.walk(archive_path):
            into = Path(extracted_path) / Path(folder).relative_to(archive_path)
            for name in sorted(files):
                source = Path(folder) / name
                if source.is_symlink():
                    self.log.warning("Skipped a link: %s", source)
                elif zipfile.is_zipfile(source):
                    try:
                        self._unzip(source, into / source.stem)
                    except zipfile.BadZipFile as damaged:  # the rest of the download still counts
                        self.log.warning("Skipped the rest of %s: %s", source.name, damaged)
                else:
                    into.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(source, into / name)

    def _unzip(self, archive: Path, into: Path) -> None:
        zone = ZoneInfo(self.timezone)
        with zipfile.ZipFile(archive) as opened:
            for member in opened.infolist():
                name = member_name(member)
                path = PurePosixPath(name.replace("\\", "/"))  # Windows tools write backslashes
                if member.is_dir():
                    continue
                if _is_link(member):
                    self.log.warning("Skipped %r in %s: a link", name, archive.name)
                    continue
                parts = path.parts
                if not parts or path.is_absolute() or ".." in parts or parts[0].endswith(":"):
                    self.log.warning("Skipped %r in %s: it points outside the archive", name, archive.name)
                    continue
                if member.file_size > self.max_member_bytes:
                    self.log.warning("Skipped %r in %s: %d bytes", name, archive.name, member.file_size)
                    continue
                target = into.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                try:  # zipfile reads at most the declared size and checks the CRC
                    with opened.open(member) as source, open(target, "wb") as sink:
                        shutil.copyfileobj(source, sink)
                except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as damaged:
                    target.unlink(missing_ok=True)
                    self.log.warning("Skipped %r in %s: %s", name, archive.name, damaged)
                    continue
                recorded = datetime.datetime(*member.date_time, tzinfo=zone).timestamp()
                os.utime(target, (recorded, recorded))


def _is_link(member: zipfile.ZipInfo) -> bool:
    return (member.external_attr >> 16) & 0o170000 == 0o120000


def member_name(member: zipfile.ZipInfo) -> str:
    """The member's name as its author wrote it: zips without the UTF-8 flag are decoded as
    code page 437 by Python, though Windows writes them in the system's code page (GBK in
    China) and many tools write UTF-8."""
    if member.flag_bits & UTF8_NAMES:
        return member.filename
    try:
        raw = member.filename.encode("cp437")
    except UnicodeEncodeError:
        return member.filename
    for encoding in ("utf-8", "gbk"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            pass
    return member.filename


class LmsFileNames(FileNameCollectorPlugin):
    """Student, notebook and time of each extracted file, from Canvas's and Moodle's names.
    Two people with one name (two Wang Weis) are told apart by the LMS's number: the second
    one seen is collected as ``wangwei-<number>``, with a warning, and nobody's work is lost."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.numbers: dict[str, str] = {}  # student id → the LMS number it stands for

    def collect(self, submitted_file: str) -> dict | None:
        path = Path(submitted_file)
        if path.suffix not in self.valid_ext:
            return None
        found = (CANVAS.fullmatch(path.name) or MOODLE.fullmatch(path.name)
                 or MOODLE.fullmatch(f"{path.parent.name}{path.name}"))
        if not found:
            self.log.warning("Not a Canvas or Moodle submission name: %s", path.name)
            return None
        student = student_id(found["name"])
        if student is None:
            self.log.warning("Skipped %s: %r cannot be a student folder", path.name, found["name"])
            return None
        if self.numbers.setdefault(student, found["number"]) != found["number"]:
            self.log.warning("Two students are named %r: the one numbered %s in the LMS is collected as "
                             "%s-%s; match it to your roster", found["name"], found["number"], student,
                             found["number"])
            student = f"{student}-{found['number']}"
        stem = COPY_SUFFIX.sub("", Path(found["file"]).stem)
        stamp = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.timezone.utc)
        return {"student_id": student, "file_id": stem + path.suffix, "timestamp": stamp.isoformat(" ")}


def student_id(lms_name: str) -> str | None:
    """``Alice Smith`` → ``alicesmith``: the same in every homework, and a plain folder name
    (None for a name such as ``..`` that is not one: a display name can be chosen by its owner)."""
    student = re.sub(r"\s+", "", lms_name).lower()
    return student if re.fullmatch(r"[^\W_][\w.-]*", student) else None
