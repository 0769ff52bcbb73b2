"""The grader keys: what graded a gradebook row, as one line that changes when a score could.

Each exercise has a key of its own (exercise_keys): the course-wide parts (the grader's scoring
modules, the versions, the lock, the secret, the seed) and that exercise's settings, checks
and reference. A change to one exercise's checks regrades that exercise only.

Trust role: instructor-side identity. `grader grade` and `grade --nbgrader` store the key of
the exercise with every row and regrade, on a rerun, only the exercises whose key or file
changed (grader.gradebook.store); known examples on disk are filed under the key of the
exercise whose checks drew them (grader.engine.example_cache), which is why this module also
ships in the student repository, where the course has no references and the package only the
modules students run (a listed module or file that is absent is hashed as absent).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import grader

if TYPE_CHECKING:
    from grader.course.model import Course

__all__ = ["SCORING_MODULES", "check_file_key", "course_scoring_text", "exercise_keys",
           "exercise_keys_of", "grader_key", "key_of"]


def _grader_dir() -> Path:
    return Path(grader.__file__).resolve().parent


def grader_key(root: Path | None = None) -> str:
    """The course-wide key (see key_of) of the course at ROOT (default: the process
    course), for the course secret now in force. Computed once per course and secret, and
    kept in the course: the key describes the grader that started."""
    from grader.authoring import checks
    from grader.course.model import load_course

    course = load_course(root)
    secret = checks.secret_fingerprint()
    return course.cached(("grader key", secret), lambda: key_of(course, secret))


def exercise_keys(root: Path | None = None) -> dict[str, str]:
    """{exercise id: its key} (see exercise_keys_of) for the course at ROOT (default: the
    process course) and the course secret now in force, computed once per course and
    secret like grader_key. A row graded for an exercise stores that exercise's key."""
    from grader.authoring import checks
    from grader.course.model import load_course

    course = load_course(root)
    secret = checks.secret_fingerprint()
    return dict(course.cached(("exercise keys", secret),
                              lambda: exercise_keys_of(course, secret)))


def check_file_key(path: str | Path | None) -> str:
    """The key that files what the check module at PATH draws: the key of the exercise whose
    check file it is (tests/checks/{public,hidden}/test_<id>.py of the process course), else
    the course-wide grader_key (a check file of no exercise, a test's own module)."""
    from grader.course.model import load_course

    if path is not None:
        course = load_course()
        try:
            rel = Path(path).resolve().relative_to(course.checks_dir.resolve())
        except ValueError:
            rel = None
        if rel is not None and len(rel.parts) == 2 and rel.parts[0] in ("public", "hidden") \
                and rel.name.startswith("test_") and rel.suffix == ".py" \
                and rel.stem[len("test_"):] in course.exercises:
            return exercise_keys()[rel.stem[len("test_"):]]
    return grader_key()


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


def exercise_scoring_text(course: Course, exercise_id: str) -> str:
    """The settings of one exercise that decide its scores (its part of
    course_scoring_text): functions, the points of its public and hidden checks, its
    limits."""
    ex = course.exercise(exercise_id)
    return json.dumps([ex.id, list(ex.functions), list(ex.public.items()),
                       list(ex.hidden.items()), ex.time_limit_s, ex.memory_limit_mb])


# reference("other") in a check file: that exercise's reference decides this one's scores too.
_REFERENCE_CALL = re.compile(r"""\breference\(\s*["']([A-Za-z_][A-Za-z0-9_]*)["']\s*\)""")


def _exercise_files(course: Course, exercise_id: str) -> list[Path]:
    """The files that belong to EXERCISE_ID alone: its public and hidden check files and its
    reference, absent or not (an absent file is hashed as absent)."""
    return [course.checks_dir / "public" / f"test_{exercise_id}.py",
            course.checks_dir / "hidden" / f"test_{exercise_id}.py",
            course.solutions_dir / f"{exercise_id}.py"]


