"""grader/course/stubs.py: exercises/ is generated from solutions/, and the repo's copies agree."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from grader.course.model import load_course
from grader.course.stubs import (
    BEGIN,
    END,
    RECORD,
    MarkerError,
    PersonsWork,
    StubRecordError,
    make_stub,
    read_record,
    stale_stubs,
    strip_markers,
    stub_hash,
    survey,
    write_stubs,
)

ROOT = Path(__file__).resolve().parents[2]
EXERCISE_IDS = tuple(load_course(ROOT).exercises)
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
    from grader.course.model import load_course
    from grader.engine.in_process import load

    impl = load(EXERCISES / f"{ex_id}.py", ex_id)
    names = load_course().exercise(ex_id).functions
    assert names
    assert [n for n in names if not impl.defines(n)] == []


# -- nobody's work is overwritten ---------------------------------------------------------------

def _course(tmp_path: Path) -> tuple[Path, Path, Path]:
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    solutions.mkdir()
    for ex_id in ("a", "b"):
        (solutions / f"{ex_id}.py").write_text(SOURCE)
    write_stubs(solutions, exercises, ["a", "b"])
    return tmp_path, solutions, exercises


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_write_stubs_replaces_a_stub_it_generated_and_records_the_new_one(tmp_path):
    _, solutions, exercises = _course(tmp_path)
    (solutions / "a.py").write_text(SOURCE.replace("y=2", "y=3"))
    assert [s.state for s in survey(solutions, exercises, ["a", "b"])] == ["stale", "current"]
    assert write_stubs(solutions, exercises, ["a", "b"]) == [exercises / "a.py"]
    assert "y=3" in (exercises / "a.py").read_text()
    assert len(read_record(exercises)["a"]) == 2  # the earlier stub stays known
    # back to the earlier solution: its stub, still on record, is replaced again
    (solutions / "a.py").write_text(SOURCE)
    assert write_stubs(solutions, exercises, ["a", "b"]) == [exercises / "a.py"]


def test_write_stubs_refuses_a_file_someone_wrote_and_writes_nothing(tmp_path):
    _, solutions, exercises = _course(tmp_path)
    (exercises / "a.py").write_text(strip_markers(SOURCE))  # a student solved it
    (solutions / "b.py").write_text(SOURCE.replace("y=2", "y=3"))  # b is out of date
    before = _tree(exercises)
    with pytest.raises(PersonsWork) as info:
        write_stubs(solutions, exercises, ["a", "b"])
    assert [s.path for s in info.value.states] == [exercises / "a.py"]
    assert _tree(exercises) == before  # not even the stale stub or the record changed
    assert [s.state for s in survey(solutions, exercises, ["a", "b"])] == ["work", "stale"]


def test_write_stubs_refuses_a_symbolic_link_and_leaves_its_target(tmp_path):
    _, solutions, exercises = _course(tmp_path)
    mine = tmp_path / "mine.py"
    mine.write_text("my work\n")
    (exercises / "a.py").unlink()
    (exercises / "a.py").symlink_to(mine)
    with pytest.raises(PersonsWork):
        write_stubs(solutions, exercises, ["a", "b"])
    assert mine.read_text() == "my work\n" and (exercises / "a.py").is_symlink()


def test_a_stub_written_without_the_record_is_someones_work(tmp_path):
    _, solutions, exercises = _course(tmp_path)
    (exercises / RECORD).unlink()
    states = survey(solutions, exercises, ["a", "b"])
    assert [s.state for s in states] == ["unrecorded", "unrecorded"]  # equal: safe to record
    (solutions / "a.py").write_text(SOURCE.replace("y=2", "y=3"))
    assert survey(solutions, exercises, ["a"])[0].state == "work"  # nobody can tell: kept


def test_a_malformed_record_is_an_error_not_an_empty_record(tmp_path):
    _, solutions, exercises = _course(tmp_path)
    (exercises / RECORD).write_text("{not json")
    with pytest.raises(StubRecordError):
        write_stubs(solutions, exercises, ["a", "b"])


def test_the_repo_records_every_stub_in_exercises():
    record = read_record(EXERCISES)
    for ex_id in EXERCISE_IDS:
        assert stub_hash((EXERCISES / f"{ex_id}.py").read_bytes()) in record[ex_id]


def _course_copy(tmp_path: Path) -> Path:
    import shutil

    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(ROOT / "course_config.py", course)
    shutil.copytree(SOLUTIONS, course / "solutions")
    shutil.copytree(EXERCISES, course / "exercises")
    return course


def _grader(course: Path, *args: str) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "GRADER_COURSE_ROOT": str(course)}
    return subprocess.run([str(ROOT / ".venv" / "bin" / "grader"), *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=60)


def test_grader_stubs_keeps_a_students_work_in_the_course_repository(tmp_path):
    """A student who worked in exercises/ of the course's repository runs `make test`
    (`grader stubs --check`) and then `grader stubs`: their file is never replaced, and
    neither command tells them to run `grader stubs` as if the file were out of date."""
    course = _course_copy(tmp_path)
    work = strip_markers((SOLUTIONS / "softmax_ce.py").read_text()) + "# mine\n"
    (course / "exercises" / "softmax_ce.py").write_text(work)
    before = _tree(course / "exercises")

    check = _grader(course, "stubs", "--check")
    assert check.returncode == 1
    lines = check.stdout.splitlines()
    assert len(lines) == 1, check.stdout
    assert lines[0].startswith("exercises/softmax_ce.py holds someone's work")
    assert "keep it" in lines[0] and "release repo" in lines[0]
    assert "out of date" not in check.stdout

    run = _grader(course, "stubs")
    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        "grader stubs: exercises/softmax_ce.py holds someone's work, not a stub `grader stubs` "
        "generated: nothing was written. To replace it, move it out of exercises/ first (e.g. "
        "`mv exercises/softmax_ce.py softmax_ce.mine.py`), then run `grader stubs` again."]
    assert _tree(course / "exercises") == before
    assert "Traceback" not in run.stdout + run.stderr

    # Doing what it says works, and the work is where the person put it.
    (course / "exercises" / "softmax_ce.py").rename(course / "softmax_ce.mine.py")
    run = _grader(course, "stubs")
    assert run.returncode == 0, run.stderr
    assert run.stdout == "wrote exercises/softmax_ce.py\n"
    assert (course / "softmax_ce.mine.py").read_text() == work
    assert _grader(course, "stubs", "--check").returncode == 0


def test_grader_stubs_regenerates_a_stale_stub_after_a_solution_changes(tmp_path):
    course = _course_copy(tmp_path)
    solution = course / "solutions" / "linreg_gd.py"
    solution.write_text(solution.read_text().replace('"""', '"""Changed. ', 1))
    check = _grader(course, "stubs", "--check")
    assert (check.returncode, check.stdout) == (
        1, "exercises/linreg_gd.py is out of date: run `grader stubs`.\n")
    run = _grader(course, "stubs")
    assert (run.returncode, run.stdout) == (0, "wrote exercises/linreg_gd.py\n")
    assert (course / "exercises" / "linreg_gd.py").read_text().startswith('"""Changed. ')
    assert _grader(course, "stubs", "--check").returncode == 0


