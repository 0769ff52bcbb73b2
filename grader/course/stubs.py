"""Generating the student stubs in exercises/ from the references in solutions/.

Trust role: author tooling. It reads the course's own trusted files (solutions/) and writes
exercises/, a folder where a person may also have written code: it never replaces a file it
cannot prove it generated.

One file is the single source of both: the code between `### BEGIN SOLUTION` and
`### END SOLUTION` (nbgrader's markers) becomes `raise NotImplementedError()`, at the
indentation of the marker; signatures and docstrings stay.

`exercises/.stubs.json` records the SHA-256 of every stub `grader stubs` wrote, per exercise.
A file whose hash is there is one of ours and may be replaced; any other file holds
someone's work (a student who worked in the course's repository, an author who edited a stub
by hand) and is left alone. The record is kept in the repository rather than taken from git
history because a download or a copy of the course has no history, and a student's own
commits would make their work look like part of it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
REPLACEMENT = ("# YOUR CODE HERE", "raise NotImplementedError()")


class MarkerError(ValueError):
    pass


def make_stub(source: str, name: str = "<source>") -> str:
    out: list[str] = []
    inside_since: int | None = None
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside_since is not None:
                raise MarkerError(f"{name}:{number}: {BEGIN} inside another solution region")
            inside_since = number
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(f"{indent}{text}\n" for text in REPLACEMENT)
        elif stripped == END:
            if inside_since is None:
                raise MarkerError(f"{name}:{number}: {END} without {BEGIN}")
            inside_since = None
        elif inside_since is None:
            out.append(line)
    if inside_since is not None:
        raise MarkerError(f"{name}:{inside_since}: {BEGIN} is never closed")
    return "".join(out)


def strip_markers(source: str) -> str:
    """The reference without its markers (what the solution code looks like to a reader)."""
    return "".join(line for line in source.splitlines(keepends=True)
                   if line.strip() not in (BEGIN, END))


RECORD = ".stubs.json"
_ABOUT = ("SHA-256 of every stub `grader stubs` generated, per exercise: it replaces only a "
          "file whose hash is listed here, so that nobody's work in exercises/ is overwritten.")


class StubRecordError(ValueError):
    """exercises/.stubs.json is not a record `grader stubs` wrote."""


class PersonsWork(Exception):
    """Files in exercises/ that `grader stubs` did not generate; nothing was written."""

    def __init__(self, states: list[StubState]) -> None:
        super().__init__(", ".join(str(s.path) for s in states))
        self.states = states


@dataclass(frozen=True)
class StubState:
    """What exercises/<id>.py is, compared with the stub solutions/<id>.py gives.

    state: "current" (the stub, recorded), "unrecorded" (the stub, but missing from the
    record), "stale" (an earlier generated stub), "missing", "work" (a file nobody can prove
    was generated: someone's work), "not_a_file" (a folder, a symbolic link, ...)."""

    exercise: str
    path: Path
    state: str
    expected: bytes


def stub_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def read_record(exercises: Path) -> dict[str, list[str]]:
    path = exercises / RECORD
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise StubRecordError(f"{path} cannot be read as JSON ({e})") from None
    if not isinstance(data, dict):
        raise StubRecordError(f"{path} must hold a JSON object")
    record = {}
    for key, hashes in data.items():
        if key.startswith("_"):
            continue
        if not isinstance(hashes, list) or not all(isinstance(h, str) for h in hashes):
            raise StubRecordError(f"{path}: {key!r} must be a list of SHA-256 hex digests")
        record[key] = hashes
    return record


def survey(solutions: Path, exercises: Path, ids: list[str]) -> list[StubState]:
    record = read_record(exercises)
    states = []
    for ex_id in ids:
        expected = make_stub((solutions / f"{ex_id}.py").read_text(), f"{ex_id}.py").encode()
        path = exercises / f"{ex_id}.py"
        known = set(record.get(ex_id, ()))
        if path.is_symlink() or (path.exists() and not path.is_file()):
            state = "not_a_file"
        elif not path.exists():
            state = "missing"
        else:
            digest = stub_hash(path.read_bytes())
            if digest == stub_hash(expected):
                state = "current" if digest in known else "unrecorded"
            else:
                state = "stale" if digest in known else "work"
        states.append(StubState(ex_id, path, state, expected))
    return states


def unregistered(solutions: Path, ids: list[str]) -> list[str]:
    """Module names of solutions/*.py that are not exercises (not in IDS): they get no stub,
    which their author most likely expects. A name starting with _ is a helper, not one."""
    return sorted(p.stem for p in solutions.glob("*.py")
                  if p.stem not in ids and not p.stem.startswith("_"))


def unregistered_advice(name: str) -> str:
    """The one line for solutions/NAME.py, which is not an exercise of course_config.py."""
    return (f"solutions/{name}.py is not an exercise of course_config.py, so it gets no stub: "
            f"add it to EXERCISES (with its checks), or move it aside and run `grader "
            f"new-exercise {name} --title ...`, which writes it with the exercise's other files "
            f"(then bring your code into it).")


def stale_stubs(solutions: Path, exercises: Path, ids: list[str]) -> list[str]:
    """Exercise ids whose stub in `exercises` is not exactly the recorded stub generated
    from `solutions` (out of date, missing, unrecorded, or someone's work)."""
    return [s.exercise for s in survey(solutions, exercises, ids) if s.state != "current"]


def write_stubs(solutions: Path, exercises: Path, ids: list[str]) -> list[Path]:
    """Write every stub that is out of date or missing, and record it. Raises PersonsWork,
    before writing anything, when a file in the way was not generated by this function."""
    states = survey(solutions, exercises, ids)
    refused = [s for s in states if s.state in ("work", "not_a_file")]
    if refused:
        raise PersonsWork(refused)
    exercises.mkdir(parents=True, exist_ok=True)
    record = read_record(exercises)
    written = []
    for s in states:
        if s.state in ("stale", "missing"):
            _replace(s.path, s.expected)
            written.append(s.path)
        digest = stub_hash(s.expected)
        if digest not in record.setdefault(s.exercise, []):
            record[s.exercise].append(digest)
    _replace(exercises / RECORD, (json.dumps({"_about": _ABOUT, **record}, indent=2)
                                  + "\n").encode())
    return written


def _replace(path: Path, content: bytes) -> None:
    # Written aside, then renamed over: an interrupted run leaves the old file or the new
    # one, never half of one.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)
