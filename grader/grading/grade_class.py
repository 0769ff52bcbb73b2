"""Grading a whole class: students in parallel, their code in sandboxed workers.

The parent process owns the gradebook; it hands students to N grading processes of its own
(trusted: they run the checks and hold the references), and each of those runs the
student's code in a worker at the strongest isolation the machine offers (grader.sandbox.isolation).
Every finished student is committed to SQLite in one transaction, so an interrupted run
(Ctrl-C, kill -9) keeps everything graded so far and the next run continues from there.
The grading processes are an executor (grader.grading.executor: `results(jobs)`, `close()`), so
another (a cluster) can replace them. `run_class` is the class loop of both `grader grade`
(FolderClass: a folder per student) and `grade --nbgrader` (grader.integrations.nbgrader.grade),
each supplying its students, jobs and where results go.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from grader.authoring.checks import checks_for, use_course_secret, use_profile
from grader.course.model import Course, load_course, use_course
from grader.engine.replay import known_examples
from grader.engine.results import CheckResult
from grader.engine.run_check import grade_exercise, missing_results
from grader.engine.sessions import SubmissionWorker, WorkerSession
from grader.gradebook.rows import rows as gradebook_rows
from grader.grading.executor import Executor, ExecutorStopped, LocalPool
from grader.printable import printable
from grader.submission.files import exercise_file_candidates, find_exercise_file
from grader.submission.mistakes import class_folder_problem

MAX_COPY_FILES = 300
# What the workers of one submission printed, kept: a few workers' output caps.
MAX_LOG_CHARS = 1_000_000
MAX_COPY_BYTES = 50 * 2**20


@dataclass(frozen=True)
class Job:
    student: str
    folder: str
    submission_hash: str
    # The exercises to grade, in course order; None: every exercise of the course. A rerun
    # grades only those whose file or key changed (run_class).
    exercises: tuple[str, ...] | None = None


def selected_exercises(course: Course, job: Job | list[str] | tuple[str, ...] | None) -> list[str]:
    """The ids of the exercises JOB grades (a Job, or its exercises), in course order."""
    exercises = job.exercises if isinstance(job, Job) else job
    if exercises is None:
        return list(course.exercises)
    wanted = set(exercises)
    return [ex_id for ex_id in course.exercises if ex_id in wanted]


# ------------------------------------------------------------------ in a grading process


def grade_job(job: Job) -> dict[str, Any]:
    """Grade one student (in a grading pool's template process); returns plain data for the
    gradebook.

    The template reads the submission (read_submission), then grades that copy (grade_files)
    and checks what comes back against the course before it becomes rows (job_result). A
    Dask worker (grader.grading.dask_executor) runs grade_files on the files a job carries,
    and the coordinator runs job_result: both paths share every rule."""
    selected = selected_exercises(load_course(), job)
    files, unusable = read_submission(Path(job.folder), selected)
    return job_result(job, grade_files(files, unusable, selected))


def grade_files(files: dict[str, bytes], unusable: dict[str, str],
                exercises: list[str] | None = None) -> dict[str, Any]:
    """Grade the EXERCISES (ids; default: all) of one submission, given as FILES (relative
    path: bytes) and UNUSABLE (why an exercise's file did not reach FILES), in the process
    course: {"out": what the grading process sent, "isolation": the levels it ran at}, or
    {"failed": why} when the grading process failed. Plain data only (JSON-able).

    The submission is written to a private folder; a fresh grading process forked from this
    one drops its privileges and runs the checks against the student's worker
    (grader.sandbox.grading_process); this process starts and kills the workers for it
    (grader.sandbox.launcher)."""
    from grader.sandbox import grading_process, isolation
    from grader.sandbox.launcher import DirectLauncher

    use_profile()
    course = load_course()
    selected = selected_exercises(course, exercises)
    graded = [course.exercises[ex_id] for ex_id in selected]
    copy = write_copy(files)
    isolation.seal(str(copy))  # readable by the grading process's uid, writable by none
    # Found here, before the fork: the grading process may not read the original folder.
    found = {ex_id: find_exercise_file(copy, ex_id) for ex_id in selected}
    why = {ex_id: unusable.get(ex_id) for ex_id, path in found.items() if path is None}
    launcher = DirectLauncher(worker_spec_for(copy, graded))
    try:
        def work(remote: Any, level: str) -> dict[str, Any]:
            return _grade_copy(course, found, why, remote)

        try:
            out, level = grading_process.run(
                work, launcher, readable=(str(copy),),
                deadline_s=sum(e.time_limit_s for e in graded) + 10 * len(graded) + 30)
        except grading_process.GradingProcessFailed as e:
            return {"failed": str(e)}
    finally:
        launcher.close_all()
        shutil.rmtree(copy, ignore_errors=True)
    # The levels this process started the workers at, not what the grading process says.
    workers = ", ".join(sorted(launcher.levels)) or "none (nothing ran)"
    return {"out": out, "isolation": f"{workers}; grading process {level}"}


def job_result(job: Job, graded: dict[str, Any]) -> dict[str, Any]:
    """The gradebook's data for JOB from what grade_files returned (GRADED), checked against
    the process course and the job's exercises first: a malformed result makes the student
    "crashed", graded again on the next run."""
    from grader.sandbox.grading_process import GradingProcessFailed

    if "failed" in graded:
        return failed_job(job, str(graded["failed"]))
    course = load_course()
    selected = selected_exercises(course, job)
    out, isolation = graded.get("out"), graded.get("isolation")
    try:
        if type(out) is not dict or type(isolation) is not str:
            raise GradingProcessFailed("the grading process sent a malformed result")
        results = _checked_results(out, course, selected)
    except GradingProcessFailed as e:
        return failed_job(job, str(e))
    log = printable(out["log"][:MAX_LOG_CHARS])
    return {"student": job.student, "submission_hash": job.submission_hash,
            "exercises": selected, "isolation": printable(isolation[:500], newlines=False),
            "rows": gradebook_rows(job.student, results),
            "logs": {"worker": log} if log else {}}


def _grade_copy(course: Any, files: dict[str, Path | None], unusable: dict[str, str | None],
                launcher: Any) -> dict[str, Any]:
    """In the fresh grading process: the checks of each exercise of FILES against the
    student's worker. Returns plain data only (grading_process.run sends it as JSON)."""
    from grader.engine.remote import WorkerProcess

    worker = SubmissionWorker(lambda: WorkerProcess(launcher=launcher))
    try:
        results: list[CheckResult] = []
        for ex_id, path in files.items():
            exercise = course.exercises[ex_id]
            if path is None:
                why = unusable[ex_id]
                results += missing_results(
                    checks_for(ex_id, include_hidden=True), "bad_file" if why else "missing",
                    why or f"No {ex_id}.py or {ex_id}.ipynb was submitted.")
                continue
            session = WorkerSession(path, ex_id, shared=worker)
            results += grade_exercise(exercise, session=session)
    finally:
        worker.discard()
    return {"results": [[r.exercise, r.check, r.status, r.message, r.duration_s, r.attempted,
                         r.function] for r in results],
            "log": _output_log(worker.started)}


def _checked_results(out: dict[str, Any], course: Any, selected: list[str] | None = None
                     ) -> list[CheckResult]:
    """The results a grading process sent, checked against the course: each a known check
    of the SELECTED exercises (default: all) once, a known status, a message, whether it
    was attempted (only a failure may not be) and the function it names; statement,
    visibility and points come from the check itself, and a score only from "passed". A
    check it did not report is "crashed"."""
    from grader.engine.results import STATUSES
    from grader.sandbox.grading_process import GradingProcessFailed

    checks = {(c.exercise, c.name): c for ex in (course.exercises if selected is None
                                                  else selected)
              for c in checks_for(ex, include_hidden=True)}
    reported, log = out.get("results"), out.get("log")
    if type(reported) is not list or type(log) is not str:
        raise GradingProcessFailed("the grading process sent a malformed result")
    results: dict[tuple[str, str], CheckResult] = {}
    for item in reported:
        if type(item) is not list or len(item) != 7:
            raise GradingProcessFailed("the grading process sent a malformed result")
        exercise, name, status, message, duration, attempted, function = item
        check = checks.get((exercise, name)) if type(exercise) is str and type(name) is str \
            else None
        if check is None or (exercise, name) in results or status not in STATUSES \
                or type(message) is not str or type(duration) not in (int, float) \
                or not 0 <= duration < 1e6 or type(attempted) is not bool \
                or (not attempted and status != "failed") or type(function) is not str:
            raise GradingProcessFailed("the grading process sent a malformed result")
        results[exercise, name] = CheckResult(
            exercise, name, check.statement, check.hidden, status,
            check.points if status == "passed" else 0.0, check.points, message[:20_000],
            float(duration), attempted, function[:200])
    lost = [c for key, c in checks.items() if key not in results]
    return [*results.values(), *missing_results(
        lost, "crashed", "The grading process stopped before this check was run.")]


_HEADING = re.compile(r"^=== \w+ \(.*\) ===$")  # worker.py's _mark_output


def _printed(text: str) -> bool:
    return any(line.strip() and not _HEADING.match(line) for line in text.splitlines())


def _output_log(workers: list[Any]) -> str:
    """What the workers of one submission printed (the worker heads each exercise's part
    with its name), within one worker's cap in all."""
    parts = [w.output_log() for w in workers]
    if not any(_printed(p) for p in parts):
        return ""  # only the worker's own headings: the student printed nothing
    if len(parts) > 1:
        parts = [f"--- worker {i} ---\n{p}" for i, p in enumerate(parts, start=1) if p]
    text = "\n".join(parts)
    cap = workers[0].output.limit
    if len(parts) > 1 and len(text) > cap:  # restarted workers: each kept its own head
        text = text[:cap] + f"\n[... {len(text) - cap} more characters dropped]\n"
    return text


def worker_spec_for(copy: Path, exercises: list[Any]) -> Callable[[Path, int, int], Any]:
    """How to start a worker on one submission (for grader.sandbox.launcher), within limits that
    fit each of its exercises: the largest memory limit, and CPU time for all of them (each
    exercise's wall-clock limit is enforced by its own deadline)."""
    from grader.sandbox import isolation
    from grader.sandbox.worker_files import NUMPY_HOME, worker_arguments

    limits = isolation.Limits(wall_time_s=sum(e.time_limit_s for e in exercises),
                              memory_mb=max(e.memory_limit_mb for e in exercises))

    def spec_for(runtime: Path, read_fd: int, write_fd: int) -> Any:
        return isolation.worker_spec(sys.executable, runtime / "worker.py", copy, limits,
                                     extra_args=worker_arguments(read_fd, write_fd),
                                     pass_fds=(read_fd, write_fd),
                                     ro_paths=[runtime, NUMPY_HOME], uid=_worker_uid(),
                                     site=False)

    return spec_for


def submission_worker(copy: Path, exercises: list[Any], levels: set[str]) -> SubmissionWorker:
    """Workers for one submission, started from this process (the report's curves)."""
    from grader.engine.remote import WorkerProcess

    spec_for = worker_spec_for(copy, exercises)

    def start() -> WorkerProcess:
        worker = WorkerProcess(spec_for)
        levels.add(worker.level)
        return worker

    return SubmissionWorker(start)


@contextmanager
def sandboxed_submission(folder: Path, exercises: list[Any]
                         ) -> Iterator[tuple[Path, SubmissionWorker]]:
    """A private copy of the submission in FOLDER and the sandboxed workers that run its
    code, started from this process (the report's curves; grade_job starts them from its
    template instead); both are gone when the block ends."""
    copy = private_copy(folder)
    worker = submission_worker(copy, exercises, set())
    try:
        yield copy, worker
    finally:
        worker.discard()
        shutil.rmtree(copy, ignore_errors=True)


def _worker_uid() -> int:
    # One uid per grading process (pids are unique while it runs), so concurrent workers
    # neither share RLIMIT_NPROC nor can signal or read each other.
    from grader.sandbox.isolation import WORKER_UID_BASE

    return WORKER_UID_BASE + os.getpid()


def private_copy(folder: Path) -> Path:
    """A private copy of the regular files of a submission (no symlinks, no devices), within
    the caps of submission_files: the worker sees this copy, never the original or anything
    a link points to."""
    return write_copy(submission_files(folder))


def submission_files(folder: Path) -> dict[str, bytes]:
    """The regular files of the submission in FOLDER (no symlinks, no devices), by relative
    POSIX path, within caps (MAX_COPY_FILES, MAX_COPY_BYTES in all). Code (.py, .ipynb) is
    taken first, shallowest first, so that data files cannot crowd the exercises out of the
    caps. A file is opened without following links or blocking, and read only if it is
    still a regular file of the size seen."""
    candidates: list[tuple[bool, int, str, Path, int]] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))
                             and not d.startswith("."))[:50]
        rel = Path(dirpath).relative_to(folder)
        if len(rel.parts) > 3:
            continue
        for name in filenames:
            try:
                st = (Path(dirpath) / name).lstat()
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                candidates.append((Path(name).suffix not in (".py", ".ipynb"), len(rel.parts),
                                   (rel / name).as_posix(), rel / name, st.st_size))
    files: dict[str, bytes] = {}
    size = 0
    for _, _, name, rel_path, file_size in sorted(candidates):
        if len(files) >= MAX_COPY_FILES or size + file_size > MAX_COPY_BYTES:
            continue
        data = _read_regular(folder / rel_path, file_size)
        if data is None:
            continue
        files[name] = data
        size += file_size
    return files


