"""Public checks for exercise 3, linear regression by gradient descent. Mathematics only: no reference needed.

One mistake costs the checks that test it: the checks of gradient_descent follow your own
mse_gradients and mse_loss (anchored: your gradient at 0 is the MSE's up to a scale or sign
slip, and the MSE of the returned w, b is computed here), the gradient checks apply the
formula to your own predict, and the hygiene checks accept the slips the value checks grade.
"""

import math

import numpy as np
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from grader.authoring import (
    examples,
    expect,
    expect_array,
    expect_close,
    expect_scalar,
    float_arrays,
    floats,
    fmt,
    rng_array,
    seeds,
)
from grader.authoring import likely as likely_mistakes

PINNED_X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # m=3 examples, d=2 features
PINNED_Y = np.array([1.0, 2.0, 3.0])


def _gradient_likely(m):
    return likely_mistakes(
        (m, f"divide by the number of examples m={m} (the loss is a mean)."),
        (0.5, "the factor 2 from differentiating the square is missing."),
        (m / 2, f"both the 2 and the 1/m are missing: dw = (2/m) * X.T @ r with m={m}."),
        (1.0 / m, f"you divided by m={m} twice, or your mse_loss sums instead of averaging."),
        (-1.0, "the sign is flipped: the residual is predict - y, not y - predict."))


def _data(seed, m, d):
    X = rng_array(seed, (m, d))
    y = rng_array(seed + 1, (m,), 2.0)
    return X, y


def _predict(impl, X, w, b):
    return _predict_result(impl.predict(X.copy(), w.copy(), b), X.shape)


def _predict_result(result, X_shape):
    return expect_array(result, what=f"predict(X, w, b) for X of shape {X_shape}",
                        shape=(X_shape[0],))


def _gradients(impl, X, y, w, b):
    return _gradients_result(impl.mse_gradients(X.copy(), y.copy(), w.copy(), b), X.shape[1])


def _gradients_result(result, d):
    expect(isinstance(result, tuple) and len(result) == 2,
           "mse_gradients must return a tuple (dw, db).")
    dw = expect_array(result[0], what="dw", shape=(d,))
    db = expect_scalar(result[1], what="db")
    return dw, db


DIVERGED_HINT = ("the steps diverged: is a step going uphill (w += ...), or is the gradient m "
                 "times too large?")


def _descend(impl, X, y, strict_list=False, **kwargs):
    """Run gradient_descent on copies; validate (w, b, losses). Only the history check insists
    that losses is a list (the contract's type); elsewhere any sequence of numbers will do."""
    return _descent_result(impl.gradient_descent(X.copy(), y.copy(), **kwargs), X.shape[1],
                           strict_list, kwargs.get("n_iters", 100))


def _descent_result(result, d, strict_list, n_iters):
    expect(isinstance(result, tuple) and len(result) == 3,
           "gradient_descent must return a tuple (w, b, losses).")
    w = expect_array(result[0], what="w", shape=(d,), nonfinite_hint=DIVERGED_HINT)
    b = expect_scalar(result[1], what="b", nonfinite_hint=DIVERGED_HINT)
    losses = result[2]
    sequence = isinstance(losses, (list, tuple)) or (type(losses) is np.ndarray
                                                     and losses.ndim == 1)
    expect(type(losses) is list if strict_list else sequence,
           f"losses is {'a' if sequence else 'a value of type'} {type(losses).__name__}, "
           "expected a list of floats (append each loss to a list).")
    expect(len(losses) == n_iters,
           f"losses has {len(losses)} entries, expected one per iteration "
           f"(n_iters={n_iters}).",
           diagnosis="record exactly one loss per iteration, before the update.")
    values = np.array([expect_scalar(v, what=f"losses[{i}]", nonfinite_hint=DIVERGED_HINT)
                       for i, v in enumerate(losses)])
    return w, b, values


def _lipschitz(X):
    """L = (2/m) * largest eigenvalue of A.T @ A for A = [X, 1]: lr = 1/L is always safe."""
    A = np.hstack([X, np.ones((X.shape[0], 1))])
    return 2.0 / X.shape[0] * float(np.linalg.eigvalsh(A.T @ A)[-1])


# --- anchors: values computed here from the contract's formulas -------------------------------
# A property that constants, zeros or a step that does nothing also satisfy (matching your own
# loss, losses that never rise, inputs left alone, shapes) pays only together with one of these
# values of the same call (docs/authoring.md, "A check pays only for real work").

