"""The lock files are current, hashed, shared with students and recorded with every row.

The lock files: current with pyproject.toml, hashed, shared by the student repository, and
recorded with every graded row; an environment that departs from the lock is named loudly.

`tools/lock.py check` (a step of `make test`) and `grader grade` run as the commands they are.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from grader.environment import (
    LOCK_NAME,
    check_environment,
    lock_state,
    locked_version,
    read_pins,
)

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
LOCK = ROOT / LOCK_NAME
STUDENT_LOCK = ROOT / "grader" / "integrations" / "ci" / "templates" / "student" / LOCK_NAME
JUPYTER_LOCK = STUDENT_LOCK.parent / "requirements-jupyter.lock"
FIX = "run `make lock` to update the lock"


def lock_check(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(PYTHON), str(root / "tools" / "lock.py"), "check"], cwd=root,
                          capture_output=True, text=True, timeout=120)


def test_the_committed_locks_are_current():
    run = lock_check(ROOT)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """What tools/lock.py reads, copied: the check must not depend on this checkout's state."""
    copy = tmp_path / "project"
    shutil.copytree(ROOT / "grader", copy / "grader",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", LOCK_NAME, "tools/lock.py"):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, copy / name)
    return copy


def _one_line(run: subprocess.CompletedProcess) -> str:
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


def test_a_dependency_added_to_pyproject_makes_the_check_fail_with_what_to_run(project):
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(
        '    "tqdm>=4.66",\n', '    "tqdm>=4.66",\n    "requests>=2.31",\n'))
    line = _one_line(lock_check(project))
    assert line == (f"lock: {LOCK_NAME} is out of date with pyproject.toml (added "
                    f"requests>=2.31): {FIX}.")


def test_a_changed_bound_and_a_removed_dev_tool_are_named(project):
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    assert '"hypothesis>=6.170,<6.171"' in text and '"uv>=0.5", ' in text
    pyproject.write_text(text.replace('"hypothesis>=6.170,<6.171"', '"hypothesis>=6.170"')
                         .replace('"uv>=0.5", ', ""))
    line = _one_line(lock_check(project))
    assert "added hypothesis>=6.170; removed hypothesis>=6.170,<6.171, [dev] uv>=0.5" in line
    assert line.endswith(f"{FIX}.")


def test_a_change_to_the_student_repositorys_dependencies_needs_a_new_student_lock(project):
    template = (project / "grader" / "integrations" / "ci" / "templates" / "student"
                / "pyproject.toml.j2")
    text = template.read_text()
    template.write_text(text.replace('    "pytest>=7.4",\n',
                                     '    "pytest>=7.4",\n    "matplotlib>=3.7",\n'))
    line = _one_line(lock_check(project))
    assert line == ("lock: grader/integrations/ci/templates/student/requirements.lock is out of "
                    "date with grader/integrations/ci/templates/student/pyproject.toml.j2 "
                    "(added matplotlib>=3.7): "
                    f"{FIX}.")


def test_a_change_to_the_student_repositorys_jupyter_extra_needs_a_new_jupyter_lock(project):
    template = (project / "grader" / "integrations" / "ci" / "templates" / "student"
                / "pyproject.toml.j2")
    text = template.read_text()
    template.write_text(text.replace('"matplotlib>=3.7"]', '"matplotlib>=3.7", "ipywidgets"]'))
    line = _one_line(lock_check(project))
    assert line == ("lock: grader/integrations/ci/templates/student/requirements-jupyter.lock is "
                    "out of date with grader/integrations/ci/templates/student/pyproject.toml.j2 "
                    f"(added [jupyter] ipywidgets): {FIX}.")


def test_the_jupyter_lock_is_the_student_lock_plus_jupyterlab_at_the_instructors_versions():
    main = {p.name: p.version for p in read_pins(LOCK.read_text())}
    student = {p.name: p.version for p in read_pins(STUDENT_LOCK.read_text())}
    jupyter = {p.name: p.version for p in read_pins(JUPYTER_LOCK.read_text())}
    assert {"jupyterlab", "ipykernel", "matplotlib"} <= set(jupyter)
    assert {name: jupyter.get(name) for name in student} == student
    assert {name: version for name, version in jupyter.items()
            if main.get(name) != version} == {}


