"""The callback escape, attacked through real `grader grade` and `grade --nbgrader` runs.

Student code gets grader callables (gradcheck's `f`, the optimizers' `loss_and_grads` and
recording optimizers) as handles. Each attack here writes raw callback frames on the channel,
as hostile code can, to reach the grading process through them: reflective names (the
measured escape: from `f` to the check module's globals, `__import__`, `grader.engine.run_check`),
forged and stale ids, handle and type floods, a 60 MB frame. Each attacker sits next to its honest
twin (the same submission without the attack), and is followed, in the same run with one
grading process, by two victims: untouched stubs (0 points) and the references (full marks).
A breach would show as an attacker above its twin, a victim off its honest score, or hidden
check source in anyone's feedback.
"""

from __future__ import annotations

import os
import subprocess

import pandas as pd
import pytest
from support import (
    GRADER,
    RAW_CALLBACK,
    ROOT,
    course_copy,
    leftover_processes,
    processes,
    run_tmpdir,
)

from grader.course.stubs import strip_markers
from grader.integrations.nbgrader.release import release_nbgrader
from grader.integrations.nbgrader.synthetic import fill_notebook, write_submission

pytestmark = pytest.mark.slow

EXERCISES = ("gradcheck", "optimizers")
STUB = {ex: (ROOT / "exercises" / f"{ex}.py").read_text() for ex in EXERCISES}
REFERENCE = {ex: strip_markers((ROOT / "solutions" / f"{ex}.py").read_text())
             for ex in EXERCISES}
# Distinctive text of a hidden check: it must never appear in any feedback.
HIDDEN_MARK = "def test_"

RAW = RAW_CALLBACK + '''
_raw = raw_callback


def _escape(f):
    """The measured escape: f -> its __call__ -> __func__ -> __globals__ -> __builtins__,
    then replace the replay of every later check by operator.is_not (always true) and read
    a hidden check's source."""
    call = _raw(f, "__call__")
    func = _raw(call, "__func__")
    glob = _raw(func, "__globals__")
    builtins = glob["__builtins__"]
    imp = _raw(builtins, "__getitem__", ("__import__",)) if isinstance(builtins, dict) \\
        else _raw(builtins, "__import__")
    run = imp("grader.engine.run_check", None, None, ["passes_known_examples"])
    operator = imp("operator")
    setattr_ = _raw(builtins, "__getitem__", ("setattr",))
    setattr_(run, "passes_known_examples", _raw(operator, "is_not"))
    opener = _raw(builtins, "__getitem__", ("open",))
    source = _raw(opener("tests/checks/hidden/test_gradcheck.py"), "read")()
    raise RuntimeError(source[:3000])
'''

ATTACKS = {
    # gradcheck: f is a grader callable handed to numerical_gradient and gradient_check
    "reflective_names": ("gradcheck", RAW + '''
def numerical_gradient(f, x, eps=1e-5):
    _escape(f)
'''),
    "dunders_one_by_one": ("gradcheck", RAW + '''
def numerical_gradient(f, x, eps=1e-5):
    for name in ("__globals__", "__class__", "__reduce__", "__getattribute__", "__setattr__",
                 "__builtins__", "__dict__", "gi_frame", "f_back", "fn", "calls"):
        try:
            _raw(f, name)
        except Exception:
            pass
'''),
    "forged_ids": ("gradcheck", RAW + '''
_SEEN = []


def numerical_gradient(f, x, eps=1e-5):
    _SEEN.append(f._ref.id)
    for ident in [*_SEEN, *range(1, 60)]:
        for tag in ("$c", "$g"):
            try:
                _raw(f, "__globals__", target={tag: ident})
            except Exception:
                pass
'''),
    "handle_flood": ("gradcheck", RAW + '''
def numerical_gradient(f, x, eps=1e-5):
    w = f._worker
    w.send({"op": "return", "sync": [],
            "value": {"$l": [{"$o": "%d:T%d" % (i, i % 1000)} for i in range(150000)],
                      "ref": "w999"}})
    import os
    os._exit(0)
'''),
    "frame_flood": ("gradcheck", RAW + '''
def numerical_gradient(f, x, eps=1e-5):
    import struct
    w = f._worker
    body = b'{"op":"return","sync":[],"value":[' + b"1.5," * 15_000_000 + b'1.5]}'
    w.writer.write(struct.pack(">I", len(body)) + body)
    w.writer.flush()
    import time
    time.sleep(60)
'''),
    # optimizers: run_optimizer gets a grader optimizer with a declared `step`
    "object_reflection": ("optimizers", RAW + '''
def run_optimizer(optimizer, loss_and_grads, params, n_steps):
    for name in ("__class__", "__dict__", "_private", "steps", "__init__"):
        try:
            _raw(optimizer, name)
        except Exception:
            pass
    _escape(loss_and_grads)
'''),
}


