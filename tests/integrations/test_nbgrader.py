"""The nbgrader course: what release builds, and bad notebooks on the secure grading path.

One course is released (real `nbgrader generate_assignment`, five exercises) for the module;
the bad-input class submits only softmax_ce notebooks (the other exercises are then missing,
which costs no worker), so the whole module stays cheap. The end-to-end test with students,
the exchange and both grading paths is tests/system/test_nbgrader_e2e.py.
"""

from __future__ import annotations

import ast
import copy
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from grader.authoring.checks import checks_for
from grader.course.model import load_course
from grader.course.stubs import BEGIN, END
from grader.integrations.nbgrader import nbgradebook
from grader.integrations.nbgrader.coursedir import read_course
from grader.integrations.nbgrader.kernel import CheckFailed, run_checks
from grader.integrations.nbgrader.notebooks import (
    HIDDEN_BEGIN,
    autograder_grade_id,
    source_notebook,
    split_module,
)
from grader.integrations.nbgrader.release import release_nbgrader
from grader.integrations.nbgrader.synthetic import fill_notebook, module_for, write_submission
from grader.integrations.nbgrader.written import parts_for

ROOT = Path(__file__).resolve().parents[2]
GRADER = ROOT / ".venv" / "bin" / "grader"
DEMO = ROOT / "demo" / "submissions"
ASSIGNMENT = "ps1"


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    course = tmp_path_factory.mktemp("nbcourse") / "course"
    release_nbgrader(course, assignment=ASSIGNMENT, to_exchange=False)
    return course


def _released(course: Path, ex_id: str) -> nbformat.NotebookNode:
    return nbformat.read(course / "release" / ASSIGNMENT / f"{ex_id}.ipynb", as_version=4)


def _solution_lines(ex_id: str) -> set[str]:
    """The reference's lines between the solution markers (the code students must write)."""
    lines, inside = set(), False
    for line in (ROOT / "solutions" / f"{ex_id}.py").read_text().splitlines():
        if line.strip() == BEGIN:
            inside = True
        elif line.strip() == END:
            inside = False
        elif inside and line.strip() and not line.strip().startswith("#"):
            lines.add(line.strip())
    return lines


def _hidden_check_lines(ex_id: str) -> set[str]:
    source = (ROOT / "tests" / "checks" / "hidden" / f"test_{ex_id}.py").read_text()
    tree = ast.parse(source)
    out = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            body = ast.get_source_segment(source, node) or ""
            out |= {line.strip() for line in body.splitlines()[1:]
                    if len(line.strip()) > 12 and not line.strip().startswith(('"""', "#"))}
    return out


def _code_lines(notebook: nbformat.NotebookNode) -> set[str]:
    return {line.strip() for cell in notebook.cells for line in cell.source.splitlines()}


@pytest.mark.parametrize("ex_id", list(load_course().exercises))
def test_released_notebooks_hold_no_solution_and_no_hidden_check(course, ex_id):
    released = _code_lines(_released(course, ex_id))
    source = _code_lines(nbformat.read(course / "source" / ASSIGNMENT / f"{ex_id}.ipynb", 4))
    solution = _solution_lines(ex_id)
    assert solution and solution <= source  # the grep below would find them
    assert solution & released == set()
    text = "\n".join(c.source for c in _released(course, ex_id).cells)
    assert HIDDEN_BEGIN not in text and "BEGIN SOLUTION" not in text
    for check in checks_for(ex_id, include_hidden=True):
        call = f"run_checks({ex_id!r}, {check.name!r})"
        assert (call in text) == (not check.hidden), check.name
    assert _hidden_check_lines(ex_id) & released == set()
    for part in parts_for(ex_id):  # model answers of the written parts stay with instructors
        answer = part.answer.split(BEGIN)[1].split(END)[0] if part.kind == "code" \
            else part.answer  # a code answer's scaffold outside the markers is given
        model = {line.strip() for line in answer.splitlines() if len(line.strip()) > 12}
        assert model and model <= source and model & released == set(), part.id


