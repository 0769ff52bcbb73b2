"""A feedback plot is a course hook: solutions/plots/<exercise>.py, no engine change.

grader/reports/curves.py and plots.py on the fixture course, whose vector_scale has a hook
and dot_product none: the hook's traces are validated plain data, the figure has its panel,
a broken hook is a course error naming its file, and `grader grade` then `grader report
--submissions` plot a student's curve from their sandboxed code."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pytest
from support import FIXTURE_COURSE, GRADER, using_course

from grader.course.model import CourseError, load_course
from grader.reports.curves import MAX_VALUES, NotPlotted, plain, plot_hooks, reference_curves
from grader.reports.plots import StudentFigure

NORMS = [5.0 * c for c in np.linspace(0.0, 2.0, 9)]  # |c * [3, 4]|


def test_the_exercises_with_a_hook_file_are_plotted_and_the_reference_traced():
    with using_course(FIXTURE_COURSE):
        assert list(plot_hooks()) == ["vector_scale"]
        reference = reference_curves()
        assert reference == {"vector_scale": {"losses": pytest.approx(NORMS)}}
        figure = StudentFigure(reference)
        assert list(figure.axes) == ["vector_scale"]
        png, notes = figure.render({"vector_scale": {"losses": [v * 2 for v in NORMS]}})
        assert png.startswith(b"\x89PNG") and notes == []
        same, _ = figure.render({"vector_scale": {"losses": [v * 2 for v in NORMS]}})
        other, notes = figure.render({"vector_scale": {"error": "scale raised ValueError"}})
    assert same == png != other  # each render starts from the same background
    assert notes == ["scale: not plotted: scale raised ValueError"]


def test_a_trace_is_plain_finite_numbers_of_bounded_size():
    assert plain({"a": [1, 2.5, np.float64(3), float("nan"), None], "b": {"error": "x"}}) == \
        {"a": [1.0, 2.5, 3.0, None, None], "b": {"error": "x"}}
    for bad in ({"a": np.zeros(3)}, {"a": [True]}, {"a": object()}, [1.0], {1: [1.0]},
                {"a": [0.0] * (MAX_VALUES + 1)}):
        with pytest.raises(NotPlotted):
            plain(bad)


def test_a_hook_without_draw_is_a_course_error_naming_its_file(tmp_path):
    root = tmp_path / "course"
    shutil.copytree(FIXTURE_COURSE, root, ignore=shutil.ignore_patterns("__pycache__"))
    hook = root / "solutions" / "plots" / "vector_scale.py"
    hook.write_text(hook.read_text().replace("def draw(", "def drawing("))
    with pytest.raises(CourseError, match=r"vector_scale\.py: defines no function draw\(\)"):
        plot_hooks(load_course(root))


def _two_students(tmp_path: Path) -> Path:
    """A class of ann (a scale twice too large, whose curve plots) and bob (whose scale
    raises)."""
    root = tmp_path / "class"
    (root / "ann").mkdir(parents=True)
    (root / "ann" / "vector_scale.py").write_text(
        "import numpy as np\ndef scale(v, c):\n    return 2 * c * np.asarray(v, dtype=float)\n")
    (root / "bob").mkdir()
    (root / "bob" / "vector_scale.py").write_text("def scale(v, c):\n    raise ValueError('no')\n")
    return root


def test_grade_then_report_plots_the_students_curve_from_the_hook(tmp_path):
    root = _two_students(tmp_path)
    env = {**os.environ, "GRADER_COURSE_ROOT": str(FIXTURE_COURSE)}
    out = tmp_path / "out"
    for args in (["grade", str(root), "--output", str(out), "--workers", "1"],
                 ["report", str(out), "--submissions", str(root), "--format", "feedback",
                  "--workers", "1"]):
        run = subprocess.run([str(GRADER), *args], env=env, cwd=FIXTURE_COURSE,
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr
    with sqlite3.connect(out / "curves.sqlite") as db:
        curves = {s: json.loads(d) for s, d in db.execute('SELECT "student", "data" FROM curves')}
    assert list(curves["ann"]) == ["vector_scale"]  # dot_product has no hook: not traced
    assert curves["ann"]["vector_scale"]["losses"] == pytest.approx([2 * v for v in NORMS])
    assert "ValueError" in curves["bob"]["vector_scale"]["error"]
    ann = (out / "reports" / "students" / "ann" / "feedback.html").read_text()
    bob = (out / "reports" / "students" / "bob" / "feedback.html").read_text()
    assert 'id="plots" src="data:image/png;base64,' in ann and "plot-notes" not in ann
    assert "scale: not plotted" in bob


@pytest.mark.slow
def test_report_curves_on_a_dask_cluster_are_the_local_pools(tmp_path):
    """`grader report --submissions --scheduler local:1` traces on a Dask worker (the files
    cross as JSON, the worker checks its grader key) and stores the same curves as the
    local pool."""
    root = _two_students(tmp_path)
    env = {**os.environ, "GRADER_COURSE_ROOT": str(FIXTURE_COURSE)}

    def run(*args: str) -> None:
        done = subprocess.run([str(GRADER), *args], env=env, cwd=FIXTURE_COURSE,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr

    local, dask = tmp_path / "local", tmp_path / "dask"
    run("grade", str(root), "--output", str(local), "--workers", "1")
    shutil.copytree(local, dask)
    run("report", str(local), "--submissions", str(root), "--format", "feedback", "--workers", "1")
    run("report", str(dask), "--submissions", str(root), "--format", "feedback",
        "--scheduler", "local:1")
    stored = []
    for out in (local, dask):
        with sqlite3.connect(out / "curves.sqlite") as db:
            stored.append(sorted(db.execute('SELECT "student", "data" FROM curves')))
    assert [s for s, _ in stored[0]] == ["ann", "bob"]
    assert stored[1] == stored[0]
