"""Building an exercise's nbgrader source notebook from the course.

One notebook per exercise, in this order:
- the exercise's title and module docstring, and how the notebook works (read-only markdown);
- the imports and constants of `solutions/<id>.py` (an ordinary code cell);
- per function or class: a read-only heading with its signature and summary, and a solution
  cell holding the reference with its `### BEGIN SOLUTION` / `### END SOLUTION` markers, which
  are nbgrader's own: `nbgrader generate_assignment` turns each region into
  `raise NotImplementedError()`, exactly as `grader stubs` does for exercises/;
- a read-only cell running the student's local check (`check("<id>")`);
- the written parts (`solutions/written/<id>/<part>.toml`, grader.integrations.nbgrader.written):
  a read-only prompt and a manually graded answer cell each, with the points of
  course_config.py "written";
- one autograder test cell per check, worth that check's points in course_config.py. A
  hidden check's call sits inside `### BEGIN HIDDEN TESTS` / `### END HIDDEN TESTS`, so the
  released cell keeps only its one-line comment.

One test cell per check (not per group): nbgrader scores a test cell all or nothing, so only
one cell per check gives the same points as our per-check grading (the two paths then agree
point for point), and the formgrader shows each check with its statement and points.

Cell ids and grade ids are fixed names, so the same course always builds the same notebook.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import textwrap
from dataclasses import dataclass

import nbformat

from grader.authoring.checks import checks_for
from grader.course.model import Course, CourseError, Exercise
from grader.course.stubs import BEGIN, END
from grader.gradebook.rows import WRITTEN_PREFIX
from grader.integrations.nbgrader.written import WrittenPart, parts_for

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
KERNEL_IMPORT = "from grader.integrations.nbgrader.kernel import run_checks"
CHECK_CELL_ID = "local_check"
TEST_PREFIX = "test_"

CONVENTIONS = """\
**How this notebook works.** Write your code where a cell says `raise NotImplementedError()`
(keep the function names and signatures). NumPy only, all floating-point work in float64, and
never modify your inputs unless the exercise says "in place". Run the *check* cell to see the
public checks' feedback on your functions: what was checked, the smallest failing input, the
observed and expected numbers, and the likely mistake.

