"""Public checks for exercise 2, gradient checking. Calculus and properties only: no reference needed."""

from contextlib import contextmanager

import numpy as np
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader.authoring import (
    CheckFailure,
    agrees_along_random_directions,
    diagnose,
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

RESTORE_HINT = ("save the original value (`old = x[i]`) and assign it back (`x[i] = old`): "
                "x[i] += eps followed by x[i] -= eps does not always give back the same float "
                "(0.5 + 1e-5 - 1e-5 != 0.5).")
VIEW_HINT = ("your perturbations never reached f: x.reshape(-1), x.ravel() and x.flatten() "
             "return a copy when x is a non-contiguous view (like big[:, ::2] or x.T). Index x "
             "itself: np.nditer(x, flags=['multi_index']), np.ndindex(x.shape) or x.flat.")
ORDER_HINT = ("the right values are in the wrong places: x's memory order differs from its "
              "index order for views such as x.T. Store grad at the same index you perturbed "
              "(use multi_index), not at a running counter.")


# --- Functions with known gradients: non-polynomial, non-separable ----------------------------

def _sin_roll(x):
    u = x.ravel()
    return float(np.sum(np.sin(u) * np.roll(u, 1)))


def _sin_roll_grad(x):
    u = x.ravel()
    return (np.cos(u) * np.roll(u, 1) + np.roll(np.sin(u), -1)).reshape(x.shape)


def _logsumexp(x):
    top = np.max(x)
    return float(top + np.log(np.sum(np.exp(x - top))))


def _logsumexp_grad(x):
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


def _exp_lse(x):  # its gradient is at least 0.1 for |x| <= 3: relative errors are meaningful
    return float(np.sum(np.exp(0.5 * x))) + _logsumexp(x)


def _exp_lse_grad(x):
    return 0.5 * np.exp(0.5 * x) + _logsumexp_grad(x)


FUNCTIONS = {
    "sum(sin(x) * roll(x, 1))": (_sin_roll, _sin_roll_grad),
    "log(sum(exp(x)))": (_logsumexp, _logsumexp_grad),
    "sum(exp(x/2)) + log(sum(exp(x)))": (_exp_lse, _exp_lse_grad),
}


class Counted:
    """f for the student's code: counts its calls and insists on arrays shaped like x."""

    def __init__(self, fn, shape, caller):
        self.fn, self.shape, self.caller, self.calls = fn, tuple(shape), caller, 0

    def __call__(self, z):
        self.calls += 1
        if not isinstance(z, np.ndarray) or z.shape != self.shape:
            got = z.shape if isinstance(z, np.ndarray) else type(z).__name__
            raise CheckFailure(f"{self.caller} called f with {got}; f takes arrays shaped like "
                               f"x, {self.shape}.",
                               diagnosis="pass x itself (perturbed in place) or a full copy of "
                                         "it to f, never one entry or a flattened copy.")
        return self.fn(z)


NUMGRAD_LIKELY = likely_mistakes(
    (2.0, "did you divide by eps instead of 2*eps?"),
    (0.5, "did you divide by 4*eps (or by 2 twice)?"),
    (-1.0, "the sign is flipped: it is f(x + eps) - f(x - eps), in that order."))


def _numerical_gradient(impl, f, x, **kwargs):
    counted = Counted(f, x.shape, "numerical_gradient")
    given_x = x.copy()
    grad = expect_array(impl.numerical_gradient(counted, given_x, **kwargs),
                        what="numerical_gradient(f, x)", shape=x.shape,
                        nonfinite_hint="f is finite everywhere here: is a division by zero or "
                                       "an unset entry involved?")
    return grad, given_x, counted.calls


@contextmanager
def _counts_only_with_values(note):
    """Add to a failure of the values the reason a hygiene check looks at them."""
    try:
        yield
    except CheckFailure as failure:
        raise CheckFailure(failure.summary, [*failure.details, note],
                           failure.diagnosis) from None


# A slip of scale or sign (dividing by eps or 4*eps, f(x - eps) - f(x + eps)) is graded by the
# value checks; a hygiene check asks only that the result be central differences up to one.
SLIPS = (1.0, 2.0, 0.5, -1.0, -2.0, -0.5)


def _expect_central_differences(grad, grad_f, x, what, hygiene):
    """Hygiene pays only with real work: `grad` must be the gradient of f at x (known here in
    closed form, `grad_f`: the check holds no copy of the exercise's loop), up to one of
    SLIPS. Central differences differ from it by O(eps**2) (eps up to 1e-3 here, |x| <= 10)
    and round-off: 1e-4 of the gradient's size covers both and no trivial result."""
    expected = grad_f(x)
    size = 1.0 + float(np.max(np.abs(expected)))
    for k in SLIPS:
        if np.max(np.abs(grad - k * expected)) <= 1e-4 * size:
            return
    with _counts_only_with_values(f"{hygiene} counts only together with a result that is "
                                  "central differences of f (up to a scale or sign slip, "
                                  "which the other checks grade)."):
        expect_close(grad, expected, what=what, rtol=1e-4, atol=1e-4 * size,
                     against="the exact gradient", likely=NUMGRAD_LIKELY)


def _expect_restored(given_x, x, what):
    if np.array_equal(given_x, x):
        return
    bad = np.argwhere(given_x != x)
    idx = tuple(int(i) for i in bad[0])
    drift = np.abs(given_x - x)[given_x != x]
    hint = RESTORE_HINT
    if np.all(drift > 1e-7):
        hint = "x was left perturbed: after computing f(x - eps*e_i), put x[i] back."
    raise CheckFailure(f"{what} did not give x back bit for bit: {len(bad)} of {x.size} "
                       "entries changed.",
                       [f"first at index {list(idx)}: {float(given_x[idx])!r} on return, "
                        f"{float(x[idx])!r} before."], hint)


# --- numerical_gradient -----------------------------------------------------------------------

@given(x=float_arrays(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), -3, 3),
       name=st.sampled_from(sorted(FUNCTIONS)))