def _contract_gradients(X, y, w, b):
    """The contract's gradient: r = X @ w + b - y, dw = (2/m) X.T @ r, db = (2/m) sum(r)."""
    m = X.shape[0]
    r = X @ w + b - y
    return (2.0 / m) * (X.T @ r), float((2.0 / m) * np.sum(r))


def _mse(X, y, w, b):
    """The loss at (w, b), from the contract's formula."""
    return float(np.mean((X @ w + b - y) ** 2))


def _expect_predict_value(pred, X, w, b, slips=False):
    """pred is X @ w + b; with `slips` (hygiene), X @ w too: a forgotten b costs the predict
    check, not every check that calls predict."""
    if slips and np.allclose(pred, X @ w, rtol=1e-12, atol=1e-12):
        return
    expect_close(pred, X @ w + b, what=f"predict(X, w, b={b:g})", rtol=1e-12,
                 atol=1e-12 * (1 + float(np.max(np.abs(X) @ np.abs(w))) + abs(b)),
                 against="X @ w + b")


def _expect_mse_value(loss, y_pred, y, slips=False):
    """loss is mean((y_pred - y)**2); with `slips` (hygiene), also the sum, half of it, its
    square root or the mean absolute error, which the loss check grades."""
    r = y_pred - y
    mse = float(np.mean(r ** 2))
    if slips and any(abs(loss - v) <= 1e-12 * (1 + abs(v)) for v in (
            len(y) * mse, mse / 2, math.sqrt(mse), float(np.mean(np.abs(r))))):
        return
    expect_close(loss, np.mean((y_pred - y) ** 2), what="mse_loss(y_pred, y)", rtol=1e-12,
                 atol=1e-15, against="mean((y_pred - y)**2)")


def _expect_along_gradient(dw, db, X, y, w, b):
    """(dw, db) is a positive multiple of the contract's gradient: the direction is pinned here;
    the factor (2/m) is graded by the gradient checks."""
    dw_true, db_true = _contract_gradients(X, y, w, b)
    g, o = np.append(dw_true, db_true), np.append(dw, db)
    k = float(o @ g / (g @ g))
    m = X.shape[0]
    terms = (2.0 / m) * (np.abs(np.hstack([X, np.ones((m, 1))])).T @ np.abs(X @ w + b - y))
    off = float(np.linalg.norm(o - k * g))
    parallel = off <= 1e-9 * float(np.linalg.norm(g)) + 1e-12 * float(np.linalg.norm(terms))
    expect(k > 0 and parallel,
           "(dw, db) from mse_gradients does not point along the gradient of the MSE.",
           f"observed dw={fmt(dw)}, db={fmt(db)}",
           f"(2/m) X.T @ r, (2/m) sum(r) with r = X @ w + b - y: dw={fmt(dw_true)}, "
           f"db={fmt(db_true)}",
           diagnosis="the sign is flipped: the residual is predict - y, not y - predict."
           if parallel and k < 0 else None)


def _own_loss(impl, X, y, w, b):
    """Your mse_loss of your predict at (w, b), or None where either fails to give one
    number: the loss gradient_descent records with your functions."""
    try:
        pred = np.asarray(impl.predict(X.copy(), np.asarray(w, dtype=float).copy(), float(b)))
        value = float(impl.mse_loss(pred, y.copy()))
    except Exception:  # noqa: BLE001 - a failing predict or mse_loss is graded by its checks
        return None
    return value if np.isfinite(value) else None


# Factors by which a gradient is off in the mistakes the gradient checks grade (no 1/m, no 2,
# both, twice 1/m, a flipped sign): a check of gradient_descent accepts your mse_gradients
# off by one of them, so one gradient mistake costs the gradient checks, not every check of
# gradient_descent too; no trivial gradient (zeros, constants, echoes) is one.
def _slips(m):
    return sorted({1.0, -1.0, float(m), 0.5, m / 2.0, 1.0 / m, -float(m), -0.5, 2.0 / m})


