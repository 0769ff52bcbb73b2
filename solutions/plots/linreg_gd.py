"""Feedback plot of linreg_gd: the loss of the student's gradient descent, per iteration.

A course hook of grader.reports.curves (trusted; it calls student code only through the
sandboxed handle it is given). The problem is fixed, so every student is plotted on the same
one: `gradient_descent(X, y, lr=0.05, n_iters=100)` on 40 noisy points of a plane in 3
features.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.course.model import load_course
from grader.reports.curves import items, losses
from grader.reports.plots import YOURS, gaps, loss_axes, loss_curve, reference_legend

GD_ITERS = 100


def _problem() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(load_course().seed)
    X = rng.standard_normal((40, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 0.7 + 0.1 * rng.standard_normal(40)
    return X, y


def trace(impl: Any) -> dict[str, Any]:
    X, y = _problem()
    answer = items(impl.gradient_descent(X.copy(), y.copy(), lr=0.05, n_iters=GD_ITERS), 3,
                   "gradient_descent")
    return {"losses": losses(answer[2], GD_ITERS, "gradient_descent's losses")}


def draw(ax: Any, student: dict[str, Any] | None, reference: dict[str, Any]) -> list[str]:
    if student is None:  # what every student's figure shares
        ref = reference.get("losses", [])
        loss_axes(ax, "linreg_gd: gradient descent (lr 0.05)", "iteration", GD_ITERS, ref)
        ax.plot(range(len(ref)), gaps(ref), "--", color="k", lw=1.5)
        reference_legend(ax, [("yours", YOURS)], "k")
        return []
    notes: list[str] = []
    loss_curve(ax, student, "gradient_descent", notes)
    return notes