def _read_regular(path: Path, size: int) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size != size:
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(size + 1)
        return data if len(data) == size else None
    except OSError:
        return None
    finally:
        os.close(fd)


def write_copy(files: dict[str, bytes]) -> Path:
    """FILES (relative POSIX path: bytes, as submission_files reads them) written into a new
    private folder. A path that would leave the folder is left out."""
    target = Path(tempfile.mkdtemp(prefix="submission-"))
    for name, data in files.items():
        rel = Path(name)
        if rel.is_absolute() or not rel.parts or ".." in rel.parts:
            continue
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        (target / rel).write_bytes(data)
    return target


def read_submission(folder: Path, exercise_ids: list[str]
                    ) -> tuple[dict[str, bytes], dict[str, str]]:
    """What a grading job needs of the student's FOLDER: its files (submission_files) and,
    per exercise of EXERCISE_IDS whose file is there but cannot be used, why
    (unusable_exercise_file; used only when the exercise is not found among the files)."""
    files = submission_files(folder)
    unusable = {ex_id: why for ex_id in exercise_ids
                if (why := unusable_exercise_file(folder, ex_id)) is not None}
    return files, unusable


def unusable_exercise_file(folder: Path, exercise_id: str) -> str | None:
    """Why the exercise file in the student's FOLDER did not reach the private copy, as a
    message for the student; None when there is no such file at all. Looks (lstat) and at
    most opens without blocking: a FIFO must not hang the grader."""
    for path in exercise_file_candidates(folder, exercise_id):
        name = path.name
        try:
            st = path.lstat()
        except OSError:
            continue
        if stat.S_ISLNK(st.st_mode):
            return (f"{name} is a symbolic link, which is not followed: submit the file "
                    "itself.")
        if stat.S_ISDIR(st.st_mode):
            return f"{name} is a folder, not a file."
        if not stat.S_ISREG(st.st_mode):
            return f"{name} is not a regular file (a named pipe, socket or device)."
        if st.st_size > MAX_COPY_BYTES:
            return f"{name} is larger than {MAX_COPY_BYTES // 2**20} MiB."
        try:
            os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW))
        except OSError as e:
            return f"{name} could not be read: {e.strerror}."
        return (f"{name} could not be copied for grading: the submission holds more than "
                f"{MAX_COPY_FILES} files or {MAX_COPY_BYTES // 2**20} MiB of code in all.")
    return None


