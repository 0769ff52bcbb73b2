"""The autograded notebook the secure path leaves for nbgrader's formgrader and feedback.

nbgrader's formgrader and `nbgrader generate_feedback` read autograded/<student>/<assignment>/
<notebook>.ipynb and take the scores from the gradebook. The notebook written here is the
student's notebook cleaned as nbgrader's own autograde cleans it (outputs cleared, duplicate
grade ids reduced to the first, the course's cells restored from the released notebook,
missing graded cells added back at the end), with each test cell's output set to the
check's feedback (grader.integrations.nbgrader.feedback, the same text the kernel path prints).
Test cells keep their released source: a hidden test shows its one-line comment, never its code, and
its output is its statement only, so feedback reveals no hidden check source and no hidden input.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import nbformat

from grader.engine.results import CheckResult
from grader.integrations.nbgrader.feedback import cell_text
from grader.integrations.nbgrader.notebooks import check_of_grade_id
from grader.integrations.nbgrader.submitted import Released, grade_id_of


def autograded_notebook(student: nbformat.NotebookNode | None, released: Released,
                        results: Mapping[str, CheckResult], problem: str | None = None
                        ) -> nbformat.NotebookNode:
    """The notebook to show graders and students. STUDENT is None when the file was missing
    or unreadable (the released notebook stands in, with PROBLEM said at the top)."""
    nb = copy.deepcopy(student if student is not None else released.notebook)
    seen: set[str] = set()
    cells = []
    for cell in nb.cells:
        grade_id = grade_id_of(cell)
        if grade_id is not None and (grade_id in seen or grade_id not in released.cells):
            cell.metadata.pop("nbgrader", None)  # nbgrader does the same with these
            grade_id = None
        if grade_id is not None:
            seen.add(grade_id)
            cell = _restored(cell, released, grade_id)
        cells.append(_cleared(cell))
    for grade_id, original in released.cells.items():
        if grade_id not in seen and original.kind in ("test", "answer"):
            cells.append(_cleared(_from_released(released, grade_id)))
    for cell in cells:
        check = check_of_grade_id(grade_id_of(cell) or "")
        if check is not None and check in results and cell.cell_type == "code":
            cell.outputs = [_output(results[check])]
    if problem:
        cells.insert(0, nbformat.v4.new_markdown_cell(f"**Grading note:** {problem}"))
    ids: set[str] = set()
    for i, cell in enumerate(cells):
        if not _valid_id(cell.get("id")) or cell.get("id") in ids:
            cell["id"] = f"cell-{i}"
        ids.add(cell["id"])
    nb.cells = cells
    nb.nbformat, nb.nbformat_minor = 4, max(5, int(nb.get("nbformat_minor", 5) or 5))
    nb.metadata = released.notebook.metadata
    return nb


def _valid_id(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 64 and all(
        ch.isalnum() or ch in "-_" for ch in value)


def _restored(cell: nbformat.NotebookNode, released: Released,
              grade_id: str) -> nbformat.NotebookNode:
    """The course's metadata back on a graded or locked cell, and the released source on
    cells the student may not change (as nbgrader's OverwriteCells does)."""
    original = released.cells[grade_id]
    if original.kind in ("test", "locked"):
        return _from_released(released, grade_id, cell.get("id"))
    if cell.get("cell_type") != original.cell_type:  # keep the answer, in the right kind
        make = nbformat.v4.new_code_cell if original.cell_type == "code" \
            else nbformat.v4.new_markdown_cell
        cell = make(cell.get("source", ""))
    cell.metadata["nbgrader"] = dict(original.metadata)
    return cell


def _from_released(released: Released, grade_id: str,
                   cell_id: str | None = None) -> nbformat.NotebookNode:
    original = next(c for c in released.notebook.cells if grade_id_of(c) == grade_id)
    cell = copy.deepcopy(original)
    if cell_id:
        cell["id"] = cell_id
    return cell


def _cleared(cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
    if cell.get("cell_type") == "code":
        cell.outputs = []
        cell.execution_count = None
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)
    return cell


def _output(result: CheckResult) -> nbformat.NotebookNode:
    # The nodes nbformat.v4.new_output makes, without its schema validation of each one
    # (a third of building a class's notebooks); the test of the written notebooks validates.
    text = cell_text([result])
    if result.passed:
        return nbformat.NotebookNode(output_type="stream", name="stdout", text=text + "\n")
    lines = text.splitlines()
    return nbformat.NotebookNode(output_type="error", ename="CheckFailed", evalue=lines[0],
                                 traceback=lines)


def notebook_json(nb: nbformat.NotebookNode) -> str:
    """NB as `nbformat.writes` writes it, byte for byte, without validating it first: an
    autograded notebook is built here from notebooks already read and validated, and
    nbformat.writes only logs what its validation finds (a test validates what is written)."""
    return nbformat.v4.writes_json(nb)
