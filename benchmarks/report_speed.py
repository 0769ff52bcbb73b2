"""How long `grader report` takes for a large class: 1,000 students x 5 exercises.

Builds a synthetic gradebook (every check of the course for every student, a realistic mix of
passed, failed with diagnoses, not attempted, errors and timeouts; submission times around the
deadlines, some late, some unknown) and synthetic curves for every student's plots, then
times `grader report OUT` with every format but the screenshot, in a fresh process, as an
instructor runs it. Target: at most 30 s on the project's 2-core machine.

    .venv/bin/python benchmarks/report_speed.py [--students 1000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.authoring.checks import checks_for  # noqa: E402
from grader.course.late import parse_time  # noqa: E402
from grader.course.model import load_course  # noqa: E402
from grader.gradebook.store import Gradebook  # noqa: E402
from grader.reports.curves import CURVES_FILE, CurveStore, reference_curves  # noqa: E402
from grader.submission.times import SubmissionTime  # noqa: E402

TARGET_S = 30.0
MESSAGES = [
    "dlogits does not match central differences.\n6 of 6 entries are off; the worst at index "
    "[1, 0]: observed -0.4259, central differences -0.2129.\nLikely mistake: every entry is {k} "
    "times the expected: divide the gradient by the batch size N={k}.",
    "dw for X=[[1., 0.], [0., 1.]] does not match the expected values.\nLikely mistake: every "
    "entry is 0.5 times the expected: the factor 2 from differentiating the square is missing.",
    "The loss after one step is {k}.25, expected 0.75.\nSmallest failing input:\n  seed = {k}",
]


def build(out: Path, n_students: int) -> None:
    course = load_course()
    rng = np.random.default_rng(0)
    ids = list(course.exercises)
    checks = {ex: checks_for(ex, include_hidden=True) for ex in ids}
    dues = {ex: parse_time(course.exercises[ex].due, "due") for ex in ids}
    reference = reference_curves()
    store = CurveStore(out / CURVES_FILE)
    with Gradebook.in_folder(out) as book:
        book._db.execute("PRAGMA synchronous=OFF")  # set-up speed only; not what is timed
        for i in range(n_students):
            student = f"student_{i:04d}" if i % 50 else f"=HYPERLINK(\"x\",\"{i}\") <b>{i}</b>"
            skill = rng.uniform(0.2, 1.0)
            rows, times = [], {}
            for ex in ids:
                lateness = rng.choice([-2, -1, 0.1, 1.5, 3], p=[.5, .3, .1, .07, .03])
                times[ex] = SubmissionTime("", "") if rng.random() < 0.05 else SubmissionTime(
                    (dues[ex] + timedelta(days=float(lateness))).isoformat(), "timestamp.txt")
                untouched = rng.random() < 0.05
                for c in checks[ex]:
                    roll = rng.random()
                    if untouched:
                        status, message = "failed", f"Not attempted yet: `{c.name}` still raises"
                    elif roll < skill:
                        status, message = "passed", ""
                    elif roll < skill + 0.02:
                        status, message = "timeout", "Stopped at the exercise's time limit."
                    elif roll < skill + 0.04:
                        status, message = "error", "Your code raised ValueError: shapes differ"
                    else:
                        status = "failed"
                        message = (f"Hidden check failed: {c.statement}" if c.hidden else
                                   MESSAGES[int(rng.integers(3))].format(k=int(rng.integers(2, 5))))
                    rows.append({"student": student, "exercise": ex, "check": c.name,
                                 "score": c.points if status == "passed" else 0.0,
                                 "max_score": c.points, "status": status, "message": message,
                                 "hidden": c.hidden, "duration_s": float(rng.uniform(0, .3)),
                                 "seed": course.seed, "grader_version": "bench",
                                 "course_version": course.version, "hypothesis_version": "x",
                                 "numpy_version": np.__version__})
            book.record_student(student, f"hash{i}", "bench", "bench", rows, times)
            store.put(student, f"hash{i}", _curves(reference, rng))
    store.close()


def _curves(reference: dict, rng: np.random.Generator) -> dict:
    """The reference's traces, bent differently for each student (so no figure repeats):
    every list of numbers (a loss curve) is scaled along its length, every table of numbers
    (decision regions) tilted."""
    jagged = rng.random() < 0.1  # like a too-large learning rate; the rest bend smoothly

    def bend(losses: list) -> list:
        t = np.linspace(0, 1, len(losses))
        scale = np.exp(rng.normal(0, 0.5) + rng.normal(0, 1) * t)
        if jagged:
            scale *= 1 + 0.3 * rng.standard_normal(len(losses))
        return [float(v) for v in np.abs(np.asarray(losses) * scale)]

    def tilt(table: list) -> list:
        grid = np.array(table, dtype=float)
        xx, yy = np.meshgrid(np.linspace(0, 1, grid.shape[1]), np.linspace(0, 1, grid.shape[0]))
        return np.round(np.clip(grid + rng.normal(0, .2) * (xx - yy), 0, 1), 4).tolist()

    def walk(value):
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list) and value and isinstance(value[0], list):
            return tilt(value)
        if isinstance(value, list) and value:
            return bend(value)
        return value

    return walk(reference)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it")
    args = parser.parse_args()
    out = args.keep or Path(tempfile.mkdtemp(prefix="report-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    try:
        start = time.perf_counter()
        build(out, args.students)
        print(f"synthetic gradebook: {args.students} students x 5 exercises "
              f"({time.perf_counter() - start:.1f} s to build, not timed)")
        load_before = os.getloadavg()[0]
        cpu_before = _children_cpu()
        start = time.perf_counter()
        run = subprocess.run([str(ROOT / ".venv" / "bin" / "grader"), "report", str(out)],
                             cwd=ROOT, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        cpu = _children_cpu() - cpu_before
        if run.returncode != 0:
            print(run.stdout + run.stderr)
            return 1
        files = sum(1 for p in (out / "reports").rglob("*") if p.is_file())
        pngs = sum(1 for p in (out / "reports" / "students").rglob("feedback.html")
                   if "data:image/png" in p.read_text())
        print(f"grader report (all formats but the screenshot): {elapsed:.1f} s wall, "
              f"{cpu:.1f} s CPU over its processes, for {files} files, {pngs} feedback pages "
              f"with plots (target <= {TARGET_S:g} s wall)")
        print(f"machine: {os.cpu_count()} cores, load average {load_before:.1f} before the "
              "run (a busy machine stretches the wall time, not the CPU time)")
        return 0 if elapsed <= TARGET_S else 1
    finally:
        if args.keep is None:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
