"""Control sequences in student text reach no terminal, log or report as commands.

Threat class 11, terminal and log injection, end to end: a student's exception message,
printed output and folder name carry control sequences (clear the screen and print a fake
score, write the clipboard with OSC 52, set the window title, reverse text). `grader check`,
`grader grade` and `grader report` must show them written out, never send them.

Sinks are also tested one by one with raw text, as defence in depth: each must hold even
if text reached it by a path that skipped the point where student text enters the grader.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from support import GRADER, REFERENCE, ROOT

from grader.authoring.failures import StudentCodeError, from_description
from grader.course.model import load_course
from grader.engine.results import CheckResult
from grader.feedback.student_report import ExerciseReport
from grader.gradebook.rows import COLUMNS, totals, write_csv
from grader.printable import printable
from grader.reports.gradescope import results_json
from grader.reports.junit import junit_tree
from grader.reports.safe import neutralise, xml_text

PAYLOAD = "\x1b[2J\x1b[H22/22 all checks passed\x1b]52;c;ZXZpbA==\x07"
SHOWN = "\\x1b[2J\\x1b[H22/22 all checks passed\\x1b]52;c;ZXZpbA==\\x07"
# A folder name: set the window title, 8-bit CSI, right-to-left override.
HOSTILE_NAME = "mallory\x1b]0;pwned\x07\x9b2J\u202egnp"
# What a terminal acts on, what XML 1.0 cannot hold, what reverses text: newline aside.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

MESSAGE_RAISER = REFERENCE + (
    "\n\ndef softmax_cross_entropy(logits, y):\n"
    f"    print({PAYLOAD!r}, flush=True)\n"
    f"    raise ValueError({PAYLOAD!r})\n")
IMPORT_RAISER = f"raise RuntimeError({PAYLOAD!r})\n"
NOTEBOOK = json.dumps({
    "cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
               "source": f"raise KeyError({PAYLOAD!r})"}],
    "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def unsafe(text: str) -> list[str]:
    return sorted(set(UNSAFE.findall(text)))


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(GRADER), *args], cwd=ROOT, capture_output=True, timeout=300)


def hostile_class(root: Path) -> Path:
    """evil: softmax_ce raises (and prints) the payload, gradcheck.py raises it while it is
    imported, linreg_gd.ipynb has a cell that raises it. HOSTILE_NAME: a correct student."""
    evil = root / "evil"
    evil.mkdir(parents=True)
    (evil / "softmax_ce.py").write_text(MESSAGE_RAISER)
    (evil / "gradcheck.py").write_text(IMPORT_RAISER)
    (evil / "linreg_gd.ipynb").write_text(NOTEBOOK)
    (root / HOSTILE_NAME).mkdir()
    (root / HOSTILE_NAME / "softmax_ce.py").write_text(REFERENCE)
    return root


# ------------------------------------------------------------------ grader check


def test_grader_check_shows_an_exception_message_but_never_sends_its_sequences(tmp_path):
    evil = hostile_class(tmp_path / "class") / "evil"
    done = run("check", "softmax_ce", "gradcheck", "linreg_gd", "--hidden",
               "--submission", str(evil))
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 1, err[-2000:]
    assert unsafe(out) == [] and unsafe(err) == []
    assert b"\x1b" not in done.stdout + done.stderr and b"\x07" not in done.stdout + done.stderr
    # The instructor still reads what the student's code raised, written out.
    assert f"raised ValueError: {SHOWN}" in out
    assert f"importing gradcheck.py raised RuntimeError: {SHOWN}" in out
    assert "cell 1 of linreg_gd.ipynb raised KeyError" in out
    assert out.rstrip().endswith("points: some checks did not pass.")


def test_grader_check_shows_a_hostile_folder_name_written_out(tmp_path):
    folder = hostile_class(tmp_path / "class") / HOSTILE_NAME
    done = run("check", "softmax_ce", "--submission", str(folder))
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert unsafe(out) == [] and unsafe(done.stderr.decode()) == []
    assert printable(HOSTILE_NAME) in out


# ------------------------------------------------------------------ grader grade, report


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("injection")
    root = hostile_class(tmp / "class")
    out = tmp / "out"
    done = run("grade", str(root), "--output", str(out), "--workers", "1")
    return {"run": done, "out": out, "tmp": tmp}


def test_grader_grade_prints_no_control_sequence(graded):
    done = graded["run"]
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0, err[-3000:]
    assert unsafe(out) == [], out
    # The progress bar draws with carriage returns (tqdm's own); nothing else may appear.
    assert unsafe(err.replace("\r", "")) == [], err
    assert printable(HOSTILE_NAME, newlines=False) in out  # the summary's row of that student


def test_gradebook_csv_holds_no_control_character(graded):
    text = (graded["out"] / "gradebook.csv").read_text()
    assert unsafe(text) == []
    assert f"raised ValueError: {SHOWN}" in text
    assert f"importing gradcheck.py raised RuntimeError: {SHOWN}" in text
    assert "cell 1 of linreg_gd.ipynb raised KeyError and was skipped" in text
    assert printable(HOSTILE_NAME) in text


def test_sqlite_gradebook_stores_messages_printable_and_names_exactly(graded):
    db = sqlite3.connect(graded["out"] / "gradebook.sqlite")
    try:
        rows = db.execute("SELECT * FROM results").fetchall()
        names = {name for (name,) in db.execute("SELECT student FROM students")}
    finally:
        db.close()
    assert names == {"evil", HOSTILE_NAME}  # the key that identifies a student is exact
    messages = [row for row in rows if row[0] == "evil"]
    assert messages and all(unsafe(str(value)) == [] for row in rows
                            for value in row[1:])
    assert any(SHOWN in str(value) for row in messages for value in row)


def test_worker_log_shows_what_was_printed_written_out(graded):
    log = (graded["out"] / "worker-logs" / "evil" / "worker.log").read_text()
    assert SHOWN in log and unsafe(log) == []


def test_grader_report_files_hold_no_control_character(graded):
    _reports_are_clean(graded["out"])


def test_grader_report_neutralises_a_gradebook_that_holds_raw_text(graded, tmp_path):
    """A gradebook written by another version or tool: the reports' own sinks must hold."""
    out = tmp_path / "out"
    shutil.copytree(graded["out"], out, ignore=shutil.ignore_patterns("reports"))
    db = sqlite3.connect(out / "gradebook.sqlite")
    with db:
        changed = db.execute("UPDATE results SET message = ? WHERE student = 'evil' AND "
                             "status = 'error'", (f"raw: {PAYLOAD} \u202eright-to-left\x00",))
        assert changed.rowcount > 0
    db.close()
    _reports_are_clean(out)


