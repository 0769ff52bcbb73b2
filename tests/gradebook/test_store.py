"""The SQLite gradebook keeps every committed student, whatever happens to the process.

The SQLite gradebook: round trips, order, replacement, resume, hostile names, atomicity,
kill -9, submission hashes and the DataFrame views. Real files in tmp_path, no mocks."""

from __future__ import annotations

import inspect
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from grader.course.model import load_course
from grader.engine.grader_key import grader_key
from grader.gradebook.rows import COLUMNS, totals
from grader.gradebook.store import (
    DB_COLUMNS,
    FILENAME,
    Gradebook,
    GradebookError,
    Graded,
    load_dataframe,
    pivot,
)
from grader.printable import printable
from grader.submission.identity import submission_hash

ROOT = Path(__file__).resolve().parents[2]
KEY = "grader test; course test; sha256 0"

HOSTILE_NAMES = [
    "with spaces", "  leading and trailing  ", "ünïcödé 学生 🙂", "new\nline", "tab\there",
    "quote's", 'double"quote', "=HYPERLINK(\"http://x\")", "+1+1", "-2", "@SUM(A1)",
    "'); DROP TABLE results;--", '"; DROP TABLE students; --', "Robert'); DELETE FROM results",
    "(max)", "nan", "NULL", "None", "", "%s %d ?", "back\\slash", "nul\0byte",
]


def make_rows(student: str, exercises: dict[str, int],
              message: str | None = None) -> list[dict]:
    """Gradebook rows (gradebook.COLUMNS) like grade.py makes: exercises in the order given,
    checks c0, c1, ... scoring 0, 1, 2, 0, ... out of 2."""
    return [{"student": student, "exercise": ex, "check": f"c{j}", "score": float(j % 3),
             "max_score": 2.0, "status": "passed" if j % 3 == 2 else "failed",
             "message": f"{ex}/{j}" if message is None else message,
             "hidden": j % 2 == 1, "duration_s": 0.25 * j,
             "seed": 20261122, "grader_version": "0.1.0", "course_version": "2026.1",
             "hypothesis_version": "6.0", "numpy_version": "2.0"}
            for ex, n in exercises.items() for j in range(n)]


def as_given(rows: list[dict]) -> list[dict]:
    return [{c: r[c] for c in COLUMNS} for r in rows]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "out" / FILENAME


# --------------------------------------------------------------------------------------------
# The database


def test_round_trip_keeps_every_value_and_type(db):
    given = make_rows("ada", {"softmax_ce": 3, "gradcheck": 2})
    with Gradebook(db) as book:
        book.record_student("ada", "h1", KEY, "process", given)
    with Gradebook(db) as book:
        got = book.rows()
        assert book.students() == ["ada"]
    assert as_given(got) == given
    assert [type(r["hidden"]) for r in got] == [bool] * len(given)
    assert all(isinstance(r["score"], float) and isinstance(r["seed"], int) for r in got)
    assert {(r["submission_hash"], r["grader_key"], r["isolation"]) for r in got} == {
        ("h1", KEY, "process")}
    stamp = got[0]["graded_at"]
    assert stamp.endswith("+00:00") and pd.Timestamp(stamp).tzinfo is not None
    assert list(got[0]) == DB_COLUMNS


def test_rows_come_back_by_student_then_in_the_order_recorded(db):
    course_order = {"xor_net": 2, "softmax_ce": 3, "linreg_gd": 1}  # not alphabetical
    names = ["zed", "Émile", "adam", "Adam", "émile", "bob"]
    with Gradebook(db) as book:
        for name in names:
            book.record_student(name, "h", KEY, "none", make_rows(name, course_order))
        first = book.rows()
    with Gradebook(db) as book:
        assert book.rows() == first  # the same on reopening
        assert book.students() == sorted(names)
    assert [r["student"] for r in first] == [n for n in sorted(names) for _ in range(6)]
    for name in names:
        mine = [(r["exercise"], r["check"]) for r in first if r["student"] == name]
        assert mine == [(r["exercise"], r["check"]) for r in make_rows(name, course_order)]


