"""Grading on a Dask cluster: the executor of `--scheduler ADDRESS` and `--scheduler local:N`.

Trust role: trusted on both sides, with a plain-text boundary between them. The coordinator
(the `grader grade`, `grade --nbgrader` or `grader report` process) is the only writer of the
gradebook. A Dask worker is a grader process like a GradingPool process (it holds the checks
and the references, prepared once by prepare_grading_process); student code never runs in it,
only in the sandboxed workers its fresh grading processes start (grade_class.grade_files).
Whatever Dask's serializer does, only text crosses: a job is JSON (the submission's files
base64, read on the coordinator with the caps and bad-file rules of grade_class.read_submission,
so workers need no shared file system), and a result is JSON, decoded and checked on the
coordinator (grade_class.job_result) before anything is recorded. A worker whose grader key
differs from the coordinator's refuses the job and the run stops, naming what differs.

Anyone who can reach the Dask scheduler can run code on its workers: it must be reachable
only by the grader's own machines, never by students.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Generic, TypeVar

from grader.grading.executor import ExecutorStopped
from grader.submission.mistakes import UsageError

__all__ = ["COURSE_ENV", "NO_FIXED_PORT", "ONE_JOB_PER_WORKER", "DaskExecutor", "DaskGrading",
           "accepted", "dask_client", "dask_grading", "grade_task", "job_text", "mismatch",
           "parse_scheduler", "prepare_worker", "refusal", "run_on_worker"]

J = TypeVar("J")
R = TypeVar("R")

LOCAL = "local:"
# Where a Dask worker finds the course, when its node keeps it elsewhere than the
# coordinator's course root.
COURSE_ENV = "GRADER_COURSE"
CONNECT_TIMEOUT_S = 10
# The scheduler's setting for the clusters of local:N (a running scheduler has its own: the
# README asks for the same). Every job assigned to a worker that dies counts one try against
# `allowed-failures`, and by default a one-thread worker holds two: a student whose job
# happened to wait beside one that killed the worker could be recorded crashed. At 1.0 a
# worker holds only the job it runs.
ONE_JOB_PER_WORKER = {"distributed.scheduler.worker-saturation": 1.0}
# A scheduler serves HTTP (health routes) even without its dashboard, on port 8787 unless told
# otherwise: a second local:N run on the machine then warns that the port is taken. local:N
# has no dashboard and needs no fixed port.
NO_FIXED_PORT = {"dashboard": False, "dashboard_address": ":0"}


# ------------------------------------------------------------------ the scheduler


def parse_scheduler(value: str) -> str | int:
    """--scheduler VALUE: the number of local workers of `local:N`, or a scheduler address
    (tcp://host:port, tls://..., or host:port). A bad value raises UsageError."""
    if value.startswith(LOCAL):
        count = value[len(LOCAL):]
        if not count.isdigit() or int(count) < 1:
            raise UsageError(f"--scheduler {value}: local:N needs a number of workers N of "
                             "at least 1, e.g. local:2.")
        return int(count)
    if not value.strip() or any(c.isspace() for c in value):
        raise UsageError(f"--scheduler {value!r} is not a Dask scheduler address: give one "
                         "like tcp://head:8786, or local:N for N workers on this machine.")
    return value


@contextmanager
def dask_client(scheduler: str) -> Iterator[Any]:
    """A client of the scheduler SCHEDULER names: a `distributed.LocalCluster` of N worker
    processes (one thread each) for `local:N`, started here and closed after the block, or
    the running scheduler at an address. An unreachable address raises UsageError."""
    import logging

    from distributed import Client, LocalCluster

    target = parse_scheduler(scheduler)
    # Dask logs a lost connection as a traceback; the run's own one-line answer says it.
    quiet = logging.getLogger("distributed")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    cluster = None
    if isinstance(target, int):
        import dask

        with dask.config.set(ONE_JOB_PER_WORKER):
            cluster = LocalCluster(n_workers=target, threads_per_worker=1, processes=True,
                                   dashboard_address=None, scheduler_kwargs=NO_FIXED_PORT,
                                   silence_logs=logging.ERROR)
        client = Client(cluster)
    else:
        try:
            client = Client(target, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError) as e:
            quiet.setLevel(level)
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise UsageError(f"could not reach the Dask scheduler at {target}: "
                             f"{reason}") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
        quiet.setLevel(level)


# ------------------------------------------------------------------ the executor


class DaskExecutor(Generic[J, R]):
    """TASK (a function of the grader's, by name) on the Dask workers of CLIENT, for each job
    as ENCODE(job) text; DECODE(job, text, worker) is the job's result, made on the
    coordinator from the text TASK returned on that worker. LOST(job, exception) is the
    result of a job that raised, or whose workers died while running it more often than the
    scheduler allows
    (`distributed.scheduler.allowed-failures`, 3 by default: Dask runs the job elsewhere
    until then). At most WINDOW jobs are on the cluster at once, so that the coordinator
    reads the files of a large class as the workers need them. Losing the scheduler raises
    ExecutorStopped."""

    def __init__(self, client: Any, task: Callable[[str], str], *,
                 encode: Callable[[J], str], decode: Callable[[J, str, str], R],
                 lost: Callable[[J, BaseException], R], window: int | None = None) -> None:
        self._client = client
        self._task, self._encode, self._decode, self._lost = task, encode, decode, lost
        self._window = window or max(8, 4 * self._worker_count())
        self._prefix = f"grader-{uuid.uuid4().hex[:12]}"
        self.workers: set[str] = set()  # the workers that returned a result

    def _worker_count(self) -> int:
        try:
            return len(self._client.scheduler_info()["workers"])
        except Exception:
            return 0

    def results(self, jobs: Iterable[J]) -> Iterator[R]:
        from distributed import as_completed

        pending: dict[Any, J] = {}
        queue = as_completed()
        todo = iter(jobs)
        numbers = itertools.count()

        def submit(count: int) -> None:
            for job in itertools.islice(todo, count):
                future = self._client.submit(run_on_worker, self._task, self._encode(job),
                                             key=f"{self._prefix}-{next(numbers)}",
                                             pure=False)
                pending[future] = job
                queue.add(future)

        submit(self._window)
        for future in queue:
            job = pending.pop(future)
            try:
                result = self._result(job, future)
            finally:
                future.release()
            submit(1)
            yield result

    def _result(self, job: J, future: Any) -> R:
        from distributed.client import FutureCancelledError

        if future.status != "finished":
            if future.status == "cancelled" or self._client.status != "running":
                raise ExecutorStopped(self._scheduler_lost())
            try:
                # Waits: a future as_completed gave as done whose result was lost with its
                # worker since then is computed again, and ends finished or in error.
                error = future.exception()
            except FutureCancelledError:
                raise ExecutorStopped(self._scheduler_lost()) from None
            if error is not None:
                if str(error).startswith("Error during deserialization of the task graph"):
                    # The scheduler itself could not load the grader's task: so would it for
                    # every other job.
                    raise ExecutorStopped(
                        "the Dask scheduler could not load the grader's task: the scheduler "
                        "and every worker need the grader installed, in the same locked "
                        "environment.")
                return self._lost(job, error)
        try:
            text = future.result()
        except FutureCancelledError:
            raise ExecutorStopped(self._scheduler_lost()) from None
        except Exception as error:  # its computation again failed in between
            return self._lost(job, error)
        try:
            wrapper = json.loads(text)
            worker, result = wrapper["worker"], wrapper["result"]
            if type(worker) is not str or type(result) is not str:
                raise ValueError("malformed")
        except (ValueError, KeyError, TypeError) as e:
            return self._lost(job, ValueError(f"the Dask worker sent a malformed result "
                                              f"({e})"))
        self.workers.add(worker)
        return self._decode(job, result, worker)

    def _scheduler_lost(self) -> str:
        address = getattr(self._client.scheduler, "address", None) or "its address"
        return (f"lost the Dask scheduler at {address}: start it again (or check the "
                "network), then run the same command to grade the rest.")

    def where(self) -> str:
        """The summary's words on where the jobs ran."""
        return f"on {len(self.workers)} Dask worker(s)"

    def close(self) -> None:
        # Jobs still on the cluster are cancelled; their grading processes die with their
        # Dask task's worker or end at their deadline.
        pass

    def __enter__(self) -> DaskExecutor[J, R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_on_worker(task: Callable[[str], str], text: str) -> str:
    """On a Dask worker: TASK(TEXT), with the worker's address, as JSON text."""
    from distributed import get_worker

    return json.dumps({"worker": get_worker().address, "result": task(text)})


# ------------------------------------------------------------------ on a Dask worker

_prepared: dict[str, tuple[str, dict[str, str]]] = {}


def prepare_worker(course_root: str) -> tuple[str, dict[str, str]]:
    """Once per Dask worker process and course: prepare it as a GradingPool process is
    prepared (grade_class.prepare_grading_process, with the course secret the course holds),
    for the course at $GRADER_COURSE if the worker has it, else at COURSE_ROOT (the
    coordinator's). Returns this worker's grader key and its components."""
    from grader.authoring.checks import secret_fingerprint, use_course_secret
    from grader.course.model import load_course, use_course
    from grader.engine.grader_key import grader_key, key_components
    from grader.grading.grade_class import prepare_grading_process

    root = os.environ.get(COURSE_ENV) or course_root
    if root not in _prepared:
        import warnings

        # Dask's worker shows every DeprecationWarning; a GradingPool process, like any
        # Python process, hides those of libraries (Hypothesis warns while drawing examples).
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        course = load_course(Path(root))
        use_course(course)
        use_course_secret(course)  # before the checks draw their examples
        prepare_grading_process(root)
        course = load_course()
        _prepared.clear()
        _prepared[root] = (grader_key(), key_components(course, secret_fingerprint()))
    return _prepared[root]


def _pin_local_worker() -> None:
    """A worker of `local:N` (named 0..N-1 by its LocalCluster) grades on one CPU of its own,
    as a GradingPool process does (grade_class.pin_to_cpu; measured on `local:2`, 200
    students: 0.90x the local pool's throughput unpinned, and local:1 1.4x slower than one
    pool process). Set on the task's thread before each job: the pin holds for that thread
    and the grading process it forks. A worker of another cluster keeps whatever CPUs its
    node gives it: its name says nothing about its neighbours."""
    from distributed import get_worker

    from grader.grading.grade_class import pin_to_cpu

    name = get_worker().name
    if type(name) is int:
        pin_to_cpu(name)


def refusal(job: dict[str, Any]) -> str | None:
    """Prepare this worker for JOB's course; its components as JSON text if its grader
    differs from the coordinator's (JOB's key and components), or why it has no course, else
    None."""
    from grader.course.model import CourseError

    try:
        key, components = prepare_worker(str(job["course_root"]))
    except CourseError as e:
        return json.dumps({"no course": str(e)})
    if key != job["key"] or components != job["components"]:
        return json.dumps({"refused": components})
    return None


def grade_task(text: str) -> str:
    """On a Dask worker: one student's job (DaskGrading's JSON text) graded as grade_job grades
    it locally (grade_class.grade_files), as JSON text; or the refusal of a worker whose grader
    differs."""
    from grader.grading.grade_class import grade_files

    job = json.loads(text)
    refused = refusal(job)
    if refused is not None:
        return refused
    _pin_local_worker()
    files = {name: base64.b64decode(data) for name, data in job["files"].items()}
    exercises = job.get("exercises")
    return json.dumps({"graded": grade_files(files, job["unusable"], exercises)})


# ------------------------------------------------------------------ on the coordinator


def job_text(course: Any, key: str, components: dict[str, str], folder: Path,
             extra: dict[str, Any], exercises: list[str] | None = None) -> str:
    """A job as JSON text: the student's files of FOLDER (grade_class.read_submission), the
    EXERCISES to grade (ids; None: all, as in grade_class.Job) and what the worker checks
    its grader against (KEY, COMPONENTS), with EXTRA."""
    from grader.grading.grade_class import read_submission

    files, unusable = read_submission(folder, list(course.exercises) if exercises is None
                                      else exercises)
    return json.dumps({**extra, "course_root": str(course.root), "key": key,
                       "exercises": exercises,
                       "components": components, "unusable": unusable,
                       "files": {name: base64.b64encode(data).decode("ascii")
                                 for name, data in files.items()}})


def mismatch(worker: str, here: dict[str, str], there: dict[str, str]) -> str:
    """The one line that stops a run on a worker whose grader differs: what differs, the
    coordinator's value "here" and the worker's "there"."""
    from grader.printable import printable

    versions = ("grader", "course", "hypothesis", "numpy", "secret", "lock")
    differences, exercises = [], []
    for name in sorted(set(here) | set(there), key=lambda n: (n not in versions, n)):
        mine, theirs = here.get(name, "absent"), there.get(name, "absent")
        if mine == theirs:
            continue
        if name.startswith("exercise "):  # key_components' per-exercise keys
            exercises.append(name[len("exercise "):])
        elif name in versions:
            differences.append(f"{name} {mine} here vs {theirs} there")
        else:
            differences.append(f"{name} differs")
    shown = ", ".join(differences[:6]) or "its grader key differs"
    if len(differences) > 6:
        shown += f" and {len(differences) - 6} more"
    if exercises:
        shown += (f" (so the grader key of exercise{'s' if len(exercises) > 1 else ''} "
                  f"{', '.join(exercises)} differs)")
    return printable(f"Dask worker {worker} has another grader: {shown}. Every worker needs "
                     "the coordinator's locked environment and course (set $GRADER_COURSE "
                     "on a worker whose course is elsewhere); what was graded is kept.",
                     newlines=False)


def accepted(text: str, worker: str, components: dict[str, str]) -> Any:
    """A task's result TEXT from WORKER decoded (None if it is not JSON); raises
    ExecutorStopped if it is the refusal of a worker whose grader differs from COMPONENTS
    or that has no course."""
    from grader.printable import printable

    try:
        data = json.loads(text)
    except ValueError:
        return None
    if type(data) is dict and type(data.get("refused")) is dict:
        there = {str(k): str(v) for k, v in data["refused"].items()}
        raise ExecutorStopped(mismatch(worker, components, there))
    if type(data) is dict and type(data.get("no course")) is str:
        raise ExecutorStopped(printable(
            f"Dask worker {worker} cannot load the course: {data['no course'][:500]} "
            f"(set ${COURSE_ENV} on the worker to the course's folder on its node)",
            newlines=False))
    return data


class DaskGrading(DaskExecutor[Any, dict[str, Any]]):
    """The executor of `grader grade --scheduler` and `grade --nbgrader --scheduler`: each
    student's job (grade_class.Job) graded on a Dask worker of CLIENT by grade_task, for the
    process course and its secret, as they are when the executor is made."""

    def __init__(self, client: Any) -> None:
        from grader.authoring.checks import secret_fingerprint
        from grader.course.model import load_course
        from grader.engine.grader_key import grader_key, key_components
        from grader.grading.grade_class import lost_job

        self._course = load_course()
        self._key = grader_key()
        self._components = key_components(self._course, secret_fingerprint())
        super().__init__(client, grade_task, encode=self._job_text, decode=self._job_result,
                         lost=lost_job)

    def _job_text(self, job: Any) -> str:
        from grader.grading.grade_class import selected_exercises

        # The exercises the local pool would grade (a rerun: those whose file or key changed).
        return job_text(self._course, self._key, self._components, Path(job.folder),
                        {"student": job.student}, selected_exercises(self._course, job))

    def _job_result(self, job: Any, text: str, worker: str) -> dict[str, Any]:
        from grader.grading.grade_class import failed_job, job_result

        data = accepted(text, worker, self._components)
        graded = data.get("graded") if type(data) is dict else None
        if type(graded) is not dict:
            return failed_job(job, "the Dask worker sent a malformed result")
        return job_result(job, graded)



@contextmanager
def dask_grading(scheduler: str) -> Iterator[DaskGrading]:
    """The executor of `grade --scheduler SCHEDULER`, for the process course as it is when
    the block starts; the cluster of `local:N` is closed when it ends."""
    import importlib

    from grader.authoring.checks import checks_for
    from grader.course.model import load_course

    # What the coordinator uses during the run is imported before Dask's threads start: two
    # threads importing one package at once can see it half made (a run once failed on
    # "No module named 'numpy.random'"). The checks (numpy, Hypothesis) check every result;
    # the rest commits them. Traced: with these loaded, the coordinator's main thread
    # imports nothing while Dask's threads run.
    for module in ("grader.engine.grader_key", "grader.environment", "grader.gradebook.store",
                   "grader.sandbox.grading_process", "grader.submission.identity",
                   "grader.submission.times"):
        importlib.import_module(module)
    for exercise in load_course().exercises:
        checks_for(exercise, include_hidden=True)
    with dask_client(scheduler) as client:
        yield DaskGrading(client)
