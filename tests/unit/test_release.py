"""`grader release repo`: the student repository holds what students need and nothing of the
reference solutions or the hidden checks."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import tomllib

from grader.ci.release import find_leaks, release_repo, student_repo_files
from grader.course import import_path, load_course
from grader.stubs import make_stub, strip_markers

ROOT = Path(__file__).resolve().parents[2]
GRADER = ROOT / ".venv" / "bin" / "grader"


def solution_lines() -> set[str]:
    """Lines only the references have: in a reference, not in its stub or its public checks,
    long enough to be evidence. Found apart from grader.ci.release, which it checks."""
    references = [path.read_text() for path in sorted((ROOT / "solutions").glob("*.py"))]
    shown = [make_stub(source) for source in references]
    shown += [path.read_text() for path in (ROOT / "tests" / "checks" / "public").glob("*.py")]
    published = {line.strip() for text in shown for line in text.splitlines()}
    return {line.strip() for source in references for line in strip_markers(source).splitlines()
            if line.strip() not in published and len(line.strip()) >= 16}


def hidden_names() -> set[str]:
    names = {name for ex in load_course().exercises.values() for name in ex.hidden}
    names |= {line.split("def test_")[1].split("(")[0]
              for path in (ROOT / "tests" / "checks" / "hidden").glob("test_*.py")
              for line in path.read_text().splitlines() if line.startswith("def test_")}
    return names


def leaks_in(folder: Path) -> list[str]:
    code, hidden = solution_lines(), hidden_names()
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = path.read_text(errors="replace")
        found += [f"{path}: {line.strip()}" for line in text.splitlines() if line.strip() in code]
        found += [f"{path}: {name}" for name in hidden if name in text]
    return found


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("release") / "student"
    assert release_repo(repo) == 0
    return repo


def test_the_student_repository_has_what_students_need(released):
    course = load_course()
    for ex_id in course.exercises:
        stub = make_stub((ROOT / "solutions" / f"{ex_id}.py").read_text())
        assert (released / "exercises" / f"{ex_id}.py").read_text() == stub
        public = ROOT / "tests" / "checks" / "public" / f"test_{ex_id}.py"
        assert (released / "tests" / "checks" / "public" / public.name).read_bytes() == \
            public.read_bytes()
    for name in ("README.md", "pyproject.toml", "Makefile", ".gitignore", "tests/conftest.py",
                 ".github/workflows/autograde.yml", "grader/cli.py", "grader/ci/command.py"):
        assert (released / name).is_file(), name
    assert not (released / "solutions").exists()
    assert not (released / "tests" / "checks" / "hidden").exists()
    assert not list(released.rglob("__pycache__"))


def test_its_course_config_lists_the_public_checks_only(released):
    config = import_path(released / "course_config.py", "_released_course_config")
    course = load_course()
    assert list(config.EXERCISES) == list(course.exercises)
    for ex_id, spec in config.EXERCISES.items():
        assert "hidden" not in spec
        assert spec["public"] == course.exercises[ex_id].public
        assert spec["due"] == course.exercises[ex_id].due
    assert (config.SEED, config.COURSE_VERSION) == (course.seed, course.version)


def test_nothing_of_the_solutions_or_the_hidden_checks_is_in_it(released):
    assert solution_lines() and hidden_names()
    assert leaks_in(released) == []


def test_the_search_finds_a_leak_where_there_is_one(released, tmp_path):
    """The search above can fail: a copy with one line of a reference and one hidden check
    name is caught, by the test's search and by the release's own guard."""
    line = next(iter(sorted(solution_lines())))
    hidden = sorted(hidden_names())[0]
    (tmp_path / "leaky.py").write_text(f"    {line}\n# see test_{hidden}\n")
    assert len(leaks_in(tmp_path)) == 2
    files = student_repo_files(load_course())
    files["grader/leaky.py"] = (tmp_path / "leaky.py").read_bytes()
    leaks = find_leaks(files, load_course())
    assert any(leak.startswith("grader/leaky.py:1: reference code") for leak in leaks)
    assert f"grader/leaky.py: names the hidden check {hidden}" in leaks


def test_release_refuses_a_folder_that_is_not_empty(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    assert release_repo(tmp_path) == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_the_grader_runs_in_the_student_repository_without_hidden_checks(released):
    """`grader check --hidden` there runs what exists (the public checks), and pytest finds
    the student's exercises/ by default."""
    run = subprocess.run([str(GRADER), "check", "softmax_ce", "--hidden"], cwd=released,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stderr
    assert "not attempted" in run.stdout and "(hidden)" not in run.stdout
    assert "Traceback" not in run.stdout + run.stderr
    run = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-m", "pytest", "-q",
                          "tests/checks/public/test_linreg_gd.py"], cwd=released,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "NotImplementedError" in run.stdout and "solutions" not in run.stdout


def test_the_student_dependencies_are_enough_for_check_and_ci(released, tmp_path):
    """The student's pyproject lists fewer packages than the course's: `grader check` and
    `grader ci` run with the others made unimportable."""
    def names(pyproject: Path) -> set[str]:
        deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
        return {re.split(r"[<>=!~ \[]", dep)[0].lower() for dep in deps}

    left_out = names(ROOT / "pyproject.toml") - names(released / "pyproject.toml")
    assert {"pandas", "nbgrader", "jinja2"} <= left_out
    script = f"""
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {sorted(left_out)!r}:
            raise ImportError(name + " is not a dependency of the student repository")
sys.meta_path.insert(0, Block())
from grader.cli import main
assert main(["check", "xor_net"]) == 1
sys.exit(main(["ci", "--output", {str(tmp_path / "ci")!r}]))
"""
    run = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", script], cwd=released,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stdout[-2000:] + run.stderr
    assert "Traceback" not in run.stderr
    assert (tmp_path / "ci" / "junit.xml").is_file()
