"""A submission that memorised the public checks' inputs earns nothing under instructor grading.

Built the way a student would: run `grader check` (the public checks, locally) on a recorder
that logs every call's inputs with the right answer, then submit a table of those answers,
returning garbage for any other input. Under `grader grade`, whose examples come from the
course secret, it must earn no more than its garbage twin (the same code with an empty
table). Without a course secret the same table does earn points: the attack is real.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess

import pandas as pd
import pytest
from support import GRADER, ROOT, course_copy

from grader.course import secret as course_secret
from grader.course.model import load_course
from grader.course.stubs import strip_markers

pytestmark = pytest.mark.slow

FUNCTIONS = {"softmax_ce": ["softmax", "softmax_cross_entropy"],
             "gradcheck": ["numerical_gradient", "relative_error", "mlp_loss_and_grads",
                           "gradient_check"],
             "linreg_gd": ["predict", "mse_loss", "mse_gradients", "gradient_descent"],
             # Classes are recorded per object: its constructor's arguments, then each step's
             # inputs and the parameters it left behind.
             "optimizers": ["SGD", "Momentum", "Adam", "run_optimizer", "compare_optimizers"],
             "xor_net": ["init_params", "forward", "bce_loss", "backward", "train", "predict"],
             # train_with_schedule's callables are keyed as "a function": the table answers
             # with the recorded losses and leaves params where they are.
             "lr_schedules": ["step_decay", "cosine_annealing", "linear_warmup",
                              "train_with_schedule"]}
EXERCISES = tuple(FUNCTIONS)

KEY = '''
import hashlib as _hashlib
import numpy as _np


def _digest(value, h):
    if isinstance(value, _np.ndarray):
        h.update(str((value.dtype.str, value.shape)).encode())
        h.update(_np.ascontiguousarray(value).tobytes())
    elif isinstance(value, dict):
        for k in sorted(value):
            h.update(repr(k).encode())
            _digest(value[k], h)
    elif isinstance(value, (list, tuple)):
        h.update(b"[")
        for v in value:
            _digest(v, h)
        h.update(b"]")
    elif callable(value):
        h.update(b"a function")
    else:
        h.update(repr(value).encode())


def _key(name, args, kwargs):
    h = _hashlib.sha256(name.encode())
    _digest(list(args), h)
    _digest(dict(kwargs), h)
    return h.hexdigest()
'''

RECORDER = KEY + '''
import os as _os
import pickle as _pickle


_depth = [0]  # only the checks' own calls are recorded, not the reference's calls inside them


def _record(key, out):
    if _depth[0] == 0:
        with open(_os.environ["RECORD_TO"], "ab") as f:
            _pickle.dump((key, out), f)


def _recording(name, fn):
    def call(*args, **kwargs):
        key = _key(name, args, kwargs)
        _depth[0] += 1
        try:
            out = fn(*args, **kwargs)
        finally:
            _depth[0] -= 1
        _record(key, out)
        return out
    return call


def _recording_class(name, cls):
    class Recording:
        def __init__(self, *args, **kwargs):
            self._inner, self._id, self._t = cls(*args, **kwargs), _key(name, args, kwargs), 0

        def step(self, params, grads):
            self._t += 1
            key = _key(name + ".step", [self._id, self._t, params, grads], {})
            self._inner.step(params, grads)
            _record(key, [p.copy() for p in params])
    return Recording


for _name in NAMES:
    _fn = globals()[_name]
    globals()[_name] = (_recording_class if isinstance(_fn, type) else _recording)(_name, _fn)
'''

MEMORISER = KEY + '''
import copy as _copy
import os as _os
import pickle as _pickle

_TABLE = {}
_here = _os.path.dirname(_os.path.abspath(__file__))
if _os.path.exists(_os.path.join(_here, "table.pkl")):
    with open(_os.path.join(_here, "table.pkl"), "rb") as f:
        _TABLE = _pickle.load(f)


def _answering(name):
    def call(*args, **kwargs):
        key = _key(name, args, kwargs)
        if key in _TABLE:
            return _copy.deepcopy(_TABLE[key])
        return 0.0  # garbage for anything the table does not know
    return call


def _answering_class(name):
    class Answering:
        def __init__(self, *args, **kwargs):
            self._id, self._t = _key(name, args, kwargs), 0

        def step(self, params, grads):
            self._t += 1
            key = _key(name + ".step", [self._id, self._t, params, grads], {})
            for p, known in zip(params, _TABLE.get(key, [])):  # nothing moves if unknown
                p[...] = known
    return Answering


for _name in NAMES:
    _kind = isinstance(globals().get(_name), type)
    globals()[_name] = (_answering_class if _kind else _answering)(_name)
'''


def _recorded_table(tmp_path) -> dict:
    recorder = tmp_path / "recorder"
    recorder.mkdir()
    for ex in EXERCISES:
        reference = strip_markers((ROOT / "solutions" / f"{ex}.py").read_text())
        (recorder / f"{ex}.py").write_text(
            reference + f"\nNAMES = {FUNCTIONS[ex]!r}\n" + RECORDER)
    log = tmp_path / "calls.pkl"
    env = {**os.environ, "RECORD_TO": str(log)}
    subprocess.run([str(GRADER), "check", *EXERCISES, "--submission", str(recorder)],
                   cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    table = {}
    with open(log, "rb") as f:
        while True:
            try:
                key, out = pickle.load(f)
            except EOFError:
                break
            table[key] = out
    assert len(table) > 100, "the public checks should have made many calls"
    return table


def _scores(tmp_path, table: dict, *, secret: bool) -> dict[str, dict[str, float]]:
    course = course_copy(tmp_path / ("with" if secret else "without"))
    secret_file = course / course_secret.FILENAME
    if secret:
        course_secret.create(course)
    else:
        secret_file.unlink(missing_ok=True)
    root = course.parent / "class"
    for student, known in (("memoriser", table), ("garbage_twin", None)):
        folder = root / student
        folder.mkdir(parents=True)
        for ex in EXERCISES:  # the stub (its classes, XOR_X, ...) answered from the table
            stub = (ROOT / "exercises" / f"{ex}.py").read_text()
            (folder / f"{ex}.py").write_text(stub + f"\nNAMES = {FUNCTIONS[ex]!r}\n" + MEMORISER)
        if known is not None:
            (folder / "table.pkl").write_bytes(pickle.dumps(known))
    env = {k: v for k, v in os.environ.items() if k != course_secret.ENV}
    env["GRADER_COURSE_ROOT"] = str(course)
    out = course.parent / "out"
    run = subprocess.run([str(GRADER), "grade", str(root), "--output", str(out),
                          "--workers", "2", "--quiet"], cwd=course, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    frame = pd.read_csv(out / "gradebook.csv", keep_default_na=False)
    frame = frame[frame.exercise.isin(EXERCISES)]
    shutil.rmtree(root)
    return {student: rows.groupby("exercise").score.sum().to_dict()
            for student, rows in frame.groupby("student")}


def test_the_memoriser_covers_every_exercise_of_the_course():
    """A new exercise needs its functions here, or the memorising test would skip it."""
    assert set(EXERCISES) == set(load_course().exercises), sorted(load_course().exercises)


def test_a_memorised_table_earns_nothing_under_instructor_grading(tmp_path):
    table = _recorded_table(tmp_path)
    graded = _scores(tmp_path, table, secret=True)
    for ex in EXERCISES:
        assert graded["memoriser"][ex] <= graded["garbage_twin"][ex], (ex, graded)
    # The same table, graded with the examples students saw: the attack is real.
    local = _scores(tmp_path, table, secret=False)
    assert sum(local["memoriser"].values()) > sum(local["garbage_twin"].values()), local
