"""Hidden checks for exercise 3: agreement with the reference, on inputs students don't see."""

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from grader.authoring import (
    examples,
    expect,
    expect_array,
    expect_close,
    expect_scalar,
    floats,
    reference,
    rng_array,
    seeds,
)

ref = reference("linreg_gd")


def _data(seed, m, d, scale):
    X = rng_array(seed, (m, d), scale)
    y = rng_array(seed + 1, (m,), 2.0 * scale)
    w = rng_array(seed + 2, (d,))
    return X, y, w


@given(seed=seeds(), m=st.integers(1, 8), d=st.integers(1, 5),
       scale=st.sampled_from([1e-3, 1.0, 1e3]), b=floats(-100, 100))
@example(seed=0, m=1, d=1, scale=1.0, b=0.0)
def test_predict_and_mse_loss_match_reference(impl, seed, m, d, scale, b):
    """predict and mse_loss agree with the reference for any m, d and scale of the data."""
    X, y, w = _data(seed, m, d, scale)
    expected = ref.predict(X.copy(), w.copy(), b)
    expect_close(impl.predict(X.copy(), w.copy(), b), expected, what="predict", rtol=1e-12,
                 atol=1e-12 * (1 + float(np.max(np.abs(expected)))))
    expect_close(impl.mse_loss(expected.copy(), y.copy()), ref.mse_loss(expected, y),
                 what="mse_loss", rtol=1e-12, atol=1e-300)


@given(seed=seeds(), m=st.integers(1, 8), d=st.integers(1, 5),
       scale=st.sampled_from([1e-3, 1.0, 1e3]), b=floats(-100, 100))
@example(seed=0, m=1, d=1, scale=1.0, b=0.0)
@example(seed=3, m=2, d=5, scale=1e3, b=7.0)
def test_mse_gradients_match_reference(impl, seed, m, d, scale, b):
    """mse_gradients agrees with the reference for any m, d and scale of the data."""
    X, y, w = _data(seed, m, d, scale)
    result = impl.mse_gradients(X.copy(), y.copy(), w.copy(), b)
    expect(isinstance(result, tuple) and len(result) == 2, "must return (dw, db)")
    dw, db = ref.mse_gradients(X.copy(), y.copy(), w.copy(), b)
    expect_close(result[0], dw, what="dw", rtol=1e-10,
                 atol=1e-12 * (1 + float(np.max(np.abs(dw)))))
    expect_close(result[1], db, what="db", rtol=1e-10, atol=1e-12 * (1 + abs(db)))


@settings(max_examples=examples(25))
@given(seed=seeds(), m=st.integers(1, 8), d=st.integers(1, 4), n_iters=st.integers(1, 60),
       lr_fraction=st.sampled_from([0.05, 0.3, 1.0, 1.5]))
@example(seed=0, m=1, d=1, n_iters=10, lr_fraction=1.0)
@example(seed=1, m=2, d=4, n_iters=60, lr_fraction=1.5)
def test_gradient_descent_matches_reference(impl, seed, m, d, n_iters, lr_fraction):
    """gradient_descent agrees with the reference (w, b and every loss) for any shapes and stable learning rates."""
    X, y, _ = _data(seed, m, d, 1.0)
    A = np.hstack([X, np.ones((m, 1))])
    lr = lr_fraction * m / (2.0 * float(np.linalg.eigvalsh(A.T @ A)[-1]))
    result = impl.gradient_descent(X.copy(), y.copy(), lr=lr, n_iters=n_iters)
    expect(isinstance(result, tuple) and len(result) == 3, "must return (w, b, losses)")
    w, b, losses = ref.gradient_descent(X.copy(), y.copy(), lr=lr, n_iters=n_iters)
    expect_close(result[0], w, what="w", rtol=1e-8, atol=1e-10)
    expect_close(result[1], b, what="b", rtol=1e-8, atol=1e-10)
    expect(len(result[2]) == n_iters, "one loss per iteration")  # list-ness is a public check
    observed = np.array([expect_scalar(v, what="loss") for v in result[2]])
    expect_close(observed, np.array(losses), what="losses", rtol=1e-8, atol=1e-12)


@given(d=st.integers(1, 4), seed=seeds(), m=st.integers(1, 2))
@example(d=1, seed=0, m=1)
@example(d=3, seed=0, m=2)
def test_gradient_descent_edge_cases(impl, d, seed, m):
    """gradient_descent with n_iters=0 returns zeros and no losses; with y = 0 it stays at zero with zero losses; with fewer examples than features it reaches the minimum-norm exact fit."""
    X, y, _ = _data(seed, 4, d, 1.0)
    result = impl.gradient_descent(X.copy(), y.copy(), lr=0.01, n_iters=0)
    expect(isinstance(result, tuple) and len(result) == 3, "must return (w, b, losses)")
    expect(np.array_equal(expect_array(result[0], what="w", shape=(d,)), np.zeros(d)), "w = 0")
    expect(expect_scalar(result[1], what="b") == 0.0, "b = 0")
    expect(list(result[2]) == [], "no losses")
    result = impl.gradient_descent(X.copy(), np.zeros(4), lr=0.05, n_iters=5)
    expect(np.array_equal(expect_array(result[0], what="w", shape=(d,)), np.zeros(d)), "w = 0")
    expect(expect_scalar(result[1], what="b") == 0.0, "b = 0")
    expect([expect_scalar(v, what="loss") for v in result[2]] == [0.0] * 5, "zero losses")
    # Anchor (zeros and do-nothing steps pass the two cases above): with m <= d examples the
    # fit is underdetermined, and gradient descent from zero stays in the row space of [X, 1],
    # so it converges to the minimum-norm solution, which lstsq returns.
    X, y, _ = _data(seed + 7, min(m, d), d, 1.0)
    A = np.hstack([X, np.ones((len(X), 1))])
    eigenvalues = np.linalg.eigvalsh(A @ A.T)
    if eigenvalues[-1] > 50 * eigenvalues[0]:  # ill-conditioned rows (rare): keep one
        X, y, A = X[:1], y[:1], A[:1]
        eigenvalues = np.linalg.eigvalsh(A @ A.T)
    m = len(X)
    kappa = eigenvalues[-1] / eigenvalues[0]
    lr = m / (2.0 * eigenvalues[-1])  # 1/L
    # Enough steps to reach 1e-13 even at half this rate, so the last steps do not matter.
    n_iters = int(np.ceil(np.log(1e-13) / np.log(1.0 - 0.5 / kappa))) + 10
    theta = np.linalg.lstsq(A, y, rcond=None)[0]
    result = impl.gradient_descent(X.copy(), y.copy(), lr=lr, n_iters=n_iters)
    expect(isinstance(result, tuple) and len(result) == 3, "must return (w, b, losses)")
    scale = 1.0 + float(np.max(np.abs(theta)))
    expect_close(result[0], theta[:d], what="w", rtol=1e-8, atol=1e-9 * scale,
                 against="the minimum-norm w")
    expect_close(result[1], theta[d], what="b", rtol=1e-8, atol=1e-9 * scale,
                 against="the minimum-norm b")
