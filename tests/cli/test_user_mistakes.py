"""Each common mistake in calling a command gets a one-line answer and a non-zero exit.

Common mistakes in calling the commands get a one-line answer that says what to do, and a
non-zero exit code: each is made here with the real `grader` command, in a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from support import GRADER, REFERENCE, ROOT, WRONG, committed_students, course_copy, softmax_class

from grader.course.model import load_course

IDS = ", ".join(load_course(ROOT).exercises)


def grader(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(GRADER), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env)


def one_line_answer(run: subprocess.CompletedProcess, code: int = 2) -> str:
    """The answer: exit CODE, one line on stderr, nothing on stdout, no traceback."""
    assert run.returncode == code, run.stdout + run.stderr
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


# ------------------------------------------------------------------------- grader check


@pytest.mark.parametrize(("typed", "meant"), [("softmax", "softmax_ce"), ("xor", "xor_net"),
                                              ("optimizer", "optimizers"),
                                              ("linreg", "linreg_gd")])
def test_a_mistyped_exercise_gets_did_you_mean_and_the_list(typed, meant):
    line = one_line_answer(grader("check", typed))
    assert line == (f"grader check: unknown exercise {typed!r}: did you mean {meant}? "
                    f"The exercises are {IDS}.")


def test_an_unknown_exercise_with_nothing_close_gets_the_list():
    line = one_line_answer(grader("check", "backprop_quiz"))
    assert line == f"grader check: unknown exercise 'backprop_quiz'. The exercises are {IDS}."
    assert "course configuration" not in line


def test_a_path_to_an_exercise_file_checks_that_exercise_in_that_folder(tmp_path):
    stubs = grader("check", "exercises/softmax_ce.py")
    assert stubs.returncode == 1, stubs.stderr
    assert "Not attempted yet: softmax, softmax_cross_entropy" in stubs.stdout
    assert "gradcheck" not in stubs.stdout  # that one exercise only
    mine = tmp_path / "work"
    mine.mkdir()
    (mine / "softmax_ce.py").write_text(REFERENCE)
    run = grader("check", str(mine / "softmax_ce.py"))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "all checks passed" in run.stdout
    (mine / "softmax_ce.py").write_text(WRONG)
    assert grader("check", "softmax_ce.py", cwd=mine).returncode == 1  # from its folder too


def test_a_path_to_no_file_or_to_an_unknown_exercise_gets_the_command(tmp_path):
    line = one_line_answer(grader("check", str(tmp_path / "softmax_ce.py")))
    assert line.startswith(f"grader check: {tmp_path / 'softmax_ce.py'} is not a file: give "
                           "the exercise id (`grader check softmax_ce`")
    line = one_line_answer(grader("check", "exercises/softmax.py"))
    assert "did you mean softmax_ce?" in line


def test_a_submission_folder_that_does_not_exist_is_an_error_not_a_grade():
    line = one_line_answer(grader("check", "--submission", "nope"))
    assert line == ("grader check: --submission nope does not exist: give the folder holding "
                    "your exercise files (e.g. --submission exercises).")
    line = one_line_answer(grader("check", "softmax_ce", "--submission", "nope"))
    assert "missing" not in line and "0/" not in line


def test_a_file_given_as_submission_gets_the_exact_command():
    line = one_line_answer(grader("check", "--submission", "exercises/softmax_ce.py"))
    assert line == ("grader check: --submission is the folder holding your exercise files, "
                    "not a file: run `grader check softmax_ce --submission exercises`.")


@pytest.mark.parametrize("kind", ["public", "hidden"])
def test_a_missing_check_file_is_named_with_the_fix(tmp_path, kind):
    """An exercise of course_config.py whose check file is not there: `check`, `check
    --hidden` and `grade` name the file and how to write it, instead of a traceback."""
    course = course_copy(tmp_path)
    (course / "tests" / "checks" / kind / "test_linreg_gd.py").unlink()
    env = {**os.environ, "GRADER_COURSE_ROOT": str(course)}
    expected = (f"grader: course configuration error: exercise 'linreg_gd' is in "
                f"course_config.py EXERCISES with {kind} checks, but tests/checks/{kind}/"
                f"test_linreg_gd.py is missing: write them there (docs/authoring.md); `grader "
                f"new-exercise ID --title ...` starts an exercise with templates of its checks.")
    runs = [grader("check", "linreg_gd", "--hidden", "--submission", "solutions", cwd=course,
                   env=env)]
    if kind == "public":
        runs.append(grader("check", "linreg_gd", cwd=course, env=env))
    else:  # students' checks need no hidden file; grading does
        assert grader("check", "linreg_gd", cwd=course, env=env).returncode == 1  # the stub
        (tmp_path / "class" / "ada").mkdir(parents=True)
        (tmp_path / "class" / "ada" / "linreg_gd.py").write_text(
            (ROOT / "solutions" / "linreg_gd.py").read_text())
        runs.append(grader("grade", str(tmp_path / "class"), "--output", str(tmp_path / "out"),
                           "--workers", "1", "--quiet", cwd=course, env=env))
    for run in runs:
        assert one_line_answer(run, code=3) == expected


# ----------------------------------------------------------- grader grade, grader collect


def test_grade_of_one_students_folder_says_to_pass_the_parent(tmp_path):
    out = tmp_path / "out"
    line = one_line_answer(grader("grade", "demo/submissions/ada_correct", "--output", str(out)))
    assert line == ("grader grade: demo/submissions/ada_correct looks like one student's folder "
                    "(it holds softmax_ce.py): give the folder that holds every student's "
                    "folder: grader grade demo/submissions --output OUT.")
    assert not out.exists()  # nothing written


def test_grade_of_the_course_repository_is_refused(tmp_path):
    line = one_line_answer(grader("grade", ".", "--output", str(tmp_path / "out")))
    assert line.startswith("grader grade: . is the course's own repository (it holds "
                           "solutions/): give the folder that holds one folder per student")


def test_collect_of_the_course_repository_is_refused(tmp_path):
    out = tmp_path / "out"
    line = one_line_answer(grader("collect", str(ROOT), "--output", str(out)))
    assert line == (f"grader collect: {ROOT} is the course's own repository (it holds "
                    "solutions/): give the folder that holds the students' repositories, "
                    "folders or zips.")
    assert not out.exists()


def test_collect_of_one_student_repository_says_to_pass_the_parent(tmp_path):
    # A released student repository: a course_config.py, exercises/, no solutions/.
    repo = tmp_path / "class" / "ada"
    (repo / "exercises").mkdir(parents=True)
    (repo / "course_config.py").write_text("")
    (repo / "exercises" / "gradcheck.py").write_text("")
    out = tmp_path / "out"
    line = one_line_answer(grader("collect", str(repo), "--output", str(out)))
    assert line == (f"grader collect: {repo} looks like one student's folder (it holds "
                    "exercises/gradcheck.py): give the folder that holds every student's: "
                    f"grader collect {repo.parent} --output OUT.")
    assert not out.exists()
    # ... and the parent is collected as a class of one.
    run = grader("collect", str(repo.parent), "--output", str(out))
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("Collected 1 student(s), 1 exercise file(s)")


# ------------------------------------------------------------------- Ctrl-C in grader grade


@pytest.mark.slow
def test_after_ctrl_c_the_summary_counts_the_students_actually_graded(tmp_path):
    course = course_copy(tmp_path)
    root = tmp_path / "class"
    names = softmax_class(root, 10)
    out = tmp_path / "out"
    db = out / "gradebook.sqlite"
    env = {**os.environ, "GRADER_COURSE_ROOT": str(course)}
    run = subprocess.Popen([str(GRADER), "grade", str(root), "--output", str(out),
                            "--workers", "1"], cwd=course, env=env, start_new_session=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while committed_students(db) < 1 and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.02)
    os.killpg(run.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C: the whole group
    stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 130, stdout + stderr
    graded = committed_students(db)
    assert 1 <= graded < len(names), "Ctrl-C should land mid-run"
    assert f"Graded {graded} student(s)" in stdout
    assert (f"Interrupted: everything graded before Ctrl-C is in the gradebook; "
            f"{len(names) - graded} student(s) were not graded: run again to continue.") in stdout
    header = next(line for line in stdout.splitlines() if "did_not_run" in line)
    assert "problems" not in header and "to_hand_grade" not in header