The cells under **Autograder tests** are what grading runs, one check per cell with its
points. Hidden tests are empty in your copy: they compare your functions with a reference on
inputs you do not see, and report only what they check. Do not edit or delete the test
cells; grading restores them anyway."""


@dataclass(frozen=True)
class Block:
    """A top-level piece of a solution module: setup code, or one function or class."""

    name: str | None  # None for imports and constants
    source: str
    docstring: str | None = None
    signature: str | None = None


def split_module(source: str, filename: str = "<solution>") -> tuple[str | None, list[Block]]:
    """The module docstring and the code blocks of a solution file, in file order.

    Consecutive statements that are not functions or classes (imports, constants) form one
    setup block. Comments and blank lines between blocks stay with the block that follows.
    """
    tree = ast.parse(source, filename)
    lines = source.splitlines()
    body = list(tree.body)
    docstring = ast.get_docstring(tree)
    start = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None),
                                                              ast.Constant) \
            and isinstance(body[0].value.value, str):
        start = body[0].end_lineno or 0
        body = body[1:]
    blocks: list[Block] = []
    pending: list[str] = []  # setup lines not yet emitted
    cursor = start
    for i, node in enumerate(body):
        end = node.end_lineno or node.lineno
        following = body[i + 1] if i + 1 < len(body) else None
        limit = _first_line(following) - 1 if following is not None else len(lines)
        # A trailing indented comment (`    ### END SOLUTION`) belongs to the function
        # although the syntax tree ends the function at its last statement.
        while end < limit and (not lines[end].strip() or lines[end][:1] in (" ", "\t")):
            end += 1
        chunk = "\n".join(lines[cursor:end])
        cursor = end
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            if pending:
                blocks.append(Block(None, "\n".join(pending).strip("\n")))
                pending = []
            blocks.append(Block(node.name, chunk.strip("\n"), ast.get_docstring(node),
                                _signature(node)))
        else:
            pending.append(chunk)
    if pending:
        blocks.append(Block(None, "\n".join(pending).strip("\n")))
    return docstring, [b for b in blocks if b.source.strip()]


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


def _signature(node: ast.AST) -> str:
    if isinstance(node, ast.ClassDef):
        init = next((n for n in node.body if isinstance(n, ast.FunctionDef)
                     and n.name == "__init__"), None)
        args = ast.unparse(init.args).removeprefix("self, ").removeprefix("self") if init else ""
        return f"{node.name}({args})"
    assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    return f"{node.name}({ast.unparse(node.args)})"


def _meta(grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = False,
          points: float | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _cell_id(name: str) -> str:
    """A valid nbformat cell id for NAME (at most 64 characters), the same every time."""
    if len(name) <= 64:
        return name
    return f"{name[:55]}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def _markdown(text: str, cell_id: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(text, id=_cell_id(cell_id))
    cell.metadata.update(_meta(cell_id, locked=True))
    return cell


def _code(source: str, cell_id: str, metadata: dict | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source, id=_cell_id(cell_id))
    if metadata:
        cell.metadata.update(metadata)
    return cell


def _comment(text: str) -> str:
    return "\n".join(textwrap.wrap(" ".join(text.split()), 96, initial_indent="# ",
                                   subsequent_indent="# "))


def autograder_cell_source(exercise_id: str, check: str, statement: str, points: float,
                     hidden: bool) -> str:
    """The source of the autograder test cell of one check."""
    call = f"{KERNEL_IMPORT}\nrun_checks({exercise_id!r}, {check!r})"
    if hidden:
        head = _comment(f"Hidden test ({_points(points)}): {statement} Its code and inputs "
                        "are not shown; it runs when your work is graded.")
        return f"{head}\n{HIDDEN_BEGIN}\n{call}\n{HIDDEN_END}"
    head = _comment(f"Test {check} ({_points(points)}): {statement}")
    return f"{head}\n{call}"


def _points(points: float) -> str:
    return f"{points:g} point{'' if points == 1 else 's'}"


def autograder_grade_id(check: str) -> str:
    return f"{TEST_PREFIX}{check}"


def check_of_grade_id(grade_id: str) -> str | None:
    return grade_id[len(TEST_PREFIX):] if grade_id.startswith(TEST_PREFIX) else None


def written_grade_id(part_id: str) -> str:
    return f"{WRITTEN_PREFIX}{part_id}"


def written_parts(course: Course, exercise: Exercise) -> list[tuple[WrittenPart, float]]:
    """The exercise's written parts with their points (the course checks that every part
    course_config.py lists has its file, and every file its entry)."""
    return [(part, exercise.written[part.id]) for part in parts_for(exercise.id, course)]


def source_notebook(course: Course, exercise_id: str) -> nbformat.NotebookNode:
    """The instructor's nbgrader source notebook of one exercise (with solutions and hidden
    tests), ready for `nbgrader generate_assignment`."""
    exercise = course.exercise(exercise_id)
    path = course.solutions_dir / f"{exercise_id}.py"
    docstring, blocks = split_module(path.read_text(), str(path))
    cells = [_markdown(f"# {exercise.title}\n\n{_md_docstring(docstring)}\n\n{CONVENTIONS}",
                       "intro")]
    number = 0
    for block in blocks:
        if block.name is None:
            cells.append(_code(block.source, f"setup_{len(cells)}"))
            continue
        number += 1
        summary = _md_docstring((block.docstring or "").split("\n\n")[0])
        cells.append(_markdown(f"## {number}. `{block.signature}`\n\n{summary}",
                               f"about_{block.name}"))
        if BEGIN in block.source:
            if block.source.count(BEGIN) != block.source.count(END):
                raise CourseError(f"{path}: unbalanced solution markers in {block.name}")
            cells.append(_code(block.source, f"solution_{block.name}",
                               _meta(f"solution_{block.name}", solution=True)))
        else:  # given code (a helper the student does not write)
            cells.append(_code(block.source, f"given_{block.name}"))
    cells.append(_markdown(
        "## Check your work\n\nRun the cell below after each function you write: it runs the "
        "public checks on the functions defined in this notebook and shows their feedback. It "
        "is a no-op while the autograder runs (the test cells below do the grading).",
        "about_check"))
    cells.append(_code(f"from grader import check\ncheck({exercise_id!r})", CHECK_CELL_ID,
                       _meta(CHECK_CELL_ID, locked=True)))
    for part, points in written_parts(course, exercise):
        cells.append(_markdown(f"{part.prompt}\n\n*({_points(points)}, graded by hand.)*",
                               f"prompt_{part.id}"))
        grade_id = written_grade_id(part.id)
        meta = _meta(grade_id, solution=True, grade=True, points=points)
        if part.kind == "code":
            cells.append(_code(part.answer, grade_id, meta))
        else:
            cell = nbformat.v4.new_markdown_cell(part.answer, id=_cell_id(grade_id))
            cell.metadata.update(meta)
            cells.append(cell)
    cells.append(_markdown(
        "## Autograder tests\n\nOne check per cell, worth the points in its comment. Hidden "
        "tests are empty here: they are added back when your notebook is graded.",
        "about_tests"))
    seen: set[str] = set()
    for check in checks_for(exercise_id, include_hidden=True):
        grade_id = autograder_grade_id(check.name)
        if grade_id in seen:
            raise CourseError(f"{exercise_id}: a public and a hidden check are both named "
                              f"{check.name!r}; nbgrader needs one grade id per cell")
        seen.add(grade_id)
        cells.append(_code(
            autograder_cell_source(exercise_id, check.name, check.statement, check.points,
                             check.hidden),
            grade_id, _meta(grade_id, grade=True, locked=True, points=check.points)))
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata.update({
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    })
    nbformat.validate(notebook)
    return notebook


def _md_docstring(text: str | None) -> str:
    """A docstring as Markdown: code-ish lines (formulas, signatures) keep their line breaks."""
    if not text:
        return ""
    text = inspect.cleandoc(text)
    out = []
    for paragraph in text.split("\n\n"):
        lines = paragraph.splitlines()
        if len(lines) > 1 and any(line.startswith(" ") or "=" in line for line in lines[1:]):
            out.append("\n".join(f"    {line}" for line in lines))  # a formula block
        else:
            out.append(_escape(" ".join(line.strip() for line in lines)))
    return "\n\n".join(out)


def _escape(text: str) -> str:
    """Markdown emphasis characters of formulas (`mu*v - lr*g`, `dW_1`) kept literal, except
    inside `code` spans."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):  # outside backticks
        parts[i] = parts[i].replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_")
    return "`".join(parts)
