"""`grader new-exercise`: the files of a new exercise, from templates that already work.

Trust role: author tooling. It reads the course's own trusted files and writes new ones into
the course: a reference skeleton (solutions/), public and hidden check templates
(tests/checks/), an audit catalog with commented examples (tests/audit/catalog/), the entry
in course_config.py, and the stub (exercises/). People write all of these folders, so it
creates only files that do not exist yet, and it changes course_config.py (a file a person
wrote) only by inserting the new entry before the closing brace of EXERCISES: every other
byte stays as it was.

Everything is checked before anything is written: an invalid id, an id in use, a file in the
way or an EXERCISES it cannot edit as text is a `ScaffoldError` with one line saying what to
do, and nothing is written.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import json
import keyword
import os
import tokenize
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from string import Template

from grader.course.model import Course, load_course
from grader.course.stubs import StubRecordError, read_record, write_stubs

# The skeleton's one function and its two checks: the templates use these names, and the
# course_config.py entry lists them, so the new exercise passes its own checks at once.
FUNCTION = "half_squared_norm"
PUBLIC_CHECK = f"{FUNCTION}_value_and_gradient"
HIDDEN_CHECK = f"{FUNCTION}_matches_reference"
PUBLIC_POINTS = 2
HIDDEN_POINTS = 1
# Limits when the course has no exercise to take them from.
DEFAULT_TIME_LIMIT_S = 30
DEFAULT_MEMORY_LIMIT_MB = 512
# The modules the sandboxed worker runs next to student code (grader/sandbox/runtime/): an
# exercise module of one of these names would be shadowed by them, or shadow them.
RUNTIME_MODULES = frozenset(p.stem for p in (Path(__file__).resolve().parents[1]
                                              / "sandbox" / "runtime").glob("*.py"))


class ScaffoldError(Exception):
    """The exercise cannot be created as asked; the message says what to do. Nothing was
    written."""


@dataclass(frozen=True)
class Created:
    """What `new_exercise` wrote, relative to the course root: new files, and course_config.py."""

    files: tuple[Path, ...]
    config: Path


def validate_id(exercise_id: str, course: Course) -> None:
    """Raise ScaffoldError unless EXERCISE_ID can name a new exercise of COURSE."""
    if not exercise_id.isidentifier() or not exercise_id.isascii():
        raise ScaffoldError(f"{exercise_id!r} is not a Python identifier: an exercise id is the "
                            "name of the module students write, e.g. lr_schedules (lowercase "
                            "letters, digits and _, not starting with a digit).")
    if exercise_id != exercise_id.lower():
        raise ScaffoldError(f"{exercise_id!r} has capital letters: exercise ids are lowercase "
                            f"module names, e.g. {exercise_id.lower()!r}.")
    if keyword.iskeyword(exercise_id):
        raise ScaffoldError(f"{exercise_id!r} is a Python keyword: students could not import a "
                            f"module of that name; choose another id, e.g. {exercise_id}_ex.")
    if exercise_id.startswith("_"):
        raise ScaffoldError(f"{exercise_id!r} starts with _: such modules are private by "
                            f"convention; choose an id starting with a letter.")
    if exercise_id in course.exercises:
        raise ScaffoldError(f"{exercise_id!r} is an exercise of course_config.py already "
                            f"({course.exercises[exercise_id].title!r}): choose another id.")
    taken = sorted(p.name for p in course.exercises_dir.glob(f"{exercise_id}*")
                   if p.name == exercise_id or p.stem == exercise_id)
    if taken:
        raise ScaffoldError(f"exercises/{taken[0]} exists: a module {exercise_id!r} of "
                            f"exercises/ would clash with the new exercise; choose another id "
                            f"or move that file away.")
    if exercise_id in RUNTIME_MODULES or importlib.util.find_spec(exercise_id) is not None:
        raise ScaffoldError(f"{exercise_id!r} is the name of a module Python or the grader "
                            f"imports: a student's {exercise_id}.py would shadow it; choose "
                            f"another id, e.g. {exercise_id}_ex.")


def validate_title(title: str) -> None:
    if not title.strip():
        raise ScaffoldError("the title is empty: give one, e.g. --title \"Learning-rate "
                            "schedules\".")
    if not title.isprintable() or "\\" in title or '"""' in title:
        raise ScaffoldError("the title must be one line of text without backslashes or "
                            "\"\"\" (it goes into docstrings): e.g. --title \"Learning-rate "
                            "schedules\".")


