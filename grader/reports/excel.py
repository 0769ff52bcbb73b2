"""The gradebook as an Excel workbook, built with openpyxl.

- "Summary": one row per student: points per exercise, total, percent, late penalty, final,
  lateness and problems;
- one sheet per exercise: one column per check (its points), then the exercise's total, late
  penalty and final points, with a "(max)" row under the header;
- "Checks": each check's statement, points and visibility, so the sheets' column names
  can be looked up.
Every sheet has its header frozen (and the student column), bold headers and column widths
that fit their contents. Text cells are neutralised (grader.reports.safe) so a student named
`=HYPERLINK(...)` stays text; numbers stay numbers.

Written in openpyxl's write-only mode (streamed, several times faster than building the
whole workbook in memory, which matters for a class of a thousand).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from grader.reports.data import ClassData
from grader.reports.safe import neutralise

MAX_WIDTH = 60
_BOLD = Font(bold=True)
_SHEET_UNSAFE = re.compile(r"[\[\]:*?/\\]")


def write_workbook(data: ClassData, path: Path) -> Path:
    workbook = Workbook(write_only=True)
    summary = data.students.reset_index()
    _sheet(workbook, "Summary", list(summary.columns), summary.itertuples(index=False),
           frozen="B2", widths=_widths(summary))
    titles: set[str] = {"summary", "checks"}
    for ex in data.exercises:
        frame = _exercise_frame(data, ex)
        maxima = ["(max)", *_check_maxima(data, ex, list(frame.columns[1:-4])),
                  data.max_points[ex], "", data.max_points[ex], ""]
        _sheet(workbook, _sheet_title(ex, titles), list(frame.columns),
               frame.itertuples(index=False), frozen="B3", widths=_widths(frame),
               bold_row=maxima)
    checks = (data.checks.drop_duplicates(["exercise", "check"])
              [["exercise", "check", "statement", "max_score", "hidden"]])
    _sheet(workbook, "Checks", list(checks.columns), checks.itertuples(index=False),
           frozen="A2", widths=_widths(checks))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    workbook.save(tmp)
    tmp.replace(path)
    return path


def _exercise_frame(data: ClassData, ex: str) -> pd.DataFrame:
    rows = data.checks[data.checks["exercise"] == ex]
    per_check = rows.pivot_table(index="student", columns="check", values="score",
                                 aggfunc="sum", sort=False)
    order = list(dict.fromkeys(rows["check"]))
    per_check = per_check.reindex(index=list(data.students.index), columns=order)
    scores = data.scores[data.scores["exercise"] == ex].set_index("student")
    problems = (rows[~rows["status"].isin(["passed", "failed"])]
                .groupby("student", sort=False)["status"]
                .agg(lambda s: ", ".join(dict.fromkeys(s))))
    frame = per_check.copy()
    frame["total"] = scores["score"].reindex(frame.index)
    frame["late_penalty"] = scores["late_penalty"].reindex(frame.index)
    frame["final"] = scores["final"].reindex(frame.index)
    frame["problems"] = problems.reindex(frame.index).fillna("")
    frame.index.name = "student"
    return frame.reset_index()


def _check_maxima(data: ClassData, ex: str, checks: Sequence[str]) -> list[float]:
    rows = data.checks[data.checks["exercise"] == ex]
    maxima = rows.groupby("check", sort=False)["max_score"].max()
    return [float(maxima.get(c, 0.0)) for c in checks]


def _sheet_title(name: str, taken: set[str]) -> str:
    """A valid, unique sheet title (at most 31 characters, none of []:*?/\\)."""
    base = _SHEET_UNSAFE.sub("_", name)[:31] or "sheet"
    title, n = base, 2
    while title.lower() in taken:
        suffix = f" ({n})"
        title, n = base[:31 - len(suffix)] + suffix, n + 1
    taken.add(title.lower())
    return title


def _sheet(workbook: Workbook, title: str, header: list[Any], rows: Iterable[Sequence[Any]],
           *, frozen: str, widths: list[float], bold_row: Sequence[Any] | None = None) -> None:
    """A sheet: HEADER in bold, then BOLD_ROW in bold (the "(max)" row: bold, so that a
    student who named their folder "(max)" cannot pass for it), then ROWS."""
    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = frozen
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    for special in (header, bold_row):
        if special is None:
            continue
        cells = []
        for value in special:
            cell = WriteOnlyCell(sheet, value=_cell_value(str(value) if special is header
                                                          else value))
            cell.font = _BOLD
            cells.append(cell)
        sheet.append(cells)
    for row in rows:
        sheet.append([_cell_value(v) for v in row])


def _cell_value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str):
        return neutralise(value)
    if hasattr(value, "item"):  # a NumPy scalar
        return value.item()
    return value


def _widths(frame: pd.DataFrame) -> list[float]:
    """Column widths (in characters) that fit the header (check names run to 70 characters)
    and the longest value's first line, that one within MAX_WIDTH (messages run long)."""
    widths = []
    for column in frame.columns:
        values = frame[column]
        if values.empty:
            longest = 0
        elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            longest = int(values.map(lambda v: len(f"{v:g}") if v == v else 0).max())
        else:
            longest = int(values.astype(str).str.split("\n").str[0].str.len().max())
        widths.append(max(len(str(column)), min(MAX_WIDTH, longest)) + 2)
    return widths
