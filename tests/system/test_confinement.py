"""What the sandbox must refuse and what it must not break, through a real `grader grade`.

Each student checks the sandbox from inside: the probe gives up its marks if any way to a
user namespace of its own works (the seccomp filter must refuse them all with EPERM); the
threaded softmax needs threads (clone after clone3 was refused) and NumPy in them. Both are
otherwise the reference, so full marks mean the sandbox is what it should be. The course is
the real one: its 30 s limit keeps a loaded machine from turning them into timeouts.
"""

from __future__ import annotations

import subprocess

import pandas as pd
import pytest
from support import GRADER, REFERENCE, ROOT

from grader.course.model import load_course

pytestmark = pytest.mark.slow

STUDENTS: dict[str, str] = {
    # Each way of making a user namespace must fail with EPERM (the seccomp filter); if one
    # succeeds, softmax stops working and the student loses marks.
    "seccomp_probe": REFERENCE + """
import ctypes, errno, os, subprocess
_escaped = []
try:
    if subprocess.run(["unshare", "-U", "true"], capture_output=True).returncode == 0:
        _escaped.append("unshare -U")
except OSError:
    pass  # no unshare(1) in the sandbox: nothing escaped
if hasattr(os, "unshare"):  # Python 3.12+
    try:
        os.unshare(os.CLONE_NEWUSER)
        _escaped.append("os.unshare")
    except OSError as e:
        if e.errno != errno.EPERM:
            _escaped.append(f"os.unshare: {e}")
_libc = ctypes.CDLL(None, use_errno=True)
if _libc.unshare(0x10000000) != -1 or ctypes.get_errno() != errno.EPERM:
    _escaped.append("unshare(CLONE_NEWUSER)")
if _escaped:
    def softmax(logits):
        raise RuntimeError("made a namespace: " + ", ".join(_escaped))
""",
    # Threads (clone without namespace flags, after clone3 was refused) and NumPy in them.
    "threads": REFERENCE + """
from concurrent.futures import ThreadPoolExecutor
_one_thread_softmax = softmax
_pool = ThreadPoolExecutor(max_workers=3)  # its threads start with the first call
def softmax(logits):
    rows = list(_pool.map(lambda row: _one_thread_softmax(row[None, :])[0], logits))
    return np.array(rows).reshape(logits.shape)
""",
    # The worker runs Python with -S: exit(), quit() and help() must still be there as under
    # `grader check`, NumPy importable, and nothing of the grader (no editable-install hook).
    "site_builtins": REFERENCE + """
import builtins, importlib.util, sys
_missing = [n for n in ("exit", "quit", "help", "copyright") if not hasattr(builtins, n)]
if not sys.flags.no_site:
    _missing.append("python ran site")
if importlib.util.find_spec("grader") is not None:
    _missing.append("grader importable")
if _missing:
    def softmax(logits):
        raise RuntimeError("worker environment: " + ", ".join(_missing))
""",
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("confinement")
    root = tmp / "class"
    for name, source in STUDENTS.items():
        (root / name).mkdir(parents=True)
        (root / name / "softmax_ce.py").write_text(source)
    run = subprocess.run([str(GRADER), "grade", str(root), "--output", str(tmp / "out"),
                          "--workers", "2", "--quiet"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    frame = pd.read_csv(tmp / "out" / "gradebook.csv", keep_default_na=False)
    return frame[frame.exercise == "softmax_ce"]


def assert_full_marks(frame: pd.DataFrame, student: str) -> None:
    rows = frame[frame.student == student]
    assert (rows.status == "passed").all(), rows[rows.status != "passed"].message.tolist()
    assert rows.score.sum() == load_course().exercise("softmax_ce").points


def test_the_worker_cannot_make_namespaces(graded):
    level = graded[graded.student == "seccomp_probe"].isolation.iloc[0]
    if "seccomp" not in level:
        pytest.skip(f"no seccomp filter at this machine's isolation level ({level})")
    assert_full_marks(graded, "seccomp_probe")


def test_threads_work_in_the_worker(graded):
    assert_full_marks(graded, "threads")


def test_the_worker_has_the_site_builtins_and_nothing_of_the_grader(graded):
    assert_full_marks(graded, "site_builtins")