def _init_grading_process(next_slot: Any, course_root: str) -> None:
    # Ctrl-C is the parent's to handle: it stops the pool and keeps what was committed.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _pin_to_one_cpu(next_slot)
    prepare_grading_process(course_root)


def prepare_grading_process(course_root: str) -> None:
    """Make this process a template that grade_files forks grading processes from: the
    course at COURSE_ROOT, the grading profile, every check loaded with its known examples,
    what a grading process imports. Once per process (a GradingPool process, a Dask
    worker)."""
    # The course the parent grades, whichever way the process was started (forked, it is
    # the parent's own Course object, with what the parent loaded).
    use_course(load_course(Path(course_root)))
    use_profile()
    # Load every check, and draw its known examples (grader.engine.replay), now: a pool started
    # early does this while the parent still reads the class, instead of in its first
    # student's time.
    try:
        for exercise in load_course().exercises:
            for check in checks_for(exercise, include_hidden=True):
                known_examples(check.function)
    except Exception:
        pass  # a course error: the first job reports it, for that student
    # And what each student's fresh grading process needs, which it then inherits instead
    # of importing again for every student.
    import numpy.ma  # noqa: F401  (NumPy imports it lazily; some checks use it)

    import grader.engine.remote  # noqa: F401
    import grader.sandbox.grading_process  # noqa: F401
    from grader.sandbox import isolation

    isolation.detect()
    # What is loaded now lives as long as the process: kept out of every later garbage
    # collection, which would otherwise walk it again each time (about 1% of grading).
    gc.freeze()


