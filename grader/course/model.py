"""What the course is: `course_config.py`, its folders, and the reference solutions.

Trusted: it imports the course's own files (config, checks, references), never a student's.

A course is a `Course` object, one per root, and everything derived from it (its checks,
its references, the grader key) is cached in that object: another course is another object,
with nothing to clear. A process grades one course, its *process course*, chosen at its
first use: `$GRADER_COURSE_ROOT` if set (how the CLI, nbgrader's kernels and the grading
processes are told their course at start), else the nearest folder holding
`course_config.py` above the working directory, else the one this package was installed
from; or the one `use_course` names (`grader grade --nbgrader` grades with the course copy
in COURSE_DIR/grader_course).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import tomllib

T = TypeVar("T")


class CourseError(Exception):
    """The course itself is misconfigured (not the student's fault)."""


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    functions: tuple[str, ...]
    public: dict[str, float]
    hidden: dict[str, float]
    time_limit_s: float
    memory_limit_mb: int
    due: str | None = None
    # Parts graded by hand (nbgrader's manually graded answers): id -> points. Not checks:
    # `points` and the automatic gradebook do not count them.
    written: dict[str, float] = field(default_factory=dict)
    # The Canvas assignment this exercise's grades go to (its number in Canvas' URL), so
    # `grader report`'s Canvas CSV updates that assignment on import (grader.reports.tables).
    canvas_id: int | None = None

    @property
    def points(self) -> float:
        return sum(self.public.values()) + sum(self.hidden.values())


# What a written part's answer cell holds: an explanation, or an experiment the grader looks at.
WRITTEN_KINDS = ("markdown", "code")


@dataclass(frozen=True)
class WrittenPart:
    """A part graded by hand, as `solutions/written/<exercise>/<id>.toml` states it."""

    id: str
    kind: str  # one of WRITTEN_KINDS
    prompt: str
    answer: str  # the model answer; code answers keep their scaffold outside the markers


@dataclass(frozen=True)
class Course:
    root: Path
    name: str
    version: str
    seed: int
    hypothesis_max_examples: int
    exercises: dict[str, Exercise] = field(default_factory=dict)
    # LATE_POLICY as written in course_config.py (None: no policy); grader.course.late validates it.
    late_policy: object = None
    # AUDIT_MIN_WRONG: the known-wrong implementations each exercise's audit catalog needs at
    # least (grader.grading.audit), so that an exercise is not "proven" by a catalog too thin.
    audit_min_wrong: int = 5
    # What is derived from this course (see `cached`): owned by it, so that no other course
    # ever sees it.
    _derived: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False,
                                          compare=False)

    @property
    def solutions_dir(self) -> Path:
        return self.root / "solutions"

    @property
    def written_dir(self) -> Path:
        """`<exercise>/<part>.toml` per written part: its prompt and model answer (hidden)."""
        return self.solutions_dir / "written"

    @property
    def plots_dir(self) -> Path:
        """`<exercise>.py` per exercise with a feedback plot (grader.reports.curves)."""
        return self.solutions_dir / "plots"

    @property
    def exercises_dir(self) -> Path:
        return self.root / "exercises"

    @property
    def checks_dir(self) -> Path:
        return self.root / "tests" / "checks"

    def exercise(self, exercise_id: str) -> Exercise:
        try:
            return self.exercises[exercise_id]
        except KeyError:
            known = ", ".join(self.exercises)
            raise CourseError(
                f"unknown exercise {exercise_id!r}; the course has: {known}") from None

    def written_parts(self, exercise_id: str) -> tuple[WrittenPart, ...]:
        """The written parts of an exercise, in the order of its course_config.py "written"
        (which holds their points), read from `solutions/written/<exercise>/<part>.toml`."""
        return self.cached(("written", exercise_id),
                           lambda: _read_written(self, self.exercise(exercise_id)))

    def cached(self, key: Hashable, make: Callable[[], T]) -> T:
        """`make()`, computed once for this course and KEY (its checks, its grader key...)."""
        try:
            return self._derived[key]
        except KeyError:
            value = self._derived[key] = make()
            return value

    def reference(self, exercise_id: str) -> ModuleType:
        """The reference solution of an exercise. Only hidden checks and the audit use it."""
        return self.cached(("reference", exercise_id), lambda: import_path(
            self.solutions_dir / f"{exercise_id}.py", f"_reference_{exercise_id}"))

    @contextmanager
    def importing(self) -> Iterator[None]:
        """While one of this course's files is imported: `reference()` in it means this
        course's reference, whichever course the process grades."""
        _importing.append(self)
        try:
            yield
        finally:
            _importing.pop()


def find_root() -> Path:
    env = os.environ.get("GRADER_COURSE_ROOT")
    if env:
        root = Path(env).resolve()
        if not (root / "course_config.py").is_file():
            raise CourseError(f"GRADER_COURSE_ROOT={env} has no course_config.py")
        return root
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / "course_config.py").is_file() and (folder / "grader").is_dir():
            return folder.resolve()
    installed = Path(__file__).resolve().parents[2]
    if (installed / "course_config.py").is_file():
        return installed
    raise CourseError("no course_config.py found: run from inside the course folder "
                      "or set GRADER_COURSE_ROOT")


