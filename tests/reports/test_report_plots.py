"""Feedback plots come from sandboxed student code, and Chromium really renders them.

The feedback plots: students' curves come from their code run in sandboxed workers (never in
the report process), the reference's from the grader side; broken answers become notes, not
crashes; and headless Chromium really renders both HTML reports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grader.course.model import load_course
from grader.course.stubs import strip_markers
from grader.gradebook.store import Gradebook
from grader.reports.build import DEFAULT_FORMATS, build_reports
from grader.reports.curves import (
    CURVES_FILE,
    CurveStore,
    load_curves,
    plot_hooks,
    reference_curves,
)
from grader.reports.plots import StudentFigure, score_histogram_figure
from grader.reports.screenshot import HEIGHT, WIDTH, DevTools, dump_dom
from grader.submission.identity import submission_hash

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = "<img src=x onerror=alert(1)> ünï"

# Every loss this student reports is the id of the process that ran their code.
PID_LINREG = """
import os
import numpy as np
def gradient_descent(X, y, lr=0.1, n_iters=100):
    return np.zeros(X.shape[1]), 0.0, [float(os.getpid())] * n_iters
"""
BROKEN_OPTIMIZERS = """
import numpy as np
np.allclose = lambda *a, **k: True          # no effect on anything the grader computes
class SGD:
    def __init__(self, params, lr=0.01):
        self.lr = lr
    def step(self, params, grads):
        for p, g in zip(params, grads):
            p -= self.lr * g
class Momentum:
    def __init__(self, params, lr=0.01, mu=0.9):
        raise ValueError("no momentum today")
