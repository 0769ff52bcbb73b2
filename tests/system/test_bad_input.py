"""Bad input through the real `grader grade` gets its status and stops nobody else.

Bad input through the real `grader grade` (workers, sandbox, gradebook): files that cannot
be read, files and notebooks over the caps, notebooks with huge outputs or absurd nesting.

One class is graded once, next to a correct bystander. Each bad file gets a clear status and
message for its exercise, costs nothing else, and leaves a whole gradebook; the bystander
gets full marks. Only softmax_ce is submitted; the course is the real one (nothing here loops,
and its 30 s limit keeps a loaded machine from turning a correct student into a timeout).

Covered elsewhere: hostile folder names (spaces, unicode, newlines, leading = + - @, HTML) in
test_attacks.py (here only one that is not UTF-8 and prints, for its output log); an empty
ROOT, a ROOT that is a file or is missing, a malformed notebook, non-UTF-8 files in
test_grade.py.

Unreadable files: tests may run as root, for whom `chmod 000` stops nothing. A FIFO and a
folder named softmax_ce.py cannot be read as a file by anyone, so they are the meaningful
cases everywhere; the chmod 000 file is checked for what its permissions allow (graded as
root, bad_file otherwise).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess

import pandas as pd
import pytest
from support import GRADER, REFERENCE, ROOT

from grader.authoring.checks import checks_for
from grader.course.model import load_course
from grader.grading.grade_class import MAX_COPY_BYTES
from grader.sandbox.runtime.loading import MAX_SOURCE_BYTES
from grader.submission.notebook import MAX_NOTEBOOK_BYTES

pytestmark = pytest.mark.slow


def notebook(code: str, outputs: list | None = None) -> dict:
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
            "cells": [{"cell_type": "code", "execution_count": 1, "metadata": {},
                       "source": code, "outputs": outputs or []}]}


def stream_output(n_bytes: int) -> list:
    line = "x" * 999 + "\n"
    return [{"output_type": "stream", "name": "stdout", "text": [line] * (n_bytes // 1000)}]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def build(root) -> None:
    def folder(name: str):
        (root / name).mkdir(parents=True)
        return root / name

    (folder("bystander") / "softmax_ce.py").write_text(REFERENCE)
    os.mkfifo(folder("fifo") / "softmax_ce.py")
    (folder("folder_named_like_the_file") / "softmax_ce.py").mkdir()
    (root / "folder_named_like_the_file" / "softmax_ce.py" / "__init__.py").write_text(REFERENCE)
    locked = folder("no_read_permission") / "softmax_ce.py"
    locked.write_text(REFERENCE)
    locked.chmod(0)
    padding = "# " + "x" * 98 + "\n"
    (folder("py_over_the_source_cap") / "softmax_ce.py").write_text(
        REFERENCE + padding * (MAX_SOURCE_BYTES // len(padding) + 10))
    with open(folder("py_over_the_copy_cap") / "softmax_ce.py", "w") as f:
        f.write(REFERENCE)
        f.truncate(MAX_COPY_BYTES + 2**20)  # sparse: costs no disk
    (folder("py_absurdly_nested") / "softmax_ce.py").write_text(
        REFERENCE + "\nx = " + "(" * 100_000 + ")" * 100_000 + "\n")
    (folder("notebook_over_the_cap") / "softmax_ce.ipynb").write_text(json.dumps(
        notebook(REFERENCE, stream_output(MAX_NOTEBOOK_BYTES + 2**20))))
    deep_output = {"output_type": "execute_result", "data": {"x": json.loads(nested(300))},
                   "metadata": {}, "execution_count": 1}
    (folder("notebook_with_huge_outputs") / "softmax_ce.ipynb").write_text(json.dumps(
        notebook(REFERENCE, [*stream_output(MAX_NOTEBOOK_BYTES // 2), deep_output])))
    (folder("notebook_absurdly_nested") / "softmax_ce.ipynb").write_text(
        '{"nbformat": 4, "metadata": {}, "cells": ' + nested(200_000) + "}")
    # Encodings as Python reads a file: a Latin-1 byte in a comment is refused (Python
    # refuses to run the file), the same file declaring its encoding (PEP 263) is graded.
    (folder("latin1_comment") / "softmax_ce.py").write_bytes(
        b"# r\xe9sum\xe9 of my work\n" + REFERENCE.encode())
    (folder("latin1_declared") / "softmax_ce.py").write_bytes(
        b"# -*- coding: latin-1 -*-\n# r\xe9sum\xe9 of my work\n" + REFERENCE.encode())
    # A big data file must not push the exercise out of the private copy.
    with open(folder("big_data_first") / "a_data.bin", "wb") as f:
        f.truncate(MAX_COPY_BYTES - 1000)  # the exercise file would not fit after it
    (root / "big_data_first" / "softmax_ce.py").write_text(REFERENCE)
    # A folder name that is not UTF-8, with a newline and a leading "=", whose code prints:
    # graded like anyone, and its output log is written under that name.
    hostile = os.path.join(os.fsencode(root), HOSTILE_NAME)
    os.mkdir(hostile)
    with open(os.path.join(hostile, b"softmax_ce.py"), "w") as f:
        f.write(REFERENCE + "\n_quiet = softmax\ndef softmax(logits):\n"
                            "    print('hello from', logits.shape)\n    return _quiet(logits)\n")


HOSTILE_NAME = b"=caf\xe9\nprints"


STUDENTS = ["=caf\\xe9\nprints", "big_data_first", "bystander", "fifo",
            "folder_named_like_the_file", "latin1_comment", "latin1_declared",
            "no_read_permission", "notebook_absurdly_nested",
            "notebook_over_the_cap", "notebook_with_huge_outputs", "py_absurdly_nested",
            "py_over_the_copy_cap", "py_over_the_source_cap"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad_input")
    root = tmp / "class"
    build(root)
    out = tmp / "out"
    run = subprocess.run([str(GRADER), "grade", str(root), "--output", str(out),
                          "--workers", "2", "--quiet"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    frame = pd.read_csv(out / "gradebook.csv", keep_default_na=False)
    return {"run": run, "frame": frame, "out": out}


def rows(graded, student: str) -> pd.DataFrame:
    frame = graded["frame"]
    return frame[(frame.student == student) & (frame.exercise == "softmax_ce")]


def assert_status(graded, student: str, status: str, *phrases: str) -> None:
    r = rows(graded, student)
    assert len(r) == len(checks_for("softmax_ce", include_hidden=True))
    assert set(r.status) == {status}, (student, set(r.status), r.message.iloc[0])
    assert (r.score == 0).all()
    for phrase in phrases:
        assert all(phrase in m for m in r.message), (student, phrase, r.message.iloc[0])


def assert_full_marks(graded, student: str) -> None:
    r = rows(graded, student)
    assert (r.status == "passed").all(), (student, r[r.status != "passed"].message.tolist())
    assert r.score.sum() == load_course().exercise("softmax_ce").points


def test_the_run_finishes_and_the_bystander_gets_full_marks(graded):
    assert graded["run"].returncode == 0, graded["run"].stderr[-3000:]
    assert_full_marks(graded, "bystander")


def test_the_gradebook_is_whole(graded):
    frame = graded["frame"]
    expected = {(s, ex, c.name) for s in STUDENTS for ex in load_course().exercises
                for c in checks_for(ex, include_hidden=True)}
    got = list(zip(frame.student, frame.exercise, frame.check))
    assert len(got) == len(set(got)) and set(got) == expected
    with sqlite3.connect(graded["out"] / "gradebook.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_files_that_cannot_be_read_as_files(graded):
    assert_status(graded, "fifo", "bad_file", "softmax_ce.py is not a regular file")
    assert_status(graded, "folder_named_like_the_file", "bad_file",
                  "softmax_ce.py is a folder, not a file")


def test_a_file_without_read_permission(graded):
    if os.geteuid() == 0:  # root reads it anyway: it is graded like any file
        assert_full_marks(graded, "no_read_permission")
    else:
        assert_status(graded, "no_read_permission", "bad_file",
                      "softmax_ce.py could not be read: Permission denied")


def test_enormous_python_files(graded):
    assert_status(graded, "py_over_the_source_cap", "bad_file",
                  f"softmax_ce.py is larger than {MAX_SOURCE_BYTES // 2**20} MiB")
    assert_status(graded, "py_over_the_copy_cap", "bad_file",
                  f"softmax_ce.py is larger than {MAX_COPY_BYTES // 2**20} MiB")


def test_absurdly_nested_code(graded):
    assert_status(graded, "py_absurdly_nested", "error",
                  "softmax_ce.py has a syntax error at line", "too many nested parentheses")


def test_notebooks_over_the_cap_or_absurdly_nested(graded):
    assert_status(graded, "notebook_over_the_cap", "bad_file",
                  f"softmax_ce.ipynb is larger than {MAX_NOTEBOOK_BYTES // 2**20} MiB",
                  "clear its outputs")
    assert_status(graded, "notebook_absurdly_nested", "bad_file",
                  "softmax_ce.ipynb is not a valid notebook: its JSON is nested too deeply")


def test_a_notebook_with_huge_and_deeply_nested_outputs_is_graded_by_its_code(graded):
    assert_full_marks(graded, "notebook_with_huge_outputs")


def test_a_big_data_file_does_not_crowd_out_the_exercise(graded):
    assert_full_marks(graded, "big_data_first")


def test_a_folder_name_that_is_not_utf8_is_graded_and_gets_its_log(graded):
    assert_full_marks(graded, "=caf\\xe9\nprints")  # the gradebook's escaped form
    logs = os.path.join(os.fsencode(graded["out"]), b"worker-logs")
    log = os.path.join(logs, HOSTILE_NAME, b"worker.log")
    with open(log, encoding="utf-8") as f:
        assert "hello from (" in f.read()


def test_an_enormous_file_is_hashed_by_its_size_not_read(tmp_path, monkeypatch):
    """Resuming hashes each exercise file; one larger than grading ever reads must not
    stall the run while it is read (it is bad_file whatever its bytes)."""
    from grader.submission import identity

    assert identity.MAX_HASHED_BYTES >= MAX_COPY_BYTES
    monkeypatch.setattr(identity, "MAX_HASHED_BYTES", 1000)
    (tmp_path / "softmax_ce.py").write_bytes(b"a" * 2000)
    first = identity.submission_hash(tmp_path, ["softmax_ce"])
    (tmp_path / "softmax_ce.py").write_bytes(b"b" * 2000)
    assert identity.submission_hash(tmp_path, ["softmax_ce"]) == first
    (tmp_path / "softmax_ce.py").write_bytes(b"b" * 2001)
    assert identity.submission_hash(tmp_path, ["softmax_ce"]) != first


def test_a_file_python_would_not_run_for_its_encoding_is_a_bad_file(graded):
    assert_status(graded, "latin1_comment", "bad_file", "is not UTF-8 text (byte 0xe9 on line 1)",
                  "Save the file as UTF-8")
    assert_full_marks(graded, "latin1_declared")


def test_grader_check_reads_encodings_as_grader_grade_does(tmp_path):
    (tmp_path / "softmax_ce.py").write_bytes(b"# r\xe9sum\xe9\n" + REFERENCE.encode())
    run = subprocess.run([str(GRADER), "check", "softmax_ce", "--submission", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    assert "is not UTF-8 text (byte 0xe9 on line 1)" in run.stdout + run.stderr
