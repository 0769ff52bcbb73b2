"""grader/engine/run_check.py with the real softmax_ce checks, on implementations in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.authoring.checks import checks_for
from grader.course.model import load_course
from grader.course.stubs import strip_markers
from grader.engine.in_process import load
from grader.engine.run_check import HIDDEN_ERROR, HIDDEN_FAILED, grade_exercise, run_check

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = strip_markers((ROOT / "solutions" / "softmax_ce.py").read_text())

# softmax_cross_entropy that does not call softmax, so softmax's mistakes stay in softmax.
INDEPENDENT = """import numpy as np


def softmax_cross_entropy(logits, y):
    n = logits.shape[0]
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    e = np.exp(shifted)
    p = e / e.sum(axis=1, keepdims=True)
    loss = float(np.mean(np.log(e.sum(axis=1)) - shifted[np.arange(n), y]))
    p[np.arange(n), y] -= 1.0
    return loss, p / n
"""


@pytest.fixture(scope="module")
def checks():
    return checks_for("softmax_ce", include_hidden=True)


def _run(tmp_path: Path, source: str, checks, name: str = "student"):
    folder = tmp_path / name
    folder.mkdir()
    path = folder / "softmax_ce.py"
    path.write_text(source)
    impl = load(path, "softmax_ce")
    assert impl.notes == []  # a .py file loads whole: nothing to note
    return {check.name: run_check(check, impl) for check in checks}


def test_the_checks_are_the_ones_course_config_lists(checks):
    exercise = load_course().exercise("softmax_ce")
    assert {c.name for c in checks if not c.hidden} == set(exercise.public)
    assert {c.name for c in checks if c.hidden} == set(exercise.hidden)
    assert all(c.statement and c.points > 0 for c in checks)


def test_the_reference_scores_full_marks(tmp_path, checks):
    results = _run(tmp_path, REFERENCE, checks)
    failed = {name: r.message for name, r in results.items() if r.status != "passed"}
    assert failed == {}
    assert sum(r.score for r in results.values()) == load_course().exercise("softmax_ce").points
    assert all(r.score == r.max_score and r.message == "" for r in results.values())


@pytest.fixture(scope="module")
def not_divided_by_n(tmp_path_factory, checks):
    wrong = REFERENCE.replace("    dlogits /= n\n", "")
    assert wrong != REFERENCE
    return _run(tmp_path_factory.mktemp("no_n"), wrong, checks)


def test_a_gradient_not_divided_by_n_fails_with_a_diagnosis_and_the_smallest_input(
        not_divided_by_n):
    results = not_divided_by_n
    grad = results["gradient_matches_central_differences"]
    assert grad.status == "failed" and grad.score == 0
    assert "dlogits does not match central differences of your loss." in grad.message
    assert "Likely mistake:" in grad.message
    assert "every entry is N times the expected for every batch size" in grad.message
    assert "divide by the batch size N." in grad.message
    assert "Smallest failing input:" in grad.message
    assert "case = (array(" in grad.message
    # the mistake does not touch the loss: those checks still pass
    assert results["loss_pinned_values"].status == "passed"
    assert results["loss_is_mean_over_examples"].status == "passed"


def test_a_hidden_failure_shows_only_its_statement(not_divided_by_n):
    hidden = not_divided_by_n["gradient_matches_reference"]
    assert hidden.hidden and hidden.status == "failed" and hidden.score == 0
    assert hidden.message == HIDDEN_FAILED.format(statement=hidden.statement.rstrip("."))
    for leak in ("Smallest failing input", "observed", "array(", "Likely mistake", "case ="):
        assert leak not in hidden.message


def test_a_hidden_error_shows_only_its_statement(tmp_path, checks):
    source = INDEPENDENT.replace("    n = logits.shape[0]\n",
                                 "    n = logits.shape[0]\n    if abs(logits).max() > 100:\n"
                                 "        raise ValueError(f'too big: {logits}')\n")
    results = _run(tmp_path, source + "\nsoftmax = None\n", checks)
    hidden = results["loss_matches_reference_for_extreme_logits"]
    assert hidden.status == "error"
    assert hidden.message == HIDDEN_ERROR.format(statement=hidden.statement.rstrip("."))
    assert "too big" not in hidden.message and "ValueError" not in hidden.message


@pytest.mark.parametrize(("body", "words"), [
    ("return None", "softmax(logits) is a value of type NoneType, expected a NumPy array"),
    ("return logits.tolist()", "softmax(logits) is a list, expected a NumPy array"),
    ("return np.ones(logits.shape[0])", "softmax(logits) has shape ("),
    ("return np.full(logits.shape, np.nan)", "softmax(logits) contains NaN"),
])
def test_bad_softmax_results_fail_with_a_clear_message(tmp_path, checks, body, words):
    source = INDEPENDENT + f"\n\ndef softmax(logits):\n    {body}\n"
    results = _run(tmp_path, source, checks)
    r = results["softmax_rows_are_distributions"]
    assert r.status == "failed"
    assert words in r.message
    assert "Traceback" not in r.message and "could not be checked" not in r.message
    assert results["any_batch_size_and_class_count"].status == "failed"
    # softmax_cross_entropy is right on its own: its checks pass
    assert results["gradient_matches_central_differences"].status == "passed"


@pytest.mark.parametrize(("body", "words"), [
    ("return None", "must return a tuple (loss, dlogits)"),
    ("return [0.5, np.zeros_like(logits)]", "must return a tuple (loss, dlogits)"),
    ("return 0.5, np.zeros((logits.shape[1], logits.shape[0]))", "dlogits has shape"),
    ("return 'loss', np.zeros_like(logits)", "the loss is a value of type str"),
    ("return float('nan'), np.zeros_like(logits)", "the loss is nan, expected a finite number"),
])
def test_bad_loss_results_fail_with_a_clear_message(tmp_path, checks, body, words):
    source = (REFERENCE + "\n\ndef softmax_cross_entropy(logits, y):\n"
              f"    {body}\n")
    results = _run(tmp_path, source, checks)
    r = results["loss_is_mean_over_examples"]
    assert r.status == "failed", r.message
    assert words in r.message
    assert "could not be checked" not in r.message


def test_an_untouched_stub_is_not_attempted_everywhere(tmp_path, checks):
    results = _run(tmp_path, (ROOT / "exercises" / "softmax_ce.py").read_text(), checks)
    public = [r for r in results.values() if not r.hidden]
    assert all(r.status == "failed" and r.score == 0 for r in results.values())
    assert all(r.message.startswith("Not attempted yet: `softmax") for r in public)


def test_a_missing_function_is_status_missing(tmp_path, checks):
    source = INDEPENDENT  # no softmax at all
    results = _run(tmp_path, source, checks)
    r = results["softmax_rows_are_distributions"]
    assert r.status == "missing" and r.score == 0
    assert "`softmax` is not defined in your softmax_ce code" in r.message
    hidden = results["softmax_matches_reference"]
    assert hidden.status == "missing" and "`softmax` is not defined" in hidden.message


def test_an_exception_in_student_code_is_an_error_with_the_line(tmp_path, checks):
    source = INDEPENDENT + "\n\ndef softmax(logits):\n    return logits[99, 99]\n"
    results = _run(tmp_path, source, checks)
    r = results["softmax_rows_are_distributions"]
    assert r.status == "error"
    line = source.splitlines().index("    return logits[99, 99]") + 1
    assert "`softmax` raised IndexError" in r.message
    assert f"(line {line}, in softmax)" in r.message


def test_print_in_student_code_during_checks_does_not_reach_stdout(tmp_path, checks, capsys):
    source = (REFERENCE + "\nimport sys\n_old = softmax\n\ndef softmax(logits):\n"
              "    print('debug!')\n    print('warn!', file=sys.stderr)\n"
              "    return _old(logits)\n")
    results = _run(tmp_path, source, checks)
    assert all(r.passed for r in results.values())
    out, err = capsys.readouterr()
    assert "debug!" not in out
    assert "warn!" not in err


def test_notes_of_a_notebook_are_added_to_failing_results(tmp_path, checks):
    import json

    cells = [{"cell_type": "code", "source": INDEPENDENT},
             {"cell_type": "code", "source": "def softmax(logits):\n    return None\n"},
             {"cell_type": "code", "source": "raise RuntimeError('plot failed')\n"}]
    path = tmp_path / "softmax_ce.ipynb"
    path.write_text(json.dumps({"cells": cells}))
    impl = load(path, "softmax_ce")
    exercise = load_course().exercise("softmax_ce")
    results = {r.check: r for r in grade_exercise(exercise, impl=impl)}
    failing = results["softmax_rows_are_distributions"]
    assert failing.message.endswith("Note: cell 3 of softmax_ce.ipynb raised RuntimeError and "
                                    "was skipped: plot failed.")
    assert results["gradient_matches_central_differences"].message == ""


def test_stop_at_first_failure(tmp_path, checks):
    path = tmp_path / "softmax_ce.py"
    path.write_text(INDEPENDENT + "\n\ndef softmax(logits):\n    return None\n")
    exercise = load_course().exercise("softmax_ce")
    results = grade_exercise(exercise, path, stop_at_first_failure=True)
    assert [r.status for r in results][-1] != "passed"
    assert all(r.passed for r in results[:-1])
    assert len(results) < len(checks)


def test_results_are_identical_over_two_runs(tmp_path, checks):
    wrong = REFERENCE.replace("    dlogits /= n\n", "    dlogits /= n * n\n")
    runs = []
    for i in range(2):
        results = _run(tmp_path, wrong, checks, name=f"run{i}")
        runs.append([(r.check, r.status, r.score, r.message) for r in results.values()])
    assert runs[0] == runs[1]
    assert any(status != "passed" for _, status, _, _ in runs[0])