def test_recording_a_student_again_replaces_their_rows(db):
    with Gradebook(db) as book:
        book.record_student("ada", "h1", KEY, "none", make_rows("ada", {"a": 4, "b": 4}))
        book.record_student("bob", "h1", KEY, "none", make_rows("bob", {"a": 2}))
        book.record_student("ada", "h2", KEY, "none", make_rows("ada", {"a": 1}, "second"))
        rows = book.rows()
        assert book.student_info("ada")["n_rows"] == 1
        assert book.verify() == []
    ada = [r for r in rows if r["student"] == "ada"]
    assert [(r["exercise"], r["check"], r["message"], r["submission_hash"]) for r in ada] == [
        ("a", "c0", "second", "h2")]
    assert len([r for r in rows if r["student"] == "bob"]) == 2
    keys = [(r["student"], r["exercise"], r["check"]) for r in rows]
    assert len(keys) == len(set(keys))


def test_is_current_only_for_the_same_submission_and_grader(db):
    with Gradebook(db) as book:
        assert not book.is_current("ada", "h1", KEY)
        book.record_student("ada", "h1", KEY, "none", make_rows("ada", {"a": 2}))
        assert book.is_current("ada", "h1", KEY)
        assert not book.is_current("ada", "h2", KEY)
        assert not book.is_current("ada", "h1", KEY + " changed")
        assert not book.is_current("bob", "h1", KEY)
        book.record_student("ada", "h2", KEY, "none", make_rows("ada", {"a": 2}))
        assert book.is_current("ada", "h2", KEY) and not book.is_current("ada", "h1", KEY)
        book.forget("ada")
        assert not book.is_current("ada", "h2", KEY) and book.rows() == []


def test_grading_some_exercises_again_keeps_the_others_rows_untouched_and_in_place(db):
    order = {"xor_net": 2, "softmax_ce": 3, "linreg_gd": 2}  # not alphabetical
    graded = {ex: Graded(f"h-{ex}", f"k-{ex}") for ex in order}
    with Gradebook(db) as book:
        book.record_student("ada", "h1", KEY, "none", make_rows("ada", order), graded=graded)
        book.record_student("bob", "h1", KEY, "none", make_rows("bob", {"xor_net": 1}),
                            graded={"xor_net": Graded("b", "k-xor_net")})
        assert book.current_exercises("ada") == graded
        first = book.rows()
        # softmax_ce again, with one check more and a new key: in its place, nothing else
        # touched.
        again = {"softmax_ce": Graded("h-softmax_ce", "k2")}
        book.record_student("ada", "h2", KEY, "none",
                            make_rows("ada", {"softmax_ce": 4}, "again"), graded=again,
                            kept=["xor_net", "linreg_gd"])
        second = book.rows()
        assert book.current_exercises("ada") == {**graded, **again}
        assert book.student_info("ada")["n_rows"] == 8 and book.verify() == []
        with pytest.raises(ValueError, match="not among those graded"):
            book.record_student("ada", "h3", KEY, "none", make_rows("ada", {"xor_net": 1}),
                                graded=again, kept=["linreg_gd"])
        assert book.rows() == second
    ada = [r for r in second if r["student"] == "ada"]
    assert [(r["exercise"], r["check"]) for r in ada] == [
        (ex, f"c{j}") for ex, n in {**order, "softmax_ce": 4}.items() for j in range(n)]
    kept = [r for r in first if r["student"] == "bob" or r["exercise"] != "softmax_ce"]
    assert [r for r in second if r["student"] == "bob" or r["exercise"] != "softmax_ce"] == kept
    new = [r for r in ada if r["exercise"] == "softmax_ce"]
    assert {(r["message"], r["submission_hash"], r["grader_key"]) for r in new} == {
        ("again", "h-softmax_ce", "k2")}
    assert {r["grader_key"] for r in ada if r["exercise"] == "xor_net"} == {"k-xor_net"}
    # Without KEPT, everything of the student is replaced: an exercise left out is gone.
    with Gradebook(db) as book:
        book.record_student("ada", "h3", KEY, "none", make_rows("ada", {"linreg_gd": 1}),
                            graded={"linreg_gd": Graded("x", "y")})
        assert book.current_exercises("ada") == {"linreg_gd": Graded("x", "y")}
        assert {r["exercise"] for r in book.rows() if r["student"] == "ada"} == {"linreg_gd"}


