"""Reports of check results: a text table for terminals, HTML for Jupyter.

Messages quote student values and names: the terminal text is made printable as a whole (no
control sequence reaches the terminal, whatever part of it came from a student), and
everything in the HTML is escaped.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from grader.course import Exercise
from grader.failures import NotAttempted
from grader.printable import printable
from grader.results import CheckResult


def label(result: CheckResult) -> str:
    """The status as a student reads it: an untouched stub is "not attempted", not a crash."""
    if result.status == "failed" and result.message.startswith(NotAttempted.PREFIX):
        return "not attempted"
    return result.status


def fmt_points(x: float) -> str:
    return f"{x:g}"


@dataclass
class ExerciseReport:
    exercise: Exercise
    results: list[CheckResult]
    source: str

    @property
    def score(self) -> float:
        return sum(r.score for r in self.results)

    @property
    def max_score(self) -> float:
        return sum(r.max_score for r in self.results)

    @property
    def all_passed(self) -> bool:
        return all(r.passed for r in self.results)

    def text(self) -> str:
        ex = self.exercise
        width = max([len(r.check) for r in self.results] + [len("check")]) + 2
        # The source is a path under the student's folder, whose name may hold a newline.
        source = f"  [{printable(self.source, newlines=False)}]" if self.source else ""
        lines = [f"{ex.id}: {ex.title}{source}",
                 f"  {'check':<{width}}{'points':>8}  status"]
        for r in self.results:
            points = f"{fmt_points(r.score)}/{fmt_points(r.max_score)}"
            tag = " (hidden)" if r.hidden else ""
            lines.append(f"  {r.check:<{width}}{points:>8}  {label(r)}{tag}")
        total = f"{fmt_points(self.score)}/{fmt_points(self.max_score)}"
        lines.append(f"  {'total':<{width}}{total:>8}")
        shown_missing = False
        todo = sorted({r.message.split("`")[1] for r in self.results
                       if label(r) == "not attempted" and "`" in r.message})
        if todo:
            lines += ["", f"  Not attempted yet: {', '.join(todo)} still raise"
                          " NotImplementedError. Fill them in, then check again."]
        for r in self.results:
            if r.passed or label(r) == "not attempted":
                continue
            if r.status == "missing" and not r.message.startswith("`"):
                if shown_missing:
                    continue  # a missing file: one message for the whole exercise
                shown_missing = True
            lines.append("")
            lines.append(f"  {label(r).upper()}: {r.check}: {r.statement}")
            lines.extend(f"    {line}" for line in r.message.splitlines())
        return printable("\n".join(lines))

    def html(self) -> str:
        ex = self.exercise
        e = _escaped
        rows = "".join(
            f"<tr><td><code>{e(r.check)}</code>{' <em>(hidden)</em>' if r.hidden else ''}"
            f"<br><small>{e(r.statement)}</small></td>"
            f"<td>{fmt_points(r.score)}/{fmt_points(r.max_score)}</td>"
            f"<td style='color:{_COLORS.get(label(r), '#b00')}'><b>{e(label(r))}</b></td>"
            f"<td><pre style='white-space:pre-wrap;margin:0'>{e(r.message)}</pre></td></tr>"
            for r in self.results)
        return (f"<h4>{e(ex.id)}: {e(ex.title)} &mdash; {fmt_points(self.score)}/"
                f"{fmt_points(self.max_score)}</h4>"
                "<table><thead><tr><th>check</th><th>points</th><th>status</th>"
                f"<th>feedback</th></tr></thead><tbody>{rows}</tbody></table>")


_COLORS = {"passed": "#080", "not attempted": "#886600"}


def _escaped(text: str) -> str:
    return html.escape(printable(text))


@dataclass
class Report:
    exercises: list[ExerciseReport]

    @property
    def all_passed(self) -> bool:
        return all(r.all_passed for r in self.exercises)

    def text(self) -> str:
        body = "\n\n".join(r.text() for r in self.exercises)
        score = sum(r.score for r in self.exercises)
        total = sum(r.max_score for r in self.exercises)
        verdict = "all checks passed" if self.all_passed else "some checks did not pass"
        return printable(f"{body}\n\n{fmt_points(score)}/{fmt_points(total)} points: {verdict}.")

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        return "".join(r.html() for r in self.exercises)