def test_a_student_lock_at_other_versions_than_the_instructors_is_refused(project):
    student = project / "grader" / "integrations" / "ci" / "templates" / "student" / LOCK_NAME
    numpy = locked_version("numpy", LOCK)
    student.write_text(student.read_text().replace(f"numpy=={numpy} ", "numpy==1.26.0 "))
    line = _one_line(lock_check(project))
    assert f"pins other versions than {LOCK_NAME} (numpy 1.26.0 (instructor's lock: {numpy}))" \
        in line and line.endswith(f"{FIX}.")


def test_a_missing_lock_is_named(project):
    (project / LOCK_NAME).unlink()
    line = _one_line(lock_check(project))
    assert line == f"lock: {LOCK_NAME} is missing: {FIX}."


def _pinned_with_hashes(path: Path) -> dict[str, list[str]]:
    """{name==version: its sha256s}, for every pin of a lock."""
    out: dict[str, list[str]] = {}
    current = None
    for line in path.read_text().splitlines():
        if re.match(r"^[A-Za-z0-9]", line):
            current = line.split(";")[0].split()[0]
            out[current] = []
        elif current and line.strip().startswith("--hash=sha256:"):
            out[current].append(line.strip().split(":", 1)[1].rstrip(" \\"))
    return out


@pytest.mark.parametrize("lock", [LOCK, STUDENT_LOCK, JUPYTER_LOCK],
                         ids=["instructor", "student", "student-jupyter"])
def test_every_pin_is_exact_and_carries_the_sha256_of_its_files(lock):
    pins = _pinned_with_hashes(lock)
    assert len(pins) >= 30
    for pin, hashes in pins.items():
        assert re.fullmatch(r"[a-z0-9._-]+==[A-Za-z0-9.+!-]+", pin), pin
        assert hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), pin


def test_the_lock_holds_what_grading_and_later_work_need_and_one_version_of_each():
    pins = read_pins(LOCK.read_text())
    names = [p.name for p in pins]
    for needed in ("numpy", "hypothesis", "pandas", "pytest", "nbgrader", "dask", "distributed",
                   "import-linter", "uv", "setuptools", "packaging"):
        assert needed in names, needed
    # One version per package for every Python and platform: the same examples everywhere.
    assert len(names) == len(set(names)), [n for n in names if names.count(n) > 1]


def test_the_student_lock_is_the_instructors_versions_of_fewer_packages():
    main = {p.name: p.version for p in read_pins(LOCK.read_text())}
    student = {p.name: p.version for p in read_pins(STUDENT_LOCK.read_text())}
    assert {"numpy", "hypothesis", "pytest", "packaging"} <= set(student)
    assert {"nbgrader", "dask", "pandas"}.isdisjoint(student)
    assert {name: version for name, version in student.items()
            if main.get(name) != version} == {}


def test_hypothesis_has_an_upper_bound_that_the_locked_version_meets():
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (spec,) = [Requirement(d) for d in project["dependencies"]
               if Requirement(d).name == "hypothesis"]
    assert any(s.operator in ("<", "<=", "==", "~=") for s in spec.specifier), spec
    assert spec.specifier.contains(locked_version("hypothesis", LOCK))


