"""The registry of checks: `tests/checks/{public,hidden}/test_<exercise>.py`.

A check is a plain pytest test function `test_<name>(impl, ...)`, usually with Hypothesis'
`@given`. Its docstring's first line is the statement students see; its points and visibility
come from `course_config.py`, which must list every check (a mismatch is a course error, not
a silent zero). Public checks never import the reference solution; hidden ones may.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, Phase, settings

from grader.authoring import hypothesis_compat as compat
from grader.authoring.hypothesis_compat import GRADING_PHASES, HIDDEN_PHASES
from grader.course.model import Course, CourseError, import_path, load_course

PROFILE = "grading"


@dataclass(frozen=True)
class Check:
    exercise: str
    name: str
    statement: str
    points: float
    hidden: bool
    function: Callable[..., Any]

    @property
    def id(self) -> str:
        return f"{self.exercise}::{self.name}"


# The course secret in force for this process's checks (grader.course.secret): None while
# students' and the audit's fixed seeds apply, set by instructor grading.
_secret: str | None = None


def use_course_secret(course: Course | None = None) -> str | None:
    """Instructor grading: seed every check from the course secret too, so the graded
    examples are not the ones students ran locally. Returns the secret's fingerprint, or
    None when the course has no secret (the local examples are graded then)."""
    from grader.course import secret as course_secret

    global _secret
    course = course or load_course()
    secret = course_secret.read(course.root)
    # checks_for keys its checks by the secret: they carry the seeds of their mode.
    _secret = secret
    return course_secret.fingerprint(secret) if secret is not None else None


def use_local_examples() -> None:
    """Seed every check as students' local runs do (undoes use_course_secret)."""
    global _secret
    _secret = None


def secret_fingerprint() -> str | None:
    """The fingerprint of the course secret the checks are seeded with, if any."""
    from grader.course import secret as course_secret

    return course_secret.fingerprint(_secret) if _secret is not None else None


def use_profile(course: Course | None = None) -> None:
    """Deterministic Hypothesis: same examples, same verdict, same text, on every run.

    Registered from Hypothesis' defaults (not from whatever profile is loaded now), and
    loaded before any check module is imported: a check's own `@settings(...)` copies the
    profile in force when its module is imported.
    """
    course = course or load_course()
    settings.register_profile(
        PROFILE, parent=settings.get_profile("default"),
        max_examples=course.hypothesis_max_examples, derandomize=True, database=None,
        deadline=None, report_multiple_bugs=False, print_blob=False, phases=GRADING_PHASES,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.filter_too_much, HealthCheck.differing_executors],
    )
    settings.load_profile(PROFILE)
    compat.without_local_constants()


def checks_for(exercise_id: str, include_hidden: bool,
               course: Course | None = None) -> tuple[Check, ...]:
    """The checks of an exercise of COURSE (default: the process course), loaded once per
    course and seeding (students' fixed seeds, or the course secret's)."""
    course = course or load_course()
    return course.cached(("checks", exercise_id, include_hidden, _secret),
                         lambda: _load_checks(course, exercise_id, include_hidden))


def _load_checks(course: Course, exercise_id: str, include_hidden: bool) -> tuple[Check, ...]:
    exercise = course.exercise(exercise_id)
    use_profile(course)
    out: list[Check] = []
    kinds = [("public", exercise.public)]
    if include_hidden:
        kinds.append(("hidden", exercise.hidden))
    for kind, points in kinds:
        path = course.checks_dir / kind / f"test_{exercise_id}.py"
        if kind == "hidden" and not points and not path.exists():
            continue  # a student's copy of the course: its hidden checks are not installed
        if not path.is_file():
            raise CourseError(_missing_checks(course, exercise_id, kind, path))
        with course.importing():
            module = import_path(path, f"_checks_{kind}_{exercise_id}")
        functions = _check_functions(module)
        unlisted = set(functions) - set(points)
        unknown = set(points) - set(functions)
        if unlisted or unknown:
            raise CourseError(
                f"course_config.py and {path.relative_to(course.root)} disagree: "
                + (f"checks without points: {sorted(unlisted)} " if unlisted else "")
                + (f"points for checks that do not exist: {sorted(unknown)}" if unknown else ""))
        for name, fn in functions.items():
            if kind == "hidden":
                _without_shrinking(fn)
            identity = f"{course.seed}:{kind}/{exercise_id}::{name}"
            _with_fixed_seed(fn, identity if _secret is None else f"{identity}:{_secret}")
            out.append(Check(exercise_id, name, _statement(fn, path), float(points[name]),
                             kind == "hidden", fn))
    return tuple(out)


def _missing_checks(course: Course, exercise_id: str, kind: str, path: Any) -> str:
    """The one line for an exercise of course_config.py whose check file is not there."""
    state = "is not a file" if path.exists() else "is missing"
    return (f"exercise {exercise_id!r} is in course_config.py EXERCISES with {kind} checks, but "
            f"{path.relative_to(course.root)} {state}: write them there (docs/authoring.md); "
            f"`grader new-exercise ID --title ...` starts an exercise with templates of its "
            f"checks.")


def _check_functions(module: Any) -> dict[str, Callable[..., Any]]:
    return {name[len("test_"):]: fn for name, fn in vars(module).items()
            if name.startswith("test_") and callable(fn)}


def _without_shrinking(fn: Callable[..., Any]) -> None:
    # A Hypothesis test reads its settings from this attribute each time it runs (the one
    # @settings and @given set); copying them keeps every other setting of the check.
    own = compat.settings_of(fn)
    if own is not None and Phase.shrink in own.phases:
        compat.use_settings(fn, settings(own, phases=HIDDEN_PHASES))


def _check_seed(identity: str) -> int:
    """The Hypothesis seed of a check: fixed by the course seed and the check's name."""
    return int.from_bytes(hashlib.sha256(identity.encode()).digest()[:16], "big")


def _with_fixed_seed(fn: Callable[..., Any], identity: str) -> None:
    # Hypothesis' own @seed, given once, and no database key (there is no database) cost
    # nothing per run and give each check a seed of its own. `derandomize` alone would derive
    # the seed from a digest of the check's source, which Hypothesis recomputes (and again as
    # a database key) every time the check runs: inspect.getsource and a tokenizer pass,
    # 0.07 s of CPU per graded student. And that digest would be of the wrapper
    # grader.engine.run_check
    # puts around every check, the same for all: every check would draw with one seed.
    if not compat.is_given(fn):
        return
    value = _check_seed(identity)
    if compat.seed_of(fn) != value:
        fn.__dict__.pop("_grader_known_examples", None)  # drawn with the other seed
    compat.use_fixed_seed(fn, value)


def _statement(fn: Callable[..., Any], path: Any) -> str:
    doc = inspect.getdoc(fn)
    if not doc:
        raise CourseError(f"check {fn.__name__} in {path} has no docstring: its first line is "
                          "the statement students see")
    return doc.strip().splitlines()[0]
