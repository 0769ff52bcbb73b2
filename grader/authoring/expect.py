"""Assertions for checks. Each raises a CheckFailure whose text teaches.

Every helper names the value it looks at (`what`, e.g. "dlogits"), so that a failure reads
as a sentence about the student's own function. Values that come from student code are
validated before any arithmetic: exact type, numeric dtype, shape, finiteness.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from grader.authoring.diagnose import diagnose
from grader.authoring.failures import CheckFailure

_NUMERIC_KINDS = "biuf"


def fmt(value: Any, precision: int = 6) -> str:
    """A short, deterministic rendering of a number or an array for feedback."""
    if isinstance(value, np.ndarray):
        return np.array2string(value, precision=precision, separator=", ", threshold=24,
                               edgeitems=3, max_line_width=100, floatmode="maxprec")
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.{precision + 4}g}"
    if isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) for v in value):
        return fmt(np.asarray(value), precision)
    return str(value)


def _kind_of(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    return f"a value of type {type(value).__name__}"


def expect_array(value: Any, *, what: str, shape: tuple[int, ...] | None = None,
                 kind: str = "f", allow_nonfinite: bool = False,
                 nonfinite_hint: str | None = None) -> np.ndarray:
    """Validate that `value` is a NumPy array (kind "f": real numbers, "i": integers).

    Returns a float64 (or int64) copy that the check can use safely.
    """
    if type(value) is not np.ndarray:
        if isinstance(value, np.ndarray):
            raise CheckFailure(f"{what} is an ndarray subclass ({type(value).__name__}); "
                               "return a plain NumPy array.")
        if isinstance(value, (list, tuple)):
            raise CheckFailure(f"{what} is a {type(value).__name__}, expected a NumPy array"
                               + (f" of shape {shape}" if shape is not None else "") + ".")
        raise CheckFailure(f"{what} is {_kind_of(value)}, expected a NumPy array"
                           + (f" of shape {shape}" if shape is not None else "") + ".")
    if value.dtype.kind not in _NUMERIC_KINDS or value.dtype.kind == "b" and kind == "f":
        raise CheckFailure(f"{what} has dtype {value.dtype}, expected numbers "
                           f"({'float64' if kind == 'f' else 'integers'}).")
    if kind == "i" and value.dtype.kind not in "iu":
        raise CheckFailure(f"{what} has dtype {value.dtype}, expected integers.")
    if shape is not None and value.shape != tuple(shape):
        hint = ""
        if value.ndim == len(shape) == 2 and value.shape == tuple(shape)[::-1]:
            hint = " (it looks transposed)"
        elif value.size == int(np.prod(shape)):
            hint = " (same number of entries: a missing reshape or keepdims?)"
        raise CheckFailure(f"{what} has shape {value.shape}, expected {tuple(shape)}{hint}.")
    out = value.astype(np.int64 if kind == "i" else np.float64, copy=True)
    if kind == "f" and not allow_nonfinite and not np.all(np.isfinite(out)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(out))[0])
        kind_txt = "NaN" if np.isnan(out[bad]) else "inf"
        raise CheckFailure(
            f"{what} contains {kind_txt} (first at index {list(bad)}).",
            diagnosis=nonfinite_hint,
        )
    return out


def expect_scalar(value: Any, *, what: str, nonfinite_hint: str | None = None) -> float:
    """Validate a real scalar: a Python float or int, or a NumPy 0-d / size-1 number."""
    if isinstance(value, bool) or isinstance(value, np.bool_):
        raise CheckFailure(f"{what} is a bool, expected a number.")
    if type(value) in (float, int) or isinstance(value, (np.floating, np.integer)):
        try:
            x = float(value)
        except OverflowError:
            raise CheckFailure(f"{what} is an integer too large for a float64.") from None
    elif type(value) is np.ndarray and value.dtype.kind in "iuf" and value.size == 1 \
            and value.ndim <= 1:
        x = float(value.reshape(()))
    else:
        raise CheckFailure(f"{what} is {_kind_of(value)}, expected a single number.")
    if not np.isfinite(x):
        raise CheckFailure(f"{what} is {x}, expected a finite number.", diagnosis=nonfinite_hint)
    return x


def expect_close(observed: Any, expected: Any, *, what: str, rtol: float = 1e-7,
                 atol: float = 1e-10, likely: Mapping[float, str] | None = None,
                 nonfinite_hint: str | None = None, against: str = "expected",
                 diagnosis: str | None = None) -> np.ndarray:
    """Entry-wise |observed - expected| <= atol + rtol * |expected|, with a diagnosis if not.

    `expected` is trusted (computed by the grader); `observed` comes from the student.
    `diagnosis`, when given, replaces the arithmetic one (the check knows better).
    """
    e = np.asarray(expected, dtype=np.float64)
    if e.ndim == 0:
        o = np.asarray(expect_scalar(observed, what=what, nonfinite_hint=nonfinite_hint))
    else:
        o = expect_array(observed, what=what, shape=e.shape, nonfinite_hint=nonfinite_hint)
    err = np.abs(o - e)
    tol = atol + rtol * np.abs(e)
    if np.all(err <= tol):
        return o
    worst = np.unravel_index(int(np.argmax(err - tol)), e.shape) if e.ndim else ()
    where = f" at index {list(map(int, worst))}" if e.ndim else ""
    n_bad = int(np.sum(err > tol))
    details = []
    if e.ndim:
        details.append(f"{n_bad} of {e.size} entries are off; the worst{where}: "
                       f"observed {fmt(o[worst])}, {against} {fmt(e[worst])} "
                       f"(tolerance {atol:g} + {rtol:g}*|{against}|).")
        details.append(f"observed: {fmt(o)}")
        details.append(f"{against}: {fmt(e)}")
    else:
        details.append(f"observed {fmt(float(o))}, {against} {fmt(float(e))} "
                       f"(tolerance {atol:g} + {rtol:g}*|{against}|).")
    if diagnosis is None:
        diagnosis = diagnose(o, e, likely) if e.ndim else _scalar_diagnosis(o, e, likely)
    target = f"the {against} value{'s' if e.ndim else ''}" if against == "expected" else against
    raise CheckFailure(f"{what} does not match {target}.",
                       details, diagnosis)


def _scalar_diagnosis(o: np.ndarray, e: np.ndarray,
                      likely: Mapping[float, str] | None) -> str | None:
    return diagnose(o.reshape(1), e.reshape(1), likely) if float(e) != 0 else None


def expect_equal_arrays(observed: Any, expected: np.ndarray, *, what: str) -> np.ndarray:
    """Exact equality (for values that must be reproduced bit for bit)."""
    o = expect_array(observed, what=what, shape=expected.shape, allow_nonfinite=True,
                     kind="f" if expected.dtype.kind == "f" else "i")
    if not np.array_equal(o, expected):
        bad = np.argwhere(o != expected)
        idx = tuple(int(i) for i in bad[0])
        raise CheckFailure(
            f"{what} differs from the expected values in {len(bad)} of {expected.size} entries.",
            [f"first at index {list(idx)}: observed {fmt(o[idx])}, expected {fmt(expected[idx])}.",
             f"observed: {fmt(o)}", f"expected: {fmt(expected)}"],
        )
    return o


def expect(condition: bool, summary: str, *details: str, diagnosis: str | None = None) -> None:
    """A plain property: fail with `summary` when `condition` is false."""
    if not condition:
        raise CheckFailure(summary, list(details), diagnosis)
