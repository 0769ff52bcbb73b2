"""Public checks for exercise 4, optimizers. Closed forms and invariances: no reference needed.

Every optimizer check keeps its own references to the arrays it hands to `step`, so an update
that builds new arrays (`p = p - lr*g`) is seen as "nothing moved". Expected moves come from
the mathematics, not from a copy of the answer:
  - SGD moves p by -lr*g_t;
  - momentum's velocity is a decaying sum of past gradients: step t moves p by
    -lr * sum_k mu**(t-k) * g_k (this also holds for the PyTorch form v = mu*v + g; p -= lr*v);
  - Adam's bias-corrected moments are weighted means of past gradients: m_hat_t =
    sum_k beta1**(t-k) g_k / sum_k beta1**(t-k), v_hat_t likewise with g_k**2 and beta2, and
    step t moves p by -lr * m_hat_t / (sqrt(v_hat_t) + eps).
Adam's gradients are kept at |g| >= 0.1 (or exactly 0) wherever the tolerance is tight: the
paper's "efficient" Adam folds the bias correction into the step size, which moves eps to
eps/sqrt(1 - beta2**t); that is correct and differs from the formula by eps_hat/|g| < 1e-5.

A check pays only for real work (docs/authoring.md): properties that steps doing nothing (or
moving by constants, or at random) also satisfy -- Momentum(mu=0) equals your SGD, Adam is
invariant to the gradient scale, the arrays are updated in place, compare_optimizers agrees
with your run_optimizer -- are checked together with moves or losses computed here from the
formulas. tests/audit/catalog/optimizers.toml ([[trivial]]) proves that such code earns 0.

One mistake costs the checks that test it: default_hyperparameters compares each class built
without arguments with the same class given the contract's values, and the eps check compares
Adam's moves for gradients of size 1e-4 with its own moves for them 10**4 times larger;
their anchors demand only the direction of the moves, so a wrong formula elsewhere (no bias
correction, a lost velocity) makes the same moves on both sides and does not fail them.
Failure messages name the class in backticks (`Adam`): `grader ci` puts its annotation there.
"""

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader.authoring import (
    examples,
    expect,
    expect_close,
    expect_scalar,
    exposes,
    float_arrays,
    floats,
    fmt,
)

SHAPES = [(1,), (2,), (3,), (2, 2), (1, 3)]
NOT_IN_PLACE = ("`p = p - lr*g` (or `params[i] = ...`) builds a new array; the caller's array "
                "never changes. Update in place: `p -= lr * g` (or `p[...] = ...`).")


def _adam_grads(low=0.1, high=10.0):
    """Gradient entries with |g| in [low, high] and either sign."""
    return st.one_of(floats(low, high), floats(-high, -low))


@st.composite
def trajectories(draw, elements=None, max_steps=5, min_params=2, shapes=SHAPES):
    """(params (P, *shape), grads (T, P, *shape)): P >= 2 parameters of one shape, T steps."""
    shape = draw(st.sampled_from(shapes))
    n_params = draw(st.integers(min_params, 3))
    n_steps = draw(st.integers(2, max_steps))
    params = draw(float_arrays((n_params, *shape), -5.0, 5.0))
    grads = draw(hnp.arrays(np.float64, (n_steps, n_params, *shape),
                            elements=elements if elements is not None else floats(-10.0, 10.0)))
    return params, grads


def _run_steps(impl, name, kwargs, params0, grad_seq):
    """Build impl.<name>(params, **kwargs), apply step(params, grads_t) for every t.

    Checks at every step that step returns None, updates the very arrays it was given (and
    keeps them in the list) and leaves the gradients alone. Returns the moves p_after -
    p_before, shape (T, P, *shape).
    """
    params = [p.copy() for p in params0]
    arrays = list(params)  # our own references to the very objects
    optimizer = getattr(impl, name)(params, **kwargs)
    moves = []
    for t, grads in enumerate(grad_seq, start=1):
        before = [a.copy() for a in arrays]
        given_grads = [g.copy() for g in grads]
        result = optimizer.step(params, given_grads)
        expect(result is None,
               f"`{name}.step` returned {type(result).__name__}; it must update params in place "
               "and return None.")
        expect(len(params) == len(arrays),
               f"after step {t} of `{name}.step`, the list params has {len(params)} entries "
               f"instead of {len(arrays)}.")
        for i, a in enumerate(arrays):
            expect(params[i] is a,
                   f"after step {t} of `{name}.step`, params[{i}] is a new array object, not "
                   "the one given.", diagnosis=NOT_IN_PLACE)
        expect(all(np.array_equal(g, h) for g, h in zip(given_grads, grads)),
               f"`{name}.step` modified the gradients it was given.",
               diagnosis="compute `lr * g` as a new array instead of `g *= lr`.")
        moves.append(np.stack([a - b for a, b in zip(arrays, before)]))
    return np.stack(moves)


def _expect_moves(observed, expected, *, what, rtol, atol, alternatives=None,
                  against="expected", per_parameter=True):
    """Compare per-step moves (T, P, ...) as a table: row k is step k+1, columns the entries.

    per_parameter=False when axis 1 holds entries rather than parameters (mixed shapes
    flattened): then no hint about which parameter is wrong.
    """
    n_steps = expected.shape[0]
    o = observed.reshape(n_steps, -1)
    e = expected.reshape(n_steps, -1)
    diagnosis = None
    if np.all(o == 0) and np.any(e != 0):
        diagnosis = "no parameter moved at all. " + NOT_IN_PLACE
    elif np.any(np.abs(o - e) > atol + rtol * np.abs(e)):
        for alt, why in (alternatives or []):
            a = np.asarray(alt, dtype=np.float64).reshape(n_steps, -1)
            # A mistake whose moves pass this check here (no bias correction's power t on
            # step 1) cannot explain the failure.
            if np.all(np.abs(a - e) <= atol + rtol * np.abs(e)):
                continue
            if np.all(np.abs(o - a) <= 1e-3 * np.abs(a) + atol):
                diagnosis = why
                break
        else:
            if per_parameter:
                diagnosis = _pattern(observed, expected, rtol, atol)
    expect_close(o, e, what=f"{what} (row k = step k+1, columns: every entry of every "
                 "parameter)", rtol=rtol, atol=atol, diagnosis=diagnosis, against=against)