def test_one_test_cell_per_check_worth_its_points_and_written_parts_by_hand(course):
    for ex_id, exercise in load_course().exercises.items():
        cells = [c for c in _released(course, ex_id).cells if "nbgrader" in c.metadata]
        graded = {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader for c in cells
                  if c.metadata.nbgrader.get("grade")}
        tests = {k: v["points"] for k, v in graded.items() if not v["solution"]}
        assert tests == {autograder_grade_id(c.name): c.points
                         for c in checks_for(ex_id, include_hidden=True)}
        assert sum(tests.values()) == exercise.points
        by_hand = {k: v["points"] for k, v in graded.items() if v["solution"]}
        assert by_hand == {f"written_{k}": v for k, v in exercise.written.items()}
        assert all(graded[k]["locked"] for k in tests)
    assert load_course().exercise("softmax_ce").written
    assert len(load_course().exercise("optimizers").written) == 2


def test_gradebook_entries_and_course_copy(course):
    nb_course = read_course(course)
    cells = nbgradebook.assignment_cells(nb_course.db_url, nb_course.course_id, ASSIGNMENT)
    assert sorted(cells.notebooks) == sorted(load_course().exercises)
    snapshot = course / "grader_course"
    assert (snapshot / "course_config.py").is_file()
    assert (snapshot / "tests" / "checks" / "hidden" / "test_softmax_ce.py").is_file()
    # grade --nbgrader draws its examples from the course secret, which stays in this copy
    assert (snapshot / "course_secret.txt").read_text() == \
        (load_course().root / "course_secret.txt").read_text()
    assert snapshot.stat().st_mode & 0o077 == 0  # solutions: the instructor's eyes only
    config = (course / "nbgrader_config.py").read_text()
    assert "add_missing_cells = True" in config and "GRADER_COURSE_ROOT" in config


def test_split_module_keeps_trailing_markers_and_comments_with_their_function():
    source = ('"""Doc."""\n\nimport numpy as np\n\nK = 2\n\n\n# helper\ndef f(x):\n'
              '    """F."""\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n\n\n'
              '@staticmethod\ndef g():\n    pass\n')
    doc, blocks = split_module(source)
    assert doc == "Doc."
    assert [b.name for b in blocks] == [None, "f", "g"]
    assert blocks[1].source.startswith("# helper\ndef f(x):")
    assert blocks[1].source.endswith(END)
    assert blocks[2].source.startswith("@staticmethod")


def test_source_notebook_is_the_same_every_time():
    course = load_course()
    assert nbformat.writes(source_notebook(course, "xor_net")) == \
        nbformat.writes(source_notebook(course, "xor_net"))


def test_kernel_run_checks_prints_a_pass_and_raises_a_teaching_failure():
    namespace: dict = {}
    exec(strip(ROOT / "solutions" / "softmax_ce.py"), namespace)
    run_checks("softmax_ce", "gradient_rows_sum_to_zero", namespace=namespace)
    wrong = strip(ROOT / "solutions" / "softmax_ce.py").replace("    dlogits /= n\n", "")
    namespace = {}
    exec(wrong, namespace)
    with pytest.raises(CheckFailed) as failure:
        run_checks("softmax_ce", "gradient_matches_central_differences", namespace=namespace)
    lines = failure.value._render_traceback_()
    assert lines[0].startswith("FAILED: gradient_matches_central_differences, 0/3 points")
    assert any("batch size" in line for line in lines)
    with pytest.raises(CheckFailed) as failure:
        run_checks("softmax_ce", "gradient_matches_reference", namespace=namespace)
    text = "\n".join(failure.value._render_traceback_())
    assert "Hidden check failed" in text and "array(" not in text  # no hidden inputs


def strip(path: Path) -> str:
    from grader.course.stubs import strip_markers

    return strip_markers(path.read_text())


# ------------------------------------------------------------------------ bad notebooks


def _tests(nb) -> list:
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id", "")
            .startswith("test_")]