@example(x=np.array([0.3, -1.2, 2.0, 0.7]), name="sum(sin(x) * roll(x, 1))")
@example(x=np.array([[0.5, -1.0, 2.5], [1.5, 0.0, -2.0]]), name="log(sum(exp(x)))")
@example(x=np.array([1.25]), name="sum(sin(x) * roll(x, 1))")
def test_numerical_gradient_matches_calculus(impl, x, name):
    """numerical_gradient(f, x) is shaped like x and matches the exact gradient of smooth functions (1e-6)."""
    f, grad_f = FUNCTIONS[name]
    grad, _, _ = _numerical_gradient(impl, f, x)
    # Central differences with eps=1e-5 are accurate to about 1e-9 here;
    # forward differences are off by about 1e-5.
    expect_close(grad, grad_f(x), what=f"numerical_gradient of f(x) = {name}", rtol=1e-6,
                 atol=1e-7, against="exact gradient", likely=NUMGRAD_LIKELY)


LAYOUTS = {  # name: (shape of the base array, the view of it that x is)
    "big[:, ::2] (every other column)": ((3, 8), lambda b: b[:, ::2]),
    "base.T (a transposed view)": ((3, 4), lambda b: b.T),
    "base.transpose(2, 0, 1) (3-D view)": ((2, 3, 4), lambda b: b.transpose(2, 0, 1)),
    "base[::-1] (reversed)": ((6,), lambda b: b[::-1]),
    "big[:, 1:, ::3] (3-D strided)": ((2, 4, 6), lambda b: b[:, 1:, ::3]),
    "big[:, 1] (one column)": ((5, 3), lambda b: b[:, 1]),
    "a 3-D array": ((2, 2, 3), lambda b: b),
}


@settings(max_examples=examples(20))
@given(seed=seeds(), layout=st.sampled_from(sorted(LAYOUTS)))
@example(seed=1, layout="big[:, ::2] (every other column)")
@example(seed=2, layout="base.T (a transposed view)")
@example(seed=3, layout="base.transpose(2, 0, 1) (3-D view)")
def test_numerical_gradient_works_on_views_and_any_shape(impl, seed, layout):
    """numerical_gradient works on 3-D arrays and non-contiguous views (big[:, ::2], x.T), leaving big unchanged."""
    shape, view = LAYOUTS[layout]
    base = rng_array(seed, shape, 1.5)
    x = view(base)
    base_before, x_before = base.copy(), x.copy()
    counted = Counted(_sin_roll, x.shape, "numerical_gradient")
    what = f"numerical_gradient of sum(sin(x) * roll(x, 1)) for x = {layout}"
    grad = expect_array(impl.numerical_gradient(counted, x), what=what, shape=x.shape)
    expected = _sin_roll_grad(x_before)
    diagnosis = None
    if np.all(grad == 0):
        diagnosis = VIEW_HINT
    elif np.allclose(np.sort(grad.ravel()), np.sort(expected.ravel()), rtol=1e-6, atol=1e-7):
        diagnosis = ORDER_HINT
    expect_close(grad, expected, what=what, rtol=1e-6, atol=1e-7, against="exact gradient",
                 likely=NUMGRAD_LIKELY, diagnosis=diagnosis)
    _expect_restored(x, x_before, "numerical_gradient")
    expect(np.array_equal(base, base_before),
           "numerical_gradient changed entries of the array that x is a view of.",
           diagnosis="write only to the entries of x, and restore each one exactly.")


@given(x=float_arrays(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=5)),
       eps=st.sampled_from([1e-5, 1e-3, 1e-7]))
@example(x=np.array([0.1, 0.5, 0.7, -1.7, 1.3]), eps=1e-5)
@example(x=np.array([[0.5, 0.2], [-0.1, 0.123]]), eps=1e-5)
def test_numerical_gradient_restores_x_exactly(impl, x, eps):
    """After numerical_gradient returns, x holds exactly (bit for bit) its original values, and the result is central differences of f (a wrong scale or sign is graded by other checks)."""
    f, grad_f = FUNCTIONS["sum(sin(x) * roll(x, 1))"]
    grad, given_x, _ = _numerical_gradient(impl, f, x, eps=eps)
    _expect_restored(given_x, x, "numerical_gradient")
    _expect_central_differences(grad, grad_f, x, what=f"numerical_gradient of f(x) = "
                                f"sum(sin(x) * roll(x, 1)) with eps={eps:g}",
                                hygiene="Giving x back")


@given(x=float_arrays(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), -3, 3))
@example(x=np.array([0.5, 1.0, -2.0]))
@example(x=np.zeros((2, 3)))
def test_numerical_gradient_calls_f_at_most_2n_plus_1_times(impl, x):
    """numerical_gradient calls f at most 2*x.size + 1 times (two evaluations per entry) and returns central differences of f (a wrong scale or sign is graded by other checks)."""
    grad, _, calls = _numerical_gradient(impl, _logsumexp, x)
    n = x.size
    expect(calls <= 2 * n + 1,
           f"numerical_gradient called f {calls} times for x of size {n}; at most "
           f"2*{n} + 1 = {2 * n + 1} calls are allowed.",
           diagnosis="evaluate f(x + eps*e_i) and f(x - eps*e_i) once each per entry; "
                     "f(x) itself is not needed for central differences.")
    _expect_central_differences(grad, _logsumexp_grad, x,
                                what="numerical_gradient of f(x) = log(sum(exp(x)))",
                                hygiene="Calling f at most 2n+1 times")


@given(x=float_arrays(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=4), -3, 3),
       eps=st.sampled_from([1e-1, 1e-2, 3e-2, 1e-3]))
@example(x=np.array([1.0, -2.0, 0.5]), eps=1e-1)
def test_numerical_gradient_honours_eps(impl, x, eps):
    """numerical_gradient uses its eps (default 1e-5): for f = sum(x**3) central differences give exactly 3*x**2 + eps**2."""
    grad, _, _ = _numerical_gradient(impl, lambda z: float(np.sum(z ** 3)), x, eps=eps)
    expected = 3 * x ** 2 + eps ** 2
    diagnosis = None
    if np.allclose(grad, 3 * x ** 2 + 1e-10, rtol=1e-8, atol=1e-8):
        diagnosis = f"this is what eps=1e-5 gives: use the eps argument (here eps={eps:g})."
    elif np.allclose(grad, expected + 3 * x * eps, rtol=1e-8, atol=1e-8):
        diagnosis = ("these are forward differences (f(x + eps) - f(x)) / eps: use central "
                     "differences (f(x + eps) - f(x - eps)) / (2*eps).")
    expect_close(grad, expected, what=f"numerical_gradient of sum(x**3) with eps={eps:g}",
                 rtol=1e-8, atol=1e-9, against="3*x**2 + eps**2", likely=NUMGRAD_LIKELY,
                 diagnosis=diagnosis)
    default, _, _ = _numerical_gradient(impl, lambda z: float(np.sum(z ** 3)), x)
    explicit, _, _ = _numerical_gradient(impl, lambda z: float(np.sum(z ** 3)), x, eps=1e-5)
    expect(np.array_equal(default, explicit),
           "numerical_gradient(f, x) differs from numerical_gradient(f, x, eps=1e-5).",
           diagnosis="the default is eps=1e-5: def numerical_gradient(f, x, eps=1e-5).")


