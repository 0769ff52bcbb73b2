"""Throughput of grading on Dask (`--scheduler local:N`) against the local pool, same run.

Grades one synthetic class (benchmarks/grade_throughput.build_class: the demo students and
one hostile submission in ten) with the local pool of 2 grading processes and with a Dask
LocalCluster of 2 workers, in turns, each round in a fresh output folder, and keeps each
configuration's fastest round; then measures Dask with 1 and 4 workers once each (with the
2-worker figure, the scaling on this machine's cores). Every run is a real `grader grade`
subprocess, and each Dask run includes starting its LocalCluster, as an instructor's does.

It also prints the numbers behind the README's estimate for a cluster: CPU seconds per
student (the local pool with 1 process), the bytes a job carries (the JSON of a student's
files) and the scheduler's overhead per task (Dask with 1 worker against the local pool with
1 process, per student).

Run: `.venv/bin/python benchmarks/dask_throughput.py [--students N] [--repeat R]`
(defaults 200 and 2). Target (issue 24): Dask on local:2 >= 0.9x the local pool's throughput.
Wall time depends on what else runs on the machine: run it on a quiet one.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grade_throughput import ROOT, build_class  # noqa: E402

GRADER = str(ROOT / ".venv" / "bin" / "grader")


def grade(klass: Path, *options: str) -> float:
    """Seconds of one `grader grade` of KLASS into a fresh folder."""
    out = Path(tempfile.mkdtemp(prefix="bench-dask-"))
    try:
        start = time.perf_counter()
        run = subprocess.run([GRADER, "grade", str(klass), "--output", str(out), "--quiet",
                              *options], cwd=ROOT, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if run.returncode != 0:
            sys.exit(f"grader grade {' '.join(options)} failed:\n{run.stderr[-3000:]}")
        return elapsed
    finally:
        shutil.rmtree(out, ignore_errors=True)


def job_bytes(klass: Path) -> float:
    """Mean size of a student's files as a job carries them (base64 in JSON)."""
    sizes = []
    for folder in sorted(p for p in klass.iterdir() if p.is_dir()):
        files = {str(f.relative_to(folder)): base64.b64encode(f.read_bytes()).decode()
                 for f in folder.rglob("*") if f.is_file()}
        sizes.append(len(json.dumps({"student": folder.name, "files": files})))
    return sum(sizes) / len(sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    klass = Path(tempfile.mkdtemp(prefix="bench-class-"))
    try:
        build_class(klass, args.students)
        n = args.students
        warm = Path(tempfile.mkdtemp(prefix="bench-warm-"))
        build_class(warm, 1)
        grade(warm, "--workers", "1")  # draws and caches the known examples once
        shutil.rmtree(warm, ignore_errors=True)
        best: dict[str, float] = {}
        for _ in range(args.repeat):
            for name, options in [("pool, 2 processes", ("--workers", "2")),
                                  ("dask local:2", ("--scheduler", "local:2"))]:
                best[name] = min(best.get(name, float("inf")), grade(klass, *options))
        for name, seconds in best.items():
            print(f"{name:<22} {seconds:6.1f} s  {n / seconds:5.2f} students/s")
        ratio = best["pool, 2 processes"] / best["dask local:2"]
        print(f"dask local:2 / pool throughput: {ratio:.2f}x (target >= 0.9x)")
        scaling = {1: grade(klass, "--scheduler", "local:1"), 2: best["dask local:2"],
                   4: grade(klass, "--scheduler", "local:4")}
        for w, seconds in scaling.items():
            print(f"dask local:{w:<2} {seconds:6.1f} s  {scaling[1] / seconds:4.2f}x of local:1")
        pool_1 = grade(klass, "--workers", "1")
        print(f"pool, 1 process        {pool_1:6.1f} s: {pool_1 / n:.3f} s per student "
              "(CPU per student, as one process grades one student at a time)")
        print(f"scheduler overhead per task: {(scaling[1] - pool_1) / n * 1000:.0f} ms "
              "(dask local:1 - pool 1 process, per student, cluster start included)")
        print(f"job size: {job_bytes(klass) / 1024:.1f} KiB per student (JSON, base64 files)")
    finally:
        shutil.rmtree(klass, ignore_errors=True)


if __name__ == "__main__":
    main()
