"""Where student code runs while the checks call it: in this process, or in a worker.

A session loads one exercise of one submission and hands its implementation to the checks.
`InProcessSession` is for `grader check` (a student checking their own work) and the audit's
catalog; `WorkerSession` is for grading submissions nobody vouches for: the code runs in a
separate process that holds nothing but the student's code (grader.proxy).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from grader.failures import WorkerFailure
from grader.submission import load, notebook_cells, read


class Session(Protocol):
    def open(self) -> Any: ...           # load the exercise; raises LoadError or WorkerFailure
    def before_check(self) -> None: ...  # a fresh start for references between checks
    def reopen(self) -> Any: ...         # after a WorkerFailure: a new process, loaded again
    def close(self) -> None: ...


class InProcessSession:
    def __init__(self, path: Path | None, exercise: str, impl: Any = None) -> None:
        self.path, self.exercise, self.impl = path, exercise, impl

    def open(self) -> Any:
        if self.impl is None:
            assert self.path is not None
            self.impl = load(self.path, self.exercise)
        return self.impl

    def before_check(self) -> None:
        pass

    def reopen(self) -> Any:
        return self.impl

    def close(self) -> None:
        pass


class WorkerSession:
    """One exercise in its own worker process, restarted if it dies."""

    def __init__(self, path: Path, exercise: str, start_worker: Any = None) -> None:
        from grader.proxy import WorkerProcess

        self.path, self.exercise = path.resolve(), exercise
        self._start = start_worker or WorkerProcess
        self._worker: Any = None

    def open(self) -> Any:
        from grader.proxy import RemoteImplementation

        raw = read(self.path)  # LoadError if unreadable; the worker reads .py files itself
        cells = notebook_cells(raw, self.path.name) if self.path.suffix == ".ipynb" else None
        self._worker = self._start()
        names, notes = self._worker.load(self.path, self.exercise, cells)
        return RemoteImplementation(self._worker, self.exercise, names, notes)

    def before_check(self) -> None:
        self._worker.reset()

    def reopen(self) -> Any:
        self.close()
        return self.open()

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None


__all__ = ["InProcessSession", "Session", "WorkerFailure", "WorkerSession"]
