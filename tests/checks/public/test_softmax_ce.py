"""Public checks for exercise 1, softmax cross-entropy. No reference needed: every check
compares your results with values it computes itself from the exercise's formulas (with
NumPy's logaddexp), or with values the mathematics pins (log C, logaddexp(a, 0))."""

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from grader.authoring import (
    CheckFailure,
    StudentCodeError,
    agrees_along_random_directions,
    batch_factor_hint,
    constant_factor,
    diagnose,
    expect,
    expect_array,
    expect_close,
    expect_scalar,
    float_arrays,
    floats,
    fmt,
    log_epsilon_hint,
    logits_and_labels,
)

SHIFT_HINT = ("exp overflows for large logits: subtract each row's maximum "
              "(with keepdims=True) before calling np.exp.")
# Values computed here and by a correct solution differ by a few float64 roundings of numbers
# the size of the logits (at most 1e4 * 2.2e-16 absolute in an exponent): far below these
# tolerances (the relative one is that of the hidden checks' comparisons with the reference).
LOSS_TOL = {"rtol": 1e-9, "atol": 1e-12}
ARRAY_TOL = {"rtol": 1e-9, "atol": 1e-15}
# Inputs of other shapes, tried only to explain a failure: a factor that changes with the
# batch size N (or the class count C) tells "not divided by N" from "divided by a fixed 4".
PROBES = [
    (np.array([[0.5, -1.0, 2.0]]), np.array([0])),
    (np.array([[1.0, -2.0, 0.5, 3.0], [0.0, 1.5, -1.0, 2.0], [-0.5, 0.25, 1.0, -1.5]]),
     np.array([3, 0, 1])),
    (np.array([[2.0, -1.0], [0.5, 0.0], [-1.0, 1.0], [3.0, 2.5], [0.0, -2.0]]),
     np.array([1, 0, 0, 1, 1])),
]


def _contract(logits, y):
    """softmax, loss, dlogits and the per-example losses from the exercise's formulas:
    loss = mean(logsumexp(row) - row[y]), dlogits = (softmax - onehot(y)) / N."""
    n = logits.shape[0]
    rows = np.arange(n)
    z = logits - np.max(logits, axis=1, keepdims=True)
    lse = np.logaddexp.reduce(z, axis=1)
    p = np.exp(z - lse[:, None])
    per_example = lse - z[rows, y]
    grad = p.copy()
    grad[rows, y] -= 1.0
    return p, float(np.mean(per_example)), grad / n, per_example


def _loss_and_grad(impl, logits, y):
    result = impl.softmax_cross_entropy(logits, y)
    expect(isinstance(result, tuple) and len(result) == 2,
           "softmax_cross_entropy must return a tuple (loss, dlogits).")
    loss = expect_scalar(result[0], what="the loss", nonfinite_hint=SHIFT_HINT)
    grad = expect_array(result[1], what="dlogits", shape=logits.shape, nonfinite_hint=SHIFT_HINT)
    return loss, grad


def _close(observed, expected, rtol, atol):
    return bool(np.all(np.abs(np.asarray(observed) - expected) <= atol + rtol * np.abs(expected)))


def _probe_factors(impl, which):
    """(N, C, observed / expected) of the loss (which=0) or dlogits (which=1) on PROBES;
    None where the student's code fails there or the values are not a constant multiple."""
    points = []
    for logits, y in PROBES:
        _, loss, grad, _ = _contract(logits, y)
        try:
            observed = _loss_and_grad(impl, logits.copy(), y.copy())[which]
        except (CheckFailure, StudentCodeError):
            observed = None
        expected = (loss, grad)[which]
        factor = None if observed is None else constant_factor(np.atleast_1d(observed),
                                                               np.atleast_1d(expected))
        points.append((logits.shape[0], logits.shape[1], factor))
    return points


def _loss_diagnosis(impl, observed, logits, y):
    """The mistake the loss's numbers prove, if any: -log(p + eps), or a factor that depends
    on N as one known mistake does (on this case and PROBES)."""
    _, expected, _, per_example = _contract(logits, y)
    hint = log_epsilon_hint(observed, np.exp(-per_example), expected)
    if hint is not None or expected == 0:
        return hint
    return batch_factor_hint([(*logits.shape, observed / expected), *_probe_factors(impl, 0)],
                             what="the loss")