def _pattern(observed, expected, rtol, atol):
    """Which steps and parameters are wrong, as a hint about the optimizer's state."""
    n_steps, n_params = expected.shape[:2]
    ok = np.abs(observed - expected) <= atol + rtol * np.abs(expected)
    ok = ok.reshape(n_steps, n_params, -1).all(axis=2)  # (step, parameter)
    if n_params > 1 and ok[:, 0].all() and not ok[:, 1:].all():
        return ("the first parameter is right but not the others: is the state (m, v, "
                "velocity or the step counter t) shared between parameters, or is t counted "
                "once per parameter instead of once per step?")
    if n_steps > 1 and ok[0].all() and not ok[1:].all():
        return ("the first step is right but later ones are not: the state kept between "
                "steps (velocity, m, v or t) is not updated as it should be.")
    return None


def _momentum_moves(grads, lr, mu):
    """Step t moves p by -lr * sum_k mu**(t-k) g_k (the velocity sums decayed gradients)."""
    return np.stack([-lr * sum(mu ** (t - k) * grads[k] for k in range(t + 1))
                     for t in range(len(grads))])


def _adam_moves(grads, lr, beta1, beta2, eps, bias_power=True):
    """Step t moves p by -lr * m_hat_t / (sqrt(v_hat_t) + eps), moments as weighted means."""
    moves = []
    for t in range(1, len(grads) + 1):
        w1 = beta1 ** np.arange(t - 1, -1, -1.0)
        w2 = beta2 ** np.arange(t - 1, -1, -1.0)
        m_hat = np.tensordot(w1, grads[:t], axes=1) / w1.sum()
        v_hat = np.tensordot(w2, grads[:t] ** 2, axes=1) / w2.sum()
        moves.append(-lr * m_hat / (np.sqrt(v_hat) + eps))
    return np.stack(moves)


def _adam_alternatives(grads, lr, beta1, beta2, eps):
    """What some well-known Adam mistakes would move, for the diagnosis."""
    t = np.arange(1, len(grads) + 1).reshape((-1,) + (1,) * (grads.ndim - 1))
    m_raw = [np.tensordot(beta1 ** np.arange(k - 1, -1, -1.0), grads[:k], axes=1) * (1 - beta1)
             for k in range(1, len(grads) + 1)]
    v_raw = [np.tensordot(beta2 ** np.arange(k - 1, -1, -1.0), grads[:k] ** 2, axes=1)
             * (1 - beta2) for k in range(1, len(grads) + 1)]
    m_raw, v_raw = np.stack(m_raw), np.stack(v_raw)
    return [
        (-lr * m_raw / (np.sqrt(v_raw) + eps),
         "no bias correction: divide m by (1 - beta1**t) and v by (1 - beta2**t)."),
        (-lr * (m_raw / (1 - beta1)) / (np.sqrt(v_raw / (1 - beta2)) + eps),
         "the bias correction lacks the power t: it is 1 - beta1**t, not 1 - beta1."),
        (-lr * (m_raw / (1 - beta1 ** t)) / np.sqrt(v_raw / (1 - beta2 ** t) + eps),
         "eps belongs outside the square root: sqrt(v_hat) + eps."),
        (_adam_moves(grads, lr, beta2, beta1, eps),
         "beta1 and beta2 are swapped: m uses beta1 (0.9), v uses beta2 (0.999)."),
        (-lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t) * m_raw / np.sqrt(v_raw + eps),
         "eps belongs outside the square root: in the folded form lr_t * m / (sqrt(v) + "
         "eps), not lr_t * m / sqrt(v + eps)."),
    ]


def _expect_adam_direction(observed, grads, *, lr, beta1=0.9, beta2=0.999, eps=1e-8, what,
                           rtol=1e-4, atol=None, per_parameter=True):
    """Each step moves along the formula's move -lr*m_hat/(sqrt(v_hat)+eps): observed row t
    is one positive factor f_t (the same for every entry of every parameter) times it.

    This pins every entry's direction and the ratios between entries from the contract's
    formula, leaving out only the step's overall size (a missing bias correction changes
    f_t alone; the exact size is checked elsewhere). Zero, constant, NaN or random moves
    fail it.
    """
    formula = _adam_moves(grads, lr, beta1, beta2, eps)
    n_steps = formula.shape[0]
    o = observed.reshape(n_steps, -1)
    e = formula.reshape(n_steps, -1)
    with np.errstate(all="ignore"):
        factors = np.sum(o * e, axis=1) / np.sum(e * e, axis=1)
    if np.all(np.isfinite(factors) & (factors > 0)):
        what = f"{what}, each step's formula move scaled by one factor ({fmt(factors, 4)})"
        against = "f_t * (-lr*m_hat/(sqrt(v_hat)+eps))"
    else:  # no positive factor fits some step: compare with the formula itself
        factors = np.ones(n_steps)
        against = "-lr*m_hat/(sqrt(v_hat)+eps)"
    shape = (n_steps,) + (1,) * (formula.ndim - 1)
    _expect_moves(observed, factors.reshape(shape) * formula, what=what, rtol=rtol,
                  atol=1e-10 * lr if atol is None else atol, against=against,
                  per_parameter=per_parameter)


@given(case=trajectories(), lr=floats(1e-3, 1.0))
@example(case=(np.array([[1.0, 2.0], [1.0, 2.0]]),
               np.array([[[1.0, -2.0], [3.0, 0.5]], [[-1.0, 4.0], [0.0, 2.0]],
                         [[2.0, 2.0], [-3.0, 1.0]]])), lr=0.1)
