"""Finding a student's exercise file, and loading it in this process as an Implementation.

The contract: an exercise is `<id>.py` or `<id>.ipynb`, directly in the student's folder or in
its `exercises/` subfolder. A `.py` file runs as a module; a notebook runs cell by cell, and a
cell that fails is skipped with a note. The sandboxed engine loads the same way, in a worker
(both use grader.loading).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grader import notebook
from grader.handle import Implementation
from grader.limits import user_interrupted
from grader.loading import LoadError, run_cells, run_source, student_import_context


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


def load(path: Path, exercise_id: str) -> Implementation:
    """Run the student's file in this process and return a handle on what it defines.

    Raises LoadError. Only for code the caller trusts enough to share its process with:
    `grader check` on a student's own work, the audit's catalog.
    """
    from grader import local_check

    raw = read(path)
    namespace: dict[str, Any] = {"__name__": f"submission_{exercise_id}",
                                 "__file__": str(path), "__builtins__": __builtins__}
    token = local_check.LOADING.set(True)  # a `check()` cell inside the file does nothing
    try:
        with student_import_context(path.parent):
            if path.suffix == ".ipynb":
                notes = run_cells(notebook_cells(raw, path.name), path.name, namespace,
                                  user_interrupted)
            else:
                run_source(raw, str(path), path.name, namespace, user_interrupted)
                notes = []
    finally:
        local_check.LOADING.reset(token)
    return Implementation(exercise_id, namespace, source_file=str(path), notes=notes)
