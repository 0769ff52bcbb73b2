"""Running checks against an implementation handle.

Every outcome becomes a CheckResult; nothing a check or the code under test does escapes
as an exception. Hidden checks report only their statement: neither their inputs nor the
observed values reach the student.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from hypothesis.errors import Flaky, HypothesisException

from grader.authoring import hypothesis_compat as compat
from grader.authoring.checks import Check, checks_for
from grader.authoring.expect import fmt
from grader.authoring.failures import (
    CheckFailure,
    LoadError,
    MissingFunction,
    NotAttempted,
    StudentCodeError,
    WorkerFailure,
)
from grader.course.model import Exercise
from grader.engine.handle import Handle
from grader.engine.replay import passes_known_examples
from grader.engine.results import CheckResult
from grader.engine.sessions import InProcessSession, Session
from grader.engine.time_limit import TimeLimitExceeded, time_limit

HIDDEN_FAILED = "Hidden check failed: {statement} (its inputs are not shown)."
HIDDEN_ERROR = "Hidden check: your code raised an error while it ran: {statement}."


def grade_exercise(exercise: Exercise, path: Path | None = None, *, impl: Handle | None = None,
                   include_hidden: bool = True, stop_at_first_failure: bool = False,
                   session: Session | None = None,
                   only: Collection[str] | None = None) -> list[CheckResult]:
    """Load the exercise and run its checks (those named in `only`, if given), within its
    time limit.

    Student code runs where `session` puts it (by default in this process, loaded from
    `path`, or the given `impl`). Whatever cannot be run gets a status and zero: a file that
    does not load, a worker that dies (the next check gets a fresh one), checks cut off by
    the time limit. Results of checks finished before that are kept.
    """
    checks = checks_for(exercise.id, include_hidden=include_hidden)
    if only is not None:
        checks = tuple(c for c in checks if c.name in only)
    if session is None:
        if impl is None and path is None:
            raise ValueError("grade_exercise needs a path, an implementation or a session")
        session = InProcessSession(path, exercise.id, impl)
    results: list[CheckResult] = []
    try:
        with time_limit(exercise.time_limit_s):
            impl = session.open()
            for check in checks:
                try:
                    session.before_check()
                    result = run_check(check, impl)
                except WorkerFailure as failure:
                    result = _status_result(check, failure.status, failure.message)
                    results.append(result)
                    impl = session.reopen()
                else:
                    results.append(_with_notes(result, impl.notes))
                if stop_at_first_failure and not result.passed:
                    break
    except LoadError as e:
        results += missing_results(_not_done(checks, results), e.status, e.message)
    except WorkerFailure as failure:
        results += missing_results(_not_done(checks, results), failure.status, failure.message)
    except TimeLimitExceeded:
        results += missing_results(
            _not_done(checks, results), "timeout",
            f"Stopped at the exercise's time limit of {exercise.time_limit_s:g} s: "
            "is there an endless loop, or a loop much slower than it needs to be?")
    finally:
        session.close()
    return results


def _not_done(checks: Iterable[Check], results: list[CheckResult]) -> list[Check]:
    done = {r.check for r in results}
    return [c for c in checks if c.name not in done]


def _status_result(check: Check, status: str, message: str) -> CheckResult:
    return CheckResult(check.exercise, check.name, check.statement, check.hidden, status, 0.0,
                       check.points, message)


class Outcome(NamedTuple):
    """What a check concluded, before it becomes a CheckResult (see CheckResult for the
    meaning of `attempted` and `function`)."""

    status: str
    message: str
    attempted: bool = True
    function: str = ""


def run_check(check: Check, impl: Handle) -> CheckResult:
    start = time.perf_counter()
    outcome = _outcome(check, impl)
    if check.hidden and outcome.status in ("failed", "error") and outcome.attempted:
        template = HIDDEN_ERROR if outcome.status == "error" else HIDDEN_FAILED
        # The statement alone: not even which function the check saw fail.
        outcome = Outcome(outcome.status, template.format(statement=check.statement.rstrip(".")))
    status = outcome.status
    return CheckResult(
        exercise=check.exercise, check=check.name, statement=check.statement,
        hidden=check.hidden, status=status,
        score=check.points if status == "passed" else 0.0, max_score=check.points,
        message=outcome.message, duration_s=round(time.perf_counter() - start, 4),
        attempted=outcome.attempted, function=outcome.function,
    )


def missing_results(checks: Iterable[Check], status: str, message: str) -> list[CheckResult]:
    """Every check of an exercise that could not be loaded gets the same status and zero."""
    return [_status_result(c, status, message) for c in checks]


def _outcome(check: Check, impl: Handle) -> Outcome:
    fn = _recording_inputs(check.function)
    try:
        sink = io.StringIO()  # student prints are not feedback
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), \
                np.errstate(all="ignore"):
            # Hypothesis runs the check only when the known examples do not all pass: it
            # gives the verdict and the smallest failing input (grader.engine.replay).
            if not passes_known_examples(fn, impl):
                fn(impl)
    except (CheckFailure, StudentCodeError, Flaky) as failure:
        explained = explain(failure)
        assert explained is not None
        return explained
    except HypothesisException as e:
        return Outcome("error", f"The check could not run ({type(e).__name__}); "
                                "please tell the course staff.")
    except AssertionError as e:  # a plain `assert` in a check
        return Outcome("failed", str(e) or f"{check.statement}: the property does not hold.")
    except Exception as e:
        return Outcome("error", f"Your result could not be checked ({type(e).__name__}: "
                                f"{' '.join(str(e).split())[:200]}); make sure it has the "
                                "type and shape the exercise asks for.")
    return Outcome("passed", "")


def explain(error: BaseException) -> Outcome | None:
    """The outcome of a check that raised ERROR, as every report shows it (what was checked,
    observed and expected, the likely mistake, the smallest failing input), or None for an
    error the grader does not explain (a bug of the check itself).

    The pytest route (tests/conftest.py) prints the same text as `grader check`.
    """
    if isinstance(error, MissingFunction):
        return Outcome("missing", error.text(), function=error.name)
    if isinstance(error, NotAttempted):
        return Outcome("failed", error.text(), attempted=False, function=error.function)
    if isinstance(error, CheckFailure):
        return Outcome("failed", error.text() + _inputs_text(error))
    if isinstance(error, StudentCodeError):
        return Outcome("error", error.text() + _inputs_text(error), function=error.function)
    if isinstance(error, Flaky):
        return Outcome("failed", "Your code gave different results for the same input when "
                                 "it was called again: does it use randomness or state left "
                                 "over from an earlier call?")
    return None


def record_inputs(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The check FN, made to attach its failing inputs to what it raises (see
    _recording_inputs); for runners other than grade_exercise, such as pytest."""
    return _recording_inputs(fn)


