"""The HTML reports, rendered by Jinja2 from grader/reports/templates/.

- `class_report.html` for the instructor: score distribution, per-exercise difficulty, the
  checks students fail most with the diagnoses their failures carried, every student with a
  link to their feedback;
- `students/<name>/feedback.html` for each student: every check with its status, points and
  message, the late penalty per exercise, and their curves next to the reference's.

Autoescape is on for every template, so a student named `<script>` or a message quoting
`</pre>` is shown as text; every value is made printable (grader.printable) first. The pages
are self-contained (styles inline, pictures as data: URIs) and forbid scripts and remote
loads by their Content-Security-Policy, so they can be mailed or uploaded as one file each
and opened without a network.
"""

from __future__ import annotations

import base64
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from grader.course.late import LatePolicy
from grader.printable import printable
from grader.reports import analysis, plots
from grader.reports.data import ClassData

TEMPLATES = Path(__file__).resolve().parent / "templates"
TOP_CHECKS = 15  # the class report's ranking of the most failed checks


@cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      finalize=_printable)
    env.filters["points"] = lambda x: f"{float(x):g}"
    return env


def _printable(value: Any) -> Any:
    # Every {{ value }} of the templates: plain text made printable before autoescape; markup
    # the code built on purpose (Markup, a str subclass) is left as it is.
    return printable(value) if type(value) is str else value


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def policy_text(policy: LatePolicy) -> str:
    if not policy.penalty_per_day:
        return "Late submissions are not penalised."
    grace = policy.grace.total_seconds() / 60
    return (f"Late policy: after {grace:g} minutes of grace, each started day late costs "
            f"{policy.penalty_per_day:.0%} of the points {policy.basis}, at most "
            f"{policy.max_penalty:.0%}.")


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", errors="backslashreplace")
    return path


# ---------------------------------------------------------------------------- the class


def class_report(data: ClassData, hrefs: dict[str, str]) -> str:
    """The class report's HTML. HREFS: each student's feedback page, relative to it."""
    summary = analysis.score_summary(data)
    students = [{"name": name, "href": hrefs.get(name, ""),
                 "scores": {ex: record[ex] for ex in data.exercises},
                 "total": record["total"], "penalty": record["late_penalty"],
                 "final": record["final"], "final_percent": record["final_percent"],
                 "late": record["late"], "problems": record["problems"]}
                for name, record in data.student_of.items()]
    hardest = analysis.hardest_checks(data, top=None)
    difficulty = analysis.exercise_difficulty(data, hardest)
    context: dict[str, Any] = {
        "course": data.course.name, "version": data.course.version, "summary": summary,
        "policy_text": policy_text(data.policy), "exercises": data.exercises,
        "students": students, "difficulty": difficulty.to_dict("records"),
        "hardest": hardest[:TOP_CHECKS], "histogram": "", "difficulty_png": "",
    }
    if summary["students"]:
        context["histogram"] = data_uri(plots.score_histogram(data.students["final_percent"]))
        context["difficulty_png"] = data_uri(plots.difficulty_chart(
            list(difficulty["exercise"]), list(difficulty["mean_percent"]),
            list(difficulty["full_marks_percent"])))
    return environment().get_template("class_report.html.j2").render(context)


def write_class_report(data: ClassData, path: Path, hrefs: dict[str, str]) -> Path:
    return _write(path, class_report(data, hrefs))


# ---------------------------------------------------------------------------- a student


def student_feedback(data: ClassData, student: str, plot: bytes | None = None,
                     plot_notes: list[str] | None = None) -> str:
    rows = data.rows_of(student)
    exercises = []
    for ex in data.exercises:
        checks = [r for r in rows if r["exercise"] == ex]
        s = data.score_of.get((student, ex))
        if not checks or s is None:
            continue
        lateness = data.lateness[(student, ex)]
        exercises.append({
            "id": ex, "title": data.titles[ex], "score": s["score"], "max": s["max_score"],
            "due": _shown(lateness.due) + (" (your extension)" if lateness.extended else ""),
            "submitted": _shown(lateness.submitted),
            "source": s["time_source"], "late": s["late"], "days_late": s["days_late"],
            "penalty": s["late_penalty"], "final": s["final"], "checks": checks})
    totals = data.student_of[student]
    context = {
        "course": data.course.name, "version": data.course.version, "student": student,
        "total": totals["total"], "max_total": totals["max_total"],
        "penalty": totals["late_penalty"], "final": totals["final"],
        "final_percent": totals["final_percent"], "policy_text": policy_text(data.policy),
        "exercises": exercises, "plot": data_uri(plot) if plot else "",
        "plot_notes": plot_notes or [],
    }
    return environment().get_template("student_feedback.html.j2").render(context)


def write_student_feedback(data: ClassData, student: str, path: Path, plot: bytes | None = None,
                           plot_notes: list[str] | None = None) -> Path:
    return _write(path, student_feedback(data, student, plot, plot_notes))


def _shown(when: Any) -> str:
    """A time as the student reads it: in its own zone, to the minute."""
    return "" if when is None else when.isoformat(sep=" ", timespec="minutes")