def test_this_environment_is_installed_as_locked():
    """`make` installs from the lock, so the environment the tests run in is the locked one."""
    run = subprocess.run([str(PYTHON), "-m", "grader.environment"], capture_output=True,
                         text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stdout
    assert run.stdout.startswith(f"{LOCK_NAME} sha256:") and "NOT AS LOCKED" not in run.stdout


def test_differences_from_the_lock_are_named_and_pins_for_other_platforms_ignored(tmp_path):
    lock = tmp_path / LOCK_NAME
    lock.write_text("numpy==2.0.0 \\\n    --hash=sha256:" + "0" * 64 + "\n"
                    "pytest==9.0 \\\n    --hash=sha256:" + "1" * 64 + "\n"
                    "dask==2026.1.0\n"
                    "colorama==0.4.6 ; sys_platform == 'win32' and sys_platform == 'linux'\n")
    state = check_environment(lock, {"numpy": "2.0.1", "pytest": "9.0.0"})
    assert state.differences == ["numpy 2.0.1 installed, 2.0.0 locked",
                                 "dask not installed, 2026.1.0 locked"]
    assert state.text.startswith(f"{LOCK_NAME} sha256:")
    assert state.text.endswith("; NOT AS LOCKED: numpy 2.0.1 installed, 2.0.0 locked, "
                               "dask not installed, 2026.1.0 locked")
    assert "run `make setup`" in state.warning()
    assert check_environment(tmp_path / "none", {}).text == f"no {LOCK_NAME}: versions unlocked"


# --------------------------------------------------------------------------- through grading


def _course_copy(tmp_path: Path) -> Path:
    """The course and the grader, copied: `grader grade` run from there reads the copy's lock
    (the lock of the project its grader package comes from)."""
    copy = tmp_path / "course"
    ignore = shutil.ignore_patterns("__pycache__")
    for folder in ("grader", "solutions", "tests/checks"):
        shutil.copytree(ROOT / folder, copy / folder, ignore=ignore)
    for name in ("course_config.py", "course_secret.txt", "tests/conftest.py",
                 "tests/support.py", "pyproject.toml", LOCK_NAME):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, copy / name)
    return copy


def _grade(course: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess, list[str]]:
    klass = tmp_path / "class"
    shutil.copytree(ROOT / "demo" / "submissions" / "ada_correct", klass / "ada")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(course), "GRADER_CACHE_DIR": ""}
    run = subprocess.run([str(PYTHON), "-m", "grader", "grade", str(klass), "--output",
                          str(out), "--workers", "1"], cwd=course, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    db = sqlite3.connect(out / "gradebook.sqlite")
    try:
        locks = [lock for (lock,) in db.execute('SELECT DISTINCT "lock" FROM results')]
    finally:
        db.close()
    assert "lock" in (out / "gradebook.csv").read_text().splitlines()[0].split(",")
    return run, locks


@pytest.mark.slow
def test_grade_records_the_lock_with_every_row_and_warns_when_installed_otherwise(tmp_path):
    course = _course_copy(tmp_path / "a")
    run, locks = _grade(course, tmp_path / "a")
    assert locks == [lock_state().text] and "NOT AS LOCKED" not in locks[0]
    assert "WARNING" not in run.stderr
    assert f"Lock: {locks[0]}" in run.stdout.splitlines()

    # A pull brought a new lock (another NumPy) and nobody ran `make setup`.
    numpy = locked_version("numpy", LOCK)
    lock = course / LOCK_NAME
    lock.write_text(lock.read_text().replace(f"numpy=={numpy} ", "numpy==1.26.4 "))
    run, locks = _grade(course, tmp_path / "b")
    difference = f"numpy {numpy} installed, 1.26.4 locked"
    assert locks == [f"{LOCK_NAME} sha256:{check_environment(lock).sha256[:16]}; "
                     f"NOT AS LOCKED: {difference}"]
    (warning,) = [line for line in run.stderr.splitlines() if "WARNING" in line]
    assert warning == (f"grader: WARNING: the installed packages differ from {lock} "
                       f"({difference}): examples and results may differ from other "
                       "machines'; run `make setup` (or `python -m pip install "
                       f"--require-hashes -r {LOCK_NAME}`) to install the locked versions.")
    assert f"Lock: {locks[0]}" in run.stdout.splitlines()


def test_the_grader_key_changes_with_the_lock_state():
    """A class graded off the lock is graded again once the environment is as locked."""
    code = ("import sys; from pathlib import Path; import grader.environment as e;"
            "from grader.engine.grader_key import grader_key;"
            "e.lock_state = lambda: e.check_environment(Path(sys.argv[1]));"
            "print(grader_key())")

    def key(lock: Path) -> str:
        run = subprocess.run([sys.executable, "-c", code, str(lock)], capture_output=True,
                             text=True, timeout=120, cwd=ROOT)
        assert run.returncode == 0, run.stderr
        return run.stdout.strip()

    assert key(LOCK) == key(LOCK)
    assert key(LOCK) != key(ROOT / "no-such.lock")