def _gradient_diagnosis(impl, grad, logits, y):
    """The mistake the numbers prove when dlogits differs from (softmax - onehot)/N: a factor
    that depends on N as one known mistake does, else what one comparison shows."""
    _, _, expected, _ = _contract(logits, y)
    factor = constant_factor(grad, expected)
    if factor is not None:
        hint = batch_factor_hint([(*logits.shape, factor), *_probe_factors(impl, 1)],
                                 what="every entry")
        if hint is not None:
            return hint
    return diagnose(grad, expected)


def _loss_only(impl, logits, y):
    """The loss of softmax_cross_entropy, for checks of the loss alone: dlogits's values are
    graded by the gradient checks, so a NaN in it does not fail a loss check (its shape, the
    return contract, does)."""
    shape = logits.shape
    result = impl.softmax_cross_entropy(logits, y)
    expect(isinstance(result, tuple) and len(result) == 2,
           "softmax_cross_entropy must return a tuple (loss, dlogits).")
    expect(np.shape(result[1]) == shape,
           f"dlogits has shape {np.shape(result[1])}, expected {shape}.")
    return expect_scalar(result[0], what="the loss", nonfinite_hint=SHIFT_HINT)


def _column_softmax(logits):
    """The slip softmax over axis 0 (columns), with each row's maximum subtracted first."""
    with np.errstate(all="ignore"):
        exps = np.exp(logits - np.max(logits, axis=1, keepdims=True))
        return exps / np.sum(exps, axis=0, keepdims=True)


def _expect_softmax(p, logits, what="softmax(logits)", slips=False):
    """Anchor: p equals exp(logits - logsumexp(row)), computed here. With `slips` (hygiene
    checks), also a softmax over the columns, which the softmax checks grade: one mistake
    costs the checks that test it, and no trivial softmax is either."""
    expected = _contract(logits, np.zeros(logits.shape[0], dtype=np.int64))[0]
    if slips and _close(p, _column_softmax(logits), **ARRAY_TOL):
        return
    expect_close(p, expected, what=what, **ARRAY_TOL)


def _loss_slips(logits, y):
    """Losses the loss checks grade as wrong that the other checks accept as their anchor:
    a sum over the batch, an average over N*C entries, the label y - 1, -log(p + eps), and
    float32 arithmetic (about 1e-7 relative). Each is computed here from the logits, so a
    trivial loss meets none of them."""
    n, c = logits.shape
    p, loss, _, per_example = _contract(logits, y)
    rows = np.arange(n)
    with np.errstate(divide="ignore"):
        slips = [n * loss, loss / c, _contract(logits, (y - 1) % c)[1],
                 float(np.mean(-np.log(p[rows, y] + 1e-12))),
                 float(np.mean(-np.log(p[rows, y] + 1e-7)))]
    return [v for v in slips if np.isfinite(v)]


def _expect_loss(impl, loss, logits, y, what, slips=False):
    """Anchor: the loss equals mean(logsumexp(row) - row[y]), computed here. With `slips`
    (checks of something else than the loss's value), also one of `_loss_slips`."""
    expected = _contract(logits, y)[1]
    if _close(loss, expected, **LOSS_TOL):
        return
    if slips and (_close(loss, expected, rtol=1e-6, atol=1e-9)
                  or any(_close(loss, v, rtol=1e-6, atol=1e-9)
                         for v in _loss_slips(logits, y))):
        return
    expect_close(loss, expected, what=what, **LOSS_TOL,
                 diagnosis=_loss_diagnosis(impl, loss, logits, y))


@given(case=logits_and_labels())
@example(case=(np.array([[0.0, 0.0]]), np.array([0])))
@example(case=(np.array([[1.0, 2.0, 3.0], [1.0, -1.0, 0.5]]), np.array([2, 0])))
def test_softmax_rows_are_distributions(impl, case):
    """softmax(logits) has the shape of logits, non-negative entries, rows that sum to 1, and is exp(row) / sum(exp(row)) for each row."""
    logits, _ = case
    p = expect_array(impl.softmax(logits.copy()), what="softmax(logits)", shape=logits.shape,
                     nonfinite_hint=SHIFT_HINT)
    expect(np.all(p >= 0), "softmax(logits) has negative entries.")
    columns_hint = None
    if logits.shape[0] > 1 and np.allclose(p.sum(axis=0), 1.0):
        columns_hint = "the columns sum to 1: normalise along axis=1 (each row), not axis=0."
    expect_close(p.sum(axis=1), np.ones(logits.shape[0]), what="the row sums of softmax(logits)",
                 rtol=1e-12, atol=1e-12, diagnosis=columns_hint)
    _expect_softmax(p, logits)


