"""Capability discipline: a worker can call only what a check handed to the current call.

Student code here bypasses the worker's own Python (it writes raw callback frames on the
channel, as hostile code can), and each attack sits next to an honest twin that shows the
same path works for honest code. Real worker processes, no isolation (it is not what is
tested here; tests/system/test_callback_escape.py runs the attacks through `grader grade`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from support import RAW_CALLBACK

from grader.authoring.capabilities import exposes
from grader.authoring.failures import CheckFailure, WorkerFailure
from grader.engine.sessions import WorkerSession

# Student-side helpers: a raw callback frame to the grader (support.RAW_CALLBACK), and a raw
# reply to a call.
RAW = RAW_CALLBACK + '''

def raw_return(handle, value_tree):
    w = handle._worker
    w.send({"op": "return", "value": value_tree, "sync": []})
    import os
    os._exit(0)
'''

KEPT: list = []


def _session(tmp_path: Path, source: str, exercise: str = "gradcheck") -> tuple[WorkerSession,
                                                                                 object]:
    path = tmp_path / f"{exercise}.py"
    path.write_text(RAW + source)
    session = WorkerSession(path, exercise)
    return session, session.open()


class Counted:
    """Like the gradcheck checks' f: a callable object with state worth stealing."""

    def __init__(self) -> None:
        self.calls = 0
        self.secret = "hidden-check-source"

    def __call__(self, z):
        self.calls += 1
        return float(np.sum(z ** 2))


@exposes("step")
class Recording:
    def __init__(self) -> None:
        self.steps = 0
        self.lr = 0.5

    def step(self, params, grads):
        self.steps += 1
        for p, g in zip(params, grads):
            p -= self.lr * g


REFLECTIVE = ["__globals__", "__class__", "__reduce__", "__reduce_ex__", "__getattribute__",
              "__setattr__", "__dict__", "__builtins__", "__init__", "__call__", "gi_frame",
              "f_back", "calls", "secret", "_private", "__import__", "", "1x", "a.b"]


@pytest.fixture
def session(tmp_path):
    made = []

    def make(source: str, exercise: str = "gradcheck"):
        s, impl = _session(tmp_path, source, exercise)
        made.append(s)
        return impl
    yield make
    for s in made:
        s.close()


def test_the_honest_twin_calls_f(session):
    impl = session("def use(f, x):\n    return raw_callback(f, None, (x,))\n")
    f = Counted()
    assert impl.use(f, np.ones(3)) == 3.0
    assert f.calls == 1


@pytest.mark.parametrize("name", REFLECTIVE)
def test_no_name_can_be_looked_up_on_a_function_handle(session, name):
    impl = session(f"def use(f, x):\n    return raw_callback(f, {name!r}, (x,))\n")
    f = Counted()
    with pytest.raises(WorkerFailure) as failure:
        impl.use(f, np.ones(3))
    assert failure.value.status == "forbidden"
    assert f.calls == 0 and f.secret == "hidden-check-source"


@pytest.mark.parametrize("name", [*REFLECTIVE, 0, "NoneType", ["step"]])
def test_only_declared_public_methods_of_an_object_handle(session, name):
    impl = session("def use(opt, params, grads):\n"
                   f"    return raw_callback(opt, {name!r}, (params, grads))\n")
    opt = Recording()
    params, grads = [np.ones(2)], [np.ones(2)]
    if type(name) is str and name.isidentifier() and not name.startswith("_"):
        # A public name the check did not declare: honest code calling what the exercise
        # does not offer. Its own mistake, reported as such; nothing of the object is read.
        with pytest.raises(CheckFailure, match="offers only `step`"):
            impl.use(opt, params, grads)
    else:
        with pytest.raises(WorkerFailure) as failure:
            impl.use(opt, params, grads)
        assert failure.value.status == "forbidden"
    assert opt.steps == 0 and params[0].tolist() == [1.0, 1.0]


def test_the_honest_twin_calls_a_declared_method(session):
    impl = session("def use(opt, params, grads):\n"
                   "    opt.step(params, grads)\n"
                   "    return raw_callback(opt, 'step', (params, grads))\n")
    opt = Recording()
    params, grads = [np.ones(2)], [np.ones(2)]
    assert impl.use(opt, params, grads) is None
    assert opt.steps == 2 and params[0].tolist() == [0.0, 0.0]


def test_an_object_without_declared_methods_cannot_be_handed_over(session):
    impl = session("def use(obj):\n    return 1\n")

    class Plain:
        pass

    with pytest.raises(RuntimeError, match="exposes"):
        impl.use(Plain())


