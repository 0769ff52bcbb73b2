"""`grader release repo DIR`: the repository students get, and proof it holds no secret.

It holds the exercise stubs (made from solutions/ as `grader stubs` makes them), the public
checks and the pytest wiring, the modules of the grader package that `grader check` and
`grader ci` run (STUDENT_MODULES, an allow-list), a `course_config.py` that lists only the
public checks, a pyproject, the lock its packages install from (`requirements.lock`, at the
versions of the instructor's lock: tools/lock.py) and a Makefile, a README for students, and
the GitHub Actions workflow.

The student's course_config.py leaves out the hidden checks entirely (their names included):
the grader takes an exercise without hidden checks as one whose hidden checks are not
installed, which is what a student's copy is. Before anything is written, every file is
searched for lines of reference code (the lines between `### BEGIN SOLUTION` and
`### END SOLUTION` that are not in the stubs or public checks anyway) and for hidden check
names; one hit and nothing is written.

Into a folder that is not empty it writes only as an update of an earlier release (a clone of
the template repository): `.grader-release.json` records what that release wrote, and a file
is rewritten or removed only while it is still exactly that. A file someone changed, or one
no release wrote, stops the update before anything is written; exercises/*.py, which students
edit, are never touched (a new exercise is added). Students take an update with `make update`
(the student Makefile): it checks out the course's files from the instructor's repository and
leaves exercises/ alone, so it works in forks and in repositories made from a template alike.
The repository's grader/cli/edition.py says "student repository": its `grader` command offers
check and ci only.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import pprint
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import grader
from grader.course import secret as course_secret
from grader.course.model import Course, CourseError, import_path, load_course
from grader.course.stubs import BEGIN, END, make_stub

TEMPLATES = Path(__file__).resolve().parent / "templates"
WORKFLOW = ".github/workflows/autograde.yml"
# Solution lines shorter than this are too generic to be evidence ("return loss").
MIN_EVIDENCE_CHARS = 16


def release_repo(target: Path, course: Course | None = None) -> int:
    """Write the student repository into TARGET (a new or empty folder), or update one an
    earlier release wrote (see the module doc); 0 when done, 1 for a leak, 2 when TARGET
    holds something it must not touch (nothing is written then)."""
    course = course or load_course()
    target = Path(target)
    if target.exists() and not target.is_dir():
        return _refuse(f"{target} is not a folder; give a new folder.")
    if not course.solutions_dir.is_dir():  # e.g. run inside a student repository
        return _refuse(f"the course at {course.root} has no solutions/ to make the stubs "
                       "from: run it in the instructor's course repository.")
    files = student_repo_files(course)
    leaks = find_leaks(files, course)
    if leaks:
        print("grader release: refusing to write a student repository that would leak:",
              *leaks, sep="\n  ", file=sys.stderr)
        return 1
    if not (target.is_dir() and any(target.iterdir())):
        _write(target, files, sorted(files), [])
        print(f"Wrote the student repository to {target} ({len(files)} files): exercises/, "
              f"tests/checks/public/, grader/, {WORKFLOW}.\n"
              "Nothing of solutions/ or tests/checks/hidden/ is in it (searched before "
              "writing).\n"
              f"Next: cd {target} && git init && git add -A && git commit -m 'Course template' "
              "and push it as the template repository of the assignment.")
        return 0
    try:
        released = json.loads((target / MANIFEST).read_text(encoding="utf-8"))["files"]
        assert isinstance(released, dict)
    except (OSError, ValueError, KeyError, TypeError, AssertionError):
        return _refuse(f"{target} is not empty and holds no {MANIFEST} of an earlier `grader "
                       "release repo`: give a new or empty folder (or a clone of the "
                       "repository it released, to update it).")
    plan = _update_plan(target, files, released)
    if plan.conflicts:
        print(f"grader release: {target}: {len(plan.conflicts)} file(s) differ from what the "
              "last release wrote, so they are someone's work; nothing was written. Move them "
              "away (or `git checkout` them) and release again:",
              *plan.conflicts, sep="\n  ", file=sys.stderr)
        return 2
    _write(target, files, plan.write, plan.remove)
    print(f"Updated the student repository in {target}: {len(plan.write)} file(s) written"
          + (f" ({', '.join(plan.write[:5])}{', ...' if len(plan.write) > 5 else ''})"
             if plan.write else "")
          + f", {len(plan.remove)} removed, {len(plan.kept)} exercise file(s) left as they "
          "are (exercises/ is the students'; only a new exercise is added).\n"
          f"Next: commit and push; students who already have the repository run "
          "`make update` in theirs (see its README).")
    return 0


# The record of what a release wrote (path -> sha256), kept in the student repository: an
# update rewrites or removes a file only while it is still what the release wrote.
MANIFEST = ".grader-release.json"


@dataclass
class _Plan:
    write: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _update_plan(target: Path, files: dict[str, bytes], released: dict[str, str]) -> _Plan:
    plan = _Plan()
    for relative, content in sorted(files.items()):
        path = target / relative
        if path.is_symlink() or (path.exists() and not path.is_file()):
            plan.conflicts.append(f"{relative}: not a regular file")
        elif not path.exists():
            plan.write.append(relative)
        elif relative.startswith("exercises/"):
            # Students write here: an update never touches an exercise they have, so
            # `make update` in their repository cannot touch it either.
            plan.kept.append(relative)
        elif (current := _sha(path.read_bytes())) == _sha(content):
            continue
        elif released.get(relative) == current:
            plan.write.append(relative)
        else:
            plan.conflicts.append(f"{relative}: changed since the last release"
                                  if relative in released else
                                  f"{relative}: not written by a release")
    for relative, digest in sorted(released.items()):
        path = target / relative
        if relative in files or relative.startswith("exercises/") or not path.is_file() \
                or path.is_symlink():
            continue
        if _sha(path.read_bytes()) == digest:
            plan.remove.append(relative)
        else:
            plan.conflicts.append(f"{relative}: no longer released, and changed since")
    return plan


def _write(target: Path, files: dict[str, bytes], write: list[str], remove: list[str]) -> None:
    for relative in write:
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.grader-release")
        tmp.write_bytes(files[relative])
        os.replace(tmp, path)
    for relative in remove:
        (target / relative).unlink()
    manifest = {"note": "Written by `grader release repo`: what it released, so that an update "
                        "changes only those files. Keep it.",
                "files": {relative: _sha(content) for relative, content in sorted(files.items())}}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


def _refuse(message: str) -> int:
    print(f"grader release: {message}", file=sys.stderr)
    return 2


def student_repo_files(course: Course) -> dict[str, bytes]:
    """Every file of the student repository, by its path relative to the repository."""
    files: dict[str, bytes] = {}
    for ex_id in course.exercises:
        solution = (course.solutions_dir / f"{ex_id}.py").read_text(encoding="utf-8")
        files[f"exercises/{ex_id}.py"] = make_stub(solution, f"{ex_id}.py").encode()
        check = course.checks_dir / "public" / f"test_{ex_id}.py"
        files[f"tests/checks/public/test_{ex_id}.py"] = check.read_bytes()
    files["tests/conftest.py"] = (course.root / "tests" / "conftest.py").read_bytes()
    package = Path(grader.__file__).resolve().parent
    for relative in STUDENT_MODULES:
        files[f"grader/{relative}"] = (package / relative).read_bytes()
    files["grader/cli/edition.py"] = _student_edition((package / "cli" / "edition.py").read_text())
    files["course_config.py"] = student_config(course).encode()
    files.update(_rendered(course))
    files[WORKFLOW] = (TEMPLATES / "student-autograde.yml").read_bytes()
    return files


# The grader modules the student repository holds, by path in the package: what `grader
# check`, `grader ci`, the pytest route (tests/conftest.py) and `check()` in Jupyter import
# when they run, and nothing else. Everything else of the package is the instructors': class
# grading and its sandbox (grade, grading_process, launcher, isolation, seccomp, proxy,
# worker), the gradebook store, the audit, the releases, nbgrader, the class reports.
# tests/integrations/test_release.py runs those commands on the release alone, with no other copy of
# the grader importable, so a module missing here fails there.
STUDENT_MODULES = (
    # The command
    "__init__.py",                  # `from grader import check`
    "__main__.py",                  # `python -m grader`
    "cli/__init__.py",              # the console script's `main`
    "cli/commands.py",              # `grader check` and `grader ci`; the rest answer "not here"
    "cli/edition.py",               # rewritten to say "student repository" (_student_edition)
    "submission/mistakes.py",       # one-line answers to a mistaken command line
    "engine/time_limit.py",         # a real Ctrl-C stops the run, student code's does not
    # The course and its checks
    "course/__init__.py",
    "course/model.py",              # course_config.py and its folders
    "course/secret.py",             # the checks' seeds (none here: the local examples)
    "course/late.py",               # the late policy results.json states
    "authoring/__init__.py",        # the check-authoring API the public checks import
    "authoring/checks.py",          # the registry of the public checks
    "authoring/hypothesis_compat.py",# the Hypothesis internals the registry and replay use
    "authoring/strategies.py",      # what the public checks import to draw inputs
    "authoring/finite_differences.py",# what the public checks import to test gradients
    "authoring/expect.py",          # the assertions of the checks
    "authoring/diagnose.py",        # the likely mistakes they name
    "authoring/failures.py",        # a check's outcomes, as exceptions
    "authoring/capabilities.py",    # `exposes`, which the optimizer checks import
    # Running the checks in the student's own process
    "grading/__init__.py",
    "grading/local_check.py",       # `grader check` and `check()`
    "submission/__init__.py",
    "submission/files.py",          # finding exercises/<id>.py or .ipynb
    "submission/notebook.py",       # a notebook as Python cells
    "sandbox/__init__.py",
    "sandbox/runtime/__init__.py",
    "sandbox/runtime/loading.py",   # running student code, describing what it did
    "sandbox/runtime/protocol.py",  # how example_cache encodes them (plain data, no pickle)
    "engine/__init__.py",
    "engine/in_process.py",         # loading an exercise in this process
    "engine/handle.py",             # the handle the checks call
    "engine/sessions.py",           # the in-process session
    "engine/run_check.py",          # running a check, one result each
    "engine/results.py",            # a check's result
    "engine/replay.py",             # the examples a check tries
    "engine/example_cache.py",      # those examples kept on disk between runs
    "engine/grader_key.py",         # the key example_cache files them under
    "environment.py",               # the lock state, part of that key
    # Feedback
    "feedback/__init__.py",
    "feedback/student_report.py",   # the text and HTML report
    "printable.py",                 # student text made inert in every report
    "gradebook/__init__.py",
    "gradebook/rows.py",            # results as rows, for results.json and JUnit
    "integrations/__init__.py",
    "integrations/ci/__init__.py",
    "integrations/ci/command.py",   # `grader ci`
    "integrations/ci/annotations.py",# its annotations on the student's file
    "integrations/ci/summary.py",   # its job summary
    "integrations/ci/workflow.py",  # GitHub workflow commands, escaped
    "reports/__init__.py",
    "reports/gradescope.py",        # results.json
    "reports/junit.py",             # junit.xml
    "reports/safe.py",              # XML-safe text for both
)


def _student_edition(text: str) -> bytes:
    """grader/cli/edition.py saying "student repository": the CLI there offers check and ci."""
    flag = "STUDENT_REPOSITORY = False"
    if text.count(flag) != 1:
        raise CourseError(f"grader/cli/edition.py must set `{flag}` once")
    return text.replace(flag, "STUDENT_REPOSITORY = True").encode()


def student_config(course: Course) -> str:
    """course_config.py without the hidden checks: every other setting as it is."""
    config = import_path(course.root / "course_config.py", "_course_config_for_release")
    lines = ['"""The course in one place, as students get it: exercises, points of the public',
             "checks, limits, due dates. Written by `grader release repo`; the instructor's copy",
             'also lists the hidden checks, which are not part of this repository."""', ""]
    for name, value in vars(config).items():
        if not name.isupper() or name.startswith("_"):
            continue
        if name == "EXERCISES":
            value = {ex_id: {k: v for k, v in spec.items() if k != "hidden"}
                     for ex_id, spec in value.items()}
        text = pprint.pformat(value, width=96, sort_dicts=False)
        try:
            same = ast.literal_eval(text) == value
        except (ValueError, SyntaxError):
            same = False
        if not same:
            raise CourseError(f"course_config.py: {name} is not a plain value (numbers, "
                              "strings, lists, dicts), so it cannot be copied for students")
        lines += [f"{name} = {text}", ""]
    return "\n".join(lines)


