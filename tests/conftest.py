"""pytest wiring for the course checks.

`pytest tests/checks` runs every check against the reference solutions (the instructor's
proof that they pass); `--submission DIR` runs them against a student's folder instead, e.g.
`pytest tests/checks/public --submission exercises`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from grader.checks import use_profile
from grader.course import load_course
from grader.submission import find_exercise_file, load

use_profile()


def pytest_configure(config: pytest.Config) -> None:
    # Known examples (grader.example_cache) go to a folder of this session's own, not the
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
