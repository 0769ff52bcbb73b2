"""Where student code runs while the checks call it: in this process, or in a worker.

A session loads one exercise of one submission and hands its implementation to the checks.
`InProcessSession` is for `grader check` (a student checking their own work) and the audit's
catalog; `WorkerSession` is for grading submissions nobody vouches for: the code runs in a
separate process that holds nothing but the student's code (grader.engine.remote).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from grader.authoring.failures import WorkerFailure
from grader.engine.handle import Handle
from grader.engine.in_process import load
from grader.submission.files import notebook_cells, read


class Session(Protocol):
    def open(self) -> Handle: ...        # load the exercise; raises LoadError or WorkerFailure
    def before_check(self) -> None: ...  # a fresh start for references between checks
    def reopen(self) -> Handle: ...      # after a WorkerFailure: a new process, loaded again
    def close(self) -> None: ...


class InProcessSession:
    def __init__(self, path: Path | None, exercise: str, impl: Handle | None = None) -> None:
        self.path, self.exercise, self.impl = path, exercise, impl

    def open(self) -> Handle:
        if self.impl is None:
            assert self.path is not None
            self.impl = load(self.path, self.exercise)
        return self.impl

    def before_check(self) -> None:
        pass

    def reopen(self) -> Handle:
        return self.open()  # the handle open() gave: nothing in this process restarts

    def close(self) -> None:
        pass


class SubmissionWorker:
    """The worker process of one submission, shared by its exercises one after the other.

    Starting a sandboxed interpreter with NumPy costs about 0.1 s, as much as grading an
    untouched exercise. The worker holds nothing but this submission's code either way;
    each exercise is loaded into a fresh namespace. A worker that died, or that was left in
    the middle of a call (a time limit, a failure), is killed and the next user gets a new
    one.
    """

    def __init__(self, start_worker: Any = None) -> None:
        from grader.engine.remote import WorkerProcess

        self._start = start_worker or WorkerProcess
        self._worker: Any = None
        self.started: list[Any] = []  # every worker, for their output logs

    def get(self) -> Any:
        if self._worker is not None and not self._worker.idle:
            self.discard()
        if self._worker is None:
            self._worker = self._start()
            self.started.append(self._worker)
        return self._worker

    def release(self) -> None:
        """Done with it for now: kept for the next exercise only if it is idle."""
        if self._worker is not None and not self._worker.idle:
            self.discard()

    def discard(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None


class WorkerSession:
    """One exercise in a worker process, restarted if it dies.

    With a `SubmissionWorker` the exercises of one submission share a worker; without, the
    exercise gets a worker of its own, closed with the session.
    """

    def __init__(self, path: Path, exercise: str, start_worker: Any = None,
                 shared: SubmissionWorker | None = None) -> None:
        self.path, self.exercise = path.resolve(), exercise
        self._own = shared is None
        self._workers = shared or SubmissionWorker(start_worker)

    def open(self) -> Handle:
        from grader.engine.remote import RemoteImplementation

        raw = read(self.path)  # LoadError if unreadable; the worker reads .py files itself
        cells = notebook_cells(raw, self.path.name) if self.path.suffix == ".ipynb" else None
        worker = self._workers.get()
        names, notes = worker.load(self.path, self.exercise, cells)
        self._worker = worker
        return RemoteImplementation(worker, self.exercise, names, notes)

    def before_check(self) -> None:
        self._worker.reset()

    def reopen(self) -> Handle:
        self._workers.discard()
        return self.open()

    def close(self) -> None:
        if self._own:
            self._workers.discard()
        else:
            self._workers.release()


__all__ = ["Handle", "InProcessSession", "Session", "SubmissionWorker", "WorkerFailure",
           "WorkerSession"]
