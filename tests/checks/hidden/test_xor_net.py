"""Hidden checks for exercise 5: exact agreement with the reference, on inputs students don't see."""

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from grader.authoring import (
    examples,
    expect,
    expect_array,
    expect_close,
    expect_equal_arrays,
    expect_scalar,
    floats,
    reference,
    rng_array,
)

ref = reference("xor_net")

KEYS = ("W1", "b1", "W2", "b2")


def _shapes(hidden):
    return {"W1": (hidden, 2), "b1": (hidden,), "W2": (1, hidden), "b2": (1,)}


def _copy(params):
    return {k: np.array(v, dtype=np.float64, copy=True) for k, v in params.items()}


@st.composite
def networks(draw, max_hidden=6, max_m=8, max_scale=3.0):
    """(params from a drawn seed, with nonzero biases; X (m, 2); y (m, 1) of 0/1)."""
    hidden = draw(st.integers(1, max_hidden))
    m = draw(st.integers(1, max_m))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(floats(0.1, max_scale))
    rng = np.random.default_rng(seed)
    params = {k: rng.standard_normal(s) * scale for k, s in _shapes(hidden).items()}
    X = rng_array(seed + 1, (m, 2), scale=1.5)
    y = (np.random.default_rng(seed + 2).random((m, 1)) < 0.5).astype(np.float64)
    return params, X, y


def _p(impl, params, X):
    result = impl.forward(_copy(params), X.copy())
    expect(isinstance(result, tuple) and len(result) == 2, "forward must return (p, cache)")
    return expect_array(result[0], what="p", shape=(X.shape[0], 1)), result[1]


