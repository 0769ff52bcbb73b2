"""Every use of Hypothesis beyond its public API, in one place (trusted: the grader's side).

Supported: Hypothesis >=6.170,<6.171 (`SUPPORTED`), the range pyproject.toml pins. With a
fixed seed, another version draws other examples (so the recorded known examples and the
audit's verdicts are those of this range), and each internal below is read as these
versions define it; raising the bound means checking each of them, then `grader audit`.
tests/authoring/test_hypothesis_compat.py fails when another module of the grader, or a check,
reaches into Hypothesis, and when pyproject.toml's bound differs from `SUPPORTED`.

What is used, and why:
- `fn._hypothesis_internal_use_seed`, set by the public `@seed`: a check's seed, read to know
  whether its examples can be replayed and to key the example cache by it.
- `fn._hypothesis_internal_use_settings`, set by `@settings`/`@given` and read each time the
  check runs: hidden checks get other phases (no shrinking) and keep every other setting.
- `fn._hypothesis_internal_database_key = None`: with a seed of its own and no database, the
  check then never computes its source digest (0.07 s of CPU per graded student).
- `fn.hypothesis.inner_test`, the documented hook for wrapping a check's body: replay runs
  the body alone, and a failing example's inputs are attached to what it raises.
- `fn.hypothesis._given_kwargs`: a check's strategies, whose repr keys the example cache.
- `hypothesis.internal.conjecture.providers` (`_get_local_constants`, `Constants`,
  `CONSTANTS_CACHE`, since 6.131): without the "local constants" Hypothesis collects from
  every imported module, a check's examples depend on the check alone.
- `hypothesis.internal.entropy.deterministic_PRNG`: replay seeds `random` and NumPy's global
  generator as Hypothesis does around each example.
- `hypothesis.configuration.set_hypothesis_home_dir`: nbgrader's kernels keep what
  Hypothesis stores in a private folder, not in the student's.
- The class name `DataObject` of what `st.data()` hands a check: its draws depend on the body,
  so such a check is not replayable.
- `Phase`: the phase lists name every phase these versions have but `explain` (see
  GRADING_PHASES); a version with another phase needs them checked.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from hypothesis import Phase, seed, settings

SUPPORTED = ">=6.170,<6.171"

# Phase.explain is left out: it re-runs a failing check dozens of times to annotate the
# failing example with which parts of it matter, and feedback never shows those
# annotations (it lists the smallest failing input itself).
GRADING_PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)
# A hidden check reports only its statement, never its input: the first failing example
# is as good as the smallest, so shrinking it would only cost time.
HIDDEN_PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target)


def is_given(fn: Callable[..., Any]) -> bool:
    """FN is a Hypothesis test (decorated with `@given`)."""
    return getattr(fn, "hypothesis", None) is not None


def seed_of(fn: Callable[..., Any]) -> int | None:
    """The seed `@seed` gave FN, if any."""
    return getattr(fn, "_hypothesis_internal_use_seed", None)


def settings_of(fn: Callable[..., Any]) -> settings | None:
    """The settings FN runs with (its own `@settings` on the profile it was made under)."""
    return getattr(fn, "_hypothesis_internal_use_settings", None)


def use_settings(fn: Callable[..., Any], new: settings) -> None:
    """Run FN with NEW from now on (Hypothesis reads them each time FN runs)."""
    fn._hypothesis_internal_use_settings = new  # type: ignore[attr-defined]


def use_fixed_seed(fn: Callable[..., Any], value: int) -> None:
    """Seed FN with VALUE (Hypothesis' own `@seed`), and spare it the database key, which
    costs a digest of its source every time it runs and serves no database here."""
    seed(value)(fn)
    fn._hypothesis_internal_database_key = None  # type: ignore[attr-defined]


def strategies_of(fn: Callable[..., Any]) -> Any:
    """The strategies `@given` draws FN's arguments from (None for a plain function)."""
    return getattr(getattr(fn, "hypothesis", None), "_given_kwargs", None)


def body_of(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The body of Hypothesis test FN: the function it runs on each example."""
    return fn.hypothesis.inner_test  # type: ignore[attr-defined]


def use_body(fn: Callable[..., Any], body: Callable[..., Any]) -> None:
    """Make Hypothesis test FN run BODY on each example."""
    fn.hypothesis.inner_test = body  # type: ignore[attr-defined]


def is_data_object(value: Any) -> bool:
    """VALUE is what `st.data()` hands a test to draw from inside its body."""
    return type(value).__name__ == "DataObject"


def deterministic_prng() -> AbstractContextManager[None]:
    """`random` and NumPy's global generator seeded as Hypothesis seeds them around each
    example, restored afterwards."""
    from hypothesis.internal.entropy import deterministic_PRNG

    return deterministic_PRNG()


def without_local_constants() -> None:
    """Make what Hypothesis draws depend on the check alone, not on what is imported.

    Hypothesis (6.131 and later) also draws literal constants found in the source of every
    "local" module (not the standard library nor site-packages) imported at that moment: here
    the grader's own modules, the course's, and for `grader check` the student's file. The
    examples of one check would then change with the process's history (a grading process
    that has started a worker has imported more modules than one that has not), and with
    the student's own constants. Without local constants, a check's examples are the same
    in `grader check`, `grader grade`, the audit and nbgrader's kernels, in every process,
    on every machine (Hypothesis' built-in constants, such as 1/3, 1e-5 and the limits of
    floats, still apply).
    """
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # a Hypothesis without them: nothing to pin
        return
    if not hasattr(providers, "_get_local_constants"):
        return
    if getattr(providers._get_local_constants, "_grader_pinned", False):
        return
    none = providers.Constants()

    def no_local_constants() -> Any:
        return none

    no_local_constants._grader_pinned = True  # type: ignore[attr-defined]
    providers._get_local_constants = no_local_constants
    providers.CONSTANTS_CACHE.cache.clear()  # what earlier draws combined with local ones


def use_storage_dir(folder: str) -> None:
    """Keep what Hypothesis stores (even with database=None) in FOLDER, not ./.hypothesis."""
    from hypothesis.configuration import set_hypothesis_home_dir

    set_hypothesis_home_dir(folder)
