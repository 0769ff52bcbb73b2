"""A class of released-and-submitted notebooks, and timing both grading paths on it.

For benchmarks (benchmarks/nbgrader_class.py, and the batch-grading benchmark, which compares
`grader grade` with nbgrader's autograde in the same run):

    course = Path(tmp) / "course"
    students = build_class(course, 20)                         # release + 20 submissions
    nbgrader_s = time_nbgrader_autograde(course)               # real `nbgrader autograde`
    secure_s = time_secure_grading(course, workers=2)          # `grader grade --nbgrader`

The students cycle through the demo submissions: correct (ada), typical mistakes (ben),
untouched stubs (cai), each turned into the notebooks a student would submit.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import nbformat

from grader.integrations.nbgrader.release import DEFAULT_ASSIGNMENT, release_nbgrader, run_nbgrader
from grader.integrations.nbgrader.synthetic import fill_notebook, module_for, write_submission

DEMO = Path(__file__).resolve().parents[3] / "demo" / "submissions"
MIX = ("ada_correct", "ben_mistakes", "cai_untouched")


def build_class(course_dir: Path, n_students: int, *, assignment: str = DEFAULT_ASSIGNMENT,
                exercises: Sequence[str] | None = None, release: bool = True,
                demo: Path = DEMO, mix: Sequence[str] = MIX) -> list[str]:
    """Release the course into COURSE_DIR (unless RELEASE is False: already done) and write
    N_STUDENTS submissions where `nbgrader collect` puts them. Returns the student ids."""
    course_dir = Path(course_dir)
    if release:
        release_nbgrader(course_dir, assignment=assignment, exercises=exercises,
                         to_exchange=False)
    released = {p.name: nbformat.read(p, as_version=4)
                for p in sorted((course_dir / "release" / assignment).glob("*.ipynb"))}
    students = []
    for i in range(n_students):
        kind = mix[i % len(mix)]
        student = f"s{i:04d}_{kind.split('_')[0]}"
        notebooks = {name: fill_notebook(nb, module_for(demo / kind, Path(name).stem))
                     for name, nb in released.items()}
        write_submission(course_dir, student, assignment, notebooks)
        students.append(student)
    return students


def time_nbgrader_autograde(course_dir: Path, assignment: str = DEFAULT_ASSIGNMENT) -> float:
    """Seconds of one real `nbgrader autograde ASSIGNMENT --force` over every submission
    (sequential: nbgrader runs one notebook at a time)."""
    start = time.perf_counter()
    run_nbgrader(Path(course_dir), "autograde", assignment, "--force", timeout=24 * 3600)
    return time.perf_counter() - start


def time_secure_grading(course_dir: Path, assignment: str = DEFAULT_ASSIGNMENT, *,
                        workers: int = 2) -> float:
    """Seconds of `grader grade --nbgrader COURSE_DIR ASSIGNMENT --regrade` (a fresh process,
    as an instructor runs it)."""
    command = [sys.executable, "-m", "grader", "grade", "--nbgrader", str(course_dir),
               assignment, "--workers", str(workers), "--regrade", "--quiet"]
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True, timeout=24 * 3600)
    elapsed = time.perf_counter() - start
    if run.returncode != 0:
        raise RuntimeError(f"grader grade --nbgrader failed:\n{run.stdout}{run.stderr}")
    return elapsed
