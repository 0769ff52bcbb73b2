"""Feedback plot of optimizers: the losses of the student's SGD, Momentum and Adam.

A course hook of grader.reports.curves (trusted; it calls student code only through the
sandboxed handle it is given). The grader drives 100 steps of the student's SGD (lr 0.1),
Momentum (lr 0.1, mu 0.8) and Adam (lr 0.05) on a quadratic bowl with two parameter arrays of
4 entries and curvatures 2 and 0.5, calling only the constructors and `step`, so a broken
`run_optimizer` does not hide a working optimizer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from grader.course.model import load_course
from grader.reports.curves import guard, losses
from grader.reports.plots import gaps, loss_axes, loss_curve, panel_note, reference_legend

OPT_STEPS = 100
OPTIMIZERS = {"SGD": {"lr": 0.1}, "Momentum": {"lr": 0.1, "mu": 0.8}, "Adam": {"lr": 0.05}}
COLORS = {"SGD": "C0", "Momentum": "C1", "Adam": "C2"}


def _problem() -> tuple[list[np.ndarray], Callable[[list[np.ndarray]], Any]]:
    rng = np.random.default_rng(load_course().seed + 1)
    curvatures = [2.0, 0.5]
    centres = [rng.standard_normal(4), rng.standard_normal(4)]
    init = [rng.standard_normal(4), rng.standard_normal(4)]

    def loss_and_grads(params: list[np.ndarray]) -> tuple[float, list[np.ndarray]]:
        diffs = [np.asarray(p, dtype=float) - c for p, c in zip(params, centres)]
        loss = sum(0.5 * k * float(d @ d) for k, d in zip(curvatures, diffs))
        return loss, [k * d for k, d in zip(curvatures, diffs)]

    return init, loss_and_grads


def _drive(optimizer_class: Any, kwargs: dict) -> list[float | None]:
    init, loss_and_grads = _problem()
    params = [p.copy() for p in init]
    optimizer = optimizer_class(params, **kwargs)
    values: list[float] = []
    for _ in range(OPT_STEPS):
        loss, grads = loss_and_grads(params)
        values.append(loss)
        optimizer.step(params, grads)  # updates the very arrays in `params` (mirrored)
    return losses(values, OPT_STEPS, "the losses")


def trace(impl: Any) -> dict[str, Any]:
    # One panel per optimizer: a broken Momentum leaves SGD and Adam plotted.
    return {name: guard(lambda name=name, kwargs=kwargs: {
        "losses": _drive(getattr(impl, name), kwargs)}) for name, kwargs in OPTIMIZERS.items()}


def draw(ax: Any, student: dict[str, Any] | None, reference: dict[str, Any]) -> list[str]:
    if student is None:
        refs = [reference.get(n, {}).get("losses", []) for n in OPTIMIZERS]
        loss_axes(ax, "optimizers on a quadratic bowl", "step", OPT_STEPS,
                  [v for r in refs for v in r])
        for name, values in zip(OPTIMIZERS, refs):
            ax.plot(range(len(values)), gaps(values), "--", color=COLORS[name], lw=1.2)
        reference_legend(ax, [(n, COLORS[n]) for n in OPTIMIZERS], "grey", ncols=2)
        return []
    notes: list[str] = []
    failed = []
    for name in OPTIMIZERS:
        part = student.get(name, {"error": "not run"} if not student else {"error": "missing"})
        if not loss_curve(ax, part, name, notes, color=COLORS[name], note_in_panel=False):
            failed.append(name)
    if failed:
        panel_note(ax, "not plotted: " + ", ".join(failed))
    return notes