def test_sgd_moves_each_parameter_by_lr_times_gradient(impl, case, lr):
    """SGD: every step moves each parameter by exactly -lr * its gradient, over several steps and parameters."""
    params, grads = case
    moves = _run_steps(impl, "SGD", {"lr": lr}, params, grads)
    _expect_moves(moves, -lr * grads, what="SGD's moves", rtol=1e-9, atol=1e-12,
                  alternatives=[(-grads, "SGD ignores its lr: the step is lr * g."),
                                (-0.01 * grads, "SGD uses the default lr=0.01 instead of "
                                                "the lr it was given.")])


@given(case=trajectories(), lr=floats(1e-3, 0.5), mu=floats(0.0, 0.99))
@example(case=(np.array([[0.0, 0.0], [1.0, 1.0]]),
               np.array([[[1.0, 2.0], [-1.0, 0.5]]] * 4)), lr=0.1, mu=0.9)
@example(case=(np.array([[0.0, 1.0], [0.0, 1.0]]),
               np.array([[[1.0, -2.0], [3.0, 0.5]], [[-1.0, 4.0], [0.0, 2.0]],
                         [[2.0, 2.0], [-3.0, 1.0]]])), lr=0.5, mu=0.5)
def test_momentum_velocity_is_a_decaying_sum_of_gradients(impl, case, lr, mu):
    """Momentum: step t moves p by -lr * sum_k mu**(t-k) * g_k (v = mu*v - lr*g; p += v), per parameter."""
    params, grads = case
    moves = _run_steps(impl, "Momentum", {"lr": lr, "mu": mu}, params, grads)
    shifted = np.concatenate([np.zeros_like(grads[:1]), _momentum_moves(grads, lr, mu)[:-1]])
    # The velocity sums gradients of size up to 10 over a few steps: rounding stays below 1e-12.
    _expect_moves(moves, _momentum_moves(grads, lr, mu), what="Momentum's moves", rtol=1e-9,
                  atol=1e-12 * (1 + lr * 100),
                  alternatives=[(-lr * grads, "the velocity is not kept between steps (each "
                                 "step is plain SGD): store v in self and update it in place."),
                                (shifted, "p is updated with the old velocity before v is "
                                 "updated: first v = mu*v - lr*g, then p += v."),
                                (_momentum_moves(grads, lr, 0.9),
                                 "Momentum ignores the mu it was given (uses 0.9).")])


@given(case=trajectories(), lr=floats(1e-3, 1.0))
@example(case=(np.array([[1.0, 2.0], [1.0, 2.0]]),
               np.array([[[1.0, -2.0], [3.0, 0.5]], [[-1.0, 4.0], [0.0, 2.0]]])), lr=0.1)
def test_momentum_with_mu_zero_is_sgd(impl, case, lr):
    """Momentum with mu=0 makes exactly SGD's moves, -lr*g per step, and so does your SGD with the same lr."""
    params, grads = case
    sgd = _run_steps(impl, "SGD", {"lr": lr}, params, grads)
    momentum = _run_steps(impl, "Momentum", {"lr": lr, "mu": 0.0}, params, grads)
    shifted = np.concatenate([np.zeros_like(grads[:1]), -lr * grads[:-1]])
    # Anchored to -lr*g (the same moves must also be your SGD's): two optimizers that agree
    # on the same wrong moves (or on no move at all) earn nothing here.
    _expect_moves(momentum, -lr * grads, what="Momentum(mu=0)'s moves", rtol=1e-9, atol=1e-12,
                  against="-lr*g",
                  alternatives=[(sgd, "Momentum(mu=0) makes the same moves as your SGD, but "
                                 "both differ from -lr*g: see the SGD check."),
                                (shifted, "p is updated with the old velocity before v is "
                                 "updated: first v = mu*v - lr*g, then p += v."),
                                (_momentum_moves(grads, lr, 0.9),
                                 "Momentum ignores the mu it was given (uses 0.9).")])
    _expect_moves(sgd, momentum, what="your SGD's moves", rtol=1e-9, atol=1e-12,
                  against="your Momentum(mu=0)'s moves")


@given(case=trajectories(elements=st.one_of(st.just(0.0), _adam_grads()), max_steps=2),
       lr=floats(1e-4, 0.1))
@example(case=(np.array([[1.0, 2.0], [1.0, 2.0]]),
               np.array([[[1.0, -2.0], [0.5, 0.0]], [[3.0, 1.0], [-4.0, 2.0]]])), lr=0.01)
def test_adam_first_step_moves_lr_times_sign_of_gradient(impl, case, lr):
    """Adam's first step moves every entry by exactly -lr*g/(|g|+eps) (about lr), for each parameter; a zero gradient gives no move."""
    params, grads = case
    eps = 1e-8
    moves = _run_steps(impl, "Adam", {"lr": lr}, params, grads[:1])
    expected = -lr * grads[:1] / (np.abs(grads[:1]) + eps)
    # eps's placement (e.g. the paper's folded form) changes this by < 1e-5 at |g| >= 0.1.
    _expect_moves(moves, expected, what="Adam's first move", rtol=1e-4, atol=1e-12,
                  alternatives=_adam_alternatives(grads[:1], lr, 0.9, 0.999, eps))


@given(case=trajectories(elements=_adam_grads(), max_steps=6), lr=floats(1e-4, 0.1))
@example(case=(np.array([[1.0, 2.0], [1.0, 2.0]]),
               np.array([[[1.0, -2.0], [0.5, 3.0]]] * 5)), lr=0.01)
def test_adam_constant_gradient_moves_about_lr_per_step(impl, case, lr):
    """Under a constant gradient every Adam step moves each entry by -lr*g/(|g|+eps), several steps, two or more parameters."""
    params, grads = case
    grads = np.broadcast_to(grads[:1], grads.shape).copy()  # the first gradient, every step
    moves = _run_steps(impl, "Adam", {"lr": lr}, params, grads)
    expected = -lr * grads / (np.abs(grads) + 1e-8)
    _expect_moves(moves, expected, what="Adam's moves under a constant gradient", rtol=1e-4,
                  atol=1e-12, alternatives=_adam_alternatives(grads, lr, 0.9, 0.999, 1e-8))