def new_exercise(exercise_id: str, title: str, course: Course | None = None) -> Created:
    """Create exercise EXERCISE_ID of COURSE (default: the process course). Raises
    ScaffoldError, before writing anything, when it cannot."""
    course = course or load_course()
    title = title.strip()
    validate_id(exercise_id, course)
    validate_title(title)
    root = course.root
    values = {"id": exercise_id, "title": title, "function": FUNCTION,
              "public_check": PUBLIC_CHECK, "hidden_check": HIDDEN_CHECK}
    files = {
        Path("solutions") / f"{exercise_id}.py": SOLUTION,
        Path("tests/checks/public") / f"test_{exercise_id}.py": PUBLIC_CHECKS,
        Path("tests/checks/hidden") / f"test_{exercise_id}.py": HIDDEN_CHECKS,
        Path("tests/audit/catalog") / f"{exercise_id}.toml": CATALOG,
    }
    contents = {path: Template(text).substitute(values) for path, text in files.items()}
    stub = Path("exercises") / f"{exercise_id}.py"
    for path in (*contents, stub):
        if os.path.lexists(root / path):
            raise ScaffoldError(f"{path} exists already: new-exercise overwrites nothing; move "
                                f"it away (e.g. `mv {path} {exercise_id}.mine{path.suffix}`) and "
                                f"run it again, or choose another id.")
    config_path = root / "course_config.py"
    config = insert_exercise(config_path.read_bytes(), exercise_id,
                             config_entry(course, title))
    try:
        read_record(course.exercises_dir)
    except StubRecordError as e:
        raise ScaffoldError(f"{e}: restore it from git (`git checkout -- "
                            "exercises/.stubs.json`).") from None

    written: list[Path] = []
    try:
        for path, text in contents.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            with open(root / path, "x", encoding="utf-8") as f:  # never over a file
                written.append(path)
                f.write(text)
        _replace(config_path, config)
    except BaseException:
        for path in written:  # ours, made a moment ago: the course is left as it was
            (root / path).unlink(missing_ok=True)
        raise
    write_stubs(course.solutions_dir, course.exercises_dir, [exercise_id])
    return Created(files=(*contents, stub), config=Path("course_config.py"))


def config_entry(course: Course, title: str) -> dict[str, object]:
    """The new exercise's course_config.py entry; its limits are the ones most exercises have."""
    def usual(values: list[float], default: float) -> float:
        return Counter(values).most_common(1)[0][0] if values else default

    exercises = list(course.exercises.values())
    time_limit = usual([e.time_limit_s for e in exercises], DEFAULT_TIME_LIMIT_S)
    memory = usual([e.memory_limit_mb for e in exercises], DEFAULT_MEMORY_LIMIT_MB)
    return {"title": title, "functions": [FUNCTION], "public": {PUBLIC_CHECK: PUBLIC_POINTS},
            "hidden": {HIDDEN_CHECK: HIDDEN_POINTS},
            "time_limit_s": int(time_limit) if float(time_limit).is_integer() else time_limit,
            "memory_limit_mb": int(memory)}


def insert_exercise(config: bytes, exercise_id: str, entry: dict[str, object]) -> bytes:
    """course_config.py (its bytes) with ENTRY inserted as the last item of EXERCISES.

    The dict is found with `ast` and the entry goes just before its closing brace, written
    in the layout of the file's own entries; the rest of the file keeps every byte (a comma
    is added after the last entry if it has none)."""
    try:
        tree = ast.parse(config)
    except SyntaxError as e:
        raise ScaffoldError(f"course_config.py does not parse (line {e.lineno}: {e.msg}): fix "
                            "it first.") from None
    found = _exercises_values(tree)
    if len(found) != 1 or not isinstance(found[0], ast.Dict):
        raise ScaffoldError("course_config.py has no single `EXERCISES = {...}` dict to add the "
                            "exercise to (new-exercise edits it as text): make EXERCISES one "
                            "dict literal, or add the entry by hand (docs/authoring.md).")
    exercises = found[0]
    assert exercises.end_lineno is not None and exercises.end_col_offset is not None
    # ast's columns count UTF-8 bytes: positions are computed on the bytes.
    lines = config.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(lineno: int, col: int) -> int:
        return starts[lineno - 1] + col

    newline = b"\r\n" if b"\r\n" in config else b"\n"
    close = offset(exercises.end_lineno, exercises.end_col_offset - 1)  # the "}"
    assert config[close:close + 1] == b"}"
    keys = [k for k in exercises.keys if k is not None]
    indent = (b" " * keys[0].col_offset if keys
              else _indent_of(lines[exercises.lineno - 1]) + b"    ")
    text = _entry_text(exercise_id, entry, indent, newline)
    comma = b""
    if exercises.values:
        last = exercises.values[-1]
        assert last.end_lineno is not None and last.end_col_offset is not None
        after_last = offset(last.end_lineno, last.end_col_offset)
        if not _has_comma(config[after_last:close]):
            comma = b","
    else:
        after_last = close
    line_start = starts[exercises.end_lineno - 1]
    if config[line_start:close].strip() == b"":  # the brace on its own line: entry above it
        new = (config[:after_last] + comma + config[after_last:line_start] + text
               + config[line_start:])
    else:
        new = (config[:after_last] + comma + config[after_last:close] + newline + text
               + _indent_of(lines[exercises.lineno - 1]) + config[close:])
    _verify(new, exercise_id, entry)
    return new


