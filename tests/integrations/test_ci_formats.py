"""What `grader ci` hands GitHub and CI tools is right, and student text stays inert.

What `grader ci` hands GitHub and CI tools: workflow commands, the job summary,
results.json, JUnit, and where annotations point. Student text must stay inert in each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from pathlib import Path

from support import FIXTURE_COURSE

from grader.course.late import Lateness
from grader.course.model import load_course
from grader.engine.results import CheckResult
from grader.feedback.student_report import ExerciseReport
from grader.integrations.ci import workflow
from grader.integrations.ci.annotations import MAX_ANNOTATIONS, annotations, definition_lines
from grader.integrations.ci.summary import summary_markdown
from grader.printable import printable
from grader.reports.gradescope import results_json, write_results_json
from grader.reports.junit import write_junit

ROOT = Path(__file__).resolve().parents[2]
# The reports are about one exercise of the fixture course (results are made up here): a
# change of the real course never breaks them.
FIXTURE = load_course(FIXTURE_COURSE)
HOSTILE = ("50% off\r\n::add-mask::secret\n::error::forged | <img src=x onerror=alert(1)> "
           "[click](http://evil.example) @someone \x00\x1b[31m")


def _result(check: str, status: str, message: str = "", *, hidden: bool = False,
            points: float = 2.0, stub: str | None = None) -> CheckResult:
    """A result; STUB names the untouched stub a not-attempted result is about."""
    return CheckResult("dot_product", check, f"The statement of {check}.", hidden, status,
                       points if status == "passed" else 0.0, points, message, 0.25,
                       attempted=stub is None, function=stub or "")


def _rows(results: list[CheckResult]) -> list[dict]:
    return [{"student": "ana", "exercise": r.exercise, "check": r.check, "score": r.score,
             "max_score": r.max_score, "status": r.status, "message": r.message,
             "hidden": r.hidden, "duration_s": r.duration_s, "statement": r.statement}
            for r in results]


def test_workflow_commands_escape_data_and_properties():
    line = workflow.error("a%b\r\nc", file="ex,1.py", line=3, title="t: x")
    assert line == "::error file=ex%2C1.py,line=3,title=t%3A x::a%25b%0D%0Ac"
    forged = workflow.error(HOSTILE, title=HOSTILE)
    assert "\n" not in forged and "\r" not in forged  # one line: no second command starts
    _, props, data = forged.split("::", 2)  # the properties hold no `::` of the text's
    assert props == "error title=50%25 off%0D%0A%3A%3Aadd-mask%3A%3Asecret%0A%3A%3Aerror" \
        "%3A%3Aforged | <img src=x onerror=alert(1)> [click](http%3A//evil.example) @someone " \
        "\x00\x1b[31m"
    assert data.startswith("50%25 off%0D%0A::add-mask::secret%0A::error::forged")


def test_results_json_maps_statuses_and_hides_hidden_checks_until_published(tmp_path):
    results = [_result("a", "passed"), _result("b", "failed", HOSTILE),
               _result("c", "timeout", "Stopped."), _result("d", "failed", "x", hidden=True)]
    write_results_json(_rows(results), tmp_path / "results.json")
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["score"] == 2.0 and data["execution_time"] == 1.0
    assert [t["status"] for t in data["tests"]] == ["passed", "failed", "failed", "failed"]
    assert [t["visibility"] for t in data["tests"]] == ["visible"] * 3 + ["after_published"]
    assert [t["number"] for t in data["tests"]] == ["1.1", "1.2", "1.3", "1.4"]
    assert data["tests"][2]["tags"] == ["dot_product", "timeout"]
    assert data["tests"][1]["output"].startswith("The statement of b.\n50% off")
    # All of the text, but its control characters written out: a reader of the JSON (jq in
    # a terminal, Gradescope) would otherwise get them decoded.
    assert printable(HOSTILE) in data["tests"][1]["output"]
    assert "\x1b" not in data["tests"][1]["output"]


def test_results_json_reveals_no_hidden_result_before_the_hidden_checks_show(tmp_path):
    """Gradescope hides `score` while tests are hidden, never the top-level `output` (its
    autograder specification): that output may state the public checks' points only, and
    the total and the late penalty in points wait, in a test concealed like the hidden ones."""
    due = datetime(2026, 12, 4, tzinfo=timezone.utc)
    late = {"dot_product": Lateness(due, due + timedelta(days=2), "timestamp.txt", 2, 0.2,
                                   "earned")}
    results = [_result("a", "passed", points=3.0), _result("b", "failed", "x"),
               _result("h1", "passed", hidden=True, points=5.0),
               _result("h2", "failed", "y", hidden=True, points=4.0)]
    data = json.loads(write_results_json(_rows(results), tmp_path / "r.json", late=late)
                      .read_text())
    # 3 public points of 5; 8 points in all, minus 20%: 6.4 of 14, a penalty of 1.6.
    assert data["score"] == 6.4
    visible = data["output"]
    assert visible.startswith("Public checks: 3/5 points. 2 hidden check(s) worth 9 points")
    assert "shown when grades are published" in visible
    assert "dot_product: 2 days late: -20% of the points earned." in visible
    for secret in ("8/14", "6.4", "1.6", "/14"):
        assert secret not in visible, secret
    shown = [t for t in data["tests"] if t["visibility"] == "visible"]
    assert all(t["name"].split(": ")[1] in ("a", "b") for t in shown)
    penalty = data["tests"][-1]
    assert penalty["name"] == "Late penalty" and penalty["visibility"] == "after_published"
    assert "max_score" not in penalty and "score" not in penalty
    assert penalty["output"] == ("dot_product: 2 days late: -20% of the points earned "
                                 "(-1.6 points).\nScore after the late penalty: 6.4/14.")
    for visibility, when in (("after_due_date", "after the due date"),
                             ("hidden", "to instructors only")):
        data = results_json(_rows(results), late=late, hidden_visibility=visibility)
        assert when in data["output"] and "6.4" not in data["output"]
        assert data["tests"][-1]["visibility"] == visibility
    # Hidden checks shown to students from the start: the output states everything.
    data = results_json(_rows(results), late=late, hidden_visibility="visible")
    assert data["output"] == ("8/14 points from the checks.\ndot_product: 2 days late: -20% of "
                              "the points earned (-1.6 points).\nScore after the late penalty: "
                              "6.4/14.")
    assert len(data["tests"]) == 4
    # No hidden check (grader ci): the total is the public one, stated as before.
    data = results_json(_rows(results[:2]))
    assert data["output"] == "3/5 points from the checks." and len(data["tests"]) == 2


def test_junit_has_failures_and_errors_and_only_xml_characters(tmp_path):
    results = [_result("a", "passed"), _result("b", "failed", HOSTILE),
               _result("c", "missing", "No dot_product.py.")]
    write_junit(_rows(results), tmp_path / "junit.xml")
    suites = ET.parse(tmp_path / "junit.xml").getroot()  # parses: the control bytes are gone
    assert (suites.get("tests"), suites.get("failures"), suites.get("errors")) == ("3", "1", "1")
    cases = {case.get("name"): case for case in suites.iter("testcase")}
    failure = cases["b"].find("failure")
    assert failure is not None and failure.get("type") == "failed"
    assert failure.get("message") == "50% off (0/2 points)"
    assert "::add-mask::secret" in failure.text and "\x00" not in failure.text
    assert cases["c"].find("error").get("type") == "missing"
    assert cases["a"].find("failure") is None and cases["a"].find("error") is None
    suite = next(suites.iter("testsuite"))
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert (props["points"], props["max_points"]) == ("2", "6")


def test_summary_keeps_student_text_inert():
    exercise = FIXTURE.exercise("dot_product")
    report = ExerciseReport(exercise, [_result("a", "passed"), _result("b", "failed", HOSTILE)],
                            "exercises/dot_product.py")
    text = summary_markdown([report], student="ana | <b>x</b>")
    assert "<img" not in text and "<b>" not in text and "\x00" not in text
    # Markdown: the tables; in <pre> blocks (the feedback) Markdown is not read at all.
    markdown = "".join(part.split("</pre>")[-1] for part in text.split("<pre>"))
    assert "](http" not in markdown and "http://" not in markdown and "@someone" not in markdown
    assert "&lt;img src=x" in text  # shown, as text, in the feedback block
    for row in (line for line in text.splitlines() if line.startswith("| ")):
        assert row.count("|") == 5 or row.count("|") == 6  # no pipe from the text splits a cell
    assert "2/4 points, some checks did not pass" in text


def _report(tmp_path: Path, source: str, results: list[CheckResult]) -> ExerciseReport:
    path = tmp_path / "exercises" / "dot_product.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(source)
    return ExerciseReport(FIXTURE.exercise("dot_product"), results, str(path))


SOURCE = '''import numpy as np


def dot(u, v):
    raise NotImplementedError()


def dot_all(pairs):
    p = [dot(u, v) for u, v in pairs]
    return sum(p), p
'''


def test_annotations_point_at_the_line_the_failure_is_about(tmp_path):
    results = [
        _result("dot_pinned_values", "failed",
                "Not attempted yet: `dot` still raises NotImplementedError.", stub="dot"),
        _result("dot_all_pinned_values", "error",
                "`dot_all` raised ValueError: bad (line 10, in dot_all)."),
        _result("dot_all_of_any_pairs", "failed",
                "the sum is wrong for `dot_all`:\n" + HOSTILE),
    ]
    commands = annotations([_report(tmp_path, SOURCE, results)], workspace=tmp_path)
    assert definition_lines(tmp_path / "exercises" / "dot_product.py")["dot"] == 4
    assert [c.split("::")[1] for c in commands] == [
        "error file=exercises/dot_product.py,line=10,title=dot_product%3A 1 check did not pass",
        "error file=exercises/dot_product.py,line=8,title=dot_product%3A 1 check did not pass",
        "error file=exercises/dot_product.py,line=4,title=dot_product%3A not attempted yet "
        "(1 check waits)"]
    assert "%0A::add-mask::secret" in commands[1]  # escaped inside the one command
    assert all("\n" not in c for c in commands)


def test_a_file_that_does_not_parse_is_still_annotated(tmp_path):
    results = [_result("dot_pinned_values", "error",
                       "dot_product.py has a syntax error at line 3: invalid syntax.")]
    (command,) = annotations([_report(tmp_path, "def f(:\n", results)], workspace=tmp_path)
    assert command.startswith("::error file=exercises/dot_product.py,line=3,")


def test_a_notebook_gets_file_level_annotations(tmp_path):
    path = tmp_path / "dot_product.ipynb"
    path.write_text("{}")
    results = [_result("dot_pinned_values", "error", "`f` raised E: e (line 2, in f).")]
    report = ExerciseReport(FIXTURE.exercise("dot_product"), results, str(path))
    (command,) = annotations([report], workspace=tmp_path)
    assert command.startswith("::error file=dot_product.ipynb,title=")


def test_at_most_ten_annotations_and_the_rest_counted(tmp_path):
    source = "".join(f"x{i} = 0\n" for i in range(30))
    results = [_result(f"check_{i}", "error", f"`f` raised E: e (line {i + 1}, in f).")
               for i in range(25)]
    commands = annotations([_report(tmp_path, source, results)], workspace=tmp_path)
    assert len(commands) == MAX_ANNOTATIONS
    assert commands[-1].startswith("::error title=More checks did not pass::16 more checks")


# Right for u and v of up to 4 entries: the pinned check passes, the one of any length fails.
SHORT_DOT = """import numpy as np


