"""The job summary ($GITHUB_STEP_SUMMARY) in GitHub-flavoured Markdown, and the same
summary as plain text for a terminal (`grader ci` run outside GitHub Actions).

A table of exercises, then one table row and one folded block per check that did not pass.
Messages quote student text: it is made printable (grader.printable), then in table cells
every character Markdown or HTML could act on is written as an HTML entity, and full messages
sit in <pre> blocks, HTML-escaped, so nothing a student writes becomes a link, an image,
markup, a broken table or a control sequence.
"""

from __future__ import annotations

import html
import re
from typing import Any

from grader.feedback.student_report import fmt_points, label
from grader.printable import printable

# Inline Markdown, HTML, table pipes, and what GitHub turns into links (www., http:, @name).
_MARKDOWN = "\\`*_[]()<>!|~:.@"


def pre(text: str) -> str:
    """Text for a <pre> block: printable (grader.printable), HTML-escaped."""
    return html.escape(printable(str(text)))


def cell(text: str) -> str:
    """Text for one Markdown table cell, printable, shown literally, on one line."""
    flat = " ".join(printable(str(text)).split())
    return "".join(f"&#{ord(c)};" if c in _MARKDOWN or c in "&\"'" else c for c in flat)


def code(name: str) -> str:
    """An identifier (exercise, check) as inline code; anything else as a plain cell."""
    return f"`{name}`" if re.fullmatch(r"\w+", name, re.ASCII) else cell(name)


def summary_markdown(reports: list, student: str = "") -> str:
    score = sum(r.score for r in reports)
    total = sum(r.max_score for r in reports)
    passed = all(r.all_passed for r in reports)
    verdict = "all checks passed" if passed else "some checks did not pass"
    who = f" for {cell(student)}" if student else ""
    lines = [f"## Public checks{who}: {fmt_points(score)}/{fmt_points(total)} points, {verdict}",
             "", "| exercise | points | checks passed | not passed |", "|---|---:|---:|---|"]
    for report in reports:
        ok = sum(r.passed for r in report.results)
        problems = _not_passed(report)
        lines.append(f"| {code(report.exercise.id)}: {cell(report.exercise.title)} | "
                     f"{fmt_points(report.score)}/{fmt_points(report.max_score)} | "
                     f"{ok}/{len(report.results)} | {cell(problems)} |")
    lines.append(f"| **total** | **{fmt_points(score)}/{fmt_points(total)}** | | |")
    failing = [(report, r) for report in reports for r in report.results if not r.passed]
    if failing:
        lines += ["", "### Checks that did not pass", "",
                  "| exercise | check | points | status | what it checks |",
                  "|---|---|---:|---|---|"]
        lines += [f"| {code(r.exercise)} | {code(r.check)} | {fmt_points(r.score)}/"
                  f"{fmt_points(r.max_score)} | {cell(label(r))} | {cell(r.statement)} |"
                  for _, r in failing]
        # Not attempted: the table says it, the message would only repeat it.
        explained = [r for _, r in failing if label(r) != "not attempted"]
        if explained:
            lines += ["", "### Feedback", ""]
        for r in explained:
            lines += [f"<details><summary>{html.escape(r.exercise)}: {html.escape(r.check)} "
                      f"({html.escape(label(r))})</summary>", "",
                      f"<pre>{pre(r.statement)}\n\n{pre(r.message)}</pre>",
                      "</details>", ""]
        lines.append("Run `grader check` on your computer for the same feedback.")
    return "\n".join(lines).rstrip() + "\n"


def _not_passed(report: Any) -> str:
    """How many checks of REPORT did not pass, by label ("2 failed, 1 not attempted")."""
    statuses: dict[str, int] = {}
    for r in report.results:
        if not r.passed:
            statuses[label(r)] = statuses.get(label(r), 0) + 1
    return ", ".join(f"{n} {status}" for status, n in statuses.items()) or "-"


def summary_text(reports: list, student: str = "") -> str:
    """The summary for a terminal: the same tables, plain and printable (a terminal shows no
    Markdown, and HTML entities would read as noise); the feedback itself is in the report
    printed before it."""
    score = sum(r.score for r in reports)
    total = sum(r.max_score for r in reports)
    passed = all(r.all_passed for r in reports)
    verdict = "all checks passed" if passed else "some checks did not pass"
    who = f" for {printable(student, newlines=False)}" if student else ""
    width = max([len(r.exercise.id) for r in reports] + [len("exercise")]) + 2
    lines = [f"Public checks{who}: {fmt_points(score)}/{fmt_points(total)} points, {verdict}",
             "", f"  {'exercise':<{width}}{'points':>8}  {'passed':>7}  not passed"]
    for report in reports:
        ok = sum(r.passed for r in report.results)
        problems = _not_passed(report)
        points = f"{fmt_points(report.score)}/{fmt_points(report.max_score)}"
        lines.append(f"  {report.exercise.id:<{width}}{points:>8}  "
                     f"{f'{ok}/{len(report.results)}':>7}  {problems}")
    lines.append(f"  {'total':<{width}}{f'{fmt_points(score)}/{fmt_points(total)}':>8}")
    if not passed:
        lines += ["", "Checks that did not pass (the feedback for each is above):"]
    for report in reports:
        # A missing file or function, or one not attempted, is one line per exercise: the
        # report above says which, and a line per check would repeat it.
        grouped: dict[str, list] = {}
        for r in report.results:
            if r.passed:
                continue
            if label(r) in ("missing", "not attempted"):
                grouped.setdefault(label(r), []).append(r)
            else:
                lines.append(f"  {r.exercise}: {r.check} ({label(r)}, {fmt_points(r.score)}/"
                             f"{fmt_points(r.max_score)}): {r.statement}")
        for status, results in grouped.items():
            n = len(results)
            lines.append(f"  {report.exercise.id}: {n} check{'s' * (n != 1)} {status} "
                         f"({fmt_points(sum(r.max_score for r in results))} points)")
    return printable("\n".join(lines)) + "\n"