# --- relative_error ---------------------------------------------------------------------------

FLOOR_HINT = "0/0 where both entries are 0: divide by max(1e-8, |a| + |b|), the 1e-8 is a floor."
RELATIVE_PINNED = [
    ([1.0], [3.0], 0.5, "|1 - 3| / (1 + 3)"),
    ([1.0], [-1.0], 1.0, "|1 - (-1)| / (|1| + |-1|)"),
    ([1e-9], [0.0], 0.1, "1e-9 / max(1e-8, 1e-9): the floor applies"),
    ([0.0, 0.0], [0.0, 0.0], 0.0, "0 where a and b are both 0"),
    ([1.0, 2.0, 5.0], [1.0, 1.0, 4.0], 1.0 / 3.0, "the largest entry-wise error, 1/3"),
    ([[0.5, 2.0], [3.0, 4.0]], [[0.25, 2.0], [3.0, 4.0]], 1.0 / 3.0, "a 2-D pair"),
    ([-2.0, 1e-3, 7.0], [-2.0, 2e-3, 6.0], 1.0 / 3.0, "0, 1/3 and 1/13: the max"),
]


def _drawn_relative_case(seed: int) -> tuple[list, list, float, str]:
    """A pair drawn from SEED, with a tiny and a zero entry, and its relative error computed
    from the contract's formula: instructor grading draws it from the course secret, so no
    table of the pinned pairs answers this check."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(-3.0, 3.0, 4)
    b = a * rng.uniform(0.5, 1.5, 4)
    a[1], b[1] = 1e-9 * rng.uniform(0.1, 1.0), 0.0
    a[2] = b[2] = 0.0
    expected = float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))
    return a.tolist(), b.tolist(), expected, "the contract's formula on a drawn pair"


# Pinned values, and a drawn case only so that no table of them answers the check (the
# course secret draws it when instructors grade): two draws are enough for that.
@settings(max_examples=examples(8))
@given(seed=seeds())
@example(seed=0)
def test_relative_error_pinned_values(impl, seed):
    """relative_error(a, b) = max over entries of |a - b| / max(1e-8, |a| + |b|), e.g. 0.5 for [1] vs [3]."""
    cases = [*RELATIVE_PINNED, _drawn_relative_case(seed)]
    for case, (a, b, expected, why) in enumerate(cases):
        a, b = np.array(a), np.array(b)
        what = f"relative_error({fmt(a)}, {fmt(b)})"
        observed = expect_scalar(impl.relative_error(a.copy(), b.copy()), what=what,
                                 nonfinite_hint=FLOOR_HINT)
        diagnosis = None
        if expected == 0.1 and np.isclose(observed, 1e-9 / 1.1e-8, rtol=1e-6):
            diagnosis = "the 1e-8 is a floor, max(1e-8, |a| + |b|), not something to add."
        elif expected == 0.1 and np.isclose(observed, 1.0):
            diagnosis = "the denominator needs its floor: max(1e-8, |a| + |b|)."
        elif case == 1 and observed > 1:
            diagnosis = "the denominator is |a| + |b|, not |a + b|."
        elif case == 0 and np.isclose(observed, 2.0 / 3.0):
            diagnosis = "the denominator is |a| + |b|, not max(|a|, |b|)."
        elif 4 <= case < len(RELATIVE_PINNED) and observed < expected:
            diagnosis = ("take the max of the entry-wise errors (not the mean, and not a ratio "
                         "of norms or of maxima).")
        expect_close(observed, expected, what=f"{what} ({why})", rtol=1e-12, atol=1e-15,
                     diagnosis=diagnosis)


@st.composite
def _array_pairs(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    return draw(float_arrays(shape)), draw(float_arrays(shape))


def _relative_error(a, b):
    """The contract's formula, computed here."""
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


@given(pair=_array_pairs())
@example(pair=(np.array([0.0, -2.5, 1e-9]), np.array([0.0, 2.5, 3e-9])))
@example(pair=(np.array([[3.0, -1.0], [0.0, 2e-9]]), np.array([[2.0, -1.0], [0.0, -2e-9]])))
def test_relative_error_is_symmetric_and_between_0_and_1(impl, pair):
    """relative_error(a, b) == relative_error(b, a), lies in [0, 1], is exactly 0 when a equals b (even all zeros), and equals the contract's formula on any arrays."""
    a, b = pair
    ab = expect_scalar(impl.relative_error(a.copy(), b.copy()), what="relative_error(a, b)",
                       nonfinite_hint=FLOOR_HINT)
    ba = expect_scalar(impl.relative_error(b.copy(), a.copy()), what="relative_error(b, a)",
                       nonfinite_hint=FLOOR_HINT)
    expect_close(ab, ba, what="relative_error(a, b)", rtol=1e-12, atol=0.0,
                 against="relative_error(b, a)",
                 diagnosis="the formula is symmetric: |a - b| / max(1e-8, |a| + |b|).")
    expect(0.0 <= ab <= 1.0 + 1e-12, f"relative_error(a, b) is {ab!r}, outside [0, 1].",
           diagnosis="|a - b| <= |a| + |b|, so every entry-wise error is at most 1: check the "
                     "denominator max(1e-8, |a| + |b|).")
    for same, label in ((a, "a"), (np.zeros_like(a), "zeros")):
        err = expect_scalar(impl.relative_error(same.copy(), same.copy()),
                            what=f"relative_error({label}, {label})", nonfinite_hint=FLOOR_HINT)
        expect(err == 0.0, f"relative_error({label}, {label}) is {err!r}, expected exactly 0.")
    with _counts_only_with_values("Symmetry, the range [0, 1] and 0 for equal arrays count "
                                  "only together with the contract's value."):
        expect_close(ab, _relative_error(a, b), what=f"relative_error({fmt(a)}, {fmt(b)})",
                     rtol=1e-12, atol=1e-15,
                     against="the contract's formula")


