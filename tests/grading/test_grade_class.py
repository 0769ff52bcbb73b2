"""`grader grade ROOT --output OUT` end to end, on a class of students built in tmp_path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import hypothesis
import numpy as np
import pandas as pd
import pytest
from support import FIXTURE_COURSE, using_course

from grader import __version__
from grader.authoring.checks import checks_for
from grader.course.model import load_course
from grader.course.stubs import strip_markers
from grader.engine.results import STATUSES

ROOT = Path(__file__).resolve().parents[2]
GRADER = ROOT / ".venv" / "bin" / "grader"
# The class is graded on the fixture course (its exercises dot_product and vector_scale), so a
# change of the real course never breaks a test of the class loop.
ENV = {**os.environ, "GRADER_COURSE_ROOT": str(FIXTURE_COURSE)}
REQUIRED = ["student", "exercise", "check", "score", "max_score", "status", "message",
            "seed", "grader_version"]


@pytest.fixture(scope="module", autouse=True)
def fixture_course():
    with using_course(FIXTURE_COURSE) as course:
        yield course


def grader(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(GRADER), *args], cwd=ROOT, env=ENV, capture_output=True,
                          text=True, timeout=300)


def solution(ex_id: str) -> str:
    return strip_markers((FIXTURE_COURSE / "solutions" / f"{ex_id}.py").read_text())


def _write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)


def build_class(root: Path) -> None:
    course = load_course()
    for ex_id in course.exercises:
        _write(root / "correct" / f"{ex_id}.py", solution(ex_id))
    # the right files, in the exercises/ subfolder
    _write(root / "in_subfolder" / "exercises" / "vector_scale.py", solution("vector_scale"))
    _write(root / "syntax" / "vector_scale.py", solution("vector_scale"))
    _write(root / "syntax" / "dot_product.py", "import numpy as np\n\ndef dot(u, v)\n"
                                               "    return 0.0\n")
    _write(root / "bad_notebook" / "vector_scale.ipynb", '{"cells": [{"cell_type": "code",')
    (root / "empty").mkdir()
    _write(root / "latin1" / "vector_scale.py", b"\xff\xfe def f(): pass")
    # a wrong signature in one exercise; the other is right
    _write(root / "signature" / "vector_scale.py",
           solution("vector_scale") + "\n\ndef scale(v):\n    return 2 * v\n")
    _write(root / "signature" / "dot_product.py", solution("dot_product"))
    _write(root / "nan" / "dot_product.py",
           solution("dot_product") + "\n\ndef dot(u, v):\n    return float('nan')\n")
    _write(root / ".ipynb_checkpoints" / "vector_scale.py", "raise SystemExit\n")  # not a student
    _write(root / "README.txt", "not a student either")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("submissions")
    out = tmp_path_factory.mktemp("out")
    build_class(root)
    run = grader("grade", str(root), "--output", str(out))
    assert run.returncode == 0, run.stdout + run.stderr
    frame = pd.read_csv(out / "gradebook.csv", keep_default_na=False)
    return run, frame


STUDENTS = ["bad_notebook", "correct", "empty", "in_subfolder", "latin1", "nan", "signature",
            "syntax"]


def _rows(frame: pd.DataFrame, student: str, exercise: str) -> pd.DataFrame:
    return frame[(frame.student == student) & (frame.exercise == exercise)]


def test_gradebook_has_the_columns(graded):
    _, frame = graded
    assert [c for c in REQUIRED if c not in frame.columns] == []
    course = load_course()
    assert set(frame.seed) == {course.seed}
    assert set(frame.grader_version.astype(str)) == {__version__}
    assert set(frame.hypothesis_version.astype(str)) == {hypothesis.__version__}
    assert set(frame.numpy_version.astype(str)) == {np.__version__}
    assert set(frame.status) <= set(STATUSES)
    assert (frame.score <= frame.max_score).all()
    assert (frame[frame.status != "passed"].score == 0).all()
    passed = frame[frame.status == "passed"]
    assert (passed.score == passed.max_score).all()


def test_one_row_per_student_exercise_and_check(graded):
    _, frame = graded
    expected = {(student, ex_id, check.name)
                for student in STUDENTS
                for ex_id in load_course().exercises
                for check in checks_for(ex_id, include_hidden=True)}
    got = list(zip(frame.student, frame.exercise, frame.check))
    assert len(got) == len(set(got))  # no duplicates
    assert set(got) == expected
    assert sorted(set(frame.student)) == STUDENTS  # dot-folders and files are not students


def test_the_correct_students_get_full_marks_on_vector_scale(graded):
    _, frame = graded
    for student in ("correct", "in_subfolder"):
        rows = _rows(frame, student, "vector_scale")
        assert len(rows) == len(checks_for("vector_scale", include_hidden=True))
        assert (rows.status == "passed").all(), rows.message.tolist()
        assert rows.score.sum() == load_course().exercise("vector_scale").points


def test_missing_exercises_are_missing_with_zero(graded):
    _, frame = graded
    for ex_id in load_course().exercises:
        rows = _rows(frame, "empty", ex_id)
        assert (rows.status == "missing").all()
        assert (rows.score == 0).all()
        assert all(f"No {ex_id}.py or {ex_id}.ipynb was submitted." == m for m in rows.message)
    rows = frame[(frame.student == "in_subfolder") & (frame.exercise != "vector_scale")]
    assert len(rows) and (rows.status == "missing").all()


def test_a_syntax_error_in_one_exercise_does_not_stop_the_others(graded):
    _, frame = graded
    rows = _rows(frame, "syntax", "dot_product")
    assert len(rows) and (rows.status == "error").all()
    assert all("dot_product.py has a syntax error at line 3" in m for m in rows.message)
    assert (_rows(frame, "syntax", "vector_scale").status == "passed").all()


def test_unloadable_files_are_errors_with_a_clear_message(graded):
    _, frame = graded
    rows = _rows(frame, "bad_notebook", "vector_scale")
    assert len(rows) and (rows.status == "bad_file").all()
    assert all("is not a valid notebook: it is not JSON" in m for m in rows.message)
    rows = _rows(frame, "latin1", "vector_scale")
    assert len(rows) and (rows.status == "bad_file").all()
    assert all("not UTF-8" in m for m in rows.message)


def test_a_wrong_signature_is_an_error_naming_the_signature(graded):
    _, frame = graded
    rows = _rows(frame, "signature", "vector_scale")
    pinned = rows[rows.check == "scale_pinned_values"]
    assert pinned.status.tolist() == ["error"]
    assert "could not be called as the exercise specifies" in pinned.message.iloc[0]
    assert len(rows) and (rows.status == "error").all() and (rows.score == 0).all()
    # the student's other exercise is fine
    assert (_rows(frame, "signature", "dot_product").status == "passed").all()
    rows = frame[frame.student == "signature"]
    assert 0 < rows.score.sum() < rows.max_score.sum()


def test_nan_results_fail_and_say_so(graded):
    _, frame = graded
    rows = _rows(frame, "nan", "dot_product")
    pinned = rows[rows.check == "dot_pinned_values"]
    assert pinned.status.tolist() == ["failed"]
    assert "dot([1, 2, 3], [4, 5, 6]) is nan, expected a finite number" in pinned.message.iloc[0]
    hidden = rows[rows.check == "dot_matches_reference"]
    assert hidden.status.tolist() == ["failed"]
    assert hidden.message.iloc[0].startswith("Hidden check failed:")


def test_grade_prints_progress_and_totals(graded):
    run, _ = graded
    assert "grading:" in run.stderr and "8/8" in run.stderr  # a progress bar with counts
    assert "Gradebook:" in run.stdout and "Isolation:" in run.stdout
    assert "correct" in run.stdout and "total" in run.stdout


def test_grade_of_a_file_fails_with_a_clear_message(tmp_path):
    root = tmp_path / "submissions.zip"
    root.write_bytes(b"PK")
    run = grader("grade", str(root), "--output", str(tmp_path / "out"))
    assert run.returncode != 0
    assert "is not a folder of student folders" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "out" / "gradebook.csv").exists()


def test_grade_of_a_missing_root_fails_with_a_clear_message(tmp_path):
    run = grader("grade", str(tmp_path / "nowhere"), "--output", str(tmp_path / "out"))
    assert run.returncode != 0
    assert "is not a folder of student folders" in run.stderr


def test_grade_of_an_empty_root_writes_only_the_header(tmp_path):
    (tmp_path / "root").mkdir()
    run = grader("grade", str(tmp_path / "root"), "--output", str(tmp_path / "out"))
    assert run.returncode == 0, run.stderr
    lines = (tmp_path / "out" / "gradebook.csv").read_text().splitlines()
    assert len(lines) == 1
    assert [c for c in REQUIRED if c not in lines[0].split(",")] == []
    assert "No student folders found." in run.stdout


def test_grade_survives_a_malformed_notebook(tmp_path):
    """A notebook whose `worksheets` is not a list of cell lists (a TypeError deep in
    grader/submission/notebook.py) costs that exercise alone: `bad_file`, "not a valid notebook";
    the student's other exercises keep their own status (here `missing`), not "The grader failed
    on this submission", and the next student is graded as usual."""
    root = tmp_path / "root"
    _write(root / "a_broken" / "vector_scale.ipynb", json.dumps({"worksheets": 5}))
    shutil.copytree(FIXTURE_COURSE / "exercises", root / "b_untouched")
    run = grader("grade", str(root), "--output", str(tmp_path / "out"), "--quiet")
    assert run.returncode == 0, run.stderr[-2000:]
    frame = pd.read_csv(tmp_path / "out" / "gradebook.csv", keep_default_na=False)
    assert set(frame.student) == {"a_broken", "b_untouched"}
    broken = _rows(frame, "a_broken", "vector_scale")
    assert len(broken) and (broken.status == "bad_file").all()
    assert all("not a valid notebook" in m for m in broken.message)
    others = frame[(frame.student == "a_broken") & (frame.exercise != "vector_scale")]
    assert len(others) and (others.status == "missing").all()


