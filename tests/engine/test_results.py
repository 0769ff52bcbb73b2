"""A result's status, attempt and function are fields; reports never parse messages.

A result says whether it was attempted and which function it is about in fields
(CheckResult.attempted, .function); reports read the fields, never the message text."""

from __future__ import annotations

from grader.authoring.checks import checks_for
from grader.authoring.failures import NotAttempted
from grader.course.model import load_course
from grader.engine.handle import Implementation
from grader.engine.results import CheckResult
from grader.engine.run_check import HIDDEN_ERROR, run_check
from grader.feedback.student_report import ExerciseReport, label
from grader.gradebook.rows import stored_fields
from grader.integrations.nbgrader.feedback import result_text
from grader.integrations.nbgrader.grade import results_by_exercise

STUB_TEXT = "Not attempted yet: `softmax` still raises NotImplementedError."


def _result(check: str, status: str, message: str, *, attempted: bool = True,
            function: str = "") -> CheckResult:
    return CheckResult("softmax_ce", check, f"The statement of {check}.", False, status, 0.0,
                       2.0, message, 0.1, attempted, function)


def _checks(hidden: bool) -> list:
    return [c for c in checks_for("softmax_ce", include_hidden=True) if c.hidden is hidden]


def _stub(name: str):
    def stub(*args, **kwargs):
        raise NotImplementedError

    stub.__name__ = name
    return stub


def test_running_a_stub_gives_a_not_attempted_result_naming_it():
    impl = Implementation("softmax_ce", {"softmax": _stub("softmax"),
                                         "softmax_cross_entropy": _stub("softmax_cross_entropy")})
    for check in checks_for("softmax_ce", include_hidden=True):
        result = run_check(check, impl)
        assert (result.status, result.attempted, result.label) == \
            ("failed", False, "not attempted"), check.name
        assert result.function in ("softmax", "softmax_cross_entropy")
        assert result.message == NotAttempted(result.function).text()  # hidden ones too


def test_a_missing_function_and_an_error_name_their_function_unless_hidden():
    def broken(logits):
        raise ValueError("bad")

    impl = Implementation("softmax_ce", {"softmax": broken, "softmax_cross_entropy": broken})
    public = run_check(_checks(hidden=False)[0], impl)
    assert (public.status, public.attempted, public.function) == ("error", True, "softmax")
    hidden = run_check(_checks(hidden=True)[0], impl)
    statement = _checks(hidden=True)[0].statement.rstrip(".")
    # A hidden check shows its statement alone, and its result names no function either.
    assert (hidden.status, hidden.function) == ("error", "")
    assert hidden.message == HIDDEN_ERROR.format(statement=statement)
    missing = run_check(_checks(hidden=False)[0], Implementation("softmax_ce", {}))
    assert (missing.status, missing.attempted, missing.function) == ("missing", True, "softmax")


def test_the_report_reads_the_fields_not_the_message():
    exercise = load_course().exercise("softmax_ce")
    stub = _result("a", "failed", "anything at all", attempted=False, function="softmax")
    lookalike = _result("b", "failed", STUB_TEXT)  # a check's own message, say
    text = ExerciseReport(exercise, [stub, lookalike], "").text()
    assert (label(stub), label(lookalike)) == ("not attempted", "failed")
    assert "Not attempted yet: softmax still raises NotImplementedError. Fill it in" in text
    assert "FAILED: b: The statement of b." in text
    assert "anything at all" not in text  # a stub's message is the summary line
    assert result_text(stub).startswith("NOT ATTEMPTED: a, 0/2 points")
    assert result_text(lookalike).startswith("FAILED: b, 0/2 points")


def test_missing_results_are_grouped_by_the_function_they_name():
    exercise = load_course().exercise("softmax_ce")
    why = "`softmax` is not defined in your softmax_ce code."
    results = [_result(name, "missing", why, function="softmax") for name in ("a", "b")]
    assert "The same for: b." in ExerciseReport(exercise, results, "").text()
    # The same message without a function (a file, say): said once, with no list of checks.
    results = [_result(name, "missing", why) for name in ("a", "b")]
    assert "The same for" not in ExerciseReport(exercise, results, "").text()


def test_a_gradebook_row_gives_the_fields_back():
    assert stored_fields("failed", NotAttempted("Adam.step").text()) == (False, "Adam.step")
    assert stored_fields("failed", NotAttempted("f").text() + "\nNote: cell 2 was skipped.") \
        == (False, "f")
    assert stored_fields("failed", "The loss is wrong for `softmax`.") == (True, "")
    assert stored_fields("error", STUB_TEXT) == (True, "")  # only a failure is a stub's
    check = _checks(hidden=False)[0].name
    row = {"exercise": "softmax_ce", "check": check, "hidden": False, "status": "failed",
           "score": 0.0, "max_score": 2.0, "message": STUB_TEXT, "duration_s": 0.1}
    result = results_by_exercise([row])["softmax_ce"][check]
    assert (result.attempted, result.function, result.label) == \
        (False, "softmax", "not attempted")
