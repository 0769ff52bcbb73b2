"""What several test modules share: paths, a fast course copy, process listings."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from grader.stubs import strip_markers

ROOT = Path(__file__).resolve().parents[1]
GRADER = ROOT / ".venv" / "bin" / "grader"
REFERENCE = strip_markers((ROOT / "solutions" / "softmax_ce.py").read_text())
WRONG = REFERENCE.replace("    dlogits /= n\n", "")  # honest but wrong: gradient not / N
SECRET = ROOT / "solutions" / "softmax_ce.py"


def course_copy(tmp: Path) -> Path:
    """A copy of the course whose softmax_ce time limit is 4 s (endless loops cost little)."""
    course = tmp / "course"
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis")
    for folder in ("grader", "exercises", "solutions"):
        shutil.copytree(ROOT / folder, course / folder, ignore=ignore)
    shutil.copytree(ROOT / "tests" / "checks", course / "tests" / "checks", ignore=ignore)
    config = (ROOT / "course_config.py").read_text()
    start = config.index('"softmax_ce": {')
    end = config.index('"time_limit_s": 30', start)
    config = config[:end] + '"time_limit_s": 4' + config[end + len('"time_limit_s": 30'):]
    (course / "course_config.py").write_text(config)
    return course


def processes() -> set[int]:
    return {int(p) for p in os.listdir("/proc") if p.isdigit()}


# Every process a grading run of this checkout starts names this venv's python in its command
# line (the grader, its grading processes, bwrap, workers and what they fork). Other checkouts
# may be grading on the same machine at the same time: their processes are not ours to count.
OUR_VENV = str(ROOT / ".venv" / "bin").encode()
