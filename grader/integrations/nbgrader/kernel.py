"""What nbgrader's autograder test cells call inside the student's kernel.

This is nbgrader's own path, kept working on purpose: the checks run in the same process as
the student's code, so student code can change what they see (one line patching NumPy forges
full marks; `grader grade --nbgrader` runs the code in a sandboxed worker instead).

Where the checks come from: this module is the installed `grader` package (nbgrader starts
the grading kernel with the Python that runs nbgrader, so the package must be installed
there); the course it grades (course_config.py, tests/checks, solutions for the hidden
checks) is the copy `grader release nbgrader` put in COURSE_DIR/grader_course, which the
course's nbgrader_config.py names in $GRADER_COURSE_ROOT. A student running a public test
cell in their own Jupyter gets the course the package was installed from.

A failing check raises CheckFailed: nbgrader gives a cell with an error output zero points.
Anything written to stderr also zeroes a cell in nbgrader, so everything the checks and the
student's code print while they run is captured.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import warnings
from typing import Any

from grader.integrations.nbgrader.feedback import cell_text


class CheckFailed(Exception):
    """A check did not pass. IPython shows `_render_traceback_()` instead of a traceback."""

    def __init__(self, text: str) -> None:
        super().__init__(text.splitlines()[0] if text else "check failed")
        self.text = text

    def _render_traceback_(self) -> list[str]:
        return self.text.splitlines()


def run_checks(exercise_id: str, *names: str, namespace: dict[str, Any] | None = None) -> None:
    """Run the named checks of EXERCISE_ID on the functions the notebook defines (the
    caller's globals); print their feedback, or raise CheckFailed if one did not pass."""
    if namespace is None:
        frame = inspect.currentframe()
        caller = frame.f_back if frame is not None else None
        namespace = caller.f_globals if caller is not None else {}
    results = evaluate(exercise_id, names, namespace)
    text = cell_text(results)
    if all(r.passed for r in results):
        print(text)
        return
    raise CheckFailed(text)


def evaluate(exercise_id: str, names: tuple[str, ...], namespace: dict[str, Any]) -> list:
    from grader.authoring.checks import checks_for
    from grader.course.model import load_course
    from grader.engine.handle import Implementation
    from grader.engine.run_check import run_check

    _private_hypothesis_storage()
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exercise = load_course().exercise(exercise_id)
        hidden = any(name in exercise.hidden for name in names)
        checks = {c.name: c for c in checks_for(exercise_id, include_hidden=hidden)}
        unknown = [n for n in names if n not in checks]
        if unknown:
            from grader.course.model import CourseError

            raise CourseError(f"{exercise_id} has no check named {', '.join(unknown)}: the "
                              "notebook does not match the course (release it again)")
        impl = Implementation(exercise_id, namespace, source_file="<notebook>")
        return [run_check(checks[name], impl) for name in names]


_storage: list[str] = []


def _private_hypothesis_storage() -> None:
    """Hypothesis caches what it learns about the code (even with database=None) in
    ./.hypothesis: in nbgrader's autograde that is the student's autograded folder, which
    would then hold, and carry into the next grading, files the student's folder can plant.
    A fresh folder per kernel, removed when the kernel exits, keeps every run independent."""
    if _storage:
        return
    import atexit
    import shutil
    import tempfile

    from grader.authoring.hypothesis_compat import use_storage_dir

    folder = tempfile.mkdtemp(prefix="grader-hypothesis-")
    _storage.append(folder)
    use_storage_dir(folder)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
