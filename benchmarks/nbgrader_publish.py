"""nbgrader: the parent process's own work in `grader grade --nbgrader` (setup and publish).

The grading runs in worker processes; the parent reads the course, loads the assignment,
prepares each student, and publishes each finished student (autograded notebooks and
nbgrader's gradebook). On a machine with as many workers as cores that work competes with
grading, so it is timed here on its own: wall time of the setup steps, and the CPU time
of every publish() call.

Run: `.venv/bin/python benchmarks/nbgrader_publish.py COURSE_DIR [--assignment A] [--runs N]`
with a class built by grader.integrations.nbgrader.bench_support.build_class. --snapshot FILE
writes the autograded notebooks' bytes and nbgrader's gradebook (as JSON) to compare two versions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from grader.integrations.nbgrader.release import DEFAULT_ASSIGNMENT


def timed_run(course: Path, assignment: str, workers: int) -> dict[str, float]:
    """One `grade_nbgrader --regrade` in this process, with its parent-side steps timed."""
    from grader.integrations.nbgrader import grade

    spent: dict[str, float] = {"publish_cpu": 0.0, "publish_calls": 0}
    originals = {name: getattr(grade, name) for name in
                 ("read_course", "released_assignment", "check_against_gradebook", "prepare",
                  "_publish_or_why")}

    def wrap(name: str, clock: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = clock()
            try:
                return originals[name](*args, **kwargs)
            finally:
                key = "publish_cpu" if name == "_publish_or_why" else name
                spent[key] = spent.get(key, 0.0) + clock() - start
                if name == "_publish_or_why":
                    spent["publish_calls"] += 1
        return timed

    for name in originals:
        clock = time.process_time if name == "_publish_or_why" else time.perf_counter
        setattr(grade, name, wrap(name, clock))
    try:
        start = time.perf_counter()
        grade.grade_nbgrader(course, assignment, workers=workers, regrade=True, quiet=True)
        spent["total"] = time.perf_counter() - start
    finally:
        for name, fn in originals.items():
            setattr(grade, name, fn)
    return spent


def snapshot(course: Path, assignment: str) -> dict[str, Any]:
    """What a change must leave as it was: the autograded notebooks, byte for byte, and every
    row nbgrader's gradebook holds for the assignment's submissions."""
    from grader.integrations.nbgrader import nbgradebook
    from grader.integrations.nbgrader.coursedir import read_course

    nb_course = read_course(course)
    files = {str(p.relative_to(course)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted((course / nb_course.autograded_dir).rglob("*")) if p.is_file()}
    cells = nbgradebook.cell_grades(nb_course.db_url, nb_course.course_id, assignment)
    db = nb_course.db_url.removeprefix("sqlite:///")
    tables = {}
    with sqlite3.connect(db) as conn:
        for table in ("submitted_assignment", "submitted_notebook", "grade", "comment"):
            rows = conn.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608 (ours)
            tables[table] = sorted(map(repr, rows))
    return {"files": files, "cell_grades": cells, "tables": tables}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("course", type=Path)
    parser.add_argument("--assignment", default=DEFAULT_ASSIGNMENT)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--snapshot", type=Path)
    args = parser.parse_args()
    for _ in range(args.runs):
        spent = timed_run(args.course, args.assignment, args.workers)
        print(json.dumps({k: round(v, 4) for k, v in spent.items()}))
    if args.snapshot:
        args.snapshot.write_text(json.dumps(snapshot(args.course, args.assignment), indent=1,
                                            sort_keys=True, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
