"""Where a check that did not pass points in the student's file, as GitHub annotations.

A check exercises one or more of the exercise's functions; its annotation goes on the line
the student should look at: the line their code raised at or that does not compile, else
the `def` line of the function the failure names, the check is named after, or its
statement mentions. Checks pointing at the same line share one annotation, and GitHub shows
at most 10 error annotations per step, so the rest are counted in a last one. A message is
quoted in its first lines, plus its likely mistake wherever that line sits.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from grader.course.model import Exercise
from grader.engine.results import CheckResult
from grader.feedback.student_report import fmt_points, label
from grader.integrations.ci import workflow
from grader.printable import printable
from grader.sandbox.runtime.loading import MAX_SOURCE_BYTES

MAX_ANNOTATIONS = 10  # GitHub keeps the first 10 error annotations of a step
DETAILED_CHECKS = 4  # checks described in full in one annotation; the others are named
MESSAGE_LINES = 8  # lines of a check's message quoted in an annotation
HINT = "Likely mistake: "  # grader.authoring.failures' line, quoted even past MESSAGE_LINES

_RAISED_AT = re.compile(r"\(line (\d+)(?:, in [^()]*)?\)\.$")
_SYNTAX_ERROR_AT = re.compile(r"^\S+ has a syntax error at line (\d+):")
_BACKTICKED = re.compile(r"`([A-Za-z_][\w.]*)")


@dataclass
class Annotation:
    exercise: str
    file: str | None
    line: int | None
    not_attempted: bool = False
    results: list[CheckResult] = field(default_factory=list)

    def title(self) -> str:
        n = len(self.results)
        if self.not_attempted:
            waiting = "1 check waits" if n == 1 else f"{n} checks wait"
            return f"{self.exercise}: not attempted yet ({waiting})"
        return f"{self.exercise}: {n} check{'s' * (n != 1)} did not pass"

    def message(self) -> str:
        if self.not_attempted:
            names = dict.fromkeys(r.function for r in self.results if r.function)
            points = fmt_points(sum(r.max_score for r in self.results))
            return (f"Not attempted yet: {', '.join(f'`{n}`' for n in names)} still "
                    f"raise{'s' * (len(names) == 1)} NotImplementedError. Checks waiting for "
                    f"{'it' if len(names) == 1 else 'them'} ({points} points): "
                    f"{', '.join(r.check for r in self.results)}.")
        parts = []
        for r in self.results[:DETAILED_CHECKS]:
            lines = r.message.splitlines()
            quoted = lines[:MESSAGE_LINES] + (["..."] if len(lines) > MESSAGE_LINES else [])
            # The likely mistake says what to look at: a long table of numbers never hides it.
            quoted += [line for line in lines[MESSAGE_LINES:] if line.startswith(HINT)]
            parts.append("\n".join([f"{r.check} ({label(r)}, {fmt_points(r.score)}/"
                                    f"{fmt_points(r.max_score)}): {r.statement}", *quoted]))
        rest = [r.check for r in self.results[DETAILED_CHECKS:]]
        if rest:
            parts.append(f"Also: {', '.join(rest)}.")
        return "\n\n".join(parts)

    def command(self) -> str:
        # GitHub's log viewer renders ANSI sequences: the text is made printable, then escaped
        # for the workflow command.
        return workflow.error(printable(self.message()),
                              file=printable(self.file, newlines=False) if self.file else None,
                              line=self.line, title=printable(self.title(), newlines=False))


def annotations(reports: list, workspace: Path | None = None) -> list[str]:
    """Workflow commands for the checks that did not pass in REPORTS (ExerciseReports).

    Failures and errors come first, one annotation per line they point at; then one per
    exercise for the functions not attempted yet, at the first of them in the file.
    """
    workspace = (workspace or Path.cwd()).resolve()
    groups: dict[tuple[str, str | None, int | None], Annotation] = {}
    for report in reports:
        path = Path(report.source) if report.source else None
        is_file = path is not None and path.is_file()
        definitions = definition_lines(path) if is_file else {}
        file = _relative(path, workspace) if is_file else None
        todo = None
        for r in report.results:
            if r.passed:
                continue
            # Lines of a notebook's cells are not lines of its file: a notebook gets
            # file-level annotations.
            line = locate(r, report.exercise, definitions) \
                if file and path is not None and path.suffix == ".py" else None
            if not r.attempted:
                if todo is None:
                    todo = Annotation(report.exercise.id, file, line, not_attempted=True)
                elif line is not None:
                    todo.line = line if todo.line is None else min(todo.line, line)
                todo.results.append(r)
                continue
            key = (report.exercise.id, file, line)
            groups.setdefault(key, Annotation(report.exercise.id, file, line)).results.append(r)
        if todo is not None:
            groups[(report.exercise.id, file, -1)] = todo
    ordered = sorted(groups.values(), key=lambda a: a.not_attempted)  # stable: course order
    commands = [a.command() for a in ordered]
    if len(commands) > MAX_ANNOTATIONS:
        rest = ordered[MAX_ANNOTATIONS - 1:]
        checks = sum(len(a.results) for a in rest)
        commands = commands[:MAX_ANNOTATIONS - 1] + [workflow.error(
            f"{checks} more checks did not pass in {len(rest)} more places "
            f"({', '.join(dict.fromkeys(a.exercise for a in rest))}): the job summary "
            "lists them all, and `grader check` explains each.",
            title="More checks did not pass")]
    return commands


def locate(result: CheckResult, exercise: Exercise, definitions: dict[str, int]) -> int | None:
    first = result.message.splitlines()[0] if result.message else ""
    found = _RAISED_AT.search(first) or _SYNTAX_ERROR_AT.match(first)
    if found:
        return int(found.group(1))
    for name in _BACKTICKED.findall(result.message):
        while name:
            if name in definitions:
                return definitions[name]
            name = name.rpartition(".")[0]  # `Adam.step` not defined: the class
    named = _named_after(result.check, exercise.functions)
    if named in definitions:
        return definitions[named]
    for name in exercise.functions:
        if re.search(rf"\b{re.escape(name)}\b", result.statement) and name in definitions:
            return definitions[name]
    return next((definitions[n] for n in exercise.functions if n in definitions), None)


def _named_after(check: str, functions: tuple[str, ...]) -> str | None:
    """The function whose name the check's name starts with (most words in common wins):
    `mse_gradients_match_...` is about mse_gradients, `adam_first_step_...` about Adam."""
    words = check.lower().split("_")
    best, best_len = None, 0
    for name in functions:
        fn_words = name.lower().split("_")
        common = 0
        while common < min(len(words), len(fn_words)) and words[common] == fn_words[common]:
            common += 1
        if common > best_len:
            best, best_len = name, common
    return best


def definition_lines(path: Path) -> dict[str, int]:
    """The line of each top-level function, class, method (`Class.method`) and constant of a
    .py file; the last definition wins, as when Python runs the file. Empty if it cannot be
    parsed (the failure message then says why)."""
    if path.suffix != ".py":
        return {}
    try:
        if path.stat().st_size > MAX_SOURCE_BYTES:
            return {}
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    lines: dict[str, int] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            lines[node.name] = node.lineno
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        lines[f"{node.name}.{item.name}"] = item.lineno
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    lines[target.id] = node.lineno
    return lines


def _relative(path: Path, workspace: Path) -> str:
    """The path GitHub expects: relative to the repository's root when inside it."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(workspace).as_posix()
    except ValueError:
        return os.fspath(resolved)
