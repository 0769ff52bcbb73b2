"""`grader release nbgrader COURSE_DIR`: an nbgrader course built from this repository.

What it makes, in COURSE_DIR:
- nbgrader_config.py (course id, root, gradebook, exchange, kernel and timeouts, missing test
  cells added back when grading) unless one not written by us is there already;
- grader_course/: the course the graders use (course_config.py, tests/checks, solutions),
  readable by the instructor only, since it holds the solutions and the hidden checks;
- source/<assignment>/<exercise>.ipynb, one per exercise (grader.nbgrader.notebooks);
- the gradebook entries for the assignment (due date: the latest of its exercises) and
  the students given;
- release/<assignment>/ by running the real `nbgrader generate_assignment`, and the
  assignment in the exchange by `nbgrader release_assignment`;
- student_nbgrader_config.py: what students' Jupyter needs to fetch and submit (course id
  and exchange), to copy into their ~/.jupyter/ or a system-wide /etc/jupyter/.

The exchange is COURSE_DIR/exchange unless `--exchange` names another: on a shared server,
a folder every user can reach (nbgrader's usual /srv/nbgrader/exchange), created world-writable
by nbgrader itself; in a temporary course (tests, a trial) the default works as it is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from grader import course_secret
from grader.course import Course, CourseError, load_course
from grader.nbgrader.coursedir import CONFIG_MARKER, CONFIG_NAME, SNAPSHOT_NAME, tools_on_path
from grader.nbgrader.notebooks import source_notebook

DEFAULT_ASSIGNMENT = "backprop"
DEFAULT_COURSE_ID = "backprop"
STUDENT_CONFIG_NAME = "student_nbgrader_config.py"

CONFIG_TEMPLATE = '''{marker} (delete this line to keep your edits).
# nbgrader reads this file when it runs in this folder (or with --config pointing here).
import os

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)
here = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.root = here
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(here, "gradebook.db")
c.Exchange.root = {exchange!r}
# Grading kernels run the Python that runs nbgrader: the `grader` package must be installed
# there. A test cell may take as long as the slowest exercise's time limit.
c.ExecutePreprocessor.kernel_name = "python3"
c.ExecutePreprocessor.timeout = {timeout}
# A student who deletes a test cell still gets that check graded (not an unknown grade).
c.OverwriteCells.add_missing_cells = True
# The test cells import the course's checks: they find the course copy made at release.
os.environ["GRADER_COURSE_ROOT"] = os.path.join(here, {snapshot!r})
'''

STUDENT_CONFIG_TEMPLATE = '''# Students' Jupyter: where to fetch and submit this course's work.
# Copy into ~/.jupyter/nbgrader_config.py (or /etc/jupyter/ on a shared server).
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course_id!r}
c.Exchange.root = {exchange!r}
'''


class ReleaseError(Exception):
    """nbgrader refused a step of the release; the message says which and why."""


@dataclass
class Release:
    course_dir: Path
    assignment: str
    exercises: list[str]
    exchange: Path | None
    notebooks: list[Path] = field(default_factory=list)
    released: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def release_nbgrader(course_dir: Path, *, assignment: str = DEFAULT_ASSIGNMENT,
                     exercises: Sequence[str] | None = None, exchange: Path | None = None,
                     course_id: str = DEFAULT_COURSE_ID, students: Sequence[str] = (),
                     to_exchange: bool = True, course: Course | None = None) -> Release:
    """Build the nbgrader course in COURSE_DIR and release ASSIGNMENT (see the module doc)."""
    course = course or load_course()
    ids = list(exercises or course.exercises)
    for ex_id in ids:
        course.exercise(ex_id)  # CourseError for an unknown id
    _check_name(assignment, "assignment")
    for student in students:
        _check_name(student, "student id")
    course_dir = Path(course_dir).resolve()
    course_dir.mkdir(parents=True, exist_ok=True)
    tools_on_path()
    exchange = Path(exchange).resolve() if exchange else course_dir / "exchange"
    result = Release(course_dir, assignment, ids, exchange if to_exchange else None)
    clock = time.perf_counter()

    result.notes += _write_config(course_dir, course, course_id, exchange)
    (course_dir / STUDENT_CONFIG_NAME).write_text(
        STUDENT_CONFIG_TEMPLATE.format(course_id=course_id, exchange=str(exchange)))
    _write_snapshot(course, course_dir / SNAPSHOT_NAME)
    source = course_dir / "source" / assignment
    source.mkdir(parents=True, exist_ok=True)
    for ex_id in ids:
        path = source / f"{ex_id}.ipynb"
        _write_atomically(path, nbformat.writes(source_notebook(course, ex_id)))
        result.notebooks.append(path)
    result.timings["build notebooks"] = time.perf_counter() - clock

    clock = time.perf_counter()
    run_nbgrader(course_dir, "generate_assignment", assignment, "--force")
    result.timings["nbgrader generate_assignment"] = time.perf_counter() - clock

    # After generate_assignment, which creates the gradebook: creating it here would cost
    # nbgrader's `alembic heads` subprocess a second time.
    clock = time.perf_counter()
    due = max((course.exercise(ex).due for ex in ids if course.exercise(ex).due), default=None)
    _gradebook_entries(course_dir, assignment, due, students)
    result.timings["gradebook entries"] = time.perf_counter() - clock
    result.released = sorted((course_dir / "release" / assignment).glob("*.ipynb"))
    if to_exchange:
        clock = time.perf_counter()
        run_nbgrader(course_dir, "release_assignment", assignment, "--force")
        result.timings["nbgrader release_assignment"] = time.perf_counter() - clock
    return result


def _check_name(name: str, what: str) -> None:
    # nbgrader uses these as folder names and in its exchange's file names.
    if not name or name.startswith(".") or any(ch in name for ch in "/\\+ \t\n") \
            or not name.isprintable():
        raise CourseError(f"{what} {name!r} cannot be a folder name in nbgrader's course")


def _write_config(course_dir: Path, course: Course, course_id: str, exchange: Path) -> list[str]:
    path = course_dir / CONFIG_NAME
    if path.is_file() and not path.read_text().startswith(CONFIG_MARKER):
        return [f"{path} exists and was not written by grader: kept as it is. It needs "
                f"c.OverwriteCells.add_missing_cells = True and os.environ['GRADER_COURSE_ROOT'] "
                f"= '{course_dir / SNAPSHOT_NAME}' for the test cells to find the course."]
    timeout = int(max(ex.time_limit_s for ex in course.exercises.values()))
    _write_atomically(path, CONFIG_TEMPLATE.format(
        marker=CONFIG_MARKER, course_id=course_id, exchange=str(exchange), timeout=timeout,
        snapshot=SNAPSHOT_NAME))
    return []


def _write_snapshot(course: Course, target: Path) -> None:
    """Copy what grading needs: config, checks (public and hidden), references. Replaced as a
    whole, so a grader never sees half an old and half a new course."""
    staging = Path(tempfile.mkdtemp(prefix=".grader_course-", dir=target.parent))
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis", "*.pyc")
    shutil.copy2(course.root / "course_config.py", staging / "course_config.py")
    secret = course.root / course_secret.FILENAME
    if secret.is_file():  # grade --nbgrader draws its examples from it
        shutil.copy2(secret, staging / course_secret.FILENAME)
    shutil.copytree(course.solutions_dir, staging / "solutions", ignore=ignore)
    shutil.copytree(course.checks_dir, staging / "tests" / "checks", ignore=ignore)
    os.chmod(staging, 0o700)  # solutions and hidden checks: the instructor's eyes only
    old = target.with_name(f".{target.name}-old")
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _gradebook_entries(course_dir: Path, assignment: str, due: str | None,
                       students: Sequence[str]) -> None:
    from nbgrader.api import Gradebook

    from grader.nbgrader.coursedir import read_course

    nb_course = read_course(course_dir)
    with Gradebook(nb_course.db_url, nb_course.course_id) as gb:
        gb.update_or_create_assignment(assignment, duedate=due)
        for student in students:
            gb.update_or_create_student(student)


def run_nbgrader(course_dir: Path, *args: str, env: dict[str, str] | None = None,
                 timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the real nbgrader command line in COURSE_DIR (where it finds nbgrader_config.py);
    ReleaseError with the end of its log if it fails."""
    command = [sys.executable, "-m", "nbgrader", *args]
    tools_on_path()
    run = subprocess.run(command, cwd=course_dir, capture_output=True, text=True,
                         timeout=timeout, env=env)
    if run.returncode != 0:
        log = "\n".join((run.stdout + run.stderr).strip().splitlines()[-15:])
        raise ReleaseError(f"`nbgrader {' '.join(args)}` failed (exit {run.returncode}):\n{log}")
    return run


