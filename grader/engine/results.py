"""The outcome of one check on one submission: plain data, ready for any report.

Trusted grader data: built by the grader from what a check concluded (never by student
code), and read by every report, the gradebook and the integrations.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.printable import printable

# "missing": nothing to grade (no file, or a function the check needs is not defined).
# "timeout": the exercise's time limit cut the check off. "crashed", "memory", "forbidden":
# the process running the student's code died, ran out of memory, or broke the protocol.
# "bad_file": the file is not text, not a notebook, or too large.
STATUSES = ("passed", "failed", "error", "missing", "timeout", "crashed", "memory",
            "forbidden", "bad_file")
# The status as a student reads it, for a check of an untouched stub (status "failed").
NOT_ATTEMPTED = "not attempted"


@dataclass(frozen=True)
class CheckResult:
    """One check's result. `attempted` is False when the check failed only because the
    student's function is still an untouched stub (it raises NotImplementedError): its
    status stays "failed", and reports call it "not attempted". `function` names the
    student function the message is about (a stub, a missing name, the function that
    raised), "" when the message names none or a hidden check's message does not show it."""

    exercise: str
    check: str
    statement: str
    hidden: bool
    status: str
    score: float
    max_score: float
    message: str = ""
    duration_s: float = 0.0
    attempted: bool = True
    function: str = ""

    def __post_init__(self) -> None:
        # Every way student text becomes feedback ends here (an exception's message, a file
        # that does not load, a notebook's skipped cell, a folder's name): one place makes
        # it printable for every report, whichever path built the message. A worker's load
        # error names its own status, so the status is worker text too; a function's name
        # comes from the worker as well.
        object.__setattr__(self, "message", printable(self.message))
        object.__setattr__(self, "status", printable(self.status, newlines=False))
        object.__setattr__(self, "function", printable(self.function, newlines=False))

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def label(self) -> str:
        """The status as a student reads it: an untouched stub is "not attempted", not a
        failure."""
        return NOT_ATTEMPTED if not self.attempted else self.status