@given(case=logits_and_labels(), shifts=st.lists(floats(-1e4, 1e4), min_size=5, max_size=5))
@example(case=(np.array([[1000.0, 0.0]]), np.array([1])), shifts=[0.0] * 5)
@example(case=(np.array([[0.0, 1.0], [2.0, 0.0]]), np.array([1, 0])),
         shifts=[9000.0, -9000.0, 0.0, 0.0, 0.0])
def test_softmax_is_stable_under_row_shifts(impl, case, shifts):
    """softmax is exact, and unchanged (and finite) when a constant up to 1e4 is added to each row."""
    logits, _ = case
    shift = np.asarray(shifts[: logits.shape[0]])[:, None]
    p = expect_array(impl.softmax(logits.copy()), what="softmax(logits)",
                     shape=logits.shape, nonfinite_hint=SHIFT_HINT)
    shifted = logits + shift
    expect_close(impl.softmax(shifted.copy()), p,
                 what="softmax(logits + per-row constant)", rtol=1e-9, atol=1e-12,
                 nonfinite_hint=SHIFT_HINT + " Use each row's own maximum, not one global one.",
                 against="softmax(logits)")
    _expect_softmax(p, logits)


@given(case=logits_and_labels(), shifts=st.lists(floats(-1e4, 1e4), min_size=5, max_size=5))
@example(case=(np.array([[2.0, 0.0, -1.0]]), np.array([0])), shifts=[1000.0] * 5)
@example(case=(np.array([[0.0, 1.0], [2.0, 0.0]]), np.array([1, 0])),
         shifts=[-9000.0, 9000.0, 0.0, 0.0, 0.0])
def test_loss_is_invariant_to_row_shifts(impl, case, shifts):
    """The loss (mean of logsumexp(row) - row[y], up to a slip that the loss checks grade) and dlogits do not change when a constant up to 1e4 is added to each row of logits."""
    logits, y = case
    shift = np.asarray(shifts[: logits.shape[0]])[:, None]
    loss, grad = _loss_and_grad(impl, logits.copy(), y.copy())
    shifted_loss, shifted_grad = _loss_and_grad(impl, logits + shift, y.copy())
    # Adding c to a row of size ~1e4 rounds the logits themselves by about 1e4 * 2.2e-16.
    expect_close(shifted_loss, loss, what="the loss of logits + per-row constant",
                 rtol=1e-9, atol=1e-11, against="the loss of logits")
    expect_close(shifted_grad, grad, what="dlogits of logits + per-row constant",
                 rtol=1e-9, atol=1e-11, against="dlogits of logits")
    _expect_loss(impl, loss, logits, y, what="the loss of logits", slips=True)


@given(a=floats(-1e4, 1e4), c=st.integers(2, 6))
@example(a=1000.0, c=2)
@example(a=-1000.0, c=2)
@example(a=0.0, c=3)
def test_loss_pinned_values(impl, a, c):
    """The loss is exact for |logits| up to 1e4: log(C) for equal logits; logaddexp(a, 0) for [[a, 0]], y=[1]; the mean of the two rows' losses for [[a, 0], [1, -1]], y=[1, 0]."""
    cases = [  # logits, y, the exact loss (pinned by the mathematics), what
        (np.array([[a, 0.0]]), np.array([1]), np.logaddexp(a, 0.0),
         "loss for logits=[[a, 0]], y=[1]"),
        (np.full((2, c), a), np.array([0, c - 1]), np.log(c), f"loss for equal logits (C={c})"),
        (np.array([[a, 0.0], [1.0, -1.0]]), np.array([1, 0]),
         (np.logaddexp(a, 0.0) + np.logaddexp(0.0, -2.0)) / 2,
         "loss for logits=[[a, 0], [1, -1]], y=[1, 0]"),
    ]
    losses = [_loss_only(impl, logits.copy(), y.copy()) for logits, y, _, _ in cases]
    # The three cases have N = 1, 2, 2 and C = 2, c, 2: how far off each is tells mistakes
    # that depend on N or C apart, without trying other inputs.
    points = [(*logits.shape, loss / exact if exact else None)
              for (logits, _, exact, _), loss in zip(cases, losses)]
    for (logits, y, exact, what), loss in zip(cases, losses):
        if _close(loss, exact, **LOSS_TOL):
            continue
        hint = log_epsilon_hint(loss, np.exp(-_contract(logits, y)[3]), exact)
        if hint is None and all(f is not None for _, _, f in points):
            hint = batch_factor_hint(points + _probe_factors(impl, 0), what="the loss")
        expect_close(loss, exact, what=what, **LOSS_TOL, nonfinite_hint=SHIFT_HINT,
                     diagnosis=hint)


