"""How fast students get feedback and instructors get proof.

Measures, on this machine, as whole processes (start-up included):
  - `grader check softmax_ce` on a correct solution (issue target: median <= 1.5 s);
  - `grader check` of all five exercises on a correct solution (target <= 6 s);
  - `grader audit` (target <= 180 s), once, unless --no-audit.
Run: `.venv/bin/python benchmarks/check_speed.py [--runs N] [--no-audit]`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORRECT = ROOT / "demo" / "submissions" / "ada_correct"


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{run.stdout}\n{run.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-audit", action="store_true")
    args = parser.parse_args()
    grader = [sys.executable, "-m", "grader"]
    rows = []
    for label, extra, target in [("check softmax_ce", ["softmax_ce"], 1.5),
                                 ("check all five", [], 6.0)]:
        times = [wall(grader + ["check", *extra, "--submission", str(CORRECT)])
                 for _ in range(args.runs)]
        rows.append((label, statistics.median(times), min(times), max(times), target))
    if not args.no_audit:
        t = wall(grader + ["audit"])
        rows.append(("audit", t, t, t, 180.0))
    print(f"{'measure':<20}{'median s':>10}{'min':>8}{'max':>8}{'target':>8}  ok")
    for label, med, lo, hi, target in rows:
        print(f"{label:<20}{med:>10.2f}{lo:>8.2f}{hi:>8.2f}{target:>8.1f}  "
              f"{'yes' if med <= target else 'NO'}")


if __name__ == "__main__":
    main()
