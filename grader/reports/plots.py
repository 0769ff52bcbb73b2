"""Pictures for the reports, drawn with matplotlib's Agg canvas (no display, no pyplot state).

Trusted: it draws traces that grader.reports.curves validated, through the course's plot
hooks (`solutions/plots/<exercise>.py`, trusted course files).

Per student (`StudentFigure`), one panel per plotted exercise (or the PANELS its hook asks
for), two columns, in the order of course_config.py; each hook's `draw(ax, student,
reference)` draws its panels, the student's traces solid and the reference's dashed. The
helpers below (`loss_axes`, `loss_curve`, `panel_note`, `reference_legend`, `gaps`) are for
those hooks.

Speed: a class of a thousand needs a thousand figures, and building one from scratch costs
about 250 ms. Everything that is the same for every student (axes, ticks, labels, legends,
the reference's curves) is drawn ONCE: each hook's `draw(ax, None, reference)`. Each student
then only restores that background and draws their own artists onto it (matplotlib's
blitting), about 10 ms a figure including the PNG encoding: `draw(ax, student, reference)`
adds the student's artists, which are drawn and removed again, together with the artists
the first call made `animated` (drawn over every student's, such as a reference boundary), in
matplotlib's order (zorder, then the order they were added). The axes limits are therefore
fixed by the first call, generously: a student's curve that leaves them is clipped, and the
figure's notes say so (a diverging loss is exactly what the student should see).

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

from grader.reports.curves import panels, plot_hooks

DPI = 72
YOURS = "C3"
COLUMNS = 2
PANEL_WIDTH, PANEL_HEIGHT = 5.0, 3.2  # inches


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
        self.hooks = plot_hooks()
        count = sum(panels(hook) for hook in self.hooks.values())
        rows = max(1, math.ceil(count / COLUMNS))
        self.figure = Figure(figsize=(PANEL_WIDTH * COLUMNS, PANEL_HEIGHT * rows), dpi=DPI,
                             layout="constrained")
        self.canvas = FigureCanvasAgg(self.figure)
        cells = list(np.asarray(self.figure.subplots(rows, COLUMNS)).ravel())
        for spare in cells[count:]:
            spare.remove()
        # Exercise -> its Axes, or the list of them when its hook asks for several panels.
        self.axes: dict[str, Any] = {}
        for ex, hook in self.hooks.items():
            n = panels(hook)
            self.axes[ex] = cells[:n] if n > 1 else cells[0]
            cells = cells[n:]
        self._reference = reference
        for ex, hook in self.hooks.items():
            hook.draw(self.axes[ex], None, reference.get(ex, {}))
        self._all_axes = [ax for ex in self.hooks for ax in _listed(self.axes[ex])]
        self._limits = {id(ax): (ax.get_xlim(), ax.get_ylim()) for ax in self._all_axes}
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)

    def render(self, curves: dict[str, Any] | None) -> tuple[bytes, list[str]]:
        """The student's figure as PNG, and notes on what could not be drawn or was clipped."""
        self.canvas.restore_region(self._background)
        curves = curves or {}
        notes: list[str] = []
        for ex, hook in self.hooks.items():
            axes = _listed(self.axes[ex])
            before = {id(a) for ax in axes for a in ax.get_children()}
            try:
                notes += hook.draw(self.axes[ex], curves.get(ex, {}),
                                   self._reference.get(ex, {})) or []
            finally:
                for ax in axes:
                    xlim, ylim = self._limits[id(ax)]
                    ax.set_xlim(xlim)  # the background's ticks hold for these limits only
                    ax.set_ylim(ylim)
                    new = [a for a in ax.get_children() if id(a) not in before]
                    shown = [a for a in ax.get_children() if a.get_animated() or id(a)
                             not in before]
                    for artist in sorted(shown, key=lambda a: a.get_zorder()):
                        ax.draw_artist(artist)
                    for artist in new:
                        artist.remove()
        return png_bytes(self.canvas), notes


def _listed(axes: Any) -> list[Any]:
    return list(axes) if isinstance(axes, (list, tuple)) else [axes]


# ---------------------------------------------------------------------------- for the hooks


def loss_axes(ax: Any, title: str, xlabel: str, n: int, reference: Sequence[Any]) -> None:
    """A log-scale loss panel of N steps, its y range fixed generously around REFERENCE."""
    ax.set_title(title, fontsize=11)
    ax.set_yscale("log")
    ax.set_xlim(0, max(n - 1, 1))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # iterations are whole
    ax.set_ylim(*_limits(reference))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    ax.grid(True, which="major", alpha=0.3)


def reference_legend(ax: Any, yours: Sequence[tuple[str, str]], reference_color: str,
                     ncols: int = 1) -> None:
    """A legend of the student's lines (label, colour) and one dashed "reference" line."""
    ax.legend(handles=[Line2D([], [], color=color, label=label) for label, color in yours]
              + [Line2D([], [], color=reference_color, ls="--", label="reference")],
              loc="upper right", fontsize=9, ncols=ncols)


def panel_note(ax: Any, text: str) -> None:
    """TEXT boxed in the middle of the panel (e.g. "not plotted"), math parsing off."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=11,
            wrap=True, parse_math=False,
            bbox={"facecolor": "white", "edgecolor": "#b00", "alpha": 0.9})


def loss_curve(ax: Any, part: dict[str, Any], what: str, notes: list[str], *, step: int = 1,
               color: str = YOURS, note_in_panel: bool = True) -> bool:
    """The student's losses of PART ({"losses": [...]} or {"error": why}) as a solid line, one
    point every STEP; what cannot be drawn, and a loss that is not finite or leaves the plot,
    goes into NOTES (and "not plotted" into the panel). False when nothing was drawn."""
    values = part.get("losses")
    if not values:
        why = part.get("error", "no curve was recorded")
        notes.append(f"{what}: not plotted: {why}")
        if note_in_panel:
            panel_note(ax, "not plotted")
        return False
    ax.plot(np.arange(len(values)) * step, gaps(values), color=color, lw=1.8)
    bad = [i for i, v in enumerate(values) if v is None]
    if bad:
        notes.append(f"{what}: the loss is not a finite number from step {bad[0] * step} on")
    top = ax.get_ylim()[1]
    finite = [v for v in values if v is not None]
    if finite and max(finite) > top:
        notes.append(f"{what}: the loss reaches {max(finite):.3g}, above the plot")
    return True


def gaps(values: Sequence[Any]) -> np.ndarray:
    """VALUES as floats, None as NaN (matplotlib leaves a gap)."""
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
