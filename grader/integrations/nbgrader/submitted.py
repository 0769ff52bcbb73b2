"""Reading a submitted notebook, and taking the student's code out of it.

The secure path never runs a notebook as nbgrader does. It reads the JSON here (in the
trusted grader: it only parses text, it runs nothing) and keeps the student's code cells:
solution cells and the cells the student added. Our own cells are left out: the test cells
and the check cell (they import the grader, which the sandboxed worker does not have) and
the manually graded answers (read by a person in the formgrader, not by the checks); in the
student's cells, a line importing or calling the grader (a pasted `check(...)`) becomes
`pass`. The kept cells go, at their original cell numbers, into a small notebook that the
sandboxed worker runs (grader.grading.grade_class.grade_job), so load notes ("cell 7 raised ...")
point at the student's own cells. Outputs are dropped, so a notebook with huge outputs grades like
any other.

What a student did to the notebook's structure (deleted, duplicated, reordered or edited test
cells, stripped cell metadata) cannot change a score on this path: the checks run from the
course, not from the cells. It is reported, per exercise, as notes.
"""

from __future__ import annotations

import json
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.authoring.failures import LoadError

# Larger files are refused unread: a notebook's code is small, its outputs are dropped here.
MAX_READ_BYTES = 200 * 2**20
# Lines of a student's cell that call into the grader (a `check(...)` they pasted under their
# code): the worker has no grader to import, so these lines become `pass` there.
_GRADER_LINE = re.compile(
    r"^(?P<indent>[ \t]*)(from[ \t]+grader(\.\w+)*[ \t]+import\b.*|import[ \t]+grader\b.*"
    r"|(grader\.)?(check|run_checks)\(.*\)[ \t]*(#.*)?)$", re.M)


@dataclass(frozen=True)
class ReleasedCell:
    grade_id: str
    cell_type: str
    source: str
    metadata: dict
    kind: str  # "test" (autograder test), "answer" (graded by hand), "solution", "locked"


@dataclass
class Released:
    """The released notebook of an exercise: what every student started from."""

    notebook: nbformat.NotebookNode
    cells: dict[str, ReleasedCell] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> Released:
        return cls.from_notebook(nbformat.read(path, as_version=4))

    @classmethod
    def from_notebook(cls, notebook: nbformat.NotebookNode) -> Released:
        cells = {}
        for cell in notebook.cells:
            meta = cell.metadata.get("nbgrader", {})
            grade_id = meta.get("grade_id")
            if not grade_id:
                continue
            if meta.get("grade") and not meta.get("solution"):
                kind = "test"
            elif meta.get("grade"):
                kind = "answer"
            elif meta.get("solution"):
                kind = "solution"
            else:
                kind = "locked"
            cells[grade_id] = ReleasedCell(grade_id, cell.cell_type, cell.source,
                                           dict(meta), kind)
        return cls(notebook, cells)

    def ids(self, kind: str) -> list[str]:
        return [c.grade_id for c in self.cells.values() if c.kind == kind]


