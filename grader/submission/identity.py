"""What a student submitted, as one hash, and per exercise: a rerun regrades only the exercises
whose file changed (or whose grader key did).

Trust role: reads student files as bytes (never runs them), and never follows a symlink out
of the student's folder. The gradebook stores the hash with each student (grader.gradebook.store).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from grader.submission.files import find_exercise_file

__all__ = ["MAX_HASHED_BYTES", "exercise_hashes", "submission_hash", "submission_hashes"]

# Markers for exercise files that are hashed by what they are rather than by their bytes.
MISSING = "missing"
OUTSIDE = "symlink outside"
UNREADABLE = "unreadable"
TOO_LARGE = "too large"
# A file larger than grading ever reads (grade.MAX_COPY_BYTES) is hashed by its size: its
# bytes cannot change its grade, and reading an enormous file would stall the whole run.
MAX_HASHED_BYTES = 64 * 2**20
_VERSION = b"grader submission hash v1\n"


def submission_hash(folder: Path, exercise_ids: Iterable[str]) -> str:
    """SHA-256 over the exercise files the contract finds in FOLDER, one record per exercise.

    Each record is the exercise id, the file's path relative to FOLDER (POSIX form) and the
    SHA-256 of its bytes, so the hash is the same on every machine and for every location of
    the class folder, and changes when a file changes, moves (`x.py` to `exercises/x.py`) or
    changes kind (`.py` to `.ipynb`). Files the contract does not look at (a README, data,
    checkpoints) do not count: editing them must not cost a regrade. A missing exercise adds
    a marker. A symlink is followed only while it stays inside FOLDER; one that points outside
    is hashed as the marker "symlink outside", and what it points to is never read (a
    submission must not make the grader read, or leak the fingerprint of, other files).
    """
    return submission_hashes(folder, exercise_ids)[0]


def exercise_hashes(folder: Path, exercise_ids: Iterable[str]) -> dict[str, str]:
    """{exercise id: the submission hash of that exercise alone}: equal to
    submission_hash(FOLDER, [id]), so an exercise's hash changes with its own file only."""
    return submission_hashes(folder, exercise_ids)[1]


def submission_hashes(folder: Path, exercise_ids: Iterable[str]) -> tuple[str, dict[str, str]]:
    """(submission_hash, exercise_hashes) of FOLDER, each exercise file read once."""
    root = Path(os.path.realpath(folder))
    whole = hashlib.sha256(_VERSION)
    each = {}
    for ex_id in exercise_ids:
        path = find_exercise_file(folder, ex_id)
        if path is None:
            kind, rel, content = MISSING, "", ""
        else:
            rel = path.relative_to(folder).as_posix()
            kind, content = _file_digest(path, root)
        # NUL cannot occur in a path or an id: it separates the fields unambiguously.
        record = f"{ex_id}\0{kind}\0{rel}\0{content}\n".encode("utf-8", "surrogateescape")
        whole.update(record)
        each[ex_id] = hashlib.sha256(_VERSION + record).hexdigest()
    return whole.hexdigest(), each


def _file_digest(path: Path, root: Path) -> tuple[str, str]:
    real = Path(os.path.realpath(path))
    if not real.is_relative_to(root):
        return OUTSIDE, ""
    digest = hashlib.sha256()
    try:
        # O_NOFOLLOW: the resolved path has no symlink left; if one appears now, refuse it.
        # O_NONBLOCK: a FIFO swapped in must not hang the grader; fstat then refuses it.
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as file:
            st = os.fstat(file.fileno())
            if not stat.S_ISREG(st.st_mode):
                return UNREADABLE, "not a regular file"
            if st.st_size > MAX_HASHED_BYTES:
                return TOO_LARGE, str(st.st_size)
            for chunk in iter(lambda: file.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as e:
        return UNREADABLE, type(e).__name__
    return "file", digest.hexdigest()
