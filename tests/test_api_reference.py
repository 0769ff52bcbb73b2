"""docs/authoring.md's API index is current with grader.authoring, every public name has a
section, and every `>>>` example of the guide runs as shown against the code.

`tools/api_reference.py` runs as the command it is.
"""

from __future__ import annotations

import doctest
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import grader.authoring

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "authoring.md"
TOOL = ROOT / "tools" / "api_reference.py"


def _tool(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)


def test_the_index_in_the_guide_is_current() -> None:
    done = _tool("--check")
    assert done.returncode == 0, done.stderr


def test_a_stale_index_is_named_and_rewritten_between_the_markers_only(tmp_path: Path) -> None:
    text = GUIDE.read_text(encoding="utf-8")
    stale = text.replace("`expect_close(observed, expected, *, what,",
                         "`expect_close(observed, expected, what,", 1)
    assert stale != text
    guide = tmp_path / "authoring.md"
    guide.write_text(stale + "\nA person's closing line.\n", encoding="utf-8")

    checked = _tool("--check", str(guide))
    assert checked.returncode == 1
    assert checked.stderr.count("\n") == 1 and "run `.venv/bin/python tools/api_reference.py`" \
        in checked.stderr
    assert guide.read_text(encoding="utf-8") == stale + "\nA person's closing line.\n"

    assert _tool(str(guide)).returncode == 0
    assert guide.read_text(encoding="utf-8") == text + "\nA person's closing line.\n"
    assert _tool("--check", str(guide)).returncode == 0


def test_a_guide_without_markers_is_refused_in_one_line(tmp_path: Path) -> None:
    guide = tmp_path / "authoring.md"
    guide.write_text("# Notes\n", encoding="utf-8")
    done = _tool(str(guide))
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert guide.read_text(encoding="utf-8") == "# Notes\n"


def test_every_public_name_has_a_section_with_its_use() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    headings = re.findall(r"^#### `(\w+)`$", text, flags=re.MULTILINE)
    assert sorted(headings) == sorted(grader.authoring.__all__)


def test_every_example_of_the_guide_runs_as_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    # Run from the course root: `reference(...)` in an example loads this course.
    monkeypatch.chdir(ROOT)
    result = doctest.testfile(str(GUIDE), module_relative=False,
                              optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted >= 40
    assert result.failed == 0
