"""Submission times are read from a student's folder and recorded in the gradebook.

Submission times from a student's folder (nbgrader's timestamp.txt, git) and their place in
the gradebook. Real files, a real git, a real SQLite gradebook."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from grader.gradebook.store import Gradebook
from grader.submission.times import SubmissionTime, parse_timestamp, submission_times

IDS = ["softmax_ce", "linreg_gd"]


@pytest.mark.parametrize(("text", "utc"), [
    ("2026-12-04 22:13:45.123456 UTC", "2026-12-04T22:13:45.123456+00:00"),  # nbgrader default
    ("2026-12-04 23:13:45.000001 Europe/Berlin", "2026-12-04T22:13:45.000001+00:00"),
    ("2026-12-04 17:13:45 America/New_York", "2026-12-04T22:13:45+00:00"),
    ("2026-12-05 07:13:45 +0900", "2026-12-04T22:13:45+00:00"),
    ("2026-12-04T22:13:45Z", "2026-12-04T22:13:45+00:00"),
    ("2026-12-04T18:13:45-04:00\n", "2026-12-04T22:13:45+00:00"),
])
def test_timestamps_as_nbgrader_writes_them_or_iso(text, utc):
    assert parse_timestamp(text).astimezone(timezone.utc).isoformat() == utc


@pytest.mark.parametrize("text", ["2026-12-04 22:13:45", "yesterday", "2026-12-04 22:13 PST",
                                  ""])
def test_timestamps_without_a_known_zone_are_refused(text):
    with pytest.raises(ValueError):
        parse_timestamp(text)


def test_timestamp_file_gives_every_exercise_its_time(tmp_path):
    (tmp_path / "timestamp.txt").write_text("2026-12-04 22:13:45.123456 UTC\n")
    times = submission_times(tmp_path, IDS)
    assert times == dict.fromkeys(IDS, SubmissionTime("2026-12-04T22:13:45.123456+00:00",
                                                      "timestamp.txt"))


def test_hostile_timestamp_files_make_the_time_unknown_without_reading_or_hanging(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("2026-01-01T00:00:00+00:00")
    cases = {"link": lambda p: p.symlink_to(secret), "fifo": os.mkfifo,
             "huge": lambda p: p.write_text("2026-12-04T22:13:45Z" + " " * 10_000),
             "latin1": lambda p: p.write_bytes(b"\xff\xfe2026"),
             "nonsense": lambda p: p.write_text("=HYPERLINK(\"http://x\")")}
    for name, make in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        make(folder / "timestamp.txt")
        found = submission_times(folder, IDS)["softmax_ce"]
        assert not found.known, name
        assert "timestamp.txt" in found.source, name


def _git(folder: Path, *args: str, when: str | None = None) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(folder), "GIT_AUTHOR_NAME": "s",
           "GIT_AUTHOR_EMAIL": "s@x", "GIT_COMMITTER_NAME": "s", "GIT_COMMITTER_EMAIL": "s@x"}
    if when:
        env["GIT_COMMITTER_DATE"] = env["GIT_AUTHOR_DATE"] = when
    subprocess.run(["git", *args], cwd=folder, env=env, check=True, capture_output=True)


def test_git_gives_each_exercise_its_last_commit_time(tmp_path):
    student = tmp_path / "ann"
    student.mkdir()
    _git(student, "init", "-q")
    (student / "softmax_ce.py").write_text("x = 1\n")
    _git(student, "add", ".")
    _git(student, "commit", "-qm", "one", when="2026-12-03T10:00:00+01:00")
    (student / "exercises").mkdir()
    (student / "exercises" / "linreg_gd.py").write_text("y = 2\n")
    _git(student, "add", ".")
    _git(student, "commit", "-qm", "two", when="2026-12-10T18:30:00-05:00")
    times = submission_times(student, IDS)
    when = {ex: datetime.fromisoformat(t.when) for ex, t in times.items()}
    assert when["softmax_ce"] == datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)
    assert when["linreg_gd"] == datetime(2026, 12, 10, 23, 30, tzinfo=timezone.utc)
    assert times["softmax_ce"].source.startswith("git commit ")


def test_git_runs_no_program_named_by_the_students_repository_config(tmp_path):
    student = tmp_path / "mallory"
    student.mkdir()
    _git(student, "init", "-q")
    (student / "softmax_ce.py").write_text("x = 1\n")
    _git(student, "add", ".")
    _git(student, "commit", "-qm", "one", when="2026-12-03T10:00:00+00:00")
    marker = tmp_path / "pwned"
    hook = tmp_path / "hook.sh"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\ncat\n")
    hook.chmod(0o755)
    with open(student / ".git" / "config", "a") as config:
        config.write(f"[core]\n\tpager = {hook}\n\tfsmonitor = {hook}\n\thooksPath = {tmp_path}\n"
                     f"[log]\n\tshowSignature = true\n[gpg]\n\tprogram = {hook}\n"
                     f"[diff]\n\texternal = {hook}\n")
    for name in ("post-checkout", "post-index-change", "reference-transaction"):
        (tmp_path / name).symlink_to(hook)
    times = submission_times(student, IDS)
    assert times["softmax_ce"].known
    assert not marker.exists()


def test_a_folder_inside_another_repository_does_not_borrow_its_commits(tmp_path):
    _git(tmp_path, "init", "-q")
    student = tmp_path / "ann"
    student.mkdir()
    (student / "softmax_ce.py").write_text("x = 1\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "course", when="2026-12-03T10:00:00+00:00")
    assert submission_times(student, IDS) == dict.fromkeys(IDS, SubmissionTime("", ""))


def test_the_gradebook_records_times_per_exercise_in_the_students_transaction(tmp_path):
    rows = [{"student": "ann", "exercise": "softmax_ce", "check": "c", "score": 1.0,
             "max_score": 1.0, "status": "passed", "message": "", "hidden": False,
             "duration_s": 0.1, "seed": 1, "grader_version": "g", "course_version": "c",
             "hypothesis_version": "h", "numpy_version": "n"}]
    when = (datetime(2026, 12, 4, tzinfo=timezone(timedelta(hours=2)))).isoformat()
    with Gradebook.in_folder(tmp_path) as book:
        book.record_student("ann", "h1", "k", "i", rows,
                            {"softmax_ce": SubmissionTime(when, "timestamp.txt"),
                             "linreg_gd": SubmissionTime("", "git log failed")})
        assert book.submission_times() == {"ann": {"softmax_ce": (when, "timestamp.txt"),
                                                   "linreg_gd": ("", "git log failed")}}
        book.record_student("ann", "h2", "k", "i", rows)  # regraded without times: none kept
        assert book.submission_times() == {}
        book.record_student("bob", "h3", "k", "i", [{**rows[0], "student": "bob"}],
                            {"softmax_ce": SubmissionTime(when, "timestamp.txt")})
        book.forget("bob")
        assert book.submission_times() == {}


def test_a_gradebook_from_before_submission_times_opens_and_gains_the_table(tmp_path):
    with Gradebook.in_folder(tmp_path) as book:
        book.record_student("ann", "h", "k", "i", [])
    db = sqlite3.connect(tmp_path / "gradebook.sqlite")
    db.execute("DROP TABLE submissions")  # as in a gradebook of a grader without the table
    db.commit()
    db.close()
    with Gradebook.in_folder(tmp_path) as book:
        assert book.students() == ["ann"]
        assert book.submission_times() == {}
