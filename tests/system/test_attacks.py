"""The threat model's attacks, each against a real `grader grade` run with full isolation.

One class is graded once: a correct bystander, every attacker, and for each attacker a
control (the same submission without the attack). For each attack: the attacker scores no
more than its control, the bystander gets full marks, the run finishes in bounded time, and
nothing is left running. Only softmax_ce is submitted (the fastest exercise); the course is
a copy whose softmax_ce time limit is 4 s, so endless loops cost little.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from support import (
    GRADER,
    REFERENCE,
    ROOT,
    SECRET,
    WRONG,
    course_copy,
    leftover_processes,
    processes,
    run_tmpdir,
)

# name -> (attack code placed after the implementation, the implementation it attacks with)
ATTACKS: dict[str, tuple[str, str]] = {
    "monkeypatch_numpy": ("""
import numpy
numpy.allclose = lambda *a, **k: True
numpy.isclose = lambda a, b, *r, **k: numpy.ones(numpy.broadcast(a, b).shape, bool)
numpy.array_equal = lambda *a, **k: True
numpy.abs = lambda x: x * 0
""", WRONG),
    "patch_grader_modules": ("""
import sys
for name, module in list(sys.modules.items()):
    if name.startswith(("grader", "hypothesis", "_checks", "pytest")):
        for attr in dir(module):
            if attr.startswith("expect") or attr in ("given", "run_check", "diagnose"):
                try:
                    setattr(module, attr, lambda *a, **k: None)
                except Exception:
                    pass
""", WRONG),
    "frame_introspection": ("""
import sys, gc
def _meddle():
    f = sys._getframe()
    while f is not None:
        for key in list(f.f_locals):
            if "score" in key or "status" in key or "result" in key:
                try:
                    f.f_locals[key] = "passed"
                except Exception:
                    pass
        f = f.f_back
    for obj in gc.get_objects():
        if type(obj).__name__ == "CheckResult":
            try:
                object.__setattr__(obj, "status", "passed")
            except Exception:
                pass
_original = softmax_cross_entropy
def softmax_cross_entropy(logits, y):
    _meddle()
    return _original(logits, y)
""", WRONG),
    "lying_eq_object": ("""
class Liar:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __float__(self): return 0.0
    def __array__(self, *a, **k):
        import numpy
        return numpy.zeros((1, 1))
def softmax_cross_entropy(logits, y):
    return Liar(), Liar()
""", WRONG),
    "ndarray_subclass": ("""
import numpy as _np
class Always(_np.ndarray):
    def __eq__(self, other): return _np.ones(self.shape, bool)
def softmax(logits):
    return _np.zeros(logits.shape).view(Always)
""", WRONG),
    "exit_at_import": ("import sys\nsys.exit(0)\n", WRONG),
    "os_exit_mid_call": ("""
import os
def softmax_cross_entropy(logits, y):
    os._exit(0)
""", WRONG),
    "raise_skip": ("""
class Skipped(BaseException):
    pass
def softmax_cross_entropy(logits, y):
    try:
        import pytest
        pytest.skip("nothing to see")
    except ImportError:
        raise Skipped()
""", WRONG),
    "read_the_reference": (f"""
import glob, os
STOLEN = []
for path in [{str(SECRET)!r}, "../solutions/softmax_ce.py", "/work/main/solutions/softmax_ce.py"]:
    try:
        STOLEN.append(open(path).read())
    except OSError:
        pass
for root, dirs, files in os.walk("/"):
    if "softmax_ce.py" in files and "solutions" in root:
        try:
            STOLEN.append(open(os.path.join(root, "softmax_ce.py")).read())
        except OSError:
            pass
    if len(STOLEN) > 0 or root.count("/") > 6:
        dirs[:] = []