def _expect_real_gradient(dw, db, X, y, w, b, impl):
    """Your (dw, db) at (w, b) is the contract's gradient, each part up to a slip, or the
    contract's formula applied to your own predict (whose mistakes the predict check grades)."""
    m = X.shape[0]
    exact = [_contract_gradients(X, y, w, b)]
    try:
        own = np.asarray(impl.predict(X.copy(), np.asarray(w, dtype=float).copy(), float(b)),
                         dtype=float)
    except Exception:  # noqa: BLE001 - graded by the predict check
        own = None
    if own is not None and own.shape == (m,) and np.all(np.isfinite(own)):
        r = own - y
        exact.append(((2.0 / m) * (X.T @ r), float((2.0 / m) * np.sum(r))))

    def near(o, e):
        size = float(np.max(np.abs(e))) if np.ndim(e) else abs(e)
        return size > 0 and any(np.all(np.abs(np.asarray(o) - k * np.asarray(e)) <= 1e-9 * size)
                                for k in _slips(m))
    if any(near(dw, e[0]) and (near(db, e[1]) or (e[1] == 0 and db == 0)) for e in exact):
        return
    g, o = np.append(*exact[0]), np.append(dw, db)
    k = float(o @ g / (g @ g)) if g @ g > 0 else 0.0
    if k != 0 and np.linalg.norm(o - k * g) <= 1e-9 * np.linalg.norm(g):
        return  # a multiple of the gradient (a scale the gradient checks grade)
    _expect_along_gradient(dw, db, X, y, w, b)
    expect(False, "(dw, db) from mse_gradients is not the gradient of the MSE (up to a scale "
           "or sign slip that the gradient checks grade).",
           f"observed dw={fmt(dw)}, db={fmt(db)}",
           f"(2/m) X.T @ r, (2/m) sum(r): dw={fmt(exact[0][0])}, db={fmt(exact[0][1])}",
           diagnosis="see mse_gradients_pinned_values and "
                     "mse_gradients_match_central_differences.")


def _expect_own_descent(result, impl, X, y, lr, n_iters):
    """gradient_descent is n_iters steps w -= lr * dw, b -= lr * db from w = 0, b = 0 with
    your own mse_gradients, recording your own loss before each: each value is computed here
    by calling your functions, and the anchor is that your gradient at 0 is a real one."""
    w, b, losses = result
    d = X.shape[1]
    w_k, b_k = np.zeros(d), 0.0
    dw, db = _gradients(impl, X, y, w_k, b_k)
    _expect_real_gradient(dw, db, X, y, w_k, b_k, impl)
    for k in range(n_iters):
        if k:
            dw, db = _gradients(impl, X, y, w_k, b_k)
        w_k, b_k = w_k - lr * dw, b_k - lr * db
    _expect_first_loss(losses, y, impl, X)
    scale = 1e-12 * (1.0 + float(np.max(np.abs(w_k))) + abs(b_k))
    expect_close(w, w_k, what=f"w after {n_iters} step(s) (lr={lr:g})", rtol=1e-9, atol=scale,
                 against="w -= lr * dw from 0 with your mse_gradients",
                 likely=likely_mistakes((1.0 / lr, f"multiply the step by lr={lr:g}."),
                                        (-1.0, "update w -= lr * dw (downhill).")))
    expect_close(b, b_k, what=f"b after {n_iters} step(s) (lr={lr:g})", rtol=1e-9, atol=scale,
                 against="b -= lr * db from 0 with your mse_gradients",
                 likely=likely_mistakes((1.0 / lr, f"multiply the step by lr={lr:g}."),
                                        (-1.0, "update b -= lr * db (downhill).")))


def _expect_first_loss(losses, y, impl=None, X=None):
    """losses[0] is mean(y**2), the loss at w = 0, b = 0; with `impl`, your own mse_loss of
    your predict there is accepted too (a wrong loss is graded by the loss checks)."""
    if impl is not None:
        own = _own_loss(impl, X, y, np.zeros(X.shape[1]), 0.0)
        if own is not None and abs(losses[0] - own) <= 1e-12 * (1 + abs(own)):
            return
    expect_close(losses[0], np.mean(y ** 2), what="losses[0]", rtol=1e-12, atol=1e-12,
                 against="mean(y**2), the loss at w = 0, b = 0",
                 diagnosis="losses[0] is the loss at the zero initialisation: record the loss "
                           "before updating w and b.")


