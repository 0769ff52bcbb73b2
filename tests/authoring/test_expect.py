"""grader/authoring/expect.py: validating student values, and failure text that teaches."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from grader.authoring.expect import (
    expect,
    expect_array,
    expect_close,
    expect_equal_arrays,
    expect_scalar,
)
from grader.authoring.failures import CheckFailure


class MyArray(np.ndarray):
    pass


def _fails(fn, *args, **kwargs) -> CheckFailure:
    with pytest.raises(CheckFailure) as info:
        fn(*args, **kwargs)
    return info.value


# -- expect_array ---------------------------------------------------------------------------

def test_expect_array_accepts_a_float_array_and_returns_a_float64_copy():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    out = expect_array(x, what="x", shape=(2, 2))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, x)
    out[0, 0] = 99.0
    assert x[0, 0] == 1.0  # the student's array is untouched


def test_expect_array_converts_integers_for_floats():
    out = expect_array(np.array([1, 2, 3], dtype=np.int32), what="x", shape=(3,))
    assert out.dtype == np.float64
    assert out.tolist() == [1.0, 2.0, 3.0]


def test_expect_array_rejects_a_list():
    failure = _fails(expect_array, [[1.0, 2.0]], what="dlogits", shape=(1, 2))
    assert failure.summary == "dlogits is a list, expected a NumPy array of shape (1, 2)."


def test_expect_array_rejects_none_and_scalars():
    assert "NoneType" in _fails(expect_array, None, what="p").summary
    assert "float" in _fails(expect_array, 1.5, what="p").summary


def _matrix():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return np.matrix([[1.0, 2.0]])


@pytest.mark.parametrize("make", [_matrix, lambda: np.zeros((1, 2)).view(MyArray),
                                  lambda: np.ma.masked_array([[1.0, 2.0]])])
def test_expect_array_rejects_ndarray_subclasses(make):
    value = make()
    failure = _fails(expect_array, value, what="p", shape=(1, 2))
    assert "ndarray subclass" in failure.summary
    assert type(value).__name__ in failure.summary


@pytest.mark.parametrize("dtype", [object, np.complex128, "U3"])
def test_expect_array_rejects_non_real_dtypes(dtype):
    value = np.array([1, 2], dtype=dtype)
    failure = _fails(expect_array, value, what="p", shape=(2,))
    assert "dtype" in failure.summary


def test_expect_array_rejects_bool_for_floats_but_kind_i_rejects_floats():
    assert "bool" in _fails(expect_array, np.array([True, False]), what="p").summary
    failure = _fails(expect_array, np.array([1.0, 2.0]), what="labels", kind="i")
    assert "expected integers" in failure.summary
    assert expect_array(np.array([1, 2]), what="labels", kind="i").dtype == np.int64


def test_expect_array_wrong_shape_names_both_shapes_and_a_transpose():
    failure = _fails(expect_array, np.zeros((3, 2)), what="dW", shape=(2, 3))
    assert failure.summary == "dW has shape (3, 2), expected (2, 3) (it looks transposed)."


def test_expect_array_wrong_shape_hints_at_a_missing_reshape():
    failure = _fails(expect_array, np.zeros(4), what="p", shape=(4, 1))
    assert "(4,)" in failure.summary and "(4, 1)" in failure.summary
    assert "reshape or keepdims" in failure.summary
    failure = _fails(expect_array, np.zeros(5), what="p", shape=(2, 3))
    assert "transposed" not in failure.summary and "reshape" not in failure.summary


@pytest.mark.parametrize(("bad", "word"), [(np.nan, "NaN"), (np.inf, "inf"), (-np.inf, "inf")])
def test_expect_array_rejects_nonfinite_with_the_hint(bad, word):
    value = np.array([[1.0, 2.0], [3.0, bad]])
    failure = _fails(expect_array, value, what="p", nonfinite_hint="subtract the row max")
    assert failure.summary == f"p contains {word} (first at index [1, 1])."
    assert failure.diagnosis == "subtract the row max"
    assert "Likely mistake: subtract the row max" in failure.text()


def test_expect_array_allows_nonfinite_when_asked():
    out = expect_array(np.array([np.inf, 1.0]), what="p", allow_nonfinite=True)
    assert np.isinf(out[0])


# -- expect_scalar --------------------------------------------------------------------------

@pytest.mark.parametrize("value", [1.5, 3, np.float64(1.5), np.float32(1.5), np.int64(3),
                                   np.array(1.5), np.array([1.5])])
def test_expect_scalar_accepts_numbers(value):
    out = expect_scalar(value, what="loss")
    assert type(out) is float
    assert out in (1.5, 3.0)


@pytest.mark.parametrize("value", [True, np.bool_(False)])
def test_expect_scalar_rejects_bools(value):
    assert _fails(expect_scalar, value, what="loss").summary == "loss is a bool, expected a number."


@pytest.mark.parametrize(("value", "words"), [
    ("1.5", "type str"), (np.array([1.0, 2.0]), "shape (2,)"), (None, "NoneType"),
    ([1.5], "type list"), (np.array([[1.5]]), "shape (1, 1)"), (1 + 2j, "complex"),
])
def test_expect_scalar_rejects_non_numbers(value, words):
    failure = _fails(expect_scalar, value, what="loss")
    assert words in failure.summary
    assert "expected a single number" in failure.summary


@pytest.mark.parametrize("value", [float("nan"), float("inf"), np.float64("-inf"),
                                   np.array(np.nan)])
def test_expect_scalar_rejects_nonfinite_with_the_hint(value):
    failure = _fails(expect_scalar, value, what="loss", nonfinite_hint="use logsumexp")
    assert "expected a finite number" in failure.summary
    assert failure.diagnosis == "use logsumexp"


def test_expect_scalar_of_a_huge_int_is_a_check_failure():
    """BUG: float(10**400) raises OverflowError, which escapes as an internal error
    ("Your result could not be checked") instead of a failure about the student's value."""
    failure = _fails(expect_scalar, 10**400, what="loss")
    assert "loss" in failure.summary


