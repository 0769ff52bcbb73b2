"""A check's examples, drawn once and replayed for every implementation.

With a fixed seed, the examples Hypothesis draws for a check depend only on the check (not
on what the process imported: grader.authoring.checks turns off Hypothesis' local constants), as
long as every example passes: the engine decides what to draw next from what it drew
before, and from an example's outcome only when that outcome is a failure (or an
assumption, a `target`, an `st.data()` draw made inside the body, none of which a
replayable check uses). So the examples a correct implementation meets are known before it
runs: the examples Hypothesis draws for a body that does nothing.

They are drawn once per grader and kept on disk (grader.engine.example_cache); each grading
process reads them at start-up. For each implementation, the body runs on fresh copies of
those examples in the order Hypothesis would run them. If every example
passes, Hypothesis would have passed the check on exactly these examples, and its engine,
which costs about as much as all the rest of grading a correct implementation, is spared.
If any example fails, the verdict and the smallest failing input come from Hypothesis
itself, run as before: replay only ever says "passed", and only when Hypothesis would.

Not replayed: plain test functions (nothing to spare), checks without a fixed seed,
checks that draw inside the body with `st.data()`, and checks whose examples cannot be
drawn or copied.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from grader.authoring import hypothesis_compat as compat
from grader.engine import example_cache

_UNREPLAYABLE = ()  # what a check's examples are when it cannot be replayed
# GRADER_REPLAY=0 runs every check through Hypothesis' engine: the same results, slower
# (for benchmarks/ and comparisons).
_enabled = os.environ.get("GRADER_REPLAY", "1") != "0"


class _Impl:
    """Stands for the implementation while the examples are drawn (the body never runs)."""


def known_examples(fn: Callable[..., Any]) -> tuple[dict[str, Any], ...]:
    """The keyword arguments of every example Hypothesis runs for check `fn` when each
    passes, in order: explicit `@example`s first, then the drawn ones. Drawn once per
    grader (grader.engine.example_cache keeps them), read once per process; () when `fn` is not
    replayable."""
    cached = getattr(fn, "_grader_known_examples", None)
    if cached is None:
        if not _seeded(fn):
            cached = _UNREPLAYABLE
        else:  # drawn by an earlier run of the same grader, or drawn now and kept
            cached = example_cache.lookup(fn, _Impl)
            if cached is None:
                cached = _draw_examples(fn)
                example_cache.store(fn, cached, _Impl)
        fn._grader_known_examples = cached  # type: ignore[attr-defined]
    return cached


def passes_known_examples(fn: Callable[..., Any], impl: Any) -> bool:
    """True when the check's body passes on every known example with `impl`; False when
    it cannot be replayed, or any example raises an Exception (Hypothesis then runs it as
    usual, and reports). A BaseException (a dead worker, the time limit) propagates, as it
    does out of Hypothesis."""
    if not _enabled:
        return False
    examples = known_examples(fn)
    if not examples:
        return False
    body = compat.body_of(fn)
    for example in examples:
        kwargs = _fresh(example, impl)
        try:
            # As Hypothesis runs each example: `random` and NumPy's global generator
            # seeded alike (student code run in this process may use them).
            with compat.deterministic_prng():
                returned = body(**kwargs)
        except Exception:
            return False
        if returned is not None:  # Hypothesis fails such a check (a health check)
            return False
    return True


@contextmanager
def disabled() -> Iterator[None]:
    """Every check runs through Hypothesis' engine (to compare the two ways)."""
    global _enabled
    before, _enabled = _enabled, False
    try:
        yield
    finally:
        _enabled = before


def _draw_examples(fn: Callable[..., Any]) -> tuple[dict[str, Any], ...]:
    if not _seeded(fn):
        return _UNREPLAYABLE
    drawn: list[dict[str, Any]] = []

    def record(**kwargs: Any) -> None:
        # Copied as drawn: an explicit example's arrays are the decorator's own objects.
        drawn.append(_fresh(kwargs, _Impl))

    body = compat.body_of(fn)
    compat.use_body(fn, record)
    try:
        fn(_Impl)
    except Exception:
        return _UNREPLAYABLE
    finally:
        compat.use_body(fn, body)
    if not all(_plain(value) for example in drawn for value in example.values()):
        return _UNREPLAYABLE
    return tuple(drawn)


def _seeded(fn: Callable[..., Any]) -> bool:
    # Without a seed of its own (grader.authoring.checks gives every check one), Hypothesis seeds a
    # check from a digest of its body's source, which the recording stands in for.
    return compat.is_given(fn) and compat.seed_of(fn) is not None


def _fresh(example: dict[str, Any], impl: Any) -> dict[str, Any]:
    """Deep copies of an example's values, with `impl` in the implementation's place."""
    return {name: impl if value is _Impl else copy.deepcopy(value)
            for name, value in example.items()}


def _plain(value: Any) -> bool:
    # st.data() hands the body an object to draw from: its draws depend on the body.
    return not compat.is_data_object(value)
