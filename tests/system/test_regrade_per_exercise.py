"""A rerun of `grader grade` regrades only the exercises whose checks, reference or file changed."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from support import GRADER, ROOT, course_copy

from grader.course.model import load_course
from grader.gradebook.store import DB_COLUMNS

N_EXERCISES = len(load_course(ROOT).exercises)

pytestmark = pytest.mark.slow

# Three demo students: full marks, honest mistakes, broken files.
STUDENTS = ["ada_correct", "ben_mistakes", "eve_broken"]
COLUMNS = ", ".join(f'"{c}"' for c in [*DB_COLUMNS, "ordinal"])


def _grade(course: Path, root: Path, out: Path, cache: Path, *extra: str
           ) -> subprocess.CompletedProcess:
    # The course copy's own grader package: editing one of its scoring modules is a real edit.
    env = {**os.environ, "GRADER_COURSE_ROOT": str(course), "PYTHONPATH": str(course),
           "GRADER_CACHE_DIR": str(cache)}
    run = subprocess.run([str(GRADER), "grade", str(root), "--output", str(out), "--workers",
                          "2", *extra], cwd=course, env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return run


def _rows(out: Path) -> dict[tuple[str, str, str], tuple]:
    """Every stored row, whole (ordinal included), by (student, exercise, check)."""
    with sqlite3.connect(out / "gradebook.sqlite") as db:
        return {row[:3]: row for row in db.execute(f"SELECT {COLUMNS} FROM results")}


def _changed(before: dict, after: dict) -> set[str]:
    """The exercises with a row that is not byte-identical (or no longer, or newly, there)."""
    return {key[1] for key in before.keys() | after.keys() if before.get(key) != after.get(key)}


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def _keys(out: Path) -> dict[str, set[str]]:
    key = DB_COLUMNS.index("grader_key")
    found: dict[str, set[str]] = {}
    for row in _rows(out).values():
        found.setdefault(row[1], set()).add(row[key])
    return found


def test_a_change_to_one_exercise_regrades_that_exercise_only(tmp_path):
    course = course_copy(tmp_path)
    root = tmp_path / "class"
    for name in STUDENTS:
        shutil.copytree(ROOT / "demo" / "submissions" / name, root / name)
    out, cache = tmp_path / "out", tmp_path / "cache"

    _grade(course, root, out, cache)
    first = _rows(out)
    keys = _keys(out)
    # Each exercise's rows carry that exercise's key, one per exercise and all different.
    assert all(len(k) == 1 for k in keys.values()) and len(keys) == N_EXERCISES
    assert len(set().union(*keys.values())) == N_EXERCISES
    assert all(f"exercise {ex};" in next(iter(k)) for ex, k in keys.items())
    cached = set(cache.glob("known-examples-*.json"))
    assert len(cached) == 2 * N_EXERCISES  # one per check module

    # Nothing changed: nobody is graded.
    run = _grade(course, root, out, cache)
    assert "Graded 0 student(s)" in run.stdout and "3 unchanged" in run.stdout
    assert _rows(out) == first

    # One hidden check file of xor_net.
    _append(course / "tests" / "checks" / "hidden" / "test_xor_net.py", "\n# one more line\n")
    run = _grade(course, root, out, cache)
    second = _rows(out)
    assert _changed(first, second) == {"xor_net"}
    graded_at, key = DB_COLUMNS.index("graded_at"), DB_COLUMNS.index("grader_key")
    xor = [k for k in first if k[1] == "xor_net"]
    assert all(second[k][graded_at] > first[k][graded_at] for k in xor)
    assert {second[k][key] for k in xor} != {first[k][key] for k in xor}
    assert ("3 student(s) regraded for xor_net only (its checks, reference or settings "
            "changed).") in run.stdout
    # Its examples are drawn again, filed under its new key; the others' files are reused.
    now = set(cache.glob("known-examples-*.json"))
    assert cached < now and len(now - cached) == 2

    # The reference of linreg_gd.
    _append(course / "solutions" / "linreg_gd.py", "\n# a comment in the reference\n")
    run = _grade(course, root, out, cache)
    third = _rows(out)
    assert _changed(second, third) == {"linreg_gd"}
    assert "regraded for linreg_gd only" in run.stdout

    # The points of one check of softmax_ce in course_config.py.
    config = course / "course_config.py"
    text = config.read_text()
    assert text.count('"loss_pinned_values": 2') == 1
    config.write_text(text.replace('"loss_pinned_values": 2', '"loss_pinned_values": 3'))
    run = _grade(course, root, out, cache)
    fourth = _rows(out)
    assert _changed(third, fourth) == {"softmax_ce"}
    max_score = DB_COLUMNS.index("max_score")
    assert {r[max_score] for k, r in fourth.items() if k[2] == "loss_pinned_values"} == {3.0}

    # One student's file of one exercise: that student's exercise only.
    _append(root / "ada_correct" / "gradcheck.py", "\n# ada's afterthought\n")
    run = _grade(course, root, out, cache)
    fifth = _rows(out)
    assert {k[:2] for k in fourth.keys() | fifth.keys() if fourth.get(k) != fifth.get(k)} == {
        ("ada_correct", "gradcheck")}
    assert "1 student(s) regraded for a changed submission" in run.stdout
    assert "2 unchanged" in run.stdout

    # A scoring module of the grader: every exercise of every student.
    _append(course / "grader" / "authoring" / "expect.py", "\n# an edit\n")
    run = _grade(course, root, out, cache)
    sixth = _rows(out)
    assert all(sixth[k][graded_at] > fifth[k][graded_at] for k in fifth)
    assert "3 student(s) regraded in full" in run.stdout

    # --regrade: everything again, whatever changed.
    run = _grade(course, root, out, cache, "--regrade")
    assert all(r[graded_at] > sixth[k][graded_at] for k, r in _rows(out).items())
    assert "3 student(s) regraded in full (--regrade)." in run.stdout


def test_a_gradebook_of_the_previous_schema_opens_and_regrades_once(tmp_path):
    course = course_copy(tmp_path)
    root = tmp_path / "class"
    shutil.copytree(ROOT / "demo" / "submissions" / "ada_correct", root / "ada_correct")
    out, cache = tmp_path / "out", tmp_path / "cache"
    _grade(course, root, out, cache)
    # As schema 1 left it: no `exercises` table, one key for the student, rows numbered
    # 0, 1, 2... in course order.
    with sqlite3.connect(out / "gradebook.sqlite") as db:
        db.execute("DROP TABLE exercises")
        db.execute("UPDATE schema_version SET version = 1")
        db.execute('UPDATE results SET ordinal = (SELECT count(*) FROM results r WHERE '
                   'r."student" = results."student" AND r.ordinal < results.ordinal)')
    old = _rows(out)

    run = _grade(course, root, out, cache)
    assert "Graded 1 student(s)" in run.stdout
    assert "1 student(s) graded for the first time (or since the gradebook's format changed)" \
        in run.stdout
    new = _rows(out)
    assert new.keys() == old.keys()
    with sqlite3.connect(out / "gradebook.sqlite") as db:
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(2,)]
        assert db.execute("SELECT count(*) FROM exercises").fetchone() == (N_EXERCISES,)
    # Once: the next run has nothing to do.
    run = _grade(course, root, out, cache)
    assert "Graded 0 student(s)" in run.stdout and _rows(out) == new
