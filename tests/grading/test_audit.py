"""grader.grading.audit.judge: a verdict must hold under both sets of examples."""

from grader.grading.audit import Outcome, judge


def _outcome(job: str, kind: str, score: float, examples: str) -> Outcome:
    status = "passed" if score == 10.0 or (kind == "trivial" and score) else "failed"
    return Outcome(job, "ex", kind, f"{job} described", score, 10.0,
                   [("a_check", status, "lost a point")], examples=examples)


def test_a_mistake_that_keeps_full_marks_under_the_graded_examples_is_a_survivor():
    problems, kills, _ = judge([_outcome("w", "wrong", 7.0, "local"),
                                _outcome("w", "wrong", 10.0, "graded")])
    assert kills == {"ex": (0, 1)}
    assert problems == ["SURVIVOR ex/w (graded examples): w described"]


def test_a_trivial_implementation_paid_only_under_the_graded_examples_is_reported():
    problems, _, zeros = judge([_outcome("t", "trivial", 0.0, "local"),
                                _outcome("t", "trivial", 1.0, "graded")])
    assert zeros == {"ex": (0, 1)}
    assert problems[0].startswith("TRIVIAL PAID ex/t (graded examples): t described: 1 points")


def test_a_correct_variant_failing_only_under_the_graded_examples_is_a_false_failure():
    problems, _, _ = judge([_outcome("c", "correct", 10.0, "local"),
                            _outcome("c", "correct", 9.0, "graded")])
    assert problems == ["FALSE FAILURE ex/c (graded examples): c described: a_check (failed): "
                        "lost a point"]


def test_killed_under_both_counts_once():
    problems, kills, zeros = judge([_outcome("w", "wrong", 0.0, "local"),
                                    _outcome("w", "wrong", 3.0, "graded"),
                                    _outcome("t", "trivial", 0.0, "local"),
                                    _outcome("t", "trivial", 0.0, "graded")])
    assert (problems, kills, zeros) == ([], {"ex": (1, 1)}, {"ex": (1, 1)})


def test_the_audit_grades_the_generated_stub_not_someones_work_in_exercises(tmp_path):
    """Someone solved exercises/softmax_ce.py in the course folder: the audit still proves
    the stub that `grader stubs` makes from the reference (zero points), and says nothing
    about that person's file."""
    import os
    import shutil
    import subprocess
    import sys

    from support import ROOT, course_copy

    course = course_copy(tmp_path)
    shutil.copy(ROOT / "demo" / "submissions" / "ada_correct" / "softmax_ce.py",
                course / "exercises" / "softmax_ce.py")
    code = ("import sys\nfrom grader.grading.audit import audit\n"
            "sys.exit(audit(['softmax_ce'], workers=1, kinds=frozenset({'stub'}), "
            "reference_runs=0))\n")
    env = {**os.environ, "GRADER_COURSE_ROOT": str(course), "PYTHONPATH": str(course)}
    run = subprocess.run([sys.executable, "-c", code], cwd=course, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "stubs got zero without crashing" in run.stdout
