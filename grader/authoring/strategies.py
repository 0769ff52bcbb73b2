"""Hypothesis strategies shared by the checks.

Bounded floats only (no NaN, no inf); shapes small enough that a failing example is readable.
Network parameters are drawn from a drawn *seed*, not element by element: Hypothesis likes
zeros and repeated values, which put ReLU pre-activations exactly on the kink.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# The budget each check's own `@settings(max_examples=examples(n))` is written against.
REFERENCE_BUDGET = 40


def examples(n: int) -> int:
    """A check's own number of examples, written as `n` for a course budget of 40 and scaled
    to the budget in force (course_config.HYPOTHESIS_MAX_EXAMPLES, loaded as the Hypothesis
    profile before check modules are imported): a costly check keeps its share of the budget
    whatever the budget is. At least 2 (explicit @example cases run besides)."""
    from hypothesis import settings

    return max(2, round(n * settings.default.max_examples / REFERENCE_BUDGET))


def floats(low: float = -10.0, high: float = 10.0) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)


def float_arrays(shape: tuple[int, ...] | st.SearchStrategy, low: float = -10.0,
                 high: float = 10.0) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.float64, shape, elements=floats(low, high))


def seeds() -> st.SearchStrategy[int]:
    return st.integers(0, 2**32 - 1)


@st.composite
def logits_and_labels(draw: st.DrawFn, max_n: int = 5, max_c: int = 5, scale: float = 10.0,
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(logits (N, C) float64, y (N,) int64 labels in [0, C)), N >= 1 and C >= 2."""
    n = draw(st.integers(1, max_n))
    c = draw(st.integers(2, max_c))
    logits = draw(float_arrays((n, c), -scale, scale))
    y = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return logits, y


def rng_array(seed: int, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    """A standard-normal array from a drawn seed (away from degenerate repeated values)."""
    return np.random.default_rng(seed).standard_normal(shape) * scale
