"""The numbers behind the feedback plots: each student's loss curves and XOR decision regions,
next to the reference's on the very same problems.

Trust: getting a student's curves means running the student's code, so it runs exactly as
in `grader grade`: in a sandboxed worker process (grader.engine.sessions.WorkerSession through
grader.engine.remote), from a private copy of the submission, within the exercise's time limit, and
only plain data comes back, which is validated here before it is kept. The report process
never imports student code. The reference runs here, on the grader side, on its own copy of
each input.

The problems (fixed, so every student is plotted on the same one):
- linreg_gd: `gradient_descent(X, y, lr=0.05, n_iters=100)` on 40 noisy points of a plane in 3
  features;
- optimizers: the grader drives 100 steps of the student's SGD (lr 0.1), Momentum (lr 0.1,
  mu 0.8) and Adam (lr 0.05) on a quadratic bowl with two parameter arrays of 4 entries and
  curvatures 2 and 0.5, calling only the constructors and `step`, so a broken
  `run_optimizer` does not hide a working optimizer;
- xor_net: `train(XOR_X, XOR_Y)` with its defaults (hidden 4, lr 2, 2000 epochs, seed 0), then
  `forward(params, grid)` on a 41 x 41 grid over [-0.5, 1.5]^2 for the decision regions.

Stored in `OUT/curves.sqlite`, one row per student with the submission hash it was computed
from: a student is traced again only when their graded files change, and never when the
files found now differ from the ones graded (the plots must show the graded code).
"""

from __future__ import annotations

import base64
import json
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from grader.course.model import load_course, reference
from grader.gradebook.store import FILENAME, Gradebook, student_text
from grader.grading.dask_executor import DaskExecutor
from grader.grading.executor import LocalPool
from grader.submission.identity import submission_hash

CURVES_FILE = "curves.sqlite"
TRACED = ("linreg_gd", "optimizers", "xor_net")
GD_ITERS = 100
OPT_STEPS = 100
OPTIMIZERS = {"SGD": {"lr": 0.1}, "Momentum": {"lr": 0.1, "mu": 0.8}, "Adam": {"lr": 0.05}}
XOR_EPOCHS = 2000
XOR_EVERY = 10          # keep every 10th XOR loss: 200 points draw the same curve as 2000
GRID = np.linspace(-0.5, 1.5, 41)
MAX_LEN = 100_000       # longer answers are not plotted (and not stored)


# ---------------------------------------------------------------------------- the problems


