"""Public checks for exercise 6, learning-rate schedules. The formulas of the stubs' docstrings
(and the exercise contract), evaluated here: no reference needed.

Each schedule check asks for the rate at every step of a drawn range and compares the whole
sequence with the formula, so a constant, an echo of the step or of lr0 earns nothing. The
checks of train_with_schedule hand it a loss whose descent is computed here in closed form
and a schedule of the grader's own (it records its calls), so the losses, the final parameters
and the calls are all anchored to real values.
"""

import math

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from grader.authoring import expect, expect_close, expect_scalar, floats

STEPS_PAST = 6  # steps after the interesting range (the end of decay or warm-up)
NOT_IN_PLACE = ("the arrays passed as params never changed: `p = p - lr*g` builds a new array; "
                "update in place with `p -= lr * g`.")


def _rates(fn, what, steps):
    """fn(step) for each step, each a real number."""
    return np.array([expect_scalar(fn(s), what=f"{what} at step {s}") for s in steps])


def _expect_rates(observed, expected, steps, what, alternatives=()):
    """The sequence of rates against the formula; ALTERNATIVES are (rates, mistake) pairs
    that name the mistake when the observed rates follow them."""
    diagnosis = None
    for rates, mistake in alternatives:
        if np.allclose(observed, rates, rtol=1e-9, atol=1e-15) and \
                not np.allclose(rates, expected, rtol=1e-9, atol=1e-15):
            diagnosis = mistake
            break
    expect_close(observed, expected, what=f"{what} at steps {steps[0]}..{steps[-1]}",
                 rtol=1e-9, atol=1e-15, diagnosis=diagnosis)


