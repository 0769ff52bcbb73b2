"""Finding a student's exercise file and reading it: the submission contract.

The contract: an exercise is `<id>.py` or `<id>.ipynb`, directly in the student's folder or in
its `exercises/` subfolder. A `.py` file runs as a module; a notebook runs cell by cell, and a
cell that fails is skipped with a note. Running it is the engine's job: in this process
(grader.engine.in_process) or in a worker; both use grader.sandbox.runtime.loading.

Trust role: reads student files as bytes; never runs them.
"""

from __future__ import annotations

from pathlib import Path

from grader.sandbox.runtime.loading import LoadError
from grader.submission import notebook


def exercise_file_candidates(folder: Path, exercise_id: str) -> list[Path]:
    """Where an exercise's file may be in a submission, in the order they are tried."""
    return [where / f"{exercise_id}{suffix}"
            for where in (folder, folder / "exercises") for suffix in (".py", ".ipynb")]


def find_exercise_file(folder: Path, exercise_id: str) -> Path | None:
    return next((c for c in exercise_file_candidates(folder, exercise_id) if c.is_file()), None)


def read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise LoadError("bad_file", f"{path.name} could not be read: {e.strerror}.") from None


def notebook_cells(raw: bytes, name: str) -> list[tuple[int, str]]:
    """A notebook's code cells as (cell number, plain Python). Raises LoadError."""
    return [(cell.index, cell.source) for cell in notebook.code_cells(raw, name)]
