"""Throughput of sandboxed grading: `grader grade` on N synthetic students, and nbgrader.

The class is a realistic mix built from the demo students (correct, typical mistakes,
untouched stubs, notebooks, broken files) plus a few hostile submissions (a crash, a
forged channel, an import-time exit). It is graded with 1 and 2 workers, and with N and 2N
students, each in a fresh output folder, while a sampler records the peak resident memory of
the grader's processes and of the workers. Wall time depends on what else runs on the
machine: run it on a quiet one.

In the same run, M students' work (correct, typical mistakes, untouched, in turn) is
released and submitted as nbgrader notebooks and graded both by real `nbgrader autograde`
(sequential kernels) and by `grader grade --nbgrader` (2 workers, sandboxed).

Run: `.venv/bin/python benchmarks/grade_throughput.py [--students N] [--nbgrader-students M]
[--repeat R]`. The three sandboxed runs take turns R times and each keeps its fastest round.
Targets (issue "Tamper-proof batch grading"): >= 10x nbgrader's throughput; 200 students x 5
exercises <= 3 min; 2 workers >= 1.7x one; cost linear in N; grader <= 300 MB, worker <= 200 MB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo" / "submissions"
HOSTILE = {
    "hostile_crash": "import os\ndef softmax(logits):\n    os._exit(3)\n",
    "hostile_exit": "import sys\nsys.exit(0)\n",
    "hostile_forge": ("import os\nfor n in os.listdir('/proc/self/fd'):\n"
                      "    try:\n        os.write(int(n), b'\\xff' * 64)\n"
                      "    except OSError:\n        pass\n"),
}


def build_class(target: Path, n: int) -> None:
    demo = sorted(p for p in DEMO.iterdir() if p.is_dir())
    hostile = list(HOSTILE.items())
    for i in range(n):
        if i % 10 == 9:  # one in ten is hostile
            name, code = hostile[(i // 10) % len(hostile)]
            folder = target / f"{i:04d}_{name}"
            folder.mkdir(parents=True)
            (folder / "softmax_ce.py").write_text(code)
        else:
            source = demo[i % len(demo)]
            shutil.copytree(source, target / f"{i:04d}_{source.name}")


class PeakMemory:
    """Samples /proc for the largest resident set of grader processes and of workers."""

    def __init__(self) -> None:
        self.grader_kb = 0
        self.worker_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                rss = next((int(line.split()[1]) for line in status.splitlines()
                            if line.startswith("VmRSS:")), 0)
                if b"worker.py" in cmd and b"bwrap" not in cmd:
                    self.worker_kb = max(self.worker_kb, rss)
                elif b"grader\x00grade" in cmd:
                    self.grader_kb = max(self.grader_kb, rss)


def grade(klass: Path, workers: int) -> tuple[float, PeakMemory]:
    out = Path(tempfile.mkdtemp(prefix="bench-out-"))
    try:
        with PeakMemory() as memory:
            start = time.perf_counter()
            run = subprocess.run([str(ROOT / ".venv" / "bin" / "grader"), "grade", str(klass),
                                  "--output", str(out), "--workers", str(workers), "--quiet"],
                                 cwd=ROOT, capture_output=True, text=True)
            elapsed = time.perf_counter() - start
        if run.returncode != 0:
            sys.exit(f"grader grade failed:\n{run.stderr[-3000:]}")
        return elapsed, memory
    finally:
        shutil.rmtree(out, ignore_errors=True)


def nbgrader_comparison(m: int) -> tuple[float, float]:
    """Seconds of real `nbgrader autograde` and of `grader grade --nbgrader` (2 workers) on
    the same M students' released-and-submitted notebooks."""
    from grader.integrations.nbgrader.bench_support import (
        build_class as build_notebook_class,
    )
    from grader.integrations.nbgrader.bench_support import (
        time_nbgrader_autograde,
        time_secure_grading,
    )

    with tempfile.TemporaryDirectory(prefix="bench-nbgrader-") as tmp:
        course = Path(tmp) / "course"
        build_notebook_class(course, m)
        nbgrader_s = time_nbgrader_autograde(course)
        secure_s = time_secure_grading(course, workers=2)
    return nbgrader_s, secure_s


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--nbgrader-students", type=int, default=6,
                        help="students graded by both nbgrader and us (0: skip)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds of the three runs, in turn; each run's fastest is kept")
    args = parser.parse_args()
    n = args.students
    with tempfile.TemporaryDirectory(prefix="bench-class-") as tmp:
        small, large = Path(tmp) / "n", Path(tmp) / "2n"
        build_class(small, n)
        build_class(large, 2 * n)
        runs = [(f"{n} students, 1 worker", small, 1),
                (f"{n} students, 2 workers", small, 2),
                (f"{2 * n} students, 2 workers", large, 2)]
        # The VM's speed drifts by tens of percent within minutes. The runs take turns, so
        # a slow spell slows all three alike, and each run's fastest round is kept: noise
        # only ever adds time.
        timings: dict[str, list[float]] = {label: [] for label, _, _ in runs}
        peaks = {label: (0, 0) for label, _, _ in runs}  # kB, the largest of all rounds
        for _ in range(max(1, args.repeat)):
            for label, klass, workers in runs:
                elapsed, memory = grade(klass, workers)
                timings[label].append(elapsed)
                grader_kb, worker_kb = peaks[label]
                peaks[label] = (max(grader_kb, memory.grader_kb),
                                max(worker_kb, memory.worker_kb))
        rows = [(label, min(timings[label]), peaks[label]) for label, _, _ in runs]
    print(f"{'run':<26}{'wall s':>9}{'s/student':>11}{'grader MB':>11}{'worker MB':>11}"
          "  every round, s")
    for label, elapsed, (grader_kb, worker_kb) in rows:
        students = 2 * n if label.startswith(str(2 * n)) else n
        print(f"{label:<26}{elapsed:>9.1f}{elapsed / students:>11.2f}"
              f"{grader_kb / 1024:>11.0f}{worker_kb / 1024:>11.0f}  "
              + " ".join(f"{t:.1f}" for t in timings[label]))
    one, two, double = (r[1] for r in rows)
    print(f"\n2 workers vs 1: {one / two:.2f}x faster (target >= 1.7x)")
    print(f"2N vs N students: {double / two:.2f}x the time (linear: 2.0)")
    per_student = (double - two) / n  # the marginal cost: start-up counted once
    print(f"projected 200 students x 5 exercises with 2 workers: "
          f"{(two + 200 * per_student - n * per_student) / 60:.1f} min (target <= 3 min)")
    if args.nbgrader_students:
        m = args.nbgrader_students
        nbgrader_s, secure_s = nbgrader_comparison(m)
        print(f"\n{m} students x 5 notebooks: nbgrader autograde {nbgrader_s:.1f} s "
              f"({nbgrader_s / (5 * m):.2f} s per notebook), grader grade --nbgrader "
              f"{secure_s:.1f} s ({secure_s / (5 * m):.2f} s per notebook)")
        print(f"throughput vs nbgrader: {nbgrader_s / secure_s:.1f}x (target >= 10x)")


if __name__ == "__main__":
    main()
