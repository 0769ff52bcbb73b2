"""nbgrader's own gradebook (gradebook.db), written by the secure path and read back.

Writing. `SubmissionWriter.record` (`record_submission` for one student) stores one student's
automatic scores through nbgrader's ORM (nbgrader.api), in ONE transaction: the submission,
its notebooks, every grade and comment, the late penalty. nbgrader's autograde commits after
each cell; here either the whole student is in the database or none of the change is (an
exception rolls it back, and a killed process leaves SQLite's journal to undo it), so the
formgrader never shows half a student. The values mirror what nbgrader's SaveAutoGrades would
store: a test cell gets our check's score; an answer graded by hand gets 0 when it is still
the released stub ("No response.") and no automatic score otherwise, which flags it for the
formgrader; a score a grader already gave by hand is never touched (the cell is then flagged
for review, as nbgrader does).

Reading. `cell_grades` lists every grade of an assignment: the written parts and any score a
grader set by hand flow back into our pandas gradebook
(grader.integrations.nbgrader.grade.class_frame).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from grader.integrations.nbgrader.coursedir import tools_on_path

UNCHANGED, ANSWERED, ABSENT = "unchanged", "answered", "absent"


@dataclass
class NotebookGrades:
    """What the secure path found for one notebook of one student."""

    auto: dict[str, float] = field(default_factory=dict)  # test cell grade id -> score
    solutions: dict[str, str] = field(default_factory=dict)  # solution grade id -> state


@dataclass(frozen=True)
class CellInfo:
    notebook: str
    grade_id: str
    kind: str  # "test" (autograded), "answer" (graded by hand)
    max_score: float
    cell_type: str


class GradebookMismatch(Exception):
    """nbgrader's gradebook and the course disagree (the assignment must be released again)."""


@dataclass(frozen=True)
class AssignmentCells:
    notebooks: list[str]
    graded: list[CellInfo]
    # (notebook, grade id) -> checksum of the released solution cell: an answer whose
    # checksum is unchanged is "No response." (nbgrader's rule).
    checksums: dict[tuple[str, str], str]


def assignment_cells(db_url: str, course_id: str, assignment: str) -> AssignmentCells:
    """The notebooks and graded cells of ASSIGNMENT as nbgrader's gradebook knows them."""
    from nbgrader.api import Gradebook, MissingEntry

    tools_on_path()
    with Gradebook(db_url, course_id) as gb:
        try:
            found = gb.find_assignment(assignment)
        except MissingEntry:
            raise GradebookMismatch(f"nbgrader's gradebook has no assignment {assignment!r}: "
                                    "release it first") from None
        graded, checksums = [], {}
        for notebook in found.notebooks:
            solutions = {c.name for c in notebook.solution_cells}
            for cell in notebook.grade_cells:
                graded.append(CellInfo(notebook.name, cell.name,
                                       "answer" if cell.name in solutions else "test",
                                       float(cell.max_score), cell.cell_type))
            for source in notebook.source_cells:
                if source.name in solutions and source.checksum:
                    checksums[(notebook.name, source.name)] = source.checksum
        return AssignmentCells([nb.name for nb in found.notebooks], graded, checksums)


class SubmissionWriter:
    """nbgrader's gradebook, opened once for the students of a run: `record` stores one
    student in one transaction (see the module docstring). Opening it per student cost a new
    engine each time (so every statement compiled again) and nbgrader's schema checks; it is
    opened at the first record, and after a failure it is closed and opened again for the
    next student, so one student's failure cannot leave the next a broken session."""

    def __init__(self, db_url: str, course_id: str) -> None:
        self.db_url, self.course_id = db_url, course_id
        self._gb: Any = None

    def __enter__(self) -> SubmissionWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        gb, self._gb = self._gb, None
        if gb is not None:
            gb.close()

    def record(self, assignment: str, student: str, notebooks: Mapping[str, NotebookGrades],
               timestamp: datetime | None = None) -> None:
        """Store STUDENT's automatic grades for ASSIGNMENT. NOTEBOOKS maps a notebook name to
        what was found; a notebook of the assignment that is not in it counts as not
        submitted (every test cell 0)."""
        if self._gb is None:
            from nbgrader.api import Gradebook

            tools_on_path()
            self._gb = Gradebook(self.db_url, self.course_id)
        db = self._gb.db
        try:
            _record(db, assignment, student, notebooks, timestamp)
            db.commit()
        except BaseException:
            try:
                db.rollback()
            finally:
                self.close()
            raise


def record_submission(db_url: str, course_id: str, assignment: str, student: str,
                      notebooks: Mapping[str, NotebookGrades],
                      timestamp: datetime | None = None) -> None:
    """SubmissionWriter.record for one student."""
    with SubmissionWriter(db_url, course_id) as writer:
        writer.record(assignment, student, notebooks, timestamp)