def test_an_exercise_whose_rows_are_not_whole_is_not_current(db):
    with Gradebook(db) as book:
        book.record_student("ada", "h", KEY, "none", make_rows("ada", {"a": 2, "b": 2}),
                            graded={"a": Graded("ha", "ka"), "b": Graded("hb", "kb")})
    with sqlite3.connect(db) as raw:
        raw.execute('DELETE FROM results WHERE "exercise" = ? AND "check" = ?', ("b", "c1"))
    with Gradebook(db) as book:
        assert book.current_exercises("ada") == {"a": Graded("ha", "ka")}


def test_a_gradebook_of_schema_1_opens_and_its_students_are_current_for_no_exercise(db):
    with Gradebook(db) as book:
        book.record_student("ada", "h", KEY, "none", make_rows("ada", {"a": 2}),
                            graded={"a": Graded("ha", "ka")})
    with sqlite3.connect(db) as raw:  # schema 1 had no exercises table
        raw.execute("DROP TABLE exercises")
        raw.execute("UPDATE schema_version SET version = 1")
    with Gradebook(db) as book:
        assert book.current_exercises("ada") == {}
        assert [r["check"] for r in book.rows()] == ["c0", "c1"]
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT version FROM schema_version").fetchall() == [(2,)]


def test_hostile_names_and_messages_survive_exactly(db):
    with Gradebook(db) as book:
        for i, name in enumerate(HOSTILE_NAMES):
            rows = make_rows(name, {name or "ex": 2}, message=HOSTILE_NAMES[-1 - i])
            for row in rows:
                row["check"] = name + row["check"]
            book.record_student(name, name, KEY, name, rows)
        for name in HOSTILE_NAMES:
            assert book.is_current(name, name, KEY)
        assert book.students() == sorted(HOSTILE_NAMES)
        got = book.rows()
        assert book.verify() == []
    assert len(got) == 2 * len(HOSTILE_NAMES)  # the tables survived the "DROP TABLE" names
    for i, name in enumerate(HOSTILE_NAMES):
        mine = [r for r in got if r["student"] == name]
        assert [r["check"] for r in mine] == [name + "c0", name + "c1"]
        # Names are keys, kept exactly; a message is stored printable (no tab, no NUL).
        assert {(r["exercise"], r["message"], r["submission_hash"], r["isolation"])
                for r in mine} == {(name or "ex", printable(HOSTILE_NAMES[-1 - i]), name, name)}
    tables = sqlite3.connect(db).execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert sorted(t for (t,) in tables) == ["exercises", "results", "schema_version",
                                            "students", "submissions"]


def test_text_utf8_cannot_encode_is_stored_escaped_instead_of_failing(db):
    folder_name = os.fsdecode(b"caf\xe9")  # a folder name that is not UTF-8
    assert folder_name == "caf\udce9"
    with Gradebook(db) as book:
        book.record_student(folder_name, "h", KEY, "none",
                            make_rows(folder_name, {"a": 1}, message="lone \ud800 surrogate"))
        assert book.is_current(folder_name, "h", KEY)
        assert book.students() == ["caf\\xe9"]
        assert book.rows()[0]["message"] == "lone \\ud800 surrogate"


def test_a_failure_midway_keeps_the_previous_rows_whole(db):
    before = make_rows("ada", {"a": 3, "b": 2})
    with Gradebook(db) as book:
        book.record_student("ada", "h1", KEY, "none", before)
        book.record_student("bob", "h1", KEY, "none", make_rows("bob", {"a": 1}))
        info = book.student_info("ada")
        broken = make_rows("ada", {"a": 5}, "new")
        del broken[3]["score"]  # fails after the old rows are deleted and three new inserted
        with pytest.raises(KeyError):
            book.record_student("ada", "h2", KEY, "none", broken)
        wrong_type = make_rows("ada", {"a": 5}, "new")
        wrong_type[4]["max_score"] = "two"
        with pytest.raises(ValueError):
            book.record_student("ada", "h2", KEY, "none", wrong_type)
        with pytest.raises(ValueError, match="'bob'"):
            book.record_student("ada", "h2", KEY, "none", make_rows("bob", {"a": 2}))
        duplicate = make_rows("ada", {"a": 2}, "new") * 2
        with pytest.raises(sqlite3.IntegrityError):
            book.record_student("ada", "h2", KEY, "none", duplicate)
        assert as_given([r for r in book.rows() if r["student"] == "ada"]) == before
        assert book.student_info("ada") == info and book.is_current("ada", "h1", KEY)
        assert book.verify() == []
        # the connection is usable afterwards: no transaction was left open
        book.record_student("ada", "h3", KEY, "none", make_rows("ada", {"c": 1}))
        assert book.is_current("ada", "h3", KEY)
        assert len(book.rows()) == 2


