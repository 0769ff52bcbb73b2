"""What a check can conclude about the code under test, as exceptions.

A check passes by returning. Every other outcome is one of these exceptions, which carry the
text a student reads: what was checked, what was observed and expected, and a diagnosis when
the numbers reveal a known mistake.
"""

from __future__ import annotations

from grader.printable import printable
from grader.sandbox.runtime.loading import LoadError, short

__all__ = ["CheckFailure", "LoadError", "MissingFunction", "NotAttempted", "StudentCodeError",
           "WorkerFailure", "from_description"]


class CheckFailure(AssertionError):
    """The code ran but its answer is wrong.

    `summary` says what is wrong in one sentence; `details` are further lines (observed vs
    expected, worst entry); `diagnosis` names the likely mistake when one is recognised.
    """

    def __init__(self, summary: str, details: list[str] | None = None,
                 diagnosis: str | None = None) -> None:
        self.summary = summary
        self.details = list(details or [])
        self.diagnosis = diagnosis
        super().__init__(self.text())

    def text(self) -> str:
        lines = [self.summary, *self.details]
        if self.diagnosis:
            lines.append(f"Likely mistake: {self.diagnosis}")
        return "\n".join(lines)


class NotAttempted(CheckFailure):
    """The student's function still raises NotImplementedError (an untouched stub)."""

    PREFIX = "Not attempted yet"

    def __init__(self, function: str) -> None:
        self.function = function
        super().__init__(f"{self.PREFIX}: `{function}` still raises NotImplementedError.")

    @classmethod
    def function_in(cls, message: str) -> str | None:
        """The function MESSAGE says is an untouched stub, or None if MESSAGE is not this
        class's. Only for results stored as text (grader.gradebook.rows.stored_fields): every
        result built by grading carries it as CheckResult.attempted and .function."""
        if not message.startswith(cls.PREFIX):
            return None
        return message.split("`")[1] if "`" in message else ""


class MissingFunction(CheckFailure, AttributeError):
    """The submission does not define a name the contract requires."""

    def __init__(self, name: str, exercise: str) -> None:
        self.name = name
        super().__init__(
            f"`{name}` is not defined in your {exercise} code: the exercise asks for it "
            "by exactly this name."
        )


class StudentCodeError(Exception):
    """The student's code raised an exception (or exited) while a check called it.

    Built from plain data (see grader.sandbox.runtime.loading.describe_exception): in the sandboxed
    engine the exception itself never leaves the worker.
    """

    def __init__(self, function: str, error_type: str, error_text: str, where: str | None,
                 signature_mismatch: bool = False) -> None:
        self.function = function
        self.error_type = error_type
        self.error_text = short(error_text, 300)
        self.where = where
        self.signature_mismatch = signature_mismatch
        super().__init__(self.text())

    def text(self) -> str:
        if self.signature_mismatch:
            return (f"`{self.function}` could not be called as the exercise specifies "
                    f"({self.error_type}: {self.error_text}). Check its parameters against "
                    "the signature in the exercise.")
        where = f" ({self.where})" if self.where else ""
        text = f": {self.error_text}" if self.error_text else ""
        return f"`{self.function}` raised {self.error_type}{text}{where}."


class WorkerFailure(BaseException):
    """The process running student code died or broke the protocol (status "crashed",
    "memory" or "forbidden"). A BaseException: neither a check nor Hypothesis may catch it
    and carry on as if the student's code had answered."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def from_description(d: dict) -> CheckFailure | StudentCodeError:
    """The failure a description from grader.sandbox.runtime.loading.describe_exception stands for.

    Every field is text the student's code chose (an exception's message and type name, a
    label, a place) and, from a worker, text the worker chose: each is made printable and
    bounded here, where it enters the grader, so no sink downstream gets a control sequence.
    """
    if d.get("kind") == "not_attempted":
        return NotAttempted(_field(d.get("function", "?"), 200))
    where = d.get("where")
    return StudentCodeError(_field(d.get("function", "?"), 200),
                            _field(d.get("type", "Exception"), 100),
                            printable(str(d.get("text", ""))),
                            _field(where, 200) if isinstance(where, str) else None,
                            bool(d.get("signature_mismatch", False)))


def _field(value: object, limit: int) -> str:
    return short(printable(str(value)), limit)
