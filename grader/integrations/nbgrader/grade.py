"""`grader grade --nbgrader COURSE_DIR ASSIGNMENT`: collected notebooks, graded securely.

For each student folder submitted/<student>/<assignment>/ (as `nbgrader collect` leaves it):
1. read each exercise's notebook here, in the trusted grader
   (grader.integrations.nbgrader.submitted): a notebook that is not one gets status bad_file;
   the student's code cells go into a small notebook in a private staging folder;
2. grade that folder exactly as `grader grade` grades a student
   (grader.grading.grade_class.grade_job: every exercise in a sandboxed worker, all checks,
   public and hidden), in parallel processes, by the class loop of `grader grade`
   (grader.grading.grade_class.run_class; NbgraderClass is what it sees);
3. write, per student: the autograded notebooks the formgrader and `nbgrader
   generate_feedback` read (grader.integrations.nbgrader.autograded), nbgrader's gradebook in
   one transaction (grader.integrations.nbgrader.nbgradebook), then our SQLite gradebook in
   one transaction, with when the student submitted (nbgrader's timestamp.txt) for the late
   policy.

The last write marks the student done: a run killed in between grades that student again next
time and writes the same values. Only the exercises whose notebook or grader key changed since
the last run are graded again (--regrade grades all), the others' rows are kept, and
nbgrader's gradebook and the autograded notebooks are written again from our gradebook for
every student: after this command, nbgrader shows the secure scores even if nbgrader's own
autograde ran in between.

Hand grading stays in the formgrader; `class_rows` adds its scores (written answers, and any
test score a grader overrode) to our rows, for gradebook.csv and `class_frame`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat

from grader.authoring.failures import LoadError
from grader.engine.results import CheckResult
from grader.integrations.nbgrader import nbgradebook
from grader.integrations.nbgrader.autograded import autograded_notebook, notebook_json
from grader.integrations.nbgrader.coursedir import NbCourse, read_course, snapshot_course
from grader.integrations.nbgrader.notebooks import autograder_grade_id, written_grade_id
from grader.integrations.nbgrader.submitted import (
    Released,
    read_submitted,
    solution_states,
    structure_notes,
    student_code,
)
from grader.printable import printable

if TYPE_CHECKING:
    from grader.grading.grade_class import Job, Keys

OUTPUT_NAME = "grader_gradebook"


@dataclass
class Assignment:
    course: NbCourse
    name: str
    exercises: list[str]
    released: dict[str, Released]
    checksums: dict[str, dict[str, str]]  # notebook -> grade id -> released checksum
    checked: bool = False  # against nbgrader's gradebook (check_against_gradebook)


@dataclass
class Student:
    """One student's submission, read and staged for grading."""

    name: str
    folder: Path
    staging: Path
    digest: str
    notebooks: dict[str, nbformat.NotebookNode] = field(default_factory=dict)
    problems: dict[str, LoadError] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    extra: list[str] = field(default_factory=list)

    @property
    def timestamp(self) -> datetime | None:
        """When nbgrader collected it (timestamp.txt), read when it is published."""
        return _timestamp(self.folder / "timestamp.txt")


# ------------------------------------------------------------------------------- the run


def grade_nbgrader(course_dir: Path, assignment: str, output: Path | None = None, *,
                   workers: int | None = None, regrade: bool = False,
                   quiet: bool = False, scheduler: str | None = None) -> int:
    from grader.authoring.checks import use_course_secret
    from grader.course.model import use_course
    from grader.grading.grade_class import examples_note, run_class

    # This process and its grading processes grade with the course copy (every row's
    # versions, checks and key come from it), chosen before the pool forks. The pool starts
    # before nbgrader is imported (0.7 s), which it need not carry, and which waits until
    # it is grading.
    course = read_course(course_dir)
    grading = snapshot_course(course)
    use_course(grading)
    secret = use_course_secret(grading)  # before the pool forks, with the snapshot's secret
    workers = max(1, workers or _cores())
    with _executor(grading, workers, scheduler) as pool:
        work = released_assignment(course, assignment)
        output = Path(output) if output else course.root / OUTPUT_NAME / assignment
        staging = Path(tempfile.mkdtemp(prefix="nbgrader-staging-"))
        try:  # one nbgrader gradebook open for the class, each student its own transaction
            with nbgradebook.SubmissionWriter(course.db_url, course.course_id) as writer:
                source = NbgraderClass(work, output, staging, writer)
                code = run_class(pool, source, output, workers=workers, regrade=regrade,
                                 quiet=quiet)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    if not quiet:
        print(examples_note(secret))
    return code