@given(case=trajectories(elements=_adam_grads(), max_steps=6), lr=floats(1e-4, 0.1),
       beta1=floats(0.5, 0.95), beta2=floats(0.9, 0.9999))
@example(case=(np.array([[1.0, 2.0], [1.0, 2.0]]),
               np.array([[[1.0, -2.0], [3.0, 0.5]], [[-1.0, 4.0], [0.2, 2.0]],
                         [[2.0, 2.0], [-3.0, 1.0]], [[0.5, -1.0], [1.0, 1.0]]])),
         lr=0.01, beta1=0.9, beta2=0.999)
@example(case=(np.array([[0.0, 0.0], [0.0, 0.0]]),
               np.array([[[1.0, 1.0], [1.0, 1.0]], [[-2.0, 0.5], [-2.0, 0.5]],
                         [[3.0, -1.0], [3.0, -1.0]]])), lr=0.1, beta1=0.6, beta2=0.95)
def test_adam_steps_use_bias_corrected_moment_averages(impl, case, lr, beta1, beta2):
    """Adam's step t is -lr * m_hat/(sqrt(v_hat)+eps), m_hat and v_hat the beta1- and beta2-weighted means of past g and g**2, per parameter."""
    params, grads = case
    eps = 1e-8
    moves = _run_steps(impl, "Adam", {"lr": lr, "beta1": beta1, "beta2": beta2}, params, grads)
    # Folding the bias correction into lr moves eps to eps/sqrt(1-beta2**t) <= 1e-6: with
    # |g| >= 0.1 that changes a step by < 1e-5 (relative), well inside 1e-4.
    _expect_moves(moves, _adam_moves(grads, lr, beta1, beta2, eps),
                  what="Adam's moves", rtol=1e-4, atol=1e-10 * lr,
                  alternatives=_adam_alternatives(grads, lr, beta1, beta2, eps))


def _expect_each_parameter_along(observed, direction, *, what, against, rtol):
    """Anchor: every step moves each parameter by f * direction, one factor f > 0 per step and
    parameter (observed and direction (T, P, *shape)).

    One factor per step and parameter leaves out everything but the direction: the step's
    size (bias correction, lr) and the state kept per parameter (t, m, v) are other checks'
    business. Each parameter's direction must have entries of both signs, so that moves
    that are zero, constant, uphill or random fail it.
    """
    n_steps, n_params = direction.shape[:2]
    o = observed.reshape(n_steps, n_params, -1)
    d = direction.reshape(n_steps, n_params, -1)
    with np.errstate(all="ignore"):
        factors = np.sum(o * d, axis=2) / np.sum(d * d, axis=2)
    if np.all(np.isfinite(factors) & (factors > 0)):
        expected = factors[..., None] * d
        against = f"{against}, times one factor per step and parameter ({fmt(factors, 4)})"
        diagnosis = None
    else:
        expected = d
        diagnosis = ("some step moves a parameter not at all, or uphill (along +g): Adam "
                     "steps by -lr * m_hat/(sqrt(v_hat) + eps).")
    expect_close(o.reshape(n_steps, -1), expected.reshape(n_steps, -1),
                 what=f"{what} (row k = step k+1, columns: every entry of every parameter)",
                 rtol=rtol, atol=0.0, against=against, diagnosis=diagnosis)


@given(case=trajectories(elements=_adam_grads(0.5, 1.5), max_steps=3,
                         shapes=[s for s in SHAPES if np.prod(s) > 1]),
       lr=floats(1e-4, 0.1))
@example(case=(np.array([[1.0, 2.0], [1.0, 2.0]]),
               np.array([[[1.0, -0.5], [1.5, -1.0]]] * 3)), lr=0.001)
