"""What several test modules share: paths, a fast course copy, process listings."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from grader.course.model import Course, load_course, use_course
from grader.course.stubs import strip_markers

ROOT = Path(__file__).resolve().parents[1]
GRADER = ROOT / ".venv" / "bin" / "grader"
REFERENCE = strip_markers((ROOT / "solutions" / "softmax_ce.py").read_text())
WRONG = REFERENCE.replace("    dlogits /= n\n", "")  # honest but wrong: gradient not / N
SECRET = ROOT / "solutions" / "softmax_ce.py"
# A tiny course (two exercises) for tests of the engine: a change of the real course never
# breaks them.
FIXTURE_COURSE = ROOT / "tests" / "fixtures" / "course"


@contextmanager
def using_course(root: Path) -> Iterator[Course]:
    """While in the block, this process grades the course at ROOT (then the one before)."""
    from grader.authoring.checks import use_profile

    before = load_course()
    course = load_course(root)
    use_course(course)
    use_profile(course)
    try:
        yield course
    finally:
        use_course(before)
        use_profile(before)


def course_copy(tmp: Path, time_limit_s: int = 4) -> Path:
    """A copy of the course whose softmax_ce time limit is TIME_LIMIT_S (4 s: endless loops
    cost little)."""
    course = tmp / "course"
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis")
    for folder in ("grader", "exercises", "solutions"):
        shutil.copytree(ROOT / folder, course / folder, ignore=ignore)
    shutil.copytree(ROOT / "tests" / "checks", course / "tests" / "checks", ignore=ignore)
    config = (ROOT / "course_config.py").read_text()
    start = config.index('"softmax_ce": {')
    end = config.index('"time_limit_s": 30', start)
    config = (config[:end] + f'"time_limit_s": {time_limit_s}'
              + config[end + len('"time_limit_s": 30'):])
    (course / "course_config.py").write_text(config)
    return course


def softmax_class(root: Path, n: int) -> list[str]:
    """A class of N students, student_00 ..., each with a softmax_ce.py: the reference for
    even numbers, a wrong one for odd. Returns their names."""
    names = [f"student_{i:02d}" for i in range(n)]
    for i, name in enumerate(names):
        (root / name).mkdir(parents=True)
        (root / name / "softmax_ce.py").write_text(REFERENCE if i % 2 == 0 else WRONG)
    return names


def committed_students(db: Path) -> int:
    """How many students a gradebook has committed, read while a grader may be writing it."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return con.execute("SELECT COUNT(*) FROM students").fetchone()[0]
    except sqlite3.Error:
        return 0


def processes() -> set[int]:
    return {int(p) for p in os.listdir("/proc") if p.isdigit()}


def run_tmpdir(tmp: Path) -> Path:
    """A TMPDIR for one `grader grade` run: its submission copies and worker folders, and
    so the command lines of its workers, carry this path. Leftover processes are looked for
    by it, so that other grading runs on the same machine are not mistaken for ours."""
    folder = tmp / "run-tmp"
    folder.mkdir(mode=0o755)
    return folder


def leftover_processes(before: set[int], marker: Path, grace_s: float = 0.0) -> list[bytes]:
    """Command lines of processes started since `before` that belong to the run marked and
    are still there after up to `grace_s` seconds (a killed tree takes a moment to go)."""
    deadline = time.monotonic() + grace_s
    while True:
        found = _marked(before, marker)
        if not found or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)


def _marked(before: set[int], marker: Path) -> list[bytes]:
    found = []
    for pid in processes() - before:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if str(marker).encode() in cmdline:
            found.append(cmdline[:300])
    return found


# Student-side code for attack tests: a callback frame written by hand on the worker's channel
# (the worker's own refusals are skipped), as hostile code can. A refused callback re-raises
# the grader's exception in the check, as an honest one would.
RAW_CALLBACK = '''
import protocol as _P


def raw_callback(handle, method, args=(), target=None):
    w = handle._worker
    if target is None:
        target = {"$" + handle._ref.kind: handle._ref.id}
    w.send({"op": "callback", "target": target, "method": method,
            "args": _P.encode(tuple(args), w.mirror, w.refer), "kwargs": {"$t": []}})
    reply = _P.read_frame(w.reader)
    if reply["op"] == "callback_return":
        return _P.decode(reply["value"], w.mirror, w.resolve)
    if reply["op"] == "callback_raise":
        import __main__  # worker.py
        raise __main__.GraderCallbackFailed(reply["token"])
    raise RuntimeError("refused: " + reply["op"])
'''
