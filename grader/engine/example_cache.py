"""Known examples (grader.engine.replay) kept on disk, so a run loads them instead of drawing them.

Drawing every check's examples costs each grading process about 0.9 s, which is most of a
run's fixed start-up. What Hypothesis draws depends only on the check, its seed and settings,
and the versions of Hypothesis, NumPy and Python. All of those are in the key of a cache
entry: the key of the exercise whose check file it is (grader.engine.grader_key: its checks,
reference and settings, the grader modules and the two versions; the course-wide key for a
check module of no exercise), the Python version, the check's seed and its settings. Any
change therefore draws again, and a change to one exercise's checks draws only that
exercise's examples again: a stale entry is never used.

An entry is stored only when it reads back exactly as drawn: values are written with the
channel's exact-type encoding (grader.sandbox.runtime.protocol, no pickle), and decoded again and
compared by type, dtype, shape, strides, bytes and object identity before the file is written. A
file that is missing, unreadable or malformed is drawn again and rewritten; the cache can make
a run faster, never different.

Where: $GRADER_CACHE_DIR, else $XDG_CACHE_HOME/backprop-grader, else ~/.cache/backprop-grader
(a folder only its owner can enter). GRADER_CACHE_DIR="" turns the cache off. Workers never
see it (they see their submission only). Code that runs as the grader's own user could
write it, as it could write the course's checks: student code where isolation is degraded
to the grader's uid without namespaces, or in the kernels of nbgrader's own autograde.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import struct
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from grader.authoring import hypothesis_compat as compat
from grader.sandbox.runtime import protocol as P

FORMAT = 1
_IMPL = P.Ref("g", "implementation")  # the implementation's place in an example
# A cache file -> its entries (read once). Keyed by the file, whose name holds the key of the
# check module's exercise: another course (or seeding) reads its own file.
_files: dict[Path, dict[str, Any]] = {}


class Unstorable(Exception):
    """An example that would not read back exactly as drawn."""


def cache_dir() -> Path | None:
    """The cache folder, or None when the cache is off."""
    chosen = os.environ.get("GRADER_CACHE_DIR")
    if chosen is not None:
        return Path(chosen) if chosen else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "backprop-grader"


def lookup(fn: Callable[..., Any], placeholder: Any) -> tuple[dict[str, Any], ...] | None:
    """The stored examples of check `fn` (`placeholder` in the implementation's place),
    () for a check stored as not replayable, None when nothing usable is stored."""
    entry = _entries(fn.__module__).get(_entry_name(fn))
    if type(entry) is not dict or entry.get("check") != _check_key(fn):
        return None
    stored = entry.get("examples")
    if stored is None:
        return ()
    try:
        return tuple(_decode_example(tree, placeholder) for tree in stored)
    except (P.ProtocolError, TypeError, ValueError, KeyError, AttributeError):
        return None  # a damaged file: drawn again, and rewritten


def store(fn: Callable[..., Any], examples: tuple[dict[str, Any], ...],
          placeholder: Any) -> None:
    """Keep `examples` of check `fn` for later runs, if they read back exactly; failing to
    write is not an error (the next run draws them again)."""
    if cache_dir() is None:
        return  # nothing to keep them in: spare encoding and checking them
    try:
        trees = [_encode_example(e, placeholder) for e in examples]
        if any(not _same(_decode_example(t, placeholder), e) for t, e in zip(trees, examples)):
            return
    except (Unstorable, TypeError, P.ProtocolError):
        return
    entries = _entries(fn.__module__)
    entries[_entry_name(fn)] = {"check": _check_key(fn), "examples": trees if examples else None}
    _write(fn.__module__, entries)


# ---------------------------------------------------------------------------- files


def _file(module: str) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    from grader.engine.grader_key import check_file_key

    key = (f"known examples v{FORMAT}\n{check_file_key(_module_file(module))}\n{sys.version}\n"
           f"{platform.machine()}\n")
    digest = hashlib.sha256(f"{key}{module}".encode("utf-8", "surrogateescape")).hexdigest()
    return folder / f"known-examples-{digest[:32]}.json"


def _module_file(module: str) -> str | None:
    """Where the check module MODULE was loaded from (the registry imports each check file
    under a name of its own, grader.authoring.checks), None when unknown."""
    found = getattr(sys.modules.get(module), "__file__", None)
    return found if isinstance(found, str) else None


def _entries(module: str) -> dict[str, Any]:
    path = _file(module)
    if path is None:
        return {}
    entries = _files.get(path)
    if entries is None:
        entries = _files[path] = _read(path, module)
    return entries


def _read(path: Path, module: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeError):
        return {}
    if type(data) is not dict or data.get("format") != FORMAT or data.get("module") != module \
            or type(data.get("checks")) is not dict:
        return {}
    return data["checks"]


def _write(module: str, entries: dict[str, Any]) -> None:
    path = _file(module)
    if path is None:
        return
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Written whole, then renamed: a reader (another grading process) sees the old file
        # or the new one, never half of one.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".known-examples-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"format": FORMAT, "module": module, "checks": entries}, f)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass


def _entry_name(fn: Callable[..., Any]) -> str:
    """A check's entry, one per seed: students' fixed seed and the course secret's seed
    (instructor grading) each keep their examples."""
    return f"{fn.__qualname__}#{compat.seed_of(fn)}"


def _check_key(fn: Callable[..., Any]) -> str:
    """What the examples of `fn` depend on beyond the grader key: its seed, settings and
    strategies (their repr: two checks made by one factory share a name, not strategies)."""
    seed = compat.seed_of(fn)
    settings = compat.settings_of(fn)
    strategies = compat.strategies_of(fn)
    text = f"seed {seed!r}\n{settings!r}\n{strategies!r}"
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


# ---------------------------------------------------------------------------- values


def _encode_example(example: dict[str, Any], placeholder: Any) -> dict[str, Any]:
    def refer(value: Any) -> P.Ref:
        if value is placeholder:
            return _IMPL
        raise Unstorable(type(value).__name__)

    # One mirror per value: objects shared inside a value stay shared, as copy.deepcopy
    # (which replay uses on each value) keeps them.
    return {name: P.encode(value, P.Mirror("c"), refer) for name, value in example.items()}


def _decode_example(trees: dict[str, Any], placeholder: Any) -> dict[str, Any]:
    def resolve(ref: P.Ref) -> Any:
        if ref == _IMPL:
            return placeholder
        raise P.ProtocolError("unknown reference")

    if type(trees) is not dict:
        raise P.ProtocolError("an example is not a dict")
    return {name: P.decode(tree, P.Mirror("c"), resolve) for name, tree in trees.items()}


def _same(a: Any, b: Any) -> bool:
    """`a` and `b` are the same plain data: types, dtypes, shapes, strides, bits, and which
    objects inside them are one object."""
    return _same_values(a, b) and _identities(a) == _identities(b)


def _same_values(a: Any, b: Any) -> bool:
    t = type(a)
    if t is not type(b):
        return False
    if t is float:
        return struct.pack("<d", a) == struct.pack("<d", b)  # -0.0 and NaN's bits too
    if t is np.ndarray:
        return (a.dtype == b.dtype and a.shape == b.shape and a.strides == b.strides
                and a.flags.writeable == b.flags.writeable and a.tobytes() == b.tobytes())
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and a.tobytes() == b.tobytes()
    if t is list or t is tuple:
        return len(a) == len(b) and all(_same_values(x, y) for x, y in zip(a, b))
    if t is dict:
        return list(a) == list(b) and all(_same_values(a[k], b[k]) for k in a)
    return a is b or (t in (int, str, bool, type(None)) and a == b)


def _identities(value: Any) -> list[int]:
    """For each array, list and dict met walking `value`: the index of its first meeting."""
    first: dict[int, int] = {}
    out: list[int] = []

    def walk(v: Any) -> None:
        if type(v) in (np.ndarray, list, dict):
            out.append(first.setdefault(id(v), len(first)))
        if type(v) in (list, tuple):
            for x in v:
                walk(x)
        elif type(v) is dict:
            for x in v.values():
                walk(x)

    walk(value)
    return out