def _reports_are_clean(out: Path) -> None:
    import openpyxl

    done = run("report", str(out))
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    assert unsafe(done.stdout.decode() + done.stderr.decode()) == []
    files = [p for p in (out / "reports").rglob("*") if p.is_file()]
    suffixes = {p.suffix for p in files}
    assert {".csv", ".xml", ".json", ".html", ".xlsx"} <= suffixes
    shown_somewhere = False
    for path in files:
        if path.suffix == ".xlsx":
            book = openpyxl.load_workbook(path, read_only=True)
            cells = [str(c) for sheet in book for row in sheet.iter_rows(values_only=True)
                     for c in row if c is not None]
            book.close()
            text = "\n".join(cells)
        else:
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".json":  # JSON may escape a control character: decode it
                text = json.dumps(json.loads(text), ensure_ascii=False)
            if path.suffix == ".xml":
                ET.parse(path)  # XML 1.0 that parses
        assert unsafe(text) == [], (path, unsafe(text))
        shown_somewhere |= "\\x1b[2J" in text
    assert shown_somewhere
    long = (out / "reports" / "gradebook_long.csv").read_text()
    assert "\\x1b[2J" in long and printable(HOSTILE_NAME) in long


# ------------------------------------------------------------------ sinks, one by one


def test_a_failure_description_is_printable_in_every_field():
    failure = from_description({"kind": "error", "function": f"f{PAYLOAD}",
                                "type": f"Err{PAYLOAD}", "text": PAYLOAD,
                                "where": f"line 3, in {PAYLOAD}", "signature_mismatch": False})
    assert isinstance(failure, StudentCodeError)
    assert unsafe(failure.text()) == [] and SHOWN in failure.text()
    stub = from_description({"kind": "not_attempted", "function": PAYLOAD})
    assert unsafe(stub.text()) == []


def test_a_result_message_is_printable_however_it_was_built():
    result = CheckResult("softmax_ce", "c", "s", False, "error", 0.0, 1.0,
                         f"importing x.py raised: {PAYLOAD}")
    assert result.message == f"importing x.py raised: {SHOWN}"
    # A worker's load error chooses its status: a worker's text too.
    assert CheckResult("e", "c", "s", False, f"x{PAYLOAD}\n", 0.0, 1.0).status == \
        f"x{SHOWN}\\n"


