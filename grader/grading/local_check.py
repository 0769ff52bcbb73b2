"""`grader check` and `check()` in a notebook: the student's public checks, with feedback.

In a notebook whose namespace defines an exercise's functions, `check("softmax_ce")` checks
those definitions; otherwise it loads the exercise file from `exercises/` (or `submission`).
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

from grader.authoring.checks import checks_for, use_profile
from grader.course.model import load_course
from grader.engine.handle import Implementation
from grader.engine.in_process import LOADING
from grader.engine.run_check import grade_exercise, missing_results
from grader.feedback.student_report import ExerciseReport, Report
from grader.submission.files import find_exercise_file

# True while a submission is being loaded: a `check()` cell inside a graded notebook is a no-op.


def _under_nbgrader_autograde() -> bool:
    # nbgrader sets this while it runs a notebook to grade it: the notebook's check cell is
    # then a no-op, because its test cells run the same checks (and are what scores).
    return os.environ.get("NBGRADER_EXECUTION") == "autograde"


def check(*exercises: str, submission: str | Path | None = None, hidden: bool = False,
          _caller_depth: int = 1) -> Report | None:
    if LOADING.get() or _under_nbgrader_autograde():
        return None
    course = load_course()
    use_profile()
    ids = list(exercises) or list(course.exercises)
    caller = _caller_namespace(_caller_depth + 1) if submission is None else None
    folder = Path(submission) if submission is not None else course.exercises_dir
    reports = []
    for ex_id in ids:
        exercise = course.exercise(ex_id)
        if caller is not None and any(name in caller for name in exercise.functions):
            impl = Implementation(ex_id, caller, source_file="<notebook>")
            source = "this notebook"
        else:
            impl, source = None, None
        reports.append(check_exercise(ex_id, folder, hidden=hidden, impl=impl, source=source))
    return Report(reports)


def check_exercise(exercise_id: str, folder: Path, *, hidden: bool = False,
                   impl: Implementation | None = None, source: str | None = None
                   ) -> ExerciseReport:
    exercise = load_course().exercise(exercise_id)
    path = None
    if impl is None:
        path = find_exercise_file(folder, exercise_id)
        if path is None:
            message = (f"No {exercise_id}.py or {exercise_id}.ipynb in {folder} "
                       "(or its exercises/ subfolder).")
            checks = checks_for(exercise_id, include_hidden=hidden)
            return ExerciseReport(exercise, missing_results(checks, "missing", message),
                                  str(folder))
        source = str(path)
    results = grade_exercise(exercise, path, impl=impl, include_hidden=hidden)
    return ExerciseReport(exercise, results, source or "")


def _caller_namespace(depth: int) -> dict[str, Any] | None:
    """The globals of an interactive caller (a notebook or REPL), else None."""
    frame = inspect.currentframe()
    for _ in range(depth):
        frame = frame.f_back if frame is not None else None
    if frame is None:
        return None
    namespace = frame.f_globals
    if namespace.get("__name__") != "__main__" or "__file__" in namespace:
        return None
    return namespace
