"""grader/engine/replay.py: a check's known examples, replayed instead of drawn again."""

from __future__ import annotations

import copy
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import example, given, seed, settings
from support import FIXTURE_COURSE, using_course

from grader.authoring.checks import checks_for
from grader.authoring.failures import WorkerFailure
from grader.course.model import load_course
from grader.engine import replay
from grader.engine.replay import known_examples, passes_known_examples
from grader.engine.run_check import grade_exercise
from grader.engine.sessions import InProcessSession
from grader.grading.audit import load_catalog, materialize

# These two catalog entries draw from the OS's entropy (np.random.default_rng() with no
# seed): their failure messages quote different numbers on every run, with or without
# replay. Their statuses and scores are compared like every other entry's.
UNSEEDED = {"gc-unseeded", "gc-default-seed-none"}

PLAIN = settings(derandomize=True, database=None, max_examples=10, deadline=None)


class Calls:
    def __init__(self, wrong_above: float = np.inf) -> None:
        self.seen: list[Any] = []
        self.wrong_above = wrong_above

    def double(self, x: np.ndarray) -> np.ndarray:
        self.seen.append(x.copy())
        return 2 * x + (1 if np.abs(x).max(initial=0) > self.wrong_above else 0)


@seed(1)
@PLAIN
@given(x=st.lists(st.floats(-10, 10), min_size=1, max_size=4).map(np.array))
@example(x=np.array([0.5]))
def check_doubles(impl, x):
    assert np.allclose(impl.double(x), 2 * x)


@seed(2)
@PLAIN
@given(x=st.lists(st.floats(-10, 10), min_size=1, max_size=4).map(np.array))
def check_doubles_in_place(impl, x):
    impl.double(x)
    x[:] = np.nan  # a body that changes its input: the next replay still gets fresh copies


@seed(3)
@PLAIN
@given(data=st.data())
def check_draws_inside(impl, data):
    impl.double(np.array([data.draw(st.floats(0, 1))]))


@PLAIN  # no seed of its own: derandomize seeds it from a digest of its body
@given(x=st.floats(-10, 10).map(lambda v: np.array([v])))
def check_without_a_seed(impl, x):
    assert np.allclose(impl.double(x), 2 * x)


def test_passing_examples_are_replayed_without_running_hypothesis_again():
    examples = known_examples(check_doubles)
    assert len(examples) == 11 and np.array_equal(examples[0]["x"], [0.5])  # @example first
    impl = Calls()
    assert passes_known_examples(check_doubles, impl)
    assert len(impl.seen) == len(examples)
    assert all(np.array_equal(s, e["x"]) for s, e in zip(impl.seen, examples))


def test_the_known_examples_are_the_ones_hypothesis_runs():
    impl = Calls()
    check_doubles(impl)  # through Hypothesis' engine
    assert len(impl.seen) == len(known_examples(check_doubles))
    assert all(np.array_equal(s, e["x"])
               for s, e in zip(impl.seen, known_examples(check_doubles)))


def test_a_failing_example_leaves_the_verdict_to_hypothesis():
    impl = Calls(wrong_above=5.0)
    assert not passes_known_examples(check_doubles, impl)
    assert any(np.abs(x).max() > 5.0 for x in impl.seen)
    assert np.abs(impl.seen[-1]).max() > 5.0  # stopped at the first failing example
    with pytest.raises(AssertionError):
        check_doubles(impl)


def test_each_replay_gets_fresh_copies_of_the_examples():
    assert passes_known_examples(check_doubles_in_place, Calls())
    impl = Calls()
    assert passes_known_examples(check_doubles_in_place, impl)
    assert not any(np.isnan(x).any() for x in impl.seen)


def test_checks_that_draw_inside_their_body_or_have_no_seed_are_not_replayed():
    assert known_examples(check_draws_inside) == ()
    assert not passes_known_examples(check_draws_inside, Calls())
    # Recording its examples would change the digest, and so the examples.
    assert known_examples(check_without_a_seed) == ()

    def plain_check(impl):
        impl.double(np.ones(2))

    assert not passes_known_examples(plain_check, Calls())


@seed(4)
@PLAIN
@given(x=st.floats(-10, 10).map(lambda v: np.array([v])))
def check_returning_a_value(impl, x):
    return impl.double(x)