def test_grade_enforces_the_time_limit_of_an_exercise(tmp_path):
    """One student's endless loop must not hang `grader grade` for the whole class. Here the
    limit is lowered to 1 s in a copy of the course; the grader must finish within 3 s of twice
    the time it takes for a student without the loop (at least 8 s: what the machine's load
    adds to start-up, it adds to both), with status "timeout" for what the loop cut off."""
    course = tmp_path / "course"
    shutil.copytree(FIXTURE_COURSE, course,
                    ignore=shutil.ignore_patterns("__pycache__", ".hypothesis"))
    config = (FIXTURE_COURSE / "course_config.py").read_text()
    assert '"time_limit_s": 20' in config
    (course / "course_config.py").write_text(config.replace('"time_limit_s": 20',
                                                            '"time_limit_s": 1'))
    root = tmp_path / "root"
    _write(root / "looper" / "vector_scale.py",
           solution("vector_scale") + "\n\ndef scale(v, c):\n    while True:\n        pass\n")
    env = {**os.environ, "GRADER_COURSE_ROOT": str(course)}
    honest = tmp_path / "honest"
    _write(honest / "ada" / "vector_scale.py", solution("vector_scale"))
    start = time.monotonic()
    subprocess.run([str(GRADER), "grade", str(honest), "--output", str(tmp_path / "out0"),
                    "--quiet"], cwd=course, env=env, capture_output=True, check=True,
                   timeout=120)
    bound = max(8.0, 2 * (time.monotonic() - start) + 3)
    try:
        run = subprocess.run([str(GRADER), "grade", str(root), "--output", str(tmp_path / "out"),
                              "--quiet"], cwd=course, env=env, capture_output=True, text=True,
                             timeout=bound)
    except subprocess.TimeoutExpired:
        pytest.fail(f"grader grade was still running after {bound:.1f} s with a 1 s time limit")
    assert run.returncode == 0, run.stderr[-2000:]
    frame = pd.read_csv(tmp_path / "out" / "gradebook.csv", keep_default_na=False)
    rows = _rows(frame, "looper", "vector_scale")
    looping = rows[rows.check == "scale_pinned_values"]
    assert looping.status.tolist() == ["timeout"]
    assert "time limit of 1 s" in looping.message.iloc[0]
    assert (rows.score == 0).all()