def test_threads_sharing_one_gradebook_never_see_half_a_student(db):
    done = threading.Event()
    seen: list[str] = []

    def write(worker: int) -> None:
        for gen in range(15):
            name = f"w{worker}"
            book.record_student(name, f"g{gen}", KEY, "none",
                                make_rows(name, {"a": 5 + gen % 3}, message=f"g{gen}"))

    def read() -> None:
        while not done.is_set():
            rows = book.rows()
            for name in {r["student"] for r in rows}:
                mine = [r["message"] for r in rows if r["student"] == name]
                if len(set(mine)) != 1 or len(mine) != 5 + int(mine[0][1:]) % 3:
                    seen.append(f"{name}: {mine}")

    with Gradebook(db) as book:
        writers = [threading.Thread(target=write, args=(i,)) for i in range(4)]
        reader = threading.Thread(target=read)
        reader.start()
        for t in writers:
            t.start()
        for t in writers:
            t.join()
        done.set()
        reader.join()
        assert seen == []
        assert book.verify() == [] and book.students() == ["w0", "w1", "w2", "w3"]
        assert all(book.is_current(f"w{i}", "g14", KEY) for i in range(4))


def test_a_file_that_is_not_this_gradebook_is_refused(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(GradebookError):
        Gradebook(junk)
    old = tmp_path / "old.sqlite"
    with Gradebook(old):
        pass
    with sqlite3.connect(old) as raw:
        raw.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(GradebookError, match="schema"):
        Gradebook(old)


def test_the_file_is_in_wal_mode(db):
    with Gradebook(db) as book:
        assert book.journal_mode == "wal"
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# --------------------------------------------------------------------------------------------
# kill -9


def rows_for(index: int, gen: int) -> list[dict]:
    """Generation GEN of student INDEX: a row count that changes with every generation, so a
    torn replacement would show as the wrong count or a mix of generations."""
    count = 80 + (index * 37 + gen * 53) % 400
    return [{"student": f"s{index:02d}", "exercise": f"ex{j // 60}", "check": f"c{j}",
             "score": 1.0, "max_score": 1.0, "status": "passed", "message": f"gen {gen}",
             "hidden": False, "duration_s": 0.0, "seed": 1, "grader_version": "v",
             "course_version": "v", "hypothesis_version": "v", "numpy_version": "v"}
            for j in range(count)]


WRITER = inspect.getsource(rows_for) + '''
import sys
from grader.gradebook.store import Gradebook

path, mode, log_path, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with Gradebook(path) as book, open(log_path, "a", buffering=1) as log:
    if mode == "churn":  # for ever: every student to its next generation
        while True:
            for i in range(n):
                info = book.student_info(f"s{i:02d}")
                gen = int(info["submission_hash"][3:]) + 1 if info else 1
                book.record_student(f"s{i:02d}", f"gen{gen}", "key", "none", rows_for(i, gen))
                log.write(f"s{i:02d} {gen}\\n")  # after the commit: the log lags the database
    else:  # finish: bring everybody to one generation, skipping who is there already
        target = int(sys.argv[5])
        for i in range(n):
            if not book.is_current(f"s{i:02d}", f"gen{target}", "key"):
                book.record_student(f"s{i:02d}", f"gen{target}", "key", "none",
                                    rows_for(i, target))
'''
STUDENTS = 30


def committed_state(db: Path) -> dict[str, int]:
    """Every student's generation, after checking the file with plain sqlite3: the integrity
    check passes, and each student has exactly the rows of its generation, in order."""
    raw = sqlite3.connect(db)
    try:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        state = {}
        for student, hash_, n_rows in raw.execute(
                "SELECT student, submission_hash, n_rows FROM students").fetchall():
            gen = int(hash_.removeprefix("gen"))
            got = raw.execute('SELECT exercise, "check", message FROM results WHERE student = ? '
                              "ORDER BY ordinal", (student,)).fetchall()
            want = [(r["exercise"], r["check"], r["message"])
                    for r in rows_for(int(student[1:]), gen)]
            assert got == want, f"{student} generation {gen} is not whole"
            assert n_rows == len(want)
            state[student] = gen
        orphans = raw.execute("SELECT count(*) FROM results WHERE student NOT IN "
                              "(SELECT student FROM students)").fetchone()[0]
        assert orphans == 0
        return state
    finally:
        raw.close()


def test_kill_9_at_any_moment_loses_nothing_committed_and_the_next_run_finishes(tmp_path):
    db, log = tmp_path / FILENAME, tmp_path / "committed.log"
    log.touch()
    rng = random.Random(20261122)
    state: dict[str, int] = {}
    kills = 0
    for _ in range(5):
        size = log.stat().st_size
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db), "churn", str(log),
                                   str(STUDENTS)], cwd=ROOT, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 5
        while log.stat().st_size == size and writer.poll() is None:  # wait until it writes
            assert time.monotonic() < deadline, "the writer never committed"
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.2))
        writer.send_signal(signal.SIGKILL)
        _, err = writer.communicate(timeout=5)
        assert writer.returncode == -signal.SIGKILL, err.decode()
        kills += 1
        new_state = committed_state(db)
        for student, gen in state.items():  # nothing committed before is lost
            assert new_state[student] >= gen
        for line in log.read_text().splitlines():  # nor what the writer saw committed
            student, gen = line.split()
            assert new_state[student] >= int(gen)
        state = new_state
    # How many students a writer reaches before its kill depends on the machine's load; the
    # finishing run below must bring every one of them, committed or not, to the target.
    assert kills == 5 and state
    target = max(state.values()) + 1
    finish = subprocess.run([sys.executable, "-c", WRITER, str(db), "finish", str(log),
                             str(STUDENTS), str(target)], cwd=ROOT, capture_output=True,
                            timeout=60)
    assert finish.returncode == 0, finish.stderr.decode()
    assert committed_state(db) == {f"s{i:02d}": target for i in range(STUDENTS)}
    with Gradebook(db) as book:
        assert book.verify() == []
        assert all(book.is_current(f"s{i:02d}", f"gen{target}", "key") for i in range(STUDENTS))