def test_adam_eps_outside_the_square_root_for_small_gradients(impl, case, lr):
    """Gradients of size 1e-4 move Adam as the same gradients times 10**4 do (within 2%): eps goes outside the sqrt, where it barely matters."""
    params, grads = case
    # A constant gradient, each parameter with entries of both signs (the anchor needs them).
    grads = np.broadcast_to(grads[:1], grads.shape).copy()
    flat = grads.reshape(grads.shape[0], grads.shape[1], -1)
    flat[..., 0], flat[..., 1] = np.abs(flat[..., 0]), -np.abs(flat[..., 1])
    # Every hyperparameter explicit: a wrong default is the default_hyperparameters check's.
    kwargs = {"lr": lr, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    large = _run_steps(impl, "Adam", kwargs, params, grads)
    # The anchor: a constant gradient moves every entry against its sign, by the same amount
    # within a parameter (lr*g/(|g|+eps) with bias correction; its size is other checks').
    _expect_each_parameter_along(large, -grads / (np.abs(grads) + 1e-8),
                                 what="`Adam`'s moves under a constant gradient of size 0.5 to "
                                      "1.5", against="-g/(|g|+eps)", rtol=1e-4)
    small = _run_steps(impl, "Adam", kwargs, params, 1e-4 * grads)
    # Why 1e-4 and 2%: Adam divides by sqrt(v_hat) ~ |g|, so the scale of g cancels but for
    # eps. Outside the root eps shifts a move by eps/|g| <= 2e-4 (the paper's folded form,
    # whose eps is eps/sqrt(1 - beta2**t) on this scale, by < 0.7%; without bias correction
    # by < 0.7% too); inside, sqrt(g**2 + eps) is off from |g| by more than 17% at |g| <=
    # 1.5e-4.
    ratio = np.abs(small) / np.abs(large)
    if np.all(ratio < 1 - 2e-2):
        diagnosis = ("for small gradients every move shrinks: eps weighs more than it should. "
                     "eps belongs outside the square root: sqrt(v_hat) + eps, not "
                     "sqrt(v_hat + eps).")
    else:
        diagnosis = ("only eps may make Adam's move depend on the scale of the gradients: look "
                     "at where eps enters the denominator, sqrt(v_hat) + eps, and at any term "
                     "of the step not divided by sqrt(v_hat).")
    n_steps = len(grads)
    expect_close(small.reshape(n_steps, -1), large.reshape(n_steps, -1),
                 what="`Adam`'s moves for the gradients times 1e-4 (size 5e-5 to 1.5e-4; row k "
                      "= step k+1, columns: every entry of every parameter)",
                 rtol=2e-2, atol=0.0, against="its moves for the gradients as given",
                 diagnosis=diagnosis)


@given(case=trajectories(elements=_adam_grads(), max_steps=5), c=floats(1.0, 100.0),
       lr=floats(1e-4, 0.1))
@example(case=(np.array([[1.0, 2.0], [1.0, 2.0]]),
               np.array([[[1.0, -2.0], [3.0, 0.5]], [[-1.0, 4.0], [0.2, 2.0]],
                         [[2.0, 2.0], [-3.0, 1.0]]])), c=10.0, lr=0.01)
def test_adam_is_invariant_to_gradient_scale(impl, case, c, lr):
    """Multiplying every gradient by c > 0 leaves Adam's moves unchanged (up to eps); each step moves along -m_hat/(sqrt(v_hat)+eps)."""
    params, grads = case
    # Explicit betas: a wrong default is the default_hyperparameters check's business.
    kwargs = {"lr": lr, "beta1": 0.9, "beta2": 0.999}
    plain = _run_steps(impl, "Adam", kwargs, params, grads)
    # The anchor: the direction of every step from the contract's formula (its overall size
    # is checked by the other Adam checks). Moves that are zero, constant or random are
    # "invariant" too; they earn nothing.
    _expect_adam_direction(plain, grads, lr=lr, what="Adam's moves")
    scaled = _run_steps(impl, "Adam", kwargs, params, c * grads)
    _expect_moves(scaled, plain, what=f"Adam's moves with gradients times c={c:g}",
                  rtol=1e-4, atol=1e-10 * lr, against="its moves with the gradients as given")


DEFAULTS = {"SGD": {"lr": 0.01}, "Momentum": {"lr": 0.01, "mu": 0.9},
            "Adam": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}}


def _kwargs_text(kwargs):
    return ", ".join(f"{k}={v:g}".replace("e-0", "e-") for k, v in kwargs.items())


def _expect_defaults(impl, name, params, grads):
    """NAME(params) makes the moves of NAME(params, **the contract's defaults): the student's
    own class on both sides, so a wrong formula (no bias correction, a lost velocity) makes
    the same moves twice and costs only the checks of the formula."""
    defaults = DEFAULTS[name]
    explicit_text = f"`{name}(params, {_kwargs_text(defaults)})`"
    explicit = _run_steps(impl, name, defaults, params, grads)
    # The anchor, so that steps doing nothing (or moving by constants, at random, uphill)
    # earn nothing: the first time params[0] moves, it moves along its first gradient (Adam:
    # g/(|g|+eps), about its sign). SGD must move downhill; for Momentum and Adam the sign,
    # like the size, belongs to the checks of their formulas (a velocity that climbs still
    # has the right defaults).
    first = explicit[:, 0].reshape(len(explicit), -1)
    g = grads[0, 0].ravel()
    direction = g / (np.abs(g) + 1e-8) if name == "Adam" else g
    moved = np.flatnonzero(np.any(first != 0, axis=1))
    expect(moved.size > 0, f"{explicit_text} never moved params[0] in {len(first)} steps "
           "with nonzero gradients, so its defaults cannot be compared.",
           diagnosis="no parameter moved at all. " + NOT_IN_PLACE)
    o = first[moved[0]]
    with np.errstate(all="ignore"):
        factor = float(np.dot(o, direction) / np.dot(direction, direction))
    fits = np.isfinite(factor) and (factor < 0 if name == "SGD" else factor != 0)
    shown = "g/(|g|+eps)" if name == "Adam" else "g"
    wanted = "-lr * g" if name == "SGD" else "along its first gradient"
    expect_close(o, factor * direction if fits else -direction,
                 what=f"the first move of params[0] by {explicit_text}", rtol=1e-3, atol=0.0,
                 against=(f"{fmt(factor, 4)} times its first gradient's {shown}" if fits
                          else f"-{shown}"),
                 diagnosis=None if fits else (
                     f"the first move of `{name}` is not {wanted}: see the checks of "
                     f"{name}'s moves."))
    moves = _run_steps(impl, name, {}, params, grads)
    if np.allclose(moves, explicit, rtol=1e-9, atol=0.0, equal_nan=False):
        return
    # Which default is off: leaving out one hyperparameter at a time uses that one's default.
    wrong = [key for key in defaults
             if not np.allclose(_run_steps(impl, name, {k: v for k, v in defaults.items()
                                                        if k != key}, params, grads),
                                explicit, rtol=1e-9, atol=0.0)]
    if wrong:
        diagnosis = (f"the default {' and '.join(wrong)} in `{name}.__init__`'s signature "
                     f"differ{'s' * (len(wrong) == 1)} from the contract: "
                     f"{_kwargs_text({k: defaults[k] for k in wrong})}.")
    else:
        diagnosis = (f"compare the defaults in `{name}.__init__`'s signature with the "
                     f"contract: {_kwargs_text(defaults)}.")
    expect_close(moves.reshape(len(moves), -1), explicit.reshape(len(explicit), -1),
                 what=f"`{name}(params)`'s moves, next to those of {explicit_text} (\"explicit\"; "
                      "row k = step k+1, columns: every entry of every parameter)",
                 rtol=1e-9, atol=0.0, against="explicit", diagnosis=diagnosis)