def import_path(path: Path, module_name: str) -> ModuleType:
    """Import a trusted file of the course (config, checks, references) by its path."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise CourseError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


# One Course per root (resolved), so that its caches are shared by everything grading it.
_courses: dict[Path, Course] = {}
_process_course: Course | None = None
# The courses whose files are being imported, innermost last (Course.importing).
_importing: list[Course] = []


def load_course(root: Path | None = None) -> Course:
    """The course at ROOT; without ROOT, the course this process grades (see the module's
    docstring)."""
    if root is None:
        return process_course()
    root = Path(root).resolve()
    course = _courses.get(root)
    if course is None:
        course = _courses[root] = _read_course(root)
    return course


def process_course() -> Course:
    """The course this process grades: chosen once, at its first use, unless `use_course`
    chose it. Later changes of $GRADER_COURSE_ROOT or the working folder do not change it."""
    global _process_course
    if _process_course is None:
        _process_course = load_course(find_root())
    return _process_course


def use_course(course: Course) -> None:
    """Grade COURSE in this process, and in the grading processes it starts afterwards."""
    global _process_course
    _process_course = course


def _read_course(root: Path) -> Course:
    config = import_path(root / "course_config.py", "course_config")
    exercises = {}
    for ex_id, spec in config.EXERCISES.items():
        try:
            exercises[ex_id] = Exercise(
                id=ex_id, title=spec["title"], functions=tuple(spec["functions"]),
                public=dict(spec["public"]), hidden=dict(spec.get("hidden", {})),
                time_limit_s=float(spec["time_limit_s"]),
                memory_limit_mb=int(spec["memory_limit_mb"]), due=spec.get("due"),
                written={k: float(v) for k, v in spec.get("written", {}).items()},
                canvas_id=_canvas_id(ex_id, spec.get("canvas_id")),
            )
        except KeyError as missing:
            raise CourseError(f"course_config.py: exercise {ex_id!r} lacks {missing}") from None
    return Course(root=root, name=config.COURSE_NAME, version=config.COURSE_VERSION,
                  seed=int(config.SEED),
                  hypothesis_max_examples=int(config.HYPOTHESIS_MAX_EXAMPLES),
                  exercises=exercises, late_policy=getattr(config, "LATE_POLICY", None),
                  audit_min_wrong=_audit_min_wrong(getattr(config, "AUDIT_MIN_WRONG", 5)))


def _audit_min_wrong(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CourseError(f"course_config.py: AUDIT_MIN_WRONG must be a whole number of "
                          f"known-wrong implementations (0 or more), got {value!r}")
    return value


def _read_written(course: Course, exercise: Exercise) -> tuple[WrittenPart, ...]:
    folder = course.written_dir / exercise.id
    stray = sorted(p.name for p in folder.glob("*.toml") if p.stem not in exercise.written) \
        if folder.is_dir() else []
    if stray:
        raise CourseError(f"{folder / stray[0]}: not in course_config.py's \"written\" of "
                          f"{exercise.id!r}: add it there with its points, or delete the file")
    return tuple(_read_written_part(folder / f"{part}.toml", part) for part in exercise.written)


def _read_written_part(path: Path, part_id: str) -> WrittenPart:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CourseError(f"{path}: missing; course_config.py lists the written part "
                          f"{part_id!r}: write this file (kind, prompt, answer)") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise CourseError(f"{path}: cannot be read as TOML ({e})") from None
    for key in ("kind", "prompt", "answer"):
        if not isinstance(data.get(key), str):
            raise CourseError(f"{path}: {key!r} " + ("is missing" if key not in data else
                                                     "must be a string"))
    unknown = sorted(set(data) - {"kind", "prompt", "answer"})
    if unknown:
        raise CourseError(f"{path}: unknown key {unknown[0]!r} (a written part has kind, "
                          f"prompt and answer)")
    if data["kind"] not in WRITTEN_KINDS:
        raise CourseError(f"{path}: kind must be \"markdown\" or \"code\", got "
                          f"{data['kind']!r}")
    return WrittenPart(part_id, data["kind"], data["prompt"], data["answer"])


def _canvas_id(exercise_id: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise CourseError(f"course_config.py: exercise {exercise_id!r}: canvas_id must be the "
                          f"Canvas assignment's number (a positive integer, as in its URL "
                          f".../assignments/1234), got {value!r}")
    return value


def reference(exercise_id: str) -> ModuleType:
    """The reference solution of an exercise, of the course whose checks are being imported
    (a hidden check calls this at import), else of the process course. Only hidden checks
    and the audit use it."""
    course = _importing[-1] if _importing else load_course()
    return course.reference(exercise_id)
