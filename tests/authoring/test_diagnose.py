"""grader/authoring/diagnose.py: the usual mistakes, recognised from observed vs expected."""

from __future__ import annotations

import numpy as np
import pytest

from grader.authoring.diagnose import batch_factor_hint, diagnose, log_epsilon_hint

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
    assert diagnose(3 * E, E) == "every entry is exactly 3 times too large."


def test_fractional_factor_without_likely():
    assert diagnose(E / 5, E) == "every entry is exactly 5 times too small."


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


# Issue 20, "Every hint is true": a hint names a mistake only when the numbers prove it.

SUM_N1 = "the loss is the mean over the batch (N=1), not the sum."
FIX = "use log-sum-exp: logsumexp(row) - row[y], from the shifted logits."


def test_a_saturated_loss_gets_the_saturation_hint_not_a_batch_size_one():
    """BUG seen on real student code: -log(p + 1e-7) observed 16.118 (= -log(1e-7)) where
    1000 was expected, and the check's {N: "mean not sum"} with N=1 was the hint given."""
    msg = diagnose(np.array([-np.log(1e-7)]), np.array([1000.0]), likely={1.0: SUM_N1})
    assert msg == ("the loss saturates at -log(1e-7) = 16.12: p + 1e-7 (or p clipped at 1e-7) "
                   f"inside the log; {FIX}")
    assert SUM_N1 not in msg and "times the expected" not in msg


def test_the_saturation_of_minus_log_p_plus_1e_12_is_named():
    msg = diagnose(np.array([-np.log(1e-12)]), np.array([1000.0]))
    assert msg == ("the loss saturates at -log(1e-12) = 27.63: p + 1e-12 (or p clipped at 1e-12) "
                   f"inside the log; {FIX}")


def test_minus_log_p_plus_eps_is_named_before_it_saturates():
    """-log(0.5 + 1e-7) is 1.0000003 times log 2: "1 times the expected: (N=1)" was given."""
    msg = diagnose(np.array([-np.log(0.5 + 1e-7)]), np.array([np.log(2.0)]),
                   likely={1.0: SUM_N1})
    assert msg == ("the loss is -log(p + 1e-7): p + eps inside the log, which saturates at "
                   f"-log(1e-7) = 16.12; {FIX}")
    assert SUM_N1 not in msg and "1 times" not in msg


@pytest.mark.parametrize("shape", [(), (1,), (1, 1), (1, 1, 1)])
def test_one_number_of_any_shape_is_diagnosed_without_an_error(shape):
    """BUG (caught by the audit of gradcheck): a (1, 1) array reached float(o[0])."""
    for o, e in ((16.0, 1000.0), (2.0, 1.0), (-1.0, 1.0), (0.5, 0.7)):
        diagnose(np.full(shape, o), np.full(shape, e))
    assert diagnose(np.full(shape, -np.log(1e-7)), np.full(shape, 1000.0)) == (
        None if len(shape) > 1 else
        "the loss saturates at -log(1e-7) = 16.12: p + 1e-7 (or p clipped at 1e-7) inside the "
        f"log; {FIX}")


def test_a_factor_of_one_never_gets_a_likely_message():
    """A ratio of 1 proves nothing: the likely message of N=1 is never given."""
    assert diagnose(E * (1 + 3e-7), E, likely={1.0: SUM_N1}) is None
    assert diagnose(np.array([2.0 + 1e-8]), np.array([2.0]), likely={1.0: SUM_N1}) is None


def test_a_clipped_probability_is_named_when_it_can_be_told_from_p_plus_eps():
    p = np.array([1e-9, 0.3])
    observed = float(np.mean(-np.log(np.maximum(p, 1e-7))))
    assert log_epsilon_hint(observed, p) == (
        f"the loss is -log of p clipped at 1e-7: it saturates at -log(1e-7) = 16.12; {FIX}")
    observed = float(np.mean(-np.log(p + 1e-7)))
    assert log_epsilon_hint(observed, p) == (
        "the loss is -log(p + 1e-7): p + eps inside the log, which saturates at "
        f"-log(1e-7) = 16.12; {FIX}")


@pytest.mark.parametrize("observed, expected", [(27.0, 1000.0), (0.69, 0.7), (16.1, 16.2),
                                                (np.log(2.0), np.log(2.0))])
def test_no_epsilon_hint_unless_an_epsilon_explains_the_number(observed, expected):
    assert log_epsilon_hint(observed, [np.exp(-expected)], expected) is None