def _entry_text(exercise_id: str, entry: dict[str, object], indent: bytes,
                newline: bytes) -> bytes:
    inner = indent * 2 if indent else b"    "  # the file's own step of indentation

    def literal(value: object) -> str:
        # JSON's strings, numbers, lists and objects are Python literals too (the title may
        # hold quotes or non-ASCII letters: both stay readable and exact).
        return json.dumps(value, ensure_ascii=False)

    body = [f"{literal(key)}: {literal(value)}," for key, value in entry.items()]
    body.append('# "due": "2026-12-31T23:59:00+00:00",  # TODO: its deadline (ISO 8601, with a '
                'time zone)')
    out = [indent + f"{literal(exercise_id)}: {{".encode()]
    out += [inner + line.encode() for line in body]
    out.append(indent + b"},")
    return newline.join(out) + newline


def _indent_of(line: bytes) -> bytes:
    return line[: len(line) - len(line.lstrip(b" \t"))]


def _has_comma(between: bytes) -> bool:
    """Whether the text after the last entry's value holds its comma (comments aside)."""
    try:
        tokens = list(tokenize.tokenize(io.BytesIO(b"(" + between + b")").readline))
    except (tokenize.TokenError, SyntaxError):
        return b"," in between
    return any(t.type == tokenize.OP and t.string == "," for t in tokens)


def _exercises_values(tree: ast.Module) -> list[ast.expr | None]:
    """The values assigned to EXERCISES at the top level of the config, in order."""
    return [node.value for node in tree.body
            if isinstance(node, (ast.Assign, ast.AnnAssign))
            and any(isinstance(t, ast.Name) and t.id == "EXERCISES"
                    for t in (node.targets if isinstance(node, ast.Assign) else [node.target]))]


def _verify(new: bytes, exercise_id: str, entry: dict[str, object]) -> None:
    """The edited file still parses and its EXERCISES now ends with exactly ENTRY."""
    try:
        found = _exercises_values(ast.parse(new))
        if len(found) == 1 and isinstance(found[0], ast.Dict) and found[0].keys:
            key, value = found[0].keys[-1], found[0].values[-1]
            if (key is not None and ast.literal_eval(key) == exercise_id
                    and ast.literal_eval(value) == entry):
                return
    except (SyntaxError, ValueError):
        pass
    raise ScaffoldError("course_config.py's EXERCISES is laid out in a way new-exercise cannot "
                        "edit as text: add the entry by hand (docs/authoring.md); nothing was "
                        "written.")


def _replace(path: Path, content: bytes) -> None:
    # Written aside, then renamed over: an interrupted run leaves the old file or the new one.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)


def next_steps(exercise_id: str) -> str:
    """What the author does next, in order, with the commands to run."""
    return NEXT_STEPS.substitute(id=exercise_id, function=FUNCTION)


NEXT_STEPS = Template("""\
Next steps (docs/authoring.md explains each):
  1. Write the exercise in solutions/$id.py: the module docstring students read first, the
     functions with their docstrings, their code between ### BEGIN SOLUTION and
     ### END SOLUTION. List the functions under "functions" in course_config.py.
  2. Write its checks in tests/checks/public/test_$id.py and tests/checks/hidden/test_$id.py
     (the templates check $function), with their points in course_config.py. Set its "due".
  3. Regenerate the stub exercises/$id.py: grader stubs
  4. The reference passes its own checks: grader check $id --submission solutions --hidden
     The stub is not attempted: grader check $id
  5. Write its audit catalog tests/audit/catalog/$id.toml: known mistakes ([[wrong]], at
     least 5), correct variants, trivial implementations; `grader audit $id` flags the
     exercise until it has them.""")


SOLUTION = '''\
"""Exercise: $title.

TODO (author): what students do in this exercise, the mathematics, the shapes and the
numerical pitfalls. This docstring is the top of exercises/$id.py, the file students work
in; every docstring below ships to them too.
"""

import numpy as np


def $function(x):
    """The loss 0.5 * sum(x**2) of a float64 array x of any shape, and its gradient.

    Returns (loss, grad): loss a float, grad a new array shaped like x (the gradient of
    0.5 * sum(x**2) is x itself). Do not modify x.
    """
    ### BEGIN SOLUTION
    return float(0.5 * np.sum(x ** 2)), x.copy()
    ### END SOLUTION
'''


