"""`grader release repo` ships what students need and nothing of the instructors'.

`grader release repo`: the student repository holds what students need and nothing of the
reference solutions or the hidden checks."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest
import tomllib

from grader.course.model import import_path, load_course
from grader.course.stubs import make_stub, strip_markers
from grader.integrations.ci.release import (
    MANIFEST,
    STUDENT_MODULES,
    find_leaks,
    release_repo,
    student_repo_files,
)

ROOT = Path(__file__).resolve().parents[2]
GRADER = ROOT / ".venv" / "bin" / "grader"
PYTHON = ROOT / ".venv" / "bin" / "python"


def run_released(repo: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`python ARGS` with the released repository's own grader package and no other: without
    site (`-S`), so the course's editable install cannot lend it a module the release left
    out; the installed third-party packages stay importable."""
    env = {k: v for k, v in os.environ.items() if k != "GRADER_COURSE_ROOT"}
    env["PYTHONPATH"] = os.pathsep.join([str(repo), sysconfig.get_paths()["purelib"]])
    return subprocess.run([str(PYTHON), "-S", *args], cwd=cwd or repo, env=env,
                          capture_output=True, text=True, timeout=120)


def solution_lines() -> set[str]:
    """Lines only the references have: in a reference, not in its stub or its public checks,
    long enough to be evidence. Found apart from grader.integrations.ci.release, which it checks."""
    references = [path.read_text() for path in sorted((ROOT / "solutions").glob("*.py"))]
    shown = [make_stub(source) for source in references]
    shown += [path.read_text() for path in (ROOT / "tests" / "checks" / "public").glob("*.py")]
    published = {line.strip() for text in shown for line in text.splitlines()}
    return {line.strip() for source in references for line in strip_markers(source).splitlines()
            if line.strip() not in published and len(line.strip()) >= 16}


def hidden_names() -> set[str]:
    names = {name for ex in load_course().exercises.values() for name in ex.hidden}
    names |= {line.split("def test_")[1].split("(")[0]
              for path in (ROOT / "tests" / "checks" / "hidden").glob("test_*.py")
              for line in path.read_text().splitlines() if line.startswith("def test_")}
    return names


def leaks_in(folder: Path) -> list[str]:
    code, hidden = solution_lines(), hidden_names()
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = path.read_text(errors="replace")
        found += [f"{path}: {line.strip()}" for line in text.splitlines() if line.strip() in code]
        found += [f"{path}: {name}" for name in hidden if name in text]
    return found


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("release") / "student"
    assert release_repo(repo) == 0
    return repo


def test_the_student_repository_has_what_students_need(released):
    course = load_course()
    for ex_id in course.exercises:
        stub = make_stub((ROOT / "solutions" / f"{ex_id}.py").read_text())
        assert (released / "exercises" / f"{ex_id}.py").read_text() == stub
        public = ROOT / "tests" / "checks" / "public" / f"test_{ex_id}.py"
        assert (released / "tests" / "checks" / "public" / public.name).read_bytes() == \
            public.read_bytes()
    for name in ("README.md", "pyproject.toml", "Makefile", ".gitignore", "tests/conftest.py",
                 ".github/workflows/autograde.yml", "grader/cli/commands.py",
                 "grader/integrations/ci/command.py"):
        assert (released / name).is_file(), name
    assert not (released / "solutions").exists()
    assert not (released / "tests" / "checks" / "hidden").exists()
    assert not list(released.rglob("__pycache__"))


def test_its_course_config_lists_the_public_checks_only(released):
    config = import_path(released / "course_config.py", "_released_course_config")
    course = load_course()
    assert list(config.EXERCISES) == list(course.exercises)
    for ex_id, spec in config.EXERCISES.items():
        assert "hidden" not in spec
        assert spec["public"] == course.exercises[ex_id].public
        assert spec["due"] == course.exercises[ex_id].due
    assert (config.SEED, config.COURSE_VERSION) == (course.seed, course.version)


def test_nothing_of_the_solutions_or_the_hidden_checks_is_in_it(released):
    assert solution_lines() and hidden_names()
    assert leaks_in(released) == []


def test_the_search_finds_a_leak_where_there_is_one(released, tmp_path):
    """The search above can fail: a copy with one line of a reference and one hidden check
    name is caught, by the test's search and by the release's own guard."""
    line = next(iter(sorted(solution_lines())))
    hidden = sorted(hidden_names())[0]
    (tmp_path / "leaky.py").write_text(f"    {line}\n# see test_{hidden}\n")
    assert len(leaks_in(tmp_path)) == 2
    files = student_repo_files(load_course())
    files["grader/leaky.py"] = (tmp_path / "leaky.py").read_bytes()
    leaks = find_leaks(files, load_course())
    assert any(leak.startswith("grader/leaky.py:1: reference code") for leak in leaks)
    assert f"grader/leaky.py: names the hidden check {hidden}" in leaks