@pytest.mark.parametrize("target", [{"$c": 999}, {"$g": 999}, {"$c": "1"}, {"$c": 1.0},
                                    {"$r": "use"}, {"$o": "1:object"}, {"$c": True},
                                    {"$c": 1, "$g": 1}, ["$c", 1], "$c"])
def test_forged_callback_ids_are_refused(session, target):
    impl = session(f"def use(f, x):\n    return raw_callback(f, None, (x,), target={target!r})\n")
    f = Counted()
    with pytest.raises(WorkerFailure) as failure:
        impl.use(f, np.ones(3))
    assert failure.value.status == "forbidden"
    assert f.calls == 0


def test_an_id_from_an_earlier_call_names_nothing(session):
    impl = session("KEPT = []\n"
                   "def keep(f, x):\n    KEPT.append(f)\n    return raw_callback(f, None, (x,))\n"
                   "def reuse(x):\n    return raw_callback(KEPT[0], None, (x,))\n")
    first = Counted()
    assert impl.keep(first, np.ones(2)) == 2.0
    with pytest.raises(WorkerFailure) as failure:
        impl.reuse(np.ones(2))
    assert failure.value.status == "forbidden"
    assert first.calls == 1


def test_an_id_from_another_check_names_nothing(tmp_path):
    path = tmp_path / "gradcheck.py"
    path.write_text(RAW + "KEPT = []\n"
                    "def keep(f, x):\n    KEPT.append(f)\n    return 0.0\n"
                    "def reuse(f, x):\n    return raw_callback(KEPT[0], None, (x,))\n")
    session = WorkerSession(path, "gradcheck")
    try:
        impl = session.open()
        stolen = Counted()
        impl.keep(stolen, np.ones(2))
        session.before_check()  # the next check
        mine = Counted()
        with pytest.raises(WorkerFailure) as failure:
            impl.reuse(mine, np.ones(2))
        assert failure.value.status == "forbidden"
        assert stolen.calls == 0 and mine.calls == 0
    finally:
        session.close()


@pytest.mark.parametrize("returned", ["module", "function", "frame", "class", "method"])
def test_a_callback_result_that_is_code_does_not_cross(session, returned):
    impl = session("def use(g):\n    return g()\n")
    value = {"module": lambda: os, "function": lambda: _session,
             "frame": lambda: sys._getframe(), "class": lambda: Counted,
             "method": lambda: Counted().__call__}[returned]
    with pytest.raises(TypeError, match="may not be handed"):
        impl.use(value)


def test_an_object_the_call_was_given_may_come_back(session):
    impl = session("def use(g, opt, params, grads):\n"
                   "    same = g(opt)\n    same.step(params, grads)\n    return 1\n")
    opt = Recording()
    assert impl.use(lambda o: o, opt, [np.ones(1)], [np.ones(1)]) == 1
    assert opt.steps == 1


def test_a_declared_class_constructed_by_student_code_hands_back_its_instance(session):
    impl = session("def use(cls, params, grads):\n"
                   "    opt = cls()\n    opt.step(params, grads)\n    return 1\n")
    made: list = []

    @exposes("step")
    class Made(Recording):
        def __init__(self) -> None:
            super().__init__()
            made.append(self)

    assert impl.use(Made, [np.ones(1)], [np.ones(1)]) == 1
    assert len(made) == 1 and made[0].steps == 1


def test_a_flood_of_object_handles_is_forbidden(session):
    impl = session("def use(f):\n"
                   "    raw_return(f, {'$l': [{'$o': '%d:T' % i} for i in range(150000)],"
                   " 'ref': 'w1'})\n")
    with pytest.raises(WorkerFailure) as failure:
        impl.use(Counted())
    assert failure.value.status == "forbidden"


def test_a_flood_of_object_type_names_is_forbidden(session):
    impl = session("def use(f):\n"
                   "    raw_return(f, {'$l': [{'$o': '%d:T%d' % (i, i)} for i in range(300)],"
                   " 'ref': 'w1'})\n")
    with pytest.raises(WorkerFailure) as failure:
        impl.use(Counted())
    assert failure.value.status == "forbidden"


def test_honest_objects_still_come_back_named_by_their_type(session):
    impl = session("def make():\n    return {1, 2}\n")
    assert type(impl.make()).__name__ == "set"


def test_handing_back_too_many_objects_is_forbidden(session):
    impl = session("def use(cls):\n"
                   "    return [cls() for _ in range(2000)]\n")

    @exposes("step")
    class Made(Recording):
        pass

    with pytest.raises(WorkerFailure) as failure:
        impl.use(Made)
    assert failure.value.status == "forbidden"