@given(case=logits_and_labels(max_n=6))
@example(case=(np.array([[1.0, 2.0, 3.0], [1.0, -1.0, 0.5], [0.0, 0.0, 4.0]]),
               np.array([2, 0, 1])))
def test_loss_is_mean_over_examples(impl, case):
    """The batch loss is the mean of the per-example losses (not their sum), for any N, and equals mean(logsumexp(row) - row[y])."""
    logits, y = case
    loss = _loss_only(impl, logits.copy(), y.copy())
    singles = [_loss_only(impl, logits[i:i + 1].copy(), y[i:i + 1].copy())
               for i in range(len(y))]
    n = len(y)
    _, expected, _, exact_singles = _contract(logits, y)
    right = _close(loss, expected, **LOSS_TOL)
    hint = None
    if not (right and _close(loss, np.mean(singles), rtol=1e-9, atol=1e-12)):
        hint = log_epsilon_hint(loss, np.exp(-exact_singles), expected)
        if hint is None and expected != 0 and np.all(exact_singles != 0):
            hint = batch_factor_hint(
                [(n, logits.shape[1], loss / expected),
                 *[(1, logits.shape[1], s / e) for s, e in zip(singles, exact_singles)],
                 *_probe_factors(impl, 0)],
                what="the loss")
    expect_close(loss, np.mean(singles), what=f"the loss of a batch of N={n}", rtol=1e-9,
                 atol=1e-12, against="mean of its per-example losses", diagnosis=hint)
    expect_close(loss, expected, what=f"the loss of a batch of N={n}", **LOSS_TOL,
                 diagnosis=hint)


@given(case=logits_and_labels(max_n=4, max_c=4))
@example(case=(np.array([[1.0, 2.0, 3.0], [1.0, -1.0, 0.5]]), np.array([2, 0])))
@example(case=(np.array([[0.5, -0.5], [1.0, 2.0], [3.0, 0.0]]), np.array([0, 0, 1])))
def test_gradient_matches_central_differences(impl, case):
    """dlogits equals (softmax(logits) - onehot(y)) / N, for every entry: the central differences (eps=1e-5) of the loss, which explain a wrong dlogits when your loss is right (with a softmax over the columns, which the softmax checks grade, its (softmax - onehot(y)) / N)."""
    logits, y = case
    loss, grad = _loss_and_grad(impl, logits.copy(), y.copy())
    _, true_loss, true_grad, _ = _contract(logits, y)
    loss_right = _close(loss, true_loss, **LOSS_TOL)
    grad_right = _close(grad, true_grad, **ARRAY_TOL)
    rows = np.arange(len(y))
    column_grad = _column_softmax(logits)
    column_grad[rows, y] -= 1.0
    # The verdict is the true gradient, computed here (or the one of a softmax over the
    # columns, which the softmax checks grade): a wrong loss is graded by the loss checks,
    # and central differences of your loss only explain a wrong dlogits.
    if grad_right or _close(grad, column_grad / len(y), **ARRAY_TOL):
        return
    eps = 1e-5
    if loss_right and not agrees_along_random_directions(
            lambda q: _loss_and_grad(impl, q["logits"], y.copy())[0],
            {"logits": logits}, {"logits": grad}, seed=logits.size, eps=eps):
        # entry by entry only to explain a disagreement
        numeric = np.zeros_like(logits)
        for i in np.ndindex(logits.shape):
            plus, minus = logits.copy(), logits.copy()
            plus[i] += eps
            minus[i] -= eps
            numeric[i] = (_loss_and_grad(impl, plus, y.copy())[0]
                          - _loss_and_grad(impl, minus, y.copy())[0]) / (2 * eps)
        # Central differences are accurate to about 1e-9 here (field notes: 4e-11 on softmax-CE).
        if not _close(grad, numeric, rtol=1e-5, atol=1e-7):
            # Your loss is right here, so its central differences are the true gradient.
            expect_close(grad, numeric, what="dlogits", rtol=1e-5, atol=1e-7,
                         against="central differences of your loss",
                         diagnosis=_gradient_diagnosis(impl, grad, logits, y))
    diagnosis = _gradient_diagnosis(impl, grad, logits, y)
    if not loss_right:
        agrees = agrees_along_random_directions(
            lambda q: _loss_and_grad(impl, q["logits"], y.copy())[0],
            {"logits": logits}, {"logits": grad}, seed=logits.size, eps=eps)
        diagnosis = ((diagnosis + " " if diagnosis else "")
                     + ("It agrees with the central differences of your loss, which is wrong "
                        if agrees else "Your loss is wrong ")
                     + f"too (observed {fmt(loss)}, expected {fmt(true_loss)}).")
    expect_close(grad, true_grad, what="dlogits", **ARRAY_TOL,
                 against="the true gradient", diagnosis=diagnosis)


