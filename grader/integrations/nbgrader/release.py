"""`grader release nbgrader COURSE_DIR`: an nbgrader course built from this repository.

What it makes, in COURSE_DIR:
- nbgrader_config.py (course id, root, gradebook, exchange, kernel and timeouts, missing test
  cells added back when grading) unless one not written by us is there already;
- grader_course/: the course the graders use (course_config.py, tests/checks, solutions),
  readable by the instructor only, since it holds the solutions and the hidden checks;
- source/<assignment>/<exercise>.ipynb, one per exercise (grader.integrations.nbgrader.notebooks);
- the gradebook entries for the assignment (due date: the latest of its exercises) and
  the students given;
- release/<assignment>/ by running the real `nbgrader generate_assignment`, and the
  assignment in the exchange by `nbgrader release_assignment`;
- student_nbgrader_config.py: what students' Jupyter needs to fetch and submit (course id
  and exchange), to copy into their ~/.jupyter/ or a system-wide /etc/jupyter/.

A release is atomic: it reads nbgrader's gradebook first and refuses, before changing anything,
what nbgrader would refuse halfway (changed notebooks or cells of an assignment students have
submitted to) and any plain release over submissions; then it builds all of the above in a
staging folder inside COURSE_DIR (a copy of the gradebook included), runs nbgrader there
(release_assignment copies from it to the exchange), and only when every step succeeded
renames the new parts over the old ones. `--update` is the path after submissions: the same
notebooks and cells, new check code and points for grading (grader_course, source, release,
the gradebook's cells), nothing sent to the exchange.

The exchange is COURSE_DIR/exchange unless `--exchange` names another: on a shared server,
a folder every user can reach (nbgrader's usual /srv/nbgrader/exchange), created world-writable
by nbgrader itself; in a temporary course (tests, a trial) the default works as it is.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from grader.course import secret as course_secret
from grader.course.model import Course, CourseError, load_course
from grader.integrations.nbgrader.coursedir import (
    CONFIG_MARKER,
    CONFIG_NAME,
    SNAPSHOT_NAME,
    read_course,
    tools_on_path,
)
from grader.integrations.nbgrader.notebooks import source_notebook

DEFAULT_ASSIGNMENT = "backprop"
DEFAULT_COURSE_ID = "backprop"
STUDENT_CONFIG_NAME = "student_nbgrader_config.py"
# The folder inside COURSE_DIR where a release is built before it is swapped in.
STAGING_PREFIX = ".grader-release-"

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
                     to_exchange: bool = True, course: Course | None = None,
                     update: bool = False) -> Release:
    """Build the nbgrader course in COURSE_DIR and release ASSIGNMENT (see the module doc).

    Atomic: everything is built and run by nbgrader in a staging copy inside COURSE_DIR, and
    swapped in only when every step succeeded; a refused release (ReleaseError) leaves
    COURSE_DIR as it was. With `update`, an assignment students already submitted to gets
    the new checks' code and points for grading, and its notebooks stay as students have them
    (nothing goes to the exchange)."""
    course = course or load_course()
    ids = list(exercises or course.exercises)
    for ex_id in ids:
        course.exercise(ex_id)  # CourseError for an unknown id
    _check_name(assignment, "assignment")
    for student in students:
        _check_name(student, "student id")
    course_dir = Path(course_dir).resolve()
    if course_dir.exists() and not course_dir.is_dir():
        raise ReleaseError(f"{course_dir} is not a folder: give the nbgrader course folder")
    tools_on_path()
    exchange = Path(exchange).resolve() if exchange else course_dir / "exchange"
    to_exchange = to_exchange and not update
    result = Release(course_dir, assignment, ids, exchange if to_exchange else None)
    clock = time.perf_counter()
    notebooks = {ex_id: source_notebook(course, ex_id) for ex_id in ids}
    live = read_course(course_dir) if (course_dir / CONFIG_NAME).is_file() else None
    gradebook = _sqlite_path(live.db_url) if live else course_dir / "gradebook.db"
    if update and not gradebook.is_file():
        raise ReleaseError(f"--update: {gradebook} does not exist, so there is nothing to "
                           f"update: release the assignment first (without --update)")
    course_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=course_dir))
    try:
        ours = _write_config(course_dir, staging, course, course_id, exchange, result.notes)
        staged_db = staging / "gradebook.db"
        if gradebook.is_file():
            _copy_sqlite(gradebook, staged_db)
        stage = read_course(staging)
        # The staged course must be the staging folder whatever a person's config says.
        overrides = (f"--CourseDirectory.root={staging}",
                     f"--CourseDirectory.db_url=sqlite:///{staged_db}")
        if staged_db.is_file():
            _check_submissions(staged_db, stage.course_id or course_id, assignment, notebooks,
                               update=update, course_dir=course_dir)
        elif update:
            raise ReleaseError(f"--update: assignment {assignment!r} was never released in "
                               f"{course_dir}: release it first (without --update)")
        student_config = course_dir / STUDENT_CONFIG_NAME
        if student_config.is_file() and not student_config.read_text().startswith(
                STUDENT_CONFIG_TEMPLATE.splitlines()[0]):
            result.notes.append(f"{student_config} was not written by grader: kept as it is")
        else:
            (staging / STUDENT_CONFIG_NAME).write_text(
                STUDENT_CONFIG_TEMPLATE.format(course_id=course_id, exchange=str(exchange)))
        _write_snapshot(course, staging / SNAPSHOT_NAME)
        live_source = course_dir / stage.source_dir / assignment
        source = staging / stage.source_dir / assignment
        if live_source.is_dir():  # other notebooks a person put there are released too
            shutil.copytree(live_source, source, symlinks=True)
        source.mkdir(parents=True, exist_ok=True)
        for ex_id, notebook in notebooks.items():
            (source / f"{ex_id}.ipynb").write_text(nbformat.writes(notebook))
            result.notebooks.append(course_dir / stage.source_dir / assignment / f"{ex_id}.ipynb")
        result.timings["build notebooks"] = time.perf_counter() - clock

        clock = time.perf_counter()
        run_nbgrader(staging, "generate_assignment", assignment, "--force", *overrides)
        result.timings["nbgrader generate_assignment"] = time.perf_counter() - clock

        # After generate_assignment, which creates the gradebook: creating it here would cost
        # nbgrader's `alembic heads` subprocess a second time.
        clock = time.perf_counter()
        due = max((course.exercise(ex).due for ex in ids if course.exercise(ex).due),
                  default=None)
        _gradebook_entries(f"sqlite:///{staged_db}", stage.course_id or course_id, assignment,
                           due, students)
        result.timings["gradebook entries"] = time.perf_counter() - clock
        if to_exchange:
            # Before the swap: an exchange that refuses leaves the course as it was. nbgrader
            # copies from the staged release/ into the exchange.
            clock = time.perf_counter()
            run_nbgrader(staging, "release_assignment", assignment, "--force", *overrides)
            result.timings["nbgrader release_assignment"] = time.perf_counter() - clock
        _swap_in(staging, course_dir, gradebook, [
            *([CONFIG_NAME] if ours else []), STUDENT_CONFIG_NAME, SNAPSHOT_NAME,
            f"{stage.source_dir}/{assignment}", f"{stage.release_dir}/{assignment}"])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    result.released = sorted((course_dir / stage.release_dir / assignment).glob("*.ipynb"))
    return result


def _sqlite_path(db_url: str) -> Path:
    prefix = "sqlite:///"
    if not db_url.startswith(prefix):
        raise ReleaseError(f"nbgrader's gradebook is {db_url!r}: grader releases only with a "
                           f"SQLite gradebook (c.CourseDirectory.db_url = 'sqlite:///<file>')")
    return Path(db_url[len(prefix):]).resolve()


def _copy_sqlite(source: Path, target: Path) -> None:
    # SQLite's backup gives a consistent copy even while the formgrader holds it open; the
    # source is opened read-only, so the copy changes nothing of it.
    src = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _cell_ids(notebook: nbformat.NotebookNode) -> dict[str, set[str]]:
    """The cells nbgrader's SaveCells records for a notebook, by kind: the sets it refuses to
    change once the notebook has submissions."""
    kinds: dict[str, set[str]] = {"grade": set(), "solution": set(), "task": set(),
                                  "source": set()}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if grade_id is None:
            continue
        for kind in ("grade", "solution", "task"):
            if meta.get(kind):
                kinds[kind].add(grade_id)
        if meta.get("grade") or meta.get("solution") or meta.get("locked") or meta.get("task"):
            kinds["source"].add(grade_id)
    return kinds


def _check_submissions(db: Path, course_id: str, assignment: str,
                       notebooks: dict[str, nbformat.NotebookNode], *, update: bool,
                       course_dir: Path) -> None:
    """Refuse, before anything of the course changes, a release nbgrader would refuse halfway
    (its notebooks or cells differ from an assignment with submissions), and a plain release
    over submissions; `update` needs the assignment released with the same cells."""
    import warnings

    from nbgrader.api import Gradebook, MissingEntry

    # nbgrader's own models warn (SQLAlchemy autoflush) while their relations are only read.
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{db}", course_id) as gb:
        warnings.simplefilter("ignore")
        try:
            found = gb.find_assignment(assignment)
        except MissingEntry:
            if update:
                raise ReleaseError(f"--update: assignment {assignment!r} was never released in "
                                   f"{course_dir}: release it first (without --update)") from None
            return
        submissions = len(found.submissions)
        old = {nb.name: {"grade": {c.name for c in nb.grade_cells},
                         "solution": {c.name for c in nb.solution_cells},
                         "task": {c.name for c in nb.task_cells},
                         "source": {c.name for c in nb.source_cells}} for nb in found.notebooks}
    if not update:
        if submissions:
            raise ReleaseError(
                f"assignment {assignment!r} has {submissions} submission(s) in {course_dir}; "
                f"nothing was changed. To grade them with changed checks or points, run "
                f"`grader release nbgrader {course_dir} --assignment {assignment} --update` "
                f"(students' notebooks stay as they are); for new notebooks, release a new "
                f"assignment (--assignment NAME)")
        return
    problems = []
    if set(old) != set(notebooks):
        problems.append("notebooks " + _difference(set(old), set(notebooks)))
    for name in sorted(set(old) & set(notebooks)):
        new = _cell_ids(notebooks[name])
        changed = {cell for kind in new for cell in new[kind] ^ old[name][kind]}
        if changed:
            problems.append(f"{name}: cells {_difference(old[name]['source'], new['source'])}"
                            if new["source"] != old[name]["source"] else
                            f"{name}: cells {', '.join(sorted(changed)[:4])} change kind")
    if problems:
        raise ReleaseError(
            f"--update keeps the notebooks and cells students have, and the course has "
            f"{'; '.join(problems)}; nothing was changed. Undo that change, or release it as "
            f"a new assignment (--assignment NAME)")


def _difference(old: set[str], new: set[str]) -> str:
    parts = [f"+{name}" for name in sorted(new - old)] + [f"-{name}" for name in sorted(old - new)]
    return ", ".join(parts[:6]) + (" ..." if len(parts) > 6 else "")


def _swap_in(staging: Path, course_dir: Path, gradebook: Path, relatives: list[str]) -> None:
    """Move what the staging folder built into COURSE_DIR: each item by a rename, the old one
    first set aside in the staging folder (deleted with it)."""
    aside = staging / ".replaced"
    aside.mkdir()
    # The gradebook may live outside COURSE_DIR (another file system): copied next to it
    # first, then renamed over it.
    next_to = gradebook.with_name(f".{gradebook.name}.grader-release")
    shutil.copy2(staging / "gradebook.db", next_to)
    os.replace(next_to, gradebook)
    moves = [(staging / rel, course_dir / rel) for rel in relatives]
    for number, (new, target) in enumerate(moves):
        if not new.exists():
            continue  # kept as it is (a person's config)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() or target.is_symlink():
            target.rename(aside / str(number))
        new.rename(target)


def _check_name(name: str, what: str) -> None:
    # nbgrader uses these as folder names and in its exchange's file names.
    if not name or name.startswith(".") or any(ch in name for ch in "/\\+ \t\n") \
            or not name.isprintable():
        raise CourseError(f"{what} {name!r} cannot be a folder name in nbgrader's course")


def _write_config(course_dir: Path, staging: Path, course: Course, course_id: str,
                  exchange: Path, notes: list[str]) -> bool:
    """Write our nbgrader_config.py into STAGING (False: a person's config is in COURSE_DIR,
    and only a copy of it goes there, for nbgrader to read)."""
    path = course_dir / CONFIG_NAME
    if path.is_file() and not path.read_text().startswith(CONFIG_MARKER):
        shutil.copy2(path, staging / CONFIG_NAME)
        notes.append(f"{path} exists and was not written by grader: kept as it is. It needs "
                     f"c.OverwriteCells.add_missing_cells = True and "
                     f"os.environ['GRADER_COURSE_ROOT'] = '{course_dir / SNAPSHOT_NAME}' for "
                     f"the test cells to find the course.")
        return False
    timeout = int(max(ex.time_limit_s for ex in course.exercises.values()))
    (staging / CONFIG_NAME).write_text(CONFIG_TEMPLATE.format(
        marker=CONFIG_MARKER, course_id=course_id, exchange=str(exchange), timeout=timeout,
        snapshot=SNAPSHOT_NAME))
    return True


def _write_snapshot(course: Course, target: Path) -> None:
    """Copy what grading needs into TARGET (in the staging folder): config, checks (public and
    hidden), references. Swapped in as a whole, so a grader never sees half an old and half a
    new course."""
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis", "*.pyc")
    target.mkdir(mode=0o700)  # solutions and hidden checks: the instructor's eyes only
    shutil.copy2(course.root / "course_config.py", target / "course_config.py")
    secret = course.root / course_secret.FILENAME
    if secret.is_file():  # grade --nbgrader draws its examples from it
        shutil.copy2(secret, target / course_secret.FILENAME)
    shutil.copytree(course.solutions_dir, target / "solutions", ignore=ignore)
    shutil.copytree(course.checks_dir, target / "tests" / "checks", ignore=ignore)
    os.chmod(target, 0o700)  # whatever the umask made of it


def _gradebook_entries(db_url: str, course_id: str, assignment: str, due: str | None,
                       students: Sequence[str]) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(db_url, course_id) as gb:
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
    """`grader release nbgrader ...` (arguments parsed by grader.cli.commands)."""
    try:
        done = release_nbgrader(
            args.course_dir, assignment=args.assignment or DEFAULT_ASSIGNMENT,
            exercises=args.exercises, exchange=args.exchange,
            course_id=args.course_id or DEFAULT_COURSE_ID, students=args.students,
            to_exchange=not args.no_exchange, update=args.update)
    except ReleaseError as e:
        print(f"grader release: {e}", file=sys.stderr)
        return 1
    for note in done.notes:
        print(f"note: {note}")
    root = done.course_dir
    if args.update:
        print(f"Updated {done.assignment!r} ({', '.join(done.exercises)}) in {root}: the "
              f"course for grading ({root / SNAPSHOT_NAME}), the source and release notebooks "
              f"and nbgrader's gradebook; the exchange and the students' notebooks are as "
              f"they were.")
        print(f"Grade again: grader grade --nbgrader {root} {done.assignment} --regrade")
        return 0
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