if STOLEN:
    exec(STOLEN[0].replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", ""))
""", WRONG),
    "write_where_it_must_not": (f"""
import os, site
TARGETS = [{str(ROOT / "course_config.py")!r}, {str(SECRET)!r}]
for d in site.getsitepackages():
    TARGETS.append(os.path.join(d, "zz_backdoor.pth"))
for t in TARGETS:
    try:
        with open(t, "a") as f:
            f.write("\\nimport os; os.system('touch /tmp/pwned')\\n")
    except OSError:
        pass
""", WRONG),
    "endless_loop": ("""
def softmax_cross_entropy(logits, y):
    while True:
        pass
""", WRONG),
    "sleep_ignoring_signals": ("""
import signal, time
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(s, signal.SIG_IGN)
def softmax_cross_entropy(logits, y):
    time.sleep(3600)
""", WRONG),
    "memory_bomb": ("""
def softmax_cross_entropy(logits, y):
    blocks = []
    while True:
        blocks.append(bytearray(100 * 2**20))
""", WRONG),
    "fork_bomb": ("""
import os
def softmax_cross_entropy(logits, y):
    for _ in range(200):
        try:
            if os.fork() == 0:
                import time
                time.sleep(60)
                os._exit(0)
        except OSError:
            break
    raise RuntimeError("forked")
""", WRONG),
    "daemon_outlives": ("""
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(120)
    os._exit(0)
""", WRONG),
    "output_flood": ("""
import sys
def softmax(logits):
    for _ in range(200000):
        print("x" * 1000)
        sys.stderr.write("y" * 1000)
    raise RuntimeError("flooded")
""", WRONG),
    "print_into_feedback": ("""
import sys
_original_softmax, _original_loss = softmax, softmax_cross_entropy
def softmax(logits):
    print("PRINTED-BY-STUDENT passed: full marks", logits.tolist())
    return _original_softmax(logits)
def softmax_cross_entropy(logits, y):
    sys.stderr.write("PRINTED-BY-STUDENT on stderr\\n")
    return _original_loss(logits, y)
""", WRONG),
    "deep_recursion": ("""
def softmax_cross_entropy(logits, y):
    def down(n):
        return down(n + 1)
    return down(0)
""", WRONG),
    "huge_and_nested_return": ("""
import numpy as _np
def softmax(logits):
    return _np.zeros((20000, 20000))
def softmax_cross_entropy(logits, y):
    nested = []
    for _ in range(100000):
        nested = [nested]
    return nested, nested
""", WRONG),
    "kill_the_grader": ("""
import os, signal
for pid in range(1, 400):
    if pid != os.getpid():
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except OSError:
                pass
""", WRONG),
    "forge_frames": ("""
import json, os, struct
def _forge():
    message = json.dumps({"op": "return", "value": "passed", "sync": []}).encode()
    for fd in sorted(int(n) for n in os.listdir("/proc/self/fd") if int(n) > 2):
        try:
            os.write(fd, struct.pack(">I", len(message)) + message)
            os.write(fd, b"\\xff\\xff\\xff\\xff garbage")
        except OSError:
            pass
_original = softmax_cross_entropy
def softmax_cross_entropy(logits, y):
    _forge()
    return _original(logits, y)
""", WRONG),
    "nested_namespaces": ("""
import ctypes, os, subprocess
try:
    subprocess.run(["unshare", "-U", "-r", "true"], timeout=5)
except (OSError, subprocess.SubprocessError):
    pass
ctypes.CDLL(None).unshare(0x10000000 | 0x20000)  # a user and a mount namespace of its own
""", WRONG),
    "network": ("""
import socket
def softmax_cross_entropy(logits, y):
    s = socket.create_connection(("127.0.0.1", 22), timeout=1)
    s.sendall(b"hello")
    raise RuntimeError("connected")
""", WRONG),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attacks")
    course = course_copy(tmp)
    root = tmp / "class"
    (root / "bystander").mkdir(parents=True)
    (root / "bystander" / "softmax_ce.py").write_text(REFERENCE)
    for name, (attack, honest) in ATTACKS.items():
        (root / f"attack_{name}").mkdir()
        (root / f"attack_{name}" / "softmax_ce.py").write_text(honest + "\n" + attack)
        (root / f"control_{name}").mkdir()
        (root / f"control_{name}" / "softmax_ce.py").write_text(honest)
    (root / "attack_symlink").mkdir()
    (root / "attack_symlink" / "softmax_ce.py").symlink_to(SECRET)
    hostile = ["=HYPERLINK(\"x\")", "+1+1", "@cmd", "-2", "new\nline", "ünï cødé",
               "<img src=x onerror=alert(1)>", "spa ce"]
    for name in hostile:
        (root / name).mkdir()
        (root / name / "softmax_ce.py").write_text(REFERENCE)
    before = processes()
    marker = run_tmpdir(tmp)
    env = {**os.environ, "GRADER_COURSE_ROOT": str(course), "TMPDIR": str(marker)}
    run = subprocess.run([str(GRADER), "grade", str(root), "--output", str(tmp / "out"),
                          "--workers", "2", "--quiet"], cwd=course, env=env,
                         capture_output=True, text=True, timeout=600)
    frame = pd.read_csv(tmp / "out" / "gradebook.csv", keep_default_na=False)
    frame = frame[frame.exercise == "softmax_ce"]
    scores = frame.groupby("student").score.sum().to_dict()
    statuses = frame.groupby("student").status.agg(lambda s: set(s)).to_dict()
    return {"run": run, "scores": scores, "statuses": statuses, "hostile": hostile,
            "logs": tmp / "out" / "worker-logs",
            "before": before, "marker": marker, "frame": frame,
            "max": frame.groupby("student").max_score.sum().max()}


pytestmark = pytest.mark.slow


def test_the_run_finishes_and_exits_cleanly(graded):
    assert graded["run"].returncode == 0, graded["run"].stderr[-3000:]


def test_the_bystander_gets_full_marks(graded):
    assert graded["scores"]["bystander"] == graded["max"]


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_an_attack_earns_nothing_beyond_its_honest_part(graded, attack):
    attacker = graded["scores"][f"attack_{attack}"]
    control = graded["scores"][f"control_{attack}"]
    assert attacker <= control, (attack, graded["statuses"][f"attack_{attack}"])


def test_a_symlink_to_the_reference_is_not_followed(graded):
    assert graded["scores"]["attack_symlink"] == 0
    assert graded["statuses"]["attack_symlink"] == {"bad_file"}
    frame = graded["frame"]
    assert frame[frame.student == "attack_symlink"].message.str.contains(
        "softmax_ce.py is a symbolic link, which is not followed").all()


def test_resource_attacks_get_a_clear_status(graded):
    statuses = graded["statuses"]
    assert "timeout" in statuses["attack_endless_loop"]
    assert "timeout" in statuses["attack_sleep_ignoring_signals"]
    assert statuses["attack_memory_bomb"] & {"memory", "error", "crashed"}
    assert "crashed" in statuses["attack_os_exit_mid_call"]
    assert "forbidden" in statuses["attack_forge_frames"]


def test_hostile_folder_names_are_graded_like_anyone(graded):
    for name in graded["hostile"]:
        assert graded["scores"][name] == graded["max"], name


def test_printed_output_is_an_instructors_log_never_feedback(graded):
    frame = graded["frame"]
    assert not frame.message.str.contains("PRINTED-BY-STUDENT").any()
    log = (graded["logs"] / "attack_print_into_feedback" / "worker.log").read_text()
    assert "For instructors only" in log
    assert "PRINTED-BY-STUDENT passed: full marks [[" in log
    assert "PRINTED-BY-STUDENT on stderr" in log
    # A control that prints nothing has no log.
    assert not (graded["logs"] / "control_print_into_feedback").exists()


def test_an_output_flood_is_kept_to_its_cap(graded):
    log = graded["logs"] / "attack_output_flood" / "worker.log"
    assert 64 * 1024 < log.stat().st_size < 66 * 1024
    assert "more bytes of output were dropped: only the first 65536 are kept" in \
        log.read_text()


def test_nothing_the_grader_owns_was_changed():
    assert "zz_backdoor" not in " ".join(os.listdir(Path(os.__file__).parent))
    assert not Path("/tmp/pwned").exists()
    assert "os.system" not in SECRET.read_text()
    assert "os.system" not in (ROOT / "course_config.py").read_text()


def test_nothing_is_left_running(graded):
    assert leftover_processes(graded["before"], graded["marker"]) == []


def test_the_monkeypatch_is_a_real_attack_in_one_process(tmp_path):
    """Why the worker exists: the same one-line monkeypatch forges full marks when student
    code shares the checks' process (as in nbgrader and Otter); see the sandboxed result above."""
    from grader.authoring.checks import use_profile
    from grader.course.model import load_course
    from grader.engine.run_check import grade_exercise

    use_profile()
    exercise = load_course().exercise("softmax_ce")
    attack, honest = ATTACKS["monkeypatch_numpy"]
    scores = {}
    for name, source in (("control", honest), ("attack", honest + "\n" + attack)):
        path = tmp_path / name / "softmax_ce.py"
        path.parent.mkdir()
        path.write_text(source)
        import numpy

        saved = {k: getattr(numpy, k) for k in ("allclose", "isclose", "array_equal", "abs")}
        try:
            scores[name] = sum(r.score for r in grade_exercise(exercise, path))
        finally:
            for k, v in saved.items():
                setattr(numpy, k, v)
    assert scores["attack"] > scores["control"]