def _file_digest(path: Path) -> str:
    """The SHA-256 of the file's bytes, or "absent"."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "absent"


def _file_record(course: Course, path: Path) -> str:
    name = f"course/{path.relative_to(course.root).as_posix()}"
    return f"{name}\0{_file_digest(path)}\n"


def _shared_digest(course: Course, secret: str | None) -> str:
    """A hash of what decides every exercise's scores: the grader's scoring modules, the
    versions, the lock, the secret, the seed and Hypothesis budget, and every file of the
    checks and references that belongs to no single exercise (a helper module of checks)."""
    from grader.environment import lock_state

    own = {p for ex_id in course.exercises for p in _exercise_files(course, ex_id)}
    files = [p for p in [*sorted(course.checks_dir.rglob("*.py")),
                         *sorted(course.solutions_dir.glob("*.py"))] if p not in own]
    here = _grader_dir()
    digest = hashlib.sha256(b"grader key v3: shared\n")
    for package in ("hypothesis", "numpy"):
        digest.update(f"{package}={_version(package)}\n".encode())
    digest.update(f"lock={lock_state().text}\n".encode())
    # Instructor grading draws its examples from the course secret: another secret, or none,
    # grades with other examples.
    digest.update(f"secret={secret}\n".encode())
    digest.update(json.dumps({"seed": course.seed,
                              "hypothesis_max_examples": course.hypothesis_max_examples})
                  .encode())
    records = [_file_record(course, p) for p in files]
    for name in SCORING_MODULES:
        records.append(f"grader/{name}\0{_file_digest(here / name)}\n")
    for record in sorted(records):
        digest.update(record.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def exercise_keys_of(course: Course, secret: str | None) -> dict[str, str]:
    """{exercise id: what graded its rows}, computed afresh (exercise_keys keeps them).

    An exercise's key hashes the course-wide parts (_shared_digest: the grader modules of
    SCORING_MODULES, the Hypothesis and NumPy versions, because Hypothesis draws different
    examples from the same seed under another version; the lock with the packages installed
    otherwise than it pins, so a class graded off the lock is graded again once the
    environment is installed as locked; the secret's fingerprint; the seed and Hypothesis
    budget; check and solution files of no single exercise) and the exercise's own: its
    scoring settings (exercise_scoring_text), its check files
    (tests/checks/{public,hidden}/test_<id>.py), its reference (solutions/<id>.py) and the
    reference of any exercise its check files name as reference("<other>"). Each file counts
    by relative path and bytes. A changed check, reference or setting of one exercise
    therefore regrades that exercise, for everybody; a changed scoring module regrades
    everything, which is the safe direction.
    """
    shared = _shared_digest(course, secret)
    keys = {}
    for ex_id in course.exercises:
        files = _exercise_files(course, ex_id)
        named = set()
        for check_file in files[:2]:
            if check_file.is_file():
                text = check_file.read_text(encoding="utf-8", errors="replace")
                named |= {m for m in _REFERENCE_CALL.findall(text) if m != ex_id}
        files += [course.solutions_dir / f"{other}.py" for other in sorted(named)]
        digest = hashlib.sha256(b"grader key v3: exercise\n")
        digest.update(f"shared={shared}\n".encode())
        digest.update(f"settings={exercise_scoring_text(course, ex_id)}\n"
                      .encode("utf-8", "surrogateescape"))
        for path in files:
            digest.update(_file_record(course, path).encode("utf-8", "surrogateescape"))
        keys[ex_id] = (f"grader {grader.__version__}; course {course.version}; exercise {ex_id}; "
                       f"sha256 {digest.hexdigest()}")
    return keys


def key_of(course: Course, secret: str | None) -> str:
    """What graded the course as a whole: grader and course versions and one hash of every
    exercise's key (exercise_keys_of) and the course-wide parts, computed afresh
    (grader_key keeps it in the course). It changes whenever any exercise's key does: for
    what concerns the course as one (the `students` table of the gradebook), not for
    deciding which exercise to regrade."""
    digest = hashlib.sha256(b"grader key v3\n")
    digest.update(f"shared={_shared_digest(course, secret)}\n".encode())
    for ex_id, key in exercise_keys_of(course, secret).items():
        digest.update(f"{ex_id}\0{key}\n".encode("utf-8", "surrogateescape"))
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
    "none"), "course settings" (a digest of course_scoring_text), every hashed file by its
    path in the course (tests/checks/..., solutions/...) or in the package (grader/...),
    with the SHA-256 of its bytes or "absent", and "exercise ID" with each exercise's key
    (exercise_keys_of): two graders agree only if every exercise key does."""
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
        parts[name] = _file_digest(path)
    for ex_id, key in exercise_keys_of(course, secret).items():
        parts[f"exercise {ex_id}"] = key
    return parts
