"""The outcome of one check on one submission: plain data, ready for any report."""

from __future__ import annotations

from dataclasses import dataclass

# "missing": nothing to grade (no file, or a function the check needs is not defined).
# "timeout": the exercise's time limit cut the check off. "crashed", "memory", "forbidden":
# the process running the student's code died, ran out of memory, or broke the protocol.
# "bad_file": the file is not text, not a notebook, or too large.
STATUSES = ("passed", "failed", "error", "missing", "timeout", "crashed", "memory",
            "forbidden", "bad_file")


@dataclass(frozen=True)
class CheckResult:
    exercise: str
    check: str
    statement: str
    hidden: bool
    status: str
    score: float
    max_score: float
    message: str = ""
    duration_s: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == "passed"