def _expect_downhill(X, y, w, b, losses, lr, n_iters):
    """The MSE at the returned w, b (computed here) is below mean(y**2), the MSE at 0, by at least
    lr * |gradient at 0|**2 / 8, a quarter of what one exact step guarantees for lr <= 1/L
    (every caller passes such an lr). A step half as long still lowers it by 3/8 of that."""
    d = X.shape[1]
    dw0, db0 = _contract_gradients(X, y, np.zeros(d), 0.0)
    required = lr * (float(dw0 @ dw0) + db0 * db0) / 8.0
    final = _mse(X, y, w, b)
    # From the MSE at 0 computed here, not losses[0]: a wrong mse_loss costs the loss check.
    start = float(np.mean(y ** 2))
    expect(final <= start - required,
           f"after {n_iters} step(s) with lr={lr:.6g} the MSE at the returned w, b is "
           f"{fmt(final)}: not downhill from the MSE at w = 0, b = 0, mean(y**2) = "
           f"{fmt(start)}.",
           f"it must be at most mean(y**2) - lr*|gradient at 0|**2/8 = "
           f"{fmt(start - required)} (one exact step of lr <= 1/L lowers the loss by at least "
           "lr*|gradient|**2/2).",
           f"returned w={fmt(w)}, b={fmt(b)}",
           diagnosis="w and b are still 0: the update (w -= lr * dw, b -= lr * db) is missing "
                     "or uses a zero gradient." if not np.any(w) and b == 0 else None)


# --- predict and mse_loss ---------------------------------------------------------------------

@given(seed=seeds(), m=st.integers(1, 6), d=st.integers(1, 4), b=floats(-5, 5))
@example(seed=0, m=3, d=2, b=0.5)
@example(seed=1, m=1, d=3, b=-1.0)
def test_predict_values_and_shape(impl, seed, m, d, b):
    """predict(X, w, b) is X @ w + b, shape (m,): e.g. [0.5, 2.5, 4.5] for X=[[1,2],[3,4],[5,6]], w=[2,-1], b=0.5."""
    pinned = _predict(impl, np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), np.array([2.0, -1.0]),
                      0.5)
    expect_close(pinned, np.array([0.5, 2.5, 4.5]),
                 what="predict(X=[[1,2],[3,4],[5,6]], w=[2,-1], b=0.5)", rtol=1e-12, atol=1e-12,
                 diagnosis="every entry is 0.5 too high or low: add b once, to every prediction."
                 if np.allclose(pinned, [0.0, 2.0, 4.0]) else None)
    X, _ = _data(seed, m, d)
    w = rng_array(seed + 2, (d,))
    for j in range(d):
        column = _predict(impl, X, np.eye(d)[j], 0.0)
        expect_close(column, X[:, j], what=f"predict(X, w=e_{j}, b=0)", rtol=1e-12, atol=1e-12,
                     against=f"column {j} of X",
                     diagnosis="with w = e_j and b = 0 the prediction is column j of X: use "
                               "X @ w (each row of X dotted with w).")
    shifted = _predict(impl, X, w, b) - _predict(impl, X, w, 0.0)
    expect_close(shifted, np.full(m, b), what=f"predict(X, w, b={b:g}) - predict(X, w, 0)",
                 rtol=1e-9, atol=1e-9 * (1 + float(np.max(np.abs(X @ w)))),
                 against="b in every entry",
                 diagnosis="b is not added to the predictions." if np.all(shifted == 0) else None)


MSE_PINNED = [
    ([1.0, 2.0, 3.0], [1.0, 2.0, 5.0], 4.0 / 3.0),
    ([2.0, -1.0], [0.0, 1.0], 4.0),
    ([0.5], [0.5], 0.0),
    ([3.0, 3.0, 3.0, 3.0], [1.0, 1.0, 1.0, 1.0], 4.0),
]


@given(y=float_arrays(st.integers(1, 8)), c=floats(-5, 5))
@example(y=np.array([1.0, 2.0, 3.0]), c=2.0)
def test_mse_loss_pinned_values(impl, y, c):
    """mse_loss(y_pred, y) = mean((y_pred - y)**2): 4/3 for [1,2,3] vs [1,2,5], and c**2 when y_pred = y + c."""
    for y_pred, target, expected in MSE_PINNED:
        y_pred, target = np.array(y_pred), np.array(target)
        m = len(target)
        loss = expect_scalar(impl.mse_loss(y_pred.copy(), target.copy()),
                             what=f"mse_loss({fmt(y_pred)}, {fmt(target)})")
        diagnosis = None
        if expected > 0 and np.isclose(loss, math.sqrt(expected)):
            diagnosis = "that is the square root of the mean squared error (RMSE): drop the sqrt."
        elif expected > 0 and np.isclose(loss, np.mean(np.abs(y_pred - target))):
            diagnosis = "that is the mean absolute error: square the residuals."
        expect_close(loss, expected, what=f"mse_loss({fmt(y_pred)}, {fmt(target)})",
                     rtol=1e-12, atol=1e-12, diagnosis=diagnosis,
                     likely=likely_mistakes((m, f"take the mean over the m={m} entries, not the sum."),
                                    (0.5, "the MSE here has no factor 1/2: mean((y_pred - y)**2).")))
    loss = expect_scalar(impl.mse_loss(y + c, y.copy()), what="mse_loss(y + c, y)")
    expect_close(loss, c * c, what=f"mse_loss(y + c, y) with c={c:g}", rtol=1e-9, atol=1e-12,
                 against="c**2",
                 likely=likely_mistakes((len(y), f"take the mean over the m={len(y)} entries, not the "
                                         "sum."),
                                (0.5, "the MSE here has no factor 1/2: mean((y_pred - y)**2).")))