def _variants(released: nbformat.NotebookNode) -> dict[str, bytes | nbformat.NotebookNode]:
    good = fill_notebook(released, module_for(DEMO / "ada_correct", "softmax_ce"))
    out: dict[str, bytes | nbformat.NotebookNode] = {"control": good}
    nb = copy.deepcopy(good)
    nb.cells = [c for c in nb.cells if c not in _tests(nb)]
    out["deleted"] = nb
    nb = copy.deepcopy(good)
    nb.cells += [copy.deepcopy(c) for c in _tests(nb)]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i}"
    out["duplicated"] = nb
    nb = copy.deepcopy(good)
    tests = _tests(nb)
    nb.cells = [c for c in nb.cells if c not in tests] + tests[::-1]
    out["reordered"] = nb
    nb = copy.deepcopy(good)
    for cell in _tests(nb):
        cell.source = "print('all good')"
    out["edited"] = nb
    nb = copy.deepcopy(good)
    for cell in nb.cells:
        cell.metadata = {}
    out["stripped"] = nb
    nb = copy.deepcopy(good)
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                  text="x" * (24 * 2**20))]
    out["huge_outputs"] = nb
    nb = copy.deepcopy(good)  # a student who pastes the check under their code
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = f"from grader import check\n{cell.source}\ncheck('softmax_ce')"
    out["check_in_cells"] = nb
    # convert changes the notebook it is given: a copy, so "control" stays nbformat 4
    out["old_format"] = nbformat.writes(nbformat.convert(copy.deepcopy(good), 3),
                                        version=3).encode()
    out["invalid_json"] = b'{"cells": [{"cell_type": "code", "source": '
    return out


