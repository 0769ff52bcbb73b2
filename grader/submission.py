"""Finding a student's exercise file and loading it as an Implementation.

The contract: an exercise is `<id>.py` or `<id>.ipynb`, directly in the student's folder or in
its `exercises/` subfolder. A `.py` file runs as a module; a notebook runs cell by cell, and a
cell that fails is skipped with a note, as a student re-running their notebook would see.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from grader import notebook
from grader.failures import LoadError
from grader.handle import Implementation
from grader.limits import user_interrupted

MAX_SOURCE_BYTES = 2 * 1024 * 1024


def find_exercise_file(folder: Path, exercise_id: str) -> Path | None:
    for where in (folder, folder / "exercises"):
        for suffix in (".py", ".ipynb"):
            candidate = where / f"{exercise_id}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def load(path: Path, exercise_id: str) -> Implementation:
    """Run the student's file and return a handle on what it defines. Raises LoadError."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise LoadError("error", f"{path.name} could not be read: {e.strerror}.") from None
    namespace: dict[str, Any] = {"__name__": f"submission_{exercise_id}",
                                 "__file__": str(path), "__builtins__": __builtins__}
    with _student_import_context(path.parent):
        if path.suffix == ".ipynb":
            notes = _run_notebook(raw, path.name, namespace)
        else:
            _run_module(raw, path, namespace)
            notes = []
    return Implementation(exercise_id, namespace, source_file=str(path), notes=notes)


def _run_module(raw: bytes, path: Path, namespace: dict[str, Any]) -> None:
    if len(raw) > MAX_SOURCE_BYTES:
        raise LoadError("error", f"{path.name} is larger than {MAX_SOURCE_BYTES // 2**20} MiB.")
    try:
        code = compile(raw, str(path), "exec", dont_inherit=True)
    except SyntaxError as e:
        if "utf-8" in str(e.msg).lower() or "decode" in str(e.msg).lower():
            raise LoadError("error", f"{path.name} is not UTF-8 text: {e.msg}.") from None
        raise LoadError("error", f"{path.name} has a syntax error at line {e.lineno}: "
                                 f"{e.msg}.") from None
    except (ValueError, RecursionError, MemoryError) as e:
        raise LoadError("error", f"{path.name} cannot be compiled: {e}.") from None
    try:
        exec(code, namespace)
    except NotImplementedError:
        pass  # a stub that raises at import time defines nothing more; checks say "not attempted"
    except (Exception, SystemExit, GeneratorExit, KeyboardInterrupt) as e:
        if isinstance(e, KeyboardInterrupt) and user_interrupted():
            raise
        line = _student_line(e, str(path))
        raise LoadError("error", f"importing {path.name} raised {type(e).__name__}: "
                                 f"{_short(str(e))}{line}.") from None


def _run_notebook(raw: bytes, name: str, namespace: dict[str, Any]) -> list[str]:
    notes = []
    shell = notebook.QuietShell(namespace)
    namespace["get_ipython"] = lambda: shell
    for cell in notebook.code_cells(raw, name):
        filename = f"<cell {cell.index} of {name}>"
        try:
            code = compile(cell.source, filename, "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as e:
            notes.append(f"cell {cell.index} of {name} has a syntax error and was skipped: "
                         f"{getattr(e, 'msg', e)}.")
            continue
        try:
            exec(code, namespace)
        except NotImplementedError:
            continue
        except (Exception, SystemExit, GeneratorExit, KeyboardInterrupt) as e:
            if isinstance(e, KeyboardInterrupt) and user_interrupted():
                raise
            notes.append(f"cell {cell.index} of {name} raised {type(e).__name__} and was "
                         f"skipped: {_short(str(e))}.")
    return notes


@contextlib.contextmanager
def _student_import_context(folder: Path) -> Iterator[None]:
    """Let the student's file import its sibling modules, and forget them afterwards.

    Nothing of one student's code may stay importable for the next one.
    """
    from grader import local_check

    before = set(sys.modules)
    sys.path.insert(0, str(folder))
    saved_argv, saved_cwd = list(sys.argv), os.getcwd()
    os.environ.setdefault("MPLBACKEND", "Agg")
    token = local_check.LOADING.set(True)
    sink = io.StringIO()  # what the student's file prints while it loads is not feedback
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink), \
                contextlib.redirect_stderr(sink):
            warnings.simplefilter("ignore")
            yield
    finally:
        local_check.LOADING.reset(token)
        with contextlib.suppress(ValueError):
            sys.path.remove(str(folder))
        sys.argv[:] = saved_argv
        with contextlib.suppress(OSError):
            os.chdir(saved_cwd)
        for name in set(sys.modules) - before:
            file = getattr(sys.modules[name], "__file__", None) or ""
            if file.startswith(str(folder)):
                del sys.modules[name]


def _student_line(error: BaseException, filename: str) -> str:
    tb = error.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f" (line {line})" if line else ""


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
