"""Written parts are course files: read from solutions/written/, wrong ones named in one line.

grader/course/model.py (Course.written_parts) and grader/integrations/nbgrader/written.py, on
the fixture course: each part listed in course_config.py "written" is
`solutions/written/<exercise>/<part>.toml`; a missing file, a stray one, a bad kind or a
missing key stops `grader release nbgrader` with one line naming the file."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import tomllib
from support import FIXTURE_COURSE, GRADER, using_course

from grader.course.model import CourseError, WrittenPart, load_course
from grader.integrations.nbgrader.notebooks import source_notebook
from grader.integrations.nbgrader.written import parts_for

PART = Path("solutions/written/dot_product/why_sum.toml")


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    shutil.copytree(FIXTURE_COURSE, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_each_listed_part_is_read_from_its_file_in_the_config_order():
    course = load_course(FIXTURE_COURSE)
    data = tomllib.loads((FIXTURE_COURSE / PART).read_text())
    assert parts_for("dot_product", course) == (
        WrittenPart("why_sum", "markdown", data["prompt"], data["answer"]),)
    assert parts_for("vector_scale", course) == ()


def test_the_source_notebook_holds_the_prompt_and_the_model_answer_of_the_file():
    with using_course(FIXTURE_COURSE) as course:
        notebook = source_notebook(course, "dot_product")
    data = tomllib.loads((FIXTURE_COURSE / PART).read_text())
    cells = {c.metadata.get("nbgrader", {}).get("grade_id", c.get("id")): c
             for c in notebook.cells}
    assert cells["prompt_why_sum"].source == f"{data['prompt']}\n\n*(2 points, graded by hand.)*"
    answer = cells["written_why_sum"]
    assert answer.cell_type == "markdown" and answer.source == data["answer"]
    assert answer.metadata["nbgrader"]["points"] == 2


@pytest.mark.parametrize("breakage, expected", [
    (lambda p: p.unlink(), "why_sum.toml: missing; course_config.py lists the written part "
                           "'why_sum'"),
    (lambda p: p.write_text(p.read_text().replace('kind = "markdown"', 'kind = "latex"')),
     "why_sum.toml: kind must be \"markdown\" or \"code\", got 'latex'"),
    (lambda p: p.write_text(p.read_text().split("answer =")[0]),
     "why_sum.toml: 'answer' is missing"),
    (lambda p: p.write_text("kind = \n"), "why_sum.toml: cannot be read as TOML"),
    (lambda p: shutil.copy(p, p.with_name("extra.toml")),
     "extra.toml: not in course_config.py's \"written\" of 'dot_product'"),
])
def test_a_wrong_part_file_is_a_one_line_course_error_naming_it(tmp_path, breakage, expected):
    root = _copy(tmp_path)
    breakage(root / PART)
    with pytest.raises(CourseError) as error:
        load_course(root).written_parts("dot_product")
    assert expected in str(error.value) and "\n" not in str(error.value)
    # The command says the same in one line, exits non-zero, and builds nothing.
    run = subprocess.run([str(GRADER), "release", "nbgrader", str(tmp_path / "nb")],
                         cwd=root, env={**os.environ, "GRADER_COURSE_ROOT": str(root)},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 3, run.stdout + run.stderr
    assert run.stderr.startswith("grader: course configuration error: ")
    assert expected in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "nb" / "source").exists()
