"""Results as gradebook rows, and the gradebook as a CSV file and a pandas DataFrame.

The durable store is grader.gradebook.store (SQLite); pivot() here turns either into a table.

One row per (student, exercise, check). Each row records what is needed to reproduce it:
the grader and course versions and the seed.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from pathlib import Path

from grader import __version__
from grader.authoring.failures import NotAttempted
from grader.course.model import load_course
from grader.engine.results import CheckResult
from grader.printable import printable

# The checks of nbgrader's written answers (grader.integrations.nbgrader.notebooks): graded by hand.
WRITTEN_PREFIX = "written_"

COLUMNS = ["student", "exercise", "check", "score", "max_score", "status", "message",
           "hidden", "duration_s", "seed", "grader_version", "course_version",
           "hypothesis_version", "numpy_version"]


def rows(student: str, results: Iterable[CheckResult]) -> list[dict]:
    """Gradebook rows, each with what reproduces it: Hypothesis draws the same examples
    for the same check, course seed (each check's seed derives from it and the check's name)
    and Hypothesis version."""
    import hypothesis
    import numpy

    course = load_course()
    return [{"student": student, "exercise": r.exercise, "check": r.check, "score": r.score,
             "max_score": r.max_score, "status": r.status, "message": r.message,
             "hidden": r.hidden, "duration_s": r.duration_s, "seed": course.seed,
             "grader_version": __version__, "course_version": course.version,
             "hypothesis_version": hypothesis.__version__, "numpy_version": numpy.__version__}
            for r in results]


def stored_fields(status: str, message: str) -> tuple[bool, str]:
    """CheckResult's `attempted` and `function` for a row read back with STATUS and MESSAGE.

    A row keeps a not-attempted result as status "failed" and NotAttempted's message: COLUMNS
    and the status values are the gradebook's format, which every export and every existing
    gradebook share. So reading a row back recovers `attempted` from that message, here and
    nowhere else; of `function`, a row keeps only a stub's ("" for every other row).
    """
    function = NotAttempted.function_in(message) if status == "failed" else None
    return function is None, function or ""


def write_csv(all_rows: list[dict], path: Path, columns: list[str] | None = None) -> None:
    """The rows as CSV, written as pandas' `to_csv(index=False)` writes them, with every text
    made printable (grader.printable): an instructor may well `cat` it."""
    columns = columns or COLUMNS
    all_rows = _printable_rows(all_rows, columns)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    converters = _csv_converters(all_rows, columns)
    if converters is not None:
        # Importing pandas only for this costs 0.3-0.4 s at the end of every grading run.
        # pandas writes with the csv module; for the kinds of columns rows have here its
        # only rules of its own are that a missing value (None, NaN) is an empty field and
        # that a column of ints with a float or a missing value is a float column.
        # Anything else (a column mixing ints and strings, an int beyond int64) goes
        # through pandas.
        with tmp.open("w", newline="") as file:
            writer = csv.writer(file, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows([convert(row.get(c)) for c, convert in zip(columns, converters)]
                             for row in all_rows)
    else:
        import pandas as pd

        pd.DataFrame(all_rows, columns=columns).to_csv(tmp, index=False)
    tmp.replace(path)  # never leave a half-written gradebook behind


def _printable_rows(all_rows: list[dict], columns: list[str]) -> list[dict]:
    """ALL_ROWS with every text in COLUMNS made printable (copies of the rows, when any
    text changes). A column is first tested as one string: that costs one scan, where
    taking its values one by one would cost as much as writing the file."""
    out = all_rows
    for column in columns:
        texts = "\n".join(v for row in all_rows if isinstance(v := row.get(column), str))
        if printable(texts) == texts:
            continue
        if out is all_rows:
            out = [dict(row) for row in all_rows]
        for row in out:
            if isinstance(value := row.get(column), str):
                row[column] = printable(value)
    return out


def _missing(value: object) -> bool:
    return value is None or (type(value) is float and math.isnan(value))


def _as_written(value: object) -> object:
    return None if _missing(value) else value


def _as_float(value: object) -> object:
    return None if _missing(value) else float(value)  # type: ignore[arg-type]


def _csv_converters(all_rows: list[dict], columns: list[str]) -> list | None:
    """For each column, what turns a value into what pandas writes for it; None when a
    column is not one the csv module can write exactly as pandas does."""
    converters = []
    for column in columns:
        values = [row.get(column) for row in all_rows]
        kinds = {type(v) for v in values if not _missing(v)}
        if not kinds <= {str, int, float, bool} or \
                any(type(v) is int and not -2**63 <= v < 2**63 for v in values):
            return None
        if kinds and kinds <= {int, float} and (float in kinds or any(map(_missing, values))):
            converters.append(_as_float)  # pandas makes it a float64 column
        elif len(kinds) <= 1:
            converters.append(_as_written)
        else:
            return None  # an object column mixing kinds: pandas' rules
    return converters


def totals(all_rows: list[dict]):
    """Students x exercises: points earned, total, percent, and a row of maximum points, to
    print: student names (the index) are made printable on one line, after the pivot, so
    that two students whose names differ only in control characters stay two rows."""
    import pandas as pd

    table = pivot(pd.DataFrame(all_rows, columns=COLUMNS))
    if not table.empty:
        table.index = pd.Index([printable(str(name), newlines=False) for name in table.index],
                               name=table.index.name)
    return table


def _exercises_of(rows, index):
    """Per student of INDEX, the exercises ROWS touch, in order, comma-separated ("" if none)."""
    return (rows.groupby("student")["exercise"].agg(lambda ex: ", ".join(dict.fromkeys(ex)))
            .reindex(index).fillna(""))


def pivot(frame):
    """A long gradebook FRAME (one row per check, at least the COLUMNS) as students x exercises:
    points earned, total, percent, did_not_run (exercises whose code did not run as it
    should), to_hand_grade (with nbgrader's written answers: exercises with answers waiting for
    a grader), and a first row "(max)" of maximum points.

    Exercises are in course order; one the course no longer has (an older gradebook) comes
    after them rather than being dropped. The "(max)" row is added apart from the students so
    that a student folder named "(max)" cannot overwrite it.
    """
    import pandas as pd

    if frame.empty:
        return frame
    present = list(dict.fromkeys(frame["exercise"]))
    order = [ex for ex in load_course().exercises if ex in present]
    order += [ex for ex in present if ex not in order]
    wide = frame.pivot_table(index="student", columns="exercise", values="score",
                             aggfunc="sum", sort=False)[order]
    maxima = frame.pivot_table(index="student", columns="exercise", values="max_score",
                               aggfunc="sum", sort=False)[order].iloc[0]
    wide["total"] = wide.sum(axis=1)
    wide["percent"] = (100 * wide["total"] / maxima.sum()).round(1)
    # Two different things, each its own column. "did_not_run": the code did not run as it
    # should (error, missing, bad_file, timeout, memory, crashed, forbidden), so its checks
    # could not judge it. "to_hand_grade" (nbgrader only, where written answers are rows):
    # answers waiting for a grader, which says nothing wrong about the student. "manual" is a
    # score a person gave in the formgrader, and a blank written answer costs its points:
    # neither needs a note.
    written = frame["check"].astype(str).str.startswith(WRITTEN_PREFIX)
    code = frame[~written & ~frame["status"].isin(["passed", "failed", "manual"])]
    wide["did_not_run"] = _exercises_of(code, wide.index)
    extra = [""]
    if written.any():
        wide["to_hand_grade"] = _exercises_of(frame[written & (frame["status"] == "ungraded")],
                                              wide.index)
        extra.append("")
    top = pd.DataFrame([[*maxima.tolist(), maxima.sum(), 100.0, *extra]], columns=wide.columns,
                       index=pd.Index(["(max)"], name=wide.index.name))
    return pd.concat([top, wide])
