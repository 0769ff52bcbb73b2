"""grader/diagnose.py: recognising the usual mistakes from observed vs expected numbers."""

from __future__ import annotations

import numpy as np
import pytest

from grader.diagnose import diagnose

E = np.array([[0.2, -0.5, 0.3], [-0.7, 0.1, 0.6], [0.05, 0.45, -0.5]])


def test_constant_factor_uses_the_checks_likely_message():
    msg = diagnose(4 * E, E, likely={4.0: "did you forget to divide by the batch size N=4?"})
    assert msg == ("every entry is 4 times the expected: "
                   "did you forget to divide by the batch size N=4?")


def test_likely_message_only_for_its_own_factor():
    msg = diagnose(3 * E, E, likely={4.0: "divide by N=4"})
    assert msg is not None
    assert "divide by N=4" not in msg
    assert "3 times too large" in msg


def test_integer_factor_without_likely():
    assert "exactly 3 times too large" in diagnose(3 * E, E)


def test_fractional_factor_without_likely():
    msg = diagnose(E / 5, E)
    assert "exactly 5 times too small" in msg


def test_odd_factor_is_named():
    msg = diagnose(1.37 * E, E)
    assert "1.37 times the expected" in msg


def test_sign_flip():
    assert "sign is flipped" in diagnose(-E, E)


def test_sign_flip_prefers_the_likely_message():
    msg = diagnose(-E, E, likely={-1.0: "it is softmax - onehot"})
    assert "it is softmax - onehot" in msg


def test_transpose():
    assert diagnose(E.T, E) == "the result is the transpose of the expected one."


def test_constant_offset():
    msg = diagnose(E + 0.25, E)
    assert msg is not None and "same constant 0.25" in msg


def test_all_zeros():
    assert "every entry is 0" in diagnose(np.zeros_like(E), E)


def test_some_rows_wrong():
    o = E.copy()
    o[1] = [9.0, -3.0, 2.0]
    msg = diagnose(o, E)
    assert msg is not None
    assert "only some rows are wrong (row 1 of 3)" in msg


@pytest.mark.parametrize("seed", range(5))
def test_no_diagnosis_for_unrelated_noise(seed):
    rng = np.random.default_rng(seed)
    o = rng.normal(size=(4, 5))
    e = rng.normal(size=(4, 5))
    assert diagnose(o, e) is None
    assert diagnose(o, e, likely={2.0: "x", -1.0: "y"}) is None


def test_no_diagnosis_when_shapes_differ_or_values_are_not_finite():
    assert diagnose(np.ones(3), np.ones(4)) is None
    assert diagnose(np.array([np.nan, 1.0]), np.array([1.0, 1.0])) is None
    assert diagnose(np.array([]), np.array([])) is None


def test_one_scalar_is_not_diagnosed_as_a_wrong_constant_factor():
    """BUG: any two numbers are "a constant factor" apart, so a scalar mismatch is always
    diagnosed, e.g. a saturated loss 27.6 vs 1000 reads "every entry is 0.0276 times the
    expected value: a wrong constant factor?" (misleading, and hides the check's own hint)."""
    msg = diagnose(np.array([27.6]), np.array([1000.0]))
    assert msg is None or "constant factor" not in msg


def test_one_scalar_still_gets_the_likely_factor():
    msg = diagnose(np.array([8.0]), np.array([2.0]), likely={4.0: "average over N=4"})
    assert msg is not None and "average over N=4" in msg


def test_a_factor_within_rounding_of_one_is_not_a_wrong_constant_factor():
    """BUG: a factor of 1.00002 (what a saturated loss does to central differences) is
    reported as "a wrong constant factor?", which no student can act on."""
    msg = diagnose(E * 1.00002, E)
    assert msg is None or "constant factor" not in msg
