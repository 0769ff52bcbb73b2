"""Hidden checks for exercise 1: exact agreement with the reference, on inputs students don't see."""

import numpy as np
from hypothesis import example, given

from grader.authoring import expect, expect_close, logits_and_labels, reference

ref = reference("softmax_ce")


@given(case=logits_and_labels(max_n=6, max_c=6, scale=1e4))
@example(case=(np.array([[1e4, -1e4, 0.0], [-1e4, -1e4 + 1, -1e4 + 2]]), np.array([1, 0])))
@example(case=(np.array([[745.0, -745.0]]), np.array([1])))
def test_loss_matches_reference_for_extreme_logits(impl, case):
    """The loss agrees with the reference to 1e-9 (relative) for any |logits| up to 1e4."""
    logits, y = case
    result = impl.softmax_cross_entropy(logits.copy(), y.copy())
    expect(isinstance(result, tuple) and len(result) == 2, "must return (loss, dlogits)")
    expected, _ = ref.softmax_cross_entropy(logits.copy(), y.copy())
    expect_close(result[0], expected, what="loss", rtol=1e-9, atol=1e-12)


@given(case=logits_and_labels(max_n=6, max_c=6, scale=1e4))
@example(case=(np.array([[1e4, -1e4, 0.0], [-1e4, -1e4 + 1, -1e4 + 2]]), np.array([1, 0])))
@example(case=(np.array([[3.0, 1.0, 1.0], [0.0, 0.0, 0.0], [2.0, 2.0, 5.0]]), np.array([0, 0, 0])))
def test_gradient_matches_reference(impl, case):
    """dlogits agrees with the reference for any logits up to 1e4 and repeated labels."""
    logits, y = case
    result = impl.softmax_cross_entropy(logits.copy(), y.copy())
    expect(isinstance(result, tuple) and len(result) == 2, "must return (loss, dlogits)")
    _, expected = ref.softmax_cross_entropy(logits.copy(), y.copy())
    expect_close(result[1], expected, what="dlogits", rtol=1e-9, atol=1e-15)


@given(case=logits_and_labels(max_n=6, max_c=6, scale=1e4))
@example(case=(np.array([[1e4, -1e4, 0.0], [-1e4, -1e4 + 1, -1e4 + 2]]), np.array([1, 0])))
def test_softmax_matches_reference(impl, case):
    """softmax agrees with the reference for any logits up to 1e4."""
    logits, _ = case
    expect_close(impl.softmax(logits.copy()), ref.softmax(logits.copy()), what="softmax(logits)",
                 rtol=1e-9, atol=1e-300)