def _pin_to_one_cpu(next_slot: Any) -> None:
    """Keep this grading process on the CPU of the next free slot (see pin_to_cpu)."""
    with next_slot.get_lock():
        slot = next_slot.value
        next_slot.value += 1
    pin_to_cpu(slot)


def pin_to_cpu(slot: int) -> None:
    """Keep the calling thread, and the grading processes and workers it forks, on CPU number
    SLOT (modulo the CPUs this process may use).

    A check and the student's code take strict turns (every call waits for its answer), so
    the pair never needs two CPUs at once; on one CPU each round trip is spared a wake-up
    on another CPU, which on this machine costs more than the work itself (benchmarks/).
    """
    try:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[slot % len(cpus)]})
    except (AttributeError, OSError):  # not Linux: the scheduler decides
        pass


# ------------------------------------------------------------------ in the parent


class GradingPool(LocalPool[Job, dict[str, Any]]):
    """The grading processes, the executor of `grader grade` and `grade --nbgrader`: each
    student's job runs in a fresh grading process forked from one of them (grade_job). Start
    it before the setup of a run (reading the class, an nbgrader course): the processes load
    the checks meanwhile, on the CPUs the setup leaves idle."""

    def __init__(self, workers: int, course: Course | None = None) -> None:
        # The processes grade COURSE (default: the process course), told by its root, so
        # that however they start they load the course the parent grades.
        course = course or load_course()
        super().__init__(grade_job, workers, lost=lost_job,
                         initializer=_init_grading_process,
                         initargs=(multiprocessing.Value("i", 0), str(course.root)),
                         start_now=True)


