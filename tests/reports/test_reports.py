"""Every `grader report` export reads back right, with hostile names and messages.

`grader report`: every export from a real SQLite gradebook with hostile names and messages,
late and missing submissions, an empty class. Files are read back with the libraries their
users read them with (pandas, openpyxl, json, ElementTree)."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from support import GRADER, course_copy

from grader.authoring.checks import checks_for
from grader.cli.commands import main
from grader.course.model import load_course
from grader.gradebook.store import Gradebook
from grader.printable import printable
from grader.reports.build import DEFAULT_FORMATS, build_reports, parse_formats
from grader.reports.data import NO_SUBMISSION, ReportError
from grader.reports.safe import neutralise, neutralise_frame, slugs
from grader.submission.times import SubmissionTime

FORMULAS = ['=HYPERLINK("http://evil.example","click")', "+1+1", "-2", "@SUM(A1)",
            " =1+1", "\t=1"]
PLAIN = ["ann", "comma, name", 'quote"s \'both\'', "new\nline", "<script>alert(1)</script>",
         "ünïcödé 学生 🙂", "Robert'); DROP TABLE results;--"]
LATE = "late_lee"
EMPTY = "empty_folder"
GHOST = "ghost"  # on the roster, never submitted
EVIL_MESSAGE = "=1+1 </pre><script>alert('x')</script> & \x00\x07 bell\ud800"


def rows_for(student: str, passed: float, message: str = "wrong") -> list[dict]:
    course = load_course()
    out = []
    for ex in course.exercises:
        for i, c in enumerate(checks_for(ex, include_hidden=True)):
            ok = (i % 10) < passed * 10
            status = "missing" if passed < 0 else "passed" if ok else "failed"
            out.append({"student": student, "exercise": ex, "check": c.name,
                        "score": c.points if status == "passed" else 0.0,
                        "max_score": c.points, "status": status,
                        "message": "" if ok else (f"Hidden check failed: {c.statement}"
                                                  if c.hidden else message),
                        "hidden": c.hidden, "duration_s": 0.01, "seed": course.seed,
                        "grader_version": "t", "course_version": course.version,
                        "hypothesis_version": "h", "numpy_version": "n"})
    return out


def times(when: datetime | None) -> dict[str, SubmissionTime]:
    value = SubmissionTime(when.isoformat(), "timestamp.txt") if when else SubmissionTime("", "")
    return dict.fromkeys(load_course().exercises, value)


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out")
    tokyo = timezone(timedelta(hours=9))
    with Gradebook.in_folder(out) as book:
        for name in [*PLAIN, *FORMULAS]:
            book.record_student(name, "h", "k", "i", rows_for(name, 0.7),
                                times(datetime(2026, 12, 1, 9, 0, tzinfo=tokyo)))
        # softmax_ce is due 2026-12-04 23:59 UTC; this is 2026-12-06 10:00 UTC: two days late
        # for the first two exercises, on time for the others (due a week later).
        book.record_student(LATE, "h", "k", "i", rows_for(LATE, 0.8, EVIL_MESSAGE),
                            times(datetime(2026, 12, 6, 19, 0, tzinfo=tokyo)))
        book.record_student(EMPTY, "h", "k", "i", rows_for(EMPTY, -1, "No file."), times(None))
    roster = out / "roster.csv"
    pd.DataFrame([{"student": "ann", "name": "Ann Example", "first_name": "Ann",
                   "last_name": "Example", "email": "ann@example.org", "id": "101",
                   "sis_user_id": "S101", "sis_login_id": "ann1", "section": "A"},
                  {"student": GHOST, "name": "Gus Ghost", "first_name": "", "last_name": "",
                   "email": "", "id": "102", "sis_user_id": "", "sis_login_id": "",
                   "section": "B"}]).to_csv(roster, index=False)
    build_reports(out, DEFAULT_FORMATS, roster=roster, workers=1, log=lambda _: None)
    return out / "reports"


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False)


ALL = [*PLAIN, *FORMULAS, LATE, EMPTY, GHOST]


def test_csv_exports_keep_names_exact_and_neutralise_formulas(reports):
    wide = read_csv(reports / "gradebook_wide.csv")
    assert sorted(wide["student"]) == sorted(neutralise(n) for n in ALL)
    for name in FORMULAS:  # printable: the tab of "\t=1" is written as spaces
        assert "'" + printable(name) in set(wide["student"])
    for name in PLAIN:
        assert name in set(wide["student"])
    for column in ["total", "final", "late_penalty", "percent"]:
        assert pd.api.types.is_float_dtype(wide[column]), column
    long = read_csv(reports / "gradebook_long.csv")
    assert set(long["student"]) == set(wide["student"])
    assert len(long) == len(ALL) * sum(len(checks_for(ex, include_hidden=True))
                                      for ex in load_course().exercises)
    evil = long[(long["student"] == LATE) & (long["status"] == "failed") & ~long["hidden"]]
    assert set(evil["message"]) == {"'" + printable(EVIL_MESSAGE)}
    for path in reports.glob("*.csv"):  # no cell anywhere can start a formula
        for value in read_csv(path).astype(str).to_numpy().ravel():
            assert not value.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r")), (path, value)


def test_negative_numbers_stay_numbers_and_text_that_looks_like_one_is_neutralised():
    frame = pd.DataFrame({"name": ["-2", "ann", None], "delta": [-2.5, 0.0, 3.0],
                          "mixed": ["=x", -1, None]})
    out = neutralise_frame(frame)
    assert out["delta"].tolist() == [-2.5, 0.0, 3.0] and out["delta"].dtype == float
    assert out["name"].tolist()[:2] == ["'-2", "ann"] and pd.isna(out["name"].iloc[2])
    assert out["mixed"].tolist()[:2] == ["'=x", -1] and pd.isna(out["mixed"].iloc[2])
    assert neutralise(-7) == -7 and neutralise("\uff1dSUM(A1)") == "'\uff1dSUM(A1)"


def test_nbgrader_otter_and_canvas_have_their_tools_columns(reports):
    nb = read_csv(reports / "nbgrader_export.csv")
    assert list(nb.columns) == ["assignment", "duedate", "timestamp", "student_id", "last_name",
                                "first_name", "email", "raw_score", "late_submission_penalty",
                                "score", "max_score"]
    assert nb[nb["student_id"] == "ann"]["email"].iloc[0] == "ann@example.org"
    late = nb[(nb["student_id"] == LATE) & (nb["assignment"] == "softmax_ce")].iloc[0]
    assert late["duedate"] == "2026-12-04 23:59:00" and late["timestamp"] == "2026-12-06 10:00:00"
    assert late["late_submission_penalty"] == pytest.approx(0.2 * late["raw_score"])
    assert late["score"] == pytest.approx(late["raw_score"] - late["late_submission_penalty"])
    canvas = read_csv(reports / "canvas_import.csv")
    ann = canvas[canvas["Student"] == "Ann Example"].iloc[0]
    assert (str(ann["ID"]), ann["SIS User ID"], ann["SIS Login ID"], ann["Section"]) == \
        ("101", "S101", "ann1", "A")


def test_otter_columns_mean_what_otter_computes(reports):
    """Otter's final_grades.csv (otter/grade/utils.py, Otter >= 5.6): a first row
    `points-per-question`, then one row per submission whose `total_points_earned` is the sum
    of its question columns and `percent_correct` that over the points possible, rounded to 4
    digits. Every points column is after the late penalty; `late_penalty` adds back to the
    points from the checks (gradebook_wide's `total`)."""
    otter = read_csv(reports / "otter_final_grades.csv")
    exercises = list(load_course().exercises)
    assert list(otter.columns) == ["file", *exercises, "total_points_earned",
                                   "percent_correct", "grading_status", "late_penalty"]
    possible = otter.iloc[0]
    # Otter's "--", which starts like a formula, so a spreadsheet gets it as text.
    assert possible["file"] == "points-per-question" and possible["grading_status"] == "'--"
    assert [possible[ex] for ex in exercises] == \
        [load_course().exercises[ex].points for ex in exercises]
    assert possible["total_points_earned"] == sum(possible[ex] for ex in exercises)
    assert possible["percent_correct"] == 1
    students = otter.iloc[1:].set_index("file")
    assert len(students) == len(ALL)
    for column in [*exercises, "total_points_earned", "percent_correct"]:
        assert pd.api.types.is_float_dtype(otter[column]), column
    assert (students["total_points_earned"] - students[exercises].sum(axis=1)).abs().max() < 1e-9
    assert ((students["percent_correct"] - students["total_points_earned"]
             / possible["total_points_earned"]).abs() <= 5e-5).all()
    wide = read_csv(reports / "gradebook_wide.csv").set_index("student")
    lee = students.loc[LATE]
    assert lee["late_penalty"] > 0
    assert lee["total_points_earned"] == pytest.approx(wide.loc[LATE, "final"])
    assert lee["total_points_earned"] + lee["late_penalty"] == \
        pytest.approx(wide.loc[LATE, "total"])
    # softmax_ce was two days late (20% of the points earned); xor_net was on time.
    assert lee["softmax_ce"] == pytest.approx(0.8 * wide.loc[LATE, "softmax_ce"])
    assert lee["xor_net"] == pytest.approx(wide.loc[LATE, "xor_net"])
    assert students.loc["ann", "grading_status"] == "Completed"
    assert students.loc[EMPTY, "grading_status"].startswith("Completed; problems in softmax_ce")


def test_canvas_csv_is_what_canvas_exports_and_reimports(reports):
    """canvas-lms lib/gradebook_exporter.rb writes, and gradebook_importer.rb reads back: the
    header Student, ID, SIS User ID, SIS Login ID, Section, then the assignments; the row
    "    Points Possible" first, its identity cells empty and points with two decimals; an
    assignment column is "Title (numeric id)" or, without an id, the title Canvas matches."""
    with open(reports / "canvas_import.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    course = load_course()
    titles = [course.exercises[ex].title for ex in course.exercises]
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *titles]
    assert rows[1] == ["    Points Possible", "", "", "", "",
                       *[f"{course.exercises[ex].points:.2f}" for ex in course.exercises]]
    # The importer's test for a header: "Student" first, "ID" second, "Section" last of the
    # student columns after SIS User ID and SIS Login ID; no title may parse as "Name (123)",
    # which Canvas would take for an assignment id.
    assert not any(re.fullmatch(r"(.*)\s\((\d+)\)", title) for title in titles)
    lee = next(r for r in rows if r[3] == LATE)
    wide = read_csv(reports / "gradebook_wide.csv").set_index("student")
    assert sum(float(v) for v in lee[5:]) == pytest.approx(wide.loc[LATE, "final"])


def test_a_canvas_id_in_the_course_titles_the_column_as_canvas_does(tmp_path):
    course = course_copy(tmp_path)
    config = course / "course_config.py"
    text = config.read_text()
    entry = '"softmax_ce": {\n'
    config.write_text(text.replace(entry, entry + '        "canvas_id": 4321,\n', 1))
    Gradebook.in_folder(tmp_path / "out").close()
    env = {**os.environ, "GRADER_COURSE_ROOT": str(course)}
    run = subprocess.run([str(GRADER), "report", str(tmp_path / "out"), "--format", "canvas"],
                         capture_output=True, text=True, timeout=120, cwd=course, env=env)
    assert run.returncode == 0, run.stderr
    header = (tmp_path / "out" / "reports" / "canvas_import.csv").read_text().splitlines()[0]
    assert "Softmax cross-entropy and its gradient (4321)" in header.split(",")
    config.write_text(text.replace(entry, entry + '        "canvas_id": "softmax",\n', 1))
    run = subprocess.run([str(GRADER), "report", str(tmp_path / "out"), "--format", "canvas"],
                         capture_output=True, text=True, timeout=120, cwd=course, env=env)
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert "canvas_id must be the Canvas assignment's number" in run.stderr, run.stderr


def test_a_student_without_submission_gets_zero_with_status_missing(reports):
    wide = read_csv(reports / "gradebook_wide.csv").set_index("student")
    for name in (EMPTY, GHOST):
        assert wide.loc[name, "final"] == 0 and "softmax_ce" in wide.loc[name, "problems"]
    long = read_csv(reports / "gradebook_long.csv")
    assert set(long[long["student"] == GHOST]["status"]) == {"missing"}
    assert set(long[long["student"] == GHOST]["message"]) == {NO_SUBMISSION}
    assert "submission time unknown" in wide.loc[EMPTY, "late"]


def test_the_late_penalty_shows_in_every_report(reports):
    wide = read_csv(reports / "gradebook_wide.csv").set_index("student")
    row = wide.loc[LATE]
    assert row["late_penalty"] > 0 and row["final"] == pytest.approx(row["total"] -
                                                                     row["late_penalty"])
    assert "softmax_ce: 2 days late" in row["late"] and "linreg_gd" not in row["late"]
    assert wide.loc["ann", "late_penalty"] == 0
    otter = read_csv(reports / "otter_final_grades.csv").set_index("file")
    assert otter.loc[LATE, "late_penalty"] == pytest.approx(row["late_penalty"])
    assert otter.loc[LATE, "total_points_earned"] == pytest.approx(row["final"])
    workbook = load_workbook(reports / "gradebook.xlsx", read_only=True)
    summary = list(workbook["Summary"].values)
    header = summary[0]
    lee = next(r for r in summary if r[0] == LATE)
    assert lee[header.index("late_penalty")] == pytest.approx(row["late_penalty"])
    student = reports / "students" / slugs(ALL)[LATE]
    result = json.loads((student / "results.json").read_text())
    assert result["score"] == pytest.approx(row["final"])
    # Before publication students see the late policy that applies, never the total.
    assert "2 days late" in result["output"] and f"{row['final']:g}" not in result["output"]
    penalty = result["tests"][-1]
    assert penalty["visibility"] == "after_published"
    assert f"Score after the late penalty: {row['final']:g}/" in penalty["output"]
    props = {p.get("name"): p.get("value")
             for p in ET.parse(student / "junit.xml").getroot().find("testsuite").iter("property")}
    assert float(props["late_penalty"]) > 0 and "2 days late" in props["late"]
    assert "2 days late" in (student / "feedback.html").read_text()
    assert "2 days late" in (reports / "class_report.html").read_text()


def test_excel_workbook_has_sheets_frozen_headers_widths_and_no_formulas(reports):
    workbook = load_workbook(reports / "gradebook.xlsx")
    assert workbook.sheetnames == ["Summary", *load_course().exercises, "Checks"]
    for sheet in workbook.worksheets:
        assert sheet.freeze_panes in ("B2", "B3", "A2")
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
        for header in next(sheet.iter_rows(max_row=1)):
            width = sheet.column_dimensions[header.column_letter].width
            assert width >= len(str(header.value)), (sheet.title, header.value)
    names = [row[0].value for row in workbook["Summary"].iter_rows(min_row=2)]
    assert "'" + FORMULAS[0] in names and "ünïcödé 学生 🙂" in names and "new\nline" in names
    softmax = workbook["softmax_ce"]
    assert softmax["A2"].value == "(max)" and softmax["B2"].value == 2 and softmax["A2"].font.b
    assert not softmax["A3"].font.b


def test_gradescope_results_and_junit_per_student(reports):
    folders = {p.name for p in (reports / "students").iterdir()}
    assert folders == set(slugs(ALL).values())
    for name in ALL:
        folder = reports / "students" / slugs(ALL)[name]
        result = json.loads((folder / "results.json").read_text())
        assert set(result) == {"score", "execution_time", "output", "visibility",
                               "stdout_visibility", "tests", "leaderboard"}
        assert isinstance(result["execution_time"], float)
        hidden = [t for t in result["tests"] if t["name"].split(": ")[-1] in
                  {c.name for ex in load_course().exercises
                   for c in checks_for(ex, True) if c.hidden}]
        assert hidden and {t["visibility"] for t in hidden} == {"after_published"}
        assert {t["status"] for t in result["tests"]} <= {"passed", "failed"}
        root = ET.parse(folder / "junit.xml").getroot()  # parses: valid XML
        cases = root.findall("./testsuite/testcase")
        checks = [t for t in result["tests"] if "max_score" in t]  # not "Late penalty"
        assert int(root.get("tests")) == len(cases) == len(checks)
        failed = sum(1 for t in checks if t["status"] == "failed")
        assert int(root.get("failures")) + int(root.get("errors")) == failed
    lee = ET.parse(reports / "students" / slugs(ALL)[LATE] / "junit.xml").getroot()
    text = next(f.text for f in lee.iter("failure"))
    assert "</pre><script>" in text and "\x00" not in text


def test_html_reports_escape_everything_students_control(reports):
    pages = [reports / "class_report.html", *(reports / "students").glob("*/feedback.html")]
    assert len(pages) == 1 + len(ALL)
    for page in pages:
        html = page.read_text()
        assert "<script" not in html, page
        assert "Content-Security-Policy" in html
    report = (reports / "class_report.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report
    assert "ünïcödé 学生 🙂" in report and "comma, name" in report
    for name, slug in slugs(ALL).items():
        assert f'href="students/{slug}/feedback.html"' in report, name
    lee = (reports / "students" / slugs(ALL)[LATE] / "feedback.html").read_text()
    assert "&lt;/pre&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp;" in lee
    assert "No plots" in lee  # no curves were traced for this gradebook


def test_the_class_report_ranks_failing_checks_with_their_diagnoses(tmp_path):
    course = load_course()
    diagnosis = ("dlogits does not match.\nLikely mistake: every entry is {} times the "
                 "expected: divide the gradient by the batch size N={}.")
    with Gradebook.in_folder(tmp_path) as book:
        for i in range(6):
            rows = rows_for(f"s{i}", 1.0)
            for row in rows:
                if row["check"] == "gradient_matches_central_differences" and i < 4:
                    row.update(status="failed", score=0.0,
                               message=diagnosis.format(i + 2, i + 2))
                if row["exercise"] == "xor_net" and i == 5:
                    row.update(status="failed", score=0.0,
                               message="Not attempted yet: `train` still raises")
            book.record_student(f"s{i}", "h", "k", "i", rows)
    build_reports(tmp_path, ["html"], workers=1, log=lambda _: None)
    report = (tmp_path / "reports" / "class_report.html").read_text()
    hardest = report[report.index('id="hardest"'):]
    first = hardest[:hardest.index("</tr>", hardest.index("<tbody>"))]
    assert "gradient_matches_central_differences" in first and "4/6" in first
    assert "divide the gradient by the batch size N=" in first and "(4 students)" in first
    assert "xor_net" not in hardest[:hardest.index("</table>")]  # not attempted: not ranked
    assert course.name in report


def test_an_empty_gradebook_gives_empty_but_valid_reports(tmp_path):
    Gradebook.in_folder(tmp_path).close()
    written = build_reports(tmp_path, DEFAULT_FORMATS, workers=1, log=lambda _: None)
    reports = tmp_path / "reports"
    assert {p.name for p in written} == {"gradebook_long.csv", "gradebook_wide.csv",
                                         "nbgrader_export.csv", "otter_final_grades.csv",
                                         "canvas_import.csv", "gradebook.xlsx",
                                         "class_report.html"}
    assert read_csv(reports / "gradebook_wide.csv").empty
    assert list(read_csv(reports / "gradebook_wide.csv").columns)[:2] == ["student", "softmax_ce"]
    canvas = read_csv(reports / "canvas_import.csv")
    assert len(canvas) == 1 and canvas["Student"].iloc[0].strip() == "Points Possible"
    assert load_workbook(reports / "gradebook.xlsx").sheetnames[0] == "Summary"
    assert 'id="empty"' in (reports / "class_report.html").read_text()


def test_slugs_are_safe_distinct_file_names():
    names = ["ann", "Ann", "../etc", "a/b", ".", "..", "", "x" * 300, "ünï", "a b", "a_b"]
    out = slugs(names)
    assert len(set(v.lower() for v in out.values())) == len(names)
    for slug in out.values():
        assert slug and "/" not in slug and not slug.startswith(".") and len(slug) <= 80
    assert out["ann"] == "ann" and out["a_b"] == "a_b"


def test_cli_report_errors_are_clear(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "no gradebook" in capsys.readouterr().err
    Gradebook.in_folder(tmp_path).close()
    assert main(["report", str(tmp_path), "--format", "csv"]) == 2
    assert "unknown report format 'csv'" in capsys.readouterr().err
    assert main(["report", str(tmp_path), "--format", "wide,long"]) == 0
    assert (tmp_path / "reports" / "gradebook_wide.csv").is_file()
    roster = tmp_path / "roster.csv"
    roster.write_text("name,email\nAnn,a@x\n")
    assert main(["report", str(tmp_path), "--roster", str(roster)]) == 2
    assert "needs a 'student' column" in capsys.readouterr().err


def test_format_lists():
    assert parse_formats(None) == list(DEFAULT_FORMATS)
    assert parse_formats(["wide, long", "wide", "screenshot"]) == ["wide", "long", "screenshot"]
    with pytest.raises(ReportError, match="unknown report format"):
        parse_formats(["pdf"])


def test_a_malformed_late_policy_stops_grader_report_naming_the_field(tmp_path):
    course = course_copy(tmp_path)
    config = course / "course_config.py"
    config.write_text(config.read_text().replace('"penalty_per_day": 0.10',
                                                 '"penalty_per_day": "10%"'))
    Gradebook.in_folder(tmp_path / "out").close()
    run = subprocess.run([str(GRADER), "report", str(tmp_path / "out")], capture_output=True,
                         text=True, timeout=120, cwd=course,
                         env={**os.environ, "GRADER_COURSE_ROOT": str(course)})
    assert run.returncode == 3
    assert 'LATE_POLICY["penalty_per_day"] must be a number from 0 to 1' in run.stderr
    assert "'10%'" in run.stderr and "Traceback" not in run.stderr