def read_submitted(path: Path) -> nbformat.NotebookNode:
    """A submitted notebook as nbformat 4 (older formats are upgraded). Raises LoadError
    (status bad_file) for what is not a notebook."""
    name = path.name
    try:
        size = path.stat().st_size
        if size > MAX_READ_BYTES:
            raise LoadError("bad_file", f"{name} is {size / 2**20:.0f} MiB, more than the "
                                        f"{MAX_READ_BYTES // 2**20} MiB a notebook may have.")
        raw = path.read_bytes()
    except OSError as e:
        raise LoadError("bad_file", f"{name} could not be read: {e.strerror}.") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise LoadError("bad_file", f"{name} is not UTF-8 text (byte {e.start}).") from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        raise LoadError("bad_file",
                        f"{name} is not a valid notebook: it is not JSON ({e}).") from None
    if not isinstance(data, dict) or not isinstance(data.get("nbformat"), int):
        raise LoadError("bad_file", f"{name} is not a valid notebook: it has no nbformat "
                                    "version.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbformat warns about old or odd notebooks
            notebook = nbformat.reads(text, as_version=4)
    except Exception as e:  # nbformat raises many kinds for malformed notebooks
        raise LoadError("bad_file", f"{name} is not a valid notebook: {type(e).__name__}: "
                                    f"{' '.join(str(e).split())[:160]}.") from None
    cells = notebook.get("cells")
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise LoadError("bad_file", f"{name} is not a valid notebook: it has no list of cells.")
    for cell in cells:  # what a hand-edited notebook may hold; nbformat does not refuse it
        if cell.get("cell_type") not in ("code", "markdown", "raw"):
            cell["cell_type"] = "raw"
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = nbformat.NotebookNode()
        cell["source"] = _text(cell.get("source"))
        if cell.get("cell_type") == "code" and not isinstance(cell.get("outputs"), list):
            cell["outputs"] = []
    return notebook


def _text(value: object) -> str:
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""


def grade_id_of(cell: dict) -> str | None:
    meta = cell.get("metadata")
    nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
    grade_id = nbg.get("grade_id") if isinstance(nbg, dict) else None
    return grade_id if isinstance(grade_id, str) else None


def is_ours(cell: dict, released: Released) -> bool:
    """Cells the course wrote and the student's code does not need: test cells, the check
    cell, answers graded by hand. Known by grade id, or, for a cell whose metadata was
    stripped, by being exactly a test or check cell of the released notebook."""
    grade_id = grade_id_of(cell)
    if grade_id in released.cells and released.cells[grade_id].kind in ("test", "locked",
                                                                        "answer"):
        return True
    source = _text(cell.get("source")).strip()
    return any(source == c.source.strip() for c in released.cells.values()
               if c.kind in ("test", "locked") and c.cell_type == "code")


def without_grader_calls(source: str) -> str:
    """SOURCE with its lines that import or call the grader replaced by `pass` (same
    indentation, same line numbers), so the rest of the cell runs in the worker."""
    return _GRADER_LINE.sub(lambda m: f"{m.group('indent')}pass", source)


def student_code(notebook: nbformat.NotebookNode, released: Released) -> bytes:
    """The notebook the worker runs: the student's code cells at their original numbers,
    every other cell emptied (so numbering stays), no outputs."""
    cells = []
    for cell in notebook.cells:
        if cell.get("cell_type") == "code" and not is_ours(cell, released):
            cells.append({"cell_type": "code",
                          "source": without_grader_calls(_text(cell.get("source"))),
                          "metadata": {}, "outputs": [], "execution_count": None})
        else:
            cells.append({"cell_type": "raw", "source": "", "metadata": {}})
    data = {"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": cells}
    return json.dumps(data).encode("utf-8")


def structure_notes(notebook: nbformat.NotebookNode, released: Released) -> list[str]:
    """What the student changed in the cells the course owns (none of it changes a score on
    the secure path; nbgrader's own path restores the cells from its database)."""
    notes = []
    ids = [grade_id_of(c) for c in notebook.cells]
    counts = Counter(i for i in ids if i)
    sources = {grade_id_of(c): _text(c.get("source")) for c in reversed(notebook.cells)}
    tests = released.ids("test")
    deleted = [t for t in tests if counts[t] == 0]
    duplicated = sorted(i for i, n in counts.items() if n > 1 and i in released.cells)
    edited = [t for t in tests if counts[t] and sources[t] != released.cells[t].source]
    present = list(dict.fromkeys(i for i in ids if i in tests))
    reordered = present != [t for t in tests if t in present]
    locked_sources = {released.cells[t].source for t in tests + released.ids("locked")}
    stripped = sum(1 for c in notebook.cells if grade_id_of(c) is None
                   and _text(c.get("source")) in locked_sources)
    unknown = sorted(i for i in counts if i not in released.cells)
    if deleted:
        notes.append(f"{len(deleted)} test cell(s) deleted ({_few(deleted)})")
    if duplicated:
        notes.append(f"cells duplicated ({_few(duplicated)}): the first of each counts")
    if edited:
        notes.append(f"{len(edited)} test cell(s) edited ({_few(edited)})")
    if reordered:
        notes.append("test cells reordered")
    if stripped:
        notes.append(f"{stripped} cell(s) of the course without their nbgrader metadata")
    if unknown:
        notes.append(f"cells with unknown grade ids ({_few(unknown)})")
    return notes


def _few(items: list[str], limit: int = 3) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def solution_states(notebook: nbformat.NotebookNode | None, released: Released,
                    checksums: dict[str, str]) -> dict[str, str]:
    """For each solution and answer cell (grade id): "unchanged" when the student's cell is
    still the released stub, "answered" when it differs, "absent" when it is not in the
    notebook. nbgrader's rule: the cell's checksum, computed with the course's metadata put
    back (never the student's), against the released one in CHECKSUMS. A missing or
    unreadable notebook counts as unchanged everywhere (nbgrader gives it zero throughout)."""
    from nbgrader.utils import compute_checksum

    ids = released.ids("solution") + released.ids("answer")
    if notebook is None:
        return dict.fromkeys(ids, "unchanged")
    first: dict[str, dict] = {}
    for cell in notebook.cells:
        grade_id = grade_id_of(cell)
        if grade_id in ids and grade_id not in first:
            first[grade_id] = cell
    states = {}
    for grade_id in ids:
        cell = first.get(grade_id)
        if cell is None:
            states[grade_id] = "absent"
            continue
        original = released.cells[grade_id]
        canonical = nbformat.NotebookNode({
            "cell_type": original.cell_type, "source": _text(cell.get("source")),
            "metadata": nbformat.NotebookNode({"nbgrader": nbformat.NotebookNode(
                original.metadata)})})
        expected = checksums.get(grade_id, original.metadata.get("checksum"))
        states[grade_id] = "unchanged" if compute_checksum(canonical) == expected \
            else "answered"
    return states
