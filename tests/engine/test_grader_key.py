"""The grader key changes with what decides a score and with nothing else.

The grader key: it changes with what decides a score (a check, a reference, a scoring
module, the scoring settings of course_config.py) and with nothing else (help text, reports,
titles, due dates). Real copies of the project in tmp_path; the key of a copy is computed by
a fresh Python that imports the copy's grader package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from grader.course.model import load_course
from grader.engine.grader_key import SCORING_MODULES, exercise_keys_of, grader_key, key_of

ROOT = Path(__file__).resolve().parents[2]


def test_every_scoring_module_of_the_grader_key_exists():
    """A module moved or renamed must move in SCORING_MODULES too, or the key stops covering
    it (an absent module is hashed as absent, as in a student repository)."""
    assert len(set(SCORING_MODULES)) == len(SCORING_MODULES)
    package = ROOT / "grader"
    assert [name for name in SCORING_MODULES if not (package / name).is_file()] == []


def test_the_grader_key_follows_the_scoring_settings_of_course_config(tmp_path):
    """Points, limits and the seed regrade; a title, a due date or a comment do not."""
    copy = tmp_path / "course"
    for folder in ("tests/checks", "solutions"):
        shutil.copytree(ROOT / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    text = (ROOT / "course_config.py").read_text()

    variants = iter(range(100))

    def key_with(new_text: str) -> str:
        # A course folder per variant: a course, once read, keeps its key.
        folder = tmp_path / f"course{next(variants)}"
        shutil.copytree(copy, folder)
        (folder / "course_config.py").write_text(new_text)
        sys.modules.pop("course_config", None)
        return key_of(load_course(folder), None)

    try:
        key = key_with(text)
        assert key_with("# a comment\n" + text.replace("2026-12-04T23:59:00+00:00",
                                                        "2027-01-04T23:59:00+00:00")
                        .replace("Softmax cross-entropy and its gradient", "Softmax")) == key
        assert key_with(text.replace('"loss_pinned_values": 2', '"loss_pinned_values": 3')) != key
        assert key_with(text.replace('"time_limit_s": 30', '"time_limit_s": 31', 1)) != key
        assert key_with(text.replace("SEED = 20261122", "SEED = 1")) != key
    finally:
        sys.modules.pop("course_config", None)


KEYS_OF_A_COPY = """
import sys
from pathlib import Path
from grader.course.model import load_course
from grader.engine.grader_key import key_of

package = Path(sys.argv[1])
keys = [key_of(load_course(), None)]
for edit in sys.argv[2:]:
    path = package / edit
    path.write_text(path.read_text() + "\\n# an edit\\n")
    keys.append(key_of(load_course(), None))
print("\\n".join(keys))
"""


def test_the_grader_key_covers_what_scores_and_not_help_text_or_reports(tmp_path):
    """The command `grader grade` computes its key in, on a copy of the project whose files
    are edited one after the other: help text (cli/commands.py), a report, the student release and
    `grader check`'s report leave the key as it is; expect.py, a check and a reference each
    change it."""
    copy = tmp_path / "project"
    for folder in ("grader", "tests/checks", "solutions"):
        shutil.copytree(ROOT / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("course_config.py", "requirements.lock", "course_secret.txt"):
        if (ROOT / name).is_file():
            shutil.copy(ROOT / name, copy / name)
    cli = copy / "grader" / "cli" / "commands.py"
    cli.write_text(cli.read_text().replace('help="run the public checks on your exercises"',
                                           'help="run the public checks on your work"'))
    same = ["grader/reports/html.py", "grader/integrations/ci/release.py",
            "grader/feedback/student_report.py", "grader/submission/mistakes.py",
            "grader/course/late.py"]
    changed = ["grader/authoring/expect.py", "tests/checks/public/test_softmax_ce.py",
               "solutions/xor_net.py"]
    env = {k: v for k, v in os.environ.items() if k not in ("GRADER_COURSE_ROOT", "PYTHONPATH")}
    run = subprocess.run([sys.executable, "-c", KEYS_OF_A_COPY, str(copy), *same, *changed],
                         cwd=copy, env={**env, "PYTHONPATH": str(copy)}, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    keys = run.stdout.strip().splitlines()
    assert len(keys) == 1 + len(same) + len(changed)
    assert keys[0] == grader_key(), "a copy of the same sources has the same key"
    assert keys[1:1 + len(same)] == [keys[0]] * len(same)
    assert len(set(keys[len(same):])) == 1 + len(changed), keys


def test_each_exercise_has_a_key_that_follows_its_own_files_and_settings(tmp_path):
    """A check file, a reference or the points of one exercise change that exercise's key
    only; the seed and a check file of no exercise change every key; a check that names
    another exercise's reference follows that reference too. key_of follows them all."""
    copy = tmp_path / "course"
    for folder in ("tests/checks", "solutions"):
        shutil.copytree(ROOT / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "course_config.py", copy / "course_config.py")
    variants = iter(range(100))

    def keys_after(edit) -> tuple[dict[str, str], str]:
        folder = tmp_path / f"course{next(variants)}"
        shutil.copytree(copy, folder)
        edit(folder)
        sys.modules.pop("course_config", None)
        course = load_course(folder)
        return exercise_keys_of(course, None), key_of(course, None)

    def append(rel: str, text: str = "\n# an edit\n"):
        return lambda folder: (folder / rel).write_text(
            ((folder / rel).read_text() if (folder / rel).exists() else "") + text)

    def config(old: str, new: str):
        def edit(folder):
            text = (folder / "course_config.py").read_text()
            assert text.count(old) == 1
            (folder / "course_config.py").write_text(text.replace(old, new))
        return edit

    try:
        base, course_key = keys_after(lambda folder: None)
        assert len(set(base.values())) == len(base) == 5

        def changed(edit) -> set[str]:
            keys, whole = keys_after(edit)
            assert keys.keys() == base.keys()
            assert (whole != course_key) == any(keys[e] != base[e] for e in base)
            return {e for e in base if keys[e] != base[e]}

        assert changed(append("tests/checks/hidden/test_xor_net.py")) == {"xor_net"}
        assert changed(append("tests/checks/public/test_softmax_ce.py")) == {"softmax_ce"}
        assert changed(append("solutions/linreg_gd.py")) == {"linreg_gd"}
        assert changed(config('"loss_pinned_values": 2', '"loss_pinned_values": 3')) == {
            "softmax_ce"}
        assert changed(config("SEED = 20261122", "SEED = 1")) == set(base)
        assert changed(append("tests/checks/helpers.py", "X = 1\n")) == set(base)
        assert changed(append("solutions/common.py", "X = 1\n")) == set(base)
        # gradcheck's hidden checks naming xor_net's reference: they follow it.
        named = append("tests/checks/hidden/test_gradcheck.py", '\nother = reference("xor_net")\n')
        with_named, _ = keys_after(named)
        both, _ = keys_after(lambda folder: (named(folder), append("solutions/xor_net.py")(folder)))
        assert {e for e in base if both[e] != with_named[e]} == {"gradcheck", "xor_net"}
    finally:
        sys.modules.pop("course_config", None)
