"""The gradebook as CSV files other tools import, written by pandas.

- `gradebook_long.csv`: one row per check, with the statement and the exercise's lateness;
- `gradebook_wide.csv`: one row per student: points per exercise, total, percent, late
  penalty, final;
- `nbgrader_export.csv`: the columns of `nbgrader export`, one row per student and exercise
  (nbgrader's assignment), times as nbgrader writes them (UTC without a zone);
- `otter_final_grades.csv`: Otter's `final_grades.csv` (`file`, one column per question, here
  an exercise, `total_points_earned`, `percent_correct`, `grading_status`, and first the
  `points-per-question` row of points possible), plus `late_penalty` at the end. Every points
  column is after the late penalty, so `total_points_earned` is the sum of the questions as
  in Otter, and `percent_correct` that total over the points possible, a fraction rounded to
  4 digits as Otter rounds it; `late_penalty` is what the penalty took;
- `canvas_import.csv`: Canvas' gradebook CSV, as Canvas exports it and re-imports it
  (lib/gradebook_exporter.rb and gradebook_importer.rb of canvas-lms): Student, ID, SIS
  User ID, SIS Login ID, Section, then one column per exercise holding the points after the
  late penalty, titled "Title (Canvas assignment id)" when course_config.py gives the
  exercise a `canvas_id`, else "Title" (Canvas then matches the assignment of that title, or
  creates it). The first row under the header is Canvas' "    Points Possible" (four
  spaces, points with two decimals).
  The identity columns come from the roster; without one, the folder name is the SIS Login
  ID.

Every text cell is neutralised against formula injection (grader.reports.safe); numbers stay
numbers. Files are written to a temporary name and renamed, so a reader never sees half.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from grader.reports.data import ClassData
from grader.reports.safe import neutralise_frame

LONG_COLUMNS = ["student", "exercise", "check", "statement", "hidden", "status", "score",
                "max_score", "message", "duration_s", "due", "submitted_at", "time_source",
                "days_late", "penalty_fraction", "seed", "grader_version", "course_version",
                "hypothesis_version", "numpy_version", "lock", "submission_hash", "isolation",
                "graded_at"]
NBGRADER_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name",
                    "first_name", "email", "raw_score", "late_submission_penalty", "score",
                    "max_score"]
CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS_POSSIBLE = "    Points Possible"  # four spaces, as Canvas writes it


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    neutralise_frame(frame).to_csv(tmp, index=False)
    tmp.replace(path)
    return path


def long_table(data: ClassData) -> pd.DataFrame:
    lateness = data.scores[["student", "exercise", "due", "submitted_at", "time_source",
                            "days_late", "penalty_fraction"]]
    frame = data.checks.drop(columns=["label"]).merge(lateness, on=["student", "exercise"],
                                                      how="left", sort=False)
    return frame[LONG_COLUMNS]


def wide_table(data: ClassData) -> pd.DataFrame:
    return data.students.reset_index()


def nbgrader_table(data: ClassData) -> pd.DataFrame:
    s = data.scores
    roster = [data.roster.get(student, {}) for student in s["student"]]
    return pd.DataFrame({
        "assignment": s["exercise"],
        "duedate": s["due"].map(_nbgrader_time),
        "timestamp": s["submitted_at"].map(_nbgrader_time),
        "student_id": s["student"],
        "last_name": [r.get("last_name", "") for r in roster],
        "first_name": [r.get("first_name", "") for r in roster],
        "email": [r.get("email", "") for r in roster],
        "raw_score": s["score"],
        "late_submission_penalty": s["late_penalty"],
        "score": s["final"],
        "max_score": s["max_score"],
    }, columns=NBGRADER_COLUMNS)


def _nbgrader_time(iso_utc: str) -> str:
    # nbgrader keeps times as naive UTC and exports them as str(datetime).
    return iso_utc.replace("T", " ").removesuffix("+00:00") if iso_utc else ""


# Otter (5.6 and later) writes this row first in `final_grades.csv`: each question's points
# possible, `percent_correct` 1, the total possible and `grading_status` "--".
OTTER_POSSIBLE_ROW = "points-per-question"


def otter_table(data: ClassData) -> pd.DataFrame:
    """Otter's final_grades.csv: a question's column holds that exercise's points after its
    late penalty, so `total_points_earned` is their sum and `percent_correct` that sum over
    the points possible, as Otter computes both; `late_penalty` (not Otter's) is what the
    penalty took, so adding it back gives the points from the checks."""
    wide = data.students
    final = (data.scores.pivot(index="student", columns="exercise", values="final")
             .reindex(index=list(wide.index), columns=data.exercises).fillna(0.0)
             if not data.scores.empty else pd.DataFrame(index=wide.index,
                                                        columns=data.exercises, dtype=float))
    frame = pd.DataFrame({"file": wide.index}, index=wide.index)
    for ex in data.exercises:
        frame[ex] = final[ex].astype(float)
    frame["total_points_earned"] = wide["final"]
    total = wide["max_total"].astype(float)
    frame["percent_correct"] = (wide["final"] / total.where(total > 0)).fillna(0.0).round(4)
    frame["grading_status"] = ["Completed" if not p else f"Completed; problems in {p}"
                               for p in wide["problems"]]
    frame["late_penalty"] = wide["late_penalty"]
    # late_penalty 0 in that row keeps the column numeric for whoever reads it.
    possible = pd.DataFrame([{"file": OTTER_POSSIBLE_ROW, **data.max_points,
                              "total_points_earned": sum(data.max_points.values()),
                              "percent_correct": 1.0, "grading_status": "--",
                              "late_penalty": 0.0}], columns=frame.columns)
    return pd.concat([possible, frame.reset_index(drop=True)], ignore_index=True)


def canvas_table(data: ClassData) -> pd.DataFrame:
    """Canvas' gradebook CSV as its exporter writes it and its importer reads it back."""
    s = data.scores
    columns = {ex: canvas_column(data.titles[ex], data.course.exercises[ex].canvas_id
                                 if ex in data.course.exercises else None)
               for ex in data.exercises}
    final = (s.pivot(index="student", columns="exercise", values="final")
             .reindex(index=list(data.students.index), columns=data.exercises).fillna(0.0)
             if not s.empty else pd.DataFrame(columns=data.exercises))
    # Canvas writes points possible with two decimals ("16.00"), its identity cells empty.
    records = [{"Student": CANVAS_POINTS_POSSIBLE, "ID": "", "SIS User ID": "",
                "SIS Login ID": "", "Section": "",
                **{columns[ex]: f"{data.max_points[ex]:.2f}" for ex in data.exercises}}]
    for student, row in final.iterrows():
        who = data.roster.get(student, {})
        records.append({"Student": who.get("name") or student, "ID": who.get("id", ""),
                        "SIS User ID": who.get("sis_user_id", ""),
                        "SIS Login ID": who.get("sis_login_id") or student,
                        "Section": who.get("section", ""),
                        **{columns[ex]: row[ex] for ex in data.exercises}})
    return pd.DataFrame(records, columns=[*CANVAS_IDENTITY, *columns.values()])


def canvas_column(title: str, canvas_id: int | None) -> str:
    """An assignment's column: "Title (id)" with the Canvas assignment's numeric id, the
    header Canvas exports and matches an assignment by on import; without an id, the title
    alone, which Canvas matches to the assignment of that exact title or creates."""
    return f"{title} ({canvas_id})" if canvas_id is not None else title


TABLES = {
    "long": ("gradebook_long.csv", long_table),
    "wide": ("gradebook_wide.csv", wide_table),
    "nbgrader": ("nbgrader_export.csv", nbgrader_table),
    "otter": ("otter_final_grades.csv", otter_table),
    "canvas": ("canvas_import.csv", canvas_table),
}


def write_table(data: ClassData, kind: str, folder: Path) -> Path:
    name, make = TABLES[kind]
    return write_csv(make(data), folder / name)