@given(hidden=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
@example(hidden=4, seed=0)
@example(hidden=1, seed=123)
@example(hidden=8, seed=2**32 - 1)
def test_init_params_matches_reference_draws(impl, hidden, seed):
    """init_params(hidden, seed) draws exactly the reference's W1 then W2 from np.random.default_rng(seed)."""
    mine = impl.init_params(hidden, seed)
    theirs = ref.init_params(hidden, seed)
    expect(isinstance(mine, dict), "init_params must return a dict")
    for k in KEYS:
        expect(k in mine, f"init_params lacks {k}")
        expect_equal_arrays(mine[k], theirs[k], what=k)
    default = impl.init_params()
    for k in KEYS:
        expect_equal_arrays(default[k], ref.init_params()[k], what=f"init_params()['{k}']")


@given(case=networks(max_scale=30.0))
@example(case=({"W1": np.full((2, 2), 400.0), "b1": np.zeros(2), "W2": np.array([[400.0, 400.0]]),
                "b2": np.array([-1000.0])}, np.array([[1.0, 1.0], [-1.0, -1.0]]),
               np.array([[1.0], [0.0]])))
def test_forward_matches_reference(impl, case):
    """forward's p agrees with the reference for any network, including weights large enough to saturate."""
    params, X, _ = case
    with np.errstate(over="ignore"):  # exp(-z) overflows to inf for z < -709: p = 0 is right
        p, _ = _p(impl, params, X)
        expected, _ = ref.forward(_copy(params), X.copy())
    # Absolute 1e-15: sigmoid written as 0.5*(1 + tanh(z/2)) is correct but loses the
    # relative accuracy of p below about 1e-13 (cancellation in 1 + tanh).
    expect_close(p, expected, what="p", rtol=1e-12, atol=1e-15)


# p stays at exactly 0 or 1 or inside [1e-4, 1 - 1e-4]: there clipping and the common
# log(p + 1e-12) agree to 1e-9, and the contract pins p in {0, 1} through the clip.
@given(p=st.lists(st.sampled_from([0.0, 1.0, 0.5]) | floats(1e-4, 1 - 1e-4),
                  min_size=1, max_size=8),
       labels=st.lists(st.sampled_from([0.0, 1.0]), min_size=8, max_size=8))
@example(p=[0.0, 1.0, 0.0, 1.0], labels=[0.0, 1.0, 1.0, 0.0] * 2)
def test_bce_loss_matches_reference(impl, p, labels):
    """bce_loss agrees with the reference for every p in [0, 1], including exactly 0 and 1."""
    p = np.array(p).reshape(-1, 1)
    y = np.array(labels[: len(p)]).reshape(-1, 1)
    observed = expect_scalar(impl.bce_loss(p.copy(), y.copy()), what="bce_loss")
    # rtol 1e-5: clipping p = 1 to 1 - 1e-12 rounds to 1 - 0.99998e-12 in float64, so the
    # contract's clip gives 27.631043 where log(1 - p + 1e-12) gives 27.631021.
    expect_close(observed, ref.bce_loss(p.copy(), y.copy()), what="bce_loss", rtol=1e-5,
                 atol=1e-10)


@given(case=networks())
@example(case=({"W1": np.array([[0.5, -1.0]]), "b1": np.array([0.2]),
                "W2": np.array([[1.5]]), "b2": np.array([-0.3])},
               np.array([[0.9, 0.1]]), np.array([[1.0]])))
def test_backward_matches_reference(impl, case):
    """backward's gradients agree with the reference for hidden sizes 1-6, batches of 1-8 and nonzero biases."""
    params, X, y = case
    _, cache = _p(impl, params, X)
    grads = impl.backward(_copy(params), cache, y.copy())
    _, ref_cache = ref.forward(_copy(params), X.copy())
    expected = ref.backward(_copy(params), ref_cache, y.copy())
    expect(isinstance(grads, dict), "backward must return a dict")
    for k in KEYS:
        expect(k in grads, f"backward's dict lacks {k}")
        expect_close(grads[k], expected[k], what=f"grads['{k}']", rtol=1e-9, atol=1e-13)


@given(hidden=st.integers(1, 6), lr=floats(0.05, 3.0), epochs=st.integers(1, 25),
       seed=st.integers(0, 2**32 - 1), m=st.integers(1, 8))
@example(hidden=4, lr=2.0, epochs=25, seed=0, m=8)
@example(hidden=1, lr=0.5, epochs=3, seed=9, m=1)
@settings(max_examples=examples(20))
def test_train_matches_reference(impl, hidden, lr, epochs, seed, m):
    """train's params and losses agree with the reference for up to 25 epochs, any hidden size, lr, seed and batch."""
    X = ref.XOR_X[:m].copy()
    y = ref.XOR_Y[:m].copy()
    result = impl.train(X.copy(), y.copy(), hidden=hidden, lr=lr, epochs=epochs, seed=seed)
    expected_params, expected_losses = ref.train(X.copy(), y.copy(), hidden=hidden, lr=lr,
                                                 epochs=epochs, seed=seed)
    expect(isinstance(result, tuple) and len(result) == 2, "train must return (params, losses)")
    params, losses = result
    expect(isinstance(losses, list) and len(losses) == epochs, "losses must be a list of epochs")
    observed = np.array([expect_scalar(x, what="a loss") for x in losses])
    expect_close(observed, np.array(expected_losses), what="losses", rtol=1e-9, atol=1e-12)
    for k in KEYS:
        expect_close(params[k], expected_params[k], what=f"params['{k}']", rtol=1e-8,
                     atol=1e-10)


def test_train_defaults_match_reference(impl):
    """train(X, y, epochs=3) uses the defaults hidden=4, lr=2.0, seed=0 like the reference."""
    result = impl.train(ref.XOR_X.copy(), ref.XOR_Y.copy(), epochs=3)
    expected_params, expected_losses = ref.train(ref.XOR_X.copy(), ref.XOR_Y.copy(), epochs=3)
    expect(isinstance(result, tuple) and len(result) == 2, "train must return (params, losses)")
    params, losses = result
    expect_close(np.array([expect_scalar(x, what="a loss") for x in losses]),
                 np.array(expected_losses), what="losses", rtol=1e-9, atol=1e-12)
    for k in KEYS:
        expect_close(params[k], expected_params[k], what=f"params['{k}']", rtol=1e-8, atol=1e-10)


@given(case=networks(), zero_output=st.booleans())
@example(case=({"W1": np.zeros((4, 2)), "b1": np.zeros(4), "W2": np.zeros((1, 4)),
                "b2": np.zeros(1)}, ref.XOR_X.copy(), ref.XOR_Y.copy()), zero_output=False)
def test_predict_matches_reference(impl, case, zero_output):
    """predict agrees with the reference (dtype integer, shape (m, 1)), including p exactly 0.5."""
    params, X, _ = case
    if zero_output:
        params = {**params, "W2": np.zeros_like(params["W2"]), "b2": np.zeros(1)}
    pred = expect_array(impl.predict(_copy(params), X.copy()), what="predict", kind="i",
                        shape=(X.shape[0], 1))
    expect_equal_arrays(pred, ref.predict(_copy(params), X.copy()), what="predict")