@pytest.fixture(scope="module")
def bad_class(course, tmp_path_factory):
    released = _released(course, "softmax_ce")
    for student, notebook in _variants(released).items():
        write_submission(course, student, ASSIGNMENT, {"softmax_ce.ipynb": notebook})
    write_submission(course, "extra_and_missing", ASSIGNMENT,
                     {"scratch.ipynb": _variants(released)["control"]})
    talker = copy.deepcopy(_variants(released)["control"])  # prints when softmax is called
    cell = next(c for c in talker.cells if "def softmax(" in c.source)
    cell.source += ("\n\n_softmax = softmax\n\n\ndef softmax(logits):\n"
                    "    print('talker called softmax')\n    return _softmax(logits)\n")
    write_submission(course, "talker", ASSIGNMENT, {"softmax_ce.ipynb": talker})
    run = subprocess.run([str(GRADER), "grade", "--nbgrader", str(course), ASSIGNMENT,
                          "--workers", "2"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    frame = pd.read_csv(course / "grader_gradebook" / ASSIGNMENT / "gradebook.csv",
                        keep_default_na=False)
    return run.stdout, frame[frame.exercise == "softmax_ce"]


STRUCTURE = ["control", "deleted", "duplicated", "reordered", "edited", "stripped",
             "huge_outputs", "check_in_cells", "old_format"]


def test_changing_the_notebooks_structure_changes_no_score(bad_class):
    _, frame = bad_class
    points = load_course().exercise("softmax_ce").points
    for student in STRUCTURE:
        rows = frame[(frame.student == student) & frame.check.str.startswith("written_")
                     .eq(False)]
        assert (rows.status == "passed").all(), (student, rows.message.tolist())
        assert rows.score.sum() == points, student


def test_bad_files_and_missing_notebooks_get_a_status_and_the_run_goes_on(bad_class):
    stdout, frame = bad_class
    checks = frame[~frame.check.str.startswith("written_")]
    bad = checks[checks.student == "invalid_json"]
    assert (bad.status == "bad_file").all() and (bad.score == 0).all()
    assert all("not a valid notebook: it is not JSON" in m for m in bad.message)
    gone = checks[checks.student == "extra_and_missing"]
    assert (gone.status == "missing").all() and (gone.score == 0).all()
    assert "ignored (not a notebook of ps1): scratch.ipynb" in stdout
    for student, note in [("deleted", "test cell(s) deleted"), ("edited", "edited"),
                          ("reordered", "reordered"), ("duplicated", "duplicated"),
                          ("stripped", "without their nbgrader metadata")]:
        assert re.search(rf"{student}: softmax_ce: .*{re.escape(note)}", stdout), (student, stdout)


def test_what_a_students_code_prints_goes_to_the_instructors_log_only(course, bad_class):
    """grade --nbgrader keeps the worker's output as grader grade does: in
    OUT/worker-logs/<student>/worker.log, never in the gradebook's messages."""
    _, frame = bad_class
    logs = course / "grader_gradebook" / ASSIGNMENT / "worker-logs"
    assert "talker called softmax" in (logs / "talker" / "worker.log").read_text()
    assert not (logs / "control").exists()  # it printed nothing
    assert not frame.message.str.contains("talker called").any()
    talker = frame[(frame.student == "talker") & ~frame.check.str.startswith("written_")]
    assert (talker.status == "passed").all(), talker.message.tolist()


def test_nbgrader_gradebook_gets_the_secure_scores_for_every_student(course, bad_class):
    _, frame = bad_class
    nb_course = read_course(course)
    cells = nbgradebook.cell_grades(nb_course.db_url, nb_course.course_id, ASSIGNMENT)
    ours = frame[~frame.check.str.startswith("written_")].groupby("student").score.sum()
    theirs: dict[str, float] = {}
    for cell in cells:
        if cell["notebook"] == "softmax_ce" and cell["kind"] == "test":
            theirs[cell["student"]] = theirs.get(cell["student"], 0.0) + cell["auto_score"]
    assert theirs == ours.to_dict()
    graded = (course / "autograded" / "huge_outputs" / ASSIGNMENT / "softmax_ce.ipynb")
    assert graded.stat().st_size < 2**20  # outputs cleared, feedback in the test cells


def test_one_student_is_written_to_nbgraders_gradebook_whole_or_not_at_all(course, bad_class):
    nb_course = read_course(course)
    args = (nb_course.db_url, nb_course.course_id, ASSIGNMENT)

    def control_scores() -> dict:
        return {(c["notebook"], c["grade_id"]): c["auto_score"]
                for c in nbgradebook.cell_grades(*args) if c["student"] == "control"}

    before = control_scores()
    assert before[("softmax_ce", "test_gradient_rows_sum_to_zero")] == 1.0
    # A write that fails midway: every softmax_ce test cell is set to 0 first, then a cell
    # of xor_net has no score (a check the course does not know): nothing may be kept.
    zeros = nbgradebook.NotebookGrades(auto={k[1]: 0.0 for k in before
                                             if k[0] == "softmax_ce" and k[1].startswith("test_")})
    broken = nbgradebook.NotebookGrades(auto={"test_not_a_check": 1.0})
    with pytest.raises(nbgradebook.GradebookMismatch):  # notebooks are written by name order
        nbgradebook.record_submission(*args, "control",
                                      {"softmax_ce": zeros, "xor_net": broken})
    assert control_scores() == before


def test_autograded_notebooks_are_valid_notebooks_as_nbformat_writes_them(course, bad_class):
    # They are written without nbformat.writes' validation (it cost as much as the writing):
    # what the bad, missing and odd notebooks of the class turn into must still be valid.
    paths = sorted((course / "autograded").glob(f"*/{ASSIGNMENT}/*.ipynb"))
    assert len(paths) == len(STRUCTURE + ["invalid_json", "extra_and_missing", "talker"]) * len(
        load_course().exercises)
    for path in paths:
        text = path.read_text()
        notebook = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
        nbformat.validate(notebook)
        assert nbformat.writes(notebook) == text, path


def _gradebook_copy(course: Path, tmp_path: Path) -> tuple[str, str]:
    """A copy of the course's gradebook.db (db URL, course id), to write to freely."""
    import shutil

    nb_course = read_course(course)
    shutil.copyfile(nb_course.db_url.removeprefix("sqlite:///"), tmp_path / "gradebook.db")
    return f"sqlite:///{tmp_path / 'gradebook.db'}", nb_course.course_id


def test_one_writer_for_the_class_commits_each_student_alone(course, bad_class, tmp_path):
    db_url, course_id = _gradebook_copy(course, tmp_path)

    def scores(student: str) -> dict:
        return {(c["notebook"], c["grade_id"]): c["auto_score"]
                for c in nbgradebook.cell_grades(db_url, course_id, ASSIGNMENT)
                if c["student"] == student}

    before = scores("control")
    tests = [k[1] for k in before if k[0] == "softmax_ce" and k[1].startswith("test_")]
    zeros = nbgradebook.NotebookGrades(auto=dict.fromkeys(tests, 0.0))
    broken = nbgradebook.NotebookGrades(auto={"test_not_a_check": 1.0})
    with nbgradebook.SubmissionWriter(db_url, course_id) as writer:
        with pytest.raises(nbgradebook.GradebookMismatch):
            writer.record(ASSIGNMENT, "control", {"softmax_ce": zeros, "xor_net": broken})
        # the next student's commit must not carry the failed student's half-done change
        writer.record(ASSIGNMENT, "late_joiner",
                      {"softmax_ce": nbgradebook.NotebookGrades(auto=dict.fromkeys(tests, 0.5))})
    assert scores("control") == before
    joined = scores("late_joiner")
    assert {joined[("softmax_ce", t)] for t in tests} == {0.5}
    assert {v for k, v in joined.items()
            if k[0] == "xor_net" and k[1].startswith("test_")} == {0.0}  # not submitted


def test_recording_a_student_takes_a_few_queries_whatever_the_notebooks(course, bad_class,
                                                                        tmp_path):
    # One lazy load per notebook and per collection made publishing a student cost ~40
    # statements (and a new engine, so each compiled again); the class's parent process
    # does this while the grading processes need the cores.
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    db_url, course_id = _gradebook_copy(course, tmp_path)
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    with nbgradebook.SubmissionWriter(db_url, course_id) as writer:
        writer.record(ASSIGNMENT, "control", {})  # opens nbgrader's gradebook
        event.listen(Engine, "before_cursor_execute", count)
        try:
            writer.record(ASSIGNMENT, "control", {})
        finally:
            event.remove(Engine, "before_cursor_execute", count)
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) <= 8, reads


def test_reading_notebooks_skips_the_grammar_compiling_import_and_still_validates():
    # Importing our nbgrader modules must not build rfc3987_syntax's grammars (1.2 s per
    # command); nbformat's validation of notebooks must work as before.
    code = ("import sys, grader.integrations.nbgrader.grade, nbformat\n"
            "assert sys.modules.get('rfc3987_syntax') is None\n"
            "nb = nbformat.v4.new_notebook()\n"
            "nbformat.validate(nb)\n"
            "nb.cells.append({'cell_type': 'code'})\n"
            "try:\n"
            "    nbformat.validate(nb)\n"
            "except nbformat.ValidationError:\n"
            "    print('refused')\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "refused"


def test_read_submitted_refuses_what_is_not_a_notebook(tmp_path, monkeypatch):
    from grader.authoring.failures import LoadError
    from grader.integrations.nbgrader import submitted

    cases = {"latin1.ipynb": b"\xff\xfe{}", "list.ipynb": b"[]",
             "no_cells.ipynb": b'{"nbformat": 4, "nbformat_minor": 5, "cells": 3}',
             "big.ipynb": b" " * 2048}
    monkeypatch.setattr(submitted, "MAX_READ_BYTES", 1024)
    expected = {"latin1.ipynb": "not UTF-8", "list.ipynb": "no nbformat version",
                "no_cells.ipynb": "not a valid notebook", "big.ipynb": "MiB"}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(LoadError) as error:
            submitted.read_submitted(tmp_path / name)
        assert error.value.status == "bad_file" and expected[name] in error.value.message


def test_student_code_keeps_cell_numbers_and_leaves_our_cells_out():
    import json

    from grader.integrations.nbgrader.submitted import Released, student_code

    source = source_notebook(load_course(), "softmax_ce")
    data = json.loads(student_code(source, Released.from_notebook(source)))
    assert len(data["cells"]) == len(source.cells)
    kept = [c["source"] for c in data["cells"] if c["cell_type"] == "code"]
    assert any("def softmax(" in s for s in kept) and "import numpy as np" in kept
    assert not any("grader" in s or "YOUR ANSWER" in s for s in kept)
    assert not any(c["cell_type"] == "markdown" for c in data["cells"])


def test_a_rerun_grades_nobody_again_but_rewrites_nbgraders_gradebook(course, bad_class):
    from nbgrader.api import Gradebook

    nb_course = read_course(course)
    with Gradebook(nb_course.db_url, nb_course.course_id) as gb:  # as nbgrader's autograde may
        grade = gb.find_grade("test_gradient_rows_sum_to_zero", "softmax_ce", ASSIGNMENT,
                              "control")
        grade.auto_score = 0.0
        gb.db.commit()
    run = subprocess.run([str(GRADER), "grade", "--nbgrader", str(course), ASSIGNMENT],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Graded 0 student(s)" in run.stdout
    cells = nbgradebook.cell_grades(nb_course.db_url, nb_course.course_id, ASSIGNMENT)
    restored = [c for c in cells if c["student"] == "control"
                and c["grade_id"] == "test_gradient_rows_sum_to_zero"]
    assert [c["auto_score"] for c in restored] == [1.0]


def test_the_grading_processes_grade_with_the_course_copy_made_at_release(course, tmp_path):
    # Both grading paths must grade with COURSE_DIR/grader_course, whatever the repository
    # has become since the release: here the copy's course version tells them apart.
    import shutil

    copy = tmp_path / "course"
    shutil.copytree(course, copy, ignore=shutil.ignore_patterns(
        "submitted", "autograded", "grader_gradebook"))
    config = copy / "grader_course" / "course_config.py"
    config.chmod(0o600)
    config.write_text(config.read_text().replace('COURSE_VERSION = "', 'COURSE_VERSION = "copy-'))
    write_submission(copy, "control", ASSIGNMENT,
                     {"softmax_ce.ipynb": _variants(_released(copy, "softmax_ce"))["control"]})
    run = subprocess.run([str(GRADER), "grade", "--nbgrader", str(copy), ASSIGNMENT,
                          "--workers", "1"], capture_output=True, text=True, timeout=600,
                         cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    frame = pd.read_csv(copy / "grader_gradebook" / ASSIGNMENT / "gradebook.csv",
                        keep_default_na=False)
    graded = frame[~frame.check.str.startswith("written_")]
    assert set(graded.course_version) == {f"copy-{load_course().version}"}


@pytest.mark.slow
def test_a_changed_check_regrades_its_exercise_only_and_nbgrader_keeps_the_others(course,
                                                                                   tmp_path):
    # A hidden check of xor_net edited in the course copy made at release: the rerun grades
    # xor_net only; softmax_ce's rows stay byte for byte, and nbgrader's gradebook, written
    # again for the student, keeps softmax_ce's scores.
    import shutil
    import sqlite3

    copy = tmp_path / "course"
    shutil.copytree(course, copy, ignore=shutil.ignore_patterns(
        "submitted", "autograded", "grader_gradebook"))
    write_submission(copy, "control", ASSIGNMENT,
                     {"softmax_ce.ipynb": _variants(_released(copy, "softmax_ce"))["control"]})
    command = [str(GRADER), "grade", "--nbgrader", str(copy), ASSIGNMENT, "--workers", "1"]
    db = copy / "grader_gradebook" / ASSIGNMENT / "gradebook.sqlite"

    def rows() -> dict[tuple[str, str], tuple]:
        with sqlite3.connect(db) as book:
            return {(r[0], r[1]): r for r in book.execute(
                'SELECT "exercise", "check", "score", "grader_key", "graded_at", ordinal '
                'FROM results')}

    first = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert first.returncode == 0, first.stdout + first.stderr
    before = rows()
    check = copy / "grader_course" / "tests" / "checks" / "hidden" / "test_xor_net.py"
    check.chmod(0o600)
    check.write_text(check.read_text() + "\n# one more line\n")
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 student(s) regraded for xor_net only" in run.stdout
    after = rows()
    assert {k[0] for k in before.keys() | after.keys() if before.get(k) != after.get(k)} == {
        "xor_net"}
    nb_course = read_course(copy)
    cells = nbgradebook.cell_grades(nb_course.db_url, nb_course.course_id, ASSIGNMENT)
    ours = {(ex, name): r[2] for (ex, name), r in after.items()}
    theirs = {(c["notebook"], c["grade_id"][len("test_"):]): c["auto_score"] for c in cells
              if c["student"] == "control" and c["kind"] == "test"}
    assert theirs == {k: v for k, v in ours.items() if k in theirs}
    assert sum(v for (ex, _), v in theirs.items() if ex == "softmax_ce") > 0


@pytest.mark.slow
def test_a_late_nbgrader_submission_gets_the_late_penalty(course, tmp_path):
    # The same correct notebook submitted an hour before softmax_ce's deadline and a day and
    # an hour after it, each with timestamp.txt as nbgrader's exchange writes it: only the
    # late one loses points, in the report of the secure grading path's gradebook.
    import os
    import shutil
    from datetime import datetime, timedelta, timezone

    from nbgrader.exchange.abc.exchange import Exchange

    copy = tmp_path / "course"
    shutil.copytree(course, copy, ignore=shutil.ignore_patterns(
        "submitted", "autograded", "grader_gradebook"))
    notebook = _variants(_released(copy, "softmax_ce"))["control"]
    due = datetime.fromisoformat(load_course().exercise("softmax_ce").due)
    stamp_format = Exchange.timestamp_format.default_value  # nbgrader's own format
    for student, when in {"on_time": due - timedelta(hours=1),
                          "late": due + timedelta(days=1, hours=1)}.items():
        folder = write_submission(copy, student, ASSIGNMENT, {"softmax_ce.ipynb": notebook})
        (folder / "timestamp.txt").write_text(
            when.astimezone(timezone.utc).strftime(stamp_format))
    run = subprocess.run([str(GRADER), "grade", "--nbgrader", str(copy), ASSIGNMENT,
                          "--workers", "1", "--quiet"], capture_output=True, text=True,
                         timeout=600, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    out = copy / "grader_gradebook" / ASSIGNMENT
    env = {**os.environ, "GRADER_COURSE_ROOT": str(copy / "grader_course")}
    report = subprocess.run([str(GRADER), "report", str(out), "--format", "wide"],
                            capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert report.returncode == 0, report.stdout + report.stderr
    wide = pd.read_csv(out / "reports" / "gradebook_wide.csv",
                       keep_default_na=False).set_index("student")
    points = load_course().exercise("softmax_ce").points
    assert wide.loc["on_time", "total"] == wide.loc["late", "total"] == points
    assert wide.loc["on_time", "late_penalty"] == 0
    assert "softmax_ce: 2 days late" in wide.loc["late", "late"]
    assert wide.loc["late", "late_penalty"] == pytest.approx(0.2 * points)  # 10% a day
    assert wide.loc["late", "final"] == pytest.approx(wide.loc["late", "total"] - 0.2 * points)


def _as_nbgrader_reads_it(course_dir: Path):
    # The course as nbgrader's own CourseDirectory gives it, for the same config settings.
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    from grader.integrations.nbgrader.coursedir import NbCourse, _course_directory_settings

    root = Path(course_dir).resolve()
    config = Config({"CourseDirectory": _course_directory_settings(root)})
    coursedir = CourseDirectory(config=config)
    if "root" not in config.get("CourseDirectory", {}):
        coursedir.root = str(root)
    return NbCourse(root=Path(coursedir.root).resolve(), course_id=coursedir.course_id,
                    db_url=coursedir.db_url or f"sqlite:///{root / 'gradebook.db'}",
                    source_dir=coursedir.source_directory,
                    release_dir=coursedir.release_directory,
                    submitted_dir=coursedir.submitted_directory,
                    autograded_dir=coursedir.autograded_directory)


@pytest.mark.parametrize("config", [
    None, "",
    "c.CourseDirectory.course_id = ' spaced '\nc.CourseDirectory.submitted_directory = 'in'\n"
    "c.CourseDirectory.autograded_directory = 'out'\nc.CourseDirectory.release_directory = 'r'\n"
    "c.CourseDirectory.source_directory = 's'\nc.CourseDirectory.db_url = ''\n",
    "c.CourseDirectory.root = 'elsewhere'\n",
    "c.CourseDirectory.db_url = 'sqlite:////tmp/x.db'\nc.Exchange.root = '/tmp/ex'\n"])
def test_the_course_is_read_as_nbgraders_course_directory_reads_it(config, tmp_path,
                                                                   monkeypatch):
    # read_course does not import nbgrader (so grading can start first): its defaults and
    # rules must stay nbgrader's.
    course_dir = tmp_path / "course dir"
    course_dir.mkdir()
    monkeypatch.chdir(tmp_path)  # a relative root is relative to the working folder
    if config is not None:
        (course_dir / "nbgrader_config.py").write_text("c = get_config()\n" + config)
    assert read_course(course_dir) == _as_nbgrader_reads_it(course_dir)


def test_the_course_written_at_release_is_read_as_nbgrader_reads_it(course):
    assert read_course(course) == _as_nbgrader_reads_it(course)


def test_a_course_setting_that_is_not_a_string_is_refused(tmp_path):
    from grader.course.model import CourseError

    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.submitted_directory = 5\n")
    with pytest.raises(CourseError, match="submitted_directory must be a string"):
        read_course(tmp_path)


def test_an_assignment_that_does_not_match_nbgraders_gradebook_is_not_graded(course, tmp_path):
    # Grading starts before nbgrader's gradebook is read; a mismatch found then must still
    # stop the run with its reason, and keep no grade for anybody.
    import shutil

    copy = tmp_path / "course"
    shutil.copytree(course, copy, ignore=shutil.ignore_patterns(
        "submitted", "autograded", "grader_gradebook"))
    released = _released(copy, "softmax_ce")
    (copy / "release" / ASSIGNMENT / "gradcheck.ipynb").unlink()
    for student in ("a", "b"):
        write_submission(copy, student, ASSIGNMENT,
                         {"softmax_ce.ipynb": _variants(released)["control"]})
    run = subprocess.run([str(GRADER), "grade", "--nbgrader", str(copy), ASSIGNMENT,
                          "--workers", "2"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "does not match the course" in run.stderr
    assert "gradcheck.ipynb is missing" in run.stderr
    nb_course = read_course(copy)
    cells = nbgradebook.cell_grades(nb_course.db_url, nb_course.course_id, ASSIGNMENT)
    assert not [c for c in cells if c["student"] in ("a", "b")]
    assert not (copy / "grader_gradebook" / ASSIGNMENT / "gradebook.csv").exists()
    assert not (copy / "autograded" / "a").exists() and not (copy / "autograded" / "b").exists()


@pytest.mark.slow
def test_grade_nbgrader_on_a_dask_cluster_grades_with_the_course_copy(course, tmp_path):
    """`grade --nbgrader --scheduler local:2`: the Dask workers grade with the course copy
    made at release (its version tells), every structure variant gets full points, and
    nbgrader's gradebook gets the same scores as ours."""
    import shutil

    copy = tmp_path / "course"
    shutil.copytree(course, copy, ignore=shutil.ignore_patterns(
        "submitted", "autograded", "grader_gradebook"))
    config = copy / "grader_course" / "course_config.py"
    config.chmod(0o600)
    config.write_text(config.read_text().replace('COURSE_VERSION = "', 'COURSE_VERSION = "copy-'))
    variants = _variants(_released(copy, "softmax_ce"))
    for student in ("control", "reordered", "stripped"):
        write_submission(copy, student, ASSIGNMENT, {"softmax_ce.ipynb": variants[student]})
    run = subprocess.run([str(GRADER), "grade", "--nbgrader", str(copy), ASSIGNMENT,
                          "--scheduler", "local:2"], capture_output=True, text=True,
                         timeout=600, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Dask worker(s)" in run.stdout, run.stdout
    frame = pd.read_csv(copy / "grader_gradebook" / ASSIGNMENT / "gradebook.csv",
                        keep_default_na=False)
    graded = frame[(frame.exercise == "softmax_ce") & ~frame.check.str.startswith("written_")]
    assert set(graded.course_version) == {f"copy-{load_course().version}"}
    ours = graded.groupby("student").score.sum().to_dict()
    assert ours == {s: load_course().exercise("softmax_ce").points
                    for s in ("control", "reordered", "stripped")}
    nb_course = read_course(copy)
    theirs: dict[str, float] = {}
    # The copied gradebook also holds what earlier tests of the module's course submitted.
    for cell in nbgradebook.cell_grades(nb_course.db_url, nb_course.course_id, ASSIGNMENT):
        if cell["notebook"] == "softmax_ce" and cell["kind"] == "test" \
                and cell["student"] in ours:
            theirs[cell["student"]] = theirs.get(cell["student"], 0.0) + cell["auto_score"]
    assert theirs == ours