# --------------------------------------------------------------------------------------------
# What a student submitted, and what graded it

IDS = ("softmax_ce", "gradcheck")


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_submission_hash_follows_the_exercise_files_only(tmp_path):
    folder = tmp_path / "class" / "ada"
    folder.mkdir(parents=True)
    first = submission_hash(folder, IDS)
    exercise = _write(folder / "softmax_ce.py", "def softmax(x):\n    return x\n")
    with_file = submission_hash(folder, IDS)
    assert with_file != first
    _write(folder / "README.md", "notes")
    _write(folder / "data.csv", "1,2")
    _write(folder / ".ipynb_checkpoints" / "softmax_ce-checkpoint.ipynb", "{}")
    _write(folder / "unrelated.py", "x = 1")
    assert submission_hash(folder, IDS) == with_file  # files the contract ignores
    assert submission_hash(folder, IDS) == with_file  # and deterministic
    exercise.write_text("def softmax(x):\n    return x + 0\n")
    changed = submission_hash(folder, IDS)
    assert changed != with_file
    # the same files elsewhere (another machine, another class folder) hash the same
    elsewhere = tmp_path / "copy" / "somebody else"
    shutil.copytree(folder, elsewhere)
    assert submission_hash(elsewhere, IDS) == changed
    # moving the file into exercises/ is a different submission
    (elsewhere / "exercises").mkdir()
    (elsewhere / "softmax_ce.py").rename(elsewhere / "exercises" / "softmax_ce.py")
    assert submission_hash(elsewhere, IDS) not in (changed, with_file)
    # and which exercises are asked about matters
    assert submission_hash(folder, IDS[:1]) != changed


