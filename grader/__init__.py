"""The grader for the backprop course.

The packages follow the data path, from a student's folder to a report (docs/architecture.md
walks one row through them). Which may import which is the layers contract of import-linter
in pyproject.toml (`make test` runs it): a package imports only the layers below its own.

    course/        what the course is: model (course_config.py, folders, references), secret
                   (the graded examples' seed), late (the late policy), stubs (exercises/),
                   scaffold (`grader new-exercise`: a new exercise's files)
    submission/    a student's folder: files (which file is an exercise), notebook (a
                   notebook's code), times (when it was submitted), identity (its hash),
                   mistakes (one-line answers to a mistaken folder or exercise name)
    sandbox/       where student code runs: runtime/ (worker, protocol, loading: the only code
                   copied into a worker, standard library and NumPy only), worker_files,
                   isolation/ (records, detect, spec, child, cgroups), seccomp, launcher (the
                   part that keeps root), grading_process (a fresh process per student),
                   output_cap (what a worker prints, for instructors only)
    authoring/     the check-authoring API (its __init__ is the public surface), with the
                   registry of checks (checks) and the Hypothesis adapter (hypothesis_compat)
    engine/        running checks against one submission: handle (one type for both
                   engines), in_process, remote (the worker's handles), sessions, run_check,
                   results, time_limit, replay, example_cache, grader_key
    gradebook/     rows (results as rows, CSV, pivot) and store (the SQLite gradebook)
    feedback/      student_report: a student's results as a terminal table or HTML
    grading/       grade_class (one class loop for `grade` and `grade --nbgrader`), executor
                   (the one fan-out interface), local_check (`grader check`, `check()`), audit
    reports/       `grader report`: CSV, Excel, Gradescope, JUnit, HTML, plots, screenshots
    integrations/  nbgrader/ (release and grade through nbgrader), ci/ (`grader release
                   repo`, `grader ci`, `grader collect`, the workflows), hub (`grader release
                   hub`: the students' side of a JupyterHub)
    cli/           the `grader` command: commands, edition (which repository this copy is)
    printable.py   student text made inert for every sink (used by every layer)
    environment.py the lock file, and whether the installed packages match it
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "check"]


def check(*exercises: str, submission: str | None = None, hidden: bool = False):
    """Run the public checks of EXERCISES and return a report (HTML in Jupyter, text elsewhere).

    In a notebook that defines the exercise's functions, those definitions are checked;
    otherwise the files in `exercises/` (or in `submission`).
    """
    from grader.grading.local_check import check as _check

    return _check(*exercises, submission=submission, hidden=hidden, _caller_depth=2)
