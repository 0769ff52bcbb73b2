"""nbgrader: time to release the course, and both grading paths on the same notebooks.

1. `grader release nbgrader` of the five exercises into a fresh course (target: <= 20 s),
   including the real `nbgrader generate_assignment` and `release_assignment`;
2. N synthetic students (correct, typical mistakes, untouched, in turn) submit notebooks;
3. real `nbgrader autograde` of all of them (the test cells run our checks in the students'
   kernels), then `grader grade --nbgrader --regrade` (sandboxed workers), in the same run;
4. both paths' totals per student, read from nbgrader's gradebook after each: on these honest
   submissions they must be equal.

Run: `.venv/bin/python benchmarks/nbgrader_class.py [--students N] [--workers W]`.
The functions come from grader.integrations.nbgrader.bench_support, for the batch-grading
benchmark too.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from grader.integrations.nbgrader import nbgradebook
from grader.integrations.nbgrader.bench_support import (
    build_class,
    time_nbgrader_autograde,
    time_secure_grading,
)
from grader.integrations.nbgrader.coursedir import read_course
from grader.integrations.nbgrader.release import DEFAULT_ASSIGNMENT, release_nbgrader


def totals(course: Path) -> dict[str, float]:
    nb_course = read_course(course)
    out: dict[str, float] = {}
    for cell in nbgradebook.cell_grades(nb_course.db_url, nb_course.course_id,
                                        DEFAULT_ASSIGNMENT):
        out[cell["student"]] = out.get(cell["student"], 0.0) + cell["score"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nbgrader-bench-") as tmp:
        course = Path(tmp) / "course"
        start = time.perf_counter()
        done = release_nbgrader(course)
        release_s = time.perf_counter() - start
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in done.timings.items())
        print(f"release of {len(done.exercises)} exercises: {release_s:.1f} s (target <= 20 s)"
              f"\n  {steps}")
        build_class(course, args.students, release=False)
        nbgrader_s = time_nbgrader_autograde(course)
        kernel_totals = totals(course)
        secure_s = time_secure_grading(course, workers=args.workers)
        secure_totals = totals(course)
    n = args.students
    print(f"{n} students x {len(done.exercises)} notebooks")
    print(f"  nbgrader autograde (sequential, kernels):  {nbgrader_s:6.1f} s  "
          f"({nbgrader_s / n:.1f} s per student)")
    print(f"  grader grade --nbgrader ({args.workers} workers, sandboxed): {secure_s:6.1f} s  "
          f"({secure_s / n:.1f} s per student)")
    print(f"  ratio nbgrader / secure: {nbgrader_s / secure_s:.2f}")
    agree = kernel_totals == secure_totals
    print(f"  totals agree on these honest submissions: {agree}")
    if not agree:
        print(f"    nbgrader: {kernel_totals}\n    secure:   {secure_totals}")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