def test_a_symlink_outside_the_folder_is_never_read(tmp_path):
    outside = _write(tmp_path / "secret" / "answers.py", "SECRET = 1\n")
    folder = tmp_path / "class" / "mallory"
    folder.mkdir(parents=True)
    (folder / "softmax_ce.py").symlink_to(outside)
    linked = submission_hash(folder, IDS)
    outside.write_text("SECRET = 2\n")
    assert submission_hash(folder, IDS) == linked  # what it points to does not count
    outside.chmod(0)
    try:
        assert submission_hash(folder, IDS) == linked  # and is not even opened
    finally:
        outside.chmod(0o644)
    # a linked folder outside is the same
    other = tmp_path / "class" / "eve"
    other.mkdir()
    (other / "exercises").symlink_to(outside.parent, target_is_directory=True)
    (outside.parent / "softmax_ce.py").write_text("x = 1\n")
    before = submission_hash(other, IDS)
    (outside.parent / "softmax_ce.py").write_text("x = 2\n")
    assert submission_hash(other, IDS) == before
    # a symlink that stays inside the folder is followed
    inside = tmp_path / "class" / "bob"
    target = _write(inside / "work" / "mine.py", "a = 1\n")
    (inside / "softmax_ce.py").symlink_to(Path("work") / "mine.py")
    old = submission_hash(inside, IDS)
    target.write_text("a = 2\n")
    assert submission_hash(inside, IDS) != old