def test_a_grading_pool_starts_its_processes_before_it_gets_a_job(tmp_path):
    # Started before the setup of a run, the processes load the checks meanwhile; they must
    # exist (and be warm) before the first student is handed over.
    import time

    from grader.grading.grade_class import GradingPool, Job

    with GradingPool(2) as pool:
        time.sleep(0.5)
        processes = list(pool._pool._processes.values())
        assert len(processes) == 2 and all(p.is_alive() for p in processes)
        (tmp_path / "s").mkdir()
        results = list(pool.results([Job("s", str(tmp_path / "s"), "h")]))
    assert [r["student"] for r in results] == ["s"]
    assert {row["status"] for row in results[0]["rows"]} == {"missing"}
    assert not any(p.is_alive() for p in processes)


def test_a_partial_regrade_keeps_the_earlier_output_log(tmp_path):
    """A student graded whole has worker.log; regrading one changed exercise adds that run's
    own log and leaves the earlier one, whose output of the other exercise is nowhere else;
    grading whole again leaves worker.log alone."""
    root, out = tmp_path / "class", tmp_path / "out"

    def talking(ex_id: str, version: str) -> str:
        """The reference, each of whose functions prints a line when a check calls it (what
        a file prints while it loads is not logged)."""
        text = solution(ex_id)
        for fn in load_course().exercises[ex_id].functions:
            text += (f"\n_{fn} = {fn}\n\n\ndef {fn}(*args):\n"
                     f"    print('called {ex_id}, {version} version')\n"
                     f"    return _{fn}(*args)\n")
        return text

    for ex_id in load_course().exercises:
        _write(root / "talker" / f"{ex_id}.py", talking(ex_id, "first"))
    assert grader("grade", str(root), "--output", str(out), "--quiet").returncode == 0
    logs = out / "worker-logs" / "talker"
    assert sorted(p.name for p in logs.iterdir()) == ["worker.log"]
    first = (logs / "worker.log").read_text()
    assert "called dot_product, first version" in first
    assert "called vector_scale, first version" in first

    _write(root / "talker" / "vector_scale.py", talking("vector_scale", "second"))
    assert grader("grade", str(root), "--output", str(out), "--quiet").returncode == 0
    assert sorted(p.name for p in logs.iterdir()) == ["worker-vector_scale.log", "worker.log"]
    assert (logs / "worker.log").read_text() == first
    partial = (logs / "worker-vector_scale.log").read_text()
    assert "(regraded: vector_scale)" in partial
    assert "second version" in partial and "dot_product" not in partial

    assert grader("grade", str(root), "--output", str(out), "--quiet", "--regrade"
                  ).returncode == 0
    assert sorted(p.name for p in logs.iterdir()) == ["worker.log"]
    whole = (logs / "worker.log").read_text()
    assert "called dot_product, first version" in whole
    assert "called vector_scale, second version" in whole
