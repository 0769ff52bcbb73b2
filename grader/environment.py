"""The lock file, and whether the packages installed here are the ones it pins.

Trust role: none towards students. It reads the lock file of the project the grader package
comes from (`requirements.lock` next to `grader/`: the instructor's repository, or a student
repository from `grader release repo`, which ships its own) and the metadata of the
installed distributions, and says in one line which lock graded a row and whether this
environment differs from it. Derandomized Hypothesis draws other examples under another
version, and NumPy's rounding can move a result across a tolerance, so a result is only
reproducible in the environment the lock describes: `grader grade` records `lock_state().text`
with every row, hashes it into the grader key, and warns loudly when the installed versions
differ (`warning()`).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import grader

LOCK_NAME = "requirements.lock"
# The student repository's lock of its `jupyter` extra (`make jupyter`): the same pins plus
# JupyterLab, its kernel and matplotlib.
JUPYTER_LOCK_NAME = "requirements-jupyter.lock"
# How to get the locked versions, for the warning: `make setup` in the instructor's repository
# (tools/bootstrap.sh) and in a student repository (its Makefile) both install from the lock.
INSTALL_HINT = ("run `make setup` (or `python -m pip install --require-hashes -r "
                f"{LOCK_NAME}`) to install the locked versions")

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)\s*(?:;([^\\]*))?")


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares names: `Jinja2` and `jinja2` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_path() -> Path:
    """The lock of the project the grader package comes from."""
    return Path(grader.__file__).resolve().parent.parent / LOCK_NAME


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    marker: str  # "" when the pin applies everywhere


def read_pins(text: str) -> list[Pin]:
    """The `name==version ; marker` lines of a pip requirements file (hash lines, comments and
    options skipped), in file order."""
    pins = []
    for line in text.splitlines():
        match = _PIN.match(line.strip())
        if match:
            pins.append(Pin(normalize(match[1]), match[2], (match[3] or "").strip()))
    return pins


def applies_here(marker: str) -> bool:
    """Whether a pin's environment marker holds for this interpreter and platform."""
    if not marker:
        return True
    from packaging.markers import Marker  # pytest's dependency, so always installed

    return Marker(marker).evaluate()


def installed_versions() -> dict[str, str]:
    """{normalized name: version} of every installed distribution, the one first on sys.path
    winning as it does for imports."""
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(normalize(name), dist.version)
    return found


def _same_version(a: str, b: str) -> bool:
    if a == b:
        return True
    from packaging.version import InvalidVersion, Version

    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return False


@dataclass(frozen=True)
class LockState:
    """Which lock describes this environment and where the environment departs from it."""

    path: Path
    sha256: str | None  # None: there is no lock file
    differences: list[str] = field(default_factory=list)

    @property
    def as_locked(self) -> bool:
        return self.sha256 is not None and not self.differences

    @property
    def text(self) -> str:
        """What the gradebook records in its `lock` column."""
        if self.sha256 is None:
            return f"no {LOCK_NAME}: versions unlocked"
        head = f"{LOCK_NAME} sha256:{self.sha256[:16]}"
        if not self.differences:
            return head
        return f"{head}; NOT AS LOCKED: {', '.join(self.differences)}"

    def warning(self) -> str | None:
        """One loud line for the start of a grading run, or None when all is as locked."""
        if self.as_locked:
            return None
        if self.sha256 is None:
            return (f"grader: WARNING: no {self.path}: the package versions are not locked, so "
                    "another machine may draw other examples and grade differently.")
        return (f"grader: WARNING: the installed packages differ from {self.path} "
                f"({', '.join(self.differences)}): examples and results may differ from other "
                f"machines'; {INSTALL_HINT}.")


def check_environment(lock: Path, installed: dict[str, str] | None = None) -> LockState:
    """Compare the installed distributions with the pins of LOCK that apply here: a locked
    package that is missing or at another version is a difference. Packages the lock does not
    name (installed by hand next to it) are not: they cannot change what the locked ones do."""
    try:
        data = lock.read_bytes()
    except OSError:
        return LockState(lock, None)
    installed = installed_versions() if installed is None else installed
    differences = []
    for pin in read_pins(data.decode("utf-8", "replace")):
        if not applies_here(pin.marker):
            continue
        have = installed.get(pin.name)
        if have is None:
            differences.append(f"{pin.name} not installed, {pin.version} locked")
        elif not _same_version(have, pin.version):
            differences.append(f"{pin.name} {have} installed, {pin.version} locked")
    return LockState(lock, hashlib.sha256(data).hexdigest(), differences)


@cache
def lock_state() -> LockState:
    """This environment against the lock, computed once per process: a run is graded by the
    environment it started with."""
    return check_environment(lock_path())


def warn_if_not_locked() -> None:
    """At the start of a grading run: one line on stderr when the environment is not the
    locked one, so nobody grades a class with other versions unawares."""
    import sys

    warning = lock_state().warning()
    if warning:
        print(warning, file=sys.stderr, flush=True)


def summary_line(rows: list[dict]) -> str:
    """`Lock: ...` for the end of a grading run: every lock state the gradebook's rows
    record (rows graded before the `lock` column existed record none)."""
    states = sorted({str(r.get("lock")) for r in rows if r.get("lock")})
    return f"Lock: {'; '.join(states) or '-'}"


def locked_version(package: str, lock: Path | None = None) -> str | None:
    """The version LOCK pins for PACKAGE here, or None."""
    try:
        text = (lock or lock_path()).read_text(encoding="utf-8")
    except OSError:
        return None
    for pin in read_pins(text):
        if pin.name == normalize(package) and applies_here(pin.marker):
            return pin.version
    return None


def main() -> int:
    """`python -m grader.environment`: the lock state, exit 1 when not as locked."""
    state = lock_state()
    print(state.text)
    warning = state.warning()
    if warning:
        print(warning)
    return 0 if state.as_locked else 1


if __name__ == "__main__":
    raise SystemExit(main())
