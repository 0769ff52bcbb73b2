"""`grader ci`: the public checks of a student's repository, in the formats CI systems read.

It is `grader check` (the same loading and checks, in this process: the student's own code in
their own CI job) plus what GitHub Actions shows: the exit code (1 while a check does not
pass), a Markdown summary appended to $GITHUB_STEP_SUMMARY (when that is not set, the same
summary as plain text on stdout),
an error annotation on the student's file for the checks that did not pass, and
results.json (Gradescope format) and junit.xml in the output folder, for artifacts and test
reporters.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from grader.authoring.checks import use_profile
from grader.course.model import load_course
from grader.feedback.student_report import Report
from grader.gradebook.rows import rows
from grader.grading.local_check import check_exercise
from grader.integrations.ci import workflow
from grader.integrations.ci.annotations import annotations
from grader.integrations.ci.summary import summary_markdown, summary_text
from grader.reports.gradescope import write_results_json
from grader.reports.junit import write_junit


def student_name(environ: Mapping[str, str]) -> str:
    """The repository's name on GitHub (GitHub Classroom names it assignment-username),
    else the name of the folder the checks run in."""
    repository = environ.get("GITHUB_REPOSITORY", "")
    return repository.rpartition("/")[2] or Path.cwd().name


def print_log(text: str, environ: Mapping[str, str], stdout: TextIO) -> None:
    """Print text that quotes student code's output without GitHub acting on it: a line of
    it starting with `::` would otherwise be a workflow command. Commands stop until a marker
    the text cannot contain (a digest of the text itself), as GitHub's docs describe."""
    if environ.get("GITHUB_ACTIONS") != "true":
        print(text, file=stdout)
        return
    marker = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    print(workflow.command("stop-commands", marker), file=stdout)
    print(text, file=stdout)
    print(f"::{marker}::", file=stdout)


def run_ci(exercises: list[str], *, submission: Path | None = None, output: Path,
           student: str | None = None, environ: Mapping[str, str] | None = None,
           stdout: TextIO | None = None) -> int:
    environ = os.environ if environ is None else environ
    stdout = stdout or sys.stdout
    course = load_course()
    use_profile(course)
    folder = submission if submission is not None else course.exercises_dir
    student = student or student_name(environ)
    reports = [check_exercise(ex_id, folder) for ex_id in exercises or list(course.exercises)]

    results = [r for report in reports for r in report.results]
    gradebook_rows = rows(student, results)
    for row, result in zip(gradebook_rows, results):
        row["statement"] = result.statement
    write_results_json(gradebook_rows, output / "results.json")
    write_junit(gradebook_rows, output / "junit.xml")

    print_log(Report(reports).text(), environ, stdout)
    workspace = Path(environ.get("GITHUB_WORKSPACE") or Path.cwd())
    for line in annotations(reports, workspace):
        print(line, file=stdout)
    summary_file = environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:  # GitHub renders it as Markdown: student text escaped as entities
        with open(summary_file, "a", encoding="utf-8") as f:
            f.write(summary_markdown(reports, student))
    else:  # a terminal or a log: plain text
        print("\n" + summary_text(reports, student), file=stdout)
    print(f"\nWrote {output / 'results.json'} and {output / 'junit.xml'}.", file=stdout)
    return 0 if all(report.all_passed for report in reports) else 1