# --- mse_gradients ----------------------------------------------------------------------------

# Pinned values, and a drawn case only so that no table of them answers the check (the
# course secret draws it when instructors grade): two draws are enough for that.
@settings(max_examples=examples(8))
@given(seed=seeds())
@example(seed=0)
def test_mse_gradients_pinned_values(impl, seed):
    """mse_gradients gives dw = (2/m) X.T @ r and db = (2/m) sum(r) (r = predict(X, w, b) - y, your predict): dw = [-8/3, -10/3], db = -4 for w = 0, b = 0 on the pinned data."""
    cases = [(PINNED_X, PINNED_Y, np.zeros(2), 0.0, np.array([-8.0 / 3.0, -10.0 / 3.0]), -4.0),
             (PINNED_X, PINNED_Y, np.array([1.0, 1.0]), 1.0, np.array([2.0 / 3.0, 0.0]),
              2.0 / 3.0)]
    # And one case drawn from SEED (from the course secret when instructors grade), with the
    # contract's formula computed here: no table of the pinned cases answers this check.
    X, y = _data(seed, 3, 2)
    w, b = rng_array(seed + 2, (2,)), float(np.random.default_rng(seed).uniform(-2, 2))
    r = X @ w + b - y
    cases.append((X, y, w, b, (2.0 / 3.0) * X.T @ r, (2.0 / 3.0) * float(np.sum(r))))
    for X, y, w, b, dw_expected, db_expected in cases:
        dw, db = _gradients(impl, X, y, w, b)
        own_pred = np.asarray(impl.predict(X.copy(), w.copy(), b), dtype=float)
        if own_pred.shape == y.shape and np.all(np.isfinite(own_pred)) \
                and not np.allclose(own_pred, X @ w + b, rtol=1e-12, atol=1e-12):
            # Your predict is wrong (its check grades it): the formula on your own residual.
            r = own_pred - y
            dw_expected, db_expected = (2.0 / 3.0) * X.T @ r, (2.0 / 3.0) * float(np.sum(r))
        where = (f"X={fmt(X)}, y={fmt(y)}, w={fmt(w)}, b={b:g}"
                 .replace("\n", ""))
        expect_close(dw, dw_expected, what=f"dw for {where}", rtol=1e-12, atol=1e-12,
                     likely=_gradient_likely(3))
        expect_close(db, db_expected, what=f"db for {where}", rtol=1e-12, atol=1e-12,
                     likely=_gradient_likely(3))