def dot(u, v):
    return float(np.sum(np.asarray(u)[:4] * np.asarray(v)[:4]))
"""


def test_grader_ci_writes_everything_and_exits_1_when_a_check_fails(tmp_path):
    import io

    from support import using_course

    from grader.integrations.ci.command import run_ci

    (tmp_path / "dot_product.py").write_text(SHORT_DOT)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    out = io.StringIO()
    environ = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary),
               "GITHUB_REPOSITORY": "org/autograde-ana", "GITHUB_WORKSPACE": str(tmp_path)}
    with using_course(FIXTURE_COURSE) as course:
        public = course.exercise("dot_product").public
        earned = public["dot_pinned_values"]
        code = run_ci(["dot_product"], submission=tmp_path, output=tmp_path / "ci",
                      environ=environ, stdout=out)
        assert code == 1
        log = out.getvalue().splitlines()
        start = next(i for i, line in enumerate(log) if line.startswith("::stop-commands::"))
        marker = log[start].split("::")[2]
        end = log.index(f"::{marker}::")  # the report, student text included, sits in between
        assert "FAILED: dot_of_any_two_vectors" in "\n".join(log[start:end])
        errors = [line for line in log[end:] if line.startswith("::error ")]
        assert len(errors) == 1 and errors[0].startswith("::error file=dot_product.py,line=")
        text = summary.read_text()
        assert text.startswith(f"earlier step\n## Public checks for autograde-ana: "
                               f"{earned:g}/{sum(public.values()):g} points")
        results = json.loads((tmp_path / "ci" / "results.json").read_text())
        assert results["score"] == earned
        assert ET.parse(tmp_path / "ci" / "junit.xml").getroot().get("failures") == "1"

        out = io.StringIO()  # outside GitHub: no markers, the summary on stdout as plain text
        assert run_ci(["dot_product"], submission=tmp_path, output=tmp_path / "ci2",
                      environ={}, stdout=out) == 1
    assert "::stop-commands::" not in out.getvalue()
    assert "\nPublic checks for " in out.getvalue() and "## " not in out.getvalue()


def _grader_ci(folder: Path, environ: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env.update(environ, PYTHONPATH=str(ROOT), GRADER_COURSE_ROOT=str(FIXTURE_COURSE))
    return subprocess.run([sys.executable, "-m", "grader", "ci", "dot_product", "--submission",
                           str(folder), "--output", str(folder / "ci")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_grader_ci_run_locally_prints_plain_text_and_github_gets_the_escaped_markdown(tmp_path):
    reference = (FIXTURE_COURSE / "solutions" / "dot_product.py").read_text()
    halved = reference.replace("return float(np.sum(", "return float(0.5 * np.sum(")
    assert halved != reference
    (tmp_path / "dot_product.py").write_text(halved)
    local = _grader_ci(tmp_path, {})
    assert local.returncode == 1, local.stdout + local.stderr
    summary = local.stdout.split("\nPublic checks for ", 1)[1]
    assert "  dot_product: dot_pinned_values (failed, 0/2): " \
           "dot([1, 2, 3], [4, 5, 6]) is 32" in summary
    for markup in ("&#", "<pre>", "<details>", "|---|", "## "):
        assert markup not in local.stdout, markup
    assert "Traceback" not in local.stdout + local.stderr

    step_summary = tmp_path / "summary.md"
    github = _grader_ci(tmp_path, {"GITHUB_ACTIONS": "true",
                                   "GITHUB_STEP_SUMMARY": str(step_summary)})
    assert github.returncode == 1, github.stdout + github.stderr
    assert "Public checks for " not in github.stdout  # the summary goes to GitHub only
    markdown = step_summary.read_text()
    assert markdown.startswith("## Public checks for ")
    assert "dot&#40;&#91;1, 2, 3&#93;, &#91;4, 5, 6&#93;&#41; is 32" in markdown
    assert "<details>" in markdown
