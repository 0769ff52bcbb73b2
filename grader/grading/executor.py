"""The executor: where a batch of jobs runs, behind the one interface every fan-out uses.

Trust role: trusted. An executor's processes are the grader's own (they hold the checks and
the references); student code never runs in them, only in the sandboxed workers a job starts.
Jobs and results are plain data (strings, numbers, lists, dicts, dataclasses of those), never
live objects, so that an executor on other machines can carry them as they are.

Grading a class (grader.grading.grade_class: grading processes forked from a template, one fresh
one per student), the audit (grader.grading.audit) and the report's curves (grader.reports.curves)
each give an `Executor` their jobs and read back the results; none of them knows where a job runs.
`LocalPool` runs jobs in processes of this machine, `InProcess` in this process (one worker);
an executor for a cluster implements the same two methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["Executor", "ExecutorStopped", "InProcess", "LocalPool"]

J = TypeVar("J")
R = TypeVar("R")
J_contra = TypeVar("J_contra", contravariant=True)
R_co = TypeVar("R_co", covariant=True)


class Executor(Protocol[J_contra, R_co]):
    """Runs jobs, each to one result; what a job does is fixed when the executor is made."""

    def results(self, jobs: Iterable[J_contra]) -> Iterator[R_co]:
        """The result of every job of JOBS, as each finishes (not in order). A job whose run
        was lost (its process died) still gives one: the executor's `lost` result for it."""
        ...

    def close(self) -> None:
        """Stop every job still running and release the processes."""
        ...


class ExecutorStopped(Exception):
    """The executor can run no more jobs (its cluster is gone, or refuses them); the message
    says why and what to do. The caller stops as after Ctrl-C, keeping what it recorded."""


def _started() -> None:
    """A first task: it makes the pool start its processes (all of them, with fork)."""


class LocalPool(Generic[J, R]):
    """TASK(job) for each job in a pool of WORKERS processes forked from this one.

    INITIALIZER(*INITARGS) runs once in each process. With `start_now`, the processes start
    at once and run it while the caller still prepares the jobs, on the CPUs that setup
    leaves idle. LOST(job, exception) is the result of a job that raised or whose process
    died: that job's alone, the others go on."""

    def __init__(self, task: Callable[[J], R], workers: int, *,
                 lost: Callable[[J, BaseException], R],
                 initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = (),
                 start_now: bool = False) -> None:
        self._task = task
        self._lost = lost
        self._pool = ProcessPoolExecutor(max_workers=max(1, workers), initializer=initializer,
                                         initargs=initargs)
        if start_now:
            self._pool.submit(_started)

    def results(self, jobs: Iterable[J]) -> Iterator[R]:
        """Each job is submitted as soon as JOBS yields it, so the processes start on the
        first while the caller still prepares the rest."""
        pending = {self._pool.submit(self._task, job): job for job in jobs}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                job = pending.pop(future)
                try:
                    result = future.result()
                except Exception as e:  # a process died: this job only
                    result = self._lost(job, e)
                yield result

    def close(self) -> None:
        for process in list(getattr(self._pool, "_processes", {}).values()):
            if process.is_alive():
                process.terminate()  # their workers die with them (--die-with-parent)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> LocalPool[J, R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InProcess(Generic[J, R]):
    """TASK(job) for each job, one after the other, in this process: for one worker, where
    starting a process would only cost time. LOST as in LocalPool."""

    def __init__(self, task: Callable[[J], R], *,
                 lost: Callable[[J, BaseException], R]) -> None:
        self._task = task
        self._lost = lost

    def results(self, jobs: Iterable[J]) -> Iterator[R]:
        for job in jobs:
            try:
                result = self._task(job)
            except Exception as e:
                result = self._lost(job, e)
            yield result

    def close(self) -> None:
        pass

    def __enter__(self) -> InProcess[J, R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
