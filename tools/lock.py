"""The lock files: `make lock` writes them, `make test` checks they are current.

    python tools/lock.py compile [--upgrade]   # `make lock` (`make lock UPGRADE=1`)
    python tools/lock.py check                 # part of `make test`; exit 1 with one line

Two locks, both pip requirements files with a sha256 for every file of every pinned version:

- `requirements.lock`, from pyproject.toml (dependencies and the `dev` extra): what
  tools/bootstrap.sh (`make`) and the instructor's workflow install.
- `grader/integrations/ci/templates/student/requirements.lock`, from the dependencies of the student
  repository's pyproject (templates/student/pyproject.toml.j2), resolved with the first lock's
  versions as constraints: `grader release repo` ships it, and the student's Makefile and
  workflow install from it. A student's CI thus runs the very Hypothesis and NumPy the
  instructor grades with.

The resolution is universal (one file for Linux, macOS and Windows and every Python the
project accepts) with uv's `fewest` fork strategy: one version of each package for all of
them, where uv's default would pick, say, a newer NumPy for newer Pythons, and the same
submission would then be graded with other examples on another machine.

Each lock starts with the inputs it was compiled from; `check` compares them with the inputs
of now and needs no network. Trust role: a maintainer's tool; it runs no student code.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.environment import JUPYTER_LOCK_NAME, LOCK_NAME, read_pins  # noqa: E402

LOCK = ROOT / LOCK_NAME
STUDENT_TEMPLATE = (ROOT / "grader" / "integrations" / "ci" / "templates" / "student"
                    / "pyproject.toml.j2")
STUDENT_LOCK = STUDENT_TEMPLATE.parent / LOCK_NAME
# The student repository's `jupyter` extra (`make jupyter`), locked apart: the checks and CI
# install STUDENT_LOCK alone, without JupyterLab.
JUPYTER_LOCK = STUDENT_TEMPLATE.parent / JUPYTER_LOCK_NAME
INPUT = "#   input: "
FIX = "run `make lock` to update the lock"


def main_inputs(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    return [f"requires-python {project['requires-python']}",
            *project["dependencies"],
            *(f"[dev] {dep}" for dep in project.get("optional-dependencies", {}).get("dev", []))]


def student_inputs(template: Path = STUDENT_TEMPLATE, lock: Path = LOCK) -> list[str]:
    """The student pyproject's requirements, rendered as `grader release repo` renders them
    (Hypothesis pinned to the version of the instructor's lock)."""
    import jinja2

    env = jinja2.Environment(undefined=jinja2.ChainableUndefined, keep_trailing_newline=True)
    env.filters["toml"] = lambda text: json.dumps(str(text), ensure_ascii=False)
    hypothesis = next((p.version for p in read_pins(_read(lock)) if p.name == "hypothesis"), "")
    text = env.from_string(template.read_text(encoding="utf-8")).render(
        hypothesis_version=hypothesis)
    project = tomllib.loads(text)["project"]
    return [f"requires-python {project['requires-python']}", *project["dependencies"]]


def jupyter_inputs(template: Path = STUDENT_TEMPLATE, lock: Path = LOCK) -> list[str]:
    """The student pyproject's requirements and its `jupyter` extra (marked `[jupyter]`)."""
    import jinja2

    env = jinja2.Environment(undefined=jinja2.ChainableUndefined, keep_trailing_newline=True)
    env.filters["toml"] = lambda text: json.dumps(str(text), ensure_ascii=False)
    project = tomllib.loads(env.from_string(template.read_text(encoding="utf-8")).render(
        hypothesis_version=""))["project"]
    extra = project.get("optional-dependencies", {}).get("jupyter", [])
    return [*student_inputs(template, lock), *(f"[jupyter] {dep}" for dep in extra)]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def recorded_inputs(lock_text: str) -> list[str]:
    return [line[len(INPUT):] for line in lock_text.splitlines() if line.startswith(INPUT)]


def _header(source: str, inputs: list[str]) -> str:
    return "".join([f"# Locked by `make lock` (tools/lock.py) from {source}.\n",
                    "# `make test` fails while these inputs differ from the ones there now:\n",
                    *(f"{INPUT}{item}\n" for item in inputs)])


def staleness(lock: Path, inputs: list[str], source: str) -> str | None:
    """One line saying why LOCK does not match INPUTS (None when it does)."""
    rel = lock.relative_to(ROOT) if lock.is_relative_to(ROOT) else lock
    text = _read(lock)
    if not text:
        return f"{rel} is missing: {FIX}."
    recorded = recorded_inputs(text)
    if recorded == inputs:
        return None
    added = [i for i in inputs if i not in recorded]
    removed = [i for i in recorded if i not in inputs]
    what = "; ".join(part for part in (f"added {', '.join(added)}" if added else "",
                                       f"removed {', '.join(removed)}" if removed else "")
                     if part) or "reordered"
    return f"{rel} is out of date with {source} ({what}): {FIX}."


def check() -> list[str]:
    main_problem = staleness(LOCK, main_inputs(), "pyproject.toml")
    if main_problem:  # the student lock derives from it: one line, one fix for both
        return [main_problem]
    template = str(STUDENT_TEMPLATE.relative_to(ROOT))
    problems = [staleness(STUDENT_LOCK, student_inputs(), template)]
    if not problems[0]:  # the Jupyter lock holds the student lock's inputs too: one line
        problems.append(staleness(JUPYTER_LOCK, jupyter_inputs(), template))
    main: dict[str, set[str]] = {}
    for pin in read_pins(_read(LOCK)):
        main.setdefault(pin.name, set()).add(pin.version)
    for lock in (STUDENT_LOCK, JUPYTER_LOCK):
        drift = [f"{p.name} {p.version} (instructor's lock: {', '.join(sorted(main[p.name]))})"
                 for p in read_pins(_read(lock))
                 if p.name in main and p.version not in main[p.name]]
        if drift and not any(problems):
            problems.append(f"{lock.relative_to(ROOT)} pins other versions than "
                            f"{LOCK_NAME} ({', '.join(drift)}): {FIX}.")
    return [p for p in problems if p]


def _uv() -> str:
    here = Path(sys.executable).parent / "uv"
    found = str(here) if here.exists() else shutil.which("uv")
    if not found:
        raise SystemExit("lock: uv is not installed; run `make setup` (it installs the dev "
                         "tools, uv among them) and then `make lock`.")
    return found


def _python_version(inputs: list[str]) -> str:
    match = re.search(r">=\s*(\d+\.\d+)", inputs[0])
    if not match:
        raise SystemExit(f"lock: cannot read the lowest Python from {inputs[0]!r}")
    return match[1]


def _compile(sources: list[str], output: Path, inputs: list[str], source: str,
             upgrade: bool, extra: list[str], cwd: Path = ROOT) -> None:
    command = [_uv(), "pip", "compile", *sources, *extra, "--universal",
               "--python-version", _python_version(inputs), "--fork-strategy", "fewest",
               "--generate-hashes", "--quiet", "--custom-compile-command", "make lock",
               "-o", str(output)]
    if upgrade:
        command.append("--upgrade")
    # uv keeps the versions of the existing output where they still fit: a changed dependency
    # moves only what it must.
    subprocess.run(command, check=True, cwd=cwd)
    output.write_text(_header(source, inputs) + output.read_text(encoding="utf-8"),
                      encoding="utf-8")


def compile_locks(upgrade: bool) -> None:
    inputs = main_inputs()
    _compile(["pyproject.toml"], LOCK, inputs, "pyproject.toml", upgrade, ["--extra", "dev"])
    for output, inputs in ((STUDENT_LOCK, student_inputs()), (JUPYTER_LOCK, jupyter_inputs())):
        with tempfile.TemporaryDirectory() as tmp:
            requirements = Path(tmp, "student.in")
            requirements.write_text("".join(f"{dep.removeprefix('[jupyter] ')}\n"
                                            for dep in inputs[1:]))
            # The instructor's versions as constraints (without hashes, which constraints
            # cannot carry): the student's locks are subsets of the instructor's.
            constraints = Path(tmp, "constraints.txt")
            constraints.write_text("".join(
                f"{p.name}=={p.version}{' ; ' + p.marker if p.marker else ''}\n"
                for p in read_pins(_read(LOCK))))
            # Run from the temporary folder with relative names: the lock's `# via` notes
            # then name `student.in` and `constraints.txt`, the same on every run.
            _compile([requirements.name], output, inputs,
                     str(STUDENT_TEMPLATE.relative_to(ROOT)), upgrade,
                     ["-c", constraints.name], cwd=Path(tmp))
    print(f"lock: wrote {LOCK_NAME}, {STUDENT_LOCK.relative_to(ROOT)} and "
          f"{JUPYTER_LOCK.relative_to(ROOT)}; `make setup` installs the new versions.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/lock.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("compile", help="write both locks (uv; needs the network)")
    up.add_argument("--upgrade", action="store_true",
                    help="move every package to its newest version that fits")
    sub.add_parser("check", help="exit 1 with one line per lock that is out of date")
    args = parser.parse_args(argv)
    if args.command == "compile":
        compile_locks(args.upgrade)
        return 0
    problems = check()
    for problem in problems:
        print(f"lock: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