@contextmanager
def _executor(grading: Any, workers: int, scheduler: str | None) -> Iterator[Any]:
    """The grading processes: a GradingPool of WORKERS, or a Dask cluster's workers with
    SCHEDULER (grader.grading.dask_executor); either grades the course GRADING."""
    from grader.grading.grade_class import GradingPool

    if scheduler is None:
        with GradingPool(workers, grading) as pool:
            yield pool
        return
    from grader.grading.dask_executor import dask_grading

    with dask_grading(scheduler) as pool:
        yield pool


class NbgraderClass:
    """The class loop's view of an nbgrader assignment (grader.grading.grade_class.run_class): the
    students of submitted/<student>/<assignment>/, staged one by one as their jobs are handed out;
    each graded student written to the autograded notebooks, nbgrader's gradebook and then
    ours, with the submission times of nbgrader's timestamp.txt for the late policy."""

    def __init__(self, work: Assignment, output: Path, staging: Path,
                 writer: nbgradebook.SubmissionWriter) -> None:
        from grader.submission.identity import submission_hashes

        self.work, self.output, self.staging, self.writer = work, output, staging, writer
        course = work.course
        submitted = course.root / course.submitted_dir
        names = sorted(p.name for p in submitted.iterdir()
                       if (p / work.name).is_dir() and not p.name.startswith(".")) \
            if submitted.is_dir() else []
        self._hashes = {name: submission_hashes(submitted / name / work.name, work.exercises)
                        for name in names}
        self._digests = {name: whole for name, (whole, _) in self._hashes.items()}
        self.students: dict[str, Student] = {}
        self.graded: set[str] = set()
        self.failed: dict[str, str] = {}

    def submissions(self) -> list[tuple[str, str]]:
        return list(self._digests.items())

    def exercise_hashes(self, student: str) -> dict[str, str]:
        return dict(self._hashes[student][1])

    def jobs(self, to_grade: dict[str, tuple[str, ...]]) -> Iterator[Job]:
        from grader.grading.grade_class import Job

        # Each student is handed to the pool as soon as it is staged: the grading processes
        # start on the first while this one reads the others' notebooks.
        for name, digest in self._digests.items():
            student = self.students[name] = prepare(self.work, name, self.staging, digest)
            if name in to_grade:
                self.graded.add(name)
                yield Job(name, str(student.staging), student.digest, to_grade[name])
        # While the first students are graded. A mismatch raises before any result is kept
        # (closing the pool stops the grading of the others).
        check_against_gradebook(self.work)

    def record(self, book: Any, keys: Keys, result: dict[str, Any]) -> None:
        from grader.grading.grade_class import write_worker_log
        from grader.submission.times import submission_times

        work = self.work
        check_against_gradebook(work)  # done once; kept before every result
        student = self.students[result["student"]]
        rows = assignment_rows(work, student, result["rows"])
        graded = [ex for ex in result.get("exercises", work.exercises) if ex in work.exercises]
        kept = [ex for ex in work.exercises if ex not in graded]
        digest = result["submission_hash"]
        if "why" in result:  # the grading process died: keep nbgrader's grades
            self.failed[student.name] = result["why"]
        else:
            # nbgrader gets every exercise: those graded now and those kept from before.
            before = [r for r in book.rows(student.name) if r["exercise"] in kept]
            problem = _publish_or_why(work, student, before + rows, self.writer)
            if problem:
                self.failed[student.name] = problem
                digest = "incomplete:" + digest  # graded again next run
        by_exercise = keys.graded({**result, "exercises": graded}, self._hashes[student.name][1],
                                  incomplete=digest.startswith("incomplete:"))
        book.record_student(student.name, digest, keys.course, result["isolation"], rows,
                            submission_times(student.folder, graded),
                            graded=by_exercise, kept=kept)
        write_worker_log(self.output, student.name, result.get("logs", {}).get("worker", ""),
                         graded, kept)

    def finish(self, book: Any, interrupted: bool) -> list[dict]:
        if not interrupted:
            stored = book.rows()
            for name in sorted(set(self.students) - self.graded):
                problem = _publish_or_why(self.work, self.students[name],
                                          [r for r in stored if r["student"] == name],
                                          self.writer)
                if problem:
                    self.failed[name] = problem
        return class_rows(self.work.course, self.work.name, book.rows())

    def nothing_graded(self) -> str:
        course = self.work.course
        return f"No submissions of {self.work.name} in {course.root / course.submitted_dir}."

    def notes(self) -> list[str]:
        lines = []
        for name, student in sorted(self.students.items()):
            notes = [f"{ex}: {'; '.join(n)}" for ex, n in student.notes.items() if n]
            notes += [f"{ex}: {e.message}" for ex, e in student.problems.items()]
            if student.extra:
                notes.append(f"ignored (not a notebook of {self.work.name}): "
                             f"{', '.join(student.extra)}")
            if name in self.failed:
                notes.append(f"not written to nbgrader ({self.failed[name]}): nbgrader's "
                             "gradebook keeps what it had for this student, and the next run "
                             "grades them again")
            # Names of students and of their files, messages: on one line each.
            lines += [f"  {printable(name, newlines=False)}: {printable(note, newlines=False)}"
                      for note in notes]
        return lines

    def unchanged(self, skipped: int, interrupted: bool) -> str:
        if interrupted:
            return ""  # nothing unchanged was written again
        return (f"; {skipped} unchanged since the last run (their nbgrader grades were "
                "written again)")

    def stored(self) -> list[str]:
        course = self.work.course
        return [f"nbgrader: gradebook {course.db_url}, notebooks in "
                f"{course.root / course.autograded_dir} (formgrader, `nbgrader export`, "
                "`nbgrader generate_feedback`)",
                f"Ours: {self.output / 'gradebook.sqlite'} and gradebook.csv"]