@given(seed=st.integers(0, 2**32 - 1))
@example(seed=None)
@settings(max_examples=examples(2))
def test_default_hyperparameters(impl, seed):
    """The defaults are SGD lr=0.01; Momentum lr=0.01, mu=0.9; Adam lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8: each class without them moves as with them."""
    if seed is None:
        params = np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]])
        grads = np.array([[[1.0, -2.0, 0.5], [3.0, 1.0, -1.0]],
                          [[-1.0, 4.0, 1.0], [0.2, 2.0, -3.0]],
                          [[2.0, 0.5, -0.5], [-3.0, 1.0, 2.0]]])
    else:  # |g| in [0.2, 4]: far enough from 0 that eps's placement (folded Adam) is invisible
        rng = np.random.default_rng(seed)
        params = rng.standard_normal((2, 3))
        grads = rng.choice([-1.0, 1.0], (3, 2, 3)) * rng.uniform(0.2, 4.0, (3, 2, 3))
    for name in DEFAULTS:
        _expect_defaults(impl, name, params, grads)


@given(seed=st.integers(0, 2**16), n_steps=st.integers(2, 4),
       name=st.sampled_from(["SGD", "Momentum", "Adam"]))
@example(seed=0, n_steps=3, name="SGD")
@example(seed=0, n_steps=3, name="Momentum")
@example(seed=0, n_steps=3, name="Adam")
def test_step_updates_the_given_arrays_in_place(impl, seed, n_steps, name):
    """step(params, grads) moves the very array objects in params (any shapes) by its update rule (Adam's up to one factor per step), returns None and leaves grads unchanged."""
    rng = np.random.default_rng(seed)
    shapes = [(2, 3), (3,), (2, 3), (1,)]
    params = [rng.standard_normal(s) for s in shapes]
    # Gradient entries of either sign with |g| >= 0.5: far from 0, so eps's placement in
    # Adam (the paper's folded form) changes a move by < 1e-6 (relative).
    grads = [[np.sign(rng.standard_normal(s)) * (0.5 + np.abs(rng.standard_normal(s)))
              for s in shapes] for _ in range(n_steps)]
    live = [p.copy() for p in params]
    arrays = list(live)
    # Explicit hyperparameters: wrong defaults are the default_hyperparameters check's business.
    kwargs = {"SGD": {}, "Momentum": {"mu": 0.9}, "Adam": {"beta1": 0.9, "beta2": 0.999}}[name]
    optimizer = getattr(impl, name)(live, lr=0.01, **kwargs)
    moves = []
    for t, g in enumerate(grads, start=1):
        before = [a.copy() for a in arrays]
        given_grads = [x.copy() for x in g]
        result = optimizer.step(live, given_grads)
        expect(result is None, f"{name}.step returned {type(result).__name__}; it must "
               "return None (the update happens in place).")
        for i, a in enumerate(arrays):
            expect(live[i] is a, f"after step {t}, params[{i}] is a new array object, not the "
                   "one given.", diagnosis=NOT_IN_PLACE)
            expect(not np.array_equal(a, before[i]),
                   f"after step {t}, the array given as params[{i}] (shape {a.shape}) did not "
                   "change although its gradient is not zero.", diagnosis=NOT_IN_PLACE)
        for i, (x, y) in enumerate(zip(given_grads, g)):
            expect(np.array_equal(x, y), f"{name}.step modified grads[{i}].",
                   diagnosis="compute `lr * g` as a new array instead of `g *= lr`.")
        moves.append(np.concatenate([(a - b).ravel() for a, b in zip(arrays, before)]))
    # The values of the same calls: in place is worth points only when the moves are right.
    # Rows are steps; columns every entry of params[0], params[1], ... in order.
    observed = np.stack(moves)
    flat = np.stack([np.concatenate([x.ravel() for x in g]) for g in grads])
    if name == "Adam":
        _expect_adam_direction(observed, flat, lr=0.01, what="Adam(lr=0.01)'s moves",
                               per_parameter=False)
    else:
        expected = -0.01 * flat if name == "SGD" else _momentum_moves(flat, 0.01, 0.9)
        _expect_moves(observed, expected, what=f"{name}(lr=0.01)'s moves", rtol=1e-9,
                      atol=1e-14, per_parameter=False)


def _quadratic(curvatures, centres, calls):
    """The grader's loss: sum_i 0.5 * a_i * ||p_i - c_i||**2; gradient a_i * (p_i - c_i)."""

    def loss_and_grads(params):
        snapshot = [np.array(p, dtype=np.float64, copy=True) for p in params]
        grads = [a * (p - c) for a, p, c in zip(curvatures, snapshot, centres)]
        loss = float(sum(0.5 * a * np.sum((p - c) ** 2)
                         for a, p, c in zip(curvatures, snapshot, centres)))
        calls.append((list(params), snapshot, grads, loss))
        return loss, grads

    return loss_and_grads


def _quadratic_losses(curvatures, centres, params0, lrs, n_steps):
    """Losses of SGD with step lr on the quadratic: p_t - c = (1 - lr*a)**t (p_0 - c)."""
    return np.array([sum(0.5 * a * (1 - lr * a) ** (2 * t) * np.sum((p - c) ** 2)
                         for a, p, c, lr in zip(curvatures, params0, centres, lrs))
                     for t in range(n_steps)])


def _expect_losses(losses, n_steps, what):
    expect(isinstance(losses, list), f"{what} is a {type(losses).__name__}, expected a list of "
           f"{n_steps} losses.")
    expect(len(losses) == n_steps, f"{what} has {len(losses)} entries, expected n_steps="
           f"{n_steps} (one loss per step).")
    return np.array([expect_scalar(x, what=f"{what}[{i}]") for i, x in enumerate(losses)])


@exposes("step")
class _RecordingSGD:
    """The grader's optimizer for run_optimizer: SGD that records what step receives."""

    def __init__(self, params, lr):
        self.lr = lr
        self.steps = []

    def step(self, params, grads):
        self.steps.append((list(params), grads))
        for p, g in zip(params, grads):
            p -= self.lr * g


