"""Pictures for the reports, drawn with matplotlib's Agg canvas (no display, no pyplot state).

Per student (`StudentFigure`), four panels on the problems of grader.reports.curves, the
student's solid and the reference's dashed: the gradient-descent loss of linreg_gd, the
losses of their SGD, Momentum and Adam, the XOR training loss, and the XOR network's
decision regions (their p(x) as colour, the reference's p = 0.5 boundary dashed, the eight
training points on top).

Speed: a class of a thousand needs a thousand figures, and building one from scratch costs
about 250 ms. Everything that is the same for every student (axes, ticks, labels, legends,
the reference's curves) is drawn ONCE; each student then only restores that background and
draws their own artists onto it (matplotlib's blitting), about 10 ms a figure including the
PNG encoding. The axes limits are therefore fixed by the reference's curves, generously: a
student's curve that leaves them is clipped, and the figure's notes say so (a diverging loss
is exactly what the student should see).

No text drawn here comes from a student except through the notes, which are returned for the
HTML page (escaped there) and drawn with math parsing off.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from PIL import Image

from grader.reports.curves import GD_ITERS, GRID, OPT_STEPS, OPTIMIZERS, XOR_EVERY

DPI = 72
COLORS = {"SGD": "C0", "Momentum": "C1", "Adam": "C2"}
YOURS = "C3"


def png_bytes(canvas: FigureCanvasAgg) -> bytes:
    """The canvas' current pixels as a 256-colour PNG: plots have few colours, and a palette
    image encodes in about half the time of RGB at under half the size (measured: 4 ms and
    30 kB against 7 ms and 68 kB for a feedback figure), with no visible difference."""
    width, height = canvas.get_width_height()
    image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    out = io.BytesIO()
    image.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE).save(
        out, format="PNG", compress_level=1)
    return out.getvalue()


def _limits(values: Sequence[float | None]) -> tuple[float, float]:
    finite = [v for v in values if v is not None and v > 0 and math.isfinite(v)]
    if not finite:
        return 1e-6, 1e3
    return max(min(finite) / 30, 1e-14), max(finite) * 100


class StudentFigure:
    """One figure, reused for every student: the reference drawn once, the student per call."""

    def __init__(self, reference: dict[str, Any]) -> None:
        self.figure = Figure(figsize=(10, 6.4), dpi=DPI, layout="constrained")
        self.canvas = FigureCanvasAgg(self.figure)
        (gd, opt), (xl, xr) = self.figure.subplots(2, 2)
        self.axes = {"linreg_gd": gd, "optimizers": opt, "xor_loss": xl, "xor_regions": xr}
        self._lines: dict[str, Line2D] = {}
        self._notes: dict[str, Any] = {}

        ref = reference["linreg_gd"].get("losses", [])
        self._loss_axes(gd, "linreg_gd: gradient descent (lr 0.05)", "iteration", GD_ITERS, ref)
        gd.plot(range(len(ref)), _gaps(ref), "--", color="k", lw=1.5)
        self._lines["linreg_gd"] = gd.plot([], [], color=YOURS, lw=1.8, animated=True)[0]
        gd.legend(handles=[Line2D([], [], color=YOURS, label="yours"),
                           Line2D([], [], color="k", ls="--", label="reference")],
                  loc="upper right", fontsize=9)

        refs = [reference["optimizers"].get(n, {}).get("losses", []) for n in OPTIMIZERS]
        self._loss_axes(opt, "optimizers on a quadratic bowl", "step", OPT_STEPS,
                        [v for r in refs for v in r])
        for name, losses in zip(OPTIMIZERS, refs):
            opt.plot(range(len(losses)), _gaps(losses), "--", color=COLORS[name], lw=1.2)
            self._lines[name] = opt.plot([], [], color=COLORS[name], lw=1.8, animated=True)[0]
        opt.legend(handles=[Line2D([], [], color=COLORS[n], label=n) for n in OPTIMIZERS]
                   + [Line2D([], [], color="grey", ls="--", label="reference")],
                   loc="upper right", fontsize=9, ncols=2)

        ref_xor = reference["xor_net"]
        xor_losses = ref_xor.get("losses", [])
        self._loss_axes(xl, "xor_net: training loss (lr 2, seed 0)", "epoch",
                        len(xor_losses) * XOR_EVERY, xor_losses)
        xl.plot(np.arange(len(xor_losses)) * XOR_EVERY, _gaps(xor_losses), "--", color="k",
                lw=1.5)
        self._lines["xor_loss"] = xl.plot([], [], color=YOURS, lw=1.8, animated=True)[0]

        xr.set_title("xor_net: your decision regions (dashed: reference)", fontsize=11)
        xr.set_xlim(GRID[0], GRID[-1])
        xr.set_ylim(GRID[0], GRID[-1])
        xr.set_aspect("equal")
        self._image = xr.imshow(np.full((GRID.size, GRID.size), 0.5),
                                extent=(GRID[0], GRID[-1], GRID[0], GRID[-1]), origin="lower",
                                vmin=0, vmax=1, cmap="RdBu_r", alpha=0.75, animated=True)
        self.figure.colorbar(self._image, ax=xr, label="p(class 1)", shrink=0.85)
        self._overlay = []
        if "grid" in ref_xor:
            self._overlay.append(xr.contour(GRID, GRID, np.array(ref_xor["grid"], dtype=float),
                                            levels=[0.5], colors="k", linestyles="--",
                                            linewidths=1.2, animated=True))
        points = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [.1, .1], [.1, .9], [.9, .1],
                           [.9, .9]])
        labels = np.array([0, 1, 1, 0, 0, 1, 1, 0])
        self._overlay.append(xr.scatter(points[:, 0], points[:, 1], c=labels, cmap="RdBu_r",
                                        vmin=0, vmax=1, edgecolors="k", s=45, zorder=3,
                                        animated=True))
        for key, ax in self.axes.items():
            self._notes[key] = ax.text(0.5, 0.5, "", transform=ax.transAxes, ha="center",
                                       va="center", fontsize=11, wrap=True, parse_math=False,
                                       animated=True, bbox={"facecolor": "white",
                                                            "edgecolor": "#b00", "alpha": 0.9})
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)

    @staticmethod
    def _loss_axes(ax: Any, title: str, xlabel: str, n: int, reference: Sequence[Any]) -> None:
        ax.set_title(title, fontsize=11)
        ax.set_yscale("log")
        ax.set_xlim(0, max(n - 1, 1))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # iterations are whole
        ax.set_ylim(*_limits(reference))
        ax.set_xlabel(xlabel)
        ax.set_ylabel("loss")
        ax.grid(True, which="major", alpha=0.3)

    def render(self, curves: dict[str, Any] | None) -> tuple[bytes, list[str]]:
        """The student's figure as PNG, and notes on what could not be drawn or was clipped."""
        self.canvas.restore_region(self._background)
        curves = curves or {}
        notes: list[str] = []
        for key in self._notes:
            self._notes[key].set_text("")

        gd = curves.get("linreg_gd", {})
        self._curve("linreg_gd", "linreg_gd", gd, "gradient_descent", notes)
        opt = curves.get("optimizers", {})
        failed = []
        for name in OPTIMIZERS:
            part = opt.get(name, {"error": "not run"} if not opt else {"error": "missing"})
            if not self._curve(name, "optimizers", part, name, notes, note_in_panel=False):
                failed.append(name)
        if failed:
            self._notes["optimizers"].set_text("not plotted: " + ", ".join(failed))
        xor = curves.get("xor_net", {})
        self._curve("xor_loss", "xor_loss", xor, "train", notes)
        if "grid" in xor:
            grid = np.array([[np.nan if v is None else v for v in row] for row in xor["grid"]],
                            dtype=float)
            self._image.set_data(np.ma.masked_invalid(grid))
            self.axes["xor_regions"].draw_artist(self._image)
        else:
            self._notes["xor_regions"].set_text("not plotted")
        for artist in self._overlay:
            self.axes["xor_regions"].draw_artist(artist)
        for key, text in self._notes.items():
            if text.get_text():
                self.axes[key].draw_artist(text)
        return png_bytes(self.canvas), notes

    def _curve(self, line: str, panel: str, part: dict[str, Any], what: str,
               notes: list[str], note_in_panel: bool = True) -> bool:
        losses = part.get("losses")
        if not losses:
            why = part.get("error", "no curve was recorded")
            notes.append(f"{what}: not plotted: {why}")
            if note_in_panel:
                self._notes[panel].set_text("not plotted")
            return False
        step = XOR_EVERY if line == "xor_loss" else 1
        values = _gaps(losses)
        artist = self._lines[line]
        artist.set_data(np.arange(len(values)) * step, values)
        self.axes[panel].draw_artist(artist)
        bad = [i for i, v in enumerate(losses) if v is None]
        if bad:
            notes.append(f"{what}: the loss is not a finite number from step {bad[0] * step} on")
        top = self.axes[panel].get_ylim()[1]
        finite = [v for v in losses if v is not None]
        if finite and max(finite) > top:
            notes.append(f"{what}: the loss reaches {max(finite):.3g}, above the plot")
        return True


