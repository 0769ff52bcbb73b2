"""The check registry, and the promise that public checks never need solutions/."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from grader.authoring.checks import checks_for
from grader.course.model import load_course
from grader.course.stubs import strip_markers

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = ROOT / "tests" / "checks" / "public"
PYTHON = ROOT / ".venv" / "bin" / "python"
FORBIDDEN_NAMES = {"reference", "solutions", "solutions_dir", "import_path", "importlib",
                   "__import__", "runpy"}
FORBIDDEN_WORDS = ("reference", "solutions")


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _forbidden_uses(source: str) -> list[str]:
    """Names, imports and string literals (not docstrings or comments) that reach solutions/."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            found.append(f"name {node.id}")
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_NAMES:
            found.append(f"attribute .{node.attr}")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names = [a.name for a in node.names] + [a.asname or "" for a in node.names]
            for word in modules + names:
                if set(word.split(".")) & FORBIDDEN_NAMES:
                    found.append(f"import {word}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings:
            if any(w in node.value.lower() for w in FORBIDDEN_WORDS):
                found.append(f"string {node.value[:40]!r}")
    return found


def test_the_static_scan_catches_a_reference_import():
    assert _forbidden_uses("from grader.course.model import reference\nref = reference('x')\n")
    assert _forbidden_uses("import grader.course.model as c\nc.reference('x')\n")
    assert _forbidden_uses("p = 'solutions/softmax_ce.py'\n")
    assert _forbidden_uses('"""Docstring: no reference needed."""\nimport numpy as np\n') == []


@pytest.mark.parametrize("path", sorted(PUBLIC.glob("*.py")), ids=lambda p: p.name)
def test_public_check_files_do_not_mention_the_reference_or_solutions(path):
    assert _forbidden_uses(path.read_text()) == []


def test_every_exercise_has_a_public_check_file():
    files = {p.stem.removeprefix("test_") for p in PUBLIC.glob("test_*.py")}
    assert files >= set(load_course().exercises)


def test_checks_for_returns_public_then_hidden_with_config_points():
    exercise = load_course().exercise("softmax_ce")
    public = checks_for("softmax_ce", include_hidden=False)
    both = checks_for("softmax_ce", include_hidden=True)
    assert [(c.name, c.statement, c.points) for c in both[: len(public)]] == \
        [(c.name, c.statement, c.points) for c in public]
    assert not any(c.hidden for c in public) and all(c.hidden for c in both[len(public):])
    assert {c.name: c.points for c in both} == {**exercise.public, **exercise.hidden}
    assert all(c.id == f"softmax_ce::{c.name}" for c in both)


def test_public_checks_run_without_solutions(tmp_path):
    course = tmp_path / "course"
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis", "*.pyc")
    for folder in ("grader", "tests", "exercises"):
        shutil.copytree(ROOT / folder, course / folder, ignore=ignore)
    for name in ("course_config.py", "pyproject.toml"):
        shutil.copy2(ROOT / name, course / name)
    assert not (course / "solutions").exists()
    student = tmp_path / "student"
    student.mkdir()
    (student / "softmax_ce.py").write_text(
        strip_markers((ROOT / "solutions" / "softmax_ce.py").read_text()))
    env = {**os.environ, "GRADER_COURSE_ROOT": str(course)}
    run = subprocess.run([str(PYTHON), "-m", "grader", "check", "softmax_ce",
                          "--submission", str(student)],
                         cwd=course, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    points = sum(load_course().exercise("softmax_ce").public.values())
    assert f"{points:g}/{points:g} points: all checks passed." in run.stdout
    assert "(hidden)" not in run.stdout
    assert str(student / "softmax_ce.py") in run.stdout
    assert not (course / "solutions").exists()