# --- mlp_loss_and_grads -----------------------------------------------------------------------

SHAPES = {"W1": lambda n, d, h, c: (h, d), "b1": lambda n, d, h, c: (h,),
          "W2": lambda n, d, h, c: (c, h), "b2": lambda n, d, h, c: (c,)}
STABLE_HINT = ("large logits z2 make exp overflow, or p[y] underflow to 0 and log(0) = -inf: "
               "subtract each row's maximum and compute the loss as logsumexp(row) - row[y] "
               "(as in exercise 1).")


def _network(seed, n, d, h, c):
    params = {"W1": rng_array(seed, (h, d)), "b1": rng_array(seed + 1, (h,), 0.5),
              "W2": rng_array(seed + 2, (c, h)), "b2": rng_array(seed + 3, (c,), 0.5)}
    X = rng_array(seed + 4, (n, d))
    y = np.random.default_rng(seed + 5).integers(0, c, n)
    return params, X, y


def _mlp(impl, params, X, y, hint=STABLE_HINT, what="the loss"):
    """Call mlp_loss_and_grads on copies; validate (loss, grads) and return float copies."""
    result = impl.mlp_loss_and_grads({k: v.copy() for k, v in params.items()}, X.copy(), y.copy())
    return _validated(result, params, hint, what)


def _validated(result, params, hint=STABLE_HINT, what="the loss"):
    expect(isinstance(result, tuple) and len(result) == 2,
           "mlp_loss_and_grads must return a tuple (loss, grads).")
    loss = expect_scalar(result[0], what=what, nonfinite_hint=hint)
    grads = result[1]
    expect(isinstance(grads, dict), f"grads is a {type(grads).__name__}, expected a dict with "
                                    "keys 'W1', 'b1', 'W2', 'b2'.")
    missing = [k for k in params if k not in grads]
    expect(not missing, f"grads lacks the key(s) {missing}; it needs 'W1', 'b1', 'W2', 'b2'.")
    out = {k: expect_array(grads[k], what=f"grads['{k}']", shape=params[k].shape,
                           nonfinite_hint=hint) for k in params}
    return loss, out


def _contract_mlp(params, X, y):
    """The contract's forward and backward pass (the formulas of the exercise's docstring),
    computed here: the values that anchor the checks. The loss is log-sum-exp per row."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    n = X.shape[0]
    rows = np.arange(n)
    z1 = X @ W1.T + b1
    a1 = np.maximum(0.0, z1)
    z2 = a1 @ W2.T + b2
    lse = np.logaddexp.reduce(z2, axis=1)
    loss = float(np.mean(lse - z2[rows, y]))
    dz2 = np.exp(z2 - lse[:, None])
    dz2[rows, y] -= 1.0
    dz2 /= n
    dz1 = (dz2 @ W2) * (z1 > 0)
    return loss, {"W1": dz1.T @ X, "b1": dz1.sum(axis=0), "W2": dz2.T @ a1,
                  "b2": dz2.sum(axis=0)}


def _expect_contract_loss(loss, params, X, y, why):
    n = X.shape[0]
    expected, _ = _contract_mlp(params, X, y)
    # A factor N is a sum instead of a mean, unless N = 1 (a factor 1 names no mistake).
    likely = likely_mistakes(*[(n, f"the loss is the mean over the batch (N={n}), not the "
                                   "sum.")] * (n > 1))
    with _counts_only_with_values(why):
        expect_close(loss, expected, what=f"the loss (N={n})", rtol=1e-9, atol=1e-12,
                     against="the contract's loss", likely=likely)


def _expect_contract_values(loss, grads, params, X, y, why):
    """The loss and every gradient of one call against the contract's values."""
    _expect_contract_loss(loss, params, X, y, why)
    _, expected = _contract_mlp(params, X, y)
    n = X.shape[0]
    slips = [(-1.0, "the sign is flipped: dz2 is softmax(z2) - onehot(y).")]
    if n > 1:
        slips += [(n, f"divide dz2 = softmax(z2) - onehot(y) by the batch size N={n}."),
                  (1.0 / n, f"you divided by the batch size N={n} twice.")]
    likely = likely_mistakes(*slips)
    with _counts_only_with_values(why):
        for key in ("b2", "W2", "b1", "W1"):
            scale = max(1.0, float(np.max(np.abs(expected[key]))))
            expect_close(grads[key], expected[key], what=f"grads['{key}']", rtol=1e-9,
                         atol=1e-12 * scale, against="the contract's backward pass",
                         likely=likely)


@settings(max_examples=examples(25))
@given(seed=seeds(), n=st.integers(1, 4), d=st.integers(1, 3), h=st.integers(1, 4),
       c=st.integers(2, 3))
@example(seed=7, n=3, d=2, h=3, c=3)
@example(seed=11, n=4, d=3, h=3, c=2)
def test_mlp_gradients_match_central_differences(impl, seed, n, d, h, c):
    """Every gradient of mlp_loss_and_grads matches central differences of your own loss (away from ReLU kinks), and that loss is the contract's mean cross-entropy."""
    params, X, y = _network(seed, n, d, h, c)
    z1 = X @ params["W1"].T + params["b1"]
    assume(np.min(np.abs(z1)) > 1e-3)  # central differences are meaningless across a kink
    loss, grads = _mlp(impl, params, X, y)
    eps = 1e-5
    if not agrees_along_random_directions(lambda q: _mlp(impl, q, X, y)[0], params, grads,
                                          seed=seed, eps=eps):
        _expect_entries_match_central_differences(impl, params, X, y, grads, eps)
    # A constant loss has zero gradients that match its own central differences.
    _expect_contract_loss(loss, params, X, y, "Gradients that match your own loss count only "
                                              "together with the right loss.")


