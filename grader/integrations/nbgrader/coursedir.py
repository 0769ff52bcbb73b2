"""An nbgrader course directory as this grader sees it: config, folders, gradebook URL.

`grader release nbgrader` writes COURSE_DIR/nbgrader_config.py; everything else reads the
course back from that config as nbgrader's CourseDirectory reads it, so custom folder names in
it (`submitted_directory`, `autograded_directory`, ...) are honoured the way nbgrader honours
them. It is read without importing nbgrader (0.7 s: its package imports jupyter_server), so
that `grader grade --nbgrader` can start grading first; tests/integrations/test_nbgrader.py checks
the result against nbgrader's own CourseDirectory.
COURSE_DIR/grader_course is the copy of the course (course_config.py, tests/checks, solutions)
both grading paths use, so they grade with the same checks whatever happens to the repository.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.course.model import Course

CONFIG_NAME = "nbgrader_config.py"
SNAPSHOT_NAME = "grader_course"
CONFIG_MARKER = "# Written by `grader release nbgrader`"


@dataclass(frozen=True)
class NbCourse:
    root: Path
    course_id: str
    db_url: str
    source_dir: str
    release_dir: str
    submitted_dir: str
    autograded_dir: str

    @property
    def snapshot(self) -> Path:
        return self.root / SNAPSHOT_NAME

    def path(self, kind: str, student: str, assignment: str, notebook: str = "") -> Path:
        """COURSE_DIR/<kind>/<student>/<assignment>[/notebook], like nbgrader's format_path
        (`kind` is one of the *_dir attributes' values)."""
        parts = [self.root, kind]
        if kind in (self.submitted_dir, self.autograded_dir):
            parts.append(student)
        parts.append(assignment)
        if notebook:
            parts.append(notebook)
        return Path(*map(str, parts))


# What CourseDirectory gives for the settings read here when the config is silent. `root`
# defaults to COURSE_DIR, and db_url (when empty) to ROOT/gradebook.db, as nbgrader computes it.
COURSE_DIRECTORY_DEFAULTS = {"course_id": "", "db_url": "", "source_directory": "source",
                             "release_directory": "release",
                             "submitted_directory": "submitted",
                             "autograded_directory": "autograded"}


def read_course(course_dir: Path) -> NbCourse:
    """The nbgrader course at COURSE_DIR, from its nbgrader_config.py (nbgrader's defaults
    where the config is silent). Loading the config runs it, as nbgrader does, but leaves
    this process's environment as it was."""
    from grader.course.model import CourseError

    root = Path(course_dir).resolve()
    settings = _course_directory_settings(root)
    values = {}
    for name, default in {**COURSE_DIRECTORY_DEFAULTS, "root": str(root)}.items():
        value = settings.get(name, default)
        if not isinstance(value, str):  # nbgrader refuses it too (a TraitError)
            raise CourseError(f"{root / CONFIG_NAME}: CourseDirectory.{name} must be a "
                              f"string, not {value!r}")
        values[name] = value
    course_root = os.path.abspath(values["root"])  # nbgrader: relative to the working folder
    db_url = values["db_url"] or \
        "sqlite:///" + os.path.abspath(os.path.join(course_root, "gradebook.db"))
    return NbCourse(root=Path(course_root).resolve(), course_id=values["course_id"].strip(),
                    db_url=db_url, source_dir=values["source_directory"],
                    release_dir=values["release_directory"],
                    submitted_dir=values["submitted_directory"],
                    autograded_dir=values["autograded_directory"])


def _course_directory_settings(root: Path) -> dict:
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    if (root / CONFIG_NAME).is_file():
        # The config sets $GRADER_COURSE_ROOT for nbgrader's kernels; reading it must not
        # change this process (grading chooses its course with grader.course.model.use_course).
        saved = dict(os.environ)
        try:
            config = PyFileConfigLoader(CONFIG_NAME, path=str(root)).load_config()
        finally:
            if dict(os.environ) != saved:
                os.environ.clear()
                os.environ.update(saved)
    return dict(config.get("CourseDirectory", {}))


def tools_on_path() -> None:
    """Put this Python's scripts folder on PATH when nbgrader's tools are not on it.

    nbgrader runs `alembic` from PATH when it creates a gradebook, and its kernels need
    `jupyter`-side scripts of the same environment; a virtual environment used without
    activating it (`.venv/bin/grader ...`) would otherwise fail with "No such file: alembic".
    """
    import shutil
    import sys

    scripts = str(Path(sys.executable).parent)
    if shutil.which("alembic") is None and (Path(scripts) / "alembic").exists():
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def snapshot_course(course: NbCourse) -> Course:
    """The course copy in COURSE_DIR/grader_course, which grades this nbgrader course (as
    the kernels of nbgrader's own path do)."""
    from grader.course.model import CourseError, load_course

    if not (course.snapshot / "course_config.py").is_file():
        raise CourseError(f"{course.snapshot} has no course_config.py: run "
                          f"`grader release nbgrader {course.root}` first")
    return load_course(course.snapshot)
