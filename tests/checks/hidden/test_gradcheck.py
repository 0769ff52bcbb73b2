"""Hidden checks for exercise 2: agreement with the reference, on inputs students don't see."""

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader.authoring import (
    examples,
    expect,
    expect_array,
    expect_close,
    expect_scalar,
    float_arrays,
    reference,
    rng_array,
    seeds,
)

ref = reference("gradcheck")


def _sin_roll(x):
    u = x.ravel()
    return float(np.sum(np.sin(u) * np.roll(u, 1)))


def _exp_lse(x):
    top = np.max(x)
    return float(np.sum(np.exp(0.5 * x)) + top + np.log(np.sum(np.exp(x - top))))


def _exp_lse_grad(x):
    e = np.exp(x - np.max(x))
    return 0.5 * np.exp(0.5 * x) + e / np.sum(e)


ODD_LAYOUTS = {  # name: (shape of the base array, the view of it that x is)
    "(1,)": ((1,), lambda b: b),
    "(1, 1, 1)": ((1, 1, 1), lambda b: b),
    "(2, 1, 3, 1)": ((2, 1, 3, 1), lambda b: b),
    "Fortran order": ((3, 4), lambda b: np.asfortranarray(b)),
    "b[::-2, 1:]": ((5, 3), lambda b: b[::-2, 1:]),
    "b[1:2, ::3] (one row, strided)": ((3, 7), lambda b: b[1:2, ::3]),
    "b.T[::2] (4-D)": ((2, 2, 3, 4), lambda b: b.T[::2]),
}


def _layout(seed, name):
    shape, view = ODD_LAYOUTS[name]
    x = view(np.clip(rng_array(seed, shape, 1.5), -3, 3))
    return x


@settings(max_examples=examples(25))
@given(seed=seeds(), layout=st.sampled_from(sorted(ODD_LAYOUTS)),
       eps=st.sampled_from([1e-5, 1e-4, 1e-3, 1e-6]))
@example(seed=0, layout="b.T[::2] (4-D)", eps=1e-5)
def test_numerical_gradient_matches_reference_on_unusual_shapes(impl, seed, layout, eps):
    """numerical_gradient agrees with the reference on size-1, 4-D, Fortran-order and negatively strided arrays, for any eps."""
    x = _layout(seed, layout)
    expected = ref.numerical_gradient(_sin_roll, x.copy(), eps=eps)
    before = x.copy()
    grad = impl.numerical_gradient(_sin_roll, x, eps=eps)
    expect_close(grad, expected, what="numerical_gradient", rtol=1e-7, atol=1e-7)
    expect(np.array_equal(x, before), "x was not restored exactly")


@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5), data=st.data())
@example(shape=(2, 3), data=None)
def test_relative_error_matches_reference(impl, shape, data):
    """relative_error agrees with the reference on arrays with zeros, tiny entries and mixed signs."""
    if data is None:
        a = np.array([[0.0, 1e-9, -3e-9], [2.0, 0.0, 5e-10]])
        b = np.array([[0.0, 0.0, 3e-9], [-2.0, 1e-12, 0.0]])
    else:
        scale = data.draw(st.sampled_from([1e-9, 1e-6, 1.0, 1e3]), label="scale")
        a = data.draw(float_arrays(shape), label="a") * scale
        b = data.draw(float_arrays(shape), label="b") * scale
    # Independent draws often hold one pair of opposite signs, whose ratio is exactly 1:
    # "1 unless equal" would match those. A near copy of a (relative changes below 1e-3)
    # pins values strictly between 0 and 1 in every example.
    near = a * (1.0 + np.linspace(-1e-3, 1e-3, a.size).reshape(a.shape)) + 1e-11
    for x, y in ((a, b), (a, near)):
        expected = ref.relative_error(x.copy(), y.copy())
        expect_close(impl.relative_error(x.copy(), y.copy()), expected, what="relative_error",
                     rtol=1e-12, atol=1e-15)


def _network(seed, n, d, h, c, scale=1.0):
    params = {"W1": rng_array(seed, (h, d)), "b1": rng_array(seed + 1, (h,), 0.5),
              "W2": rng_array(seed + 2, (c, h), scale), "b2": rng_array(seed + 3, (c,), scale)}
    X = rng_array(seed + 4, (n, d))
    y = np.random.default_rng(seed + 5).integers(0, c, n)
    return params, X, y