def _expect_entries_match_central_differences(impl, params, X, y, grads, eps):
    """Entry by entry, to explain a disagreement along random directions."""
    n = X.shape[0]
    likely = likely_mistakes(
        (n, f"divide dz2 = softmax(z2) - onehot(y) by the batch size N={n}."),
        (1.0 / n, f"you divided by the batch size N={n} twice, or your loss sums over the "
                  "batch instead of averaging (see the loss check)."),
        (-1.0, "the sign is flipped: dz2 is softmax(z2) - onehot(y)."))
    for key in ("b2", "W2", "b1", "W1"):
        numeric = np.zeros_like(params[key])
        for i in np.ndindex(params[key].shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[key][i] += eps
            minus[key][i] -= eps
            numeric[i] = (_mlp(impl, plus, X, y)[0] - _mlp(impl, minus, X, y)[0]) / (2 * eps)
        diagnosis = diagnose(grads[key], numeric, likely)
        if diagnosis is None and key in ("b1", "W1"):
            diagnosis = ("dW2 and db2 are right, so the error is between z2 and z1: "
                         "da1 = dz2 @ W2, then the ReLU passes it on only where z1 > 0.")
        # Differences are accurate to about 1e-10 here; a norm-free entry-wise tolerance
        # (atol + rtol*|numeric|) keeps tiny entries from failing on rounding noise.
        expect_close(grads[key], numeric, what=f"grads['{key}']", rtol=1e-5, atol=1e-7,
                     against="central differences of your loss", diagnosis=diagnosis)


@given(seed=seeds(), a=floats(-1e3, 1e3), c=st.integers(2, 5), n=st.integers(1, 4))
@example(seed=0, a=1000.0, c=2, n=1)
@example(seed=0, a=-1000.0, c=3, n=3)
@example(seed=3, a=2.0, c=3, n=3)
def test_mlp_loss_pinned_values(impl, seed, a, c, n):
    """With W2 = 0 the loss is exact: log(C) when b2 = 0, and logaddexp(a, 0) for b2 = [a, 0], y = 1 (|a| <= 1000); logit rows [1000, 0] and [1, 0] with labels [0, 1] give (log(1 + e^-1000) + log(1 + e)) / 2."""
    params, X, _ = _network(seed, n, 2, 3, c)
    params["W2"] = np.zeros((c, 3))
    params["b2"] = np.zeros(c)
    y = np.arange(n) % c
    loss, _ = _mlp(impl, params, X, y)
    expect_close(loss, np.log(c), what=f"the loss with W2 = 0, b2 = 0 (C={c}, N={n})",
                 rtol=1e-9, atol=1e-12, against="log(C)",
                 likely=likely_mistakes((n, f"the loss is the mean over the batch (N={n}), not the sum."),
                                (1.0 / c, "divide by N (the batch size), not by N*C.")))
    params2 = {**params, "W2": np.zeros((2, 3)), "b2": np.array([a, 0.0])}
    y2 = np.ones(n, dtype=np.int64)
    loss, _ = _mlp(impl, params2, X, y2)
    expect_close(loss, np.logaddexp(a, 0.0), what=f"the loss with W2 = 0, b2 = [{a:g}, 0], y = 1",
                 rtol=1e-9, atol=1e-12, against="logaddexp(a, 0)", nonfinite_hint=STABLE_HINT,
                 likely=likely_mistakes((n, f"the loss is the mean over the batch (N={n}), not the sum.")),
                 diagnosis=("-log(p + 1e-12) saturates near 27.6: compute the loss as "
                            "logsumexp(z2 row) - z2[y] from the shifted logits.")
                 if a > 30 and 27 < loss < 28 else None)
    _expect_rows_of_different_scales(impl)


# One hidden unit passes X through: z2 = [[1000, 0], [1, 0]], labels [0, 1].
SCALES = ({"W1": np.array([[1.0]]), "b1": np.zeros(1), "W2": np.array([[1.0], [0.0]]),
           "b2": np.zeros(2)}, np.array([[1000.0], [1.0]]), np.array([0, 1]))
SCALES_HINT = ("the logit rows are [1000, 0] and [1, 0]: subtract each row's own maximum, "
               "np.max(z2, axis=1, keepdims=True). Without a shift exp(1000) overflows; with "
               "one maximum for the whole batch (np.max(z2) = 1000) the second row becomes "
               "[-999, -1000], whose exp underflows to 0, and log(0) = -inf.")


def _expect_rows_of_different_scales(impl):
    params, X, y = SCALES
    what = "the loss for logit rows [1000, 0] and [1, 0] with labels [0, 1]"
    loss, _ = _mlp(impl, params, X, y, hint=SCALES_HINT, what=what)
    z2 = np.maximum(0.0, X @ params["W1"].T + params["b1"]) @ params["W2"].T + params["b2"]
    rows = np.arange(len(y))
    expected = float(np.mean(np.logaddexp.reduce(z2, axis=1) - z2[rows, y]))  # about 0.6566
    with np.errstate(all="ignore"):
        by_column = z2 - np.max(z2, axis=0)
        column_loss = float(np.mean(np.log(np.sum(np.exp(by_column), axis=1))
                                    - by_column[rows, y]))
    diagnosis = None
    if np.isclose(loss, column_loss, rtol=1e-9):
        diagnosis = ("this is what subtracting each column's maximum (axis=0) gives: "
                     "subtract each row's, np.max(z2, axis=1, keepdims=True).")
    expect_close(loss, expected, what=what, rtol=1e-9, atol=1e-12,
                 against="(log(1 + e^-1000) + log(1 + e)) / 2",
                 diagnosis=diagnosis)


@settings(max_examples=examples(15))
@given(seed=seeds(), n=st.integers(1, 4), unit=st.integers(0, 2))
@example(seed=3, n=3, unit=0)
def test_mlp_relu_derivative_is_0_at_the_kink(impl, seed, n, unit):
    """A hidden unit with z1 == 0 exactly (its W1 row and b1 are 0) gets zero gradients (ReLU's derivative is 0 at the kink), and every other value is the contract's."""
    params, X, y = _network(seed, n, 2, 3, 3)
    params["W1"][unit] = 0.0
    params["b1"][unit] = 0.0
    loss, grads = _mlp(impl, params, X, y)
    kink = "ReLU's derivative is 0 where z1 == 0 (the contract): mask with z1 > 0, not z1 >= 0."
    expect_close(grads["b1"][unit], 0.0, what=f"grads['b1'][{unit}] for a unit with z1 == 0",
                 rtol=0.0, atol=1e-12, diagnosis=kink)
    expect_close(grads["W1"][unit], np.zeros(2), what=f"grads['W1'][{unit}] for a unit with "
                 "z1 == 0", rtol=0.0, atol=1e-12, diagnosis=kink)
    expect_close(grads["W2"][:, unit], np.zeros(3), what=f"grads['W2'][:, {unit}] for a unit "
                 "with a1 == 0", rtol=0.0, atol=1e-12,
                 diagnosis="dW2 = dz2.T @ a1, and a1 = max(0, z1) is 0 for this unit.")
    # Zero gradients are right at the kink for anything that returns zeros.
    _expect_contract_values(loss, grads, params, X, y, "Zero gradients at the kink count only "
                            "together with the right loss and gradients elsewhere.")


@settings(max_examples=examples(15))
@given(seed=seeds(), n=st.integers(1, 4))
@example(seed=5, n=3)
def test_mlp_leaves_params_and_inputs_unchanged(impl, seed, n):
    """mlp_loss_and_grads leaves the params dict (same arrays, same values), X and y unchanged, and returns the contract's loss and gradients."""
    params, X, y = _network(seed, n, 3, 4, 3)
    given_params = {k: v.copy() for k, v in params.items()}
    arrays = dict(given_params)
    given_X, given_y = X.copy(), y.copy()
    result = impl.mlp_loss_and_grads(given_params, given_X, given_y)
    expect(set(given_params) == set(params) and
           all(given_params[k] is arrays[k] for k in params),
           "mlp_loss_and_grads replaced entries of the params dict it was given.",
           diagnosis="build a new dict for the gradients (grads = {...}); `grads = params` "
                     "is the same dict, not a copy.")
    changed = [k for k in params if not np.array_equal(given_params[k], params[k])]
    expect(not changed, f"mlp_loss_and_grads modified params {changed} in place.")
    expect(np.array_equal(given_X, X) and np.array_equal(given_y, y),
           "mlp_loss_and_grads modified X or y.")
    loss, grads = _validated(result, params)
    _expect_contract_values(loss, grads, params, X, y, "Leaving the inputs alone counts only "
                            "together with the right loss and gradients.")


# --- gradient_check ---------------------------------------------------------------------------

def _gradient_check(impl, f, x, analytic, **kwargs):
    counted = Counted(f, x.shape, "gradient_check")
    given_x, given_analytic = x.copy(), analytic.copy()
    worst = expect_scalar(impl.gradient_check(counted, given_x, given_analytic, **kwargs),
                          what="gradient_check(...)", nonfinite_hint=FLOOR_HINT)
    _expect_restored(given_x, x, "gradient_check")
    return worst


def _x_for_gradient_check(seed, shape):
    return np.clip(rng_array(seed, shape), -3.0, 3.0)


GC_SHAPES = st.sampled_from([(1,), (5,), (2, 3), (3, 1, 2), (4, 4)])


@settings(max_examples=examples(25))
@given(seed=seeds(), layout=st.sampled_from(sorted(LAYOUTS)), num_checks=st.integers(1, 20),
       check_seed=seeds())
@example(seed=0, layout="a 3-D array", num_checks=20, check_seed=0)
@example(seed=1, layout="big[:, ::2] (every other column)", num_checks=10, check_seed=3)
@example(seed=2, layout="base.T (a transposed view)", num_checks=10, check_seed=4)
def test_gradient_check_is_tiny_for_a_correct_gradient(impl, seed, layout, num_checks,
                                                       check_seed):
    """gradient_check returns a float below 1e-7 for a correct gradient and 1/3 for one twice too large, on any shape or view, and gives x back exactly."""
    shape, view = LAYOUTS[layout]
    base = np.clip(rng_array(seed, shape), -3.0, 3.0)
    x = view(base)
    base_before = base.copy()
    f, grad_f = FUNCTIONS["sum(exp(x/2)) + log(sum(exp(x)))"]
    counted = Counted(f, x.shape, "gradient_check")
    given_x = x  # the view itself: gradient_check must perturb (and restore) its entries
    x = x.copy()
    worst = expect_scalar(impl.gradient_check(counted, given_x, grad_f(x), num_checks=num_checks,
                                              seed=check_seed),
                          what=f"gradient_check(...) for x = {layout}", nonfinite_hint=FLOOR_HINT)
    _expect_restored(given_x, x, "gradient_check")
    expect(np.array_equal(base, base_before),
           "gradient_check changed entries of the array that x is a view of.")
    diagnosis = None
    if 1e-7 < worst < 1e-4:
        diagnosis = ("an error around 1e-6 is what forward differences give: use "
                     "(f(x + eps) - f(x - eps)) / (2*eps).")
    elif np.isclose(worst, 1.0):
        diagnosis = "an error of 1 means a numerical estimate of 0: " + VIEW_HINT
    expect(0.0 <= worst <= 1e-7,
           f"gradient_check returned {worst:.6g} for an exact analytic gradient (x = {layout}); "
           "central differences with eps=1e-5 agree to about 1e-9 here, so expected below 1e-7.",
           diagnosis=diagnosis)
    # The same call with every entry of analytic_grad twice the true one: 0 (or any constant)
    # cannot be both answers.
    worst = expect_scalar(impl.gradient_check(counted, given_x, 2.0 * grad_f(x),
                                              num_checks=num_checks, seed=check_seed),
                          what=f"gradient_check(...) for x = {layout}", nonfinite_hint=FLOOR_HINT)
    _expect_restored(given_x, x, "gradient_check")
    with _counts_only_with_values("A tiny result for a correct gradient counts only together "
                                  "with the right error for a wrong one."):
        expect_close(worst, 1.0 / 3.0, what=f"gradient_check with analytic_grad = 2 * the true "
                     f"gradient (x = {layout}, num_checks={num_checks})", rtol=1e-6, atol=1e-9,
                     against="|1 - 2| / (1 + 2)",
                     diagnosis=_worst_diagnosis(worst, 1.0 / 3.0, num_checks, every_entry=True))


@given(base=st.sampled_from([np.array([0.1, 0.5, 0.7, -1.7, 1.3]),
                             np.array([[0.5, 0.2], [-0.1, 0.123]])]),
       shift=floats(-0.05, 0.05), check_seed=st.integers(0, 3))
def test_gradient_check_restores_x_exactly(impl, base, shift, check_seed):
    """After gradient_check returns, x holds exactly (bit for bit) its original values, and the result is the relative error of the analytic gradient given."""
    f, grad_f = FUNCTIONS["sum(sin(x) * roll(x, 1))"]
    # A drawn shift (from the course secret when instructors grade) keeps every true entry
    # above 0.2 in size and makes the inputs more than the few a table could hold.
    x = base + shift
    # Each draw perturbs and restores one entry of at most 5: 12 draws visit most of them.
    # Every entry of analytic_grad is k times the true one (no true entry is near 0 here), so
    # every drawn entry has the error (k - 1) / (k + 1), which changes with the seed.
    k = 2.0 + check_seed
    worst = _gradient_check(impl, f, x, k * grad_f(x), num_checks=12, seed=check_seed)
    with _counts_only_with_values("Giving x back counts only together with the right error."):
        expect_close(worst, (k - 1) / (k + 1), what=f"gradient_check with analytic_grad = {k:g} "
                     "* the true gradient", rtol=1e-6, atol=1e-9,
                     against=f"|1 - {k:g}| / (1 + {k:g})",
                     diagnosis=_worst_diagnosis(worst, (k - 1) / (k + 1), 12, every_entry=True))


# 146 calls of f per example, and 6 k x 5 shapes x 2 parities is a small space.
@settings(max_examples=examples(20))
@given(seed=seeds(), shape=GC_SHAPES, first=st.integers(0, 1),
       k=st.sampled_from([2.0, 0.5, -1.0, 0.0, 1.5, 10.0]), check_seed=seeds())
@example(seed=0, shape=(5,), first=0, k=2.0, check_seed=0)
@example(seed=2, shape=(2, 3), first=1, k=-1.0, check_seed=1)
def test_gradient_check_reports_the_worst_entry(impl, seed, shape, first, k, check_seed):
    """gradient_check returns the largest entry-wise relative error (with its 1e-8 floor for tiny gradients), and draws from every entry of x (the last one too)."""
    x = _x_for_gradient_check(seed, shape)
    f, grad_f = FUNCTIONS["sum(exp(x/2)) + log(sum(exp(x)))"]
    g = grad_f(x)
    expected = _error_of_factor(k)
    # Every entry wrong by the same factor k: every entry has the same error, whichever are drawn.
    worst = _gradient_check(impl, f, x, k * g, num_checks=3, seed=check_seed)
    expect_close(worst, expected, what=f"gradient_check with analytic_grad = {k:g} * the true "
                 "gradient", rtol=1e-6, atol=1e-9, against=f"|1 - {k:g}| / (1 + |{k:g}|)",
                 diagnosis=_worst_diagnosis(worst, expected, 3, every_entry=True))
    # Two levels of error, alternating over the entries: 20 uniform draws miss every entry of
    # the larger level with probability at most 2**-20, so the maximum is that level's error,
    # while a mean, a sum or the first draw's error is not.
    analytic = (g * LOW_FACTOR).ravel()
    analytic[first::2] = g.ravel()[first::2] * k
    analytic = analytic.reshape(shape)
    low = _error_of_factor(LOW_FACTOR)
    top = expected if analytic.size > 1 or first == 0 else low
    worst = _gradient_check(impl, f, x, analytic, num_checks=20, seed=check_seed)
    expect_close(worst, top, what=f"gradient_check with analytic_grad wrong by {k:g}x at every "
                 f"other entry and by {LOW_FACTOR:g}x at the others, num_checks=20", rtol=1e-6,
                 atol=1e-9, against="the larger of the two entry-wise errors",
                 diagnosis=_two_level_diagnosis(worst, top, low))
    # One wrong entry, the last one, of a 2x2 x: an upper bound left out of the draw (the
    # classic off-by-one) never checks it; 50 uniform draws miss it with probability 6e-7.
    x = _x_for_gradient_check(seed, (2, 2))
    analytic = grad_f(x)
    analytic[1, 1] *= k
    worst = _gradient_check(impl, f, x, analytic, num_checks=50, seed=check_seed)
    expect_close(worst, expected, what="gradient_check with one wrong entry, x[1, 1] of a 2x2 "
                 "x, num_checks=50", rtol=1e-6, atol=1e-9, against="that entry's relative error",
                 diagnosis=_worst_diagnosis(worst, expected, 50))
    # Tiny gradients: f = 1e-10 * sum(x) has the gradient 1e-10 everywhere (central differences
    # give it to about 1e-20), and analytic_grad is 3e-10 everywhere, so every entry's error
    # is 2e-10 / max(1e-8, 4e-10) = 0.02: the floor applies. Without it, 2e-10 / 4e-10 = 0.5.
    x = _x_for_gradient_check(seed, shape)
    worst = _gradient_check(impl, lambda z: 1e-10 * float(np.sum(z)), x, np.full(shape, 3e-10),
                            num_checks=3, seed=check_seed)
    diagnosis = None
    if np.isclose(worst, 0.5, rtol=1e-6):
        diagnosis = ("without the floor, tiny gradients get large relative errors: divide "
                     "by max(1e-8, |num| + |ana|), not by |num| + |ana|.")
    elif np.isclose(worst, 2e-10 / (1e-8 + 4e-10), rtol=1e-6):
        diagnosis = "the 1e-8 is a floor, max(1e-8, |num| + |ana|), not something to add."
    expect_close(worst, 0.02, what="gradient_check of f = 1e-10 * sum(x) with analytic_grad = "
                 "3e-10 everywhere", rtol=1e-6, atol=1e-12,
                 against="2e-10 / max(1e-8, 1e-10 + 3e-10)", diagnosis=diagnosis)


LOW_FACTOR = 1.1  # its error, 0.1/2.1, is below that of every k the check draws


def _error_of_factor(k):
    return abs(1.0 - k) / (1.0 + abs(k))


def _two_level_diagnosis(worst, top, low):
    if worst > top * (1 + 1e-6):
        return "larger than every entry's error: return the maximum, not the sum."
    if worst < top * (1 - 1e-6):
        return ("return the largest entry-wise error over the checked entries, not their "
                "mean, the first or the last.")
    return None


def _worst_diagnosis(worst, expected, num_checks, every_entry=False):
    """`every_entry`: every entry of analytic_grad has the same error, so whichever entries
    are drawn, their maximum, mean, first and last are that error."""
    if worst < 1e-6 and every_entry:
        return ("every entry has this error, yet the result is about 0: is analytic_grad "
                "compared with the central difference at each drawn entry?")
    if worst < 1e-6:
        return ("the wrong entry was never checked: draw from all x.size entries "
                "(rng.integers(0, x.size): the upper bound is excluded) or per axis.")
    if np.isclose(worst, num_checks * expected, rtol=1e-6):
        return "this is the sum of the errors: return their maximum."
    if abs(worst - expected) <= 1e-3 * expected:
        return ("close, but not to 1e-6: is the numerical estimate a central difference "
                "(f(x + eps) - f(x - eps)) / (2*eps)?")
    if worst < expected and not every_entry:
        return "return the largest entry-wise error, not the mean or the first."
    if worst > 1.0:
        return "a relative error is at most 1: divide by max(1e-8, |numeric| + |analytic|)."
    return None


@given(c=st.sampled_from([0.5, 1.0, 2.0, -1.5]), eps=st.sampled_from([1e-1, 1e-2, 3e-2]),
       shape=GC_SHAPES, check_seed=seeds())
@example(c=1.0, eps=1e-1, shape=(5,), check_seed=0)
def test_gradient_check_honours_eps(impl, c, eps, shape, check_seed):
    """gradient_check uses its eps: for f = sum(x**3) at x = c everywhere the error is eps**2 / (6c**2 + eps**2)."""
    x = np.full(shape, c)
    analytic = np.full(shape, 3 * c * c)
    worst = _gradient_check(impl, lambda z: float(np.sum(z ** 3)), x, analytic, num_checks=3,
                            eps=eps, seed=check_seed)
    expected = eps ** 2 / (6 * c * c + eps ** 2)
    forward = (3 * abs(c) * eps + eps ** 2) / (6 * c * c + 3 * c * eps + eps ** 2)
    diagnosis = None
    if worst < 1e-8:
        diagnosis = f"this is what eps=1e-5 gives: use the eps argument (here eps={eps:g})."
    elif np.isclose(worst, forward, rtol=1e-3):
        diagnosis = "these are forward differences: use (f(x + eps) - f(x - eps)) / (2*eps)."
    expect_close(worst, expected, what=f"gradient_check of sum(x**3) at x = {c:g} with "
                 f"eps={eps:g}", rtol=1e-6, atol=1e-12, against="eps**2 / (6c**2 + eps**2)",
                 diagnosis=diagnosis)


@settings(max_examples=examples(10))
@given(seed=seeds(), num_checks=st.integers(1, 4), check_seed=st.integers(0, 2**31))
@example(seed=0, num_checks=1, check_seed=0)
def test_gradient_check_is_deterministic_for_a_seed(impl, seed, num_checks, check_seed):
    """gradient_check gives the same answer for the same seed (default 0); with num_checks=1 it reports one entry's error, which varies with the seed."""
    x = _x_for_gradient_check(seed, (5, 6))
    f, grad_f = FUNCTIONS["sum(exp(x/2)) + log(sum(exp(x)))"]
    scale = 1.0 + 0.02 * np.arange(1, x.size + 1).reshape(x.shape)  # a different error per entry
    analytic = grad_f(x) * scale
    errors = (scale - 1.0) / (scale + 1.0)
    first = _gradient_check(impl, f, x, analytic, num_checks=num_checks, seed=check_seed)
    again = _gradient_check(impl, f, x, analytic, num_checks=num_checks, seed=check_seed)
    expect(first == again,
           f"gradient_check gave {first!r}, then {again!r}, for the same seed={check_seed}.",
           diagnosis="draw the entries with rng = np.random.default_rng(seed), created inside "
                     "gradient_check from its seed argument.")
    expect(errors.min() - 1e-6 <= first <= errors.max() + 1e-6,
           f"gradient_check returned {first:.6g}, but every entry's error lies in "
           f"[{errors.min():.6g}, {errors.max():.6g}].")
    singles = [_gradient_check(impl, f, x, analytic, num_checks=1, seed=check_seed + s)
               for s in range(8)]
    for value in singles:
        expect(np.min(np.abs(errors - value)) <= 1e-6 * value,
               f"with num_checks=1, gradient_check returned {value:.9g}, which is not the "
               "relative error of any single entry.",
               diagnosis="with one drawn entry, return exactly that entry's "
                         "|num - ana| / max(1e-8, |num| + |ana|).")
    runs = []
    for kwargs in ({}, {"num_checks": 10, "eps": 1e-5, "seed": 0}):
        counted = Counted(f, x.shape, "gradient_check")
        runs.append((_gradient_check(impl, counted, x, analytic, **kwargs), counted.calls))
    expect(runs[0] == runs[1],
           f"gradient_check(f, x, analytic_grad) gave {runs[0][0]!r} after {runs[0][1]} calls "
           f"of f, but with num_checks=10, eps=1e-5, seed=0 spelled out it gave {runs[1][0]!r} "
           f"after {runs[1][1]} calls.",
           diagnosis="the defaults are num_checks=10, eps=1e-5, seed=0.")
    # One more call with the defaults can match seed=0's answer by chance (the same largest
    # error drawn, about 1 time in 5 with seed=None); eight in a row, about 1 in 10**5.
    again = [_gradient_check(impl, f, x, analytic) for _ in range(8)]
    expect(all(value == runs[1][0] for value in again),
           f"gradient_check(f, x, analytic_grad) gave {sorted(set(again))!r} in eight calls; "
           f"with seed=0 spelled out it gives {runs[1][0]!r}.",
           diagnosis="the default is seed=0: def gradient_check(f, x, analytic_grad, "
                     "num_checks=10, eps=1e-5, seed=0).")
    expect(len(set(singles)) > 1,
           f"with num_checks=1, seeds {check_seed}..{check_seed + 7} all gave {singles[0]:.9g}, "
           "though every entry of x has a different error.",
           diagnosis="use the seed and num_checks arguments: rng = np.random.default_rng(seed), "
                     "then draw exactly num_checks entries.")