def lost_job(job: Job, error: BaseException) -> dict[str, Any]:
    """JOB's result when its executor lost it to ERROR (a dead worker, a task that raised)."""
    return failed_job(job, f"{type(error).__name__}: {error}")


def failed_job(job: Job, why: str) -> dict[str, Any]:
    """JOB's result when it could not be graded (WHY, for the instructor's log): every check
    of its exercises "crashed", and its hash marked incomplete so the next run grades it."""
    course = load_course()
    selected = selected_exercises(course, job)
    results = [r for ex in selected for r in missing_results(
        checks_for(ex, include_hidden=True), "crashed",
        "The grader could not finish this submission; it will be graded again on the next "
        "run.")]
    return {"student": job.student, "submission_hash": "incomplete:" + job.submission_hash,
            "exercises": selected, "isolation": "none",
            "rows": gradebook_rows(job.student, results), "why": why}


@dataclass(frozen=True)
class Keys:
    """What grades this run: the course-wide key (grader.engine.grader_key.grader_key) and
    each exercise's (exercise_keys)."""

    course: str
    exercises: dict[str, str]

    def graded(self, result: dict[str, Any], hashes: dict[str, str],
               incomplete: bool = False) -> dict[str, Any]:
        """What graded each exercise of RESULT (a GradingPool result): the hash of its file
        (HASHES) and its key; an INCOMPLETE result's hashes are marked so that the next
        run grades it again (as is a result whose grading process died)."""
        from grader.gradebook.store import Graded

        mark = "incomplete:" if incomplete or "why" in result else ""
        return {ex: Graded(mark + hashes.get(ex, ""), self.exercises.get(ex, self.course))
                for ex in result.get("exercises", self.exercises)}


