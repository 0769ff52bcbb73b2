"""A course is one object owning what derives from it; two courses never mix.

grader/course/model.py: a course is one object owning what is derived from it, so two courses in
one process never see each other's checks, references or grader key."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from grader.authoring.checks import checks_for
from grader.course.model import CourseError, load_course, reference
from grader.engine.grader_key import grader_key
from grader.integrations.nbgrader.coursedir import NbCourse, snapshot_course

ROOT = Path(__file__).resolve().parents[2]
MARK = "\nGRADER_TEST_MARK = 'the other course'\n"


def _other_course(tmp_path: Path) -> Path:
    """A copy of the course whose softmax_ce reference carries a mark."""
    copy = tmp_path / "other"
    for folder in ("tests/checks", "solutions"):
        shutil.copytree(ROOT / folder, copy / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "solutions" / "softmax_ce.py").write_text(
        (ROOT / "solutions" / "softmax_ce.py").read_text() + MARK)
    shutil.copy(ROOT / "course_config.py", copy / "course_config.py")
    return copy


def _module_of(check):
    """The globals of a check's own module (its body may be wrapped, as grader.engine.run_check
    does)."""
    body = check.hypothesis.inner_test
    while "ref" not in body.__globals__:
        body = next(c.cell_contents for c in body.__closure__ or ()
                    if callable(c.cell_contents))
    return body.__globals__


def test_another_course_is_another_object_with_its_own_checks_references_and_key(tmp_path):
    mine = load_course()
    mine_checks = checks_for("softmax_ce", True)
    mine_key = grader_key()
    other = load_course(_other_course(tmp_path))

    assert other is not mine and load_course(other.root) is other
    theirs = checks_for("softmax_ce", True, course=other)
    assert {c.name for c in theirs} == {c.name for c in mine_checks}
    assert not {id(c.function) for c in theirs} & {id(c.function) for c in mine_checks}
    # A hidden check's `reference(...)` at import is the reference of the course it belongs
    # to, whichever course the process grades.
    theirs_ref = _module_of(next(c.function for c in theirs if c.hidden))["ref"]
    assert getattr(theirs_ref, "GRADER_TEST_MARK", None) == "the other course"
    mine_ref = _module_of(next(c.function for c in mine_checks if c.hidden))["ref"]
    assert not hasattr(mine_ref, "GRADER_TEST_MARK")
    assert not hasattr(reference("softmax_ce"), "GRADER_TEST_MARK")
    assert other.reference("softmax_ce").GRADER_TEST_MARK == "the other course"
    # Loading another course changes nothing this process grades with.
    assert load_course() is mine and checks_for("softmax_ce", True) is mine_checks
    assert grader_key(other.root) != mine_key and grader_key() is mine_key


def test_the_nbgrader_snapshot_is_a_course_and_choosing_it_sets_no_environment(tmp_path):
    nb = NbCourse(root=tmp_path, course_id="c", db_url="sqlite://", source_dir="source",
                  release_dir="release", submitted_dir="submitted",
                  autograded_dir="autograded")
    with pytest.raises(CourseError, match="grader release nbgrader"):
        snapshot_course(nb)
    shutil.copytree(_other_course(tmp_path), nb.snapshot)
    before = dict(os.environ)
    course = snapshot_course(nb)
    assert course.root == nb.snapshot.resolve() and snapshot_course(nb) is course
    assert dict(os.environ) == before
    assert load_course() is not course


def test_audit_min_wrong_is_read_from_the_config_and_checked(tmp_path):
    assert load_course().audit_min_wrong == 5
    lenient = tmp_path / "lenient"
    lenient.mkdir()
    config = (ROOT / "course_config.py").read_text()
    (lenient / "course_config.py").write_text(config.replace("AUDIT_MIN_WRONG = 5",
                                                             "AUDIT_MIN_WRONG = 2"))
    assert load_course(lenient).audit_min_wrong == 2
    absent = tmp_path / "absent"
    absent.mkdir()
    (absent / "course_config.py").write_text(config.replace("AUDIT_MIN_WRONG = 5", ""))
    assert load_course(absent).audit_min_wrong == 5
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (wrong / "course_config.py").write_text(config.replace("AUDIT_MIN_WRONG = 5",
                                                           "AUDIT_MIN_WRONG = 'five'"))
    with pytest.raises(CourseError, match="AUDIT_MIN_WRONG must be a whole number"):
        load_course(wrong)