def test_a_body_that_returns_a_value_is_left_to_hypothesis():
    assert known_examples(check_returning_a_value)
    assert not passes_known_examples(check_returning_a_value, Calls())


def test_a_dead_worker_is_not_mistaken_for_a_failing_example():
    class Dies:
        def double(self, x):
            raise WorkerFailure("crashed", "the worker ended")

    with pytest.raises(WorkerFailure):
        passes_known_examples(check_doubles, Dies())


def test_replay_can_be_turned_off():
    with replay.disabled():
        assert not passes_known_examples(check_doubles, Calls())
    assert passes_known_examples(check_doubles, Calls())


def _replayed_checks() -> dict[str, int]:
    """{exercise: how many of its checks have known examples} for the process course, each
    of them asserted to run, with the reference, exactly its known examples in order."""
    course = load_course()
    replayable = {}
    for exercise in course.exercises:
        impl = InProcessSession(course.solutions_dir / f"{exercise}.py", exercise).open()
        replayable[exercise] = 0
        for check in checks_for(exercise, include_hidden=True):
            examples = known_examples(check.function)
            if not examples:
                continue
            replayable[exercise] += 1
            hyp = check.function.hypothesis
            body, ran = hyp.inner_test, []

            def recording(body=body, ran=ran, **kwargs):
                ran.append(copy.deepcopy({k: v for k, v in kwargs.items() if k != "impl"}))
                return body(**kwargs)

            hyp.inner_test = recording
            try:
                with replay.disabled():
                    check.function(impl)
            finally:
                hyp.inner_test = body
            expected = [{k: v for k, v in e.items() if k != "impl"} for e in examples]
            assert len(ran) == len(expected), check.id
            for got, want in zip(ran, expected):
                assert _same(got, want), check.id
    return replayable


def test_every_check_replays_what_hypothesis_runs_on_the_reference():
    # The premise of replay: with the reference (every example passes), Hypothesis runs
    # exactly the known examples, in order. Every fixture check is a seeded Hypothesis
    # check, so every one of them is replayed.
    with using_course(FIXTURE_COURSE) as course:
        replayable = _replayed_checks()
        assert replayable == {ex: len(checks_for(ex, include_hidden=True))
                              for ex in course.exercises}
        assert sum(replayable.values()) == sum(
            len(e.public) + len(e.hidden) for e in course.exercises.values())


def test_every_real_course_check_replays_what_hypothesis_runs_on_the_reference():
    # The same premise on the real course's checks (a check written so that replay would
    # differ from Hypothesis is a course mistake). Each exercise has replayable checks, so
    # the loop cannot pass by checking nothing.
    replayable = _replayed_checks()
    assert set(replayable) == set(load_course().exercises)
    assert all(replayable.values()), replayable


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape
                and np.array_equal(a, b, equal_nan=True))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return (type(a) is type(b) and len(a) == len(b)
                and all(_same(x, y) for x, y in zip(a, b)))
    return type(a) is type(b) and (a == b or (a != a and b != b))


def _both_ways(entry) -> tuple[str, list, list]:
    exercise = load_course().exercise(entry.exercise)
    with tempfile.TemporaryDirectory() as tmp:
        path = materialize(entry, Path(tmp))
        replayed = grade_exercise(exercise, path)
        with replay.disabled():
            engine = grade_exercise(exercise, path)
    return entry.id, [(r.check, r.status, r.score, r.message) for r in replayed], \
        [(r.check, r.status, r.score, r.message) for r in engine]


@pytest.mark.slow
def test_replay_grades_every_catalog_implementation_as_hypothesis_does():
    # Every known-wrong and correct implementation of the audit, all checks: the same
    # statuses, scores and feedback text with replay as through Hypothesis' engine alone.
    exercises = list(load_course().exercises)
    entries = load_catalog(exercises)
    assert {entry.exercise for entry in entries} == set(exercises)  # none left out
    with ProcessPoolExecutor(2) as pool:
        outcomes = list(pool.map(_both_ways, entries))
    assert len(outcomes) == len(entries)
    for entry_id, replayed, engine in outcomes:
        if entry_id in UNSEEDED:
            replayed = [row[:3] for row in replayed]
            engine = [row[:3] for row in engine]
        assert replayed == engine, entry_id