def _gaps(values: Sequence[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


# ---------------------------------------------------------------------------- the class


def score_histogram_figure(final_percent: Sequence[float]) -> FigureCanvasAgg:
    """The class's histogram of final scores, drawn: its y axis counts students, so its ticks
    are whole numbers (matplotlib would put 0.5 students between them in a small class)."""
    figure = Figure(figsize=(7, 3.2), dpi=DPI, layout="constrained")
    canvas = FigureCanvasAgg(figure)
    ax = figure.subplots()
    ax.hist(np.asarray(final_percent, dtype=float), bins=np.arange(0, 105, 5), color="C0",
            edgecolor="white")
    ax.set_xlim(0, 100)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("final score (% of the points, after late penalties)")
    ax.set_ylabel("students")
    ax.set_title("Score distribution", fontsize=11)
    canvas.draw()
    return canvas


def score_histogram(final_percent: Sequence[float]) -> bytes:
    return png_bytes(score_histogram_figure(final_percent))


def difficulty_chart(exercises: Sequence[str], mean_percent: Sequence[float],
                     full_marks_percent: Sequence[float]) -> bytes:
    figure = Figure(figsize=(7, 3.2), dpi=DPI, layout="constrained")
    canvas = FigureCanvasAgg(figure)
    ax = figure.subplots()
    x = np.arange(len(exercises))
    ax.bar(x - 0.2, mean_percent, width=0.4, label="mean score %", color="C0")
    ax.bar(x + 0.2, full_marks_percent, width=0.4, label="full marks, % of students",
           color="C2")
    ax.set_xticks(x, [str(e) for e in exercises])
    ax.set_ylim(0, 100)
    ax.set_title("Per-exercise difficulty", fontsize=11)
    ax.legend(fontsize=9)
    canvas.draw()
    return png_bytes(canvas)