def _record(db, assignment: str, student: str, notebooks: Mapping[str, NotebookGrades],
            timestamp: datetime | None) -> None:
    from nbgrader.api import (
        Assignment,
        Comment,
        Grade,
        MissingEntry,
        Notebook,
        Student,
        SubmittedAssignment,
        SubmittedNotebook,
    )
    from sqlalchemy.exc import NoResultFound
    from sqlalchemy.orm import selectinload

    # What the loops below touch is loaded up front, a few queries in all: one lazy load per
    # notebook and per collection was most of the time spent here.
    try:
        found = db.query(Assignment).filter(Assignment.name == assignment).options(
            selectinload(Assignment.notebooks).selectinload(Notebook._base_cells)).one()
    except NoResultFound:
        raise MissingEntry(f"No such assignment: {assignment}") from None
    person = db.get(Student, student)
    if person is None:
        person = Student(id=student)
        db.add(person)
    in_notebooks = selectinload(SubmittedAssignment.notebooks)
    submission = db.query(SubmittedAssignment) \
        .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id) \
        .join(Student, Student.id == SubmittedAssignment.student_id) \
        .filter(Assignment.name == assignment, Student.id == student) \
        .options(in_notebooks.selectinload(SubmittedNotebook.grades),
                 in_notebooks.selectinload(SubmittedNotebook.comments)).one_or_none()
    if submission is None:
        submission = SubmittedAssignment(assignment=found, student=person)
        db.add(submission)
    if timestamp is not None:
        submission.timestamp = timestamp
    existing = {nb.notebook.name: nb for nb in submission.notebooks}
    for notebook in found.notebooks:
        submitted = existing.get(notebook.name)
        if submitted is None:
            submitted = SubmittedNotebook(notebook=notebook, assignment=submission)
            db.add(submitted)
        grades = NotebookGrades() if notebook.name not in notebooks \
            else notebooks[notebook.name]
        _store_notebook(db, submitted, notebook, grades, Grade, Comment)
    db.flush()
    _late_penalties(submission, found.duedate)


def _store_notebook(db, submitted, notebook, grades: NotebookGrades, Grade, Comment) -> None:
    # Every new object is added explicitly: SQLAlchemy 2 does not cascade along backrefs.
    have_grades = {g.cell_id: g for g in submitted.grades}
    have_comments = {c.cell_id: c for c in submitted.comments}
    solutions = {c.name for c in notebook.solution_cells}
    for cell in notebook.grade_cells:
        grade = have_grades.get(cell.id)
        if grade is None:
            grade = Grade(cell=cell, notebook=submitted)
            db.add(grade)
        if cell.name in solutions:
            state = grades.solutions.get(cell.name, ABSENT)
            grade.auto_score = 0.0 if state == UNCHANGED else None
        else:
            if cell.name not in grades.auto and grades.auto:
                raise GradebookMismatch(
                    f"{notebook.name}: the gradebook has a test cell {cell.name!r} that no "
                    "check of the course scores: release the assignment again")
            grade.auto_score = float(grades.auto.get(cell.name, 0.0))
        grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
    for cell in notebook.solution_cells:
        comment = have_comments.get(cell.id)
        if comment is None:
            comment = Comment(cell=cell, notebook=submitted)
            db.add(comment)
        state = grades.solutions.get(cell.name, ABSENT)
        comment.auto_comment = "No response." if state == UNCHANGED else None


def _late_penalties(submission, duedate: datetime | None) -> None:
    """nbgrader's late-submission rule with its default plugin (no penalty unless configured
    otherwise in nbgrader's own autograde): reset, then a penalty per notebook if late."""
    from nbgrader.plugins import LateSubmissionPlugin

    late = 0.0
    if duedate is not None and submission.timestamp is not None:
        extension = submission.extension or timedelta(0)
        late = max(0.0, (submission.timestamp - (duedate + extension)).total_seconds())
    plugin = LateSubmissionPlugin()
    for notebook in submission.notebooks:
        notebook.late_submission_penalty = None
        if late > 0:
            score = sum(_score(g) for g in notebook.grades)
            penalty = plugin.late_submission_penalty(submission.student.id, score, late)
            if penalty is not None:
                notebook.late_submission_penalty = min(max(0.0, float(penalty)), score)


def _score(grade) -> float:
    value = grade.manual_score if grade.manual_score is not None else grade.auto_score
    return float(value or 0.0) + float(grade.extra_credit or 0.0)


def cell_grades(db_url: str, course_id: str, assignment: str) -> list[dict]:
    """Every grade of ASSIGNMENT: student, notebook, grade_id, kind, auto_score, manual_score,
    score, max_score, needs_manual_grade, comment (the grader's)."""
    from nbgrader.api import Gradebook, MissingEntry

    tools_on_path()
    out = []
    with Gradebook(db_url, course_id) as gb:
        try:
            submissions = gb.assignment_submissions(assignment)
        except MissingEntry:
            return []
        for submission in submissions:
            for notebook in submission.notebooks:
                solutions = {c.name for c in notebook.notebook.solution_cells}
                comments = {c.name: c.manual_comment for c in notebook.comments}
                for grade in notebook.grades:
                    out.append({
                        "student": submission.student.id, "notebook": notebook.name,
                        "grade_id": grade.name,
                        "kind": "answer" if grade.name in solutions else "test",
                        "auto_score": grade.auto_score, "manual_score": grade.manual_score,
                        "score": _score(grade), "max_score": float(grade.max_score),
                        "needs_manual_grade": bool(grade.needs_manual_grade),
                        "comment": comments.get(grade.name) or ""})
    return out
