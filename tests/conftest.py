"""pytest wiring for the course checks.

`pytest tests/checks` runs every check against the reference solutions (the instructor's
proof that they pass); `--submission DIR` runs them against a student's folder instead, e.g.
`pytest tests/checks/public --submission exercises`. A check that fails reports what
`grader check` says (what was checked, observed and expected, the likely mistake, the
smallest failing input), not the grader's traceback; an error the grader does not explain
(a bug of a check) keeps pytest's traceback. This file ships in the students' repository.
"""

from __future__ import annotations

import inspect
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.authoring.checks import use_profile
from grader.course.model import load_course
from grader.engine.in_process import load
from grader.engine.results import NOT_ATTEMPTED
from grader.engine.run_check import explain, record_inputs
from grader.printable import printable
from grader.submission.files import find_exercise_file

use_profile()


def pytest_configure(config: pytest.Config) -> None:
    # Known examples (grader.engine.example_cache) go to a folder of this session's own, not the
    # user's cache: the suite then also covers drawing them, and leaves nothing behind.
    if "GRADER_CACHE_DIR" not in os.environ:
        config._grader_cache_dir = tempfile.mkdtemp(prefix="grader-test-cache-")  # type: ignore[attr-defined]
        os.environ["GRADER_CACHE_DIR"] = config._grader_cache_dir  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = getattr(config, "_grader_cache_dir", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop("GRADER_CACHE_DIR", None)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--submission", default=None,
                     help="folder with the exercises to check (default: solutions/, or "
                          "exercises/ in a student's repository, which has no solutions/)")


@pytest.fixture(scope="module")
def impl(request: pytest.FixtureRequest):
    """The implementation under test for the exercise this check module is about."""
    exercise_id = Path(request.module.__file__).stem.removeprefix("test_")
    folder = request.config.getoption("--submission")
    course = load_course()
    if folder:
        folder = Path(folder)
    else:
        folder = course.solutions_dir if course.solutions_dir.is_dir() else course.exercises_dir
    path = find_exercise_file(folder, exercise_id)
    if path is None:
        pytest.fail(f"no {exercise_id}.py or {exercise_id}.ipynb in {folder}")
    return load(path, exercise_id)


def _is_check(item: pytest.Item) -> bool:
    """A graded check (tests/checks/{public,hidden}/), not a test of the engine."""
    return item.path.parent.parent.name == "checks" and "impl" in getattr(item, "fixturenames",
                                                                             ())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _is_check(item) and isinstance(item, pytest.Function):
            record_inputs(item.function)  # the smallest failing input, for the message


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is None or not report.failed or not _is_check(item):
        return
    explained = explain(call.excinfo.value)
    if explained is None:
        return
    status = explained.status if explained.attempted else NOT_ATTEMPTED
    message = explained.message
    doc = inspect.getdoc(getattr(item, "obj", None)) or ""
    statement = doc.splitlines()[0] if doc else ""
    # Messages quote student text: printable, as in every other report.
    text = printable("\n".join(
        [f"{status.upper()}: {item.name.removeprefix('test_')}: {statement}",
         *(f"    {line}" for line in message.splitlines())]))
    headline = printable(message.splitlines()[0] if message.strip() else statement)
    report.longrepr = _CheckReport(text, headline)


class _CheckReport:
    """A failed check as pytest prints it: the whole message in the failures section, and one
    line in the short summary. A plain string would be repeated whole in that summary wherever
    `CI` is set (pytest's CI mode), which is every student's GitHub Actions run."""

    def __init__(self, text: str, headline: str) -> None:
        self.text = text
        self.reprcrash = _Crash(headline)

    def toterminal(self, out) -> None:  # noqa: ANN001 - pytest's TerminalWriter
        for line in self.text.splitlines():
            out.line(line)

    def __str__(self) -> str:
        return self.text


class _Crash:
    """What pytest's short summary reads: `reprcrash.message`."""

    def __init__(self, message: str) -> None:
        self.message = message
