"""The check-authoring API: what a check in tests/checks/ imports, and nothing else.

    from grader.authoring import examples, expect_close, floats, reference

The public surface is `__all__` below (docs/authoring.md shows it in use): drawing inputs
(`strategies`), comparing with a failure that teaches (`expect`), naming the likely mistake
(`diagnose`), gradients by central differences (`finite_differences`), what a check may hand
to student code (`capabilities`), a check's outcomes as exceptions (`failures`) and the
course's reference solutions. The registry that finds and runs checks (`checks`) and the
Hypothesis adapter (`hypothesis_compat`) are the grader's, not the authors'.

Trust role: trusted; checks run on the grader's side and reach student code through a handle.
"""

from grader.authoring.capabilities import exposes
from grader.authoring.diagnose import (
    batch_factor_hint,
    constant_factor,
    diagnose,
    likely,
    log_epsilon_hint,
)
from grader.authoring.expect import (
    expect,
    expect_array,
    expect_close,
    expect_equal_arrays,
    expect_scalar,
    fmt,
)
from grader.authoring.failures import CheckFailure, StudentCodeError
from grader.authoring.finite_differences import agrees_along_random_directions
from grader.authoring.strategies import (
    examples,
    float_arrays,
    floats,
    logits_and_labels,
    rng_array,
    seeds,
)
from grader.course.model import reference

__all__ = [
    "CheckFailure", "StudentCodeError", "agrees_along_random_directions", "batch_factor_hint",
    "constant_factor", "diagnose", "examples", "expect", "expect_array", "expect_close",
    "expect_equal_arrays", "expect_scalar", "exposes", "float_arrays", "floats", "fmt", "likely",
    "log_epsilon_hint", "logits_and_labels", "reference", "rng_array", "seeds",
]
