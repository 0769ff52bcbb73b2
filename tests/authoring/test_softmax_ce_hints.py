"""The hints of softmax_ce's public checks are true (issue 20, "Every hint is true").

Each test runs one check on one chosen input (Hypothesis' inner test, so the input and the
numbers in the message are fixed) against an implementation from the audit catalog or a patch
of the reference, and asserts the exact hint given, and that the wrong one is not.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grader.authoring.checks import checks_for
from grader.authoring.failures import CheckFailure
from grader.course.model import import_path, load_course
from grader.course.stubs import strip_markers
from grader.grading.audit import load_catalog, materialize

FIX = "use log-sum-exp: logsumexp(row) - row[y], from the shifted logits."
TWO_ROWS = (np.array([[1.0, 2.0, 3.0], [1.0, -1.0, 0.5]]), np.array([2, 0]))
EIGHT_ROWS = (np.array([[0.35, 0.82, 0.33], [-1.3, 0.91, 0.45], [-0.54, 0.58, 0.36],
                        [0.29, 0.03, 0.55], [-0.74, -0.16, -0.48], [0.6, 0.04, -0.29],
                        [-0.78, -0.26, 0.01], [-0.28, 1.29, 1.01]]),
              np.array([0, 1, 2, 0, 1, 2, 0, 1]))
TRIED = "for every batch size and class count tried (N = 1, 3, 5, 8; C = 2, 3, 4)"
GRADIENT_LINES = ("    loss = float(np.mean(log_sum_exp - shifted[rows, y]))\n"
                  "    dlogits = softmax(logits)\n"
                  "    dlogits[rows, y] -= 1.0\n"
                  "    dlogits /= n\n")


def _check(name):
    checks = {c.name: c for c in checks_for("softmax_ce", include_hidden=False)}
    return checks[name].function.hypothesis.inner_test


def _catalog(entry_id, tmp_path):
    entry = next(e for e in load_catalog(["softmax_ce"]) if e.id == entry_id)
    return import_path(materialize(entry, tmp_path), f"_hints_{entry_id}")


def _patched(find, replace, tmp_path, name):
    text = strip_markers((load_course().solutions_dir / "softmax_ce.py").read_text())
    assert text.count(find) == 1
    path = tmp_path / "softmax_ce.py"
    path.write_text(text.replace(find, replace))
    return import_path(path, f"_hints_{name}")


def _failure(check, impl, **inputs) -> CheckFailure:
    with pytest.raises(CheckFailure) as caught:
        _check(check)(impl=impl, **inputs)
    return caught.value


# (a) -log(p + 1e-7): the saturation signature has its own hint; no "N times" for N=1.

def test_a_loss_saturated_at_minus_log_1e_7_gets_the_saturation_hint(tmp_path):
    impl = _catalog("epsilon_1e-7_log_loss", tmp_path)
    failure = _failure("loss_pinned_values", impl, a=1000.0, c=2)
    assert failure.summary == "loss for logits=[[a, 0]], y=[1] does not match the expected value."
    assert "observed 16.11809565, expected 1000" in failure.details[0]
    assert failure.diagnosis == ("the loss saturates at -log(1e-7) = 16.12: p + 1e-7 (or p "
                                 f"clipped at 1e-7) inside the log; {FIX}")
    assert "N=1" not in failure.text() and "times the expected" not in failure.text()


def test_minus_log_p_plus_1e_7_is_named_before_it_saturates(tmp_path):
    impl = _catalog("epsilon_1e-7_log_loss", tmp_path)
    failure = _failure("loss_pinned_values", impl, a=0.0, c=3)  # p = 1/2: off by 2e-7
    assert failure.diagnosis == ("the loss is -log(p + 1e-7): p + eps inside the log, which "
                                 f"saturates at -log(1e-7) = 16.12; {FIX}")
    assert "1 times" not in failure.text() and "not the sum" not in failure.text()


# (b) a hard-coded batch size of 4 on a batch of 8 is not "a missing division by 2".

def test_a_hard_coded_batch_size_is_named_for_dlogits(tmp_path):
    impl = _catalog("hard_coded_batch_size_4", tmp_path)
    failure = _failure("gradient_matches_central_differences", impl, case=EIGHT_ROWS)
    assert failure.summary == "dlogits does not match the true gradient."
    assert failure.diagnosis == (
        f"every entry is N/4 times the expected {TRIED}: it is divided by a fixed 4 instead of the "
        "batch size N (a hard-coded batch size); divide by the actual N, the number of rows. "
        "It agrees with the central differences of your loss, which is wrong too (observed "
        "2.147114931, expected 1.073557466).")
    assert "2 times" not in failure.text() and "division by 2" not in failure.text()


def test_a_hard_coded_batch_size_is_named_for_the_loss(tmp_path):
    impl = _catalog("hard_coded_batch_size_4", tmp_path)
    failure = _failure("loss_is_mean_over_examples", impl, case=EIGHT_ROWS)
    assert failure.diagnosis == (
        f"the loss is N/4 times the expected {TRIED}: it is divided by a fixed 4 instead of the "
        "batch size N (a hard-coded batch size); divide by the actual N, the number of rows.")
    assert "8 times" not in failure.text() and "divide by N=8" not in failure.text()


def test_a_constant_factor_2_is_not_called_a_batch_size(tmp_path):
    impl = _patched("    dlogits /= n\n", "    dlogits /= n\n    dlogits *= 2\n", tmp_path,
                    "factor_2")
    failure = _failure("gradient_matches_central_differences", impl, case=EIGHT_ROWS)
    assert failure.diagnosis == (f"every entry is 2 times the expected {TRIED}: a constant factor "
                                 "2, the same whatever N (not the batch size).")
    assert "hard-coded" not in failure.text() and "batch size N=" not in failure.text()


# (c) "dlogits does not match central differences" says whose loss, and which one is wrong.

def test_a_right_dlogits_with_a_wrong_loss_passes_the_gradient_check(tmp_path):
    """The gradient check's verdict is the true gradient: a summed loss is the loss checks'
    mistake, not the gradient's (one mistake costs the checks that test it)."""
    impl = _catalog("loss_sum_not_mean", tmp_path)
    _check("gradient_matches_central_differences")(impl=impl, case=TWO_ROWS)  # no failure
    failure = _failure("loss_pinned_values", impl, a=0.0, c=3)
    assert failure.summary == "loss for equal logits (C=3) does not match the expected value."
    assert "a sum instead of a mean" in failure.diagnosis


