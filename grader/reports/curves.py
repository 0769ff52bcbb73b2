"""The numbers behind the feedback plots: each student's traces (loss curves, decision
regions...) next to the reference's, on the very same problems.

Which exercises have a plot, and what it shows, is the course's: an exercise has a feedback
plot when `solutions/plots/<exercise>.py` exists, a trusted course file (like the checks and
the references) defining

- `trace(impl) -> dict`: runs the exercise's fixed problem through IMPL (a student's sandboxed
  handle, or the reference module) and returns plain data: dicts of lists of floats (None for
  a gap), and {"error": why} for what cannot be drawn. It calls student code only through
  IMPL, and checks what comes back with the helpers here (`items`, `numbers`, `losses`,
  `json_numbers`, `guard`, `NotPlotted`);
- `draw(ax, student, reference)`: draws it (see grader.reports.plots);
- optionally `PANELS`, how many axes the plot takes (default 1).

This module keeps what every plot needs: guarding each trace, validating that it is plain
finite numbers, None and short strings of bounded size, running students in sandboxed
workers through the executor, and storing the result.

Trust: getting a student's traces means running the student's code, so it runs exactly as
in `grader grade`: in a sandboxed worker process (grader.engine.sessions.WorkerSession through
grader.engine.remote), from a private copy of the submission, within the exercise's time limit, and
only plain data comes back, which is validated before it is kept. The report process never
imports student code. The reference runs here, on the grader side, on its own copy of each
input.

Stored in `OUT/curves.sqlite`, one row per student with the submission hash it was computed
from: a student is traced again only when their graded files change, and never when the
files found now differ from the ones graded (the plots must show the graded code).
"""

from __future__ import annotations

import base64
import json
import math
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from grader.course.model import Course, CourseError, import_path, load_course
from grader.gradebook.store import FILENAME, Gradebook, student_text
from grader.grading.dask_executor import DaskExecutor
from grader.grading.executor import LocalPool
from grader.submission.identity import submission_hash

CURVES_FILE = "curves.sqlite"
MAX_LEN = 100_000       # longer answers are not plotted (and not stored)
# Bounds of one exercise's trace: numbers in all, nesting, and characters of a string.
MAX_VALUES = 200_000
MAX_DEPTH = 8
MAX_TEXT = 500


# ---------------------------------------------------------------------------- the hooks


def plot_hooks(course: Course | None = None) -> dict[str, ModuleType]:
    """The feedback-plot hooks of COURSE (default: the process course), by exercise, in the
    order of course_config.py: `solutions/plots/<exercise>.py` of each exercise that has one."""
    course = course or load_course()
    return course.cached("plot_hooks", lambda: {
        ex: _load_hook(course, ex) for ex in course.exercises
        if (course.plots_dir / f"{ex}.py").is_file()})