def _cores() -> int:
    import os

    return os.cpu_count() or 1


def released_assignment(course: NbCourse, assignment: str) -> Assignment:
    """The assignment's notebooks as released (release/ASSIGNMENT/<exercise>.ipynb, in
    nbgrader's order, by name), read without nbgrader: enough to stage the students' code.
    Nothing is graded from it before check_against_gradebook."""
    folder = course.root / course.release_dir / assignment
    exercises = snapshot_course(course).exercises
    names = sorted(p.stem for p in folder.glob("*.ipynb") if p.stem in exercises and p.is_file()) \
        if folder.is_dir() else []
    return Assignment(course, assignment, names,
                      {name: Released.read(folder / f"{name}.ipynb") for name in names}, {})


def check_against_gradebook(work: Assignment) -> None:
    """Check the released assignment against nbgrader's gradebook and the course the graders
    use, once: the gradebook's notebooks must be the released ones, every test cell one check
    with that check's points, every hand-graded cell a written part. Keeps the released
    checksums of the answer cells."""
    from grader.authoring.checks import checks_for

    if work.checked:
        return
    course, assignment = work.course, work.name
    cells = nbgradebook.assignment_cells(course.db_url, course.course_id, assignment)
    loaded = snapshot_course(course)
    problems = []
    checksums = {}
    for notebook in cells.notebooks:
        if notebook not in loaded.exercises:
            problems.append(f"notebook {notebook!r} is not an exercise of the course")
            continue
        exercise = loaded.exercise(notebook)
        want = {autograder_grade_id(c.name): c.points
                for c in checks_for(notebook, include_hidden=True, course=loaded)}
        want.update({written_grade_id(k): v for k, v in exercise.written.items()})
        have = {c.grade_id: c.max_score for c in cells.graded if c.notebook == notebook}
        if have != want:
            odd = sorted(set(have) ^ set(want)) or sorted(
                k for k in have if have[k] != want[k])
            problems.append(f"{notebook}: the graded cells differ from the course's checks "
                            f"({', '.join(odd[:4])})")
        path = course.root / course.release_dir / assignment / f"{notebook}.ipynb"
        if notebook not in work.released:
            problems.append(f"{path} is missing")
            continue
        checksums[notebook] = {g: c for (nb, g), c in cells.checksums.items() if nb == notebook}
    for notebook in sorted(set(work.exercises) - set(cells.notebooks)):
        path = course.root / course.release_dir / assignment / f"{notebook}.ipynb"
        problems.append(f"{path} is not in nbgrader's gradebook")
    if problems:
        raise nbgradebook.GradebookMismatch(
            f"assignment {assignment!r} does not match the course: " + "; ".join(problems)
            + f". Release it again: grader release nbgrader {course.root} --assignment "
            f"{assignment}")
    work.checksums.update(checksums)
    work.checked = True