def test_a_wrong_dlogits_with_a_right_loss_blames_dlogits(tmp_path):
    impl = _catalog("gradient_not_divided_by_n", tmp_path)
    failure = _failure("gradient_matches_central_differences", impl, case=TWO_ROWS)
    assert failure.summary == "dlogits does not match central differences of your loss."
    assert failure.diagnosis == (
        "every entry is N times the expected for every batch size and class count tried (N = 1, 2, "
        "3, 5; C = 2, 3, 4): the 1/N of the mean over the batch is missing (a sum instead of a "
        "mean); divide by the batch size N.")
    assert "your loss is wrong" not in failure.text()


def test_a_loss_and_dlogits_wrong_together_are_both_named(tmp_path):
    """Summed loss and undivided gradient agree with each other: the anchor catches both."""
    impl = _patched(GRADIENT_LINES,
                    GRADIENT_LINES.replace("np.mean(", "np.sum(").replace("    dlogits /= n\n", ""),
                    tmp_path, "sum_both")
    failure = _failure("gradient_matches_central_differences", impl, case=TWO_ROWS)
    assert failure.summary == "dlogits does not match the true gradient."
    assert failure.diagnosis == (
        "every entry is N times the expected for every batch size and class count tried (N = 1, 2, "
        "3, 5; C = 2, 3, 4): the 1/N of the mean over the batch is missing (a sum instead of a "
        "mean); divide by the batch size N. It agrees with the central differences of your "
        "loss, which is wrong too (observed 0.9625628841, expected 0.481281442).")


def test_the_reference_passes_the_inputs_used_here():
    ref = import_path(Path(load_course().solutions_dir / "softmax_ce.py"), "_hints_reference")
    _check("loss_pinned_values")(impl=ref, a=1000.0, c=2)
    _check("loss_pinned_values")(impl=ref, a=0.0, c=3)
    for case in (TWO_ROWS, EIGHT_ROWS):
        _check("gradient_matches_central_differences")(impl=ref, case=case)
        _check("loss_is_mean_over_examples")(impl=ref, case=case)