def test_grader_stubs_names_a_solution_that_is_not_an_exercise(tmp_path):
    """A solutions/*.py missing from course_config.py EXERCISES gets no stub: both commands
    say so in one line each and exit 1, after the exercises' stubs are written."""
    course = _course_copy(tmp_path)
    (course / "solutions" / "lr_schedules.py").write_text('"""Mine."""\n')
    (course / "solutions" / "_helpers.py").write_text("")  # a helper module, not an exercise
    solution = course / "solutions" / "linreg_gd.py"
    solution.write_text(solution.read_text().replace('"""', '"""Changed. ', 1))
    line = ("solutions/lr_schedules.py is not an exercise of course_config.py, so it gets no "
            "stub: add it to EXERCISES (with its checks), or move it aside and run `grader "
            "new-exercise lr_schedules --title ...`, which writes it with the exercise's other "
            "files (then bring your code into it).")

    check = _grader(course, "stubs", "--check")
    assert (check.returncode, check.stdout) == (
        1, f"exercises/linreg_gd.py is out of date: run `grader stubs`.\n{line}\n")
    run = _grader(course, "stubs")
    assert (run.returncode, run.stdout, run.stderr) == (
        1, "wrote exercises/linreg_gd.py\n", f"grader stubs: {line}\n")
    assert not (course / "exercises" / "lr_schedules.py").exists()
    assert sorted(read_record(course / "exercises")) == sorted(EXERCISE_IDS)