def test_release_refuses_a_folder_that_is_not_empty(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    assert release_repo(tmp_path) == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_the_grader_runs_in_the_student_repository_without_hidden_checks(released):
    """`grader check --hidden` there runs what exists (the public checks), and pytest finds
    the student's exercises/ by default."""
    run = run_released(released, "-m", "grader", "check", "softmax_ce", "--hidden")
    assert run.returncode == 1, run.stderr
    assert "not attempted" in run.stdout and "(hidden)" not in run.stdout
    assert "Traceback" not in run.stdout + run.stderr
    run = run_released(released, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                       "tests/checks/public/test_linreg_gd.py")
    assert run.returncode == 1
    assert "NotImplementedError" in run.stdout and "solutions" not in run.stdout


def test_the_release_holds_the_modules_students_run_and_none_of_the_instructors(released):
    shipped = {p.relative_to(released / "grader").as_posix()
               for p in (released / "grader").rglob("*") if p.is_file()}
    assert shipped == set(STUDENT_MODULES)
    instructors = {"sandbox/isolation/spec.py", "grading/grade_class.py", "grading/audit.py",
                   "sandbox/launcher.py", "sandbox/grading_process.py", "gradebook/store.py",
                   "engine/remote.py", "sandbox/runtime/worker.py", "sandbox/seccomp.py",
                   "integrations/hub.py", "course/stubs.py", "integrations/ci/release.py",
                   "integrations/ci/collect.py", "reports/build.py", "reports/data.py",
                   "reports/html.py", "reports/curves.py"}
    assert {m for m in instructors if (ROOT / "grader" / m).is_file()} == instructors
    assert shipped & instructors == set()
    assert not any(m.startswith("integrations/nbgrader/") for m in shipped)


def test_students_commands_run_on_the_release_alone(released, tmp_path):
    """The pytest route passes on correct code, `check()` in a notebook checks the notebook's
    functions, and `grader ci` writes its files, each importing nothing but the release.
    The same run on a release missing one module fails: the isolation is real."""
    solved = tmp_path / "solved"
    shutil.copytree(released, solved)
    shutil.copy(ROOT / "solutions" / "softmax_ce.py", solved / "exercises" / "softmax_ce.py")
    run = run_released(solved, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                       "tests/checks/public/test_softmax_ce.py")
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr
    cell = (f"exec(open({str(ROOT / 'solutions' / 'softmax_ce.py')!r}).read())\n"
            "from grader import check\n"
            "report = check('softmax_ce')\n"
            "assert report.all_passed and '<table' in report._repr_html_()\n"
            "assert 'this notebook' in report.text(), report.text()\n")
    run = run_released(released, "-c", cell)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr
    run = run_released(released, "-m", "grader", "ci", "--output", str(tmp_path / "ci"))
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert (tmp_path / "ci" / "junit.xml").is_file()
    assert (tmp_path / "ci" / "results.json").is_file()
    (solved / "grader" / "engine" / "replay.py").unlink()
    run = run_released(solved, "-m", "grader", "check", "softmax_ce")
    assert run.returncode != 0, run.stderr
    assert "No module named 'grader.engine.replay'" in run.stderr, run.stderr


def test_the_student_dependencies_are_enough_for_check_and_ci(released, tmp_path):
    """The student's pyproject lists fewer packages than the course's: `grader check` and
    `grader ci` run with the others made unimportable."""
    def names(pyproject: Path) -> set[str]:
        deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
        return {re.split(r"[<>=!~ \[]", dep)[0].lower() for dep in deps}

    left_out = names(ROOT / "pyproject.toml") - names(released / "pyproject.toml")
    assert {"pandas", "nbgrader", "jinja2"} <= left_out
    script = f"""
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {sorted(left_out)!r}:
            raise ImportError(name + " is not a dependency of the student repository")
sys.meta_path.insert(0, Block())
from grader.cli.commands import main
assert main(["check", "xor_net"]) == 1
sys.exit(main(["ci", "--output", {str(tmp_path / "ci")!r}]))
"""
    run = run_released(released, "-c", script)
    assert run.returncode == 1, run.stdout[-2000:] + run.stderr
    assert "Traceback" not in run.stderr
    assert (tmp_path / "ci" / "junit.xml").is_file()


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and ".git" not in p.parts}