@given(lr0=floats(1e-3, 1.0), drop=floats(0.1, 0.9), every=st.integers(1, 8))
@example(lr0=0.1, drop=0.5, every=3)
def test_step_decay_matches_the_formula(impl, lr0, drop, every):
    """step_decay(lr0, step, drop, every) is lr0 * drop ** (step // every) at every step."""
    steps = list(range(0, 4 * every + STEPS_PAST))
    observed = _rates(lambda s: impl.step_decay(lr0, s, drop=drop, every=every),
                      "step_decay", steps)
    expected = np.array([lr0 * drop ** (s // every) for s in steps])
    _expect_rates(observed, expected, steps, "step_decay", [
        (np.array([lr0 * drop ** (s / every) for s in steps]),
         "the exponent is step / every, a fraction: use integer division step // every."),
        (np.array([lr0 * drop ** (s // every + 1) for s in steps]),
         "the first drop comes at step 0: the rate is lr0 for steps 0..every-1."),
        (np.array([lr0 * drop ** ((s + 1) // every) for s in steps]),
         "the drops come one step early: steps count from 0, the exponent is step // every."),
    ])


@given(lr0=floats(1e-3, 1.0))
@example(lr0=0.1)
def test_step_decay_defaults_are_drop_half_every_10(impl, lr0):
    """step_decay(lr0, step) halves the rate every 10 steps (drop=0.5, every=10)."""
    steps = list(range(0, 35))
    observed = _rates(lambda s: impl.step_decay(lr0, s), "step_decay(lr0, step)", steps)
    expected = np.array([lr0 * 0.5 ** (s // 10) for s in steps])
    _expect_rates(observed, expected, steps, "step_decay with its defaults")


def _cosine(lr0, s, total, lr_min):
    t = min(s, total)
    return lr_min + (lr0 - lr_min) * (1 + math.cos(math.pi * t / total)) / 2


@given(lr0=floats(1e-2, 1.0), floor=st.sampled_from([0.0, 0.1, 0.5]),
       total=st.integers(1, 40))
@example(lr0=0.1, floor=0.1, total=10)
def test_cosine_annealing_matches_the_formula(impl, lr0, floor, total):
    """cosine_annealing(lr0, step, total_steps, lr_min) is lr_min + (lr0 - lr_min)(1 + cos(pi t/total_steps))/2 with t = min(step, total_steps)."""
    lr_min = floor * lr0
    steps = list(range(0, total + STEPS_PAST))
    observed = _rates(lambda s: impl.cosine_annealing(lr0, s, total, lr_min=lr_min),
                      "cosine_annealing", steps)
    expected = np.array([_cosine(lr0, s, total, lr_min) for s in steps])
    _expect_rates(observed, expected, steps, "cosine_annealing", [
        (np.array([lr_min + (lr0 - lr_min) * (1 + math.cos(math.pi * s / total)) / 2
                   for s in steps]),
         "after total_steps the rate rises again: use t = min(step, total_steps)."),
        (np.array([lr0 * (1 + math.cos(math.pi * min(s, total) / total)) / 2 for s in steps]),
         "lr_min is ignored: the rate falls to lr_min, not to 0."),
        (np.array([lr_min + (lr0 - lr_min) * (1 + math.cos(math.pi * min(s, total) / total))
                   for s in steps]),
         "the factor 1/2 is missing: (1 + cos) runs from 2 to 0."),
    ])


@given(lr0=floats(1e-2, 1.0), total=st.integers(1, 40))
@example(lr0=0.1, total=10)
def test_cosine_annealing_starts_at_lr0_and_ends_at_lr_min(impl, lr0, total):
    """cosine_annealing gives lr0 at step 0 and lr_min (default 0) at total_steps and after."""
    lr_min = 0.25 * lr0
    for s, expected, what in [
            (0, lr0, "at step 0"),
            (total, lr_min, f"at step total_steps={total}"),
            (total + 7, lr_min, f"at step {total + 7}, after total_steps={total}")]:
        expect_close(impl.cosine_annealing(lr0, s, total, lr_min=lr_min), expected,
                     what=f"cosine_annealing(lr0={lr0:g}, ..., lr_min={lr_min:g}) {what}",
                     rtol=1e-9, atol=1e-15)
    expect_close(impl.cosine_annealing(lr0, total, total), 0.0,
                 what=f"cosine_annealing with its default lr_min at step total_steps={total}",
                 rtol=0, atol=1e-12 * lr0)


@given(lr0=floats(1e-3, 1.0), warmup=st.integers(1, 20))
@example(lr0=0.1, warmup=5)
def test_linear_warmup_matches_the_formula(impl, lr0, warmup):
    """linear_warmup(lr0, step, warmup_steps) is lr0 * min(1, (step + 1) / warmup_steps)."""
    steps = list(range(0, warmup + STEPS_PAST))
    observed = _rates(lambda s: impl.linear_warmup(lr0, s, warmup), "linear_warmup", steps)
    expected = np.array([lr0 * min(1.0, (s + 1) / warmup) for s in steps])
    _expect_rates(observed, expected, steps, "linear_warmup", [
        (np.array([lr0 * min(1.0, s / warmup) for s in steps]),
         "the rate is 0 at step 0: steps count from 0, use (step + 1) / warmup_steps."),
        (np.array([lr0 * (s + 1) / warmup for s in steps]),
         "the rate keeps growing after the warm-up: cap it with min(1, ...)."),
    ])


class _Quadratic:
    """loss(params) = sum_i 0.5 * a_i * ||p_i - c_i||**2 with its gradients; records calls."""

    def __init__(self, curvatures, centres):
        self.curvatures, self.centres, self.calls = curvatures, centres, 0

    def __call__(self, params):
        self.calls += 1
        loss = sum(0.5 * a * float(np.sum((p - c) ** 2))
                   for a, p, c in zip(self.curvatures, params, self.centres))
        return loss, [a * (p - c) for a, p, c in zip(self.curvatures, params, self.centres)]


def _descent(curvatures, centres, params0, rates):
    """The losses and final params of p -= rate_i * a * (p - c), computed here."""
    params = [p.copy() for p in params0]
    losses = []
    for lr in rates:
        losses.append(sum(0.5 * a * float(np.sum((p - c) ** 2))
                          for a, p, c in zip(curvatures, params, centres)))
        for a, p, c in zip(curvatures, params, centres):
            p -= lr * a * (p - c)
    return losses, params


class _Schedule:
    """The grader's schedule: the rates of a list, and the steps it was asked for."""

    def __init__(self, rates):
        self.rates, self.asked = rates, []

    def __call__(self, step):
        self.asked.append(step)
        return self.rates[step] if isinstance(step, int) and 0 <= step < len(self.rates) \
            else 0.0


def _problem(seed, n_steps):
    rng = np.random.default_rng(seed)
    curvatures = [1.0, 0.5]
    centres = [rng.standard_normal(3), rng.standard_normal((2, 2))]
    params0 = [rng.standard_normal(3) + 1.0, rng.standard_normal((2, 2)) - 1.0]
    rates = [float(r) for r in rng.uniform(0.05, 0.9, n_steps)]
    return curvatures, centres, params0, rates


def _train(impl, seed, n_steps):
    curvatures, centres, params0, rates = _problem(seed, n_steps)
    params = [p.copy() for p in params0]
    arrays = list(params)
    loss, schedule = _Quadratic(curvatures, centres), _Schedule(rates)
    losses = impl.train_with_schedule(loss, params, schedule, n_steps)
    expect(isinstance(losses, list) and len(losses) == n_steps,
           f"train_with_schedule returned {type(losses).__name__} "
           f"{'of length ' + str(len(losses)) if isinstance(losses, list) else ''}; expected "
           f"a list of n_steps={n_steps} losses.")
    observed = np.array([expect_scalar(x, what=f"loss {i}") for i, x in enumerate(losses)])
    expected, final = _descent(curvatures, centres, params0, rates)
    return observed, np.array(expected), arrays, final, schedule, loss, rates


@given(seed=st.integers(0, 2**16), n_steps=st.integers(1, 8))
@example(seed=1, n_steps=5)
def test_train_with_schedule_follows_gradient_descent(impl, seed, n_steps):
    """train_with_schedule records the loss before each step and moves every parameter in place by -schedule(i) * grad."""
    observed, expected, arrays, final, _, _, rates = _train(impl, seed, n_steps)
    curvatures, centres, params0, _ = _problem(seed, n_steps)
    moved = np.concatenate([a.ravel() for a in arrays])
    unmoved = np.array_equal(moved, np.concatenate([p.ravel() for p in params0]))
    diagnosis = None
    if unmoved:
        diagnosis = NOT_IN_PLACE
    elif n_steps > 1:
        after, _ = _descent(curvatures, centres, params0, rates + [0.0])
        shifted, _ = _descent(curvatures, centres, params0, rates[1:] + [0.0])
        if np.allclose(observed, after[1:], rtol=1e-9):
            diagnosis = ("these are the losses after each step: record the loss returned by "
                         "loss_and_grads(params) before the update.")
        elif np.allclose(observed, shifted, rtol=1e-9):
            diagnosis = ("step i used the rate schedule(i + 1): steps count from 0, the first "
                         "update uses schedule(0).")
    expect_close(observed, expected, what=f"the list of {n_steps} losses", rtol=1e-9,
                 atol=1e-12, diagnosis=diagnosis)
    expect_close(moved, np.concatenate([p.ravel() for p in final]),
                 what="the arrays given as params, after training", rtol=1e-9, atol=1e-12,
                 diagnosis=NOT_IN_PLACE if unmoved else None)


@given(seed=st.integers(0, 2**16), n_steps=st.integers(1, 8))
@example(seed=2, n_steps=4)
def test_train_with_schedule_calls_schedule_once_per_step_in_order(impl, seed, n_steps):
    """train_with_schedule asks schedule(i) exactly once for each step i = 0, 1, ..., n_steps-1, in order, and loss_and_grads once per step."""
    observed, expected, _, _, schedule, loss, _ = _train(impl, seed, n_steps)
    # Pays only with the right losses: a loop that asks the schedule and does nothing else
    # earns nothing here.
    expect_close(observed, expected, what=f"the list of {n_steps} losses", rtol=1e-9,
                 atol=1e-12)
    expect(schedule.asked == list(range(n_steps)),
           f"schedule was called with {schedule.asked[:12]}"
           f"{'...' if len(schedule.asked) > 12 else ''}; expected 0, 1, ..., {n_steps - 1}, "
           "once each, in order.")
    expect(loss.calls <= n_steps + 1,
           f"loss_and_grads was called {loss.calls} times for n_steps={n_steps} (one call per "
           "step is enough).")