class ClassSource(Protocol):
    """One kind of class as the class loop (run_class) sees it: its students, their jobs,
    where a graded student's result goes, and the parts of the summary that are its own.
    `grader grade` has FolderClass; `grade --nbgrader` has its own
    (grader.integrations.nbgrader.grade)."""

    def submissions(self) -> list[tuple[str, str]]:
        """(student, submission hash) of every student, in grading order."""
        ...

    def exercise_hashes(self, student: str) -> dict[str, str]:
        """{exercise: the hash of its file} of STUDENT, for every exercise this class grades
        (grader.submission.identity.exercise_hashes)."""
        ...

    def jobs(self, to_grade: dict[str, tuple[str, ...]]) -> Iterator[Job]:
        """The jobs of the students in TO_GRADE, in order, each as soon as it is ready, each
        grading the exercises TO_GRADE gives."""
        ...

    def record(self, book: Any, keys: Keys, result: dict[str, Any]) -> None:
        """Commit one student's result (a GradingPool result) to BOOK, in one transaction:
        the exercises it graded replaced, the others kept as they are."""
        ...

    def finish(self, book: Any, interrupted: bool) -> list[dict]:
        """After the last result: the rows gradebook.csv holds."""
        ...

    def nothing_graded(self) -> str:
        """The summary's line when there is no student at all."""
        ...

    def notes(self) -> list[str]:
        """The summary's lines about single students (printable, one line each)."""
        ...

    def unchanged(self, skipped: int, interrupted: bool) -> str:
        """The summary's words on the SKIPPED students (unchanged since the last run)."""
        ...

    def stored(self) -> list[str]:
        """The summary's last lines: where the results are."""
        ...


def run_class(pool: Executor[Job, dict[str, Any]], source: ClassSource, output: Path, *,
              workers: int, regrade: bool, quiet: bool) -> int:
    """The class loop of `grader grade` and `grade --nbgrader`: per student, grade only the
    exercises whose file or key changed since they were graded (every exercise with
    REGRADE), skip the students with none, grade the others on POOL with a progress bar,
    commit each one as its result comes (so Ctrl-C or kill -9 keeps every committed student
    and the next run continues), write OUTPUT/gradebook.csv and print the summary. Returns
    the exit code (130 after Ctrl-C)."""
    from grader.engine.grader_key import exercise_keys, grader_key
    from grader.environment import warn_if_not_locked
    from grader.gradebook.rows import write_csv
    from grader.gradebook.store import DB_COLUMNS, Gradebook

    output.mkdir(parents=True, exist_ok=True)
    keys = Keys(grader_key(), exercise_keys())
    warn_if_not_locked()
    start = time.perf_counter()
    interrupted = False
    stopped = ""
    with Gradebook.in_folder(output) as book:
        submissions = source.submissions()
        plan = {name: _stale(book, keys, name, source.exercise_hashes(name), regrade)
                for name, _ in submissions}
        plan = {name: why for name, why in plan.items() if why}
        to_grade = list(plan)
        bar = _progress_bar(len(to_grade), quiet)
        graded = 0  # committed, not merely started: what the summary may claim after Ctrl-C
        try:
            for result in pool.results(source.jobs(
                    {name: tuple(why) for name, why in plan.items()})):
                source.record(book, keys, result)
                graded += 1
                bar.update(1)
        except KeyboardInterrupt:
            interrupted = True
        except ExecutorStopped as e:  # its cluster is gone or refuses: as after Ctrl-C
            interrupted, stopped = True, str(e)
        finally:
            bar.close()
        rows = source.finish(book, interrupted)
    write_csv(rows, output / "gradebook.csv", DB_COLUMNS)
    where = pool.where() if hasattr(pool, "where") else f"with {workers} process(es)"
    if not quiet:
        _summary(source, rows, graded, len(submissions) - len(to_grade), where,
                 time.perf_counter() - start, interrupted, not_graded=len(to_grade) - graded,
                 stopped=stopped, why=_why_line(plan, keys, regrade))
    if stopped:
        print(f"grader grade: {stopped}", file=sys.stderr)
        return 2
    return 130 if interrupted else 0


def _stale(book: Any, keys: Keys, student: str, hashes: dict[str, str],
           regrade: bool) -> dict[str, str]:
    """{exercise: why it is graded} for the exercises of STUDENT to grade now, in HASHES'
    order: "regrade", "new" (never graded whole), "submission" (its file changed) or "key"
    (its checks, reference, settings or the grader changed). Empty: nothing to grade. A
    student whose gradebook holds an exercise this class no longer grades is graded whole,
    which replaces those rows."""
    if regrade:
        return dict.fromkeys(hashes, "regrade")
    have = book.current_exercises(student)
    if set(have) - set(hashes):
        return dict.fromkeys(hashes, "new")
    why = {}
    for ex, digest in hashes.items():
        then = have.get(ex)
        if then is None:
            why[ex] = "new"
        elif then.submission_hash != digest:
            why[ex] = "submission"
        elif then.grader_key != keys.exercises.get(ex, keys.course):
            why[ex] = "key"
    return why