def prepare(work: Assignment, name: str, staging_root: Path,
            digest: str | None = None) -> Student:
    """Read one student's notebooks and stage the code the worker will run. DIGEST is the
    submission's hash, when the caller has it already."""
    from grader.submission.identity import submission_hash

    folder = work.course.root / work.course.submitted_dir / name / work.name
    staging = Path(tempfile.mkdtemp(prefix="student-", dir=staging_root))
    student = Student(name, folder, staging, digest or submission_hash(folder, work.exercises))
    for exercise in work.exercises:
        path = folder / f"{exercise}.ipynb"
        if not path.is_file():
            continue  # grade_job records it as missing
        try:
            notebook = read_submitted(path)
        except LoadError as e:  # its message may quote the notebook: student text
            student.problems[exercise] = LoadError(e.status, printable(e.message))
            continue
        released = work.released[exercise]
        student.notebooks[exercise] = notebook
        student.notes[exercise] = structure_notes(notebook, released)
        (staging / f"{exercise}.ipynb").write_bytes(student_code(notebook, released))
    # nbgrader's own files in a collected submission
    expected = {f"{e}.ipynb" for e in work.exercises} | {"timestamp.txt", "submission_secret.txt"}
    if folder.is_dir():
        student.extra = sorted(p.name for p in folder.iterdir()
                               if p.name not in expected and not p.name.startswith("."))
    return student


def _timestamp(path: Path) -> datetime | None:
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(path.read_text().strip())
    except (OSError, ValueError, OverflowError, TypeError):
        return None


def assignment_rows(work: Assignment, student: Student, rows: list[dict]) -> list[dict]:
    """grade_job's rows for this assignment's exercises; an exercise whose notebook could not
    be read gets that status and message on every check."""
    out = []
    for row in rows:
        if row["exercise"] not in work.exercises:
            continue
        problem = student.problems.get(row["exercise"])
        if problem is not None:
            row = {**row, "status": problem.status, "message": problem.message, "score": 0.0}
        out.append(row)
    return out


def _publish_or_why(work: Assignment, student: Student, rows: list[dict],
                    writer: nbgradebook.SubmissionWriter | None = None) -> str | None:
    """publish(), or why it failed: one student's failure (nbgrader's gradebook locked by a
    formgrader, a full disk) must not stop the others."""
    try:
        publish(work, student, rows, writer)
    except Exception as e:
        return f"{type(e).__name__}: {' '.join(str(e).split())[:300]}"
    return None


def publish(work: Assignment, student: Student, rows: list[dict],
            writer: nbgradebook.SubmissionWriter | None = None) -> None:
    """Autograded notebooks, then nbgrader's gradebook (one transaction), for one student;
    WRITER is the run's nbgrader gradebook (None: opened for this student)."""
    results = results_by_exercise(rows)
    target = work.course.root / work.course.autograded_dir / student.name / work.name
    target.mkdir(parents=True, exist_ok=True)
    grades = {}
    for exercise in work.exercises:
        released = work.released[exercise]
        notebook = student.notebooks.get(exercise)
        problem = student.problems.get(exercise)
        message = problem.message if problem else (
            None if notebook is not None else f"No {exercise}.ipynb was submitted.")
        graded = autograded_notebook(notebook, released, results.get(exercise, {}), message)
        _write_atomically(target / f"{exercise}.ipynb", notebook_json(graded))
        grades[exercise] = nbgradebook.NotebookGrades(
            auto={autograder_grade_id(check): r.score
                  for check, r in results.get(exercise, {}).items()},
            solutions=solution_states(notebook, released, work.checksums.get(exercise, {})))
    stamp = student.folder / "timestamp.txt"
    if stamp.is_file():
        shutil.copyfile(stamp, target / "timestamp.txt")
    if writer is None:
        nbgradebook.record_submission(work.course.db_url, work.course.course_id, work.name,
                                      student.name, grades, student.timestamp)
    else:
        writer.record(work.name, student.name, grades, student.timestamp)