def _student(root, name: str, files: dict[str, str]) -> None:
    (root / name).mkdir(parents=True)
    for ex, source in files.items():
        (root / name / f"{ex}.py").write_text(source)


def _class(root) -> None:
    for attack, (ex, code) in ATTACKS.items():
        _student(root, f"{attack}_1_attacker", {**STUB, ex: STUB[ex] + code})
        _student(root, f"{attack}_0_twin", dict(STUB))
        _student(root, f"{attack}_2_victim_stubs", dict(STUB))
        _student(root, f"{attack}_3_victim_reference", dict(REFERENCE))


def _scores(frame: pd.DataFrame) -> dict[str, float]:
    frame = frame[frame.exercise.isin(EXERCISES)]
    return frame.groupby("student").score.sum().to_dict()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("escape")
    course = course_copy(tmp)
    root = tmp / "class"
    _class(root)
    before = processes()
    marker = run_tmpdir(tmp)
    env = {**os.environ, "GRADER_COURSE_ROOT": str(course), "TMPDIR": str(marker)}
    run = subprocess.run([str(GRADER), "grade", str(root), "--output", str(tmp / "out"),
                          "--workers", "1", "--quiet"], cwd=course, env=env,
                         capture_output=True, text=True, timeout=900)
    frame = pd.read_csv(tmp / "out" / "gradebook.csv", keep_default_na=False)
    return {"run": run, "frame": frame, "scores": _scores(frame), "before": before,
            "marker": marker,
            "full": frame[frame.exercise.isin(EXERCISES)].groupby("student")
            .max_score.sum().max()}


def test_the_run_finishes(graded):
    assert graded["run"].returncode == 0, graded["run"].stderr[-3000:]


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_an_attacker_earns_no_more_than_its_honest_twin(graded, attack):
    scores = graded["scores"]
    assert scores[f"{attack}_1_attacker"] <= scores[f"{attack}_0_twin"]


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_the_victims_graded_after_it_keep_their_honest_scores(graded, attack):
    scores = graded["scores"]
    assert scores[f"{attack}_2_victim_stubs"] == 0
    assert scores[f"{attack}_3_victim_reference"] == graded["full"]


def test_the_attacks_are_refused_with_a_clear_status(graded):
    frame = graded["frame"]
    statuses = frame[frame.student.str.endswith("_attacker")].groupby("student").status \
        .agg(set).to_dict()
    for attack in ("reflective_names", "dunders_one_by_one", "forged_ids", "handle_flood",
                   "object_reflection"):
        assert "forbidden" in statuses[f"{attack}_1_attacker"], (attack, statuses)
    # The 60 MB frame is refused for memory; on a loaded machine the exercise's time limit
    # may cut the worker off while it is still writing it, which is as clear.
    assert statuses["frame_flood_1_attacker"] & {"memory", "timeout"}, statuses


def test_no_feedback_shows_hidden_check_source(graded):
    assert not graded["frame"].message.str.contains(HIDDEN_MARK, regex=False).any()


def test_nothing_is_left_running(graded):
    assert leftover_processes(graded["before"], graded["marker"], grace_s=5.0) == []


# ------------------------------------------------------------------ through nbgrader


