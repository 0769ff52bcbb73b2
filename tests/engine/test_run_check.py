"""grader/engine/run_check.py with the fixture course's checks, on implementations in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import FIXTURE_COURSE, using_course

from grader.authoring.checks import checks_for
from grader.course.model import load_course
from grader.course.stubs import strip_markers
from grader.engine.in_process import load
from grader.engine.run_check import HIDDEN_ERROR, HIDDEN_FAILED, grade_exercise, run_check

# The engine is under test, not the real course: these run on the fixture course's two
# exercises, so a change of the real course's checks never breaks them.
DOT = strip_markers((FIXTURE_COURSE / "solutions" / "dot_product.py").read_text())
SCALE = strip_markers((FIXTURE_COURSE / "solutions" / "vector_scale.py").read_text())
HALF_DOT = DOT.replace("return float(np.sum(", "return float(0.5 * np.sum(")
# scale that changes its input: only the check that looks at the input fails.
IN_PLACE = SCALE.replace("    return c * np.asarray(v, dtype=float)\n",
                         "    v *= c\n    return v\n")


@pytest.fixture(scope="module", autouse=True)
def fixture_course():
    with using_course(FIXTURE_COURSE) as course:
        yield course


@pytest.fixture(scope="module")
def checks(fixture_course):
    return {ex: checks_for(ex, include_hidden=True) for ex in fixture_course.exercises}


def _run(tmp_path: Path, source: str, checks, exercise: str = "vector_scale",
         name: str = "student"):
    folder = tmp_path / name
    folder.mkdir()
    path = folder / f"{exercise}.py"
    path.write_text(source)
    impl = load(path, exercise)
    assert impl.notes == []  # a .py file loads whole: nothing to note
    return {check.name: run_check(check, impl) for check in checks[exercise]}


def test_the_checks_are_the_ones_course_config_lists(checks):
    assert set(checks) == {"dot_product", "vector_scale"}
    for exercise_id, found in checks.items():
        exercise = load_course().exercise(exercise_id)
        assert {c.name for c in found if not c.hidden} == set(exercise.public)
        assert {c.name for c in found if c.hidden} == set(exercise.hidden)
        assert all(c.statement and c.points > 0 for c in found)


@pytest.mark.parametrize(("exercise", "source"), [("dot_product", DOT), ("vector_scale", SCALE)])
def test_the_reference_scores_full_marks(tmp_path, checks, exercise, source):
    results = _run(tmp_path, source, checks, exercise)
    failed = {name: r.message for name, r in results.items() if r.status != "passed"}
    assert failed == {}
    assert sum(r.score for r in results.values()) == load_course().exercise(exercise).points
    assert all(r.score == r.max_score and r.message == "" for r in results.values())


@pytest.fixture(scope="module")
def halved(tmp_path_factory, checks):
    assert HALF_DOT != DOT
    return _run(tmp_path_factory.mktemp("half"), HALF_DOT, checks, "dot_product")


def test_a_halved_dot_product_fails_with_a_diagnosis_and_the_smallest_input(halved):
    pinned = halved["dot_pinned_values"]
    assert pinned.status == "failed" and pinned.score == 0
    assert "dot([1, 2, 3], [4, 5, 6]) does not match the expected value." in pinned.message
    assert "observed 16, expected 32" in pinned.message
    assert "Likely mistake: every entry is 0.5 times the expected: you halved the sum." \
        in pinned.message
    assert "Smallest failing input:" in pinned.message
    assert "seed = 0" in pinned.message
    # with no hint of the check's own, the diagnosis comes from the numbers alone
    anyn = halved["dot_of_any_two_vectors"]
    assert "Likely mistake: every entry is exactly 2 times too small." in anyn.message
    assert "n = 1" in anyn.message


def test_a_mistake_fails_only_the_check_that_sees_it_with_the_check_s_hint(tmp_path, checks):
    assert IN_PLACE != SCALE
    results = _run(tmp_path, IN_PLACE, checks)
    r = results["scale_leaves_its_input_unchanged"]
    assert r.status == "failed" and r.score == 0
    assert r.message.startswith("scale changed its input v.\n")
    assert "Likely mistake: v *= c scales v in place; return c * v instead." in r.message
    assert "Smallest failing input:" in r.message and "c = 3.0" in r.message
    # the mistake does not touch the values returned: those checks still pass
    assert results["scale_pinned_values"].status == "passed"
    assert results["scale_of_any_vector_and_factor"].status == "passed"
    assert results["scale_matches_reference"].status == "passed"


def test_a_hidden_failure_shows_only_its_statement(halved):
    hidden = halved["dot_matches_reference"]
    assert hidden.hidden and hidden.status == "failed" and hidden.score == 0
    assert hidden.message == HIDDEN_FAILED.format(statement=hidden.statement.rstrip("."))
    for leak in ("Smallest failing input", "observed", "array(", "Likely mistake", "seed ="):
        assert leak not in hidden.message


def test_a_hidden_error_shows_only_its_statement(tmp_path, checks):
    # Only the hidden check draws factors above 5: the public ones pass.
    source = SCALE.replace("def scale(v, c):\n",
                           "def scale(v, c):\n    if abs(c) > 100:\n"
                           "        raise ValueError(f'too big: {c}')\n")
    results = _run(tmp_path, source, checks)
    assert all(r.passed for r in results.values() if not r.hidden)
    hidden = results["scale_matches_reference"]
    assert hidden.status == "error"
    assert hidden.message == HIDDEN_ERROR.format(statement=hidden.statement.rstrip("."))
    assert "too big" not in hidden.message and "ValueError" not in hidden.message


@pytest.mark.parametrize(("body", "words"), [
    ("return None", "scale([1, -2, 3], 2.0) is a value of type NoneType, expected a NumPy array"),
    ("return (c * np.asarray(v)).tolist()", "scale([1, -2, 3], 2.0) is a list, expected a NumPy "
                                             "array"),
    ("return np.ones(len(v) + 1)", "scale([1, -2, 3], 2.0) has shape (4,), expected (3,)"),
    ("return np.full(np.shape(v), np.nan)", "scale([1, -2, 3], 2.0) contains NaN"),
])
def test_bad_array_results_fail_with_a_clear_message(tmp_path, checks, body, words):
    source = f"import numpy as np\n\n\ndef scale(v, c):\n    {body}\n"
    results = _run(tmp_path, source, checks)
    r = results["scale_pinned_values"]
    assert r.status == "failed"
    assert words in r.message
    assert "Traceback" not in r.message and "could not be checked" not in r.message
    assert results["scale_of_any_vector_and_factor"].status == "failed"


@pytest.mark.parametrize(("body", "words"), [
    ("return None", "is a value of type NoneType, expected a single number"),
    ("return [1.0]", "is a value of type list, expected a single number"),
    ("return np.array([1.0, 2.0])", "is an array of dtype float64 and shape (2,), expected a "
                                    "single number"),
    ("return 'dot'", "is a value of type str, expected a single number"),
    ("return float('nan')", "is nan, expected a finite number"),
])
def test_bad_number_results_fail_with_a_clear_message(tmp_path, checks, body, words):
    source = f"import numpy as np\n\n\ndef dot(u, v):\n    {body}\n"
    results = _run(tmp_path, source, checks, "dot_product")
    r = results["dot_of_any_two_vectors"]
    assert r.status == "failed", r.message
    assert words in r.message
    assert "could not be checked" not in r.message


def test_an_untouched_stub_is_not_attempted_everywhere(tmp_path, checks):
    results = _run(tmp_path, (FIXTURE_COURSE / "exercises" / "vector_scale.py").read_text(),
                   checks)
    public = [r for r in results.values() if not r.hidden]
    assert all(r.status == "failed" and r.score == 0 for r in results.values())
    assert all(r.message.startswith("Not attempted yet: `scale") for r in public)


def test_a_missing_function_is_status_missing(tmp_path, checks):
    source = "import numpy as np\n\n\ndef dott(u, v):\n    return float(np.dot(u, v))\n"
    results = _run(tmp_path, source, checks, "dot_product")
    r = results["dot_pinned_values"]
    assert r.status == "missing" and r.score == 0
    assert "`dot` is not defined in your dot_product code" in r.message
    hidden = results["dot_matches_reference"]
    assert hidden.status == "missing" and "`dot` is not defined" in hidden.message


def test_an_exception_in_student_code_is_an_error_with_the_line(tmp_path, checks):
    source = SCALE + "\n\ndef scale(v, c):\n    return v[99] * c\n"
    results = _run(tmp_path, source, checks)
    r = results["scale_pinned_values"]
    assert r.status == "error"
    line = source.splitlines().index("    return v[99] * c") + 1
    assert "`scale` raised IndexError" in r.message
    assert f"(line {line}, in scale)" in r.message


def test_print_in_student_code_during_checks_does_not_reach_stdout(tmp_path, checks, capsys):
    source = (SCALE + "\nimport sys\n_old = scale\n\ndef scale(v, c):\n"
              "    print('debug!')\n    print('warn!', file=sys.stderr)\n"
              "    return _old(v, c)\n")
    results = _run(tmp_path, source, checks)
    assert all(r.passed for r in results.values())
    out, err = capsys.readouterr()
    assert "debug!" not in out
    assert "warn!" not in err


def test_notes_of_a_notebook_are_added_to_failing_results(tmp_path):
    import json

    cells = [{"cell_type": "code", "source": "import numpy as np\n"},
             {"cell_type": "code", "source": "def scale(v, c):\n    v *= c\n    return v\n"},
             {"cell_type": "code", "source": "raise RuntimeError('plot failed')\n"}]
    path = tmp_path / "vector_scale.ipynb"
    path.write_text(json.dumps({"cells": cells}))
    impl = load(path, "vector_scale")
    exercise = load_course().exercise("vector_scale")
    results = {r.check: r for r in grade_exercise(exercise, impl=impl)}
    failing = results["scale_leaves_its_input_unchanged"]
    assert failing.message.endswith("Note: cell 3 of vector_scale.ipynb raised RuntimeError and "
                                    "was skipped: plot failed.")
    assert results["scale_pinned_values"].message == ""


def test_stop_at_first_failure(tmp_path, checks):
    path = tmp_path / "vector_scale.py"
    path.write_text(IN_PLACE)
    exercise = load_course().exercise("vector_scale")
    results = grade_exercise(exercise, path, stop_at_first_failure=True)
    assert [r.status for r in results][-1] != "passed"
    assert len(results) > 1 and all(r.passed for r in results[:-1])
    assert len(results) < len(checks["vector_scale"])


def test_results_are_identical_over_two_runs(tmp_path, checks):
    runs = []
    for i in range(2):
        results = _run(tmp_path, HALF_DOT, checks, "dot_product", name=f"run{i}")
        runs.append([(r.check, r.status, r.score, r.message) for r in results.values()])
    assert runs[0] == runs[1]
    assert any(status != "passed" for _, status, _, _ in runs[0])
