"""The gradebook as every report sees it: checks, per-exercise scores with the late policy
applied, and one row per student. Computed once; each writer only formats it.

Sources: `OUT/gradebook.sqlite` (rows and submission times), course_config.py (exercises,
titles, deadlines, late policy), the check registry (the statement of each check), an
optional roster CSV (names, e-mails and LMS ids; students on it without a submission get
zero with the status "missing"), and the curves stored for plots (grader.reports.curves).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from grader.course.late import Lateness, LatePolicy, parse_time, policy_from_course, utc_text
from grader.course.model import Course, load_course
from grader.engine.results import NOT_ATTEMPTED
from grader.gradebook.rows import stored_fields
from grader.gradebook.store import DB_COLUMNS, FILENAME, Gradebook
from grader.printable import printable

# Statuses where the student's code did not run as it should (everything but pass and fail).
PROBLEM_STATUSES = ("error", "missing", "timeout", "crashed", "memory", "forbidden", "bad_file")
ROSTER_FIELDS = ("student", "name", "first_name", "last_name", "email", "id", "sis_user_id",
                 "sis_login_id", "section")
NO_SUBMISSION = "No submission was collected for this student."


class ReportError(Exception):
    """The reports cannot be built from what was given (not a student's fault)."""


@dataclass
class ClassData:
    course: Course
    policy: LatePolicy
    checks: pd.DataFrame          # one row per (student, exercise, check): DB_COLUMNS + statement
    exercises: list[str]          # course order, then any the course no longer has
    titles: dict[str, str]
    max_points: dict[str, float]  # per exercise
    scores: pd.DataFrame          # one row per (student, exercise), with the late policy
    students: pd.DataFrame        # one row per student, indexed by student
    lateness: dict[tuple[str, str], Lateness]
    roster: dict[str, dict[str, str]] = field(default_factory=dict)
    curves: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The same, as plain Python per student: what the per-student files read a thousand times
    # (a pandas lookup costs a millisecond; a dict lookup nothing).
    by_student: dict[str, list[dict]] = field(default_factory=dict)
    score_of: dict[tuple[str, str], dict] = field(default_factory=dict)
    student_of: dict[str, dict] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return list(self.students.index)

    def rows_of(self, student: str) -> list[dict]:
        """The gradebook rows of one student, in grading order (for results.json, JUnit),
        each with its check's statement and label."""
        return self.by_student.get(student, [])

    def late_of(self, student: str) -> dict[str, Lateness]:
        return {ex: self.lateness[(student, ex)] for ex in self.exercises
                if (student, ex) in self.lateness}


def load(output: Path, *, roster: Path | None = None, course: Course | None = None,
         curves: dict[str, dict[str, Any]] | None = None) -> ClassData:
    """Everything the reports need from the output folder of `grader grade`."""
    output = Path(output)
    path = output / FILENAME if output.is_dir() else output
    if not path.is_file():
        raise ReportError(f"no gradebook at {path}: run `grader grade ROOT --output "
                          f"{output}` first")
    with Gradebook(path, create=False) as book:
        rows = book.rows()
        times = book.submission_times()
    return build(rows, times, course=course, roster=read_roster(roster) if roster else {},
                 curves=curves or {})


def build(rows: list[dict], times: dict[str, dict[str, tuple[str, str]]], *,
          course: Course | None = None, roster: dict[str, dict[str, str]] | None = None,
          curves: dict[str, dict[str, Any]] | None = None) -> ClassData:
    course = course or load_course()
    policy = policy_from_course(course)
    roster = roster or {}
    graded = {r["student"] for r in rows}
    rows = rows + [r for student in roster if student not in graded
                   for r in _no_submission_rows(student, course)]
    statements = _statements({r["exercise"] for r in rows}, course)
    by_student: dict[str, list[dict]] = {}
    for row in rows:
        row = dict(row)
        row["hidden"] = bool(row["hidden"])
        row["statement"] = statements.get((row["exercise"], row["check"]), row["check"])
        # A gradebook written before messages were stored printable, or by another tool.
        row["message"] = message = printable(row["message"] or "")
        attempted, _ = stored_fields(row["status"], message)
        row["label"] = row["status"] if attempted else NOT_ATTEMPTED
        by_student.setdefault(row["student"], []).append(row)
    flat = [r for student_rows in by_student.values() for r in student_rows]
    checks = pd.DataFrame(flat, columns=[*DB_COLUMNS, "statement", "label"])
    checks["hidden"] = checks["hidden"].astype(bool)

    present = list(dict.fromkeys(r["exercise"] for r in flat))
    exercises = [ex for ex in course.exercises if ex in present or not present]
    exercises += [ex for ex in present if ex not in exercises]
    titles = {ex: course.exercises[ex].title if ex in course.exercises else ex
              for ex in exercises}

    sums: dict[tuple[str, str], list[float]] = {}
    for r in flat:
        total = sums.setdefault((r["student"], r["exercise"]), [0.0, 0.0])
        total[0] += float(r["score"])
        total[1] += float(r["max_score"])
    # An exercise is worth what its rows say (the course may have changed since grading);
    # the course's points where nobody has rows yet.
    max_points = {ex: float(course.exercises[ex].points) if ex in course.exercises else 0.0
                  for ex in exercises}
    graded_max: dict[str, float] = {}
    for (_, ex), (_, max_score) in sums.items():
        graded_max[ex] = max(graded_max.get(ex, 0.0), max_score)
    max_points.update(graded_max)

    lateness: dict[tuple[str, str], Lateness] = {}
    score_of: dict[tuple[str, str], dict] = {}
    for (student, ex), (score, max_score) in sums.items():
        when, source = times.get(student, {}).get(ex, ("", ""))
        late = policy.assess(student, ex, _time_or_none(when), source)
        lateness[(student, ex)] = late
        penalty = late.penalty(score, max_score)
        score_of[(student, ex)] = {
            "student": student, "exercise": ex, "score": round(score, 6),
            "max_score": round(max_score, 6), "due": utc_text(late.due),
            "submitted_at": utc_text(late.submitted), "time_source": late.source,
            "days_late": late.days_late, "penalty_fraction": late.fraction,
            "late_penalty": penalty, "final": round(score - penalty, 6),
            "late": late.describe()}
    scores = pd.DataFrame(list(score_of.values()), columns=SCORE_COLUMNS)
    student_of = _students(list(by_student), exercises, score_of, by_student,
                           sum(max_points.values()))
    students = pd.DataFrame(list(student_of.values()),
                            columns=["student", *student_columns(exercises)]).set_index("student")
    return ClassData(course=course, policy=policy, checks=checks, exercises=exercises,
                     titles=titles, max_points=max_points, scores=scores, students=students,
                     lateness=lateness, roster=roster, curves=curves or {},
                     by_student=by_student, score_of=score_of, student_of=student_of)


SCORE_COLUMNS = ["student", "exercise", "score", "max_score", "due", "submitted_at",
                 "time_source", "days_late", "penalty_fraction", "late_penalty", "final", "late"]


def student_columns(exercises: list[str]) -> list[str]:
    return [*exercises, "total", "max_total", "percent", "late_penalty", "final",
            "final_percent", "late", "problems"]


def _students(names: list[str], exercises: list[str], score_of: dict[tuple[str, str], dict],
              by_student: dict[str, list[dict]], max_total: float) -> dict[str, dict]:
    """One record per student: points per exercise, total, percent, penalty, final, problems."""
    out = {}
    for student in names:
        record: dict[str, Any] = {"student": student}
        total = penalty = 0.0
        late_parts, unknown = [], False
        for ex in exercises:
            s = score_of.get((student, ex))
            record[ex] = s["score"] if s else 0.0
            if s is None:
                continue
            total += s["score"]
            penalty += s["late_penalty"]
            if s["days_late"] > 0:
                late_parts.append(f"{ex}: {s['late']}")
            elif not s["submitted_at"] and s["due"]:
                unknown = True
        if unknown:
            late_parts.append("submission time unknown")
        problems = dict.fromkeys(r["exercise"] for r in by_student[student]
                                 if r["status"] in PROBLEM_STATUSES)
        final = round(total - penalty, 6)
        record.update({
            "total": round(total, 6), "max_total": max_total,
            "percent": round(100 * total / max_total, 1) if max_total else 0.0,
            "late_penalty": round(penalty, 6), "final": final,
            "final_percent": round(100 * final / max_total, 1) if max_total else 0.0,
            "late": "; ".join(late_parts), "problems": ", ".join(problems)})
        out[student] = record
    return out


def _statements(exercises: set[str], course: Course) -> dict[tuple[str, str], str]:
    """The statement of each check (its docstring's first line), from the check registry."""
    from grader.authoring.checks import checks_for

    known: dict[tuple[str, str], str] = {}
    for ex in exercises:
        if ex in course.exercises:
            known.update({(c.exercise, c.name): c.statement
                          for c in checks_for(ex, include_hidden=True)})
    return known


def _no_submission_rows(student: str, course: Course) -> list[dict]:
    from grader.authoring.checks import checks_for

    return [{"student": student, "exercise": c.exercise, "check": c.name, "score": 0.0,
             "max_score": float(c.points), "status": "missing", "message": NO_SUBMISSION,
             "hidden": c.hidden, "duration_s": 0.0, "seed": course.seed,
             "grader_version": "", "course_version": course.version,
             "hypothesis_version": "", "numpy_version": "", "submission_hash": "",
             "grader_key": "", "lock": "", "isolation": "none (no submission)",
             "graded_at": ""}
            for ex in course.exercises for c in checks_for(ex, include_hidden=True)]


def _time_or_none(text: str) -> Any:
    if not text:
        return None
    try:
        return parse_time(text, "submitted_at")
    except ValueError:
        return None


def read_roster(path: Path) -> dict[str, dict[str, str]]:
    """A roster CSV: a `student` column (the folder name) and any of name, first_name,
    last_name, email, id, sis_user_id, sis_login_id, section. Raises ReportError naming the
    problem (a missing `student` column, a duplicate student, an unknown column)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            header = reader.fieldnames or []
            if "student" not in header:
                raise ReportError(f"roster {path}: needs a 'student' column (the student's "
                                  f"folder name); it has {', '.join(header) or 'no header'}")
            unknown = [h for h in header if h not in ROSTER_FIELDS]
            if unknown:
                raise ReportError(f"roster {path}: unknown column {unknown[0]!r}; the columns "
                                  f"are {', '.join(ROSTER_FIELDS)}")
            out: dict[str, dict[str, str]] = {}
            for line, record in enumerate(reader, start=2):
                student = (record.get("student") or "").strip()
                if not student:
                    raise ReportError(f"roster {path}, line {line}: empty 'student'")
                if student in out:
                    raise ReportError(f"roster {path}, line {line}: student {student!r} "
                                      "is listed twice")
                out[student] = {k: (v or "").strip() for k, v in record.items() if k}
            return out
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise ReportError(f"roster {path}: cannot be read ({e})") from None
