"""The gradebook as an embedded SQLite database, `OUT/gradebook.sqlite`.

Why SQLite: grading a class takes minutes to hours, and an instructor may stop it (or the
machine may kill it) at any moment. A database that commits each student as one transaction
makes "what is graded is never lost" and "the next run continues where this one stopped" true
by construction, which rewriting a CSV after every student only approximates.

Durability. The file is in WAL mode with `synchronous=FULL`:
- A student is recorded in ONE transaction (`BEGIN IMMEDIATE` ... `COMMIT`) that deletes the
  student's rows it replaces and inserts the new rows, their `exercises` rows and the
  `students` row. Either all of it is in
  the database or none of it: a reader never sees half a student.
- Killing the process at any moment (kill -9 included) loses nothing that was committed: a
  commit in WAL mode is in the `-wal` file, which the operating system keeps when the process
  dies, and the next connection replays it. An interrupted transaction is rolled back.
  WAL + `synchronous=NORMAL` would already give this; only a power loss or an OS crash could
  then lose the last commits. FULL closes that gap too (an fsync per commit) and costs about
  half a millisecond per student, against seconds of grading each: not worth saving.
- Where WAL is unavailable (some network file systems), SQLite keeps its rollback journal and
  `synchronous=FULL` is what keeps that mode safe as well.

Resume, per exercise. The `exercises` table holds, per (student, exercise), the hash of that
exercise's file (grader.submission.identity.exercise_hashes) and the key of the exercise that
graded it (grader.engine.grader_key.exercise_keys), which every row of that exercise carries
too. A rerun asks `current_exercises(student)` and grades only the exercises whose hash or key
changed; the others keep their rows as they are (graded_at included). `--regrade` simply does
not ask. The `students` table holds, per student, the hash of all the exercise files and the
course-wide key (`is_current` compares both). A student whose transaction was cut off by a kill
has the rows of before, which the next run grades again.

Bad input. Every value reaches SQLite as a bound parameter, never as SQL text, so a student
folder named `'); DROP TABLE results;--` is just a name. Text that UTF-8 cannot encode (a
folder name with invalid bytes, a message with a lone surrogate) is stored with backslash
escapes instead of failing the student's transaction. Messages are stored printable
(grader.printable): whatever reads them back, a terminal included, gets no control sequence.
Student names are stored as they are, being the key that identifies the student: what
shows or exports them makes them printable.

Only the trusted grader process writes this file; student code never gets a handle on it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from grader.gradebook.rows import COLUMNS, pivot
from grader.printable import printable

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DB_COLUMNS", "EXTRA_COLUMNS", "FILENAME", "SCHEMA_VERSION", "Gradebook",
           "GradebookError", "Graded", "load_dataframe", "pivot", "student_text"]

FILENAME = "gradebook.sqlite"
# Bump when the tables change; a newer file is then refused rather than misread, an older one
# migrated (_migrate).
SCHEMA_VERSION = 2
# A row's `ordinal` is its exercise's slot times this plus its place in the exercise: an
# exercise graded again takes its old slot, between the rows of the exercises left as they are.
_SLOT = 2**20
# What the database adds to each gradebook.COLUMNS row: what the row was graded from and how.
# `lock`: the lock file the environment was installed from, and any package installed at
# another version (grader.environment).
EXTRA_COLUMNS = ["submission_hash", "grader_key", "lock", "isolation", "graded_at"]
DB_COLUMNS = [*COLUMNS, *EXTRA_COLUMNS]

_SQL_TYPES = {"score": "REAL NOT NULL", "max_score": "REAL NOT NULL", "hidden": "INTEGER NOT NULL",
              "duration_s": "REAL", "seed": "INTEGER", "student": "TEXT NOT NULL",
              "exercise": "TEXT NOT NULL", "check": "TEXT NOT NULL", "status": "TEXT NOT NULL",
              "message": "TEXT NOT NULL", "submission_hash": "TEXT NOT NULL",
              "grader_key": "TEXT NOT NULL", "lock": "TEXT NOT NULL",
              "isolation": "TEXT NOT NULL",
              "graded_at": "TEXT NOT NULL"}


class GradebookError(Exception):
    """The gradebook file cannot be used as it is (not the student's fault)."""


def _q(name: str) -> str:
    """A column name as an SQL identifier: `check` is an SQL keyword, so every name is quoted.
    Names come from the fixed column lists above, never from data."""
    return '"' + name.replace('"', '""') + '"'


# ---------------------------------------------------------------------------------------------
# What a student submitted, and what graded it


def student_text(value: str) -> str:
    """VALUE as text SQLite (and a CSV) can store: unchanged when it is valid Unicode.

    A folder name with bytes that are not UTF-8 arrives as a str with surrogate escapes
    (`'caf\\udce9'`), which cannot be encoded; it is stored as `'caf\\\\xe9'`. Lone surrogates
    from elsewhere (a student's exception message) become `\\udxxx`. Either way the student's
    transaction goes through instead of failing on an encoding error.
    """
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        pass
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass(frozen=True)
class Graded:
    """What graded one exercise of a student: the hash of its file and the key of the
    exercise (a `current_exercises` answer, and what `record_student` records per exercise)."""

    submission_hash: str
    grader_key: str


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


# ---------------------------------------------------------------------------------------------
# The database


class Gradebook:
    """`OUT/gradebook.sqlite`: one row per (student, exercise, check), one transaction per
    student. Use as a context manager; safe to share between threads (one lock serializes the
    transactions of this connection)."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise FileNotFoundError(f"no gradebook at {self.path}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # isolation_level=None: no implicit transactions; every one is an explicit BEGIN.
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0,
                                   check_same_thread=False)
        try:
            self._configure()
            self._create_schema()
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def in_folder(cls, output: Path) -> Gradebook:
        """The gradebook of an output folder: OUTPUT/gradebook.sqlite."""
        return cls(Path(output) / FILENAME)

    def _configure(self) -> None:
        try:
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        except sqlite3.DatabaseError as e:
            raise GradebookError(f"{self.path} is not a gradebook database: {e}") from None
        # WAL survives a killed process by itself; FULL adds an fsync per commit so that a
        # power loss cannot take the last students either. In rollback-journal mode (WAL
        # refused, e.g. on NFS) FULL is also what keeps a power loss from corrupting the file.
        self._db.execute("PRAGMA synchronous=FULL")
        self.journal_mode = str(mode).lower()

    def _create_schema(self) -> None:
        columns = ", ".join(f"{_q(c)} {_SQL_TYPES.get(c, 'TEXT')}" for c in DB_COLUMNS)
        with self._transaction():
            self._db.execute("CREATE TABLE IF NOT EXISTS schema_version "
                             "(version INTEGER NOT NULL)")
            found = self._db.execute("SELECT version FROM schema_version").fetchall()
            if not found:
                self._db.execute("INSERT INTO schema_version (version) VALUES (?)",
                                 (SCHEMA_VERSION,))
            elif [v for (v,) in found] == [1]:
                self._migrate_from_1()
            elif [v for (v,) in found] != [SCHEMA_VERSION]:
                raise GradebookError(
                    f"{self.path} has gradebook schema {[v for (v,) in found]}, this grader "
                    f"writes schema {SCHEMA_VERSION}: use another output folder")
            # ordinal: the row's position in its student's record_student call, which is how
            # rows() gives checks back in the order they were graded.
            self._db.execute(
                f"CREATE TABLE IF NOT EXISTS results ({columns}, ordinal INTEGER NOT NULL, "
                'PRIMARY KEY ("student", "exercise", "check"))')
            # `lock` came after schema 1 was in use: a file without it gets it here, empty for
            # the rows graded before (their lock is unknown).
            have = {row[1] for row in self._db.execute("PRAGMA table_info(results)")}
            if "lock" not in have:
                self._db.execute("ALTER TABLE results ADD COLUMN \"lock\" TEXT NOT NULL "
                                 "DEFAULT ''")
            self._db.execute("CREATE INDEX IF NOT EXISTS results_by_student_ordinal "
                             'ON results ("student", ordinal)')
            # n_rows lets anyone verify that a student's row set is whole.
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS students ("
                '"student" TEXT PRIMARY KEY, "submission_hash" TEXT NOT NULL, '
                '"grader_key" TEXT NOT NULL, "isolation" TEXT NOT NULL, '
                '"graded_at" TEXT NOT NULL, "status" TEXT NOT NULL, n_rows INTEGER NOT NULL)')
            # When each exercise was submitted (grader.submission.times), for the late policy.
            # Added after schema 1 was in use: a file without it gets it here, empty, and an
            # older grader simply ignores it.
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS submissions ("
                '"student" TEXT NOT NULL, "exercise" TEXT NOT NULL, "submitted_at" TEXT NOT NULL, '
                '"source" TEXT NOT NULL, PRIMARY KEY ("student", "exercise"))')
            # What graded each exercise of a student, which a rerun compares (current_exercises);
            # n_rows lets it verify that the exercise's row set is whole.
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS exercises ("
                '"student" TEXT NOT NULL, "exercise" TEXT NOT NULL, '
                '"submission_hash" TEXT NOT NULL, "grader_key" TEXT NOT NULL, '
                '"graded_at" TEXT NOT NULL, n_rows INTEGER NOT NULL, '
                'PRIMARY KEY ("student", "exercise"))')

    def _migrate_from_1(self) -> None:
        """Schema 1 had one grader key per student: its `exercises` table (created by
        _create_schema) starts empty, so each student is graded again once, whole, on the next
        run; every row stays until then."""
        self._db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))

    class _Transaction:
        def __init__(self, book: Gradebook) -> None:
            self.book = book

        def __enter__(self) -> None:
            self.book._lock.acquire()
            try:
                # IMMEDIATE takes the write lock now, so a second grader on the same file
                # waits (up to the timeout) instead of failing at the first write.
                self.book._db.execute("BEGIN IMMEDIATE")
            except BaseException:
                self.book._lock.release()
                raise

        def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                     tb: TracebackType | None) -> None:
            db = self.book._db
            try:
                if kind is None:
                    db.execute("COMMIT")
                elif db.in_transaction:  # SQLite may have rolled back by itself already
                    db.execute("ROLLBACK")
            finally:
                self.book._lock.release()

    def _transaction(self) -> Gradebook._Transaction:
        """All or nothing: COMMIT on success, ROLLBACK on any exception (Ctrl-C included)."""
        return Gradebook._Transaction(self)

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[list[str], list[tuple]]:
        """Column names and all rows of a query. Under the lock: another thread's open
        transaction on this connection would otherwise be visible half done."""
        with self._lock:
            cursor = self._db.execute(sql, params)
            return [d[0] for d in cursor.description], cursor.fetchall()

    # -- writing --------------------------------------------------------------------------

    def record_student(self, student: str, submission_hash: str, grader_key: str,
                       isolation: str, rows: list[dict],
                       submitted: Mapping[str, Any] | None = None,
                       lock: str | None = None, *,
                       graded: Mapping[str, Graded] | None = None,
                       kept: Collection[str] = ()) -> None:
        """Record ROWS (gradebook.COLUMNS each) for STUDENT, in ONE transaction.

        SUBMISSION_HASH and GRADER_KEY are what graded the student as a whole (the `students`
        row; without GRADED, every row's too). GRADED maps each exercise ROWS grade to the
        hash of its file and its key, which its rows and its `exercises` row record; a row of
        another exercise is refused. KEPT names the exercises whose rows stay as they are
        (graded earlier and still current); every other row of the student is replaced.
        SUBMITTED maps exercise ids to when they were submitted (objects with `when`, an ISO
        8601 string or "" when unknown, and `source`: grader.submission.times.SubmissionTime);
        with KEPT, only the exercises it names are replaced. LOCK is what the `lock` column
        records; by default this process's environment against its lock
        (grader.environment.lock_state), the environment that graded the rows.

        rows() returns the rows in the order given, an exercise graded again in the place of
        its earlier rows. If anything fails on the way (a row lacks a column, a value has the
        wrong type, the disk is full, the process is interrupted), nothing of it is kept and
        the student's previous rows stay as they were.
        """
        key = student_text(student)
        graded_at = _now()
        if lock is None:
            from grader.environment import lock_state

            lock = lock_state().text
        kept = [student_text(ex) for ex in kept]
        marks_kept = ", ".join("?" * len(kept))
        kept_sql = f' AND "exercise" NOT IN ({marks_kept})' if kept else ""
        counts: dict[str, int] = {}

        def values(slots: dict[str, int]) -> Iterator[tuple[Any, ...]]:
            free = max(slots.values(), default=-1) + 1
            previous, slot, place = None, 0, 0
            for row in rows:
                if row.get("student", student) != student:
                    raise ValueError(f"a row of {row['student']!r} given for {student!r}")
                exercise = student_text(str(row["exercise"]))
                if graded is not None and row["exercise"] not in graded:
                    raise ValueError(f"a row of exercise {row['exercise']!r}, which is not "
                                     "among those graded")
                if exercise != previous:  # a run of one exercise's rows: a slot of its own
                    if exercise in slots:
                        slot = slots[exercise]
                    else:
                        slot = slots[exercise] = free
                        free += 1
                    previous, place = exercise, 0
                which = graded[row["exercise"]] if graded is not None else Graded(
                    submission_hash, grader_key)
                yield (*self._row_values(key, row), which.submission_hash, which.grader_key,
                       lock, isolation, graded_at, slot * _SLOT + place)
                place += 1
                counts[exercise] = counts.get(exercise, 0) + 1

        names = ", ".join([*map(_q, DB_COLUMNS), "ordinal"])
        marks = ", ".join("?" * (len(DB_COLUMNS) + 1))
        with self._transaction():
            # The slots taken: by the rows kept, and (with rows kept) by the rows an exercise
            # graded again had, whose place it takes. Without rows kept, the order given.
            slots = {exercise: int(first) // _SLOT for exercise, first in self._db.execute(
                'SELECT "exercise", min(ordinal) FROM results WHERE "student" = ? '
                'GROUP BY "exercise"', (key,))} if kept else {}
            self._db.execute(f'DELETE FROM results WHERE "student" = ?{kept_sql}',
                             (key, *kept))
            self._db.execute(f'DELETE FROM exercises WHERE "student" = ?{kept_sql}',
                             (key, *kept))
            # rows are converted while they are inserted: a bad row midway rolls back the lot.
            self._db.executemany(f"INSERT INTO results ({names}) VALUES ({marks})",
                                 values(slots))
            if graded is not None:
                self._db.executemany(
                    'INSERT INTO exercises ("student", "exercise", "submission_hash", '
                    '"grader_key", "graded_at", n_rows) VALUES (?, ?, ?, ?, ?, ?)',
                    [(key, student_text(ex), g.submission_hash, g.grader_key, graded_at,
                      counts.get(student_text(ex), 0)) for ex, g in graded.items()])
            (count,) = self._db.execute('SELECT count(*) FROM results WHERE "student" = ?',
                                        (key,)).fetchone()
            self._db.execute(
                'INSERT OR REPLACE INTO students ("student", "submission_hash", "grader_key", '
                '"isolation", "graded_at", "status", n_rows) VALUES (?, ?, ?, ?, ?, ?, ?)',
                (key, submission_hash, grader_key, isolation, graded_at, "complete", count))
            times = [(key, student_text(str(ex)), student_text(str(t.when)),
                      student_text(str(t.source))) for ex, t in (submitted or {}).items()]
            if kept:
                self._db.executemany('DELETE FROM submissions WHERE "student" = ? AND '
                                     '"exercise" = ?', [t[:2] for t in times])
            else:
                self._db.execute('DELETE FROM submissions WHERE "student" = ?', (key,))
            self._db.executemany(
                'INSERT INTO submissions ("student", "exercise", "submitted_at", "source") '
                "VALUES (?, ?, ?, ?)", times)

    @staticmethod
    def _row_values(student: str, row: dict) -> tuple[Any, ...]:
        """One row as SQL values, each converted to its column's type. Raises KeyError for a
        missing column and ValueError/TypeError for a value of the wrong kind."""
        def text(name: str) -> str | None:
            value = row[name]
            return None if value is None else student_text(str(value))

        def number(name: str) -> float | None:
            value = row[name]
            return None if value is None else float(value)

        seed = row["seed"]
        return (student, text("exercise"), text("check"), float(row["score"]),
                float(row["max_score"]), text("status"), printable(text("message") or ""),
                int(bool(row["hidden"])), number("duration_s"),
                None if seed is None else int(seed), text("grader_version"),
                text("course_version"), text("hypothesis_version"), text("numpy_version"))

    def forget(self, student: str) -> None:
        """Remove STUDENT entirely (rows and `students` row), in one transaction."""
        key = student_text(student)
        with self._transaction():
            self._db.execute('DELETE FROM results WHERE "student" = ?', (key,))
            self._db.execute('DELETE FROM students WHERE "student" = ?', (key,))
            self._db.execute('DELETE FROM submissions WHERE "student" = ?', (key,))
            self._db.execute('DELETE FROM exercises WHERE "student" = ?', (key,))

    # -- reading --------------------------------------------------------------------------

    def is_current(self, student: str, submission_hash: str, grader_key: str) -> bool:
        """True when STUDENT was completely graded from this very submission by this very
        grader: a rerun may then skip them. Checking the row count as well costs nothing and
        refuses a gradebook edited by hand into an inconsistent state."""
        _, found = self._read(
            'SELECT s.n_rows, (SELECT count(*) FROM results r WHERE r."student" = s."student") '
            'FROM students s WHERE s."student" = ? AND s."submission_hash" = ? '
            'AND s."grader_key" = ? AND s."status" = ?',
            (student_text(student), submission_hash, grader_key, "complete"))
        return bool(found) and found[0][0] == found[0][1]

    def current_exercises(self, student: str) -> dict[str, Graded]:
        """{exercise: what graded it} for each exercise of STUDENT recorded whole (its row
        count matches, and the student is complete): a rerun compares these with the hashes
        and keys of now and grades again only the exercises that differ."""
        _, found = self._read(
            'SELECT e."exercise", e."submission_hash", e."grader_key", e.n_rows, '
            '(SELECT count(*) FROM results r WHERE r."student" = e."student" '
            'AND r."exercise" = e."exercise") FROM exercises e JOIN students s '
            'ON s."student" = e."student" WHERE e."student" = ? AND s."status" = ?',
            (student_text(student), "complete"))
        return {exercise: Graded(digest, key) for exercise, digest, key, want, have in found
                if want == have}

    def student_info(self, student: str) -> dict | None:
        """The `students` row of STUDENT (hash, key, isolation, graded_at, status, n_rows)."""
        names, found = self._read('SELECT * FROM students WHERE "student" = ?',
                                  (student_text(student),))
        return dict(zip(names, found[0])) if found else None

    def students(self) -> list[str]:
        """Every completely recorded student, sorted (by code point, as Python sorts)."""
        return [s for (s,) in self._read('SELECT "student" FROM students ORDER BY "student"')[1]]

    def submission_times(self) -> dict[str, dict[str, tuple[str, str]]]:
        """{student: {exercise: (submitted_at, source)}}: submitted_at is ISO 8601 with a zone,
        or "" when it could not be found (source then says why, or is empty)."""
        out: dict[str, dict[str, tuple[str, str]]] = {}
        for student, exercise, when, source in self._read(
                'SELECT "student", "exercise", "submitted_at", "source" FROM submissions '
                'ORDER BY "student", "exercise"')[1]:
            out.setdefault(student, {})[exercise] = (when, source)
        return out

    def rows(self, student: str | None = None) -> list[dict]:
        """Every row (of STUDENT only, if given), DB_COLUMNS each: by student, then in the
        order record_student got them.

        SQLite compares text as UTF-8 bytes, which orders like Python's str comparison, so the
        order is the same on every machine and in every locale.
        """
        names = ", ".join(map(_q, DB_COLUMNS))
        which, params = ('WHERE "student" = ? ', (student_text(student),)) \
            if student is not None else ("", ())
        _, found = self._read(f'SELECT {names} FROM results {which}ORDER BY "student", ordinal',
                              params)
        hidden = DB_COLUMNS.index("hidden")
        out = []
        for values in found:
            row = dict(zip(DB_COLUMNS, values))
            row["hidden"] = bool(values[hidden])
            out.append(row)
        return out

    def verify(self) -> list[str]:
        """Problems found in the file: SQLite's integrity check, and any student whose row
        set is not whole. Empty when the gradebook is sound."""
        problems = [r for (r,) in self._read("PRAGMA integrity_check")[1] if r != "ok"]
        problems += [f"{student!r}: {have} rows, {want} recorded" for student, want, have in
                     self._read('SELECT s."student", s.n_rows, (SELECT count(*) FROM results r '
                                'WHERE r."student" = s."student") FROM students s')[1]
                     if want != have]
        problems += [f"{student!r}: rows without a students row" for (student,) in
                     self._read('SELECT DISTINCT "student" FROM results WHERE "student" '
                                'NOT IN (SELECT "student" FROM students)')[1]]
        return problems

    # -- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------
# As a DataFrame


def load_dataframe(path: Path) -> pd.DataFrame:
    """The gradebook at PATH (a .sqlite file or the output folder holding one) in long format:
    one row per (student, exercise, check), DB_COLUMNS, in rows() order. Raises
    FileNotFoundError rather than creating an empty gradebook."""
    import pandas as pd

    path = Path(path)
    if path.is_dir():
        path = path / FILENAME
    with Gradebook(path, create=False) as book:
        return pd.DataFrame(book.rows(), columns=DB_COLUMNS)
