"""`grader check` end to end, as real subprocesses of .venv/bin/grader."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from support import FIXTURE_COURSE

from grader.course.model import load_course

ROOT = Path(__file__).resolve().parents[2]
GRADER = ROOT / ".venv" / "bin" / "grader"


def grader(*args: str, cwd: Path = ROOT, course: Path | None = None
           ) -> subprocess.CompletedProcess:
    """The command, run in CWD; with COURSE, grading that course (GRADER_COURSE_ROOT)."""
    env = {**os.environ, "GRADER_COURSE_ROOT": str(course)} if course else None
    return subprocess.run([str(GRADER), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env)


def test_check_on_the_stubs_says_not_attempted_and_exits_1():
    run = grader("check", "dot_product", cwd=FIXTURE_COURSE, course=FIXTURE_COURSE)
    assert run.returncode == 1, run.stderr
    assert "not attempted" in run.stdout
    assert re.search(r"Not attempted yet: dot still raises? NotImplementedError", run.stdout)
    assert "Traceback" not in run.stdout + run.stderr
    public = sum(load_course(FIXTURE_COURSE).exercise("dot_product").public.values())
    assert f"0/{public:g} points" in run.stdout


def test_check_on_the_solutions_with_hidden_checks_is_full_marks():
    run = grader("check", "--submission", "solutions", "--hidden", cwd=FIXTURE_COURSE,
                 course=FIXTURE_COURSE)
    assert run.returncode == 0, run.stdout + run.stderr
    course = load_course(FIXTURE_COURSE)
    points = sum(exercise.points for exercise in course.exercises.values())
    assert points > 0
    assert f"{points:g}/{points:g} points: all checks passed." in run.stdout
    assert run.stdout.count("(hidden)") == sum(len(e.hidden) for e in course.exercises.values())
    for status in ("failed", "error", "missing", "not attempted"):
        assert f"  {status}" not in run.stdout


def test_help_names_no_number_of_exercises():
    """The help speaks of every exercise of the course, whatever the course has."""
    run = grader("release", "nbgrader", "--help", course=FIXTURE_COURSE)
    assert run.returncode == 0, run.stderr
    assert "every exercise of the course" in " ".join(run.stdout.split())
    assert "five" not in run.stdout


def test_check_of_a_folder_without_the_exercise_says_missing(tmp_path):
    run = grader("check", "dot_product", "--submission", str(tmp_path), course=FIXTURE_COURSE)
    assert run.returncode == 1
    assert "missing" in run.stdout
    assert "No dot_product.py or dot_product.ipynb" in run.stdout
    assert run.stdout.count("No dot_product.py or dot_product.ipynb") == 1  # said once


def test_check_shows_the_feedback_of_a_wrong_gradient(tmp_path):
    from grader.course.stubs import strip_markers

    source = strip_markers((ROOT / "solutions" / "softmax_ce.py").read_text())
    (tmp_path / "softmax_ce.py").write_text(source.replace("    dlogits /= n\n", ""))
    run = grader("check", "softmax_ce", "--submission", str(tmp_path))
    assert run.returncode == 1
    assert "FAILED: gradient_matches_central_differences" in run.stdout
    assert "Likely mistake: every entry is" in run.stdout
    assert "Smallest failing input:" in run.stdout


def test_check_of_an_unknown_exercise_is_a_usage_error_not_a_course_error():
    run = grader("check", "no_such_exercise")
    assert run.returncode == 2
    assert "unknown exercise 'no_such_exercise'" in run.stderr
    assert "course configuration" not in run.stderr
    assert "Traceback" not in run.stderr


def test_stubs_check_passes_on_the_repo():
    run = grader("stubs", "--check")
    assert run.returncode == 0, run.stdout


def test_stubs_check_passes_on_the_fixture_course():
    run = grader("stubs", "--check", cwd=FIXTURE_COURSE, course=FIXTURE_COURSE)
    assert run.returncode == 0, run.stdout


def test_ctrl_c_stops_a_check_stuck_in_student_code(tmp_path):
    """A real Ctrl-C ends `grader check` at once, even inside an endless loop of the
    student's (whose own KeyboardInterrupt would only be an error in their code)."""
    import signal
    import time

    student = tmp_path / "student"
    student.mkdir()
    (student / "softmax_ce.py").write_text("def softmax(logits):\n    while True:\n        pass\n")
    process = subprocess.Popen([str(GRADER), "check", "softmax_ce", "--submission", str(student)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    time.sleep(2.5)  # well inside the loop, far from the 30 s time limit
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 130, err[-2000:]
    assert "interrupted" in err and "Traceback" not in err


def test_main_called_with_arguments_leaves_the_garbage_collector_alone():
    # Run as the command, main() skips Python's slow final collections (gc.freeze); called
    # by a test or a library with its own arguments, the process goes on and must not keep
    # every object alive.
    import gc

    from grader.cli.commands import main

    before = gc.get_freeze_count()
    assert main(["stubs", "--check"]) == 0
    assert gc.get_freeze_count() == before


def test_check_of_a_notebook_says_a_skipped_cell_and_a_missing_function_once(tmp_path):
    """Issue 21: a cell that raised left `forward` undefined, and the MISSING message and
    the note about the cell came once per check (8 times)."""
    import json

    notebook = json.loads((ROOT / "demo" / "submissions" / "dee_notebooks" / "xor_net.ipynb")
                          .read_text())
    cell = next(c for c in notebook["cells"]
                if c["cell_type"] == "code" and "def forward" in "".join(c["source"]))
    cell["source"] = "1 / 0\n" + "".join(cell["source"])
    (tmp_path / "xor_net.ipynb").write_text(json.dumps(notebook))
    run = grader("check", "xor_net", "--submission", str(tmp_path))
    assert run.returncode == 1, run.stderr
    assert run.stdout.count("raised ZeroDivisionError and was skipped") == 1
    assert run.stdout.count("`forward` is not defined in your xor_net code") == 1
    assert "    The same for: forward_pinned_values, backward_matches_central_differences" \
        in run.stdout
    assert run.stdout.count("  MISSING: ") == 1
    assert "ERROR: learns_xor_for_most_seeds" in run.stdout  # other failures keep their text
