"""`grader report OUT`: every report from the gradebook, into OUT/reports/.

    OUT/reports/gradebook_long.csv, gradebook_wide.csv      (format long, wide)
    OUT/reports/nbgrader_export.csv                         (nbgrader)
    OUT/reports/otter_final_grades.csv                      (otter)
    OUT/reports/canvas_import.csv                           (canvas)
    OUT/reports/gradebook.xlsx                              (excel)
    OUT/reports/class_report.html                           (html)
    OUT/reports/students/<name>/results.json                (gradescope)
    OUT/reports/students/<name>/junit.xml                   (junit)
    OUT/reports/students/<name>/feedback.html               (feedback)
    OUT/reports/class_report.png, students/<first>/feedback.png   (screenshot; not by default)

`<name>` is the student's folder name when it is a plain file name, else a safe version of
it with a hash (grader.reports.safe.slugs). With `--submissions ROOT`, students' curves are
computed first (their code in sandboxed workers, grader.reports.curves) for the plots of
their feedback; without it, the curves stored by an earlier run are used, if any.

The per-student files of a large class are written by as many processes as there are cores
(forked after the gradebook is loaded, so each inherits it instead of reloading it).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from grader.reports import data as data_module
from grader.reports import excel, gradescope, html, junit, tables
from grader.reports.data import ClassData, ReportError
from grader.reports.safe import slugs

CLASS_FORMATS = ("long", "wide", "nbgrader", "otter", "canvas", "excel", "html")
STUDENT_FORMATS = ("gradescope", "junit", "feedback")
FORMATS = (*CLASS_FORMATS, *STUDENT_FORMATS, "screenshot")
DEFAULT_FORMATS = (*CLASS_FORMATS, *STUDENT_FORMATS)
PARALLEL_FROM = 40  # students; below this, forking costs more than it saves

_STATE: dict[str, Any] = {}  # what forked processes inherit: the data and the folder


def parse_formats(values: Iterable[str] | None) -> list[str]:
    """`--format` values (repeatable, comma-separated, or "all") as a list of formats."""
    chosen: list[str] = []
    for value in values or ["all"]:
        for name in (v.strip().lower() for v in value.split(",")):
            if not name:
                continue
            if name == "all":
                chosen += DEFAULT_FORMATS
            elif name in FORMATS:
                chosen.append(name)
            else:
                raise ReportError(f"unknown report format {name!r}; the formats are "
                                  f"{', '.join(FORMATS)} (or all)")
    return list(dict.fromkeys(chosen))


def build_reports(output: Path, formats: Sequence[str] | None = None, *,
                  dest: Path | None = None, submissions: Path | None = None,
                  roster: Path | None = None, workers: int | None = None,
                  log: Callable[[str], Any] = print,
                  scheduler: str | None = None) -> list[Path]:
    """Write the FORMATS (default: all but screenshot) of OUTPUT's gradebook into DEST
    (default OUTPUT/reports). Returns the files written."""
    from grader.reports.curves import load_curves, reference_curves, update_curves

    formats = list(formats) if formats else list(DEFAULT_FORMATS)
    output = Path(output)
    dest = Path(dest) if dest else output / "reports"
    workers = max(1, workers or os.cpu_count() or 1)
    if submissions is not None and "feedback" in formats:
        traced = update_curves(output, submissions, workers=workers, log=log,
                               scheduler=scheduler)
        log(f"grader report: traced the curves of {traced} student(s).")
    curves = load_curves(output) if "feedback" in formats else {}
    data = data_module.load(output, roster=roster, curves=curves)
    names = slugs(data.names)
    per_student = [f for f in STUDENT_FORMATS if f in formats]
    if per_student and data.curves and "feedback" in per_student:
        reference_curves()  # computed once here; forked processes inherit it
    # The students' files are written by forked processes while this one writes the class's.
    pending = _start_students(data, names, dest / "students", per_student, workers) \
        if per_student and data.names else None
    written: list[Path] = []
    try:
        for kind in ("long", "wide", "nbgrader", "otter", "canvas"):
            if kind in formats:
                written.append(tables.write_table(data, kind, dest))
        if "excel" in formats:
            written.append(excel.write_workbook(data, dest / "gradebook.xlsx"))
        if "html" in formats:
            hrefs = ({s: f"students/{slug}/feedback.html" for s, slug in names.items()}
                     if "feedback" in formats or (dest / "students").is_dir() else {})
            written.append(html.write_class_report(data, dest / "class_report.html", hrefs))
    finally:
        if pending is not None:
            written += pending()
    if "screenshot" in formats:
        from grader.reports.screenshot import screenshot_reports

        first = dest / "students" / names[data.names[0]] / "feedback.html" if data.names \
            else None
        written += screenshot_reports(dest, first)
    return written


def _start_students(data: ClassData, names: dict[str, str], folder: Path,
                    formats: list[str], workers: int) -> Callable[[], list[Path]]:
    """Start writing every student's files; returns the function that waits for them."""
    students = data.names
    _STATE.update(data=data, names=names, folder=folder, formats=formats)
    if workers == 1 or len(students) < PARALLEL_FROM:
        def in_this_process() -> list[Path]:
            try:
                return _write_students(students)
            finally:
                _STATE.clear()
        return in_this_process
    chunks = [students[i::workers] for i in range(workers)]
    pool = ProcessPoolExecutor(max_workers=workers,
                               mp_context=multiprocessing.get_context("fork"))
    try:
        futures = [pool.submit(_write_students, chunk) for chunk in chunks]
    finally:
        _STATE.clear()  # the children have their copy (forked at submit)

    def wait() -> list[Path]:
        try:
            return [path for future in futures for path in future.result()]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    return wait


def _write_students(students: list[str]) -> list[Path]:
    """The per-student files of STUDENTS (in this process, or in a forked one)."""
    data: ClassData = _STATE["data"]
    names: dict[str, str] = _STATE["names"]
    folder: Path = _STATE["folder"]
    formats: list[str] = _STATE["formats"]
    figure = None
    if "feedback" in formats and data.curves:
        from grader.reports.curves import plot_hooks, reference_curves
        from grader.reports.plots import StudentFigure

        # Curves stored by an earlier run of a course that has no plot hooks now: no figure.
        figure = StudentFigure(reference_curves()) if plot_hooks() else None
    written = []
    for student in students:
        target = folder / names[student]
        rows = data.rows_of(student)
        late = data.late_of(student)
        if "gradescope" in formats:
            written.append(gradescope.write_results_json(rows, target / "results.json",
                                                         late=late))
        if "junit" in formats:
            written.append(junit.write_junit(rows, target / "junit.xml", late=late,
                                             suite_prefix=""))
        if "feedback" in formats:
            plot, notes = None, None
            if figure is not None and student in data.curves:
                plot, notes = figure.render(data.curves[student])
            written.append(html.write_student_feedback(data, student,
                                                       target / "feedback.html", plot, notes))
    return written
