"""Feedback plot of xor_net: the training loss, and the network's decision regions.

A course hook of grader.reports.curves (trusted; it calls student code only through the
sandboxed handle it is given). `train(XOR_X, XOR_Y)` with its defaults (hidden 4, lr 2, 2000
epochs, seed 0), then `forward(params, grid)` on a 41 x 41 grid over [-0.5, 1.5]^2: the
student's p(x) as colour, the reference's p = 0.5 boundary dashed, the eight training points
on top.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.course.model import reference as course_reference
from grader.reports.curves import NotPlotted, items, json_numbers, losses, numbers
from grader.reports.plots import gaps, loss_axes, loss_curve, panel_note

PANELS = 2
XOR_EPOCHS = 2000
XOR_EVERY = 10          # keep every 10th loss: 200 points draw the same curve as 2000
GRID = np.linspace(-0.5, 1.5, 41)
POINTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [.1, .1], [.1, .9], [.9, .1], [.9, .9]])
LABELS = np.array([0, 1, 1, 0, 0, 1, 1, 0])
EXTENT = (GRID[0], GRID[-1], GRID[0], GRID[-1])
IMAGE = {"extent": EXTENT, "origin": "lower", "vmin": 0, "vmax": 1, "cmap": "RdBu_r",
         "alpha": 0.75}


def _grid_points() -> np.ndarray:
    xx, yy = np.meshgrid(GRID, GRID)
    return np.column_stack([xx.ravel(), yy.ravel()])


def trace(impl: Any) -> dict[str, Any]:
    ref = course_reference("xor_net")
    X, Y = np.array(ref.XOR_X, dtype=float), np.array(ref.XOR_Y, dtype=float)
    params, values = items(impl.train(X.copy(), Y.copy(), hidden=4, lr=2.0,
                                      epochs=XOR_EPOCHS, seed=0), 2, "train")
    out: dict[str, Any] = {"losses": losses(values, XOR_EPOCHS, "train's losses")[::XOR_EVERY]}
    if not isinstance(params, dict):
        raise NotPlotted("train must return (params, losses) with params a dict")
    p = items(impl.forward(params, _grid_points()), 2, "forward")[0]
    grid = numbers(p, "forward's p")
    if grid.size != GRID.size ** 2:
        raise NotPlotted(f"forward returned {grid.size} probabilities for {GRID.size ** 2} "
                         "points")
    out["grid"] = json_numbers(np.clip(grid.reshape(GRID.size, GRID.size), 0.0, 1.0), 4)
    return out


def draw(ax: list[Any], student: dict[str, Any] | None,
         reference: dict[str, Any]) -> list[str]:
    loss_ax, regions = ax
    if student is None:
        values = reference.get("losses", [])
        loss_axes(loss_ax, "xor_net: training loss (lr 2, seed 0)", "epoch",
                  len(values) * XOR_EVERY, values)
        loss_ax.plot(np.arange(len(values)) * XOR_EVERY, gaps(values), "--", color="k", lw=1.5)
        regions.set_title("xor_net: your decision regions (dashed: reference)", fontsize=11)
        regions.set_xlim(GRID[0], GRID[-1])
        regions.set_ylim(GRID[0], GRID[-1])
        regions.set_aspect("equal")
        # Never drawn itself (animated): it gives the colour bar its scale.
        scale = regions.imshow(np.full((GRID.size, GRID.size), 0.5), animated=True, **IMAGE)
        scale.set_visible(False)
        regions.figure.colorbar(scale, ax=regions, label="p(class 1)", shrink=0.85)
        # Animated: drawn over each student's regions.
        if "grid" in reference:
            regions.contour(GRID, GRID, np.array(reference["grid"], dtype=float), levels=[0.5],
                            colors="k", linestyles="--", linewidths=1.2, animated=True)
        regions.scatter(POINTS[:, 0], POINTS[:, 1], c=LABELS, cmap="RdBu_r", vmin=0, vmax=1,
                        edgecolors="k", s=45, zorder=3, animated=True)
        return []
    notes: list[str] = []
    loss_curve(loss_ax, student, "train", notes, step=XOR_EVERY)
    if "grid" in student:
        grid = np.array([[np.nan if v is None else v for v in row] for row in student["grid"]],
                        dtype=float)
        regions.imshow(np.ma.masked_invalid(grid), **IMAGE)
    else:
        panel_note(regions, "not plotted")
    return notes
