"""Feedback plot of lr_schedules: the student's three schedules, and training driven by them.

A course hook of grader.reports.curves (trusted; it calls student code only through the
sandboxed handle it is given). Left: the rates of the student's step_decay (lr0 0.2, halved
every 25 steps), cosine_annealing (lr0 0.2 over 80 steps, then its floor) and linear_warmup
(lr0 0.2, 10 steps) for steps 0..99. Right: the losses of the student's train_with_schedule
on a fixed linear-regression problem with each of those schedules; the schedule handed to it
is the grader's (the reference's formula), so a broken schedule does not hide a working loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.course.model import load_course, reference
from grader.reports.curves import guard, losses, numbers
from grader.reports.plots import gaps, loss_axes, loss_curve, panel_note, reference_legend

PANELS = 2
STEPS = 100
LR0 = 0.2
SCHEDULES = {
    "step decay": ("step_decay", lambda s: (LR0, s), {"drop": 0.5, "every": 25}),
    "cosine": ("cosine_annealing", lambda s: (LR0, s, 80), {}),
    "warm-up": ("linear_warmup", lambda s: (LR0, s, 10), {}),
}
COLORS = {"step decay": "C0", "cosine": "C1", "warm-up": "C2"}


def _problem() -> Any:
    rng = np.random.default_rng(load_course().seed + 6)
    X = rng.uniform(-1.0, 1.0, (40, 3))
    y = X @ np.array([2.0, -1.0, 0.5]) + 0.3 + 0.1 * rng.standard_normal(40)

    def loss_and_grads(params: list[np.ndarray]) -> tuple[float, list[np.ndarray]]:
        w, b = params
        r = X @ w + b[0] - y
        return float(np.mean(r ** 2)), [(2 / 40) * (X.T @ r), np.array([(2 / 40) * r.sum()])]

    return loss_and_grads


def _rates(impl: Any, name: str, args: Any, kwargs: dict) -> dict[str, Any]:
    fn = getattr(impl, name)
    values = numbers([fn(*args(s), **kwargs) for s in range(STEPS)], f"{name}'s rates")
    return {"rates": [float(v) for v in values]}


def _train(impl: Any, name: str, args: Any, kwargs: dict) -> dict[str, Any]:
    ref = reference("lr_schedules")
    params = [np.zeros(3), np.zeros(1)]
    values = impl.train_with_schedule(
        _problem(), params, lambda s: getattr(ref, name)(*args(s), **kwargs), STEPS)
    return {"losses": losses(values, STEPS, "train_with_schedule's losses")}


def trace(impl: Any) -> dict[str, Any]:
    return {label: {"schedule": guard(lambda n=n, a=a, k=k: _rates(impl, n, a, k)),
                    "training": guard(lambda n=n, a=a, k=k: _train(impl, n, a, k))}
            for label, (n, a, k) in SCHEDULES.items()}


def draw(ax: list[Any], student: dict[str, Any] | None,
         reference: dict[str, Any]) -> list[str]:
    rates_ax, loss_ax = ax
    if student is None:
        rates_ax.set_title("lr_schedules: your schedules (dashed: reference)", fontsize=11)
        rates_ax.set_xlim(0, STEPS - 1)
        rates_ax.set_ylim(0, LR0 * 1.15)
        rates_ax.set_xlabel("step")
        rates_ax.set_ylabel("learning rate")
        rates_ax.grid(True, alpha=0.3)
        refs = [reference.get(label, {}).get("training", {}).get("losses", [])
                for label in SCHEDULES]
        loss_axes(loss_ax, "train_with_schedule on linear regression", "step", STEPS,
                  [v for r in refs for v in r])
        for label, values in zip(SCHEDULES, refs):
            rates = reference.get(label, {}).get("schedule", {}).get("rates", [])
            rates_ax.plot(range(len(rates)), gaps(rates), "--", color=COLORS[label], lw=1.2)
            loss_ax.plot(range(len(values)), gaps(values), "--", color=COLORS[label], lw=1.2)
        reference_legend(rates_ax, [(label, COLORS[label]) for label in SCHEDULES], "grey")
        return []
    notes: list[str] = []
    lost_rates, lost_losses = [], []
    for label, (name, _, _) in SCHEDULES.items():
        part = student.get(label, {})
        schedule = part.get("schedule", {"error": "not run"})
        if schedule.get("rates"):
            rates_ax.plot(range(len(schedule["rates"])), gaps(schedule["rates"]),
                          color=COLORS[label], lw=1.8)
        else:
            notes.append(f"{name}: not plotted: {schedule.get('error', 'no rates')}")
            lost_rates.append(label)
        if not loss_curve(loss_ax, part.get("training", {"error": "not run"}),
                          f"train_with_schedule ({label})", notes, color=COLORS[label],
                          note_in_panel=False):
            lost_losses.append(label)
    if lost_rates:
        panel_note(rates_ax, "not plotted: " + ", ".join(lost_rates))
    if lost_losses:
        panel_note(loss_ax, "not plotted: " + ", ".join(lost_losses))
    return notes