@given(seed=seeds(), m=st.integers(1, 6), d=st.integers(1, 4), b=floats(-3, 3))
@example(seed=0, m=5, d=2, b=0.5)
@example(seed=1, m=2, d=3, b=-1.0)
def test_mse_gradients_match_central_differences(impl, seed, m, d, b):
    """dw and db equal the formula (2/m) X.T @ r, (2/m) sum(r) with r = predict(X, w, b) - y (your predict), and, when your mse_loss is the MSE, its central differences at X @ w + b, for any m and d (m != d too)."""
    X, y = _data(seed, m, d)
    w = rng_array(seed + 2, (d,))
    dw, db = _gradients(impl, X, y, w, b)

    def loss(w_, b_):
        return expect_scalar(impl.mse_loss(X @ w_ + b_, y.copy()), what="mse_loss")

    eps = 1e-4  # the loss is quadratic: central differences are exact up to rounding
    dw_true, db_true = _contract_gradients(X, y, w, b)
    r = X @ w + b - y
    own_pred = np.asarray(impl.predict(X.copy(), w.copy(), b), dtype=float)
    if own_pred.shape == (m,) and np.all(np.isfinite(own_pred)) \
            and not np.allclose(own_pred, X @ w + b, rtol=1e-12, atol=1e-12):
        # Your predict is wrong (its check grades it): the formula on your own residual.
        r = own_pred - y
        dw_true, db_true = (2.0 / m) * (X.T @ r), float((2.0 / m) * np.sum(r))
    mse_right = abs(loss(w, b) - _mse(X, y, w, b)) <= 1e-12 * (1 + _mse(X, y, w, b)) \
        and dw_true is not None and np.array_equal(r, X @ w + b - y)
    # A wrong mse_loss is graded by the loss check: its central differences are asked of the
    # gradient only when it is the MSE.
    numeric_w = np.array([(loss(w + eps * e, b) - loss(w - eps * e, b)) / (2 * eps)
                          for e in np.eye(d)])
    numeric_b = (loss(w, b + eps) - loss(w, b - eps)) / (2 * eps)
    scale = 1.0 + abs(loss(w, b))
    if mse_right:
        expect_close(dw, numeric_w, what="dw", rtol=1e-6, atol=1e-7 * scale,
                     against="central differences of your loss", likely=_gradient_likely(m))
        expect_close(db, numeric_b, what="db", rtol=1e-6, atol=1e-7 * scale,
                     against="central differences of your loss", likely=_gradient_likely(m))
    # Anchor: a constant loss with zero gradients matches its own central differences.
    rounding = 1e-12 * (1.0 + (2.0 / m) * float(np.max(np.abs(X).T @ np.abs(r))))
    expect_close(dw, dw_true, what="dw", rtol=1e-9, atol=rounding,
                 against="(2/m) X.T @ r", likely=_gradient_likely(m))
    expect_close(db, db_true, what="db", rtol=1e-9,
                 atol=1e-12 * (1.0 + (2.0 / m) * float(np.sum(np.abs(r)))),
                 against="(2/m) sum(r)", likely=_gradient_likely(m))


# --- gradient_descent -------------------------------------------------------------------------

@given(seed=seeds(), m=st.integers(1, 6), d=st.integers(1, 4),
       lr=st.sampled_from([1e-3, 0.01, 0.05, 0.1, 0.3]))
@example(seed=0, m=3, d=2, lr=0.1)
@example(seed=2, m=4, d=1, lr=0.01)
def test_gradient_descent_first_step_is_exact(impl, seed, m, d, lr):
    """With n_iters=1, gradient_descent returns w = -lr * dw, b = -lr * db (your mse_gradients at w = 0, b = 0, which must be (2/m) X.T @ (-y), (2/m) sum(-y) up to a slip the gradient checks grade) and losses = [your loss at 0, mean(y**2)]."""
    X, y = _data(seed, m, d)
    w, b, losses = _descend(impl, X, y, lr=lr, n_iters=1)
    likely = likely_mistakes(*_gradient_likely(m).items(),
                     (1.0 / lr, f"multiply the step by the learning rate lr={lr:g}."),
                     (-1.0, "the step went uphill: update w -= lr * dw (and b -= lr * db)."))
    _expect_first_loss(losses, y, impl, X)
    # Your own gradient at 0 (anchored: it is the gradient up to a slip the gradient checks
    # grade): a gradient mistake costs the gradient checks, not this one.
    dw0, db0 = _gradients(impl, X, y, np.zeros(d), 0.0)
    _expect_real_gradient(dw0, db0, X, y, np.zeros(d), 0.0, impl)
    scale = float(np.max(np.abs(dw0))) * lr
    expect_close(w, -lr * dw0, what=f"w after one step (lr={lr:g})", rtol=1e-9,
                 atol=1e-12 * (1 + scale), against="-lr * dw at w = 0, b = 0", likely=likely)
    expect_close(b, -lr * db0, what=f"b after one step (lr={lr:g})", rtol=1e-9,
                 atol=1e-12 * (1 + abs(lr * db0)), against="-lr * db at w = 0, b = 0",
                 likely=likely)