def results_by_exercise(rows: list[dict]) -> dict[str, dict[str, CheckResult]]:
    """Gradebook rows back as CheckResults (with the statements of the checks)."""
    from grader.authoring.checks import checks_for
    from grader.gradebook.rows import stored_fields

    out: dict[str, dict[str, CheckResult]] = {}
    statements: dict[str, dict[str, str]] = {}
    for row in rows:
        exercise = row["exercise"]
        if exercise not in statements:
            statements[exercise] = {c.name: c.statement
                                    for c in checks_for(exercise, include_hidden=True)}
        out.setdefault(exercise, {})[row["check"]] = CheckResult(
            exercise, row["check"], statements[exercise].get(row["check"], ""),
            bool(row["hidden"]), row["status"], float(row["score"]), float(row["max_score"]),
            row["message"] or "", float(row.get("duration_s") or 0.0),
            *stored_fields(row["status"], row["message"] or ""))
    return out


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)  # also over nbgrader's read-only (444) autograded files


# ----------------------------------------------------------------- hand grades, read back


def class_rows(course: NbCourse, assignment: str, rows: list[dict]) -> list[dict]:
    """Our rows for the assignment, with what graders did in the formgrader: a test score set
    by hand replaces the check's (status "manual"), and each written answer is a row (status
    "manual" once graded, "ungraded" while it waits, "missing" when left blank)."""
    cells = nbgradebook.cell_grades(course.db_url, course.course_id, assignment)
    by_key = {(c["student"], c["notebook"], c["grade_id"]): c for c in cells}
    students = list(dict.fromkeys(r["student"] for r in rows))
    out = []
    template = rows[0] if rows else {}
    for row in rows:
        cell = by_key.get((row["student"], row["exercise"], autograder_grade_id(row["check"])))
        if cell is not None and cell["manual_score"] is not None:
            row = {**row, "score": cell["manual_score"], "status": "manual",
                   "message": f"Score set by hand in the formgrader (the check gave "
                              f"{row['score']:g}). {cell['comment']}".strip()}
        out.append(row)
    for student in students:
        for cell in (c for c in cells if c["student"] == student and c["kind"] == "answer"):
            if cell["manual_score"] is not None:
                status, message = "manual", cell["comment"]
            elif cell["needs_manual_grade"]:
                status, message = "ungraded", "Waiting for a grader in nbgrader's formgrader."
            else:
                status, message = "missing", "No answer was written."
            out.append({**{k: None for k in template}, "student": student,
                        "exercise": cell["notebook"], "check": cell["grade_id"],
                        "score": cell["score"], "max_score": cell["max_score"],
                        "status": status, "message": message, "hidden": False})
    return out


def class_frame(course_dir: Path, assignment: str, output: Path | None = None) -> Any:
    """The assignment's gradebook as a pandas DataFrame (gradebook_db.DB_COLUMNS): our
    automatic rows and the hand grades in nbgrader's gradebook, read now (so a grade given
    in the formgrader a minute ago is in it)."""
    import pandas as pd

    from grader.gradebook.store import DB_COLUMNS, Gradebook

    course = read_course(course_dir)
    output = Path(output) if output else course.root / OUTPUT_NAME / assignment
    with Gradebook(output / "gradebook.sqlite", create=False) as book:
        rows = class_rows(course, assignment, book.rows())
    return pd.DataFrame(rows, columns=DB_COLUMNS)


__all__ = ["check_against_gradebook", "class_frame", "class_rows", "grade_nbgrader",
           "released_assignment"]
