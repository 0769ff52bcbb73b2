"""The text of an autograder test cell's output, the same on both grading paths.

nbgrader's kernel path prints it (or raises it, which is how nbgrader sees a failed test);
the secure path writes the very same text into the autograded notebook, so the formgrader and
`nbgrader generate_feedback` show one format whichever path graded. Hidden checks' messages
are already reduced to their statement by grader.engine.run_check: no input or source reaches this
text.
"""

from __future__ import annotations

from collections.abc import Iterable

from grader.engine.results import CheckResult
from grader.feedback.student_report import label


def result_text(result: CheckResult) -> str:
    points = f"{result.score:g}/{result.max_score:g} points"
    tag = " (hidden)" if result.hidden else ""
    if result.passed:
        return f"passed: {result.check}{tag}, {points}: {result.statement}"
    head = f"{label(result).upper()}: {result.check}{tag}, {points}: {result.statement}"
    body = "\n".join(f"    {line}" for line in result.message.splitlines())
    return f"{head}\n{body}" if body else head


def cell_text(results: Iterable[CheckResult]) -> str:
    return "\n\n".join(result_text(r) for r in results)
