"""Running a student's code and describing what it did: the part shared by both engines.

The in-process engine (`grader check`) and the worker of the sandboxed engine both use this
module, so a submission loads and fails the same way in each. It imports only the standard
library: the worker runs it next to student code, away from the rest of the grader.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tokenize
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

MAX_SOURCE_BYTES = 2 * 1024 * 1024
_BODY_RUNNING_CELL_MAGICS = {"time", "timeit", "capture", "prun"}


class LoadError(Exception):
    """A student's exercise file could not be turned into code to check."""

    def __init__(self, status: str, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


def short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def run_source(raw: bytes, filename: str, display_name: str, namespace: dict[str, Any],
               interrupted: Callable[[], bool] = lambda: False) -> None:
    """Compile and run a .py file's bytes in `namespace`. Raises LoadError."""
    if len(raw) > MAX_SOURCE_BYTES:
        raise LoadError("bad_file", f"{display_name} is larger than "
                                 f"{MAX_SOURCE_BYTES // 2**20} MiB.")
    _check_encoding(raw, display_name)
    try:
        code = compile(raw, filename, "exec", dont_inherit=True)
    except SyntaxError as e:
        if "utf-8" in str(e.msg).lower() or "decode" in str(e.msg).lower():
            raise LoadError("bad_file", f"{display_name} is not UTF-8 text: {e.msg}.") from None
        raise LoadError("error", f"{display_name} has a syntax error at line {e.lineno}: "
                                 f"{e.msg}.") from None
    except (ValueError, RecursionError, MemoryError) as e:
        raise LoadError("bad_file", f"{display_name} cannot be compiled: {short(e)}.") from None
    try:
        exec(code, namespace)
    except NotImplementedError:
        pass  # a stub that raises at import time defines nothing more; checks say "not attempted"
    except (Exception, SystemExit, GeneratorExit, KeyboardInterrupt) as e:
        if isinstance(e, KeyboardInterrupt) and interrupted():
            raise
        line = student_line(e, filename)
        raise LoadError("error", f"importing {display_name} raised {type(e).__name__}: "
                                 f"{short(e)}{f' (line {line})' if line else ''}.") from None


def _check_encoding(raw: bytes, display_name: str) -> None:
    """Refuse a file Python itself would refuse to run: compile() lets bytes that are not
    UTF-8 through in comments, `python file.py` does not. UTF-8 unless the file declares
    another encoding (PEP 263), as Python reads it."""
    try:
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
        except SyntaxError:  # also what a first line that is not UTF-8 gets: find its byte
            raw.decode("utf-8")
            raise
        raw.decode(encoding)
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise LoadError("bad_file", f"{display_name} is not UTF-8 text (byte 0x{raw[e.start]:02x} "
                                    f"on line {line}): Python refuses to run it. Save the file "
                                    "as UTF-8.") from None
    except (SyntaxError, LookupError) as e:  # a malformed or unknown encoding declaration
        raise LoadError("bad_file", f"{display_name} declares an encoding Python cannot use: "
                                    f"{short(e)}.") from None


def run_cells(cells: list[tuple[int, str]], name: str, namespace: dict[str, Any],
              interrupted: Callable[[], bool] = lambda: False) -> list[str]:
    """Run a notebook's code cells (already plain Python) one by one; a failing cell is
    skipped with a note, as when a student re-runs their notebook."""
    notes = []
    shell = QuietShell(namespace)
    namespace["get_ipython"] = lambda: shell
    for index, source in cells:
        try:
            code = compile(source, f"<cell {index} of {name}>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as e:
            notes.append(f"cell {index} of {name} has a syntax error and was skipped: "
                         f"{getattr(e, 'msg', e)}.")
            continue
        try:
            exec(code, namespace)
        except NotImplementedError:
            continue
        except (Exception, SystemExit, GeneratorExit, KeyboardInterrupt) as e:
            if isinstance(e, KeyboardInterrupt) and interrupted():
                raise
            notes.append(f"cell {index} of {name} raised {type(e).__name__} and was "
                         f"skipped: {short(e)}.")
    return notes


class QuietShell:
    """What `get_ipython()` returns while a notebook is loaded for grading: magics do
    nothing, except that the bodies of `%%time`, `%%timeit` and `%%capture` cells run once."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self._namespace = namespace

    def run_line_magic(self, name: str, line: str, *args: Any, **kwargs: Any) -> None:
        return None

    def run_cell_magic(self, name: str, line: str, body: str, *args: Any, **kwargs: Any) -> None:
        if name in _BODY_RUNNING_CELL_MAGICS:
            exec(compile(body, f"<cell magic %%{name}>", "exec"), self._namespace)
        return None

    def system(self, command: str, *args: Any, **kwargs: Any) -> None:
        return None

    def getoutput(self, command: str, *args: Any, **kwargs: Any) -> list[str]:
        return []

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


@contextlib.contextmanager
def student_import_context(folder: Path) -> Iterator[None]:
    """Let the student's file import its sibling modules, and forget them afterwards.

    Nothing of one student's code may stay importable for the next one; what the file
    prints while it loads is not feedback.
    """
    before = set(sys.modules)
    sys.path.insert(0, str(folder))
    saved_argv, saved_cwd = list(sys.argv), os.getcwd()
    os.environ.setdefault("MPLBACKEND", "Agg")
    sink = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink), \
                contextlib.redirect_stderr(sink):
            warnings.simplefilter("ignore")
            yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(folder))
        sys.argv[:] = saved_argv
        with contextlib.suppress(OSError):
            os.chdir(saved_cwd)
        for name in set(sys.modules) - before:
            file = getattr(sys.modules[name], "__file__", None) or ""
            if file.startswith(str(folder)):
                del sys.modules[name]


def student_line(error: BaseException, filename: str) -> int | None:
    tb = error.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def describe_exception(label: str, error: BaseException, source_file: str,
                       boundary_frames: int = 1) -> dict[str, Any]:
    """Plain data describing how a call into student code failed.

    `boundary_frames` is how many frames of ours sit above the student's code in the
    traceback: a TypeError with nothing below them failed while binding the arguments,
    which means the signature does not match the contract.
    """
    if isinstance(error, NotImplementedError):
        return {"kind": "not_attempted", "function": label}
    frames = traceback.extract_tb(error.__traceback__)
    where = None
    for frame in reversed(frames):
        if (source_file and frame.filename == source_file) or frame.filename.startswith("<cell"):
            where = f"line {frame.lineno}, in {frame.name}"
            break
    if isinstance(error, SystemExit):
        return {"kind": "error", "function": label, "type": "RuntimeError",
                "text": f"called sys.exit({short(repr(error.code), 40)})", "where": where,
                "signature_mismatch": False}
    return {"kind": "error", "function": label, "type": type(error).__name__,
            "text": short(error, 300), "where": where,
            "signature_mismatch": isinstance(error, TypeError) and len(frames) <= boundary_frames}
