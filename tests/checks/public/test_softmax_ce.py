"""Public checks for exercise 1, softmax cross-entropy. Properties only: no reference needed."""

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from grader.expect import expect, expect_array, expect_close, expect_scalar
from grader.finite_differences import agrees_along_random_directions
from grader.strategies import float_arrays, floats, logits_and_labels

SHIFT_HINT = ("exp overflows for large logits: subtract each row's maximum "
              "(with keepdims=True) before calling np.exp.")


def _loss_and_grad(impl, logits, y):
    result = impl.softmax_cross_entropy(logits, y)
    expect(isinstance(result, tuple) and len(result) == 2,
           "softmax_cross_entropy must return a tuple (loss, dlogits).")
    loss = expect_scalar(result[0], what="the loss", nonfinite_hint=SHIFT_HINT)
    grad = expect_array(result[1], what="dlogits", shape=logits.shape, nonfinite_hint=SHIFT_HINT)
    return loss, grad


@given(case=logits_and_labels())
@example(case=(np.array([[0.0, 0.0]]), np.array([0])))
@example(case=(np.array([[1.0, 2.0, 3.0], [1.0, -1.0, 0.5]]), np.array([2, 0])))
def test_softmax_rows_are_distributions(impl, case):
    """softmax(logits) has the shape of logits, non-negative entries, and rows that sum to 1."""
    logits, _ = case
    p = expect_array(impl.softmax(logits.copy()), what="softmax(logits)", shape=logits.shape,
                     nonfinite_hint=SHIFT_HINT)
    expect(np.all(p >= 0), "softmax(logits) has negative entries.")
    columns_hint = None
    if logits.shape[0] > 1 and np.allclose(p.sum(axis=0), 1.0):
        columns_hint = "the columns sum to 1: normalise along axis=1 (each row), not axis=0."
    expect_close(p.sum(axis=1), np.ones(logits.shape[0]), what="the row sums of softmax(logits)",
                 rtol=1e-12, atol=1e-12, diagnosis=columns_hint)


@given(case=logits_and_labels(), shifts=st.lists(floats(-1e4, 1e4), min_size=5, max_size=5))
@example(case=(np.array([[1000.0, 0.0]]), np.array([1])), shifts=[0.0] * 5)
@example(case=(np.array([[0.0, 1.0], [2.0, 0.0]]), np.array([1, 0])),
         shifts=[9000.0, -9000.0, 0.0, 0.0, 0.0])
def test_softmax_is_stable_under_row_shifts(impl, case, shifts):
    """softmax is unchanged (and finite) when a constant up to 1e4 is added to each row."""
    logits, _ = case
    shift = np.asarray(shifts[: logits.shape[0]])[:, None]
    expected = expect_array(impl.softmax(logits.copy()), what="softmax(logits)",
                            shape=logits.shape, nonfinite_hint=SHIFT_HINT)
    shifted = logits + shift
    expect_close(impl.softmax(shifted.copy()), expected,
                 what="softmax(logits + per-row constant)", rtol=1e-9, atol=1e-12,
                 nonfinite_hint=SHIFT_HINT + " Use each row's own maximum, not one global one.",
                 against="softmax(logits)")


@given(case=logits_and_labels(), shifts=st.lists(floats(-1e4, 1e4), min_size=5, max_size=5))
@example(case=(np.array([[2.0, 0.0, -1.0]]), np.array([0])), shifts=[1000.0] * 5)
@example(case=(np.array([[0.0, 1.0], [2.0, 0.0]]), np.array([1, 0])),
         shifts=[-9000.0, 9000.0, 0.0, 0.0, 0.0])
def test_loss_is_invariant_to_row_shifts(impl, case, shifts):
    """The loss and dlogits do not change when a constant up to 1e4 is added to each row of logits."""
    logits, y = case
    shift = np.asarray(shifts[: logits.shape[0]])[:, None]
    loss, grad = _loss_and_grad(impl, logits.copy(), y.copy())
    shifted_loss, shifted_grad = _loss_and_grad(impl, logits + shift, y.copy())
    # Adding c to a row of size ~1e4 rounds the logits themselves by about 1e4 * 2.2e-16.
    expect_close(shifted_loss, loss, what="the loss of logits + per-row constant",
                 rtol=1e-9, atol=1e-11, against="the loss of logits")
    expect_close(shifted_grad, grad, what="dlogits of logits + per-row constant",
                 rtol=1e-9, atol=1e-11, against="dlogits of logits")


@given(a=floats(-1e4, 1e4), c=st.integers(2, 6))
@example(a=1000.0, c=2)
@example(a=-1000.0, c=2)
@example(a=0.0, c=3)
def test_loss_pinned_values(impl, a, c):
    """The loss is exact for |logits| up to 1e4: log(C) for equal logits; logaddexp(a, 0) for [[a, 0]], y=[1]."""
    loss, _ = _loss_and_grad(impl, np.array([[a, 0.0]]), np.array([1]))
    saturated = None
    if a > 30 and 27 < loss < 28:
        saturated = ("-log(p + 1e-12) saturates near 27.6: compute the loss as "
                     "logsumexp(row) - row[y] from the shifted logits.")
    expect_close(loss, np.logaddexp(a, 0.0), what="loss for logits=[[a, 0]], y=[1]", rtol=1e-9,
                 atol=1e-12, nonfinite_hint=SHIFT_HINT, diagnosis=saturated)
    uniform = np.full((2, c), a)
    loss, _ = _loss_and_grad(impl, uniform, np.array([0, c - 1]))
    expect_close(loss, np.log(c), what=f"loss for equal logits (C={c})", rtol=1e-9, atol=1e-12,
                 likely={2.0: "the loss should be the mean over the batch (N=2), not the sum.",
                         1.0 / c: "divide by N (the batch size), not by N*C."})


