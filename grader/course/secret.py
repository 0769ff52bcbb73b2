"""The course secret: instructor grading draws other examples than the ones students see.

Trust role: instructor-only. Public checks ship to students with fixed seeds, so a student can
record every input their local `grader check` passes and answer from that table. Instructor
grading (`grader grade`, `grade --nbgrader`, `grader check --hidden`) therefore seeds every
check (public and hidden) from the course seed, the check's name and this secret: the graded
inputs differ from the local ones, yet the same submission gets the same score on every run
and machine that has the same secret.

The secret is `$GRADER_COURSE_SECRET` when set (a CI secret), else the file
`course_secret.txt` at the course root (`grader secret` creates it). It is never copied into
anything released to students: `grader release repo` writes its files from an allow-list,
and `grader release nbgrader` copies it only into the instructor's 0700 grading copy.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from grader.course.model import CourseError

FILENAME = "course_secret.txt"
ENV = "GRADER_COURSE_SECRET"
MIN_CHARS = 16


class SecretError(CourseError):
    """A secret that is there but unusable (too short): grading with it would be guessable."""


def read(root: Path) -> str | None:
    """The course secret, or None when the course has none."""
    text = os.environ.get(ENV, "").strip()
    if not text:
        try:
            text = (root / FILENAME).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
    if len(text) < MIN_CHARS:
        raise SecretError(f"the course secret ({ENV} or {FILENAME}) has {len(text)} "
                          f"characters; it needs at least {MIN_CHARS}: run `grader secret` "
                          "in a course without one")
    return text


def fingerprint(secret: str) -> str:
    """A short public name for a secret (recorded with results; reveals nothing of it)."""
    return hashlib.sha256(f"course secret\n{secret}".encode()).hexdigest()[:12]


def create(root: Path) -> Path:
    """Write a new random secret to `root/course_secret.txt` (0600). Never replaces one:
    a new secret changes every graded example, so every score."""
    path = root / FILENAME
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secrets.token_hex(32) + "\n")
    return path
