"""Generating the student stubs in exercises/ from the references in solutions/.

One file is the single source of both: the code between `### BEGIN SOLUTION` and
`### END SOLUTION` (nbgrader's markers) becomes `raise NotImplementedError()`, at the
indentation of the marker; signatures and docstrings stay.
"""

from __future__ import annotations

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


def stale_stubs(solutions: Path, exercises: Path, ids: list[str]) -> list[str]:
    """Exercise ids whose stub in `exercises` differs from the one generated from `solutions`."""
    stale = []
    for ex_id in ids:
        expected = make_stub((solutions / f"{ex_id}.py").read_text(), f"{ex_id}.py")
        stub = exercises / f"{ex_id}.py"
        if not stub.is_file() or stub.read_text() != expected:
            stale.append(ex_id)
    return stale


def write_stubs(solutions: Path, exercises: Path, ids: list[str]) -> list[Path]:
    exercises.mkdir(parents=True, exist_ok=True)
    written = []
    for ex_id in ids:
        target = exercises / f"{ex_id}.py"
        target.write_text(make_stub((solutions / f"{ex_id}.py").read_text(), f"{ex_id}.py"))
        written.append(target)
    return written
