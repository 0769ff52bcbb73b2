"""`grader grade` killed with SIGKILL mid-run keeps what it committed; the next run continues."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pandas as pd
import pytest
from support import (
    GRADER,
    committed_students,
    course_copy,
    leftover_processes,
    processes,
    run_tmpdir,
    softmax_class,
)

pytestmark = pytest.mark.slow


def test_kill_9_loses_nothing_and_the_next_run_continues(tmp_path):
    course = course_copy(tmp_path)
    root = tmp_path / "class"
    names = softmax_class(root, 8)
    out = tmp_path / "out"
    db = out / "gradebook.sqlite"
    marker = run_tmpdir(tmp_path)
    env = {**os.environ, "GRADER_COURSE_ROOT": str(course), "TMPDIR": str(marker)}
    cmd = [str(GRADER), "grade", str(root), "--output", str(out), "--workers", "2", "--quiet"]
    before = processes()
    first = subprocess.Popen(cmd, cwd=course, env=env, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    # Killed while workers are running: with at least two students committed and a worker
    # of the next one alive.
    while (committed_students(db) < 2 or not leftover_processes(before, marker)) \
            and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.02)
    assert leftover_processes(before, marker), "the kill should land while workers run"
    os.killpg(first.pid, signal.SIGKILL)  # the grader and its pool's templates, at once
    first.wait(timeout=10)
    # Each grading process dies with its template (PR_SET_PDEATHSIG, and a lifeline for a
    # template that died first) and is pid 1 of the namespace its workers live in: the
    # kernel ends them with it. Nothing depends on a worker noticing.
    assert leftover_processes(before, marker, grace_s=2.0) == []
    kept = committed_students(db)
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

    assert leftover_processes(before, marker) == []
    assert leftover_processes(before, root) == []  # `grader grade ROOT` itself