@settings(max_examples=examples(25))
@given(seed=seeds(), m=st.integers(2, 8), d=st.integers(1, 4))
@example(seed=0, m=6, d=2)
def test_gradient_descent_loss_never_increases_for_a_small_learning_rate(impl, seed, m, d):
    """With lr = 1/L (L the curvature of the loss) the losses start at mean(y**2), never increase, and the returned w, b are downhill of the last loss."""
    X, y = _data(seed, m, d)
    lr = 1.0 / _lipschitz(X)
    w, b, losses = _descend(impl, X, y, lr=lr, n_iters=30)
    rises = np.flatnonzero(losses[1:] > losses[:-1] + 1e-12 * (1.0 + losses[0]))
    expect(len(rises) == 0,
           f"with lr={lr:.6g} the loss went up, from losses[{rises[0] if len(rises) else 0}] to "
           "the next.",
           f"losses: {fmt(losses)}",
           diagnosis="for a small enough step, gradient descent only goes downhill: check the "
                     "sign of the update (w -= lr * dw) and the scale of the gradient (2/m).")
    # Anchors: constant or merely decreasing lists never rise either.
    _expect_first_loss(losses, y, impl, X)
    _expect_downhill(X, y, w, b, losses, lr, 30)
    final = _mse(X, y, w, b)
    own = _own_loss(impl, X, y, w, b)
    if own is not None and losses[0] != np.mean(y ** 2):
        final = own  # your loss recorded the losses: compare in its units
    expect(final <= losses[-1] + 1e-12 * (1.0 + losses[0]),
           f"the loss at the returned w, b is {fmt(final)}, above the last recorded loss "
           f"losses[-1] = {fmt(losses[-1])}: with lr={lr:.6g} the last update cannot go uphill.",
           "losses[k] is mean((X @ w + b - y)**2) at the w, b before update k.")


@settings(max_examples=examples(15))
@given(seed=seeds(), d=st.integers(1, 3), noise=st.sampled_from([0.0, 0.1, 1.0]))
@example(seed=0, d=2, noise=0.1)
def test_gradient_descent_converges_to_least_squares(impl, seed, d, noise):
    """On well-conditioned data, gradient descent (lr = 1/L, enough steps) reaches the least-squares w and b (1e-6)."""
    m = 20
    X = rng_array(seed, (m, d)) + 0.5
    y = X @ rng_array(seed + 1, (d,), 2.0) + 1.5 + noise * rng_array(seed + 2, (m,))
    A = np.hstack([X, np.ones((m, 1))])
    eigenvalues = np.linalg.eigvalsh(A.T @ A)
    kappa = eigenvalues[-1] / eigenvalues[0]
    assume(kappa < 12)  # well-conditioned, so a few hundred steps are enough
    lr = 1.0 / _lipschitz(X)
    n_iters = int(np.ceil(np.log(1e-11) / np.log(1.0 - 1.0 / kappa))) + 10
    solution = np.linalg.lstsq(A, y, rcond=None)[0]
    w, b, losses = _descend(impl, X, y, lr=lr, n_iters=n_iters)
    expect_close(w, solution[:d], what=f"w after {n_iters} steps with lr={lr:.4g}", rtol=1e-6,
                 atol=1e-6, against="the least-squares w (np.linalg.lstsq)")
    expect_close(b, solution[d], what=f"b after {n_iters} steps with lr={lr:.4g}", rtol=1e-6,
                 atol=1e-6, against="the least-squares b (np.linalg.lstsq)",
                 diagnosis="w is right but b is not: is b updated with db = (2/m) * sum(r)?")


