"""Turning a student's notebook into plain Python cells.

IPython syntax (`%matplotlib inline`, `!pip install ...`, `%%time`) becomes ordinary calls on
`get_ipython()`, which during loading is a quiet stand-in shell
(grader.sandbox.runtime.loading.QuietShell).
This runs in the grader: it only reads JSON and rewrites text, it never runs the cells.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from grader.sandbox.runtime.loading import LoadError

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Cell:
    index: int
    source: str  # plain Python


def code_cells(raw: bytes, name: str) -> list[Cell]:
    """The code cells of a notebook file, as Python source. Raises LoadError if unreadable."""
    if len(raw) > MAX_NOTEBOOK_BYTES:
        raise LoadError("bad_file", f"{name} is larger than {MAX_NOTEBOOK_BYTES // 2**20} MiB: "
                                    "clear its outputs (Edit > Clear All Outputs), save it and "
                                    "submit it again.")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise LoadError("bad_file", f"{name} is not UTF-8 text (byte {e.start}).") from None
    except RecursionError:
        raise LoadError("bad_file", f"{name} is not a valid notebook: its JSON is nested too "
                                    "deeply.") from None
    except json.JSONDecodeError as e:
        raise LoadError("bad_file",
                        f"{name} is not a valid notebook: it is not JSON ({e}).") from None
    cells = data.get("cells") if isinstance(data, dict) else None
    worksheets = data.get("worksheets") if isinstance(data, dict) else None
    if cells is None and isinstance(worksheets, list) and all(
            isinstance(ws, dict) and isinstance(ws.get("cells", []), list) for ws in worksheets):
        cells = [c for ws in worksheets for c in ws.get("cells", [])]  # nbformat 3
    if not isinstance(cells, list):
        raise LoadError("bad_file", f"{name} is not a valid notebook: it has no list of cells.")
    out = []
    for i, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", cell.get("input", ""))
        if isinstance(source, list):
            source = "".join(s for s in source if isinstance(s, str))
        if not isinstance(source, str):
            continue
        out.append(Cell(i, _to_python(source)))
    return out


def _to_python(source: str) -> str:
    if "%" not in source and "!" not in source:
        return source
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # leave it to the compiler to report the syntax error
        return source