def _rendered(course: Course) -> dict[str, bytes]:
    import hypothesis
    import jinja2

    from grader.environment import JUPYTER_LOCK_NAME, LOCK_NAME, locked_version

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES / "student"),
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined,
                             autoescape=False)
    env.filters["toml"] = lambda text: json.dumps(str(text), ensure_ascii=False)
    exercises = [{"id": ex.id, "title": ex.title, "points": f"{sum(ex.public.values()):g}",
                  "due": ex.due} for ex in course.exercises.values()]
    slug = re.sub(r"[^a-z0-9]+", "-", course.name.lower()).strip("-") or "course"
    lock = TEMPLATES / "student" / LOCK_NAME
    # The version the student's lock installs: the pyproject must not ask for another one.
    values = {"course": course, "exercises": exercises, "package_name": f"{slug}-exercises",
              "hypothesis_version": locked_version("hypothesis", lock) or hypothesis.__version__}
    out = {name: env.get_template(f"{name}.j2").render(values).encode()
           for name in ("README.md", "pyproject.toml")}
    out["Makefile"] = (TEMPLATES / "student" / "Makefile").read_bytes()
    out[LOCK_NAME] = lock.read_bytes()
    out[JUPYTER_LOCK_NAME] = (TEMPLATES / "student" / JUPYTER_LOCK_NAME).read_bytes()
    out[".gitignore"] = (TEMPLATES / "student" / "gitignore").read_bytes()
    return out