def _release_cli(target: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(GRADER), "release", "repo", str(target)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_a_release_into_an_earlier_release_updates_only_the_files_it_wrote(released, tmp_path):
    """What a person wrote stays: an edited exercise and a file of their own. A file still as
    an older release wrote it is brought up to date, one no longer released is removed."""
    repo = tmp_path / "template"
    shutil.copytree(released, repo)
    manifest = json.loads((repo / MANIFEST).read_text())
    exercise = repo / "exercises" / "softmax_ce.py"
    exercise.write_text(exercise.read_text() + "# the student's work\n")
    (repo / "notes.txt").write_text("mine")
    older = repo / "grader" / "integrations" / "ci" / "summary.py"
    older.write_text("# as an older release wrote it\n")
    (repo / "grader" / "obsolete.py").write_text("# released once, no longer\n")
    for path in (older, repo / "grader" / "obsolete.py"):
        manifest["files"][str(path.relative_to(repo))] = \
            hashlib.sha256(path.read_bytes()).hexdigest()
    (repo / MANIFEST).write_text(json.dumps(manifest))

    run = _release_cli(repo)
    assert run.returncode == 0, run.stderr
    assert ("1 file(s) written (grader/integrations/ci/summary.py), 1 removed, "
            "5 exercise file(s) left") in run.stdout
    assert exercise.read_text().endswith("# the student's work\n")
    assert (repo / "notes.txt").read_text() == "mine"
    released_summary = released / "grader" / "integrations" / "ci" / "summary.py"
    assert older.read_bytes() == released_summary.read_bytes()
    assert not (repo / "grader" / "obsolete.py").exists()
    assert _tree(repo) == {**_tree(released), "notes.txt": b"mine",
                           "exercises/softmax_ce.py": exercise.read_bytes()}


def test_an_update_over_someones_change_writes_nothing_and_names_the_file(released, tmp_path):
    repo = tmp_path / "template"
    shutil.copytree(released, repo)
    (repo / "README.md").write_text("# our own README\n")
    older = repo / "grader" / "integrations" / "ci" / "summary.py"
    older.write_text("# a person's edit of a generated file\n")
    before = _tree(repo)
    run = _release_cli(repo)
    assert run.returncode == 2
    assert "nothing was written" in run.stderr.splitlines()[0]
    assert "README.md: changed since the last release" in run.stderr
    assert "grader/integrations/ci/summary.py: changed since the last release" in run.stderr
    assert "Traceback" not in run.stderr
    assert _tree(repo) == before


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
           "GIT_CONFIG_GLOBAL": os.devnull}
    run = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_students_take_an_update_with_make_update_and_keep_their_exercises(released, tmp_path):
    """The released repository's README flow, with real git and make: a fork and a
    repository made from the template (no shared history) both get the instructor's update,
    and their exercises/ stay theirs."""
    upstream = tmp_path / "upstream"
    shutil.copytree(released, upstream)
    _git(upstream, "init", "-q", "-b", "main")
    _git(upstream, "add", "-A")
    _git(upstream, "commit", "-qm", "template")
    fork, copy = tmp_path / "fork", tmp_path / "from-template"
    _git(tmp_path, "clone", "-q", str(upstream), str(fork))
    _git(fork, "remote", "add", "upstream", str(upstream))
    shutil.copytree(released, copy)
    _git(copy, "init", "-q", "-b", "main")
    _git(copy, "remote", "add", "upstream", str(upstream))
    for repo in (fork, copy):
        exercise = repo / "exercises" / "softmax_ce.py"
        exercise.write_text(exercise.read_text() + "# the student's work\n")
        _git(repo, "add", "-A")
        _git(repo, "commit", "-qm", "my work")

    # The instructor's update: a fixed check, released into the template's clone.
    check = upstream / "tests" / "checks" / "public" / "test_softmax_ce.py"
    check.write_text(check.read_text() + "# fixed\n")
    manifest = json.loads((upstream / MANIFEST).read_text())
    manifest["files"]["tests/checks/public/test_softmax_ce.py"] = \
        hashlib.sha256(check.read_bytes()).hexdigest()
    (upstream / MANIFEST).write_text(json.dumps(manifest))
    _git(upstream, "commit", "-qam", "an older release")
    assert _release_cli(upstream).returncode == 0
    _git(upstream, "commit", "-qam", "update")

    for repo in (fork, copy):
        run = subprocess.run(["make", "update"], cwd=repo, capture_output=True, text=True,
                             timeout=60, env={**os.environ, "MAKEFLAGS": ""})
        assert run.returncode == 0, run.stdout + run.stderr
        assert (repo / "exercises" / "softmax_ce.py").read_text().endswith(
            "# the student's work\n")
        assert _tree(repo)["tests/checks/public/test_softmax_ce.py"] == \
            (ROOT / "tests" / "checks" / "public" / "test_softmax_ce.py").read_bytes()
        assert "exercises/" not in _git(repo, "status", "--porcelain")

    # A student's uncommitted change to a course file stops the update, changing nothing.
    (fork / "course_config.py").write_text("# edited\n")
    run = subprocess.run(["make", "update"], cwd=fork, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode != 0
    assert "commit or undo those changes first" in run.stdout
    assert (fork / "course_config.py").read_text() == "# edited\n"


def _students_grader(repo: Path, *args: str) -> subprocess.CompletedProcess:
    # The released repository's own grader package, as `pip install -e .` makes it run there.
    return run_released(repo, "-m", "grader", *args)


def test_in_the_student_repository_the_command_offers_what_works_there(released):
    helped = _students_grader(released, "--help")
    assert helped.returncode == 0
    commands = re.search(r"\{([a-z,-]+)\}", helped.stdout).group(1).split(",")
    assert commands == ["check", "ci"]
    for args in (["report", "out"], ["stubs"], ["audit"], ["grade", "x", "--output", "y"],
                 ["release", "repo", "z"], ["collect", "a", "--output", "b"], ["secret"],
                 ["new-exercise", "mine", "--title", "Mine"]):
        run = _students_grader(released, *args)
        assert run.returncode == 2, (args, run.stderr)
        assert run.stdout == "" and len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert f"`grader {args[0]}` is not available in a student repository" in run.stderr
        assert "instructor's course repository" in run.stderr
    run = _students_grader(released, "check", "softmax_ce")
    assert run.returncode == 1 and "not attempted" in run.stdout, run.stderr
    # The instructor's repository still offers everything.
    helped = subprocess.run([str(GRADER), "--help"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert {"grade", "report", "audit", "release", "stubs", "new-exercise"} <= set(
        re.search(r"\{([a-z,-]+)\}", helped.stdout).group(1).split(","))


def test_the_student_environment_has_the_jupyter_kernel_and_plots_its_readme_promises(
        released, tmp_path):
    """`make jupyter`'s install, offline: a throwaway venv that sees this project's packages
    (as tests/system/test_ci_workflow.py sets up) meets every pin of
    requirements-jupyter.lock, then has a Python kernel and matplotlib."""
    venv = tmp_path / "venv"
    subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-m", "venv", "--without-pip",
                    str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c",
                           "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    project = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c",
                              "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "project-packages.pth").write_text(project + "\n")
    extra = tomllib.loads((released / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]["jupyter"]
    assert {re.split(r"[<>=]", dep)[0] for dep in extra} == {"jupyterlab", "ipykernel",
                                                             "matplotlib"}
    readme = (released / "README.md").read_text()
    makefile = (released / "Makefile").read_text()
    assert "make jupyter" in readme and "--require-hashes -r requirements-jupyter.lock" \
        in makefile
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0"}
    repo = tmp_path / "repo"
    shutil.copytree(released, repo)
    # What `make jupyter` runs: the locked packages (here already present, so pip only checks
    # that every pin is met), then the course without dependencies.
    for args in (["--require-hashes", "-r", "requirements-jupyter.lock"], ["--no-deps", "-e", "."]):
        run = subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check",
                              "-q", *args], cwd=repo, env=env, capture_output=True, text=True,
                             timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr
    # A real kernel of that environment, as JupyterLab starts it, runs the student's check.
    script = """
from jupyter_client.manager import start_new_kernel
manager, client = start_new_kernel(kernel_name="python3")
try:
    code = ("import sys, matplotlib.pyplot, grader; from grader import check; "
            "print(sys.executable, grader.__file__)")
    reply = client.execute_interactive(code, timeout=60, output_hook=lambda msg: print(
        msg["content"].get("text", ""), end=""))
    print(reply["content"]["status"])
finally:
    client.stop_channels()
    manager.shutdown_kernel(now=True)
"""
    run = subprocess.run([str(python), "-c", script], cwd=repo, env=env, capture_output=True,
                         text=True, timeout=180)
    assert run.returncode == 0, run.stdout + run.stderr
    executable, package, status = run.stdout.split()
    assert status == "ok" and Path(executable) == python
    assert Path(package).is_relative_to(repo)