def _recording_inputs(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Attach the inputs of the failing example to the exception Hypothesis re-raises.

    Hypothesis replays the smallest failing example last, so the inputs attached to the
    exception it raises are the minimal ones. `inner_test` is Hypothesis' documented hook
    for wrapping the test body.
    """
    if not compat.is_given(fn) or getattr(compat.body_of(fn), "_records_inputs", False):
        return fn
    inner = compat.body_of(fn)

    def recording(*args: Any, **kwargs: Any) -> Any:
        try:
            return inner(*args, **kwargs)
        except BaseException as error:
            error._grader_inputs = kwargs  # type: ignore[attr-defined]
            raise

    recording._records_inputs = True  # type: ignore[attr-defined]
    compat.use_body(fn, recording)
    return fn


def _inputs_text(error: BaseException) -> str:
    inputs = getattr(error, "_grader_inputs", None) or {}
    lines = [f"  {name} = {_show(value)}" for name, value in inputs.items()
             if name not in ("impl", "data") and not name.startswith("_")]
    # Values drawn interactively with st.data() appear only in Hypothesis' notes.
    lines += [f"  {note.split(':', 1)[0].strip()} = {note.split(':', 1)[1].strip()}"
              for note in getattr(error, "__notes__", []) if note.startswith("Draw ")]
    return ("\nSmallest failing input:\n" + "\n".join(lines)) if lines else ""


def _show(value: Any) -> str:
    if isinstance(value, np.ndarray):
        prefix = f"array of shape {value.shape}: " if value.size > 24 else ""
        return prefix + fmt(value).replace("\n", "\n    ")
    if isinstance(value, (int, float, str, bool)) or value is None:
        return repr(value)
    if isinstance(value, (list, tuple, dict)):
        return fmt(value) if not isinstance(value, dict) else repr(
            {k: _show(v) for k, v in value.items()})
    return type(value).__name__


def _with_notes(result: CheckResult, notes: list[str]) -> CheckResult:
    """A result that did not pass, with the notes from loading the file (a skipped cell may
    be why); a passed result as it is."""
    from dataclasses import replace

    if result.passed or not notes:
        return result
    extra = "\n".join(f"Note: {n}" for n in notes)
    return replace(result, message=f"{result.message}\n{extra}" if result.message else extra)
