"""Notebooks a student would submit, made from a student's .py files (tests, benchmarks).

`fill_notebook` takes a released notebook and puts a student's module into it the way a
student works: each function or class replaces the released cell of the same name, the rest
of the module (imports, helpers) goes into one cell after the setup cell, and written answers
replace "YOUR ANSWER HERE". `write_submission` lays the notebooks out as `nbgrader collect`
does (submitted/<student>/<assignment>/, with timestamp.txt).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

import nbformat

from grader.integrations.nbgrader.notebooks import split_module


def fill_notebook(released: nbformat.NotebookNode, module_source: str | None,
                  answers: Mapping[str, str] | None = None) -> nbformat.NotebookNode:
    """A copy of RELEASED holding MODULE_SOURCE's definitions (None: left untouched) and the
    written ANSWERS (grade id -> cell source)."""
    nb = copy.deepcopy(released)
    answers = dict(answers or {})
    if module_source is not None:
        try:
            _, blocks = split_module(module_source)
        except SyntaxError:  # a broken file: the student pasted it whole into one cell
            blocks = []
            rest = [module_source]
        else:
            rest = []
        by_name = {b.name: b.source for b in blocks if b.name is not None}
        used: set[str] = set()
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            name = grade_id.removeprefix("solution_")
            if grade_id.startswith("solution_") and name in by_name:
                cell.source = by_name[name]
                used.add(name)
        rest = [b.source for b in blocks if b.name is None or b.name not in used] + rest
        setup = next((i for i, c in enumerate(nb.cells)
                      if c.cell_type == "code" and "nbgrader" not in c.metadata), None)
        if rest:
            cell = nbformat.v4.new_code_cell("\n\n\n".join(rest), id="student_code")
            nb.cells.insert((setup + 1) if setup is not None else 0, cell)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers.pop(grade_id)
    return nb


def write_submission(course_dir: Path, student: str, assignment: str,
                     notebooks: Mapping[str, nbformat.NotebookNode | bytes],
                     submitted_dir: str = "submitted") -> Path:
    """Write NOTEBOOKS (file name -> notebook, or raw bytes for broken files) where
    `nbgrader collect` puts a submission, with its timestamp.txt; returns the folder."""
    folder = Path(course_dir) / submitted_dir / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    for name, notebook in notebooks.items():
        data = notebook if isinstance(notebook, bytes) else nbformat.writes(notebook).encode()
        (folder / name).write_bytes(data)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f %Z")
    (folder / "timestamp.txt").write_text(stamp)
    return folder


def module_for(folder: Path, exercise_id: str) -> str | None:
    """A demo student's .py file for an exercise (in FOLDER or FOLDER/exercises), or None."""
    for where in (folder, folder / "exercises"):
        path = where / f"{exercise_id}.py"
        if path.is_file():
            return path.read_text()
    return None