def release_main(args: Any) -> int:
    """`grader release nbgrader ...` (arguments parsed by grader.cli)."""
    try:
        done = release_nbgrader(
            args.course_dir, assignment=args.assignment or DEFAULT_ASSIGNMENT,
            exercises=args.exercises, exchange=args.exchange,
            course_id=args.course_id or DEFAULT_COURSE_ID, students=args.students,
            to_exchange=not args.no_exchange)
    except ReleaseError as e:
        print(f"grader release: {e}", file=sys.stderr)
        return 1
    for note in done.notes:
        print(f"note: {note}")
    root = done.course_dir
    print(f"Released {done.assignment!r} ({', '.join(done.exercises)}) in {root}:")
    print(f"  source notebooks   {root / 'source' / done.assignment}")
    print(f"  student notebooks  {root / 'release' / done.assignment}")
    if done.exchange is not None:
        print(f"  exchange           {done.exchange} (students: `nbgrader fetch_assignment "
              f"{done.assignment}` with {root / STUDENT_CONFIG_NAME})")
    print(f"  course for grading {root / SNAPSHOT_NAME}")
    print("  " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in done.timings.items()))
    print(f"Grade: nbgrader collect {done.assignment} (in {root}), then "
          f"grader grade --nbgrader {root} {done.assignment}")
    return 0