def test_one_comparison_with_a_factor_2_does_not_guess_its_cause():
    """BUG seen on real student code: "exactly 2 times too large: a missing division by 2?"
    when the code divided by a hard-coded 4 on a batch of 8."""
    msg = diagnose(2 * E, E)
    assert msg == "every entry is exactly 2 times too large."
    assert "division" not in msg


def test_a_hard_coded_batch_size_is_named_from_factors_at_several_batch_sizes():
    msg = batch_factor_hint([(8, 3, 2.0), (1, 3, 0.25), (3, 4, 0.75), (5, 2, 1.25)],
                            what="dlogits")
    assert msg == ("dlogits is N/4 times the expected for every batch size and class count tried "
                   "(N = 1, 3, 5, 8; C = 2, 3, 4): it is divided by a fixed 4 instead of the "
                   "batch size N (a hard-coded batch size); divide by the actual N, the number "
                   "of rows.")
    assert "factor 2" not in msg and "division by 2" not in msg


def test_a_hard_coded_batch_size_that_equals_one_of_the_batches_is_still_named():
    msg = batch_factor_hint([(4, 3, 1.0), (8, 3, 2.0)], what="dlogits")
    assert msg is not None and "divided by a fixed 4" in msg


def test_a_factor_2_at_every_batch_size_is_a_constant_factor_not_the_batch_size():
    msg = batch_factor_hint([(8, 3, 2.0), (1, 3, 2.0), (3, 4, 2.0)], what="dlogits")
    assert msg == ("dlogits is 2 times the expected for every batch size and class count tried "
                   "(N = 1, 3, 8; C = 3, 4): a constant factor 2, the same whatever N (not the "
                   "batch size).")
    assert "hard-coded" not in msg and "divide by the batch size" not in msg


def test_a_missing_division_by_n_is_named_from_factors_at_several_batch_sizes():
    msg = batch_factor_hint([(2, 3, 2.0), (1, 3, 1.0), (3, 4, 3.0), (5, 2, 5.0)], what="dlogits")
    assert msg == ("dlogits is N times the expected for every batch size and class count tried "
                   "(N = 1, 2, 3, 5; C = 2, 3, 4): the 1/N of the mean over the batch is missing "
                   "(a sum instead of a mean); divide by the batch size N.")


@pytest.mark.parametrize("points, expected", [
    ([(2, 3, 1 / 3), (1, 3, 1 / 3), (3, 4, 1 / 4)],
     "the loss is 1/C times the expected for every batch size and class count tried "
     "(N = 1, 2, 3; C = 3, 4): it is divided by N*C (all entries) instead of by the batch size N."),
    ([(2, 3, 2 / 3), (1, 3, 1 / 3), (3, 4, 3 / 4)],
     "the loss is N/C times the expected for every batch size and class count tried "
     "(N = 1, 2, 3; C = 3, 4): it is divided by the number of classes C instead of the batch "
     "size N."),
    ([(2, 3, 0.5), (1, 3, 1.0), (3, 4, 1 / 3)],
     "the loss is 1/N times the expected for every batch size and class count tried "
     "(N = 1, 2, 3; C = 3, 4): it is divided by the batch size N twice."),
    ([(2, 3, -1.0), (1, 4, -1.0)],
     "the loss is the negative of the expected value for every batch size and class count "
     "tried (N = 1, 2; C = 3, 4): the sign is flipped."),
])
def test_each_batch_size_mistake_is_named_when_the_factors_prove_it(points, expected):
    assert batch_factor_hint(points, what="the loss") == expected


@pytest.mark.parametrize("points", [
    [(8, 3, 2.0)],                              # one batch size: N/4, a factor 2, ... all fit
    [(8, 3, 2.0), (8, 3, 2.0)],                 # the same batch size twice proves no more
    [(4, 3, 1.0), (8, 3, 1.0)],                 # right everywhere
    [(2, 3, 2.0), (3, 3, 2.5)],                 # no known mistake fits
    [(2, 3, 2.0), (3, 3, None)],                # not a constant factor at N=3
    [(2, 2, 1.0), (4, 2, 2.0)],                 # N/2 (fixed 2) and N/C with C=2 both fit
])
def test_no_batch_size_hint_unless_exactly_one_mistake_fits(points):
    assert batch_factor_hint(points, what="dlogits") is None
