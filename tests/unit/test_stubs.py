"""grader/stubs.py: exercises/ is generated from solutions/, and the repo's copies agree."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from grader.course import EXERCISE_IDS
from grader.stubs import (
    BEGIN,
    END,
    MarkerError,
    make_stub,
    stale_stubs,
    strip_markers,
    write_stubs,
)

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"

SOURCE = '''"""Module docstring."""

import numpy as np

CONSTANT = 3


def f(x, y=2):
    """Docstring of f."""
    ### BEGIN SOLUTION
    z = x + y
    return z * CONSTANT
    ### END SOLUTION


class Opt:
    """Docstring of Opt."""

    def __init__(self, params, lr=0.01):
        ### BEGIN SOLUTION
        self.lr = lr
        ### END SOLUTION

    def step(self, params, grads):
        """One step."""
        for p, g in zip(params, grads):
            ### BEGIN SOLUTION
            p -= self.lr * g
            ### END SOLUTION
'''


def test_make_stub_replaces_regions_at_the_marker_indentation():
    stub = make_stub(SOURCE)
    lines = stub.splitlines()
    # function body (4 spaces), method body (8 spaces), loop body (12 spaces)
    for indent in (4, 8, 12):
        pad = " " * indent
        i = lines.index(f"{pad}# YOUR CODE HERE")
        assert lines[i + 1] == f"{pad}raise NotImplementedError()"
    assert stub.count("raise NotImplementedError()") == 3
    assert stub.count("# YOUR CODE HERE") == 3
    for gone in ("z = x + y", "return z * CONSTANT", "self.lr = lr", "p -= self.lr * g",
                 BEGIN, END):
        assert gone not in stub


def test_make_stub_keeps_signatures_docstrings_and_code_outside_regions():
    stub = make_stub(SOURCE)
    tree = ast.parse(stub)  # the stub is valid Python
    functions = {node.name: node for node in ast.walk(tree)
                 if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    assert set(functions) == {"f", "Opt", "__init__", "step"}
    assert ast.get_docstring(functions["f"]) == "Docstring of f."
    assert ast.get_docstring(functions["Opt"]) == "Docstring of Opt."
    assert ast.get_docstring(functions["step"]) == "One step."
    assert ast.get_docstring(tree) == "Module docstring."
    assert [a.arg for a in functions["f"].args.args] == ["x", "y"]
    assert [a.arg for a in functions["__init__"].args.args] == ["self", "params", "lr"]
    assert "import numpy as np\n" in stub
    assert "CONSTANT = 3\n" in stub
    assert "        for p, g in zip(params, grads):\n" in stub


def test_make_stub_of_a_file_without_markers_is_the_file():
    text = "def f(x):\n    return x\n"
    assert make_stub(text) == text


def test_make_stub_keeps_tab_indentation():
    stub = make_stub("def f():\n\t### BEGIN SOLUTION\n\treturn 1\n\t### END SOLUTION\n")
    assert stub == "def f():\n\t# YOUR CODE HERE\n\traise NotImplementedError()\n"


@pytest.mark.parametrize(("source", "line", "words"), [
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", 2, "never closed"),
    ("def f():\n    return 1\n    ### END SOLUTION\n", 3, "without"),
    ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    return 1\n"
     "    ### END SOLUTION\n    ### END SOLUTION\n", 3, "inside another"),
    ("x = 1\n### BEGIN SOLUTION\n### END SOLUTION\n### END SOLUTION\n", 4, "without"),
])
def test_make_stub_rejects_unbalanced_or_nested_markers_with_the_line(source, line, words):
    with pytest.raises(MarkerError) as info:
        make_stub(source, "ex.py")
    assert f"ex.py:{line}:" in str(info.value)
    assert words in str(info.value)
    assert isinstance(info.value, ValueError)


def test_strip_markers_keeps_the_solution_code():
    plain = strip_markers(SOURCE)
    assert BEGIN not in plain and END not in plain
    assert "    z = x + y\n" in plain
    ns: dict = {}
    exec(compile(plain, "<plain>", "exec"), ns)
    assert ns["f"](1, 2) == 9


def test_stale_stubs_detects_out_of_date_missing_and_current_stubs(tmp_path):
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    solutions.mkdir()
    for ex_id in ("a", "b", "c"):
        (solutions / f"{ex_id}.py").write_text(SOURCE)
    assert stale_stubs(solutions, exercises, ["a", "b", "c"]) == ["a", "b", "c"]
    written = write_stubs(solutions, exercises, ["a", "b", "c"])
    assert written == [exercises / "a.py", exercises / "b.py", exercises / "c.py"]
    assert stale_stubs(solutions, exercises, ["a", "b", "c"]) == []
    # the reference changes after the stubs were generated: its stub is out of date
    (solutions / "b.py").write_text(SOURCE.replace("y=2", "y=3"))
    # someone edits a stub by hand
    (exercises / "c.py").write_text(make_stub(SOURCE) + "# edited\n")
    assert stale_stubs(solutions, exercises, ["a", "b", "c"]) == ["b", "c"]
    (exercises / "a.py").unlink()
    assert stale_stubs(solutions, exercises, ["a", "b", "c"]) == ["a", "b", "c"]


# -- the repository's own exercises/ and solutions/ ------------------------------------------

@pytest.mark.parametrize("ex_id", EXERCISE_IDS)
def test_repo_stub_is_exactly_the_stub_generated_from_its_solution(ex_id):
    """The "stub out of sync" test: run `grader stubs` after editing a solution."""
    expected = make_stub((SOLUTIONS / f"{ex_id}.py").read_text(), f"{ex_id}.py")
    assert (EXERCISES / f"{ex_id}.py").read_text() == expected, (
        f"exercises/{ex_id}.py is out of date: run `grader stubs`")


def test_no_repo_stub_is_stale():
    assert stale_stubs(SOLUTIONS, EXERCISES, list(EXERCISE_IDS)) == []


def test_grader_stubs_check_agrees():
    run = subprocess.run([sys.executable, "-m", "grader", "stubs", "--check"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "out of date" not in run.stdout


def _solution_region_lines(text: str) -> list[str]:
    """Code lines inside solution regions, found loosely (any line mentioning the markers)."""
    lines, inside = [], False
    for line in text.splitlines():
        if "BEGIN SOLUTION" in line:
            inside = True
        elif "END SOLUTION" in line:
            inside = False
        elif inside and line.strip() and not line.strip().startswith("#"):
            lines.append(line.strip())
    return lines


@pytest.mark.parametrize("ex_id", EXERCISE_IDS)
def test_repo_stub_contains_no_line_of_solution_code(ex_id):
    solution = (SOLUTIONS / f"{ex_id}.py").read_text()
    region = _solution_region_lines(solution)
    assert region, f"solutions/{ex_id}.py has no solution region"
    stub_lines = {line.strip() for line in (EXERCISES / f"{ex_id}.py").read_text().splitlines()}
    leaked = [line for line in region if line in stub_lines]
    assert leaked == []
    assert "SOLUTION" not in (EXERCISES / f"{ex_id}.py").read_text()


def _api(tree: ast.Module) -> list[tuple]:
    """Every function and class, in order: name, parameters, defaults, docstring."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            out.append((node.name, [a.arg for a in node.args.args],
                        [ast.unparse(d) for d in node.args.defaults], ast.get_docstring(node)))
        elif isinstance(node, ast.ClassDef):
            out.append((node.name, None, None, ast.get_docstring(node)))
    return out


@pytest.mark.parametrize("ex_id", EXERCISE_IDS)
def test_repo_stub_keeps_every_signature_and_docstring_of_its_solution(ex_id):
    solution = ast.parse((SOLUTIONS / f"{ex_id}.py").read_text())
    stub = ast.parse((EXERCISES / f"{ex_id}.py").read_text())
    assert _api(stub) == _api(solution)
    assert ast.get_docstring(stub) == ast.get_docstring(solution)
    assert "raise NotImplementedError()" in (EXERCISES / f"{ex_id}.py").read_text()


@pytest.mark.parametrize("ex_id", EXERCISE_IDS)
def test_repo_stub_loads_and_defines_every_contract_name(ex_id):
    from grader.course import load_course
    from grader.submission import load

    impl = load(EXERCISES / f"{ex_id}.py", ex_id)
    names = load_course().exercise(ex_id).functions
    assert names
    assert [n for n in names if not impl.defines(n)] == []