def reference_lines(course: Course) -> set[str]:
    """Lines of reference code that would give a solution away: inside the solution markers,
    long enough to be evidence, and in neither a stub nor a public check (which show some
    lines on purpose, e.g. `rng = np.random.default_rng(seed)`)."""
    published: set[str] = set()
    solution_lines: set[str] = set()
    for ex_id in course.exercises:
        source = (course.solutions_dir / f"{ex_id}.py").read_text(encoding="utf-8")
        check = (course.checks_dir / "public" / f"test_{ex_id}.py").read_text(encoding="utf-8")
        published |= {line.strip() for line in (make_stub(source) + check).splitlines()}
        inside = False
        for line in source.splitlines():
            stripped = line.strip()
            if stripped in (BEGIN, END):
                inside = stripped == BEGIN
            elif inside and len(stripped) >= MIN_EVIDENCE_CHARS and not stripped.startswith("#"):
                solution_lines.add(stripped)
    return solution_lines - published


def hidden_check_names(course: Course) -> set[str]:
    return {name for ex in course.exercises.values() for name in ex.hidden}


def find_leaks(files: dict[str, bytes], course: Course) -> list[str]:
    """What in FILES gives away the solutions, the hidden checks or the course secret, one
    line each."""
    code = reference_lines(course)
    hidden = hidden_check_names(course)
    secret = course_secret.read(course.root)
    leaks = []
    for relative, content in files.items():
        if relative.startswith(("solutions/", "tests/checks/hidden/")):
            leaks.append(f"{relative}: a file of {relative.split('/')[0]}/ is shipped")
        if Path(relative).name == course_secret.FILENAME or (
                secret is not None and secret.encode() in content):
            leaks.append(f"{relative}: holds the course secret")
        text = content.decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip() in code:
                leaks.append(f"{relative}:{number}: reference code: {line.strip()}")
        for name in sorted(hidden):
            if name in text:
                leaks.append(f"{relative}: names the hidden check {name}")
    return leaks