def _compare_with_reference(impl, params, X, y, rtol=1e-9, atol=1e-12):
    result = impl.mlp_loss_and_grads({k: v.copy() for k, v in params.items()}, X.copy(),
                                     y.copy())
    expect(isinstance(result, tuple) and len(result) == 2, "must return (loss, grads)")
    loss, grads = ref.mlp_loss_and_grads({k: v.copy() for k, v in params.items()}, X.copy(),
                                         y.copy())
    expect_close(result[0], loss, what="loss", rtol=rtol, atol=atol)
    expect(isinstance(result[1], dict), "grads must be a dict")
    for key, expected in grads.items():
        expect(key in result[1], f"grads lacks {key}")
        expect_close(result[1][key], expected, what=f"grads[{key}]", rtol=rtol,
                     atol=atol * max(1.0, float(np.max(np.abs(expected)))))


@settings(max_examples=examples(30))
@given(seed=seeds(), n=st.integers(1, 6), d=st.integers(1, 4), h=st.integers(1, 6),
       c=st.integers(2, 5))
@example(seed=1, n=1, d=1, h=1, c=2)
def test_mlp_matches_reference(impl, seed, n, d, h, c):
    """mlp_loss_and_grads agrees with the reference (loss and every gradient) for any N, D, H, C."""
    params, X, y = _network(seed, n, d, h, c)
    _compare_with_reference(impl, params, X, y)


@settings(max_examples=examples(20))
@given(seed=seeds(), n=st.integers(2, 6), d=st.integers(1, 3), h=st.integers(2, 5),
       c=st.integers(2, 4))
@example(seed=0, n=3, d=2, h=3, c=3)
def test_mlp_gradients_at_the_relu_kink(impl, seed, n, d, h, c):
    """Where a pre-activation z1 is exactly 0, ReLU's derivative is 0: gradients agree with the reference."""
    rng = np.random.default_rng(seed)
    params, _, y = _network(seed, n, d, h, c)
    params["W1"] = rng.integers(-2, 3, (h, d)).astype(np.float64)
    params["b1"] = rng.integers(-1, 2, h).astype(np.float64)
    params["b1"][0] = 0.0
    X = rng.integers(-2, 3, (n, d)).astype(np.float64)
    X[0] = 0.0  # the first example has z1 = b1, so z1[0, 0] == 0 exactly
    _compare_with_reference(impl, params, X, y)


@settings(max_examples=examples(20))
@given(seed=seeds(), n=st.integers(1, 5), scale=st.sampled_from([1e2, 1e3, 3e3]))
@example(seed=0, n=2, scale=1e3)
def test_mlp_loss_is_stable_for_huge_logits(impl, seed, n, scale):
    """The loss and gradients agree with the reference when the logits z2 are in the thousands."""
    params, X, y = _network(seed, n, 3, 4, 3, scale=scale)
    # atol 1e-9: when the right class wins by a wide margin the loss is nearly 0, and correct
    # ways of computing it differ by a rounding error of the logits (about 1e-12).
    _compare_with_reference(impl, params, X, y, rtol=1e-9, atol=1e-9)


@settings(max_examples=examples(25))
@given(seed=seeds(), layout=st.sampled_from(sorted(ODD_LAYOUTS)),
       k=st.sampled_from([2.0, -1.0, 0.5]), num_checks=st.integers(1, 5), check_seed=seeds(),
       eps=st.sampled_from([1e-5, 1e-3]))
@example(seed=0, layout="(1,)", k=2.0, num_checks=1, check_seed=0, eps=1e-5)
def test_gradient_check_matches_reference_on_any_shape(impl, seed, layout, k, num_checks,
                                                       check_seed, eps):
    """gradient_check agrees with the reference on unusual shapes and views when every entry has the same error."""
    x = _layout(seed, layout)
    before = x.copy()
    analytic = k * _exp_lse_grad(x)
    expected = ref.gradient_check(_exp_lse, x.copy(), analytic.copy(), num_checks=num_checks,
                                  eps=eps, seed=check_seed)
    worst = impl.gradient_check(_exp_lse, x, analytic.copy(), num_checks=num_checks, eps=eps,
                                seed=check_seed)
    expect_close(worst, expected, what="gradient_check", rtol=1e-6, atol=1e-9)
    expect(np.array_equal(x, before), "x was not restored exactly")


