"""`grader grade` killed with SIGKILL mid-run keeps what it committed; the next run continues."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from support import GRADER, OUR_VENV, REFERENCE, WRONG, course_copy, processes

pytestmark = pytest.mark.slow


def _committed(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return con.execute("SELECT COUNT(*) FROM students").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_kill_9_loses_nothing_and_the_next_run_continues(tmp_path):
    course = course_copy(tmp_path)
    root = tmp_path / "class"
    names = [f"student_{i:02d}" for i in range(8)]
    for i, name in enumerate(names):
        (root / name).mkdir(parents=True)
        (root / name / "softmax_ce.py").write_text(REFERENCE if i % 2 == 0 else WRONG)
    out = tmp_path / "out"
    db = out / "gradebook.sqlite"
    env = {**os.environ, "GRADER_COURSE_ROOT": str(course)}
    cmd = [str(GRADER), "grade", str(root), "--output", str(out), "--workers", "2", "--quiet"]
    before = processes()
    first = subprocess.Popen(cmd, cwd=course, env=env, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _committed(db) < 2 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)  # the grader and its grading processes, at once
    first.wait(timeout=10)
    kept = _committed(db)
    assert 2 <= kept < len(names), "the kill should land mid-run"

    second = subprocess.run(cmd[:-1], cwd=course, env=env, capture_output=True, text=True,
                            timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    assert f"Graded {len(names) - kept} student(s)" in second.stdout
    assert f"{kept} unchanged since the last run" in second.stdout
    frame = pd.read_csv(out / "gradebook.csv", keep_default_na=False)
    frame = frame[frame.exercise == "softmax_ce"]
    scores = frame.groupby("student").score.sum()
    assert sorted(scores.index) == names
    full = frame.groupby("student").max_score.sum().max()
    assert all(scores[n] == full for n in names[::2])
    assert all(scores[n] < full for n in names[1::2])

    time.sleep(0.5)  # workers die with their grading process (--die-with-parent)
    leftover = [p for p in processes() - before if OUR_VENV in _cmdline(p)
                and (b"worker.py" in _cmdline(p) or b"grader" in _cmdline(p))]
    assert leftover == []


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
