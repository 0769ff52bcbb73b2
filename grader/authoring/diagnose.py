"""Recognising known mistakes from observed and expected numbers.

Checks know the context (a batch size, a learning rate); this module knows the arithmetic
shape of the usual mistakes: a constant factor, a flipped sign, a transpose, a constant
offset, zeros where nothing was computed, a loss computed as -log(p + eps).
`likely` maps a factor to the mistake that produces it in the check's context, e.g.
``{4: "did you forget to divide by the batch size N=4?"}``.

A hint names a mistake only when the numbers prove it; otherwise it says what was observed.
One comparison cannot tell a factor 2 from "divided by 4 on a batch of 8": `batch_factor_hint`
takes the factors observed at several batch sizes (and class counts) and names the one
mistake that explains all of them, if exactly one does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

# The eps that -log(p + eps) (or a clip of p at eps) is commonly written with.
LOG_EPSILONS = (*(10.0 ** -k for k in range(3, 17)), float(np.finfo(np.float64).eps))


def diagnose(observed: np.ndarray, expected: np.ndarray,
             likely: Mapping[float, str] | None = None) -> str | None:
    """Return one sentence naming the likely mistake, or None if nothing is recognised."""
    o = np.asarray(observed, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if o.shape != e.shape or o.size == 0 or not (np.all(np.isfinite(o)) and np.all(np.isfinite(e))):
        return None
    # A factor of 1 proves nothing (every wrong value is "1 times" a close enough one): a
    # `likely` entry for it, e.g. "divide by N" with N = 1, is never given.
    likely = {k: why for k, why in dict(likely or {}).items() if not _near_one(k)}
    scale = float(np.max(np.abs(e))) or 1.0

    if np.max(np.abs(e)) > 0 and np.all(o == 0):
        return "every entry is 0: is the computation (or the update) missing?"

    if o.size == 1 and o.ndim <= 1 and 0.0 < float(o.flat[0]) < float(e.flat[0]):
        # A loss -log(p) observed as -log(p + eps): only when p + eps explains it to 1e-6.
        hint = log_epsilon_hint(float(o.flat[0]), np.exp(-e.ravel()), float(e.flat[0]))
        if hint is not None:
            return hint

    factor = _constant_factor(o, e)
    if factor is not None and not _near_one(factor):
        for k, why in likely.items():
            if np.isclose(factor, k, rtol=1e-6):
                return f"every entry is {_fmt_factor(factor)} times the expected: {why}"
        if np.isclose(factor, -1.0, rtol=1e-6):
            return "the sign is flipped: every entry is the negative of the expected value."
        # What one comparison shows, without a guess at its cause (a factor 2 may be a
        # missing 1/2, or a division by a fixed 4 on a batch of 8).
        n = round(factor)
        if n >= 2 and np.isclose(factor, n, rtol=1e-6):
            return f"every entry is exactly {n} times too large."
        n = round(1.0 / factor) if factor != 0 else 0
        if n >= 2 and np.isclose(1.0 / factor, n, rtol=1e-6):
            return f"every entry is exactly {n} times too small."
        if abs(factor - 1.0) > 1e-3:
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


def log_epsilon_hint(observed: float, p: np.ndarray | Sequence[float],
                     expected: float | None = None) -> str | None:
    """The hint for a loss computed as mean(-log(p + eps)), or with p clipped at eps, where
    mean(-log(p)) was expected; `p` holds the true probabilities of the correct classes (one
    per example) and `expected` the exact loss when p underflows (default mean(-log(p))).
    None unless exactly one eps in LOG_EPSILONS reproduces `observed` to 1e-6 of its error,
    so a hint is given only when the numbers prove it.

    -log(p + 1e-12) saturates near 27.6 and -log(p + 1e-7) near 16.1 when p underflows.
    """
    probs = np.asarray(p, dtype=np.float64).ravel()
    if probs.size == 0 or not np.all(np.isfinite(probs)) or np.any(probs < 0) \
            or np.any(probs > 1) or not np.isfinite(observed):
        return None
    if expected is None:
        with np.errstate(divide="ignore"):
            expected = float(np.mean(-np.log(probs)))
    if not np.isfinite(expected):
        return None
    slack = 1e-14 * max(1.0, abs(observed), abs(expected))
    tolerance = 1e-6 * abs(observed - expected) + slack
    found: list[tuple[float, str]] = []
    for eps in LOG_EPSILONS:
        forms = []
        for form, value in (("added", float(np.mean(-np.log(probs + eps)))),
                            ("clipped", float(np.mean(-np.log(np.maximum(probs, eps)))))):
            if abs(observed - value) <= tolerance and abs(expected - value) > 1e3 * slack:
                forms.append(form)
        if forms:
            found.append((eps, "both" if len(forms) == 2 else forms[0]))
    if len(found) != 1:
        return None
    eps, form = found[0]
    e, floor = _fmt_eps(eps), f"{-np.log(eps):.4g}"
    fix = "use log-sum-exp: logsumexp(row) - row[y], from the shifted logits."
    if form == "both":
        return (f"the loss saturates at -log({e}) = {floor}: p + {e} (or p clipped at {e}) "
                f"inside the log; {fix}")
    if form == "clipped":
        return (f"the loss is -log of p clipped at {e}: it saturates at -log({e}) = {floor}; "
                f"{fix}")
    return (f"the loss is -log(p + {e}): p + eps inside the log, which saturates at "
            f"-log({e}) = {floor}; {fix}")


def batch_factor_hint(points: Sequence[tuple[int, int | None, float | None]], *,
                      what: str) -> str | None:
    """Name the one mistake that explains the factors observed/expected seen at several batch
    sizes N (and class counts C), or None when none or several do.

    `points` holds (N, C or None, factor) for each comparison; factor None means the values
    were not a constant multiple of the expected ones there (then no factor explains them).
    `what` is the hint's subject, e.g. "the loss" or "every entry" (of an array the check names).
    Candidates: a sum over the batch (factor N), a fixed divisor k (N/k, k >= 2: a hard-coded
    batch size), a division by C instead of N (N/C), by N*C (1/C), by N twice (1/N), and a
    constant factor c (-1: a flipped sign). A factor that equals N at one batch size proves
    nothing about N; factors at two batch sizes tell N from a constant.
    """
    if not points or any(f is None or not np.isfinite(f) for _, _, f in points):
        return None
    pts = [(int(n), c, float(f)) for n, c, f in points]
    if all(_near_one(f) for _, _, f in pts):
        return None
    has_c = all(c is not None and c > 0 for _, c, _ in pts)
    sizes = ", ".join(str(n) for n in sorted({n for n, _, _ in pts}))
    classes = sorted({int(c) for _, c, _ in pts}) if has_c else []
    tried = (f"for every batch size and class count tried (N = {sizes}; C = "
             f"{', '.join(map(str, classes))})" if len(classes) > 1
             else f"for every batch size tried (N = {sizes})")
    n0, _, f0 = pts[0]
    models: list[tuple[Callable[[int, int | None], float], str]] = [
        (lambda n, c: float(n),
         f"{what} is N times the expected {tried}: the 1/N of the mean over the batch is "
         "missing (a sum instead of a mean); divide by the batch size N."),
        (lambda n, c: 1.0 / n,
         f"{what} is 1/N times the expected {tried}: it is divided by the batch size N twice."),
    ]
    k = n0 / f0 if f0 != 0 else 0.0
    if round(k) >= 2 and np.isclose(k, round(k), rtol=1e-6):
        k = round(k)
        models.append((lambda n, c, k=k: n / k,
                       f"{what} is N/{k} times the expected {tried}: it is divided by a fixed "
                       f"{k} instead of the batch size N (a hard-coded batch size); divide by "
                       "the actual N, the number of rows."))
    if has_c:
        models.append((lambda n, c: n / c,
                       f"{what} is N/C times the expected {tried}: it is divided by the number "
                       "of classes C instead of the batch size N."))
        models.append((lambda n, c: 1.0 / c,
                       f"{what} is 1/C times the expected {tried}: it is divided by N*C (all "
                       "entries) instead of by the batch size N."))
    if np.isclose(f0, -1.0, rtol=1e-6):
        models.append((lambda n, c: -1.0,
                       f"{what} is the negative of the expected value {tried}: the sign is "
                       "flipped."))
    elif not _near_one(f0) and f0 != 0:
        models.append((lambda n, c, f0=f0: f0,
                       f"{what} is {_fmt_factor(f0)} times the expected {tried}: a constant "
                       f"factor {_fmt_factor(f0)}, the same whatever N (not the batch size)."))
    fits = [hint for model, hint in models
            if all(np.isclose(f, model(n, c), rtol=1e-6, atol=0.0) for n, c, f in pts)]
    return fits[0] if len(fits) == 1 else None


def constant_factor(observed: np.ndarray, expected: np.ndarray) -> float | None:
    """The k with observed == k * expected to 1e-6 (None if there is none, or if the values
    are not finite, or expected is all zero)."""
    o = np.asarray(observed, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if o.shape != e.shape or o.size == 0 or not (np.all(np.isfinite(o))
                                                  and np.all(np.isfinite(e))):
        return None
    return _constant_factor(o, e)


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


def _fmt_eps(eps: float) -> str:
    k = round(-np.log10(eps))
    return f"1e-{k}" if np.isclose(eps, 10.0 ** -k, rtol=1e-9) else f"{eps:.3g}"


def _near_one(k: float) -> bool:
    return abs(float(k) - 1.0) <= 1e-3


def _fmt_factor(k: float) -> str:
    return str(round(k)) if np.isclose(k, round(k), rtol=1e-9) else f"{k:.6g}"