@given(seed=st.integers(0, 2**16), n_steps=st.integers(1, 6), lr=floats(0.05, 0.5))
@example(seed=1, n_steps=3, lr=0.1)
def test_run_optimizer_records_the_loss_before_each_step(impl, seed, n_steps, lr):
    """run_optimizer returns n_steps losses, each taken at the current params before step(params, grads) with those grads."""
    rng = np.random.default_rng(seed)
    curvatures = [1.0, 0.5]
    centres = [rng.standard_normal(3), rng.standard_normal(3)]
    params0 = [rng.standard_normal(3) + 1.0, rng.standard_normal(3) - 1.0]
    params = [p.copy() for p in params0]
    arrays = list(params)
    calls = []
    optimizer = _RecordingSGD(params, lr)
    losses = impl.run_optimizer(optimizer, _quadratic(curvatures, centres, calls), params,
                                n_steps)
    observed = _expect_losses(losses, n_steps, "run_optimizer's result")
    expect(len(optimizer.steps) == n_steps,
           f"run_optimizer called optimizer.step {len(optimizer.steps)} times for "
           f"n_steps={n_steps}.")
    expected = _quadratic_losses(curvatures, centres, params0, [lr, lr], n_steps + 1)
    after = None
    if n_steps > 1 and np.allclose(observed, expected[1:], rtol=1e-9):
        after = ("these are the losses after each step: record the loss returned by "
                 "loss_and_grads(params) before calling optimizer.step.")
    expect_close(observed, expected[:-1], what=f"the list of {n_steps} losses", rtol=1e-9,
                 atol=1e-12, diagnosis=after)
    for t, (stepped, grads) in enumerate(optimizer.steps, start=1):
        expect(all(a is b for a, b in zip(stepped, arrays)) and len(stepped) == len(arrays),
               f"step {t} was not given the arrays passed to run_optimizer as params.")
        # The same gradient arrays (the list holding them may be a copy: the contract says
        # nothing about the container).
        latest = next((c for c in reversed(calls[: t + 1]) if len(c[2]) == len(grads)
                       and all(a is b for a, b in zip(c[2], grads))), None)
        expect(latest is not None,
               f"step {t} was not given the grads that loss_and_grads returned for the current "
               "params.")
    expect(len(calls) <= n_steps + 1, f"run_optimizer called loss_and_grads {len(calls)} times "
           f"for n_steps={n_steps} (one call per step is enough).")


@given(seed=st.integers(0, 2**16), n_steps=st.integers(1, 8), lr=floats(0.05, 1.0))
@example(seed=2, n_steps=5, lr=0.5)
def test_run_optimizer_with_your_sgd_follows_the_closed_form(impl, seed, n_steps, lr):
    """run_optimizer with your SGD on 0.5*a*||p - c||**2 gives losses (1 - lr*a)**(2t) * loss_0."""
    rng = np.random.default_rng(seed)
    curvatures = [1.0, 1.5]
    centres = [rng.standard_normal((2, 2)), rng.standard_normal((2, 2))]
    params0 = [rng.standard_normal((2, 2)), rng.standard_normal((2, 2))]
    params = [p.copy() for p in params0]
    calls = []
    optimizer = impl.SGD(params, lr=lr)
    losses = impl.run_optimizer(optimizer, _quadratic(curvatures, centres, calls), params,
                                n_steps)
    observed = _expect_losses(losses, n_steps, "run_optimizer's result")
    expect_close(observed, _quadratic_losses(curvatures, centres, params0, [lr, lr], n_steps),
                 what=f"the list of {n_steps} losses of SGD(lr={lr:g})", rtol=1e-9, atol=1e-12)


def _probe_classes(records):
    """Two grader optimizer classes that record how compare_optimizers uses them."""

    @exposes("step")
    class ProbeSGD:
        def __init__(self, params, **kwargs):
            self.lr = kwargs.get("lr", 0.0)
            self.run = {"class": type(self).__name__, "kwargs": dict(kwargs), "stepped": []}
            records.append(self.run)

        def step(self, params, grads):
            if not self.run["stepped"]:
                self.run["first_values"] = [np.array(p, copy=True) for p in params]
            self.run["stepped"].extend(p for p in params if not any(
                p is q for q in self.run["stepped"]))
            for p, g in zip(params, grads):
                p -= self.lr * g

    class OtherProbe(ProbeSGD):
        pass

    return ProbeSGD, OtherProbe


