"""Write data/lms/: what Canvas and Moodle hand a TA for ``hw2_logistic`` ("download all
submissions"), made from the sample submissions, for the TA guide's ``nbgrader zip_collect``.

Run by the maintainers after the sample submissions change (``python data/make_lms_zips.py``);
``tests/test_collect.py`` fails while the zips are stale.  Each file's date in the zip is the
time the LMS recorded (local time of an LMS in Asia/Shanghai); the entries are stored, not
deflated, so the bytes are the same with every zlib.
"""
import zipfile
from pathlib import Path

DATA = Path(__file__).resolve().parent
HOMEWORK = "hw2_logistic"


def sample(student: str) -> bytes:
    return (DATA / "submissions" / student / HOMEWORK / f"{HOMEWORK}.ipynb").read_bytes()


ZIPS = {
    # Canvas: <name>[_LATE]_<user id>_<submission id>_<file>; a resubmission gets "-1".
    f"canvas-{HOMEWORK}.zip": [
        (f"alice_12345_67890_{HOMEWORK}.ipynb", (2026, 3, 20, 20, 15, 0), "reference"),
        (f"bob_LATE_12346_67891_{HOMEWORK}-1.ipynb", (2026, 3, 22, 9, 0, 0), "cheater"),
    ],
    # Moodle: a folder per student; this one uploaded twice, the browser named the copy "(1)".
    f"moodle-{HOMEWORK}.zip": [
        (f"Carol Li_4242_assignsubmission_file_/{HOMEWORK}.ipynb", (2026, 3, 19, 11, 0, 0), "stubs"),
        (f"Carol Li_4242_assignsubmission_file_/{HOMEWORK} (1).ipynb", (2026, 3, 21, 22, 30, 0), "reference"),
    ],
}


def write_zips(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for archive, entries in ZIPS.items():
        with zipfile.ZipFile(folder / archive, "w", zipfile.ZIP_STORED) as opened:
            for name, when, student in entries:
                info = zipfile.ZipInfo(name, when)
                info.external_attr = 0o644 << 16
                opened.writestr(info, sample(student))


if __name__ == "__main__":
    write_zips(DATA / "lms")
