"""Only the Hypothesis adapter reaches into Hypothesis, at the versions pyproject allows.

grader/authoring/hypothesis_compat.py is the only place that reaches into Hypothesis, and the
versions it supports are the ones pyproject.toml allows and the environment has."""

from __future__ import annotations

import ast
import importlib.metadata
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from grader.authoring import hypothesis_compat

ROOT = Path(__file__).resolve().parents[2]
ADAPTER = ROOT / "grader" / "authoring" / "hypothesis_compat.py"
PRIVATE_MODULES = ("hypothesis.internal", "hypothesis.configuration")
# Attributes Hypothesis puts on a test function, or on its `.hypothesis` handle.
PRIVATE_ATTRIBUTES = {"hypothesis", "inner_test", "_given_kwargs"}


def reaches_into_hypothesis(source: str) -> list[str]:
    """Every place in SOURCE that uses Hypothesis beyond its public API, as `line: what`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        if any(n.startswith(PRIVATE_MODULES) for n in names):
            found.append(f"{node.lineno}: imports {', '.join(names)}")
        if isinstance(node, ast.Attribute) and (
                node.attr.startswith("_hypothesis") or node.attr in PRIVATE_ATTRIBUTES) \
                and not (isinstance(node.value, ast.Name) and node.value.id == "hypothesis"):
            found.append(f"{node.lineno}: .{node.attr}")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                node.value.startswith("_hypothesis") or node.value == "DataObject"):
            found.append(f"{node.lineno}: {node.value!r}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in ("getattr", "setattr", "hasattr") and len(node.args) > 1 \
                and isinstance(node.args[1], ast.Constant) \
                and node.args[1].value in PRIVATE_ATTRIBUTES:
            found.append(f"{node.lineno}: {node.func.id}(..., {node.args[1].value!r})")
    return found


def test_the_detector_finds_each_way_of_reaching_in():
    source = '''
import hypothesis.internal.entropy
from hypothesis.internal.conjecture import providers
from hypothesis.configuration import set_hypothesis_home_dir
seed = fn._hypothesis_internal_use_seed
body = fn.hypothesis.inner_test
key = getattr(fn, "_hypothesis_internal_use_settings", None)
given = getattr(fn, "hypothesis", None)
data = type(value).__name__ == "DataObject"
'''
    lines = {int(f.split(":")[0]) for f in reaches_into_hypothesis(source)}
    assert lines == set(range(2, 10))
    public = '''
import hypothesis
from hypothesis import Phase, given, settings
from hypothesis.errors import Flaky
from hypothesis.extra import numpy as hnp
version = hypothesis.__version__
'''
    assert reaches_into_hypothesis(public) == []


def test_only_the_adapter_reaches_into_hypothesis():
    sources = [p for p in [*(ROOT / "grader").rglob("*.py"),
                           *(ROOT / "tests" / "checks").rglob("*.py")] if p != ADAPTER]
    assert len(sources) > 40
    found = {str(p.relative_to(ROOT)): f for p in sources
             if (f := reaches_into_hypothesis(p.read_text(encoding="utf-8")))}
    assert found == {}, "use grader.authoring.hypothesis_compat instead"
    assert reaches_into_hypothesis(ADAPTER.read_text(encoding="utf-8"))  # it does, itself


def test_the_supported_versions_are_pyprojects_and_installed():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pinned = [Requirement(d) for d in project["dependencies"]
              if Requirement(d).name == "hypothesis"]
    assert len(pinned) == 1
    assert pinned[0].specifier == SpecifierSet(hypothesis_compat.SUPPORTED)
    assert f"Hypothesis {hypothesis_compat.SUPPORTED}" in (hypothesis_compat.__doc__ or "")
    assert pinned[0].specifier.contains(importlib.metadata.version("hypothesis"))
    # An upper bound: another version draws other examples from the same seed.
    assert any(s.operator in ("<", "<=", "==", "~=") for s in pinned[0].specifier)