def _why_line(plan: dict[str, dict[str, str]], keys: Keys, regrade: bool) -> str:
    """One line on why the students graded were: "12 student(s) regraded for xor_net only
    (its checks, reference or settings changed)"; "" when nobody was."""
    if not plan:
        return ""
    if regrade:
        return f"{len(plan)} student(s) regraded in full (--regrade)."
    groups: dict[str, int] = {}
    for why in plan.values():
        reasons = set(why.values())
        if reasons == {"new"}:
            words = "graded for the first time (or since the gradebook's format changed)"
        elif "submission" in reasons or "new" in reasons:
            words = "regraded for a changed submission"
        elif set(why) >= set(keys.exercises):
            words = ("regraded in full (the grader, the lock, the secret or a course-wide "
                     "setting changed)")
        else:
            names = ", ".join(why)
            words = (f"regraded for {names} only (its checks, reference or settings changed)"
                     if len(why) == 1 else
                     f"regraded for {names} only (their checks, references or settings "
                     "changed)")
        groups[words] = groups.get(words, 0) + 1
    return "; ".join(f"{n} student(s) {words}" for words, n in groups.items()) + "."


class FolderClass:
    """`grader grade ROOT`: every folder of ROOT is one student's submission."""

    def __init__(self, root: Path, output: Path, exercises: list[str]) -> None:
        from grader.submission.identity import submission_hashes

        self.root, self.output, self.exercises = root, output, exercises
        folders = sorted((p for p in root.iterdir() if p.is_dir() and not p.is_symlink()
                          and not p.name.startswith(".")), key=lambda p: p.name)
        self._digests = {folder.name: submission_hashes(folder, exercises)
                         for folder in folders}

    def submissions(self) -> list[tuple[str, str]]:
        return [(name, whole) for name, (whole, _) in self._digests.items()]

    def exercise_hashes(self, student: str) -> dict[str, str]:
        return dict(self._digests[student][1])

    def jobs(self, to_grade: dict[str, tuple[str, ...]]) -> Iterator[Job]:
        return iter([Job(name, str(self.root / name), whole, to_grade[name])
                     for name, (whole, _) in self._digests.items() if name in to_grade])

    def record(self, book: Any, keys: Keys, result: dict[str, Any]) -> None:
        from grader.submission.times import submission_times

        student = result["student"]
        graded = keys.graded(result, self._digests[student][1])
        kept = [e for e in self.exercises if e not in graded]
        book.record_student(student, result["submission_hash"], keys.course,
                            result["isolation"], result["rows"],
                            submission_times(self.root / student, list(graded)),
                            graded=graded, kept=kept)
        write_worker_log(self.output, student, result.get("logs", {}).get("worker", ""),
                         list(graded), kept)

    def finish(self, book: Any, interrupted: bool) -> list[dict]:
        return book.rows()

    def nothing_graded(self) -> str:
        return "No student folders found."

    def notes(self) -> list[str]:
        return []

    def unchanged(self, skipped: int, interrupted: bool) -> str:
        return (f"; {skipped} unchanged since the last run (use --regrade to grade them "
                "again)")

    def stored(self) -> list[str]:
        return [f"Gradebook: {self.output / 'gradebook.sqlite'} (and gradebook.csv)"]


def grade_class(root: Path, output: Path, *, workers: int | None = None, regrade: bool = False,
                quiet: bool = False,
                executor: Callable[[], AbstractContextManager[Executor[Job, dict[str, Any]]]]
                | None = None) -> int:
    """`grader grade ROOT --output OUTPUT`; returns the exit code. The students are graded on
    a GradingPool of WORKERS processes, or on what EXECUTOR() opens (`--scheduler`: a Dask
    cluster, grader.grading.dask_executor.dask_grading)."""
    if not root.is_dir():
        print(f"grader grade: {root} is not a folder of student folders.", file=sys.stderr)
        return 2
    course = load_course()
    problem = class_folder_problem(root, list(course.exercises), "grade")
    if problem:
        print(f"grader grade: {problem}", file=sys.stderr)
        return 2
    # Before the pool forks: its processes grade with the examples of the course secret.
    secret = use_course_secret(course)
    workers = max(1, workers or os.cpu_count() or 1)
    with executor() if executor else GradingPool(workers, course) as pool:
        # The processes load the checks while the class's folders are hashed.
        source = FolderClass(root, output, list(course.exercises))
        code = run_class(pool, source, output, workers=workers, regrade=regrade, quiet=quiet)
    if not quiet:
        print(examples_note(secret))
    return code