@settings(max_examples=examples(25))
@given(seed=seeds(), m=st.integers(1, 6), d=st.integers(1, 3), n_iters=st.integers(1, 12))
@example(seed=0, m=3, d=2, n_iters=1)
@example(seed=1, m=4, d=2, n_iters=5)
def test_gradient_descent_history_semantics(impl, seed, m, d, n_iters):
    """losses is a list of n_iters floats, losses[k] the loss before update k, the steps are w -= lr * dw, b -= lr * db from 0 with your mse_gradients (a real gradient); defaults are lr=0.1, n_iters=100."""
    X, y = _data(seed, m, d)
    lr = 0.5 / _lipschitz(X)
    w, b, losses = _descend(impl, X, y, strict_list=True, lr=lr, n_iters=n_iters)
    _, _, longer = _descend(impl, X, y, strict_list=True, lr=lr, n_iters=n_iters + 1)
    _expect_first_loss(losses, y, impl, X)
    expect_close(longer[:n_iters], losses, what=f"the first {n_iters} losses of a run with "
                 f"n_iters={n_iters + 1}", rtol=1e-12, atol=1e-15,
                 against=f"the losses of a run with n_iters={n_iters}")
    after = _own_loss(impl, X, y, w, b)
    after = float(np.mean((X @ w + b - y) ** 2)) if after is None else after
    expect_close(longer[n_iters], after, what=f"losses[{n_iters}] of a run with "
                 f"n_iters={n_iters + 1}", rtol=1e-9, atol=1e-12,
                 against=f"the loss at the w, b returned after {n_iters} steps",
                 diagnosis="losses[k] is the loss at the parameters before update k, i.e. at the "
                           "w, b that n_iters=k returns.")
    # Anchor: the steps are your gradient's, a real one: a step that does nothing fails.
    _expect_own_descent((w, b, losses), impl, X, y, lr, n_iters)
    default = _descend(impl, PINNED_X, PINNED_Y)
    explicit = _descend(impl, PINNED_X, PINNED_Y, lr=0.1, n_iters=100)
    expect_close(default[0], explicit[0], what="w from gradient_descent(X, y)", rtol=1e-12,
                 atol=1e-15, against="w from gradient_descent(X, y, lr=0.1, n_iters=100)",
                 diagnosis="the defaults are lr=0.1 and n_iters=100.")


@settings(max_examples=examples(15))
@given(seed=seeds(), m=st.integers(1, 5), d=st.integers(1, 4))
@example(seed=0, m=3, d=2)
def test_inputs_not_modified(impl, seed, m, d):
    """predict, mse_loss, mse_gradients and gradient_descent leave X, y, w and y_pred exactly as they were, and return real values from them (up to a slip that the value checks grade)."""
    X, y = _data(seed, m, d)
    w = rng_array(seed + 2, (d,))
    y_pred = rng_array(seed + 3, (m,))
    lr = min(0.01, 1.0 / _lipschitz(X))
    arrays = {"X": X.copy(), "y": y.copy(), "w": w.copy(), "y_pred": y_pred.copy()}
    # Each call is graded twice: its inputs are left alone (hygiene), and its result is a real
    # value (an anchor computed here), so that a function returning garbage earns nothing.
    calls = [("predict", lambda a: impl.predict(a["X"], a["w"], 0.5),
              lambda r: _expect_predict_value(_predict_result(r, X.shape), X, w, 0.5,
                                              slips=True)),
             ("mse_loss", lambda a: impl.mse_loss(a["y_pred"], a["y"]),
              lambda r: _expect_mse_value(expect_scalar(r, what="mse_loss(y_pred, y)"),
                                          y_pred, y, slips=True)),
             ("mse_gradients", lambda a: impl.mse_gradients(a["X"], a["y"], a["w"], 0.5),
              lambda r: _expect_real_gradient(*_gradients_result(r, d), X, y, w, 0.5, impl)),
             ("gradient_descent", lambda a: impl.gradient_descent(a["X"], a["y"], lr=lr,
                                                                  n_iters=3),
              lambda r: _expect_own_descent(_descent_result(r, d, False, 3), impl, X, y, lr,
                                            3))]
    originals = {"X": X, "y": y, "w": w, "y_pred": y_pred}
    for name, call, anchor in calls:
        result = call(arrays)
        changed = [k for k in arrays if not np.array_equal(arrays[k], originals[k])]
        expect(not changed, f"{name} modified its input(s) {changed} in place.",
               diagnosis="compute into new arrays (r = y_pred - y) instead of updating an "
                         "argument with -=, += or /=.")
        anchor(result)


@given(m=st.integers(1, 7), d=st.integers(1, 5), seed=seeds())
@example(m=1, d=1, seed=0)
@example(m=2, d=5, seed=1)
@example(m=7, d=3, seed=2)
def test_any_number_of_examples_and_features(impl, m, d, seed):
    """Works for any m >= 1 examples and d >= 1 features: predict is X @ w + b, dw (d,) and db are the gradient (up to a slip the gradient checks grade), w (d,) and b are your gradient's steps from 0."""
    X, y = _data(seed, m, d)
    w = rng_array(seed + 2, (d,))
    _expect_predict_value(_predict(impl, X, w, 0.5), X, w, 0.5)
    _expect_real_gradient(*_gradients(impl, X, y, w, 0.5), X, y, w, 0.5, impl)
    lr = min(0.01, 1.0 / _lipschitz(X))
    _expect_own_descent(_descend(impl, X, y, lr=lr, n_iters=2), impl, X, y, lr, 2)