PUBLIC_CHECKS = '''\
"""Public checks for $id, $title. Mathematics only: no reference needed.

A check is a function test_<name>(impl, ...): `impl` is the student's module, <name> is the
check's name in course_config.py (which gives its points), and the first line of its
docstring is the statement students see. Students get this file: a public check never
imports the reference, and it evaluates only formulas the docstrings of solutions/$id.py
already state. Every check pays only for real work: docs/authoring.md, "A check pays only
for real work", and the checks API is grader.authoring.
"""

import numpy as np
from hypothesis import example, given
from hypothesis.extra import numpy as hnp

from grader.authoring import expect, expect_array, expect_close, expect_scalar, float_arrays


@given(x=float_arrays(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4)))
@example(x=np.array([[3.0, -4.0]]))
def test_$public_check(impl, x):
    """$function(x) is 0.5 * sum(x**2) with gradient x, for any shape of x."""
    result = impl.$function(x.copy())
    expect(isinstance(result, tuple) and len(result) == 2,
           "$function must return a tuple (loss, grad).")
    loss = expect_scalar(result[0], what="loss")
    grad = expect_array(result[1], what="grad", shape=x.shape)
    # The anchor: both values come from the formula, computed here, so constants, zeros,
    # NaN or an echo of x earn nothing (the @example is never all zeros).
    expect_close(loss, 0.5 * np.sum(x ** 2), what="loss", rtol=1e-12, atol=1e-12,
                 against="0.5 * sum(x**2)", likely={2.0: "the factor 1/2 is missing."})
    expect_close(grad, x, what="grad", rtol=1e-12, atol=1e-12, against="x")
'''


HIDDEN_CHECKS = '''\
"""Hidden checks for $id: agreement with the reference, on inputs students don't see.

Students never get this file; their feedback shows only each check's statement (the first
line of its docstring). Checks are written as in tests/checks/public/test_$id.py;
docs/authoring.md explains how.
"""

import numpy as np
from hypothesis import example, given
from hypothesis.extra import numpy as hnp

from grader.authoring import expect, expect_close, float_arrays, reference

ref = reference("$id")


@given(x=float_arrays(hnp.array_shapes(min_dims=1, max_dims=4, max_side=5), -1e3, 1e3))
@example(x=np.array([1e3, -2.0, 0.5]))
def test_$hidden_check(impl, x):
    """$function agrees with the reference on large inputs of any shape."""
    expected_loss, expected_grad = ref.$function(x.copy())
    result = impl.$function(x.copy())
    expect(isinstance(result, tuple) and len(result) == 2, "must return (loss, grad)")
    expect_close(result[0], expected_loss, what="loss", rtol=1e-12, atol=1e-12)
    expect_close(result[1], expected_grad, what="grad", rtol=1e-12, atol=1e-12)
'''


CATALOG = '''\
# Audit catalog for $id ($title): `grader audit $id` grades every entry with all the
# checks, public and hidden.
#   [[wrong]]    a realistic student mistake: it must lose points (be "killed");
#   [[correct]]  a correct but different implementation: it must keep full marks;
#   [[trivial]]  an implementation that does no work (constants, zeros, NaN, echoed inputs):
#                it must earn 0 (docs/authoring.md, "A check pays only for real work").
# Each entry has an `id`, a one-line `description`, and its implementation: a patch of
# solutions/$id.py without its ### BEGIN/END SOLUTION lines (`find` -> `replace`, where
# `find` occurs exactly once; several edits as [[<kind>.patches]] tables), a whole file
# (`file`, relative to tests/audit/catalog/files/), or the module's whole text (`source`).
# The audit flags an exercise with fewer than 5 [[wrong]] entries.
#
# Examples, for the skeleton's $function: remove the leading "# " to use them.

# [[wrong]]
# id = "loss-without-half"
# description = "the loss forgets the 1/2: sum(x**2)"
# find = "float(0.5 * np.sum(x ** 2))"
# replace = "float(np.sum(x ** 2))"

# [[correct]]
# id = "loop"
# description = "a Python loop over the entries"
# [[correct.patches]]
# find = "    return float(0.5 * np.sum(x ** 2)), x.copy()\\n"
# replace = """
#     loss = 0.0
#     for v in x.flat:
#         loss += 0.5 * v * v
#     return loss, x.copy()
# """

# [[trivial]]
# id = "zeros"
# description = "returns a zero loss and a zero gradient"
# source = """
# import numpy as np
#
#
# def $function(x):
#     return 0.0, np.zeros_like(x)
# """
'''
