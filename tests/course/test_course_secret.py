"""The course secret: graded examples differ from local ones and never reach students.

The course secret: instructor grading's examples differ from students' local ones, stay
deterministic, and the secret itself reaches nothing released to students."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from support import GRADER, ROOT, course_copy

from grader.authoring import checks
from grader.course import secret as course_secret
from grader.course.model import load_course
from grader.engine.grader_key import grader_key
from grader.engine.replay import known_examples
from grader.integrations.ci.release import find_leaks, student_repo_files


@pytest.fixture
def restore_mode():
    yield
    checks.use_local_examples()


def _examples(exercise: str, course=None) -> list:
    return [repr(known_examples(c.function))
            for c in checks.checks_for(exercise, True, course=course)]


def _same_course_elsewhere(tmp_path):
    copy = tmp_path / "course"
    for folder in ("tests/checks", "solutions"):
        shutil.copytree(ROOT / folder, copy / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "course_config.py", copy / "course_config.py")
    return copy


def test_the_secret_changes_the_examples_and_the_key_and_nothing_else(restore_mode,
                                                                      monkeypatch, tmp_path):
    local = _examples("linreg_gd")
    local_key = grader_key()
    monkeypatch.setenv(course_secret.ENV, "x" * 32)
    fingerprint = checks.use_course_secret()
    assert fingerprint == course_secret.fingerprint("x" * 32)
    graded = _examples("linreg_gd")
    assert graded != local and len(graded) == len(local)
    assert grader_key() != local_key
    # Deterministic for one secret: the same checks imported again (another Course object)
    # and their examples drawn again (no cache) give the same examples.
    elsewhere = load_course(_same_course_elsewhere(tmp_path))
    monkeypatch.setenv("GRADER_CACHE_DIR", "")
    assert _examples("linreg_gd", elsewhere) == graded
    monkeypatch.setenv(course_secret.ENV, "y" * 32)
    checks.use_course_secret()
    assert _examples("linreg_gd") not in (graded, local)


def test_a_short_secret_is_refused(monkeypatch, restore_mode):
    monkeypatch.setenv(course_secret.ENV, "short")
    with pytest.raises(course_secret.SecretError, match="at least 16"):
        checks.use_course_secret()


def test_grader_secret_creates_one_and_never_replaces_it(tmp_path):
    course = course_copy(tmp_path)
    (course / course_secret.FILENAME).unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k != course_secret.ENV}
    env["GRADER_COURSE_ROOT"] = str(course)
    first = subprocess.run([str(GRADER), "secret"], cwd=course, env=env, capture_output=True,
                           text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    written = (course / course_secret.FILENAME).read_text()
    assert (course / course_secret.FILENAME).stat().st_mode & 0o777 == 0o600
    again = subprocess.run([str(GRADER), "secret"], cwd=course, env=env, capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 1 and "exists already" in again.stderr
    assert (course / course_secret.FILENAME).read_text() == written


def test_the_student_repository_never_holds_the_secret():
    course = load_course()
    secret = course_secret.read(course.root)
    assert secret is not None, "the demo course has a secret"
    files = student_repo_files(course)
    assert not any(secret.encode() in content for content in files.values())
    assert find_leaks(files, course) == []
    files["notes/course_secret.txt"] = b"anything"
    files["grader/oops.py"] = f"SECRET = {secret!r}\n".encode()
    leaks = find_leaks(files, course)
    assert "notes/course_secret.txt: holds the course secret" in leaks
    assert "grader/oops.py: holds the course secret" in leaks