def test_grader_check_text_is_printable_whatever_its_parts_hold():
    exercise = load_course().exercise("softmax_ce")
    result = CheckResult("softmax_ce", "c", "s", False, "error", 0.0, 1.0, "fine")
    report = ExerciseReport(exercise, [result], f"/class/{HOSTILE_NAME}\nforged/softmax_ce.py")
    text = report.text()
    assert unsafe(text) == [] and "\nforged" not in text
    assert unsafe(report.html()) == []


def test_gradebook_csv_writer_makes_raw_rows_printable(tmp_path):
    row = dict.fromkeys(COLUMNS, "x") | {"student": HOSTILE_NAME, "message": PAYLOAD,
                                         "score": 0.0, "max_score": 1.0}
    write_csv([row], tmp_path / "g.csv")
    text = (tmp_path / "g.csv").read_text()
    assert unsafe(text) == [] and SHOWN in text and row["message"] == PAYLOAD  # not mutated


def test_the_summary_table_shows_names_on_one_line():
    exercises = list(load_course().exercises)
    rows = [dict.fromkeys(COLUMNS, "") | {"student": name, "exercise": exercises[0],
                                          "check": "c", "score": 1.0, "max_score": 1.0,
                                          "status": "passed"}
            for name in (HOSTILE_NAME, "new\nline\x1b[2J")]
    shown = totals(rows).to_string()
    assert unsafe(shown) == [] and "new\\nline\\x1b[2J" in shown


def test_report_sinks_make_raw_text_printable():
    rows = [{"student": HOSTILE_NAME, "exercise": "softmax_ce", "check": f"c{PAYLOAD}",
             "score": 0.0, "max_score": 1.0, "status": "error", "message": PAYLOAD,
             "hidden": False, "duration_s": 0.1, "statement": PAYLOAD}]
    document = results_json(rows)
    assert unsafe(json.dumps(document, ensure_ascii=False)) == []
    assert document["tests"][0]["output"] == f"{SHOWN}\n[error] {SHOWN}"
    xml = ET.tostring(junit_tree(rows).getroot(), encoding="unicode")
    assert unsafe(xml) == [] and SHOWN in xml
    ET.fromstring(xml)
    assert neutralise(PAYLOAD) == SHOWN and neutralise("=1" + PAYLOAD) == "'=1" + SHOWN
    assert xml_text("a\x00b\ud800") == "a\\x00b\\ud800"


def test_worker_output_log_is_printable():
    from grader.sandbox.output_cap import CappedOutput

    output = CappedOutput(limit=1024)
    os.write(output.write_fd, PAYLOAD.encode())
    assert output.finish() == SHOWN


def test_ci_summary_and_annotations_are_printable(tmp_path):
    from grader.integrations.ci.annotations import annotations
    from grader.integrations.ci.summary import summary_markdown

    source = tmp_path / HOSTILE_NAME / "softmax_ce.py"
    source.parent.mkdir()
    source.write_text(MESSAGE_RAISER)
    result = CheckResult("softmax_ce", "loss_pinned_values", "s", False, "error", 0.0, 2.0,
                         f"`softmax_cross_entropy` raised ValueError: {PAYLOAD}")
    report = ExerciseReport(load_course().exercise("softmax_ce"), [result], str(source))
    summary = summary_markdown([report], student=HOSTILE_NAME)
    assert unsafe(summary) == [] and "\\x1b" in summary
    commands = annotations([report], tmp_path)
    assert commands and all(unsafe(c) == [] for c in commands)
    assert "\\x1b]0;pwned" in commands[0]  # the file property, written out


def test_grader_collect_prints_names_and_problems_printable(tmp_path, capsys):
    from grader.integrations.ci.collect import collect

    source = tmp_path / "submissions"
    (source / HOSTILE_NAME).mkdir(parents=True)
    (source / HOSTILE_NAME / "softmax_ce.py").symlink_to(tmp_path)  # reported as a problem
    (source / f"{HOSTILE_NAME}.zip").write_bytes(b"PK not a zip")  # and a name clash
    (source / "link\x1b[2J\x07").symlink_to(tmp_path)
    assert collect([source], tmp_path / "out", ["softmax_ce"]) == 0
    printed = capsys.readouterr()
    assert unsafe(printed.out) == [] and unsafe(printed.err) == []
    assert printable(HOSTILE_NAME, newlines=False) in printed.out
    assert "is a symbolic link" in printed.out and "is a symbolic link" in printed.err
