"""Public checks for exercise 5, the XOR network. Pinned values and the contract's formulas.

Expected values come from the mathematics (an all-zero network outputs sigmoid(0) = 0.5 and
loss log 2; with W2 = 0 the output is sigmoid(b2)), from central differences of your own
forward + bce_loss, from your own init_params/forward/backward (one training step), and from
the contract's formulas computed here with NumPy (forward, bce_loss, backward, the draws of
init_params). A property that constants or a step that does nothing also satisfy (your
gradient matches your own constant loss, one step with zero gradients is "exact", losses that
merely decrease) pays only together with one of those values of the same call.
One mistake costs the checks that test it: the checks of backward and train apply the
contract's backward formulas to the H and p of your own forward and take your own bce_loss,
and accept the slips the backward and bce_loss checks grade, so a wrong forward, loss or
backward is not failed again by every check that calls it.
XOR has local minima: about 1 seed in 10 stays stuck even for a correct network, so "learns
XOR" is asked of most of several seeds, never of one.
"""

import numpy as np
from hypothesis import Phase, example, given, settings
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
)

X_DATA = np.array([[0, 0], [0, 1], [1, 0], [1, 1],
                   [0.1, 0.1], [0.1, 0.9], [0.9, 0.1], [0.9, 0.9]], dtype=np.float64)
Y_DATA = np.array([[0], [1], [1], [0], [0], [1], [1], [0]], dtype=np.float64)
KEYS = ("W1", "b1", "W2", "b2")
CLIP_HINT = "clip p into [1e-12, 1 - 1e-12] before taking logs: log(0) is -inf."


def _shapes(hidden):
    return {"W1": (hidden, 2), "b1": (hidden,), "W2": (1, hidden), "b2": (1,)}


def _params(hidden, seed=None, scale=1.0):
    """A network of the contract's shapes: zeros, or N(0, scale**2) entries from a seed."""
    if seed is None:
        return {k: np.zeros(s) for k, s in _shapes(hidden).items()}
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(s) * scale for k, s in _shapes(hidden).items()}


def _copy(params):
    return {k: v.copy() for k, v in params.items()}


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _forward_p(impl, params, X):
    result = impl.forward(_copy(params), X.copy())
    expect(isinstance(result, tuple) and len(result) == 2,
           "forward must return a tuple (p, cache).")
    p = expect_array(result[0], what="p from forward", shape=(X.shape[0], 1))
    return p, result[1]


def _loss(impl, p, y):
    return expect_scalar(impl.bce_loss(p.copy(), y.copy()), what="bce_loss(p, y)",
                         nonfinite_hint=CLIP_HINT)


def _grads(impl, params, cache, y):
    grads = impl.backward(_copy(params), cache, y.copy())
    expect(isinstance(grads, dict), f"backward returned a {type(grads).__name__}, expected a "
           "dict with keys W1, b1, W2, b2.")
    missing = [k for k in KEYS if k not in grads]
    expect(not missing, f"the dict from backward lacks {missing}.")
    hidden = params["W1"].shape[0]
    return {k: expect_array(grads[k], what=f"grads['{k}']", shape=_shapes(hidden)[k])
            for k in KEYS}


def _train(impl, X, y, **kwargs):
    result = impl.train(X.copy(), y.copy(), **kwargs)
    expect(isinstance(result, tuple) and len(result) == 2,
           "train must return a tuple (params, losses).")
    params, losses = result
    expect(isinstance(params, dict) and all(k in params for k in KEYS),
           "the params from train must be a dict with keys W1, b1, W2, b2.")
    hidden = kwargs.get("hidden", 4)
    params = {k: expect_array(params[k], what=f"trained params['{k}']",
                              shape=_shapes(hidden)[k]) for k in KEYS}
    epochs = kwargs.get("epochs", 2000)
    expect(isinstance(losses, list), f"losses is a {type(losses).__name__}, expected a list.")
    expect(len(losses) == epochs, f"train returned {len(losses)} losses for epochs={epochs}.",
           diagnosis="one loss per update: losses[i] is the loss before update i."
           if len(losses) == epochs + 1 else None)
    losses = np.array([expect_scalar(x, what=f"losses[{i}]") for i, x in enumerate(losses)])
    return params, losses


# --- the contract's formulas, computed here (anchors) -----------------------------------------

def _contract_init(hidden, seed):
    """rng = np.random.default_rng(seed); W1 then W2 from rng.standard_normal; zero biases."""
    rng = np.random.default_rng(seed)
    W1 = rng.standard_normal((hidden, 2))
    W2 = rng.standard_normal((1, hidden))
    return {"W1": W1, "b1": np.zeros(hidden), "W2": W2, "b2": np.zeros(1)}


def _contract_forward(params, X):
    """(H, p) with H = tanh(X @ W1.T + b1), p = sigmoid(H @ W2.T + b2)."""
    H = np.tanh(X @ params["W1"].T + params["b1"])
    with np.errstate(over="ignore"):
        return H, _sigmoid(H @ params["W2"].T + params["b2"])


