"""nbgrader end to end, with real Jupyter kernels: release, exchange, both grading paths.

A temporary course releases softmax_ce and optimizers (the two exercises with written parts;
two keep the test lean). Four students fetch or copy the notebooks, work in them and submit
through nbgrader's exchange; the instructor collects. Then:
- nbgrader's own `autograde` (the test cells call our checks inside each student's kernel);
- our `grader grade --nbgrader` (the students' code in sandboxed workers);
and the two are compared: point for point on the honest students (correct, typical mistakes,
untouched), and on mallory, whose wrong softmax_ce patches NumPy in one line: full marks from
nbgrader's kernel path, only her honest score from ours. This documents the difference.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from grader.course.stubs import strip_markers
from grader.integrations.nbgrader import nbgradebook
from grader.integrations.nbgrader.coursedir import read_course
from grader.integrations.nbgrader.grade import class_frame
from grader.integrations.nbgrader.notebooks import HIDDEN_BEGIN
from grader.integrations.nbgrader.release import (
    DEFAULT_COURSE_ID,
    STUDENT_CONFIG_NAME,
    release_nbgrader,
)
from grader.integrations.nbgrader.synthetic import fill_notebook, module_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
GRADER = ROOT / ".venv" / "bin" / "grader"
DEMO = ROOT / "demo" / "submissions"
ASSIGNMENT = "ps1"
EXERCISES = ["softmax_ce", "optimizers"]
HONEST = ["ada", "ben", "cai"]
ATTACK = "\nimport numpy\nnumpy.abs = lambda x: x * 0\n"  # every |observed - expected| is 0
WRONG_SOFTMAX = strip_markers((ROOT / "solutions" / "softmax_ce.py").read_text()).replace(
    "    dlogits /= n\n", "")  # honest but wrong: the gradient is not divided by N
ANSWERS = {
    "written_gradient_derivation": "dL/dz_j = p_j - [j = y]; the 1/p of the log cancels the "
                                   "p of the softmax Jacobian.",
    "written_lr_sweep_explanation": "Adam is fastest and least sensitive: per-parameter scaling.",
}


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("JUPYTERHUB_USER", None)
    env.pop("GRADER_COURSE_ROOT", None)  # the course's nbgrader_config.py sets it
    return env


def nbgrader(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd,
                         env=env or _env(), capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"nbgrader {args}:\n{run.stdout}\n{run.stderr[-3000:]}"
    print(f"nbgrader {args[0]}: {time.perf_counter() - start:.1f} s")  # seen with -s
    return run.stdout + run.stderr


def _student_home(tmp: Path, course: Path, name: str) -> tuple[Path, dict[str, str]]:
    home = tmp / "home" / name
    (home / ".jupyter").mkdir(parents=True)
    shutil.copy(course / STUDENT_CONFIG_NAME, home / ".jupyter" / "nbgrader_config.py")
    return home, _env(HOME=str(home), USER=name, JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
                      JUPYTER_DATA_DIR=str(home / ".local" / "share" / "jupyter"))


def _work(name: str, notebook: nbformat.NotebookNode, ex_id: str) -> nbformat.NotebookNode:
    if name == "cai":
        return notebook  # untouched
    if name == "mallory" and ex_id == "softmax_ce":
        return fill_notebook(notebook, WRONG_SOFTMAX + ATTACK)
    folder = DEMO / ("ben_mistakes" if name == "ben" else "ada_correct")
    return fill_notebook(notebook, module_for(folder, ex_id),
                         ANSWERS if name == "ada" else None)


def _export(course: Path, name: str) -> dict[str, float]:
    nbgrader(course, "export", f"--to={course / name}")
    with open(course / name, newline="") as file:
        return {row["student_id"]: float(row["score"]) for row in csv.DictReader(file)}


def _cells(course: Path) -> dict[tuple[str, str, str], dict]:
    nb_course = read_course(course)
    return {(c["student"], c["notebook"], c["grade_id"]): c
            for c in nbgradebook.cell_grades(nb_course.db_url, nb_course.course_id, ASSIGNMENT)}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nbgrader_e2e")
    course = tmp / "course"
    start = time.perf_counter()
    release_nbgrader(course, assignment=ASSIGNMENT, exercises=EXERCISES,
                     students=[*HONEST, "mallory"])
    print(f"release: {time.perf_counter() - start:.1f} s")
    outbound = course / "exchange" / DEFAULT_COURSE_ID / "outbound" / ASSIGNMENT
    submits = []
    for name in [*HONEST, "mallory"]:
        home, env = _student_home(tmp, course, name)
        if name == "ada":  # one student fetches through the exchange, the others copy
            nbgrader(home, "fetch_assignment", ASSIGNMENT, env=env)
        else:
            shutil.copytree(outbound, home / ASSIGNMENT)
        for ex_id in EXERCISES:
            path = home / ASSIGNMENT / f"{ex_id}.ipynb"
            if name == "mallory" and ex_id != "softmax_ce":
                path.unlink()  # she hands in only the notebook she attacks
                continue
            nbformat.write(_work(name, nbformat.read(path, as_version=4), ex_id), path)
        # Students submit at the same time, each from their own home and Jupyter config.
        submits.append(subprocess.Popen(
            [sys.executable, "-m", "nbgrader", "submit", ASSIGNMENT, f"--student={name}"],
            cwd=home, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    for submit in submits:
        output, _ = submit.communicate(timeout=600)
        assert submit.returncode == 0, output
    nbgrader(course, "collect", ASSIGNMENT, "--CollectApp.check_owner=False")

    nbgrader(course, "autograde", ASSIGNMENT, "--force")  # nbgrader's kernel path
    kernel = {"cells": _cells(course), "export": _export(course, "kernel_export.csv"),
              "notebook": (course / "autograded" / "ben" / ASSIGNMENT / "softmax_ce.ipynb")
              .read_text(),
              "litter": sorted(str(p) for p in course.glob("autograded/*/*/.hypothesis"))}

    start = time.perf_counter()
    run = subprocess.run([str(GRADER), "grade", "--nbgrader", str(course), ASSIGNMENT,
                          "--workers", "2"], capture_output=True, text=True, timeout=900,
                         env=_env())
    assert run.returncode == 0, run.stdout + run.stderr
    print(f"grader grade --nbgrader: {time.perf_counter() - start:.1f} s")
    nbgrader(course, "generate_feedback", ASSIGNMENT, "--force")
    secure = {"cells": _cells(course), "export": _export(course, "secure_export.csv"),
              "csv": pd.read_csv(course / "grader_gradebook" / ASSIGNMENT / "gradebook.csv",
                                 keep_default_na=False), "stdout": run.stdout}
    return course, kernel, secure


def test_everyone_was_collected_through_the_exchange(world):
    course, _, _ = world
    submitted = sorted(p.name for p in (course / "submitted").iterdir())
    assert submitted == sorted([*HONEST, "mallory"])
    for name in submitted:
        assert (course / "submitted" / name / ASSIGNMENT / "timestamp.txt").is_file()


def test_the_two_paths_agree_point_for_point_on_honest_submissions(world):
    _, kernel, secure = world
    assert kernel["litter"] == []  # Hypothesis' cache stays out of the graded folders
    honest = {k: v for k, v in kernel["cells"].items() if k[0] in HONEST}
    assert len(honest) == len(HONEST) * sum(
        1 for k in kernel["cells"] if k[0] == "ada")
    for key, cell in honest.items():
        other = secure["cells"][key]
        assert (cell["auto_score"], cell["needs_manual_grade"]) == \
            (other["auto_score"], other["needs_manual_grade"]), key
    totals = {s: kernel["export"][s] for s in HONEST}
    assert totals == {s: secure["export"][s] for s in HONEST}
    assert totals["ada"] > totals["ben"] > totals["cai"] == 0
    # ada's written answers wait for a grader; cai left them as released: "No response."
    assert kernel["cells"][("ada", "softmax_ce", "written_gradient_derivation")][
        "needs_manual_grade"]
    assert kernel["cells"][("cai", "softmax_ce", "written_gradient_derivation")][
        "auto_score"] == 0


def test_a_numpy_monkeypatch_forges_full_marks_only_in_nbgraders_kernel(world):
    from grader.course.model import load_course
    from grader.engine.run_check import grade_exercise
    from grader.engine.sessions import InProcessSession

    _, kernel, secure = world

    def softmax_tests(cells: dict) -> tuple[float, float]:
        mine = [c for k, c in cells.items() if k[:2] == ("mallory", "softmax_ce")
                and c["kind"] == "test"]
        return sum(c["auto_score"] for c in mine), sum(c["max_score"] for c in mine)

    got, full = softmax_tests(kernel["cells"])
    assert got == full  # forged: the kernel's NumPy is the student's NumPy
    namespace: dict = {}
    exec(WRONG_SOFTMAX, namespace)  # the same code without the patch, graded honestly
    from grader.engine.handle import Implementation

    honest = sum(r.score for r in grade_exercise(
        load_course().exercise("softmax_ce"),
        session=InProcessSession(None, "softmax_ce", Implementation("softmax_ce", namespace))))
    assert honest < full
    assert softmax_tests(secure["cells"])[0] == honest
    assert secure["export"]["mallory"] < kernel["export"]["mallory"]


def test_nbgrader_export_and_our_gradebook_agree_on_totals(world):
    _, _, secure = world
    ours = secure["csv"].groupby("student").score.sum().to_dict()
    assert ours == pytest.approx(secure["export"])
    rows = secure["csv"]
    written = rows[rows.check.str.startswith("written_")]
    assert set(written[written.student == "ada"].status) == {"ungraded", "missing"}
    assert set(written[written.student == "cai"].status) == {"missing"}


def test_hand_grades_from_the_formgrader_flow_into_our_gradebook(world):
    from nbgrader.api import Gradebook

    course, _, secure = world
    nb_course = read_course(course)
    with Gradebook(nb_course.db_url, nb_course.course_id) as gb:  # what the formgrader does
        grade = gb.find_grade("written_gradient_derivation", "softmax_ce", ASSIGNMENT, "ada")
        grade.manual_score = 3.5
        comment = gb.find_comment("written_gradient_derivation", "softmax_ce", ASSIGNMENT,
                                  "ada")
        comment.manual_comment = "Good derivation; say more about saturation."
        gb.db.commit()
    frame = class_frame(course, ASSIGNMENT)
    row = frame[(frame.student == "ada") & (frame.check == "written_gradient_derivation")]
    assert row.status.tolist() == ["manual"] and row.score.tolist() == [3.5]
    assert "saturation" in row.message.iloc[0]
    export = _export(course, "after_hand_grading.csv")
    assert frame.groupby("student").score.sum().to_dict() == pytest.approx(export)
    assert export["ada"] == secure["export"]["ada"] + 3.5


def test_feedback_shows_no_hidden_check_source_or_input(world):
    course, kernel, _ = world
    assert HIDDEN_BEGIN in kernel["notebook"]  # nbgrader's own path shows hidden tests
    for name in [*HONEST, "mallory"]:
        for ex_id in EXERCISES:
            html = (course / "feedback" / name / ASSIGNMENT / f"{ex_id}.html").read_text()
            assert "BEGIN HIDDEN TESTS" not in html
            for line in ("ref = reference(", "expected, _ = ref.", "ref.softmax("):
                assert line not in html  # hidden checks' code
            for check in ("gradient_matches_reference", "adam_matches_reference_trajectory"):
                assert f"run_checks(&#39;{ex_id}&#39;, &#39;{check}&#39;)" not in html
                assert f"run_checks('{ex_id}', '{check}')" not in html
    ben = (course / "feedback" / "ben" / ASSIGNMENT / "softmax_ce.html").read_text()
    assert "Hidden check failed" in ben and "its inputs are not shown" in ben
    assert "Likely mistake" in ben  # public feedback still teaches


def test_the_summary_keeps_answers_to_hand_grade_apart_from_code_that_did_not_run(world):
    """`grade --nbgrader`'s table: a student whose code all runs has nothing under
    did_not_run, and their written answers waiting for a grader are under to_hand_grade."""
    _, _, secure = world
    lines = secure["stdout"].splitlines()
    header = next(line for line in lines if "did_not_run" in line)
    assert "to_hand_grade" in header and "problems" not in header
    rows = secure["csv"]
    ada = rows[rows.student == "ada"]
    waiting = ada[ada.check.str.startswith("written_") & (ada.status == "ungraded")]
    assert not waiting.empty
    assert set(ada[~ada.check.str.startswith("written_")].status) <= {"passed", "failed"}
    line = next(line for line in lines if line.split()[:1] == ["ada"])
    start = header.index("percent") + len("percent")
    end = header.index("did_not_run") + len("did_not_run")
    assert line[start:end].strip() == ""
    assert line[end:].strip() == ", ".join(dict.fromkeys(waiting.exercise))