SMALL_LAYOUTS = sorted(k for k, (shape, view) in ODD_LAYOUTS.items()
                       if view(np.zeros(shape)).size <= 12)


@settings(max_examples=examples(12))
@given(seed=seeds(), layout=st.sampled_from(SMALL_LAYOUTS), first=st.integers(0, 1),
       k=st.sampled_from([2.0, -1.0, 0.0]), check_seed=seeds())
@example(seed=0, layout="b[::-2, 1:]", first=1, k=2.0, check_seed=0)
def test_gradient_check_finds_one_wrong_entry_on_any_shape(impl, seed, layout, first, k,
                                                           check_seed):
    """gradient_check reports the largest error over the entries of a small x of unusual shape or layout (num_checks=20)."""
    x = _layout(seed, layout)
    g = _exp_lse_grad(x)
    # Every other entry (in index order) wrong by k, the others by 1.1: 20 draws miss all of
    # the former with probability at most 2**-20, so the answer is their error.
    analytic = (1.1 * g).ravel()
    analytic[first::2] = k * g.ravel()[first::2]
    analytic = analytic.reshape(g.shape)
    expected = abs(1.0 - k) / (1.0 + abs(k)) if x.size > 1 or first == 0 else 0.1 / 2.1
    worst = impl.gradient_check(_exp_lse, x, analytic, num_checks=20, seed=check_seed)
    expect_close(worst, expected, what="gradient_check", rtol=1e-6, atol=1e-9)


def _sin_plus_3(z):
    return 3.0 + float(np.sum(np.sin(z)))


# A scale or sign slip in numerical_gradient is graded by the value checks; here the result
# only has to be central differences up to one of them (the anchor of "0 for a constant").
SLIPS = (1.0, 2.0, 0.5, -1.0, -2.0, -0.5)


@given(shape=st.sampled_from([(1,), (3,), (2, 2)]), check_seed=st.integers(0, 5))
def test_gradient_check_is_zero_where_both_gradients_are_zero(impl, shape, check_seed):
    """gradient_check returns 0 (not NaN) when f does not depend on x and the analytic gradient is 0, and 0.1 when it is 1e-9 (the 1e-8 floor); numerical_gradient of a constant is 0, and of 3 + sum(sin(x)) central differences."""
    x = np.linspace(-1.0, 1.0, int(np.prod(shape))).reshape(shape)
    worst = expect_scalar(impl.gradient_check(lambda z: 3.0, x, np.zeros(shape), num_checks=4,
                                              seed=check_seed), what="gradient_check")
    expect(worst == 0.0, "gradient_check must be 0 here")
    # The anchor: 1e-9 / max(1e-8, 0 + 1e-9) = 0.1 at every entry (without the floor: 1).
    tiny = expect_scalar(impl.gradient_check(lambda z: 3.0, x, np.full(shape, 1e-9),
                                             num_checks=4, seed=check_seed),
                         what="gradient_check with analytic_grad = 1e-9")
    expect_close(tiny, 0.1, what="gradient_check with analytic_grad = 1e-9 for a constant f",
                 rtol=1e-9, atol=1e-12)
    grad = expect_array(impl.numerical_gradient(lambda z: 3.0, x.copy()),
                        what="numerical_gradient", shape=shape)
    expect(np.all(grad == 0.0), "numerical_gradient of a constant must be 0")
    grad = expect_array(impl.numerical_gradient(_sin_plus_3, x.copy()),
                        what="numerical_gradient of 3 + sum(sin(x))", shape=shape)
    expected = ref.numerical_gradient(_sin_plus_3, x.copy())
    expect(any(np.allclose(grad, k * expected, rtol=1e-6, atol=1e-9) for k in SLIPS),
           "numerical_gradient of 3 + sum(sin(x)) is not central differences (about cos(x))")