def examples_note(secret: str | None) -> str:
    """One line for the end of an instructor's run: which examples graded the class."""
    if secret is not None:
        return (f"Examples: drawn from the course secret {secret} (not the ones students "
                "ran locally).")
    return ("Examples: the ones students run locally (no course secret: students who "
            "recorded them could answer from a table). Run `grader secret` once, and keep "
            "course_secret.txt private.")


LOG_NOTE = ("# What {student}'s code printed while the checks (public and hidden) called "
            "it, exercise by exercise{which}.\n# For instructors only: it may show hidden "
            "inputs. Never part of any feedback.\n")


def write_worker_log(output: Path, student: str, text: str, graded: list[str],
               kept: list[str]) -> None:
    """OUT/worker-logs/<student>/: a student graded whole gets a fresh folder holding
    worker.log (what the submission's worker printed); a partial regrade adds or replaces
    only its own worker-<exercises>.log, so the earlier run's output of the exercises it did
    not grade stays. A log is an aid, not a result: failing to write one is reported and
    grading goes on."""
    folder = output / "worker-logs" / student
    name = "worker.log" if not kept else f"worker-{'-'.join(graded)}.log"
    which = "" if not kept else f" (regraded: {', '.join(graded)})"
    try:
        if kept:
            (folder / name).unlink(missing_ok=True)
        else:
            shutil.rmtree(folder, ignore_errors=True)
        if text:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(
                LOG_NOTE.format(student=printable(student, newlines=False), which=which)
                + text, encoding="utf-8", errors="replace")
    except OSError as e:
        print(f"grader grade: could not write the output log of {student!r}: {e}",
              file=sys.stderr)


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, quiet: bool) -> Any:
    if quiet or total == 0:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="student", desc="grading", file=sys.stderr,
                dynamic_ncols=True, mininterval=0.5)


def _summary(source: ClassSource, rows: list[dict], graded: int, skipped: int, where: str,
             elapsed: float, interrupted: bool, not_graded: int, stopped: str = "",
             why: str = "") -> None:
    from grader.environment import summary_line
    from grader.gradebook.rows import COLUMNS, totals

    table = totals([{k: r.get(k) for k in COLUMNS} for r in rows])
    print(table.to_string(float_format=lambda x: f"{x:g}") if not table.empty
          else source.nothing_graded())
    for line in source.notes():
        print(line)
    levels = sorted({str(r["isolation"]) for r in rows if r.get("isolation")})
    rate = f" ({graded / elapsed:.2f} students/s)" if graded and elapsed > 0 else ""
    print(f"\nGraded {graded} student(s) in {elapsed:.1f} s{rate} {where}"
          f"{source.unchanged(skipped, interrupted)}.")
    if why:
        print(why)
    print(f"Isolation: {'; '.join(levels) or '-'}")
    # Students whose code never ran (nothing submitted, a lost job) have no level to differ.
    ran = [level for level in levels if not level.startswith("none")]
    if len(ran) > 1:  # e.g. Dask workers on machines that offer different isolation
        counts = {level: len({r["student"] for r in rows if r.get("isolation") == level})
                  for level in ran}
        print(f"Isolation differs between students ({len(ran)} levels: "
              + ", ".join(f"{n} student(s) at {level!r}" for level, n in counts.items())
              + "): see the isolation column of the gradebook.")
    print(summary_line(rows))
    if stopped:
        print(f"Stopped: {stopped} Everything graded before is in the gradebook; "
              f"{not_graded} student(s) were not graded: run again to continue.")
    elif interrupted:
        print(f"Interrupted: everything graded before Ctrl-C is in the gradebook; "
              f"{not_graded} student(s) were not graded: run again to continue.")
    for line in source.stored():
        print(line)
    sys.stdout.flush()
