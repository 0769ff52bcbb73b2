"""A cheap first test of an analytic gradient: central differences along random directions.

Checking every entry of a gradient by central differences costs two loss evaluations per
entry; through a sandboxed worker each is a round trip. Along a direction v, the
directional derivative (L(p + eps*v) - L(p - eps*v)) / (2*eps) must equal <grad, v>, for
two evaluations whatever the size of p. A wrong gradient g' = g + d passes only when
<d, v> is (almost) zero, which for a random v happens with probability (almost) zero.

Checks use it as a filter: when the gradient agrees along a few random directions it is
accepted; when it does not, the check runs its entry-by-entry comparison, which decides
the verdict and explains the failure (worst entry, likely mistake) exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Params = dict[str, np.ndarray]


def agrees_along_random_directions(loss: Callable[[Params], float], params: Params,
                                   grads: Params, *, seed: int, eps: float = 1e-5,
                                   rtol: float = 1e-5, atol: float = 1e-7,
                                   directions: int = 2) -> bool:
    """True when `grads` matches central differences of `loss` along `directions` random
    unit directions in the space of all of `params` (drawn from `seed`).

    The tolerance is the entry-wise one (atol + rtol*|g_i| per entry) summed along the
    direction, so a gradient within tolerance entry by entry usually passes, and one that
    does not pass is never accepted here: the caller then compares entry by entry.
    `loss` is called with copies of `params`; `params` and `grads` are not changed.
    """
    keys = list(params)
    rng = np.random.default_rng(seed)
    for _ in range(directions):
        v = {k: rng.standard_normal(np.shape(params[k])) for k in keys}
        norm = np.sqrt(sum(float(np.sum(d * d)) for d in v.values())) or 1.0
        v = {k: d / norm for k, d in v.items()}
        plus = {k: params[k] + eps * v[k] for k in keys}
        minus = {k: params[k] - eps * v[k] for k in keys}
        numeric = (float(loss(plus)) - float(loss(minus))) / (2 * eps)
        analytic = sum(float(np.sum(grads[k] * v[k])) for k in keys)
        tolerance = sum(float(np.sum(np.abs(v[k]) * (atol + rtol * np.abs(grads[k]))))
                        for k in keys)
        if not (np.isfinite(numeric) and np.isfinite(analytic)
                and abs(numeric - analytic) <= tolerance):
            return False
    return True
