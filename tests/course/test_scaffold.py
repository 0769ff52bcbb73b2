"""`grader new-exercise` (grader/course/scaffold.py): the exercise works; nothing else changes."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import tomllib
from support import GRADER, ROOT, course_copy

from grader.course.scaffold import ScaffoldError, insert_exercise
from grader.course.stubs import strip_markers

NEW = "lr_schedules"
TITLE = 'Learning-rate "schedules" – step, cosine, warm-up'
ADDED = {f"solutions/{NEW}.py", f"tests/checks/public/test_{NEW}.py",
         f"tests/checks/hidden/test_{NEW}.py", f"tests/audit/catalog/{NEW}.toml",
         f"exercises/{NEW}.py"}


def grader(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRADER_COURSE_ROOT": str(course)}
    return subprocess.run([str(GRADER), *args], cwd=course, env=env, capture_output=True,
                          text=True, timeout=300)


def tree(course: Path) -> dict[str, str]:
    """Every file of the course (caches aside) with the hash of its content."""
    return {str(p.relative_to(course)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(course.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and ".hypothesis" not in p.parts}


def one_line_refusal(run: subprocess.CompletedProcess) -> str:
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("grader new-exercise: ")
    return lines[0]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], bytes,
                                                            subprocess.CompletedProcess]:
    """A course copy, its files before, its course_config.py before, and the new-exercise run."""
    course = course_copy(tmp_path_factory.mktemp("scaffold"))
    before, config = tree(course), (course / "course_config.py").read_bytes()
    return course, before, config, grader(course, "new-exercise", NEW, "--title", TITLE)


def test_it_creates_exactly_the_exercise_files_and_says_what_to_do_next(made):
    course, before, _, run = made
    assert run.returncode == 0, run.stdout + run.stderr
    after = tree(course)
    assert set(after) - set(before) == ADDED
    assert set(before) - set(after) == set()
    changed = {path for path in before if before[path] != after[path]}
    assert changed == {"course_config.py", "exercises/.stubs.json"}
    # The stub record gains the new stub and keeps every other one.
    old = json.loads((ROOT / "exercises" / ".stubs.json").read_text())
    new = json.loads((course / "exercises" / ".stubs.json").read_text())
    assert {k: v for k, v in new.items() if k != NEW} == old
    assert len(new[NEW]) == 1
    for path in ADDED:
        assert f"wrote {path}" in run.stdout
    for step in (f"grader check {NEW} --submission solutions", f"grader check {NEW}",
                 "grader stubs", f"grader audit {NEW}", "docs/authoring.md"):
        assert step in run.stdout


def test_course_config_keeps_every_byte_but_the_inserted_entry(made):
    course, _, config, run = made
    assert run.returncode == 0, run.stderr
    new = (course / "course_config.py").read_bytes()
    # One contiguous insertion: what precedes and what follows it are the old file.
    start = next(i for i, (a, b) in enumerate(zip(config, new)) if a != b)
    inserted = new[start:start + len(new) - len(config)]
    assert new[:start] + new[start + len(inserted):] == config
    assert inserted.startswith(f'    "{NEW}": {{\n'.encode()) and inserted.endswith(b"    },\n")
    assert new.index(inserted) > config.index(b'"xor_net": {')  # the last entry of EXERCISES
    assert "TODO" in inserted.decode() and '# "due"' in inserted.decode()

    exercises = next(node.value for node in ast.parse(new).body if isinstance(node, ast.Assign)
                     and node.targets[0].id == "EXERCISES")
    entries = ast.literal_eval(exercises)
    assert list(entries)[-1] == NEW
    assert entries[NEW] == {"title": TITLE, "functions": ["half_squared_norm"],
                            "public": {"half_squared_norm_value_and_gradient": 2},
                            "hidden": {"half_squared_norm_matches_reference": 1},
                            "time_limit_s": 30, "memory_limit_mb": 512}


def test_the_stub_is_not_attempted_and_the_reference_passes_its_own_checks(made):
    course, _, _, run = made
    assert run.returncode == 0, run.stderr
    stub = grader(course, "check", NEW)
    assert stub.returncode == 1, stub.stdout + stub.stderr
    assert re.search(r"half_squared_norm_value_and_gradient\s+0/2\s+not attempted", stub.stdout)
    assert "Not attempted yet: half_squared_norm" in stub.stdout
    reference = grader(course, "check", NEW, "--submission", "solutions", "--hidden")
    assert reference.returncode == 0, reference.stdout + reference.stderr
    assert "3/3 points: all checks passed." in reference.stdout
    assert grader(course, "stubs", "--check").returncode == 0  # the stub is the recorded one
    # The course still loads as a whole: every exercise is checked, the new one included.
    everything = grader(course, "check")
    assert "Traceback" not in everything.stderr and f"{NEW}: " in everything.stdout
    assert "softmax_ce: " in everything.stdout


def test_the_audit_runs_on_the_new_exercise_with_its_empty_catalog(made):
    course, _, _, run = made
    assert run.returncode == 0, run.stderr
    audit = grader(course, "audit", NEW, "--workers", "1")
    assert "Traceback" not in audit.stdout + audit.stderr
    assert re.search(rf"^\s+{NEW}\s", audit.stdout, re.MULTILINE), audit.stdout
    # The references and the stub pass the audit; the catalog holds no entry yet, which the
    # audit of too few known mistakes flags (exit 1) where it is in force.
    assert audit.returncode in (0, 1), audit.stdout + audit.stderr


def _uncommented_examples(catalog: str) -> dict:
    """The catalog with its commented examples made live, as the author is told to."""
    head, examples = catalog.split("# Examples", 1)
    examples = examples.split("\n", 1)[1]
    return tomllib.loads(re.sub(r"^# ?", "", examples, flags=re.MULTILINE))


def test_the_catalogs_commented_examples_work_when_uncommented(made, tmp_path):
    """Each example grades as its section demands: the wrong one loses points, the correct
    one keeps full marks, the trivial one earns 0."""
    course, _, _, run = made
    assert run.returncode == 0, run.stderr
    catalog = _uncommented_examples((course / "tests/audit/catalog" / f"{NEW}.toml").read_text())
    assert set(catalog) == {"wrong", "correct", "trivial"}
    reference = strip_markers((course / "solutions" / f"{NEW}.py").read_text())
    expected = {"wrong": "some checks did not pass", "correct": "3/3 points: all checks passed",
                "trivial": "0/3 points"}
    for kind, entries in catalog.items():
        for entry in entries:
            assert entry["id"] and entry["description"]
            if "source" in entry:
                text = entry["source"]
            else:
                text = reference
                patches = [entry] if "find" in entry else entry["patches"]
                for patch in patches:
                    assert text.count(patch["find"]) == 1, patch["find"]
                    text = text.replace(patch["find"], patch["replace"])
            folder = tmp_path / kind / entry["id"]
            folder.mkdir(parents=True)
            (folder / f"{NEW}.py").write_text(text)
            graded = grader(course, "check", NEW, "--submission", str(folder), "--hidden")
            assert expected[kind] in graded.stdout, (kind, graded.stdout + graded.stderr)


# --------------------------------------------------------------------------- refusals


def test_an_existing_exercise_or_file_is_refused_and_nothing_is_written(tmp_path):
    course = course_copy(tmp_path)
    before = tree(course)
    line = one_line_refusal(grader(course, "new-exercise", "softmax_ce", "--title", "Again"))
    assert line == ("grader new-exercise: 'softmax_ce' is an exercise of course_config.py "
                    "already ('Softmax cross-entropy and its gradient'): choose another id.")
    assert tree(course) == before

    # Someone's hidden checks for an exercise not registered yet: kept, and nothing else made.
    mine = course / "tests" / "checks" / "hidden" / f"test_{NEW}.py"
    mine.write_text("# my checks\n")
    before = tree(course)
    line = one_line_refusal(grader(course, "new-exercise", NEW, "--title", "Schedules"))
    assert line == (f"grader new-exercise: tests/checks/hidden/test_{NEW}.py exists already: "
                    f"new-exercise overwrites nothing; move it away (e.g. `mv tests/checks/"
                    f"hidden/test_{NEW}.py {NEW}.mine.py`) and run it again, or choose "
                    f"another id.")
    assert tree(course) == before

    # A module of that name in exercises/ (here a notebook) would clash with the new exercise.
    mine.unlink()
    (course / "exercises" / f"{NEW}.ipynb").write_text("{}")
    before = tree(course)
    line = one_line_refusal(grader(course, "new-exercise", NEW, "--title", "Schedules"))
    assert line.startswith(f"grader new-exercise: exercises/{NEW}.ipynb exists: a module ")
    assert tree(course) == before


@pytest.mark.parametrize(("exercise_id", "says"), [
    ("LrSchedules", "'LrSchedules' has capital letters: exercise ids are lowercase module names, "
                    "e.g. 'lrschedules'."),
    ("lr-schedules", "'lr-schedules' is not a Python identifier: an exercise id is the name of "
                     "the module students write"),
    ("2schedules", "'2schedules' is not a Python identifier"),
    ("lambda", "'lambda' is a Python keyword: students could not import a module of that name; "
               "choose another id, e.g. lambda_ex."),
    ("_schedules", "'_schedules' starts with _"),
    ("numpy", "'numpy' is the name of a module Python or the grader imports: a student's "
              "numpy.py would shadow it"),
    ("random", "'random' is the name of a module Python or the grader imports"),
    ("protocol", "'protocol' is the name of a module Python or the grader imports"),
])
def test_an_invalid_id_gets_one_line_saying_why(tmp_path, exercise_id, says):
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    (course / "course_config.py").write_bytes((ROOT / "course_config.py").read_bytes())
    before = tree(course)
    line = one_line_refusal(grader(course, "new-exercise", exercise_id, "--title", "Schedules"))
    assert line.startswith(f"grader new-exercise: {says}"), line
    assert tree(course) == before


# ------------------------------------------------------- course_config.py edited as text

ENTRY = {"title": "T", "functions": ["f"], "public": {"c": 1}, "time_limit_s": 30}


def _entries(config: bytes) -> dict:
    namespace: dict = {}
    exec(compile(config, "course_config.py", "exec"), namespace)
    return namespace["EXERCISES"]


@pytest.mark.parametrize("config", [
    # the layout of this course, with a comment holding a comma after the last entry
    'EXERCISES = {\n    "a": {"x": 1},  # first, and last\n}\n',
    # no comma after the last entry
    'EXERCISES = {\n    "a": {\n        "x": 1,\n    }\n}\nLATE = {}\n',
    # Windows line ends, non-ASCII text before the dict (ast's columns count bytes)
    '"""Über »Kurs«."""\r\nTITLE = "é"; EXERCISES = {\r\n  "a": {"x": 1},\r\n}\r\n',
    # everything on one line
    'EXERCISES = {"a": {"x": 1}}  # one line\n',
    # empty
    'EXERCISES = {}\n',
    'EXERCISES: dict = {\n}\n',
])
def test_the_entry_is_inserted_before_the_closing_brace_and_nothing_else_moves(config):
    old = config.encode()
    new = insert_exercise(old, "b", ENTRY)
    assert _entries(new) == {**_entries(old), "b": ENTRY}
    assert list(_entries(new))[-1] == "b"
    # The old text is all there, in order: the new file is the old one with insertions only
    # (the entry, and a comma or a line break where the old layout lacks them).
    it = iter(new)
    assert all(byte in it for byte in old)
    if b"\r\n" in old:  # the entry has the file's line ends
        assert new.count(b"\n") == new.count(b"\r\n")


def test_the_entry_keeps_the_indentation_of_the_others():
    old = b'EXERCISES = {\n  "a": {"x": 1},\n}\n'
    new = insert_exercise(old, "b", ENTRY)
    assert new.startswith(old[:-2])
    assert new[len(old) - 2:].startswith(b'  "b": {\n    "title": "T",\n')


@pytest.mark.parametrize("config", [
    "EXERCISES = dict(a={})\n",
    "EXERCISES = {}\nEXERCISES = {}\n",
    "COURSE = 1\n",
    "EXERCISES = {\n",
])
def test_an_exercises_it_cannot_edit_as_text_is_refused(config):
    with pytest.raises(ScaffoldError):
        insert_exercise(config.encode(), "b", ENTRY)
