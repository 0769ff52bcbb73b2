"""Hidden checks for exercise 6, learning-rate schedules: agreement with the reference, on
inputs students don't see (far steps, the edge values of every hyperparameter, and training
on the course's linear-regression problem)."""

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from grader.authoring import expect, expect_close, expect_scalar, floats, reference

ref = reference("lr_schedules")


@given(lr0=floats(1e-4, 10.0), step=st.integers(0, 10_000), every=st.integers(1, 50),
       drop=st.sampled_from([1.0, 0.999, 0.5, 0.01]), total=st.integers(1, 500),
       floor=st.sampled_from([0.0, 0.3, 1.0]), warmup=st.integers(1, 500))
@example(lr0=1.0, step=0, every=1, drop=1.0, total=1, floor=1.0, warmup=1)
@example(lr0=0.1, step=9_999, every=1, drop=0.999, total=3, floor=0.0, warmup=10_000)
def test_schedules_match_reference_at_any_step(impl, lr0, step, every, drop, total, floor,
                                               warmup):
    """step_decay, cosine_annealing and linear_warmup agree with the reference at any step, with every=1, drop=1, lr_min=lr0 and one-step warm-ups included."""
    lr_min = floor * lr0
    for name, args, kwargs in [
            ("step_decay", (lr0, step), {"drop": drop, "every": every}),
            ("cosine_annealing", (lr0, step, total), {"lr_min": lr_min}),
            ("linear_warmup", (lr0, step, warmup), {})]:
        expected = getattr(ref, name)(*args, **kwargs)
        what = f"{name}{args} with {kwargs}" if kwargs else f"{name}{args}"
        expect_close(getattr(impl, name)(*args, **kwargs), expected, what=what, rtol=1e-9,
                     atol=1e-300)


def _linear_regression(seed):
    """The course's linear-regression problem (exercise 3): 40 noisy points of a plane."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (40, 3))
    y = X @ np.array([2.0, -1.0, 0.5]) + 0.3 + 0.1 * rng.standard_normal(40)

    def loss_and_grads(params):
        w, b = params
        r = X @ w + b[0] - y
        return float(np.mean(r ** 2)), [(2 / 40) * (X.T @ r), np.array([(2 / 40) * r.sum()])]

    return loss_and_grads


@given(seed=st.integers(0, 2**16), n_steps=st.integers(1, 40),
       kind=st.sampled_from(["step", "cosine", "warmup"]), lr0=floats(0.05, 0.5))
@example(seed=0, n_steps=30, kind="cosine", lr0=0.3)
def test_training_on_linear_regression_matches_reference(impl, seed, n_steps, kind, lr0):
    """train_with_schedule on the course's linear-regression problem gives the reference's losses and parameters with the reference's schedules."""
    schedule = {"step": lambda s: ref.step_decay(lr0, s, 0.5, 5),
                "cosine": lambda s: ref.cosine_annealing(lr0, s, n_steps, 0.01),
                "warmup": lambda s: ref.linear_warmup(lr0, s, 4)}[kind]
    start = [np.zeros(3), np.zeros(1)]
    theirs = [p.copy() for p in start]
    ours = [p.copy() for p in start]
    losses = impl.train_with_schedule(_linear_regression(seed), theirs, schedule, n_steps)
    expected = ref.train_with_schedule(_linear_regression(seed), ours, schedule, n_steps)
    expect(isinstance(losses, list) and len(losses) == n_steps,
           f"train_with_schedule must return a list of n_steps={n_steps} losses.")
    observed = np.array([expect_scalar(x, what=f"loss {i}") for i, x in enumerate(losses)])
    expect_close(observed, np.array(expected), what=f"the losses with a {kind} schedule",
                 rtol=1e-9, atol=1e-12)
    expect_close(np.concatenate(theirs), np.concatenate(ours),
                 what="the trained parameters (w, b)", rtol=1e-9, atol=1e-12)
