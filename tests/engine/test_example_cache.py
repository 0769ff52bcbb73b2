"""grader/engine/example_cache.py: known examples kept on disk, read back exactly as drawn."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, seed, settings
from support import FIXTURE_COURSE

from grader.course.model import load_course
from grader.engine import example_cache, replay
from grader.engine.example_cache import _same

PLAIN = settings(derandomize=True, database=None, max_examples=10, deadline=None)

# A fresh process grading the fixture course loads every check, gets its known examples (from
# the cache when it has them) and prints a digest of them all, and how many it had to draw.
PROBE = """
import hashlib, json, sys
from grader.sandbox.runtime import protocol as P
from grader.engine import replay
from grader.authoring.checks import checks_for, use_profile
from grader.course.model import load_course
use_profile()
drawn = []
draw = replay._draw_examples
replay._draw_examples = lambda fn: drawn.append(fn) or draw(fn)
digest = hashlib.sha256()
for exercise in load_course().exercises:
    for check in checks_for(exercise, include_hidden=True):
        for example in replay.known_examples(check.function):
            values = {k: v for k, v in example.items() if v is not replay._Impl}
            digest.update(json.dumps(P.encode(values, P.Mirror("x"))).encode())
print(json.dumps({"digest": digest.hexdigest(), "drawn": len(drawn)}))
"""


def _probe(cache: Path | str) -> dict:
    env = {**os.environ, "GRADER_CACHE_DIR": str(cache), "GRADER_COURSE_ROOT": str(FIXTURE_COURSE)}
    run = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                         text=True, timeout=120, check=True)
    return json.loads(run.stdout)


def test_a_later_process_reads_every_checks_examples_as_drawn(tmp_path):
    off = _probe("")  # no cache: every check drawn
    cold = _probe(tmp_path)
    warm = _probe(tmp_path)
    course = load_course(FIXTURE_COURSE)
    checks = sum(len(e.public) + len(e.hidden) for e in course.exercises.values())
    assert off["drawn"] == checks and cold["drawn"] == off["drawn"]  # every check uses @given
    assert warm["drawn"] == 0
    assert warm["digest"] == cold["digest"] == off["digest"]
    folder = tmp_path.stat().st_mode
    assert stat.S_IMODE(folder) == 0o700
    files = list(tmp_path.glob("known-examples-*.json"))
    assert len(files) == 2 * len(course.exercises)  # one per check module, public and hidden
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


def test_a_damaged_file_is_drawn_again_and_rewritten(tmp_path):
    good = _probe(tmp_path)
    files = sorted(tmp_path.glob("known-examples-*.json"))
    files[0].write_text(files[0].read_text()[:500])  # cut short
    data = json.loads(files[1].read_text())
    first = next(iter(data["checks"].values()))
    first["examples"] = [{"x": {"$a": "not an array", "ref": "c1"}}]  # malformed value
    files[1].write_text(json.dumps(data))
    again = _probe(tmp_path)
    assert 0 < again["drawn"] < good["drawn"] and again["digest"] == good["digest"]
    assert _probe(tmp_path) == {"digest": good["digest"], "drawn": 0}


def test_with_the_cache_off_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_CACHE_DIR", "")
    assert example_cache.cache_dir() is None
    monkeypatch.setenv("GRADER_CACHE_DIR", str(tmp_path / "c"))
    assert example_cache.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("GRADER_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert example_cache.cache_dir() == tmp_path / "backprop-grader"


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(example_cache, "_files", {})
    return tmp_path


@seed(11)
@PLAIN
@given(x=st.lists(st.floats(-10, 10), min_size=1, max_size=3).map(np.array))
def check_a(impl, x):
    pass


@seed(12)
@PLAIN
@given(x=st.lists(st.floats(-10, 10), min_size=1, max_size=3).map(np.array))
def check_b(impl, x):
    pass


def _reread(fn):
    example_cache._files.clear()  # as a new process: from the file
    return example_cache.lookup(fn, replay._Impl)


def test_an_entry_is_used_only_for_the_seed_settings_and_strategies_it_was_drawn_with(
        fresh_cache, monkeypatch):
    examples = replay._draw_examples(check_a)
    example_cache.store(check_a, examples, replay._Impl)
    got = _reread(check_a)
    assert got is not None and len(got) == len(examples)
    assert all(_same(a, b) for a, b in zip(got, examples))
    monkeypatch.setattr(check_a, "_hypothesis_internal_use_seed", 99)
    assert _reread(check_a) is None
    monkeypatch.setattr(check_a, "_hypothesis_internal_use_seed", 11)
    assert _reread(check_a) is not None
    # check_b under check_a's name: another seed, so the entry is not check_b's
    monkeypatch.setattr(check_b, "__qualname__", check_a.__qualname__)
    assert _reread(check_b) is None


@pytest.mark.parametrize("value", [
    {1, 2},  # not plain data
    np.array([1 + 2j]),  # complex: not a dtype the encoding knows
    float(np.copysign(np.nan, -1)),  # a negative NaN would come back positive
])
def test_values_that_would_not_read_back_exactly_are_not_stored(fresh_cache, value):
    example_cache.store(check_a, ({"impl": replay._Impl, "x": value},), replay._Impl)
    assert _reread(check_a) is None


def test_shared_objects_inside_a_value_stay_shared_and_others_are_not_stored(fresh_cache):
    a = np.arange(3.0)
    shared = ({"impl": replay._Impl, "x": [a, a], "y": (-0.0, np.float64(2.5), 2**70)},)
    example_cache.store(check_a, shared, replay._Impl)
    got = _reread(check_a)
    assert got is not None and _same(got[0], shared[0])
    assert got[0]["x"][0] is got[0]["x"][1] and got[0]["impl"] is replay._Impl
    assert str(got[0]["y"][0]) == "-0.0" and type(got[0]["y"][1]) is np.float64

    across = ({"impl": replay._Impl, "x": a, "y": a},)  # one object in two values
    example_cache._files.clear()
    for f in fresh_cache.iterdir():
        f.unlink()
    example_cache.store(check_a, across, replay._Impl)
    assert _reread(check_a) is None


def test_the_file_depends_on_the_grader_key(fresh_cache, monkeypatch):
    example_cache.store(check_a, replay._draw_examples(check_a), replay._Impl)
    assert _reread(check_a) is not None
    from grader.engine import grader_key

    monkeypatch.setattr(grader_key, "grader_key",
                        lambda: "grader 0; course 0; sha256 " + hashlib.sha256().hexdigest())
    assert _reread(check_a) is None