@given(seed=st.integers(0, 2**16), n_steps=st.integers(1, 5))
@example(seed=3, n_steps=3)
def test_compare_optimizers_runs_every_config_from_a_fresh_copy(impl, seed, n_steps):
    """compare_optimizers builds each (class, kwargs) config, runs it from its own copy of init_params (left unchanged) and returns {name: losses}."""
    rng = np.random.default_rng(seed)
    curvatures = [1.0, 0.5]
    centres = [rng.standard_normal(3), rng.standard_normal(3)]
    init = [rng.standard_normal(3), rng.standard_normal(3)]
    originals = [p.copy() for p in init]
    init_params = list(init)
    records = []
    ProbeSGD, OtherProbe = _probe_classes(records)
    configs = {"slow": (ProbeSGD, {"lr": 0.05}), "fast": (OtherProbe, {"lr": 0.4}),
               "tagged": (ProbeSGD, {"lr": 0.2, "tag": "x"})}
    calls = []
    result = impl.compare_optimizers(_quadratic(curvatures, centres, calls), init_params,
                                     configs, n_steps)
    expect(isinstance(result, dict), f"compare_optimizers returned a "
           f"{type(result).__name__}, expected a dict {{name: losses}}.")
    expect(set(result) == set(configs), f"compare_optimizers returned the keys "
           f"{sorted(map(str, result))}, expected the config names {sorted(configs)}.")
    expect(len(init_params) == 2 and all(a is b for a, b in zip(init_params, init)),
           "compare_optimizers changed the list init_params.")
    for i, (p, q) in enumerate(zip(init, originals)):
        expect(np.array_equal(p, q), f"compare_optimizers changed init_params[{i}].",
               f"now: {fmt(p)}", f"was: {fmt(q)}",
               diagnosis="every run needs its own copy.deepcopy(init_params): a list copy "
                         "(list(...), .copy(), [p for p in ...]) still shares the arrays, "
                         "which the optimizer updates in place.")
    expect(len(records) == len(configs),
           f"compare_optimizers built {len(records)} optimizers for {len(configs)} configs.")
    expected_kwargs = sorted(repr(sorted(kw.items())) for _, kw in configs.values())
    observed_kwargs = sorted(repr(sorted(r["kwargs"].items())) for r in records)
    expect(observed_kwargs == expected_kwargs,
           "the optimizers were not built with the kwargs of their configs.",
           f"built with: {observed_kwargs}", f"configs give: {expected_kwargs}")
    for run in records:
        for p in run["stepped"]:
            expect(not any(p is q for q in init),
                   "an optimizer stepped on the arrays of init_params themselves.",
                   diagnosis="deep-copy init_params for every run.")
            others = [r for r in records if r is not run]
            expect(not any(p is q for r in others for q in r["stepped"]),
                   "two runs updated the same arrays: the second run starts where the first "
                   "stopped.", diagnosis="make the copy inside the loop over configs, one "
                                         "per run.")
        if "first_values" in run:
            for i, (v, q) in enumerate(zip(run["first_values"], originals)):
                expect_close(v, q, what=f"params[{i}] at the start of a run", rtol=0.0,
                             atol=0.0, against="init_params")
    for name, (_, kwargs) in configs.items():
        observed = _expect_losses(result[name], n_steps, f"result[{name!r}]")
        lr = kwargs["lr"]
        expect_close(observed, _quadratic_losses(curvatures, centres, originals, [lr, lr],
                                                 n_steps),
                     what=f"the losses of config {name!r} (lr={lr})", rtol=1e-9, atol=1e-12)


def _momentum_quadratic_losses(curvatures, centres, params0, lr, mu, n_steps):
    """Losses of Momentum (v = mu*v - lr*g; p += v) on the quadratic, from the formula."""
    offsets = [np.array(p - c, dtype=np.float64) for p, c in zip(params0, centres)]
    velocities = [np.zeros_like(d) for d in offsets]
    losses = []
    for _ in range(n_steps):
        losses.append(sum(0.5 * a * np.sum(d ** 2) for a, d in zip(curvatures, offsets)))
        for a, d, v in zip(curvatures, offsets, velocities):
            v *= mu
            v -= lr * a * d
            d += v
    return np.array(losses)


@given(seed=st.integers(0, 2**16), n_steps=st.integers(1, 5))
@example(seed=4, n_steps=4)
@settings(max_examples=examples(15))
def test_compare_optimizers_with_your_optimizers(impl, seed, n_steps):
    """compare_optimizers with your SGD, Momentum and Adam gives each the losses of a separate run_optimizer from init_params (SGD's and Momentum's as their formulas say, Adam's from the initial loss)."""
    rng = np.random.default_rng(seed)
    curvatures = [2.0, 0.5]
    centres = [rng.standard_normal(4), rng.standard_normal(4)]
    init = [rng.standard_normal(4), rng.standard_normal(4)]
    originals = [p.copy() for p in init]
    configs = {"sgd": (impl.SGD, {"lr": 0.1}), "momentum": (impl.Momentum, {"lr": 0.1, "mu": 0.8}),
               "adam": (impl.Adam, {"lr": 0.05})}
    result = impl.compare_optimizers(_quadratic(curvatures, centres, []), init, configs, n_steps)
    expect(isinstance(result, dict) and set(result) == set(configs),
           "compare_optimizers must return a dict with one entry per config name.")
    for i, (p, q) in enumerate(zip(init, originals)):
        expect(np.array_equal(p, q), f"compare_optimizers changed init_params[{i}].",
               diagnosis="deep-copy init_params for every run (copy.deepcopy).")
    # Anchors, from the formulas: SGD's and Momentum's whole runs, and every run's first loss
    # (the loss at init_params). Agreeing with your own run_optimizer alone pays nothing.
    anchors = {"sgd": _quadratic_losses(curvatures, centres, originals, [0.1, 0.1], n_steps),
               "momentum": _momentum_quadratic_losses(curvatures, centres, originals, 0.1, 0.8,
                                                      n_steps),
               "adam": _quadratic_losses(curvatures, centres, originals, [0.0, 0.0], 1)}
    for name, (cls, kwargs) in configs.items():
        observed = _expect_losses(result[name], n_steps, f"result[{name!r}]")
        params = [p.copy() for p in originals]
        alone = impl.run_optimizer(cls(params, **kwargs), _quadratic(curvatures, centres, []),
                                   params, n_steps)
        expected = _expect_losses(alone, n_steps, "run_optimizer's result")
        anchor = anchors[name]
        diagnosis = None
        yours_too = np.allclose(observed, expected, rtol=1e-12, atol=1e-15)
        if not np.isclose(observed[0], anchor[0], rtol=1e-9, atol=1e-12):
            diagnosis = ("the first loss is not the loss at init_params: it is recorded before "
                         "any step, from loss_and_grads(params).")
        elif yours_too:
            kind = {"sgd": "SGD", "momentum": "Momentum", "adam": "Adam"}[name]
            diagnosis = (f"your run_optimizer with your {kind} gives these same losses: "
                         f"{kind} or run_optimizer is off (see their checks).")
        expect_close(observed[:len(anchor)], anchor,
                     what=f"the losses of config {name!r}" + (" (the first one)" if name == "adam"
                                                             else ""),
                     rtol=1e-9, atol=1e-12,
                     against="the loss at init_params" if name == "adam" else "expected",
                     diagnosis=diagnosis)
        expect_close(observed, expected, what=f"the losses of config {name!r}", rtol=1e-12,
                     atol=1e-15, against="a separate run_optimizer from init_params")
