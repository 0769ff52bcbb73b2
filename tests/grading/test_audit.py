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


def _wrong(job: str, failed: set[str], examples: str = "local") -> Outcome:
    statuses = [(c, "failed" if c in failed else "passed", "") for c in ("a", "b", "c")]
    return Outcome(job, "ex", "wrong", job, 10.0 - len(failed), 10.0, statuses,
                   examples=examples)


def test_per_check_kills_count_every_check_and_the_kills_no_other_check_makes():
    from grader.grading.audit import check_kills

    table = check_kills([_wrong("w1", {"a"}), _wrong("w2", {"a", "b"}), _wrong("w3", {"b"})])
    assert table == {"ex": {"a": (2, 1), "b": (2, 1), "c": (0, 0)}}


def test_a_check_kills_an_entry_only_when_it_fails_it_under_both_sets_of_examples():
    from grader.grading.audit import check_kills

    # Under the graded examples only b fails w1: a's local kill does not hold, and b is then
    # w1's only killer.
    table = check_kills([_wrong("w1", {"a", "b"}), _wrong("w1", {"b"}, "graded"),
                         _wrong("w2", {"a"}), _wrong("w2", {"a"}, "graded")])
    assert table == {"ex": {"a": (1, 1), "b": (1, 1), "c": (0, 0)}}


def test_the_course_catalog_has_no_entry_that_does_not_apply():
    from grader.course.model import load_course
    from grader.grading.audit import read_catalog

    entries, errors = read_catalog(list(load_course().exercises))
    assert errors == []
    assert len(entries) > 200


def test_a_catalog_without_entries_or_with_too_few_known_wrong_ones_is_a_problem():
    from grader.grading.audit import Entry, catalog_problems

    assert catalog_problems(["softmax_ce"], [], 5) == [
        "softmax_ce: tests/audit/catalog/softmax_ce.toml has no entries: add at least 5 "
        "[[wrong]] entries (known mistakes the checks must catch)"]
    four = [Entry("softmax_ce", "wrong", f"w{i}", "d", source="") for i in range(4)]
    assert catalog_problems(["softmax_ce"], four, 4) == []
    assert catalog_problems(["softmax_ce"], four, 5)[0].startswith(
        "softmax_ce: only 4 known-wrong implementation(s) in tests/audit/catalog/softmax_ce.toml")
    # An audit of the stubs alone does not ask for a catalog.
    assert catalog_problems(["softmax_ce"], [], 5, kinds=frozenset({"stub"})) == []


def test_under_the_graded_examples_a_mistake_meets_its_local_killers_first(tmp_path):
    """_grade_wrong with the checks that killed an entry locally runs those; only when none
    of them fails does it run the others, up to the first that fails (is it a survivor?)."""
    from grader.authoring.checks import checks_for, use_local_examples
    from grader.grading.audit import _grade_wrong, load_catalog, materialize

    use_local_examples()
    entry = next(e for e in load_catalog(["softmax_ce"]) if e.id == "gradient_not_divided_by_n")
    path = materialize(entry, tmp_path)
    from grader.authoring import hypothesis_compat as compat

    checks = checks_for("softmax_ce", include_hidden=True)
    order = [c.name for c in checks]
    own = [compat.settings_of(c.function) for c in checks]
    _, _, every = _grade_wrong("softmax_ce", path, "inprocess", None)
    # Shrinking is off only while a known-wrong implementation is graded.
    assert [compat.settings_of(c.function) for c in checks] == own
    assert [c for c, _, _ in every] == order
    killers = frozenset(c for c, s, _ in every if s != "passed")
    assert 1 < len(killers) < len(order)
    score, max_score, statuses = _grade_wrong("softmax_ce", path, "inprocess", killers)
    assert {c for c, _, _ in statuses} == killers and score < max_score
    assert all(s != "passed" for _, s, _ in statuses)
    passed = next(c for c in order if c not in killers)
    score, max_score, statuses = _grade_wrong("softmax_ce", path, "inprocess",
                                              frozenset({passed}))
    rest = [c for c in order if c != passed]
    first = next(c for c in rest if c in killers)
    assert [c for c, _, _ in statuses] == [passed, *rest[:rest.index(first) + 1]]
    assert statuses[-1][1] != "passed" and score < max_score
