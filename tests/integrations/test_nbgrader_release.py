"""`grader release nbgrader` over a submitted-to course changes nothing nbgrader refuses.

`grader release nbgrader` over a course students have submitted to: a release nbgrader
would refuse changes nothing (the whole COURSE_DIR, hashed), and `--update` gives grading new
check code and points while the notebooks and cells students have stay.

One exercise (softmax_ce) keeps each real `nbgrader generate_assignment` short; the submission
is recorded by nbgrader's own Gradebook API, as `nbgrader collect`/autograde would."""

from __future__ import annotations

import ast
import hashlib
import os
import subprocess
import warnings
from pathlib import Path

import pytest
from support import course_copy

from grader.integrations.nbgrader.release import release_nbgrader

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
GRADER = ROOT / ".venv" / "bin" / "grader"
ASSIGNMENT = "ps1"


def tree(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file and folder under FOLDER: its mode and, for a file, its content's hash."""
    found = {}
    for path in sorted(folder.rglob("*")):
        mode = path.lstat().st_mode
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        found[str(path.relative_to(folder))] = (mode, digest)
    return found


@pytest.fixture(scope="module")
def submitted(tmp_path_factory) -> Path:
    """A course released with softmax_ce, one student of which has submitted."""
    from nbgrader.api import Gradebook

    course_dir = tmp_path_factory.mktemp("submitted") / "course"
    release_nbgrader(course_dir, assignment=ASSIGNMENT, exercises=["softmax_ce"],
                     students=["alice"])
    with warnings.catch_warnings(), \
            Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}", "backprop") as gb:
        warnings.simplefilter("ignore")  # SQLAlchemy's autoflush notes, inside nbgrader
        gb.add_submission(ASSIGNMENT, "alice")
    return course_dir


def changed_course(tmp_path: Path, old: str, new: str) -> Path:
    root = course_copy(tmp_path)
    config = root / "course_config.py"
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new, 1))
    return root


def course_without_a_check(tmp_path: Path, name: str = "gradient_rows_sum_to_zero") -> Path:
    """A copy of the course whose softmax_ce has one public check fewer (points and test)."""
    root = changed_course(tmp_path, f'"{name}": 1,', "")
    checks = root / "tests" / "checks" / "public" / "test_softmax_ce.py"
    source = checks.read_text()
    test = next(node for node in ast.parse(source).body
                if isinstance(node, ast.FunctionDef) and node.name == f"test_{name}")
    first = min([test.lineno, *(d.lineno for d in test.decorator_list)])
    lines = source.splitlines(keepends=True)
    checks.write_text("".join(lines[:first - 1] + lines[test.end_lineno:]))
    return root


def release(course_dir: Path, *extra: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "GRADER_COURSE_ROOT"}
    return subprocess.run([str(GRADER), "release", "nbgrader", str(course_dir), "--assignment",
                           ASSIGNMENT, "--exercise", "softmax_ce", *extra], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_a_release_over_submissions_is_refused_before_anything_changes(submitted):
    before = tree(submitted)
    run = release(submitted)
    assert run.returncode == 1
    message = run.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert "1 submission(s)" in message and "nothing was changed" in message
    assert f"grader release nbgrader {submitted} --assignment {ASSIGNMENT} --update" in message
    assert tree(submitted) == before


def test_what_nbgrader_refuses_halfway_leaves_the_course_exactly_as_it_was(submitted, tmp_path):
    """With our own check first switched off, nbgrader itself refuses (a check removed from a
    notebook with submissions), in the staging folder: COURSE_DIR is untouched."""
    root = course_without_a_check(tmp_path)
    before = tree(submitted)
    script = f"""
import sys
import grader.integrations.nbgrader.release as release
release._check_submissions = lambda *args, **kwargs: None
from grader.cli.commands import main
sys.exit(main(["release", "nbgrader", {str(submitted)!r}, "--assignment", {ASSIGNMENT!r},
               "--exercise", "softmax_ce"]))
"""
    env = {k: v for k, v in os.environ.items() if k != "GRADER_COURSE_ROOT"}
    run = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", script], cwd=root,
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Cannot add or remove cells" in run.stderr
    assert tree(submitted) == before


def test_update_refuses_a_changed_set_of_checks_and_says_what_to_do(submitted, tmp_path):
    root = course_without_a_check(tmp_path)
    before = tree(submitted)
    run = release(submitted, "--update", cwd=root)
    assert run.returncode == 1
    message = run.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert "-test_gradient_rows_sum_to_zero" in message and "--assignment NAME" in message
    assert tree(submitted) == before


def test_update_changes_points_for_grading_and_leaves_what_students_have(submitted, tmp_path):
    root = changed_course(tmp_path, '"inputs_not_modified": 1,', '"inputs_not_modified": 4,')
    exchange = tree(submitted / "exchange")
    run = release(submitted, "--update", cwd=root)
    assert run.returncode == 0, run.stderr
    assert "the exchange and the students' notebooks are as they were" in run.stdout
    assert tree(submitted / "exchange") == exchange
    assert '"inputs_not_modified": 4' in (submitted / "grader_course" /
                                          "course_config.py").read_text()
    # grade --nbgrader's own check of the assignment against nbgrader's gradebook passes, and
    # the gradebook still holds the submission.
    script = f"""
from grader.integrations.nbgrader.coursedir import read_course
from grader.integrations.nbgrader.grade import check_against_gradebook, released_assignment
from nbgrader.api import Gradebook
course = read_course({str(submitted)!r})
check_against_gradebook(released_assignment(course, {ASSIGNMENT!r}))
with Gradebook(course.db_url, course.course_id) as gb:
    notebook = gb.find_notebook("softmax_ce", {ASSIGNMENT!r})
    cells = {{c.name: c.max_score for c in notebook.grade_cells}}
    print(len(gb.find_assignment({ASSIGNMENT!r}).submissions), cells["test_inputs_not_modified"])
"""
    check = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", script],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr
    assert check.stdout.split() == ["1", "4.0"]
    assert not [p for p in submitted.iterdir() if p.name.startswith(".grader-release-")]
