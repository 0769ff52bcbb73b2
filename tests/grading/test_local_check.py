"""`from grader import check; check("softmax_ce")` inside a real IPython shell."""

from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from grader.course.stubs import strip_markers

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def shell():
    sh = InteractiveShell.instance()
    yield sh
    sh.reset()
    InteractiveShell.clear_instance()


def _run(shell, code):
    result = shell.run_cell(code)
    result.raise_error()
    return result.result


def test_check_uses_the_notebooks_own_definitions(shell):
    """Definitions made in the notebook are what gets checked, and HTML is the rich output."""
    _run(shell, strip_markers((ROOT / "solutions" / "softmax_ce.py").read_text()))
    report = _run(shell, "from grader import check\ncheck('softmax_ce')")
    assert report.all_passed
    html = report._repr_html_()
    assert "<table>" in html and "softmax_rows_are_distributions" in html


def test_check_in_a_notebook_reports_a_wrong_gradient(shell):
    source = strip_markers((ROOT / "solutions" / "softmax_ce.py").read_text())
    _run(shell, source.replace("    dlogits /= n\n", ""))
    report = _run(shell, "from grader import check\ncheck('softmax_ce')")
    assert not report.all_passed
    text = report.text()
    assert "gradient_matches_central_differences" in text
    assert "Likely mistake" in text and "batch size" in text
    assert "&lt;" not in text  # text is plain; only the HTML form is escaped


def test_check_without_notebook_definitions_reads_the_exercise_files(shell):
    report = _run(shell, "from grader import check\ncheck('softmax_ce')")
    assert "not attempted" in report.text()  # the stubs in exercises/


def test_html_report_escapes_student_text(shell):
    _run(shell, "import numpy as np\n"
                "def softmax(logits):\n    raise ValueError('<script>alert(1)</script>')\n"
                "def softmax_cross_entropy(logits, y):\n    raise ValueError('<b>x</b>')\n")
    report = _run(shell, "from grader import check\ncheck('softmax_ce')")
    html = report._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_a_missing_function_is_said_once_in_the_notebook_report(shell):
    """Issue 21: the same MISSING note came once per check that needs the function."""
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