def _load_hook(course: Course, exercise: str) -> ModuleType:
    path = course.plots_dir / f"{exercise}.py"
    with course.importing():
        module = import_path(path, f"_plots_{exercise}")
    for name in ("trace", "draw"):
        if not callable(getattr(module, name, None)):
            raise CourseError(f"{path}: defines no function {name}(): a feedback plot needs "
                              f"trace(impl) and draw(ax, student, reference)")
    count = getattr(module, "PANELS", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 8:
        raise CourseError(f"{path}: PANELS must be a whole number from 1 to 8, got {count!r}")
    return module


def panels(hook: ModuleType) -> int:
    """How many axes an exercise's plot takes (its hook's PANELS)."""
    return getattr(hook, "PANELS", 1)


# ---------------------------------------------------------------------------- running them


class NotPlotted(Exception):
    """The student's answer cannot be plotted; the message says why (shown to the student)."""


def trace(exercise: str, impl: Any) -> dict[str, Any]:
    """The traces of EXERCISE from IMPL (a student's handle on a worker, or the reference
    module), by the course's hook, as validated plain data; {"error": why} when they cannot
    be drawn (a broken answer never stops the report)."""
    hook = plot_hooks()[exercise]
    return guard(lambda: plain(hook.trace(impl)))


def plain(value: Any) -> dict[str, Any]:
    """VALUE (a trace) as JSON-ready plain data, else NotPlotted: a dict of dicts with string
    keys, lists, floats (NaN and infinities become None, drawn as gaps), None and short
    strings, at most MAX_VALUES numbers nested at most MAX_DEPTH deep."""
    count = 0

    def walk(v: Any, depth: int) -> Any:
        nonlocal count
        if depth > MAX_DEPTH:
            raise NotPlotted(f"the trace is nested more than {MAX_DEPTH} deep")
        if v is None:
            return None
        if isinstance(v, (bool, np.bool_)):
            raise NotPlotted("the trace holds a bool, not a number")
        if isinstance(v, (int, float, np.integer, np.floating)):
            count += 1
            if count > MAX_VALUES:
                raise NotPlotted(f"the trace holds more than {MAX_VALUES} numbers")
            number = float(v)
            return number if math.isfinite(number) else None
        if isinstance(v, str):
            return v[:MAX_TEXT]
        if isinstance(v, (list, tuple)):
            return [walk(x, depth + 1) for x in v]
        if isinstance(v, dict) and all(isinstance(k, str) for k in v):
            return {k: walk(x, depth + 1) for k, x in v.items()}
        raise NotPlotted(f"the trace holds a {type(v).__name__}: plain numbers, lists, dicts "
                         "and strings only")

    if not isinstance(value, dict):
        raise NotPlotted(f"the trace is a {type(value).__name__}, not a dict")
    return walk(value, 0)


def guard(make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """MAKE(), or {"error": why} when it raises: one panel lost, nothing else."""
    from grader.authoring.failures import CheckFailure, StudentCodeError, WorkerFailure
    from grader.sandbox.runtime.loading import LoadError

    try:
        return make()
    except NotPlotted as e:
        return {"error": str(e)}
    except (CheckFailure, StudentCodeError, LoadError, WorkerFailure) as e:
        # Grader-made descriptions of what the student's code did (never a hidden input).
        return {"error": _first_line(getattr(e, "message", None) or str(e))}
    except Exception as e:  # an answer of a shape nobody foresaw: no plot, nothing else lost
        return {"error": f"the answer could not be plotted ({type(e).__name__})"}


def items(value: Any, n: int, what: str) -> Any:
    """VALUE, if it is a tuple or list of N values (what WHAT must return)."""
    if not isinstance(value, (tuple, list)) or len(value) != n:
        raise NotPlotted(f"{what} must return a tuple of {n} values")
    return value


def numbers(value: Any, what: str) -> np.ndarray:
    """VALUE as a float array, if it is plain numbers (a list, tuple or numeric array)."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "fiu":
            raise NotPlotted(f"{what} is an array of {value.dtype}, not numbers")
        array = value.astype(float)
    elif isinstance(value, (list, tuple)):
        if len(value) > MAX_LEN:
            raise NotPlotted(f"{what} has {len(value)} entries")
        if not all(isinstance(v, (int, float, np.integer, np.floating))
                   and not isinstance(v, bool) for v in value):
            raise NotPlotted(f"{what} must hold numbers only")
        array = np.array(value, dtype=float)
    else:
        raise NotPlotted(f"{what} must be a list of numbers")
    if array.size > MAX_LEN:
        raise NotPlotted(f"{what} has {array.size} entries")
    return array.ravel()


def losses(value: Any, expected: int, what: str) -> list[float | None]:
    """The first EXPECTED numbers of VALUE, as JSON floats (None for a gap)."""
    values = numbers(value, what)
    if values.size == 0:
        raise NotPlotted(f"{what} is empty")
    return json_numbers(values[:expected])


def json_numbers(array: np.ndarray, digits: int | None = None) -> Any:
    """Floats JSON can hold (nested like ARRAY): NaN and infinities become None, drawn as
    gaps. DIGITS rounds (the grid needs 4 decimals, not 17)."""
    if digits is not None:
        array = np.round(array, digits)
    if array.ndim > 1:
        return [json_numbers(row) for row in array]
    return [float(v) if np.isfinite(v) else None for v in array]


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "it raised an error"
    return line[:200]


def reference_curves() -> dict[str, dict[str, Any]]:
    """The reference's traces on the same problems (computed here, on the grader side, once
    per course). A reference that cannot be traced is the course's mistake: CourseError."""
    course = load_course()

    def make() -> dict[str, dict[str, Any]]:
        out = {}
        for ex, hook in plot_hooks(course).items():
            traced = guard(lambda hook=hook, ex=ex: plain(hook.trace(course.reference(ex))))
            why = _first_error(traced)
            if why is not None:
                raise CourseError(f"{course.plots_dir / f'{ex}.py'}: the reference's trace "
                                  f"failed: {why}")
            out[ex] = traced
        return out

    return course.cached("reference_curves", make)


def _first_error(value: Any) -> str | None:
    if isinstance(value, dict):
        if isinstance(value.get("error"), str):
            return value["error"]
        return next((e for v in value.values() if (e := _first_error(v)) is not None), None)
    return None


# ---------------------------------------------------------------------------- a student


def trace_student(student: str, folder: str) -> dict[str, Any]:
    """The traces of every plotted exercise of one student, each run in a sandboxed worker.
    Runs in a grading process (trusted), never with student code in it."""
    from grader.engine.sessions import WorkerSession
    from grader.engine.time_limit import TimeLimitExceeded, time_limit
    from grader.grading.grade_class import sandboxed_submission
    from grader.submission.files import find_exercise_file

    course = load_course()
    plotted = list(plot_hooks(course))
    out: dict[str, Any] = {}
    if not plotted:
        return out
    with sandboxed_submission(Path(folder), [course.exercises[ex] for ex in plotted]) \
            as (copy, worker):
        for ex in plotted:
            path = find_exercise_file(copy, ex)
            if path is None:
                out[ex] = {"error": f"no {ex}.py or {ex}.ipynb was submitted"}
                continue
            exercise = course.exercises[ex]
            session = WorkerSession(path, ex, shared=worker)
            try:
                with time_limit(exercise.time_limit_s):
                    out[ex] = guard(lambda ex=ex, session=session: trace(ex, session.open()))
            except TimeLimitExceeded:
                out[ex] = {"error": f"stopped at the time limit of {exercise.time_limit_s:g} s"}
            finally:
                session.close()
    return out


def _trace_job(job: tuple[str, str, str]) -> dict[str, Any]:
    """One job of update_curves (student, folder, submission hash), in an executor."""
    student, folder, digest = job
    return {"student": student, "submission_hash": digest,
            "curves": trace_student(student, folder)}


def _lost(job: tuple[str, str, str], error: BaseException) -> dict[str, Any]:
    return {"student": job[0], "submission_hash": job[2], "lost": type(error).__name__}


# ---------------------------------------------------------------------------- the store


class CurveStore:
    """`OUT/curves.sqlite`: student -> (submission hash, curves as JSON)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        self._db.execute('CREATE TABLE IF NOT EXISTS curves ("student" TEXT PRIMARY KEY, '
                         '"submission_hash" TEXT NOT NULL, "data" TEXT NOT NULL)')

    def get_all(self) -> dict[str, tuple[str, dict[str, Any]]]:
        return {student: (digest, json.loads(data)) for student, digest, data in
                self._db.execute('SELECT "student", "submission_hash", "data" FROM curves')}

    def hashes(self) -> dict[str, str]:
        return dict(self._db.execute('SELECT "student", "submission_hash" FROM curves'))

    def put(self, student: str, digest: str, data: dict[str, Any]) -> None:
        self._db.execute('INSERT OR REPLACE INTO curves VALUES (?, ?, ?)',
                         (student_text(student), digest, json.dumps(data, allow_nan=False)))

    def close(self) -> None:
        self._db.close()


def load_curves(output: Path) -> dict[str, dict[str, Any]]:
    """The stored curves of OUTPUT, by student ({} when none were traced)."""
    path = Path(output) / CURVES_FILE
    if not path.is_file():
        return {}
    store = CurveStore(path)
    try:
        return {student: data for student, (_, data) in store.get_all().items()}
    finally:
        store.close()


def update_curves(output: Path, submissions: Path, *, workers: int = 1,
                  log: Callable[[str], Any] = print, scheduler: str | None = None) -> int:
    """Trace every student of OUTPUT's gradebook whose folder is in SUBMISSIONS, unless the
    stored curves are from the same files, in WORKERS local processes or, with SCHEDULER
    (`local:N` or an address), on a Dask cluster. Returns how many were traced."""
    course = load_course()
    with Gradebook(Path(output) / FILENAME, create=False) as book:
        graded = {s: (book.student_info(s) or {}).get("submission_hash", "")
                  for s in book.students()}
    store = CurveStore(Path(output) / CURVES_FILE)
    try:
        have = store.hashes()
        jobs = []
        for student, digest in graded.items():
            folder = Path(submissions) / student
            if not folder.is_dir() or folder.is_symlink():
                continue
            now = submission_hash(folder, list(course.exercises))
            if now != digest:
                log(f"grader report: {student!r}: the files differ from the graded ones; "
                    "grade again to plot them.")
                continue
            if have.get(student) != digest:
                jobs.append((student, str(folder), digest))
        if not jobs:
            return 0
        with _executor(workers, scheduler) as pool:
            for result in pool.results(jobs):
                if "lost" in result:  # a grading process died: no plots for this student
                    log(f"grader report: no curves for {result['student']!r} "
                        f"({result['lost']})")
                else:
                    store.put(result["student"], result["submission_hash"], result["curves"])
        return len(jobs)
    finally:
        store.close()


@contextmanager
def _executor(workers: int, scheduler: str | None) -> Iterator[Any]:
    if scheduler is None:
        with LocalPool(_trace_job, workers, lost=_lost, initializer=_init_process) as pool:
            yield pool
        return
    from grader.grading.dask_executor import dask_client
    from grader.grading.executor import ExecutorStopped
    from grader.reports.data import ReportError

    with dask_client(scheduler) as client:
        try:
            yield DaskCurves(client, _checked_curves, _lost)
        except ExecutorStopped as e:
            raise ReportError(str(e)) from None


def _checked_curves(job: tuple[str, str, str], curves: Any) -> dict[str, Any]:
    """A result of a Dask worker's trace (JSON), as _trace_job's: only traced exercises, each
    a dict (what the plots read checks its numbers)."""
    student, _, digest = job
    if type(curves) is not dict or not all(k in plot_hooks() and type(v) is dict
                                           for k, v in curves.items()):
        return {"student": student, "submission_hash": digest, "lost": "a malformed result"}
    return {"student": student, "submission_hash": digest, "curves": curves}


def trace_files(student: str, folder: str) -> dict[str, Any]:
    """trace_student in a process forked for it (on a Dask worker, whose task thread cannot
    take the time limit's signal, and whose daemon process multiprocessing would not let
    have children): the child's only thread is its main one. Its curves come back as JSON
    through a pipe; a child that died gives an error for every traced exercise."""
    import os

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: trace, write, and never return into the Dask worker's code
        code = 1
        try:
            os.close(read_fd)
            _init_process()
            data = json.dumps(trace_student(student, folder), allow_nan=False).encode()
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        text = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        return {ex: {"error": "the tracing process stopped"} for ex in plot_hooks()}
    return json.loads(text)


def _init_process() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 3000))


# ---------------------------------------------------------------------------- on Dask


def trace_task(text: str) -> str:
    """On a Dask worker: one student's curves for `grader report --submissions`
    (grader.reports.curves.trace_student on the files the job carries), as JSON text."""
    import shutil

    from grader.grading.dask_executor import refusal
    from grader.grading.grade_class import write_copy

    job = json.loads(text)
    refused = refusal(job)
    if refused is not None:
        return refused
    copy = write_copy({name: base64.b64decode(data) for name, data in job["files"].items()})
    try:
        return json.dumps({"curves": trace_files(str(job["student"]), str(copy))},
                          allow_nan=False)
    finally:
        shutil.rmtree(copy, ignore_errors=True)


class DaskCurves(DaskExecutor[tuple[str, str, str], dict[str, Any]]):
    """The executor of `grader report --submissions --scheduler`: each job (student, folder,
    submission hash) traced on a Dask worker of CLIENT by trace_task; CHECKED(job, curves)
    is the job's result from the decoded curves, LOST as in DaskExecutor."""

    def __init__(self, client: Any,
                 checked: Callable[[tuple[str, str, str], Any], dict[str, Any]],
                 lost: Callable[[tuple[str, str, str], BaseException], dict[str, Any]]) -> None:
        from grader.course import secret as course_secret
        from grader.engine.grader_key import key_components, key_of

        # The key `grader grade` grades with (the course secret's): a Dask worker prepares
        # itself so, whichever command it serves.
        self._course = load_course()
        secret = course_secret.read(self._course.root)
        fingerprint = course_secret.fingerprint(secret) if secret is not None else None
        self._key = key_of(self._course, fingerprint)
        self._components = key_components(self._course, fingerprint)
        self._checked = checked
        super().__init__(client, trace_task, encode=self._job_text, decode=self._job_result,
                         lost=lost)

    def _job_text(self, job: tuple[str, str, str]) -> str:
        from grader.grading.dask_executor import job_text

        return job_text(self._course, self._key, self._components, Path(job[1]),
                        {"student": job[0]})

    def _job_result(self, job: tuple[str, str, str], text: str, worker: str
                    ) -> dict[str, Any]:
        from grader.grading.dask_executor import accepted

        data = accepted(text, worker, self._components)
        return self._checked(job, data.get("curves") if type(data) is dict else None)