def test_grader_key_is_cached_location_free_and_changes_with_a_check(tmp_path):
    key = grader_key()
    assert grader_key() is key
    course = load_course()
    assert f"course {course.version}" in key

    def copy_of_course(copy):
        shutil.copytree(ROOT / "tests" / "checks", copy / "tests" / "checks",
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(ROOT / "solutions", copy / "solutions",
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(ROOT / "course_config.py", copy / "course_config.py")
        return copy

    try:
        assert grader_key(copy_of_course(tmp_path / "same")) == key  # the same sources elsewhere
        changed = copy_of_course(tmp_path / "changed")
        check = changed / "tests" / "checks" / "hidden" / "test_softmax_ce.py"
        check.write_text(check.read_text() + "\n# a changed check\n")
        assert grader_key(changed) != key
        assert grader_key() is key  # the process course's key is its own
    finally:
        sys.modules.pop("course_config", None)


# --------------------------------------------------------------------------------------------
# As DataFrames


def test_load_dataframe_and_pivot_give_the_totals(tmp_path):
    exercises = list(load_course().exercises)
    with Gradebook.in_folder(tmp_path / "out") as book:
        for name in ("bob", "ada", "(max)"):
            rows = make_rows(name, {ex: 3 for ex in reversed(exercises)})
            if name == "bob":
                for row in rows:
                    row["score"] = 0.0
                rows[0]["status"] = "error"
            book.record_student(name, "h", KEY, "none", rows)
        given = book.rows()
    frame = load_dataframe(tmp_path / "out")
    assert list(frame.columns) == DB_COLUMNS and len(frame) == 3 * 3 * len(exercises)
    assert frame.equals(load_dataframe(tmp_path / "out" / FILENAME))
    assert frame["student"].tolist() == [r["student"] for r in given]
    table = pivot(frame)
    assert list(table.columns) == [*exercises, "total", "percent", "did_not_run"]
    assert table.index.tolist() == ["(max)", "(max)", "ada", "bob"]  # "(max)" the student
    n = len(exercises)
    assert table.iloc[0]["total"] == 6 * n and table.iloc[0]["percent"] == 100
    assert table.iloc[1]["total"] == 3 * n and table.iloc[1]["percent"] == 50
    assert table.loc["ada", "total"] == 3 * n and table.loc["bob", "total"] == 0
    assert table.loc["bob", "did_not_run"] == exercises[-1]
    pd.testing.assert_frame_equal(table, totals(given))


def test_load_dataframe_of_nothing_fails_without_creating_a_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_dataframe(tmp_path / "out")
    assert not (tmp_path / "out" / FILENAME).exists()


def test_pivot_lists_every_status_that_is_not_a_plain_pass_or_fail_as_did_not_run():
    from grader.gradebook.rows import COLUMNS, pivot

    base = {c: "" for c in COLUMNS}
    rows = []
    for student, exercise, status in [("a", "softmax_ce", "passed"), ("a", "gradcheck", "failed"),
                                      ("b", "softmax_ce", "bad_file"),
                                      ("b", "gradcheck", "timeout")]:
        rows.append({**base, "student": student, "exercise": exercise, "check": "c",
                     "score": 1.0 if status == "passed" else 0.0, "max_score": 1.0,
                     "status": status})
    table = pivot(pd.DataFrame(rows, columns=COLUMNS))
    assert "to_hand_grade" not in table.columns  # no written answers: no such column
    assert table.loc["a", "did_not_run"] == ""
    assert table.loc["b", "did_not_run"] == "softmax_ce, gradcheck"


def test_pivot_keeps_written_answers_awaiting_a_grader_apart_from_code_that_did_not_run():
    """With nbgrader's written answers (grader.integrations.nbgrader.grade.class_rows), a perfect
    student whose answers wait for a grader has nothing under did_not_run."""
    from grader.gradebook.rows import COLUMNS, WRITTEN_PREFIX, pivot

    base = {c: "" for c in COLUMNS}
    rows = []
    for student, exercise, check, status in [
            ("ada", "softmax_ce", "c", "passed"),
            ("ada", "softmax_ce", f"{WRITTEN_PREFIX}derivation", "ungraded"),
            ("ada", "optimizers", f"{WRITTEN_PREFIX}sweep", "ungraded"),
            ("bob", "softmax_ce", "c", "error"),
            ("bob", "softmax_ce", f"{WRITTEN_PREFIX}derivation", "missing"),  # left blank
            ("bob", "optimizers", f"{WRITTEN_PREFIX}sweep", "manual")]:
        rows.append({**base, "student": student, "exercise": exercise, "check": check,
                     "score": 1.0 if status == "passed" else 0.0, "max_score": 1.0,
                     "status": status})
    table = pivot(pd.DataFrame(rows, columns=COLUMNS))
    assert list(table.columns)[-2:] == ["did_not_run", "to_hand_grade"]
    assert table.loc["ada", ["did_not_run", "to_hand_grade"]].tolist() == [
        "", "softmax_ce, optimizers"]
    assert table.loc["bob", ["did_not_run", "to_hand_grade"]].tolist() == ["softmax_ce", ""]
    assert table.loc["(max)", ["did_not_run", "to_hand_grade"]].tolist() == ["", ""]


@pytest.mark.parametrize("column, odd, without_pandas", [
    ("score", None, True), ("score", float("nan"), True), ("score", 3, True),
    ("score", float("inf"), True), ("seed", None, True), ("seed", 2.5, True),
    ("hidden", None, True), ("message", None, True), ("duration_s", float("nan"), True),
    ("seed", 2**63, False), ("seed", "7", False), ("hidden", 1, False),
    ("message", 3, False), ("score", [1], False)])
def test_gradebook_csv_is_written_exactly_as_pandas_writes_it(tmp_path, column, odd,
                                                              without_pandas):
    # write_csv skips importing pandas where it can write what pandas writes (the rows of
    # the written parts of an nbgrader assignment have missing values); the file must be
    # the one pandas writes, for plain rows, missing values and mixed types alike.
    from grader.gradebook.rows import _csv_converters, write_csv

    messages = ["", "a, b", 'say "hi"', "two\nlines", "=1+2", "ünïcode ✓", " padded "]
    rows = [{"student": f"s{i}", "exercise": "ex", "check": "c", "score": 0.1 + 0.2 * i,
             "max_score": 2.0, "status": "passed", "message": m, "hidden": i % 2 == 0,
             "duration_s": 1e-05 * i, "seed": 2**40 + i, "grader_version": "0.1.0",
             "course_version": "2026.1", "hypothesis_version": "6", "numpy_version": "2"}
            for i, m in enumerate(messages)]
    for plain in (True, False):
        if not plain:
            rows[1] = {**rows[1], column: odd}
        assert (_csv_converters(rows, COLUMNS) is not None) == (plain or without_pandas)
        write_csv(rows, tmp_path / "ours.csv", COLUMNS)
        pd.DataFrame(rows, columns=COLUMNS).to_csv(tmp_path / "pandas.csv", index=False)
        assert (tmp_path / "ours.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()


def test_gradebook_csv_leaves_values_of_other_kinds_to_pandas():
    # Only str, int, float and bool are known to come out of the csv module as pandas
    # writes them; a column of anything else is pandas' to write, even with one kind in it.
    from grader.gradebook.rows import _csv_converters

    assert _csv_converters([{"a": None}, {"a": 1.5}], ["a"]) is not None
    assert _csv_converters([{"a": None}, {"a": b"x"}], ["a"]) is None
    assert _csv_converters([{"a": (1, 2)}, {"a": (3, 4)}], ["a"]) is None