@given(case=logits_and_labels())
@example(case=(np.array([[1.0, 2.0, 3.0], [1.0, -1.0, 0.5]]), np.array([2, 0])))
def test_gradient_rows_sum_to_zero(impl, case):
    """Each row of dlogits sums to 0 (softmax sums to 1, and so does the one-hot label), and dlogits is a positive multiple of softmax(logits) - onehot(y)."""
    logits, y = case
    _, grad = _loss_and_grad(impl, logits.copy(), y.copy())
    expect_close(grad.sum(axis=1), np.zeros(len(y)), what="the row sums of dlogits",
                 rtol=0.0, atol=1e-12)
    expected = _contract(logits, y)[2] * len(y)
    factor = constant_factor(grad, expected)
    expect(factor is not None and factor > 0,
           "dlogits is not a positive multiple of softmax(logits) - onehot(y).",
           f"observed: {fmt(grad)}", f"softmax(logits) - onehot(y): {fmt(expected)}",
           diagnosis=diagnose(grad, expected / len(y)))


@given(case=logits_and_labels(max_n=6, max_c=6))
@example(case=(np.array([[1.0, 2.0, 3.0]]), np.array([1])))
@example(case=(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]]), np.array([1, 0, 1])))
def test_inputs_not_modified(impl, case):
    """softmax and softmax_cross_entropy leave logits and y exactly as they were (and compute the right softmax and loss, up to a slip that the softmax and loss checks grade)."""
    logits, y = case
    given_logits, given_y = logits.copy(), y.copy()
    p = impl.softmax(given_logits)
    expect(np.array_equal(given_logits, logits), "softmax modified its input logits.",
           diagnosis="use `shifted = logits - max` rather than `logits -= max`.")
    result = impl.softmax_cross_entropy(given_logits, given_y)
    expect(np.array_equal(given_logits, logits) and np.array_equal(given_y, y),
           "softmax_cross_entropy modified its inputs (logits or y).",
           diagnosis="work on a new array (e.g. `p = softmax(logits)`) instead of updating "
                     "logits in place.")
    _expect_softmax(expect_array(p, what="softmax(logits)", shape=logits.shape,
                                 nonfinite_hint=SHIFT_HINT), logits, slips=True)
    expect(isinstance(result, tuple) and len(result) == 2,
           "softmax_cross_entropy must return a tuple (loss, dlogits).")
    loss = expect_scalar(result[0], what="the loss", nonfinite_hint=SHIFT_HINT)
    _expect_loss(impl, loss, logits, y, what="the loss", slips=True)


@given(n=st.integers(1, 7), c=st.integers(2, 7), data=st.data())
@example(n=1, c=2, data=None)
@example(n=5, c=3, data=None)
@example(n=3, c=5, data=None)
def test_any_batch_size_and_class_count(impl, n, c, data):
    """Works for N = 1 and N > 1, C >= 2, square or not: softmax is right and (N, C), the loss is the right number (up to a slip that the loss checks grade: a sum, y - 1, -log(p + eps), float32), dlogits is (N, C)."""
    if data is None:
        logits = np.linspace(-2.0, 3.0, n * c).reshape(n, c)
        y = np.arange(n) % c
    else:
        logits = data.draw(float_arrays((n, c)), label="logits")
        y = np.asarray(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n),
                                 label="y"), dtype=np.int64)
    p = expect_array(impl.softmax(logits.copy()), what=f"softmax of a ({n}, {c}) array",
                     shape=(n, c))
    loss = _loss_only(impl, logits.copy(), y.copy())
    _expect_softmax(p, logits, what=f"softmax of a ({n}, {c}) array")
    _expect_loss(impl, loss, logits, y, what=f"the loss of a ({n}, {c}) batch", slips=True)