def _contract_loss(params, X, y):
    """Mean binary cross-entropy of the network on (X, y), p clipped into [1e-12, 1 - 1e-12]."""
    p = np.clip(_contract_forward(params, X)[1], 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _contract_grads(params, X, y):
    """The contract's backward: dZ2 = (p - y)/m, dW2 = dZ2.T @ H, ..., dW1 = dZ1.T @ X."""
    H, p = _contract_forward(params, X)
    dZ2 = (p - y) / X.shape[0]
    dZ1 = (dZ2 @ params["W2"]) * (1 - H ** 2)
    return {"W1": dZ1.T @ X, "b1": dZ1.sum(axis=0), "W2": dZ2.T @ H, "b2": dZ2.sum(axis=0)}


def _formula_grads(params, X, y, H, p):
    """The contract's backward formulas applied to given H and p (those of your forward)."""
    dZ2 = (p - y) / X.shape[0]
    dZ1 = (dZ2 @ params["W2"]) * (1 - H ** 2)
    return {"W1": dZ1.T @ X, "b1": dZ1.sum(axis=0), "W2": dZ2.T @ H, "b2": dZ2.sum(axis=0)}


def _own_forward(impl, params, X):
    """(p as (m, 1), cache) from your forward. Checks of backward and train take p of shape
    (m,) too: forward's shape is graded by the forward checks."""
    result = impl.forward(_copy(params), X.copy())
    expect(isinstance(result, tuple) and len(result) == 2,
           "forward must return a tuple (p, cache).")
    p = expect_array(result[0], what="p from forward")
    expect(p.size == X.shape[0], f"p from forward has shape {p.shape}, expected "
           f"({X.shape[0]}, 1).")
    return p.reshape(X.shape[0], 1), result[1]


def _flat_p_hint(impl, params, X):
    """What to look at when forward's p is not the contract's: another network is trained, or
    (p of shape (m,)) bce_loss of an (m,) p and an (m, 1) y broadcasts to an (m, m) matrix, so
    the recorded losses are not the network's."""
    p = np.asarray(impl.forward(_copy(params), X.copy())[0])
    if p.shape == (X.shape[0], 1):
        if p.dtype.kind == "f" and not np.allclose(p, _contract_forward(params, X)[1],
                                                   rtol=1e-9, atol=1e-12):
            return ("your forward's p is not sigmoid(tanh(X @ W1.T + b1) @ W2.T + b2) (see "
                    "forward_pinned_values), so train follows another network.")
        return None
    return (f"forward returns p of shape {p.shape}, not ({X.shape[0]}, 1): bce_loss(p, y) "
            "then broadcasts p against y's (m, 1) and averages an (m, m) matrix "
            "(see forward_pinned_values).")


def _own_loss(impl, params, X, y):
    """Your bce_loss of your forward's p as forward returns it (train computes the same)."""
    result = impl.forward(_copy(params), X.copy())
    expect(isinstance(result, tuple) and len(result) == 2,
           "forward must return a tuple (p, cache).")
    return _loss(impl, expect_array(result[0], what="p from forward"), y)


def _cached_hidden(cache, m, hidden):
    """The (m, hidden) arrays of your cache (a dict, tuple or list): the candidates for H."""
    items = cache.values() if isinstance(cache, dict) else (
        cache if isinstance(cache, (tuple, list)) else ())
    found = []
    for value in items:
        if isinstance(value, np.ndarray) and value.shape == (m, hidden) \
                and value.dtype.kind == "f" and np.all(np.isfinite(value)):
            found.append(value)
    return found


def _anchor_grads(params, X, y, p, cache, grads=None):
    """The contract's backward formulas applied to your forward's p and to the H your cache
    holds (the contract's H if the cache holds it, or holds no other (m, hidden) array): a
    mistake in forward is graded by the forward checks, not again by every check that calls
    backward. Among several other candidates for H, the one whose dW2 is closest to yours."""
    m, hidden = X.shape[0], params["W1"].shape[0]
    H_exact = _contract_forward(params, X)[0]
    cached = [H for H in _cached_hidden(cache, m, hidden)
              if not (H.shape == p.shape and np.array_equal(H, p))
              and not (H.shape == X.shape and np.array_equal(H, X))][:4]
    if grads is None or not cached or any(np.allclose(H, H_exact, rtol=1e-12, atol=1e-15)
                                          for H in cached):
        return _formula_grads(params, X, y, H_exact, p)
    # dW2 = dZ2.T @ H is the gradient that shows which H backward used.
    options = [_formula_grads(params, X, y, H, p) for H in cached]
    return min(options, key=lambda o: float(np.sum((grads["W2"] - o["W2"]) ** 2)))


# Slips that the backward check grades (factor m from dZ2, the mean in db2, a sign, a factor 2
# or a half): a check of training accepts gradients off by one of them, so one mistake in
# backward costs the backward check, not every check of train too.
def _slips(m):
    return (1.0, -1.0, 2.0, 0.5, -2.0, -0.5, float(m), 1.0 / m, -float(m))


def _expect_real_gradients(grads, anchor, m, what):
    """Training pays only with real work: your W2 and b2 gradients are the contract's formulas
    applied to your own forward, up to one of the slips the backward check grades."""
    for k in ("W2", "b2"):
        size = float(np.max(np.abs(anchor[k])))
        if any(np.max(np.abs(grads[k] - s * anchor[k])) <= 1e-8 * size + 1e-15
               for s in _slips(m)):
            continue
        expect_close(grads[k], anchor[k], what=f"grads['{k}'] of {what}", rtol=1e-8,
                     atol=1e-12, against="the contract's formula on your forward's H and p",
                     diagnosis="the update is graded only with the gradients of backward: "
                               "see backward_matches_central_differences.")


def _expect_first_loss(loss0, start, X, y, what, starting, hint=None):
    """losses[0] is the contract's binary cross-entropy of the starting network (computed
    here from the network your init_params returned), or m times it: a sum instead of the
    mean costs the bce_loss checks, not this one. Returns that factor, 1 or m."""
    exact = _contract_loss(start, X, y)
    m = float(X.shape[0])
    if m > 1 and abs(loss0 - m * exact) <= 1e-9 * m * exact + 1e-12:
        return m
    expect_close(loss0, exact, what=what, rtol=1e-9, atol=1e-12,
                 against=f"the BCE of {starting}", diagnosis=hint)
    return 1.0


@st.composite
def networks(draw, max_hidden=5, max_m=6):
    """(params from a drawn seed, X (m, 2), y (m, 1) of 0/1 floats)."""
    hidden = draw(st.integers(1, max_hidden))
    m = draw(st.integers(1, max_m))
    seed = draw(st.integers(0, 2**32 - 1))
    params = _params(hidden, seed)
    X = rng_array(seed + 1, (m, 2), scale=1.5)
    y = (np.random.default_rng(seed + 2).random((m, 1)) < 0.5).astype(np.float64)
    return params, X, y


@given(hidden=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
@example(hidden=4, seed=None)
@settings(max_examples=examples(2))
def test_all_zero_network_on_the_xor_data(impl, hidden, seed):
    """On XOR_X and XOR_Y (the 8 points and labels of the exercise) an all-zero network gives p = 0.5, loss log(2), and predicts 1 everywhere; with W2 = 0 and b2 = log(3) or -log(3) (any first layer), p = 3/4 or 1/4, loss log(4) - log(3)/2, predictions all 1 or all 0."""
    zeros = _params(4)
    p, _ = _forward_p(impl, zeros, X_DATA)
    expect_close(p, np.full((8, 1), 0.5), what="p of an all-zero network", rtol=1e-12,
                 atol=1e-12, diagnosis="with all weights 0 the output is sigmoid(0) = 0.5: "
                                       "is the output layer a sigmoid?")
    expect_close(_loss(impl, p, Y_DATA), np.log(2.0), what="bce_loss(0.5, XOR_Y)", rtol=1e-9,
                 atol=1e-12, likely={8.0: "the loss is the mean over the 8 examples, not "
                                          "their sum."})
    pred = expect_array(impl.predict(_copy(zeros), X_DATA.copy()), what="predict(all-zero "
                        "network, XOR_X)", shape=(8, 1), kind="i")
    expect(np.all(pred == 1), "predict gives 0 where p is exactly 0.5.",
           f"predictions: {fmt(pred.ravel())}",
           diagnosis="predict 1 where p >= 0.5 (not p > 0.5; np.round(0.5) is 0).")
    # Anchors: p = 0.5, log 2 and ones are also what constants give; sigmoid(+-log 3) = 3/4,
    # 1/4 and the loss -(log(3/4) + log(1/4))/2 on XOR_Y's four 1s and four 0s are not. The
    # drawn first layer (W2 = 0 makes it irrelevant) keeps these inputs out of any table of
    # what the local checks passed.
    first = _params(hidden) if seed is None else _params(hidden, seed)
    first["W2"] = np.zeros((1, hidden))
    for b2, p_pinned, label in ((np.log(3.0), 0.75, 1), (-np.log(3.0), 0.25, 0)):
        net = {**first, "b2": np.array([b2])}
        sign = "" if b2 > 0 else "-"
        name = (f"the all-zero network with b2 = [{sign}log(3)]" if seed is None else
                f"a network with W2 = 0, b2 = [{sign}log(3)] (hidden={hidden})")
        p, _ = _forward_p(impl, net, X_DATA)
        expect_close(p, np.full((8, 1), p_pinned), what=f"p of {name}", rtol=1e-12,
                     atol=1e-12, against=f"sigmoid({sign}log(3))")
        expect_close(_loss(impl, p, Y_DATA), np.log(4.0) - np.log(3.0) / 2,
                     what=f"bce_loss(p = {p_pinned:g}, XOR_Y)", rtol=1e-9, atol=1e-12,
                     against="log(4) - log(3)/2",
                     likely={8.0: "the loss is the mean over the 8 examples, not their sum."})
        pred = expect_array(impl.predict(_copy(net), X_DATA.copy()), what=f"predict({name}, "
                            "XOR_X)", shape=(8, 1), kind="i")
        expect(np.all(pred == label), f"predict({name}, XOR_X) is not {label} everywhere "
               f"(p = {p_pinned:g} for every point).", f"predictions: {fmt(pred.ravel())}")
    for name, value, expected in (("XOR_X", impl.XOR_X, X_DATA), ("XOR_Y", impl.XOR_Y, Y_DATA)):
        got = expect_array(value, what=name, shape=expected.shape)
        expect(np.array_equal(got, expected), f"{name} does not hold the exercise's values.",
               f"observed: {fmt(got)}", f"expected: {fmt(expected)}")
        expect(value.dtype == np.float64, f"{name} has dtype {value.dtype}, expected float64.")


@given(case=networks(), c=floats(-5.0, 5.0), a=floats(-3.0, 3.0))
@example(case=(_params(4, 0), X_DATA, Y_DATA), c=1.0, a=0.5)
@example(case=(_params(1, 3), X_DATA[:1], Y_DATA[:1]), c=-2.0, a=-1.0)
def test_forward_pinned_values(impl, case, c, a):
    """forward returns p of shape (m, 1): sigmoid(b2) when W2 = 0; sigmoid(W2 @ tanh(b1) + b2) when W1 = 0; rows independent."""
    params, X, _ = case
    m, hidden = X.shape[0], params["W1"].shape[0]
    no_output_weights = {**params, "W2": np.zeros((1, hidden)), "b2": np.array([c])}
    p, _ = _forward_p(impl, no_output_weights, X)
    sigmoid_c = 1.0 / (1.0 + np.exp(-c))
    expect_close(p, np.full((m, 1), sigmoid_c), what=f"p with W2 = 0 and b2 = [{c:g}]",
                 rtol=1e-12, atol=1e-15,
                 diagnosis="the output layer should be sigmoid(H @ W2.T + b2)."
                 if not np.allclose(p, sigmoid_c) and np.allclose(p, np.tanh(c)) else None)
    b1 = np.linspace(-a, a, hidden) + a / 2
    no_input_weights = {**params, "W1": np.zeros((hidden, 2)), "b1": b1}
    p, _ = _forward_p(impl, no_input_weights, X)
    z2 = float((params["W2"] @ np.tanh(b1))[0] + params["b2"][0])
    hint = None
    if np.allclose(p, _sigmoid(float((params["W2"] @ _sigmoid(b1))[0] + params["b2"][0]))):
        hint = "the hidden layer is tanh, not a sigmoid: H = tanh(X @ W1.T + b1)."
    expect_close(p, np.full((m, 1), _sigmoid(z2)),
                 what=f"p with W1 = 0 and b1 = {fmt(b1)}", rtol=1e-12, atol=1e-15,
                 diagnosis=hint)
    p, _ = _forward_p(impl, params, X)
    expect(np.all((p >= 0) & (p <= 1)), "p from forward has entries outside [0, 1].")
    rows = np.vstack([_forward_p(impl, params, X[i:i + 1])[0] for i in range(m)])
    expect_close(p, rows, what="p for the whole batch", rtol=1e-12, atol=1e-15,
                 against="p of each row on its own")


@given(y=float_arrays((6, 1), 0.0, 1.0), p=float_arrays((6, 1), 0.01, 0.99))
@example(y=np.array([[1.0], [0.0], [1.0], [0.0], [1.0], [0.0]]),
         p=np.array([[0.9], [0.2], [0.5], [0.5], [0.01], [0.99]]))
def test_bce_loss_pinned_values(impl, y, p):
    """bce_loss is the mean of -log(p) where y = 1 and -log(1-p) where y = 0; a finite float also for p in {0, 1}."""
    y = (y >= 0.5).astype(np.float64)
    per_example = np.where(y == 1.0, -np.log(p), -np.log(1.0 - p))
    expect_close(_loss(impl, p, y), float(np.mean(per_example)), what="bce_loss(p, y)",
                 rtol=1e-9, atol=1e-12,
                 likely={6.0: "average over the 6 examples (np.mean), do not sum.",
                         -1.0: "the loss is -mean(...): a minus sign is missing."})
    expect_close(_loss(impl, np.vstack([p, p]), np.vstack([y, y])), float(np.mean(per_example)),
                 what="bce_loss of the batch repeated twice", rtol=1e-9, atol=1e-12,
                 against="bce_loss of the batch once",
                 likely={2.0: "average over the examples (np.mean), do not sum."})
    exact = _loss(impl, y.copy(), y)
    expect(abs(exact) <= 1e-9, f"bce_loss(p = y, y) is {exact:.6g}, expected about 0.",
           diagnosis="clip p into exactly [1e-12, 1 - 1e-12]: a wider margin such as 1e-7 "
                     "makes a perfect prediction cost -log(1 - 1e-7) = 1e-7.")
    worst = _loss(impl, 1.0 - y, y)
    # 1 - 1e-12 is not exact in float64: clipping p = 1 costs -log(0.99998e-12), 8e-7 more.
    expect_close(worst, -np.log(1e-12), what="bce_loss(p = 1 - y, y) (every prediction "
                 "certain and wrong)", rtol=1e-5, atol=0.0, nonfinite_hint=CLIP_HINT,
                 diagnosis="clip p into [1e-12, 1 - 1e-12], which makes this -log(1e-12) "
                           "= 27.631.")


@given(case=networks())
@example(case=(_params(4, 0), X_DATA, Y_DATA))
@example(case=(_params(1, 1), X_DATA[1:2], Y_DATA[1:2]))
@example(case=(_params(3, 2), X_DATA[:5], Y_DATA[:5]))
def test_backward_matches_central_differences(impl, case):
    """backward's W1, b1, W2, b2 are the contract's formulas (dZ2 = (p - y)/m, dW2 = dZ2.T @ H, db2 = dZ2.sum(0), dZ1 = (dZ2 @ W2) * (1 - H**2), dW1 = dZ1.T @ X, db1 = dZ1.sum(0)) applied to the H and p your forward cached: the central differences (eps=1e-5) of bce_loss(forward(params, X)[0], y) when forward and bce_loss are right. A mistake in forward or bce_loss costs their checks, not this one."""
    params, X, y = case
    m = X.shape[0]
    p, cache = _own_forward(impl, params, X)
    grads = _grads(impl, params, cache, y)
    likely = ({float(m): f"dZ2 = (p - y) / m: divide by the batch size m={m}.",
               -1.0: "the sign is flipped: dZ2 = p - y, not y - p."}
              if m > 1 else {-1.0: "the sign is flipped: dZ2 = p - y, not y - p."})
    # Anchor: the formulas on your forward's H and p, computed here; a constant loss with zero
    # gradients would match its own central differences.
    exact = _anchor_grads(params, X, y, p, cache, grads)
    output_ok = all(np.allclose(grads[k], exact[k], rtol=1e-8, atol=1e-12) for k in ("W2", "b2"))
    hint = None
    if output_ok:
        hint = ("the output layer's gradients are right but not the hidden layer's: "
                "dZ1 = (dZ2 @ W2) * (1 - H**2), since tanh'(z) = 1 - tanh(z)**2 "
                "(not 1 - H, not H * (1 - H)).")
    for key in ("W2", "b2", "W1", "b1"):
        expect_close(grads[key], exact[key], what=f"grads['{key}']", rtol=1e-8, atol=1e-12,
                     against="the contract's formula on your forward's H and p", likely=likely,
                     diagnosis=hint if key in ("W1", "b1") else None)


@given(hidden=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
@example(hidden=4, seed=0)
@example(hidden=1, seed=1)
def test_init_params_shapes_zero_biases_and_determinism(impl, hidden, seed):
    """init_params(hidden, seed) gives W1 (hidden, 2), b1 zeros (hidden,), W2 (1, hidden), b2 zeros (1,); the same seed gives the same network: W1 then W2 drawn with np.random.default_rng(seed).standard_normal."""
    first = impl.init_params(hidden, seed)
    expect(isinstance(first, dict) and all(k in first for k in KEYS),
           "init_params must return a dict with keys W1, b1, W2, b2.")
    got = {k: expect_array(first[k], what=f"init_params({hidden}, {seed})['{k}']",
                           shape=_shapes(hidden)[k]) for k in KEYS}
    for k in ("b1", "b2"):
        expect(np.all(got[k] == 0), f"{k} is not all zeros: {fmt(got[k])}.")
    for k in ("W1", "W2"):
        expect(first[k].dtype == np.float64, f"{k} has dtype {first[k].dtype}, not float64.")
        expect(np.all(got[k] != 0) and len(np.unique(got[k])) == got[k].size,
               f"{k} = {fmt(got[k])} does not look like N(0, 1) draws.")
    again = impl.init_params(hidden, seed)
    for k in KEYS:
        expect(np.array_equal(np.asarray(again[k]), got[k]),
               f"init_params({hidden}, {seed}) gave a different {k} the second time.",
               diagnosis="create rng = np.random.default_rng(seed) inside init_params.")
    other = impl.init_params(hidden, seed + 1)
    expect(not np.array_equal(np.asarray(other["W1"]), got["W1"]),
           f"init_params gives the same W1 for seeds {seed} and {seed + 1}: is seed used?")
    default = impl.init_params()
    expect(isinstance(default, dict) and np.shape(default.get("W1")) == (4, 2),
           "init_params() (defaults hidden=4, seed=0) must give W1 of shape (4, 2).")
    # Anchor: distinct, nonzero, deterministic, seed-dependent numbers need not be the
    # contract's draws (np.arange(...) + seed is all of that).
    drawn = _contract_init(hidden, seed)
    hint = None
    if np.array_equal(got["W2"], np.random.default_rng(seed).standard_normal((1, hidden))):
        hint = "draw W1 before W2 (the same rng, in that order)."
    elif not np.array_equal(got["W1"], drawn["W1"]) and np.array_equal(
            np.sort(got["W1"].ravel()), np.sort(drawn["W1"].ravel())):
        hint = ("W1 holds the right numbers in another arrangement: draw "
                "rng.standard_normal((hidden, 2)), not (2, hidden) transposed.")
    elif np.array_equal(got["W1"], np.random.RandomState(seed % 2**32).randn(hidden, 2)):
        hint = ("that is the legacy np.random.seed/randn stream: use "
                "rng = np.random.default_rng(seed) and rng.standard_normal.")
    for k in ("W1", "W2"):
        expect_close(got[k], drawn[k], what=f"init_params({hidden}, {seed})['{k}']",
                     rtol=1e-12, atol=0.0,
                     against="the draws of rng = np.random.default_rng(seed), W1 then W2",
                     diagnosis=hint)


@given(case=networks(max_hidden=4), lr=floats(0.1, 3.0), seed=st.integers(0, 1000))
@example(case=(None, X_DATA, Y_DATA), lr=2.0, seed=0)
@example(case=(None, X_DATA[:3], Y_DATA[:3]), lr=0.5, seed=7)
@settings(max_examples=examples(25))
def test_one_training_step_is_exact(impl, case, lr, seed):
    """train(X, y, hidden, lr, epochs=1, seed) returns init_params(hidden, seed) minus lr * backward, and losses = [your loss before that update]; your backward's W2, b2 gradients there are the contract's formulas on your forward (dZ2 = (p - y)/m) up to a slip that the backward check grades."""
    params_shape, X, y = case
    hidden = 4 if params_shape is None else params_shape["W1"].shape[0]
    start = impl.init_params(hidden, seed)
    start = {k: expect_array(start[k], what=f"init_params({hidden}, {seed})['{k}']",
                             shape=_shapes(hidden)[k]) for k in KEYS}
    p, cache = _own_forward(impl, start, X)
    loss0 = _own_loss(impl, start, X, y)
    grads = _grads(impl, start, cache, y)
    X_given, y_given = X.copy(), y.copy()
    trained, losses = _train(impl, X_given, y_given, hidden=hidden, lr=lr, epochs=1, seed=seed)
    expect(np.array_equal(X_given, X) and np.array_equal(y_given, y),
           "train modified X or y.")
    expect_close(losses, np.array([loss0]), what="losses for epochs=1", rtol=1e-12, atol=1e-12,
                 against="loss of init_params(hidden, seed)",
                 diagnosis="record the loss before the update (losses[0] is the loss of the "
                           "starting network).")
    for k in KEYS:
        expected = start[k] - lr * grads[k]
        two_steps = None
        if not np.allclose(trained[k], expected, rtol=1e-10, atol=1e-12):
            two_steps = ("is the parameter updated more than once for epochs=1 (range(epochs "
                         "+ 1)?), or does train not start from init_params(hidden, seed)?")
        expect_close(trained[k], expected, what=f"params['{k}'] after one epoch", rtol=1e-10,
                     atol=1e-12, against="init_params - lr * backward",
                     likely={1.0 / lr: "the update ignores lr (or uses a fixed one)."},
                     diagnosis=two_steps if k == "W1" else None)
    # Anchor: with a constant loss and zero gradients the two properties above hold too; your
    # gradients are the contract's formulas on your own forward (up to the slips the backward
    # check grades), so a mistake in forward, bce_loss or backward costs their checks only.
    _expect_real_gradients(grads, _anchor_grads(start, X, y, p, cache, grads), X.shape[0],
                           f"init_params({hidden}, {seed})")
    _, two = _train(impl, X, y, hidden=hidden, lr=lr, epochs=2, seed=seed)
    after = {k: start[k] - lr * grads[k] for k in KEYS}
    expect_close(two[1], _own_loss(impl, after, X, y),
                 what="losses[1] for epochs=2", rtol=1e-10, atol=1e-12,
                 against="the loss after one update")


@given(case=networks(max_m=8))
@example(case=(None, X_DATA, Y_DATA))
@settings(max_examples=examples(2))
def test_train_defaults_are_hidden_4_lr_2_seed_0(impl, case):
    """train(X, y, epochs=1) starts from init_params(4, 0) and steps with lr=2.0 (the defaults): params are init_params(4, 0) - 2.0 * backward, losses[0] your loss of init_params(4, 0), and your W2, b2 gradients the contract's formulas on your forward up to a slip that the backward check grades."""
    _, X, y = case
    data = "XOR_X, XOR_Y" if X is X_DATA else "X, y"
    start = impl.init_params(4, 0)
    start = {k: expect_array(start[k], what=f"init_params(4, 0)['{k}']", shape=_shapes(4)[k])
             for k in KEYS}
    p, cache = _own_forward(impl, start, X)
    grads = _grads(impl, start, cache, y)
    trained, losses = _train(impl, X, y, epochs=1)
    for k in KEYS:
        expect_close(trained[k], start[k] - 2.0 * grads[k], what=f"params['{k}'] after "
                     f"train({data}, epochs=1)", rtol=1e-10, atol=1e-12,
                     against="init_params(4, 0) - 2.0 * backward")
    expect_close(losses[0], _own_loss(impl, start, X, y), what=f"losses[0] of train({data}, epochs=1)",
                 rtol=1e-12, atol=1e-12, against="your loss of init_params(4, 0)")
    # Anchor: a step with zero gradients from any start also "uses the defaults"; your
    # gradients are the contract's formulas on your own forward, up to a slip that the
    # backward check grades.
    _expect_real_gradients(grads, _anchor_grads(start, X, y, p, cache, grads), X.shape[0],
                           "init_params(4, 0)")


@given(seed=st.integers(0, 1000), hidden=st.integers(2, 5))
@example(seed=0, hidden=4)
@settings(max_examples=examples(8))
def test_train_is_deterministic_and_lowers_the_loss(impl, seed, hidden):
    """train gives the same params and losses for the same seed, and 300 epochs on XOR lower the loss: losses[0] and losses[1] are your losses of the network before and after its first update, and your loss of the returned network is below losses[0]."""
    a_params, a_losses = _train(impl, X_DATA, Y_DATA, hidden=hidden, lr=2.0, epochs=300,
                                seed=seed)
    b_params, b_losses = _train(impl, X_DATA, Y_DATA, hidden=hidden, lr=2.0, epochs=300,
                                seed=seed)
    expect(np.array_equal(a_losses, b_losses) and all(np.array_equal(a_params[k], b_params[k])
                                                      for k in KEYS),
           f"train(seed={seed}) gave different results on two runs.",
           diagnosis="draw the starting network with init_params(hidden, seed) only; no "
                     "other randomness.")
    expect(a_losses[-1] < a_losses[0],
           f"after 300 epochs the loss went from {a_losses[0]:.6g} to {a_losses[-1]:.6g}.",
           diagnosis=_flat_p_hint(impl, a_params, X_DATA)
           or "update params -= lr * grads (the minus sign).")
    # Anchors: a list that merely decreases is not a lower loss. losses[0], losses[1] and the
    # loss of the returned network are your forward and bce_loss of those networks, and your
    # gradients are the contract's formulas on your forward (up to a slip that the backward
    # check grades): a loss that stays constant never goes down.
    start = impl.init_params(hidden, seed)
    start = {k: expect_array(start[k], what=f"init_params({hidden}, {seed})['{k}']",
                             shape=_shapes(hidden)[k]) for k in KEYS}
    p, cache = _own_forward(impl, start, X_DATA)
    expect_close(a_losses[0], _own_loss(impl, start, X_DATA, Y_DATA), what="losses[0]", rtol=1e-9,
                 atol=1e-12, against=f"your loss of init_params({hidden}, {seed})")
    grads = _grads(impl, start, cache, Y_DATA)
    _expect_real_gradients(grads, _anchor_grads(start, X_DATA, Y_DATA, p, cache, grads),
                           X_DATA.shape[0], f"init_params({hidden}, {seed})")
    after = {k: start[k] - 2.0 * grads[k] for k in KEYS}
    expect_close(a_losses[1], _own_loss(impl, after, X_DATA, Y_DATA),
                 what="losses[1]", rtol=1e-9, atol=1e-12,
                 against="your loss of init_params - 2.0 * backward")
    final = _own_loss(impl, a_params, X_DATA, Y_DATA)
    still = all(np.array_equal(a_params[k], start[k]) for k in KEYS)
    expect(final < a_losses[0],
           f"the network returned after 300 epochs has loss {final:.6g} (your forward and "
           f"bce_loss), not "
           f"below losses[0] = {a_losses[0]:.6g}.",
           diagnosis="the returned network is init_params(hidden, seed) unchanged: are the "
                     "gradients zero, or is the update params -= lr * grads missing?"
           if still else None)


@given(case=networks(max_m=8), shift=st.sampled_from([0.0, 1e-9, -1e-9, 0.3, -0.3]))
@example(case=(_params(4, 0), X_DATA, Y_DATA), shift=0.0)
@example(case=(_params(2, 5), X_DATA, Y_DATA), shift=-1e-9)
def test_predict_thresholds_p_at_one_half(impl, case, shift):
    """predict returns an (m, 1) integer array: 1 where your forward's p >= 0.5, else 0 (p = 0.5 gives 1), row by row; with W1 = 0, b1 = 1 and W2 = 5 (or -5) everywhere that is 1 (or 0) everywhere."""
    params, X, _ = case
    hidden = params["W1"].shape[0]
    half = {**params, "W2": np.zeros((1, hidden)), "b2": np.array([shift])}
    for net, label in ((params, "a random network"), (half, f"W2 = 0, b2 = [{shift:g}]")):
        p, _ = _own_forward(impl, net, X)
        pred = impl.predict(_copy(net), X.copy())
        hint = None
        if isinstance(pred, np.ndarray) and pred.dtype.kind in "bf":
            hint = "convert the comparison to integers: (p >= 0.5).astype(int)."
        expect(not (isinstance(pred, np.ndarray) and pred.dtype.kind in "bf"),
               f"predict returned dtype {pred.dtype if isinstance(pred, np.ndarray) else ''},"
               " expected integers 0 and 1.", diagnosis=hint)
        pred = expect_array(pred, what=f"predict({label}, X)", shape=(X.shape[0], 1), kind="i")
        expected = (p >= 0.5).astype(np.int64)
        expect(np.array_equal(pred, expected),
               f"predict({label}, X) is not 1 exactly where p >= 0.5.",
               f"p:         {fmt(p.ravel(), 12)}", f"predicted: {fmt(pred.ravel())}",
               f"expected:  {fmt(expected.ravel())}",
               diagnosis="predict 1 where p >= 0.5 (p > 0.5 and np.round both give 0 at "
                         "exactly 0.5)." if np.any((p == 0.5) & (pred == 0)) else None)
    rows = np.vstack([expect_array(impl.predict(_copy(params), X[i:i + 1].copy()),
                                   what=f"predict(a random network, X[{i}:{i + 1}])",
                                   shape=(1, 1), kind="i") for i in range(X.shape[0])])
    batch = expect_array(impl.predict(_copy(params), X.copy()), what="predict(a random "
                         "network, X)", shape=(X.shape[0], 1), kind="i")
    expect(np.array_equal(batch, rows), "predict(a random network, X) differs from predict "
           "of each row of X on its own.", f"whole batch:  {fmt(batch.ravel())}",
           f"row by row:   {fmt(rows.ravel())}",
           "each row is classified on its own: p[i] depends on X[i] only.")
    # Anchors: constant predictions agree with a constant forward. With W1 = 0, b1 = 1 every
    # hidden unit is tanh(1) = 0.76, and W2 = +-5 per unit makes the output's input +-3.8 *
    # hidden: p is far from 0.5 on the same side under the contract's forward and under the
    # usual forward mistakes (sigmoid and tanh swapped, b2 forgotten), which the forward
    # checks grade, so predict is not failed for them again.
    for sign in (1.0, -1.0):
        net = {"W1": np.zeros((hidden, 2)), "b1": np.ones(hidden),
               "W2": np.full((1, hidden), 5.0 * sign), "b2": np.array([shift])}
        name = f"W1 = 0, b1 = 1, W2 = {5 * sign:g} everywhere, b2 = [{shift:g}]"
        pred = expect_array(impl.predict(_copy(net), X.copy()), what=f"predict({name}, X)",
                            shape=(X.shape[0], 1), kind="i")
        label = int(sign > 0)
        expect(np.all(pred == label), f"predict({name}, X) is not {label} everywhere: p = "
               f"sigmoid({5 * sign * np.tanh(1.0) * hidden + shift:.4g}) for every row.",
               f"predicted: {fmt(pred.ravel())}")


# One drawn order of the 8 points, never the exercise's own: which order is graded depends on
# the course secret, so no table of what the local checks passed answers it. The order
# changes only the rounding of the batch means: the reference learns XOR for the same 5 of
# the seeds 0-5 (all of 0-3) in each of 150 orders tried. No shrinking: the verdict does not
# depend on the order, and every example trains four networks.
@given(order=st.permutations(range(8)).filter(lambda o: o != list(range(8))))
@settings(max_examples=1, phases=(Phase.explicit, Phase.generate))
def test_learns_xor_for_most_seeds(impl, order):
    """With the defaults (hidden=4, lr=2.0, 2000 epochs) train learns XOR, given its 8 points in any order (the returned network's p >= 0.5 exactly on the 4 positive points) for at least 3 of the seeds 0-3; losses[0] is the loss of init_params(4, seed) (or m times it, a sum the bce_loss checks grade), losses[-1] within a factor 2 of the returned network's."""
    X, y = X_DATA[order], Y_DATA[order]
    outcomes = []
    for seed in range(4):
        params, losses = _train(impl, X, y, seed=seed)
        # Anchors: p and the losses of the trained network come from the contract's forward
        # and bce_loss (computed here), so a constant forward or a hard-coded network with a
        # made-up loss list does not learn XOR.
        start = impl.init_params(4, seed)
        start = {k: expect_array(start[k], what=f"init_params(4, {seed})['{k}']",
                                 shape=_shapes(4)[k]) for k in KEYS}
        scale = _expect_first_loss(losses[0], start, X, y, f"losses[0] of train(seed={seed})",
                                   f"init_params(4, {seed})", _flat_p_hint(impl, start, X))
        final = scale * _contract_loss(params, X_DATA, Y_DATA)
        # One update of a correct run changes the loss by far less than a factor 2 after 2000
        # epochs (measured: 1e-3 relative for the reference, 0.3 for a wrong tanh derivative).
        expect(final / 2 <= losses[-1] <= 2 * final + 1e-9,
               f"train(seed={seed}): the last recorded loss {losses[-1]:.6g} is not within a "
               f"factor 2 of the BCE of the returned network, {final:.6g}.",
               "losses[i] is the loss of the network before update i, so the last one is one "
               "update away from the returned network.")
        p = _contract_forward(params, X_DATA)[1]
        outcomes.append((seed, int(np.sum((p >= 0.5) == (Y_DATA == 1))), losses[-1]))
    learned = sum(1 for _, right, _ in outcomes if right == 8)
    # About 1 seed in 10 stays in a local minimum even for a correct network (seed 4 does);
    # the contract's draws for seeds 0-3 all learn XOR, and one of them may miss.
    expect(learned >= 3, f"train learned XOR for only {learned} of 4 seeds (the 8 points in the "
           f"order {order} of XOR_X).",
           *[f"seed {s}: {r}/8 right, final loss {loss:.4g}" for s, r, loss in outcomes])
