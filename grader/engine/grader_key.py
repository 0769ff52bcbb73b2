"""The grader key: what graded a gradebook row, as one line that changes when a score could.

Trust role: instructor-side identity. `grader grade` and `grade --nbgrader` store the key with
every student and skip, on a rerun, a student whose submission and key are unchanged
(grader.gradebook.store); known examples on disk are filed under it (grader.engine.example_cache),
which is why it also ships in the student repository, where the course has no references and the
package only the modules students run (a listed module that is absent is hashed as absent).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from pathlib import Path
from typing import TYPE_CHECKING

import grader

if TYPE_CHECKING:
    from grader.course.model import Course

__all__ = ["SCORING_MODULES", "course_scoring_text", "grader_key", "key_of"]


def _grader_dir() -> Path:
    return Path(grader.__file__).resolve().parent


def grader_key(root: Path | None = None) -> str:
    """What graded a row (see key_of) with the course at ROOT (default: the process
    course), for the course secret now in force. Computed once per course and secret, and
    kept in the course: the key describes the grader that started."""
    from grader.authoring import checks
    from grader.course.model import load_course

    course = load_course(root)
    secret = checks.secret_fingerprint()
    return course.cached(("grader key", secret), lambda: key_of(course, secret))


# The grader's own modules that decide a row's score, status or message, or the examples a check
# tries, by path in the package. The grader key hashes these and no other module of the
# package: editing help text, a report, a release or a student-only command regrades nobody.
# A module that starts deciding a score belongs here (a stale score is worse than a slow
# rerun); tests/engine/test_grader_key.py fails for a path that no longer exists.
SCORING_MODULES = (
    # The course and its checks
    "course/model.py",              # reads course_config.py into points, limits and the seed
    "course/secret.py",             # the secret the graded examples are drawn from
    "authoring/checks.py",          # the registry: which checks run, their points, each one's seed
    "authoring/hypothesis_compat.py",# the seeds and phases given to Hypothesis, replay's internals
    "authoring/strategies.py",      # the inputs the checks draw
    "authoring/finite_differences.py",# the gradient estimates checks compare with
    "engine/replay.py",             # a check's examples, drawn once and replayed for every student
    "engine/example_cache.py",      # those examples kept on disk, loaded instead of drawn
    # Comparing values and concluding
    "authoring/expect.py",          # comparisons, tolerances and the text of a failure
    "authoring/diagnose.py",        # the likely mistake a message names
    "authoring/failures.py",        # which status a check's exception becomes
    "engine/results.py",            # a check's result: status, score, message
    "engine/run_check.py",          # running a check against a handle, its outcome as a result
    "printable.py",                 # messages are stored as it makes them printable
    "gradebook/rows.py",            # rows(): a result as a gradebook row
    # Calling student code
    "engine/handle.py",             # the guard around every call into student code
    "authoring/capabilities.py",    # what a check hands to student code, what comes back
    "submission/files.py",          # which file is an exercise, and `missing`/`bad_file`
    "submission/notebook.py",       # which code of a notebook runs
    "engine/in_process.py",         # loading student code in this process (`grader check`)
    "sandbox/runtime/loading.py",   # loading student code: `error` and `missing` and their text
    "engine/sessions.py",           # the session a check calls through, reopened after a failure
    "sandbox/runtime/protocol.py",  # which values cross from the worker, decoded by exact type
    "engine/remote.py",             # the grader's side of the worker: verdicts computed here
    "sandbox/runtime/worker.py",    # the worker that runs student code and answers calls
    "sandbox/worker_files.py",      # the worker's files, arguments and environment
    "engine/time_limit.py",         # the time limit: `timeout`
    "sandbox/output_cap.py",        # drains a worker's output: a full pipe would stall it
    "sandbox/isolation/records.py", # the limits a worker runs under
    "sandbox/isolation/detect.py",  # the isolation level this machine offers
    "sandbox/isolation/spec.py",    # rlimits, cgroups, the sandbox: `memory`, `timeout`
    "sandbox/isolation/child.py",   # what the worker's child sets up: `error`, `forbidden`
    "sandbox/isolation/cgroups.py", # a worker's memory use read back: `memory`
    "sandbox/seccomp.py",           # the system calls a worker may make
    "sandbox/launcher.py",          # starting and killing workers: `crashed`, `timeout`
    "sandbox/grading_process.py",   # the process per student: `memory`, `forbidden`, `crashed`
    # Grading a class
    "grading/grade_class.py",       # the class loop: which checks run per student, and its statuses
    "submission/times.py",          # the submission times recorded with a grade (late penalty)
    "integrations/nbgrader/grade.py",# `grade --nbgrader`: the class loop for collected notebooks
    "integrations/nbgrader/submitted.py",# which code of a submitted notebook is graded
)


def course_scoring_text(course: Course) -> str:
    """The settings of course_config.py that decide a score, as one canonical text: the seed,
    the Hypothesis budget, and per exercise (in order) its functions, the points of its public
    and hidden checks and its limits. Titles, due dates, the late policy (applied by the
    reports), written parts (graded by hand) and Canvas ids are left out: changing them
    regrades nobody."""
    exercises = [[ex.id, list(ex.functions), list(ex.public.items()), list(ex.hidden.items()),
                  ex.time_limit_s, ex.memory_limit_mb] for ex in course.exercises.values()]
    return json.dumps({"seed": course.seed,
                       "hypothesis_max_examples": course.hypothesis_max_examples,
                       "exercises": exercises})


def key_of(course: Course, secret: str | None) -> str:
    """What graded a row: grader and course versions and a hash of everything that decides a
    score, computed afresh (grader_key keeps it in the course).

    Hashed: the course's scoring settings (course_scoring_text), its checks
    (tests/checks/**/*.py) and references (solutions/*.py), each file by relative path and
    bytes; the grader modules of SCORING_MODULES (a listed module that is absent, as in a
    student repository, is hashed as absent); the Hypothesis and NumPy versions, because
    Hypothesis draws different examples from the same seed under another version; the lock
    with the packages installed otherwise than it pins (grader.environment), so a class
    graded off the lock is graded again once the environment is installed as locked; and the
    course secret's fingerprint. A changed check, reference or scoring module therefore
    regrades everybody on the next run, which is the safe direction.
    """
    from grader.environment import lock_state

    files = [(f"course/{p.relative_to(course.root).as_posix()}", p) for p in
             [*sorted(course.checks_dir.rglob("*.py")),
              *sorted(course.solutions_dir.glob("*.py"))]]
    here = _grader_dir()
    files += [(f"grader/{name}", here / name) for name in SCORING_MODULES]
    digest = hashlib.sha256(b"grader key v2\n")
    for package in ("hypothesis", "numpy"):
        digest.update(f"{package}={_version(package)}\n".encode())
    digest.update(f"lock={lock_state().text}\n".encode())
    # Instructor grading draws its examples from the course secret: another secret, or none,
    # grades with other examples.
    digest.update(f"secret={secret}\n".encode())
    digest.update(f"course_config={course_scoring_text(course)}\n".encode())
    for name, path in sorted(files):
        content = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "absent"
        digest.update(f"{name}\0{content}\n".encode("utf-8", "surrogateescape"))
    return f"grader {grader.__version__}; course {course.version}; sha256 {digest.hexdigest()}"


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "none"


def key_components(course: Course, secret: str | None) -> dict[str, str]:
    """What key_of hashes, part by part (name: version or digest), so that two graders whose
    keys differ can say what differs: "grader", "course", "hypothesis" and "numpy" versions,
    "lock" (the lock state, as the gradebook records it), "secret" (the fingerprint, or
    "none"), "course settings" (a digest of course_scoring_text) and every hashed file by
    its path in the course (tests/checks/..., solutions/...) or in the package
    (grader/...), with the SHA-256 of its bytes or "absent"."""
    from grader.environment import lock_state

    def sha(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()

    parts = {"grader": grader.__version__, "course": str(course.version),
             "hypothesis": _version("hypothesis"), "numpy": _version("numpy"),
             "lock": lock_state().text, "secret": str(secret or "none"),
             "course settings": sha(course_scoring_text(course))}
    files = [(p.relative_to(course.root).as_posix(), p) for p in
             [*sorted(course.checks_dir.rglob("*.py")),
              *sorted(course.solutions_dir.glob("*.py"))]]
    here = _grader_dir()
    files += [(f"grader/{name}", here / name) for name in SCORING_MODULES]
    for name, path in sorted(files):
        parts[name] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() \
            else "absent"
    return parts
