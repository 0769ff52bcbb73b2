"""`from grader import check; check("vector_scale")` inside a real IPython shell."""

from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from support import FIXTURE_COURSE, using_course

from grader.course.stubs import strip_markers

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def shell():
    sh = InteractiveShell.instance()
    yield sh
    sh.reset()
    InteractiveShell.clear_instance()


@pytest.fixture
def fixture_course():
    """The fixture course, graded by check() in this process: a test of the notebook route,
    not of the real course's checks."""
    with using_course(FIXTURE_COURSE) as course:
        yield course


def _run(shell, code):
    result = shell.run_cell(code)
    result.raise_error()
    return result.result


def test_check_uses_the_notebooks_own_definitions(shell, fixture_course):
    """Definitions made in the notebook are what gets checked, and HTML is the rich output."""
    _run(shell, strip_markers((FIXTURE_COURSE / "solutions" / "vector_scale.py").read_text()))
    report = _run(shell, "from grader import check\ncheck('vector_scale')")
    assert report.all_passed
    html = report._repr_html_()
    assert "<table>" in html and "scale_pinned_values" in html


def test_check_in_a_notebook_reports_a_wrong_result(shell, fixture_course):
    source = strip_markers((FIXTURE_COURSE / "solutions" / "dot_product.py").read_text())
    halved = source.replace("return float(np.sum(", "return float(0.5 * np.sum(")
    assert halved != source
    _run(shell, halved)
    report = _run(shell, "from grader import check\ncheck('dot_product')")
    assert not report.all_passed
    text = report.text()
    assert "dot_pinned_values" in text
    assert "Likely mistake" in text and "you halved the sum" in text
    assert "&lt;" not in text  # text is plain; only the HTML form is escaped


def test_check_without_notebook_definitions_reads_the_exercise_files(shell, fixture_course):
    report = _run(shell, "from grader import check\ncheck('vector_scale')")
    assert "not attempted" in report.text()  # the stubs in exercises/


def test_html_report_escapes_student_text(shell, fixture_course):
    _run(shell, "import numpy as np\n"
                "def scale(v, c):\n    raise ValueError('<script>alert(1)</script>')\n")
    report = _run(shell, "from grader import check\ncheck('vector_scale')")
    html = report._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_a_missing_function_is_said_once_in_the_notebook_report(shell):
    """Issue 21: the same MISSING note came once per check that needs the function. On the
    real course's xor_net: it takes an exercise of several functions (a notebook defining
    none of them is checked from its files), which the fixture course does not have."""
    source = strip_markers((ROOT / "solutions" / "xor_net.py").read_text())
    start = source.index("def forward(")
    end = source.index("\ndef ", start + 1)
    _run(shell, source[:start] + source[end:])  # the notebook never defined forward
    report = _run(shell, "from grader import check\ncheck('xor_net')")
    missing = "`forward` is not defined in your"
    html = report._repr_html_()
    assert html.count(missing) == 1
    assert html.count("The same as for all_zero_network_on_the_xor_data above.") == 5
    text = str(report)
    assert text.count(missing) == 1
    assert "    The same for: forward_pinned_values, backward_matches_central_differences, " \
           "one_training_step_is_exact, train_defaults_are_hidden_4_lr_2_seed_0, " \
           "predict_thresholds_p_at_one_half." in text
