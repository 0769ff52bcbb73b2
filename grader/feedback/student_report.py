"""Reports of check results: a text table for terminals, HTML for Jupyter.

Messages quote student values and names: the terminal text is made printable as a whole (no
control sequence reaches the terminal, whatever part of it came from a student), and
everything in the HTML is escaped.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from grader.course.model import Exercise
from grader.engine.results import NOT_ATTEMPTED, CheckResult
from grader.printable import printable


def label(result: CheckResult) -> str:
    """The status as a student reads it: an untouched stub is "not attempted", not a crash."""
    return result.label


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
        todo = sorted({r.function for r in self.results if not r.attempted and r.function})
        if todo:
            them = "them" if len(todo) > 1 else "it"
            lines += ["", f"  Not attempted yet: {', '.join(todo)} still "
                          f"raise{'' if len(todo) > 1 else 's'} NotImplementedError. "
                          f"Fill {them} in, then check again."]
        notes, messages, same = _feedback(self.results)
        if notes:
            lines += ["", *(f"  {note}" for note in notes)]
        for r in self.results:
            if r.passed or not r.attempted or id(r) not in messages:
                continue
            lines.append("")
            lines.append(f"  {label(r).upper()}: {r.check}: {r.statement}")
            lines.extend(f"    {line}" for line in messages[id(r)].splitlines())
            if same.get(id(r)):
                lines.append(f"    The same for: {', '.join(same[id(r)])}.")
        return printable("\n".join(lines))

    def html(self) -> str:
        ex = self.exercise
        e = _escaped
        notes, messages, _ = _feedback(self.results)
        first = {id(r): f for f in self.results if id(f) in messages
                 for r in self.results if id(r) not in messages and _key(r) == _key(f)}

        def feedback(r: CheckResult) -> str:
            if id(r) in first:
                return f"The same as for {first[id(r)].check} above."
            return messages.get(id(r), r.message)

        rows = "".join(
            f"<tr><td><code>{e(r.check)}</code>{' <em>(hidden)</em>' if r.hidden else ''}"
            f"<br><small>{e(r.statement)}</small></td>"
            f"<td>{fmt_points(r.score)}/{fmt_points(r.max_score)}</td>"
            f"<td style='color:{_COLORS.get(label(r), '#b00')}'><b>{e(label(r))}</b></td>"
            f"<td><pre style='white-space:pre-wrap;margin:0'>{e(feedback(r))}</pre></td></tr>"
            for r in self.results)
        said_once = "".join(f"<p>{e(note)}</p>" for note in notes)
        return (f"<h4>{e(ex.id)}: {e(ex.title)} &mdash; {fmt_points(self.score)}/"
                f"{fmt_points(self.max_score)}</h4>{said_once}"
                "<table><thead><tr><th>check</th><th>points</th><th>status</th>"
                f"<th>feedback</th></tr></thead><tbody>{rows}</tbody></table>")


_COLORS = {"passed": "#080", NOT_ATTEMPTED: "#886600"}
_NOTE = "Note: "  # grader.engine.run_check._with_notes: why loading the file skipped something


def _key(r: CheckResult) -> tuple[str, str]:
    return (r.status, "\n".join(line for line in r.message.splitlines()
                                if not line.startswith(_NOTE)))


def _feedback(results: list[CheckResult]
              ) -> tuple[list[str], dict[int, str], dict[int, list[str]]]:
    """Feedback that says each thing once: the notes every result that did not pass carries
    (a notebook cell that was skipped), and for each failed or missing result (by id) its
    message without them, except a `missing` message already given for an earlier check
    (the same function or file missing), whose checks are listed with the first one."""
    failing = [r for r in results if not r.passed and r.attempted]
    lines = [r.message.splitlines() for r in failing]
    notes = [line for line in (lines[0] if lines else []) if line.startswith(_NOTE)
             and all(line in other for other in lines)]
    messages: dict[int, str] = {}
    same: dict[int, list[str]] = {}
    first_missing: dict[tuple[str, str], CheckResult] = {}
    for r, body in zip(failing, lines):
        if r.status == "missing":
            key = _key(r)
            if key in first_missing:
                if r.function:  # a function: name the checks that need it
                    same[id(first_missing[key])].append(r.check)
                continue
            first_missing[key] = r
            same[id(r)] = []
        messages[id(r)] = "\n".join(line for line in body if line not in notes)
    return notes, messages, same


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
