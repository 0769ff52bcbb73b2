"""Recognising known mistakes from observed and expected numbers.

Checks know the context (a batch size, a learning rate); this module knows the arithmetic
shape of the usual mistakes: a constant factor, a flipped sign, a transpose, a constant
offset, zeros where nothing was computed. `likely` maps a factor to the mistake that
produces it in the check's context, e.g. ``{4: "did you forget to divide by the batch size N=4?"}``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def diagnose(observed: np.ndarray, expected: np.ndarray,
             likely: Mapping[float, str] | None = None) -> str | None:
    """Return one sentence naming the likely mistake, or None if nothing is recognised."""
    o = np.asarray(observed, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if o.shape != e.shape or o.size == 0 or not (np.all(np.isfinite(o)) and np.all(np.isfinite(e))):
        return None
    likely = dict(likely or {})
    scale = float(np.max(np.abs(e))) or 1.0

    if np.max(np.abs(e)) > 0 and np.all(o == 0):
        return "every entry is 0: is the computation (or the update) missing?"

    factor = _constant_factor(o, e)
    if factor is not None:
        for k, why in likely.items():
            if np.isclose(factor, k, rtol=1e-6):
                return f"every entry is {_fmt_factor(factor)} times the expected: {why}"
        if np.isclose(factor, -1.0, rtol=1e-6):
            return "the sign is flipped: every entry is the negative of the expected value."
        if abs(factor - 1.0) > 1e-3:
            n = round(factor)
            if n >= 2 and np.isclose(factor, n, rtol=1e-6):
                return f"every entry is exactly {n} times too large: a missing division by {n}?"
            n = round(1.0 / factor) if factor != 0 else 0
            if n >= 2 and np.isclose(1.0 / factor, n, rtol=1e-6):
                return f"every entry is exactly {n} times too small: an extra factor 1/{n}?"
            if o.size >= 2:  # any two single numbers are "a constant factor" apart
                return (f"every entry is {factor:.6g} times the expected value: "
                        "a wrong constant factor?")

    if o.ndim == 2 and o.shape[0] == o.shape[1] and o.shape[0] > 1 \
            and np.allclose(o.T, e, rtol=1e-6, atol=1e-9 * scale):
        return "the result is the transpose of the expected one."

    diff = o - e
    if diff.size > 1 and np.ptp(diff) <= 1e-9 * max(scale, float(np.max(np.abs(diff)))):
        return f"every entry is off by the same constant {float(diff.flat[0]):.6g}."

    if o.ndim == 2 and o.shape[0] > 1:
        bad_rows = [i for i in range(o.shape[0])
                    if not np.allclose(o[i], e[i], rtol=1e-6, atol=1e-9 * scale)]
        if 0 < len(bad_rows) < o.shape[0]:
            shown = ", ".join(map(str, bad_rows[:5])) + (", ..." if len(bad_rows) > 5 else "")
            return (f"only some rows are wrong (row {shown} of {o.shape[0]}): is something "
                    "indexed or broadcast across rows by mistake?")
    return None


def likely(*pairs: tuple[float, str]) -> dict[float, str]:
    """Build a `likely` mapping from (factor, mistake) pairs; two mistakes that give the same
    factor are both named."""
    out: dict[float, str] = {}
    for factor, why in pairs:
        factor = float(factor)
        out[factor] = f"{out[factor]} Or: {why}" if factor in out else why
    return out


def _constant_factor(o: np.ndarray, e: np.ndarray) -> float | None:
    """The k with o == k * e to 1e-6, if there is one (and e is not all zero)."""
    ee = float(np.dot(e.ravel(), e.ravel()))
    if ee == 0.0:
        return None
    k = float(np.dot(o.ravel(), e.ravel())) / ee
    if np.linalg.norm(o - k * e) <= 1e-6 * max(np.linalg.norm(o), np.linalg.norm(e)):
        return k
    return None


def _fmt_factor(k: float) -> str:
    return str(round(k)) if np.isclose(k, round(k), rtol=1e-9) else f"{k:.6g}"