# -- expect_close ---------------------------------------------------------------------------

def test_expect_close_passes_within_tolerance_and_returns_the_observed():
    out = expect_close(np.array([1.0, 2.0 + 1e-12]), np.array([1.0, 2.0]), what="g")
    assert out.tolist() == [1.0, 2.0 + 1e-12]
    assert expect_close(np.float64(0.5), 0.5, what="loss") == 0.5


def test_expect_close_failure_names_the_worst_entry_with_both_numbers():
    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    observed = expected.copy()
    observed[0, 1] = 2.5
    observed[1, 0] = 7.25
    failure = _fails(expect_close, observed, expected, what="dW", rtol=1e-7, atol=1e-10)
    text = failure.text()
    assert failure.summary == "dW does not match the expected values."
    assert "2 of 4 entries are off" in text
    assert "the worst at index [1, 0]: observed 7.25, expected 3 " in text
    assert "tolerance 1e-10 + 1e-07*|expected|" in text


def test_expect_close_scalar_failure_shows_both_numbers_and_against():
    failure = _fails(expect_close, 2.5, 1.25, what="loss", against="mean of per-example losses")
    text = failure.text()
    assert "loss does not match mean of per-example losses." in text
    assert "observed 2.5, mean of per-example losses 1.25" in text


def test_expect_close_adds_the_diagnosis_or_the_checks_own():
    e = np.array([[0.1, -0.3], [0.2, 0.4]])
    failure = _fails(expect_close, 4 * e, e, what="dlogits", likely={4.0: "divide by N=4."})
    assert failure.text().endswith("Likely mistake: every entry is 4 times the expected: "
                                   "divide by N=4.")
    failure = _fails(expect_close, 4 * e, e, what="dlogits", diagnosis="the check knows")
    assert failure.diagnosis == "the check knows"


def test_expect_close_validates_the_observed_value_first():
    failure = _fails(expect_close, [1.0, 2.0], np.array([1.0, 2.0]), what="g")
    assert "is a list" in failure.summary
    failure = _fails(expect_close, np.ones((2, 1)), np.ones(2), what="g")
    assert "has shape (2, 1), expected (2,)" in failure.summary


# -- expect_equal_arrays and expect ---------------------------------------------------------

def test_expect_equal_arrays_names_the_first_difference():
    expected = np.array([[0, 1], [1, 0]])
    failure = _fails(expect_equal_arrays, np.array([[0, 1], [0, 0]]), expected, what="pred")
    assert "1 of 4 entries" in failure.summary
    assert "first at index [1, 0]: observed 0, expected 1." in failure.text()
    np.testing.assert_array_equal(expect_equal_arrays(expected.copy(), expected, what="p"),
                                  expected)


def test_expect_fails_with_summary_details_and_diagnosis():
    expect(True, "never shown")
    failure = _fails(expect, False, "p is wrong.", "detail one", diagnosis="try this")
    assert failure.text() == "p is wrong.\ndetail one\nLikely mistake: try this"
    assert isinstance(failure, AssertionError)