@given(case=logits_and_labels(max_n=6))
@example(case=(np.array([[1.0, 2.0, 3.0], [1.0, -1.0, 0.5], [0.0, 0.0, 4.0]]),
               np.array([2, 0, 1])))
def test_loss_is_mean_over_examples(impl, case):
    """The batch loss is the mean of the per-example losses (not their sum), for any N."""
    logits, y = case
    loss, _ = _loss_and_grad(impl, logits.copy(), y.copy())
    singles = [_loss_and_grad(impl, logits[i:i + 1].copy(), y[i:i + 1].copy())[0]
               for i in range(len(y))]
    n = len(y)
    expect_close(loss, np.mean(singles), what=f"the loss of a batch of N={n}", rtol=1e-9,
                 atol=1e-12, against="mean of its per-example losses",
                 likely={float(n): f"average over the batch: divide by N={n}."})


@given(case=logits_and_labels(max_n=4, max_c=4))
@example(case=(np.array([[1.0, 2.0, 3.0], [1.0, -1.0, 0.5]]), np.array([2, 0])))
@example(case=(np.array([[0.5, -0.5], [1.0, 2.0], [3.0, 0.0]]), np.array([0, 0, 1])))
def test_gradient_matches_central_differences(impl, case):
    """dlogits equals central differences of your own loss (eps=1e-5), for every entry."""
    logits, y = case
    _, grad = _loss_and_grad(impl, logits.copy(), y.copy())
    eps = 1e-5
    if agrees_along_random_directions(lambda q: _loss_and_grad(impl, q["logits"], y.copy())[0],
                                      {"logits": logits}, {"logits": grad}, seed=logits.size,
                                      eps=eps):
        return  # entry by entry (below) only to explain a disagreement
    numeric = np.zeros_like(logits)
    for i in np.ndindex(logits.shape):
        plus, minus = logits.copy(), logits.copy()
        plus[i] += eps
        minus[i] -= eps
        numeric[i] = (_loss_and_grad(impl, plus, y.copy())[0]
                      - _loss_and_grad(impl, minus, y.copy())[0]) / (2 * eps)
    n = logits.shape[0]
    # Central differences are accurate to about 1e-9 here (field notes: 4e-11 on softmax-CE).
    expect_close(grad, numeric, what="dlogits", rtol=1e-5, atol=1e-7,
                 against="central differences",
                 likely={float(n): f"divide the gradient by the batch size N={n}.",
                         1.0 / n: f"you divided by the batch size N={n} twice.",
                         -1.0: "the sign is flipped: it is softmax - onehot, not onehot - softmax."})


@given(case=logits_and_labels())
@example(case=(np.array([[1.0, 2.0, 3.0], [1.0, -1.0, 0.5]]), np.array([2, 0])))
def test_gradient_rows_sum_to_zero(impl, case):
    """Each row of dlogits sums to 0 (softmax sums to 1, and so does the one-hot label)."""
    logits, y = case
    _, grad = _loss_and_grad(impl, logits.copy(), y.copy())
    expect_close(grad.sum(axis=1), np.zeros(len(y)), what="the row sums of dlogits",
                 rtol=0.0, atol=1e-12,
                 likely={})


@given(case=logits_and_labels(max_n=6, max_c=6))
@example(case=(np.array([[1.0, 2.0, 3.0]]), np.array([1])))
@example(case=(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]]), np.array([1, 0, 1])))
def test_inputs_not_modified(impl, case):
    """softmax and softmax_cross_entropy leave logits and y exactly as they were."""
    logits, y = case
    given_logits, given_y = logits.copy(), y.copy()
    impl.softmax(given_logits)
    expect(np.array_equal(given_logits, logits), "softmax modified its input logits.",
           diagnosis="use `shifted = logits - max` rather than `logits -= max`.")
    impl.softmax_cross_entropy(given_logits, given_y)
    expect(np.array_equal(given_logits, logits) and np.array_equal(given_y, y),
           "softmax_cross_entropy modified its inputs (logits or y).",
           diagnosis="work on a new array (e.g. `p = softmax(logits)`) instead of updating "
                     "logits in place.")


@given(n=st.integers(1, 7), c=st.integers(2, 7), data=st.data())
@example(n=1, c=2, data=None)
@example(n=5, c=3, data=None)
@example(n=3, c=5, data=None)
def test_any_batch_size_and_class_count(impl, n, c, data):
    """Works for N = 1 and N > 1, C >= 2, square or not: loss is a number, dlogits is (N, C)."""
    if data is None:
        logits = np.linspace(-2.0, 3.0, n * c).reshape(n, c)
        y = np.arange(n) % c
    else:
        logits = data.draw(float_arrays((n, c)), label="logits")
        y = np.asarray(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n),
                                 label="y"), dtype=np.int64)
    expect_array(impl.softmax(logits.copy()), what=f"softmax of a ({n}, {c}) array",
                 shape=(n, c))
    _loss_and_grad(impl, logits.copy(), y.copy())
