"""Loading a student's exercise in this process, as an Implementation the checks can call.

Trust role: only for code the caller trusts enough to share its process with: `grader check`
on a student's own work, the audit's catalog. Class grading loads in a worker instead
(grader.engine.remote).
"""

from __future__ import annotations

import contextvars
from pathlib import Path
from typing import Any

from grader.engine.handle import Implementation
from grader.engine.time_limit import user_interrupted
from grader.sandbox.runtime.loading import run_cells, run_source, student_import_context
from grader.submission.files import notebook_cells, read

__all__ = ["LOADING", "load"]

# True while a student's file runs here: a `check()` call inside it (grader.grading.local_check)
# then does nothing, so loading a notebook never grades it recursively.
LOADING: contextvars.ContextVar[bool] = contextvars.ContextVar("grader_loading", default=False)


def load(path: Path, exercise_id: str) -> Implementation:
    """Run the student's file in this process and return a handle on what it defines.

    Raises LoadError. Only for code the caller trusts enough to share its process with:
    `grader check` on a student's own work, the audit's catalog.
    """
    raw = read(path)
    namespace: dict[str, Any] = {"__name__": f"submission_{exercise_id}",
                                 "__file__": str(path), "__builtins__": __builtins__}
    token = LOADING.set(True)  # a `check()` cell inside the file does nothing
    try:
        with student_import_context(path.parent):
            if path.suffix == ".ipynb":
                notes = run_cells(notebook_cells(raw, path.name), path.name, namespace,
                                  user_interrupted)
            else:
                run_source(raw, str(path), path.name, namespace, user_interrupted)
                notes = []
    finally:
        LOADING.reset(token)
    return Implementation(exercise_id, namespace, source_file=str(path), notes=notes)
