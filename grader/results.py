"""The outcome of one check on one submission: plain data, ready for any report."""

from __future__ import annotations

from dataclasses import dataclass

from grader.printable import printable

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

    def __post_init__(self) -> None:
        # Every way student text becomes feedback ends here (an exception's message, a file
        # that does not load, a notebook's skipped cell, a folder's name): one place makes
        # it printable for every report, whichever path built the message. A worker's load
        # error names its own status, so the status is worker text too.
        object.__setattr__(self, "message", printable(self.message))
        object.__setattr__(self, "status", printable(self.status, newlines=False))

    @property
    def passed(self) -> bool:
        return self.status == "passed"