def _gd_problem() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(load_course().seed)
    X = rng.standard_normal((40, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 0.7 + 0.1 * rng.standard_normal(40)
    return X, y


def _opt_problem() -> tuple[list[np.ndarray], Callable[[list[np.ndarray]], Any]]:
    rng = np.random.default_rng(load_course().seed + 1)
    curvatures = [2.0, 0.5]
    centres = [rng.standard_normal(4), rng.standard_normal(4)]
    init = [rng.standard_normal(4), rng.standard_normal(4)]

    def loss_and_grads(params: list[np.ndarray]) -> tuple[float, list[np.ndarray]]:
        diffs = [np.asarray(p, dtype=float) - c for p, c in zip(params, centres)]
        loss = sum(0.5 * k * float(d @ d) for k, d in zip(curvatures, diffs))
        return loss, [k * d for k, d in zip(curvatures, diffs)]

    return init, loss_and_grads


def _grid_points() -> np.ndarray:
    xx, yy = np.meshgrid(GRID, GRID)
    return np.column_stack([xx.ravel(), yy.ravel()])


def _xor_data() -> tuple[np.ndarray, np.ndarray]:
    ref = reference("xor_net")
    return np.array(ref.XOR_X, dtype=float), np.array(ref.XOR_Y, dtype=float)


# ---------------------------------------------------------------------------- running them


class NotPlotted(Exception):
    """The student's answer cannot be plotted; the message says why (shown to the student)."""


def trace(exercise: str, impl: Any) -> dict[str, Any]:
    """The curves of one exercise from IMPL (a student's handle on a worker, or the
    reference module): {"losses": [...]} and, for xor_net, {"grid": [[...]]}; each panel that
    cannot be drawn is replaced by {"error": why}."""
    if exercise == "linreg_gd":
        X, y = _gd_problem()
        return _guard(lambda: {"losses": _losses(
            _items(impl.gradient_descent(X.copy(), y.copy(), lr=0.05, n_iters=GD_ITERS), 3,
                   "gradient_descent")[2], GD_ITERS, "gradient_descent's losses")})
    if exercise == "optimizers":
        return {name: _guard(lambda name=name, kwargs=kwargs: {
            "losses": _drive(getattr(impl, name), kwargs)}) for name, kwargs in OPTIMIZERS.items()}
    if exercise == "xor_net":
        X, Y = _xor_data()
        return _guard(lambda: _xor(impl, X, Y))
    raise ValueError(f"no curves for {exercise!r}")


def _drive(optimizer_class: Any, kwargs: dict) -> list[float | None]:
    init, loss_and_grads = _opt_problem()
    params = [p.copy() for p in init]
    optimizer = optimizer_class(params, **kwargs)
    losses: list[float] = []
    for _ in range(OPT_STEPS):
        loss, grads = loss_and_grads(params)
        losses.append(loss)
        optimizer.step(params, grads)  # updates the very arrays in `params` (mirrored)
    return _losses(losses, OPT_STEPS, "the losses")


def _xor(impl: Any, X: np.ndarray, Y: np.ndarray) -> dict[str, Any]:
    params, losses = _items(impl.train(X.copy(), Y.copy(), hidden=4, lr=2.0,
                                       epochs=XOR_EPOCHS, seed=0), 2, "train")
    out: dict[str, Any] = {"losses": _losses(losses, XOR_EPOCHS, "train's losses")[::XOR_EVERY]}
    if not isinstance(params, dict):
        raise NotPlotted("train must return (params, losses) with params a dict")
    p = _items(impl.forward(params, _grid_points()), 2, "forward")[0]
    grid = _numbers(p, "forward's p")
    if grid.size != GRID.size ** 2:
        raise NotPlotted(f"forward returned {grid.size} probabilities for {GRID.size ** 2} "
                         "points")
    out["grid"] = _json_numbers(np.clip(grid.reshape(GRID.size, GRID.size), 0.0, 1.0), 4)
    return out


def _guard(make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
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


def _items(value: Any, n: int, what: str) -> Any:
    if not isinstance(value, (tuple, list)) or len(value) != n:
        raise NotPlotted(f"{what} must return a tuple of {n} values")
    return value


def _numbers(value: Any, what: str) -> np.ndarray:
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


def _losses(value: Any, expected: int, what: str) -> list[float | None]:
    losses = _numbers(value, what)
    if losses.size == 0:
        raise NotPlotted(f"{what} is empty")
    return _json_numbers(losses[:expected])


def _json_numbers(array: np.ndarray, digits: int | None = None) -> Any:
    """Floats JSON can hold (nested like ARRAY): NaN and infinities become None, drawn as
    gaps. DIGITS rounds (the grid needs 4 decimals, not 17)."""
    if digits is not None:
        array = np.round(array, digits)
    if array.ndim > 1:
        return [_json_numbers(row) for row in array]
    return [float(v) if np.isfinite(v) else None for v in array]


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "it raised an error"
    return line[:200]


@cache
def reference_curves() -> dict[str, dict[str, Any]]:
    """The reference's curves on the same problems (computed here, on the grader side)."""
    return {ex: trace(ex, reference(ex)) for ex in TRACED}


# ---------------------------------------------------------------------------- a student


def trace_student(student: str, folder: str) -> dict[str, Any]:
    """The curves of every traced exercise of one student, each run in a sandboxed worker.
    Runs in a grading process (trusted), never with student code in it."""
    from grader.engine.sessions import WorkerSession
    from grader.engine.time_limit import TimeLimitExceeded, time_limit
    from grader.grading.grade_class import sandboxed_submission
    from grader.submission.files import find_exercise_file

    course = load_course()
    out: dict[str, Any] = {}
    with sandboxed_submission(Path(folder), [course.exercises[ex] for ex in TRACED]) \
            as (copy, worker):
        for ex in TRACED:
            path = find_exercise_file(copy, ex)
            if path is None:
                out[ex] = {"error": f"no {ex}.py or {ex}.ipynb was submitted"}
                continue
            exercise = course.exercises[ex]
            session = WorkerSession(path, ex, shared=worker)
            try:
                with time_limit(exercise.time_limit_s):
                    out[ex] = _guard(lambda ex=ex, session=session: trace(ex, session.open()))
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
    if type(curves) is not dict or not all(k in TRACED and type(v) is dict
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
        return {ex: {"error": "the tracing process stopped"} for ex in TRACED}
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
        from grader.grading.dask_executor import stop_if_refused

        try:
            data = json.loads(text)
        except ValueError:
            data = None
        stop_if_refused(data, worker, self._components)
        return self._checked(job, data.get("curves") if type(data) is dict else None)
