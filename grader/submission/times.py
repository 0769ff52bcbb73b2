"""When a student submitted each exercise, read from their folder for the late policy.

In order of trust:
1. `timestamp.txt` in the student's folder: written by nbgrader's exchange when the student
   submits (`2026-12-04 22:13:45.123456 UTC`), or by whatever collected the work (any ISO 8601
   date-time with a zone). It gives one time for every exercise of the folder.
2. Git: when the folder is a repository (its own `.git` directory), the committer time of the
   last commit that touched each exercise file, else of HEAD. Students control commit dates
   (GIT_COMMITTER_DATE), so a collector's timestamp file is better where one exists.
3. Otherwise the time is unknown; reports say so and the late policy does not penalise it.

The folder is student-controlled, so nothing here trusts it: the timestamp file is read only
if it is a small regular file (no symlink, no FIFO), and git runs with no user or system
configuration, with every configurable program it could start on `git log` overridden, with
a timeout, and only on the folder's own `.git` (never a parent repository, such as the course
repository that holds demo/submissions). A problem makes the time unknown, with the reason
kept as its source; it never stops grading.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from grader.course.late import parse_time

__all__ = ["SubmissionTime", "parse_timestamp", "submission_times"]

TIMESTAMP_FILE = "timestamp.txt"
MAX_TIMESTAMP_BYTES = 200
GIT_TIMEOUT_S = 10.0  # for all of a student's git calls together

# nbgrader writes "%Y-%m-%d %H:%M:%S.%f %Z": a zone name or abbreviation after the time.
_NBGRADER = re.compile(r"^(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)\s+"
                       r"([A-Za-z][A-Za-z0-9_/+-]*|[+-]\d{2}:?\d{2})$")


@dataclass(frozen=True)
class SubmissionTime:
    when: str    # ISO 8601 with its zone, "" when unknown
    source: str  # "timestamp.txt", "git commit 1a2b3c4d", or why the time is unknown

    @property
    def known(self) -> bool:
        return bool(self.when)


def parse_timestamp(text: str) -> datetime:
    """A timestamp as nbgrader writes it (`2026-12-04 22:13:45.123456 UTC`, any IANA zone or a
    numeric offset) or an ISO 8601 date-time with a zone. Raises ValueError."""
    value = text.strip()
    match = _NBGRADER.match(value)
    if match is None:
        return parse_time(value, TIMESTAMP_FILE)
    naive = datetime.fromisoformat(match.group(1).replace(" ", "T"))
    zone = match.group(2)
    if zone.upper() in ("UTC", "GMT", "Z"):
        return naive.replace(tzinfo=timezone.utc)
    if zone[0] in "+-" and zone[1:].replace(":", "").isdigit():
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return naive.replace(tzinfo=timezone(offset if zone[0] == "+" else -offset))
    try:
        return naive.replace(tzinfo=ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{TIMESTAMP_FILE}: unknown time zone {zone!r} in {text.strip()!r}") \
            from None


def submission_times(folder: Path, exercise_ids: list[str]) -> dict[str, SubmissionTime]:
    """When each exercise in FOLDER was submitted (see the module docstring)."""
    folder = Path(folder)
    stamp = _timestamp_file(folder)
    if stamp is not None:
        return dict.fromkeys(exercise_ids, stamp)
    git = folder / ".git"
    if git.is_dir() and not git.is_symlink():
        return _git_times(folder, exercise_ids)
    return dict.fromkeys(exercise_ids, SubmissionTime("", ""))


def _timestamp_file(folder: Path) -> SubmissionTime | None:
    path = folder / TIMESTAMP_FILE
    try:
        # O_NOFOLLOW: a symlink must not make the grader read another file; O_NONBLOCK: a
        # FIFO must not hang it (fstat then refuses it).
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as e:
        return SubmissionTime("", f"{TIMESTAMP_FILE} unreadable ({type(e).__name__})")
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            return SubmissionTime("", f"{TIMESTAMP_FILE} is not a regular file")
        raw = file.read(MAX_TIMESTAMP_BYTES + 1)
    if len(raw) > MAX_TIMESTAMP_BYTES:
        return SubmissionTime("", f"{TIMESTAMP_FILE} is too long to be a timestamp")
    try:
        when = parse_timestamp(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        reason = str(e) if isinstance(e, ValueError) else "not UTF-8"
        return SubmissionTime("", f"{TIMESTAMP_FILE} not understood ({reason[:160]})")
    return SubmissionTime(when.isoformat(), TIMESTAMP_FILE)


def _git_times(folder: Path, exercise_ids: list[str]) -> dict[str, SubmissionTime]:
    from grader.submission.files import find_exercise_file

    # One time budget for the whole folder: a repository built to be slow costs the grading
    # run GIT_TIMEOUT_S at most, not that much per exercise.
    deadline = time.monotonic() + GIT_TIMEOUT_S
    head = _last_commit(folder, [], deadline)
    if not head.known:
        return dict.fromkeys(exercise_ids, head)
    out = {}
    for ex_id in exercise_ids:
        path = find_exercise_file(folder, ex_id)
        found = _last_commit(folder, [path.relative_to(folder).as_posix()], deadline) \
            if path else None
        out[ex_id] = found if found is not None and found.known else head
    return out


def _last_commit(folder: Path, paths: list[str], deadline: float) -> SubmissionTime:
    """Committer time of the last commit (touching PATHS, if given), by DEADLINE."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return SubmissionTime("", "git log timed out")
    # Each -c closes a way `git log` could start a program named by the repository's own
    # config (a student's .git/config is untrusted); safe.directory lets git read a folder
    # owned by another user, which it must do to read it at all.
    command = ["git", "-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null",
               "-c", "log.showSignature=false", "-c", "core.pager=cat",
               "-c", "diff.external=", "-c", "safe.directory=*", "--no-pager",
               "log", "-1", "--no-color", "--format=%H %cI", "--", *paths]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
           "GIT_DIR": str(folder / ".git"), "GIT_WORK_TREE": str(folder),
           "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        done = subprocess.run(command, cwd=folder, env=env, capture_output=True,
                              timeout=remaining, stdin=subprocess.DEVNULL, check=False)
    except FileNotFoundError:
        return SubmissionTime("", "git is not installed")
    except subprocess.TimeoutExpired:
        return SubmissionTime("", "git log timed out")
    fields = done.stdout.decode("utf-8", "replace").split()
    if done.returncode != 0 or len(fields) != 2:
        return SubmissionTime("", "no git commit found" if done.returncode == 0
                              else "git log failed")
    try:
        when = parse_time(fields[1], "git commit time")
    except ValueError:
        return SubmissionTime("", "git commit time not understood")
    return SubmissionTime(when.isoformat(), f"git commit {fields[0][:10]}")