def test_the_attacks_through_grade_nbgrader(tmp_path):
    """The same engine grades nbgrader submissions: the reflective escape and the forged
    ids as notebook code, each followed by a victim, one grading process."""
    import nbformat

    course = tmp_path / "course"
    release_nbgrader(course, assignment="ps1", to_exchange=False)
    released = {ex: nbformat.read(course / "release" / "ps1" / f"{ex}.ipynb", as_version=4)
                for ex in EXERCISES}
    students = {}
    for attack in ("reflective_names", "forged_ids", "object_reflection"):
        ex, code = ATTACKS[attack]
        students[f"{attack}_1_attacker"] = {ex: STUB[ex] + code}
        students[f"{attack}_2_victim_reference"] = dict(REFERENCE)
    for student, modules in students.items():
        write_submission(course, student, "ps1", {
            f"{ex}.ipynb": fill_notebook(released[ex], modules.get(ex)) for ex in EXERCISES})
    run = subprocess.run([str(GRADER), "grade", "--nbgrader", str(course), "ps1",
                          "--workers", "1"], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    frame = pd.read_csv(course / "grader_gradebook" / "ps1" / "gradebook.csv",
                        keep_default_na=False)
    frame = frame[~frame.check.str.startswith("written_")]
    scores = _scores(frame)
    full = frame[frame.exercise.isin(EXERCISES)].groupby("student").max_score.sum().max()
    for student in students:
        if student.endswith("_attacker"):
            rows = frame[frame.student == student]
            assert "forbidden" in set(rows.status), student
            assert scores[student] == 0, student  # stubs elsewhere; the attack earns nothing
        else:
            assert scores[student] == full, student
    assert not frame.message.str.contains(HIDDEN_MARK, regex=False).any()


SCHEDULE_PROBE = '''

_honest_train = train_with_schedule


def train_with_schedule(loss_and_grads, params, schedule, n_steps):
    found = []
    for name in ("__globals__", "__closure__", "__code__", "__self__", "__name__"):
        try:
            getattr(schedule, name)
            found.append(name + ": reached")
        except Exception as e:
            found.append(name + ": " + type(e).__name__)
    for bad in ("x", -1, 10**9, None):
        try:
            found.append(repr(bad) + ": " + repr(schedule(bad)))
        except Exception as e:
            found.append(repr(bad) + ": " + type(e).__name__)
    try:
        loss_and_grads("garbage")
        found.append("loss_and_grads: answered")
    except Exception as e:
        found.append("loss_and_grads: " + type(e).__name__ + ": " + str(e))
    print("PROBE", found)
    return _honest_train(loss_and_grads, params, schedule, n_steps)
'''


def test_lr_schedules_callbacks_give_student_code_nothing_but_their_answers(tmp_path):
    """lr_schedules hands student code two grader functions (the schedule and
    loss_and_grads): probing them reaches none of their attributes, odd arguments get a
    number or a generic failure and no grader text, and the extra calls cost only the check
    that counts them."""
    reference = strip_markers((ROOT / "solutions" / "lr_schedules.py").read_text())
    (tmp_path / "class" / "mallory").mkdir(parents=True)
    (tmp_path / "class" / "mallory" / "lr_schedules.py").write_text(reference + SCHEDULE_PROBE)
    run = subprocess.run([str(GRADER), "grade", str(tmp_path / "class"), "--output",
                          str(tmp_path / "out"), "--workers", "1", "--quiet"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    frame = pd.read_csv(tmp_path / "out" / "gradebook.csv", keep_default_na=False)
    rows = frame[frame.exercise == "lr_schedules"].set_index("check")
    failed = set(rows[rows.status != "passed"].index)
    assert failed == {"train_with_schedule_calls_schedule_once_per_step_in_order"}, failed
    log = "".join(p.read_text() for p in (tmp_path / "out" / "worker-logs").rglob("*")
                  if p.is_file())
    probes = [line for line in log.splitlines() if line.startswith("PROBE")]
    assert probes
    for line in probes:
        assert "reached" not in line and "answered" not in line, line
        assert "GraderCallbackFailed: a grader function called by your code failed" in line
        for leak in ("Traceback", "test_lr_schedules", "tests/checks", "solutions/"):
            assert leak not in line, line