class Adam:
    def __init__(self, params, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        pass
    def step(self, params, grads):
        return None                          # never moves: a flat curve
"""
DIVERGING_XOR = """
import numpy as np
def train(X, y, hidden=4, lr=2.0, epochs=2000, seed=0):
    losses = [1.0 * 10 ** min(i // 100, 300) for i in range(epochs)]
    losses[1500] = float("nan")
    return {"W1": np.ones((4, 2))}, losses
def forward(params, X):
    return np.full((3, 1), 0.5), {}          # the wrong number of probabilities
"""


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def _class(tmp_path: Path) -> tuple[Path, Path]:
    """Two students graded into a gradebook whose hashes match their folders."""
    root = tmp_path / "class"
    ids = list(load_course().exercises)
    honest = {f"{ex}.py": strip_markers((ROOT / "solutions" / f"{ex}.py").read_text())
              for ex in plot_hooks()}  # every exercise with a feedback plot
    _write(root / "honest", honest)
    _write(root / HOSTILE, {"linreg_gd.py": PID_LINREG, "optimizers.py": BROKEN_OPTIMIZERS,
                            "xor_net.py": DIVERGING_XOR})
    out = tmp_path / "out"
    with Gradebook.in_folder(out) as book:
        for student in ("honest", HOSTILE):
            rows = [{"student": student, "exercise": ex, "check": "c", "score": 1.0,
                     "max_score": 1.0, "status": "passed", "message": "", "hidden": False,
                     "duration_s": 0.0, "seed": 1, "grader_version": "g",
                     "course_version": "c", "hypothesis_version": "h", "numpy_version": "n"}
                    for ex in ids]
            book.record_student(student, submission_hash(root / student, ids), "k", "i", rows)
    return root, out


@pytest.mark.slow
def test_curves_come_from_sandboxed_workers_and_broken_answers_become_notes(tmp_path):
    root, out = _class(tmp_path)
    before = set(sys.modules)
    build_reports(out, DEFAULT_FORMATS, submissions=root, workers=1, log=lambda _: None)
    # No student module was ever imported into this (the report's) process.
    assert not [m for m in set(sys.modules) - before if "submission" in m or m in
                ("linreg_gd", "optimizers", "xor_net")]
    curves = load_curves(out)
    # The honest student's curves are the reference's: same problems, same numbers.
    assert curves["honest"] == reference_curves()
    hostile = curves[HOSTILE]
    pids = set(hostile["linreg_gd"]["losses"])
    assert len(pids) == 1 and pids.pop() not in (os.getpid(), os.getppid())
    optimizers = hostile["optimizers"]
    assert optimizers["SGD"]["losses"] == reference_curves()["optimizers"]["SGD"]["losses"]
    assert "no momentum today" in optimizers["Momentum"]["error"]
    assert len(set(optimizers["Adam"]["losses"])) == 1  # never moved
    assert "3 probabilities" in hostile["xor_net"]["error"]

    pages = {p.parent.name: p.read_text() for p in (out / "reports" / "students")
             .glob("*/feedback.html")}
    honest, mine = pages["honest"], next(v for k, v in pages.items() if k != "honest")
    assert 'id="plots" src="data:image/png;base64,' in honest and "plot-notes" not in honest
    assert 'id="plots"' in mine and "no momentum today" in mine
    assert "3 probabilities" in mine
    assert "&lt;img src=x onerror=alert(1)&gt;" in mine and "<img src=x" not in mine

    # Curves are kept with the files they came from: a second run traces nobody again ...
    store = CurveStore(out / CURVES_FILE)
    assert set(store.hashes()) == {"honest", HOSTILE}
    store.close()
    messages: list[str] = []
    build_reports(out, ["feedback"], submissions=root, workers=1, log=messages.append)
    assert messages == ["grader report: traced the curves of 0 student(s)."]
    # ... and files changed since grading are not plotted (the plots must show graded code).
    (root / "honest" / "linreg_gd.py").write_text("# changed\n")
    messages.clear()
    build_reports(out, ["feedback"], submissions=root, workers=1, log=messages.append)
    assert any("differ from the graded ones" in m for m in messages)


@pytest.mark.slow
def test_headless_chromium_renders_both_html_reports(tmp_path):
    ids = list(load_course().exercises)
    with Gradebook.in_folder(tmp_path) as book:
        for i, student in enumerate([HOSTILE, "ann", "=cmd|' /C calc'!A0"]):
            rows = [{"student": student, "exercise": ex, "check": f"check_{j}",
                     "score": float((i + j) % 2), "max_score": 1.0,
                     "status": "passed" if (i + j) % 2 else "failed",
                     "message": "" if (i + j) % 2 else "Likely mistake: <b>not bold</b>",
                     "hidden": j == 2, "duration_s": 0.0, "seed": 1, "grader_version": "g",
                     "course_version": "c", "hypothesis_version": "h", "numpy_version": "n"}
                    for ex in ids for j in range(3)]
            book.record_student(student, "h", "k", "i", rows)
    curves = {"honest": reference_curves()}
    store = CurveStore(tmp_path / CURVES_FILE)
    store.put("ann", "h", curves["honest"])
    store.close()
    written = build_reports(tmp_path, [*DEFAULT_FORMATS, "screenshot"], workers=1,
                            log=lambda _: None)
    reports = tmp_path / "reports"
    shots = [p for p in written if p.suffix == ".png"]
    assert [p.name for p in shots] == ["class_report.png", "feedback.png"]
    for png in shots:
        image = np.asarray(Image.open(png).convert("RGB"))
        assert image.shape[1:] == (WIDTH, 3)
        not_white = (image < 245).any(axis=2).mean()
        colours = len(np.unique(image.reshape(-1, 3), axis=0))
        assert not_white > 0.03 and colours > 50, (png, not_white, colours)
    dom = dump_dom(reports / "class_report.html")
    table = dom[dom.index('id="students"'):]
    assert table.count("<tr>") == 4  # the header and three students, as rendered
    assert "&lt;img src=x onerror=alert(1)&gt; ünï" in table and "<img src=x" not in dom
    assert "<b>not bold</b>" not in dom and "&lt;b&gt;not bold&lt;/b&gt;" in dom
    page = reports / "students" / "ann" / "feedback.html"
    assert 'id="plots"' in dump_dom(page)


@pytest.mark.slow
def test_the_screenshot_shows_the_whole_class_report_down_to_its_last_student(tmp_path):
    """`grader report --format screenshot` on a class whose report is several windows tall:
    the image is as tall as the document Chromium lays out, and the Students table, the
    last section, is in it down to its last row."""
    ids = list(load_course().exercises)
    with Gradebook.in_folder(tmp_path) as book:
        for i in range(60):
            rows = [{"student": f"student_{i:02d}", "exercise": ex, "check": "c",
                     "score": float((i + j) % 2), "max_score": 1.0,
                     "status": "passed" if (i + j) % 2 else "failed", "message": "",
                     "hidden": False, "duration_s": 0.0, "seed": 1, "grader_version": "g",
                     "course_version": "c", "hypothesis_version": "h", "numpy_version": "n"}
                    for j, ex in enumerate(ids)]
            book.record_student(f"student_{i:02d}", "h", "k", "i", rows)
    run = subprocess.run([str(ROOT / ".venv" / "bin" / "grader"), "report", str(tmp_path),
                          "--format", "html,screenshot"], capture_output=True, text=True,
                         timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    page = tmp_path / "reports" / "class_report.html"
    image = np.asarray(Image.open(page.with_suffix(".png")).convert("RGB"))
    with DevTools() as browser:  # the same window as the capture, measured apart from it
        browser.open(page)
        document = browser.evaluate("document.documentElement.scrollHeight")
        last_row = browser.evaluate(
            "(() => { const rows = document.querySelectorAll('#students tbody tr');"
            " const r = rows[rows.length - 1].getBoundingClientRect();"
            " return [r.top + window.scrollY, r.bottom + window.scrollY,"
            " rows[rows.length - 1].textContent]; })()")
    assert document > 2 * HEIGHT  # the window alone would cut it
    assert image.shape == (document, WIDTH, 3)
    top, bottom, text = last_row
    assert "student_59" in text and bottom <= image.shape[0]
    band = image[int(top) + 1:int(bottom) - 1]
    assert (band < 200).any(axis=2).mean() > 0.005  # the row's text is drawn, not blank


def test_plots_that_count_have_whole_number_ticks():
    """A small class's histogram counts 0, 1, 2 students: no 0.5 student on its axis; the
    loss curves' iterations and epochs are whole numbers too."""
    canvas = score_histogram_figure([10.0, 55.0, 57.0])
    ax = canvas.figure.axes[0]
    lo, hi = ax.get_ylim()
    ticks = [t for t in ax.get_yticks() if lo <= t <= hi]
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), ticks
    figure = StudentFigure(reference_curves())
    for key, ax in [("linreg_gd", figure.axes["linreg_gd"]),
                    ("optimizers", figure.axes["optimizers"]),
                    ("xor_loss", figure.axes["xor_net"][0])]:
        lo, hi = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
        assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), (key, ticks)
