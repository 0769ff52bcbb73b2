"""The CI workflows parse as GitHub reads them, and the student's runs here step by step.

The CI workflows: both parse as GitHub reads them, and the student's runs, step by step,
on this machine (tests/workflow_runner.py) in a fresh student repository from
`grader release repo`: on the stubs it fails with annotations, on correct work it passes,
and both times results.json and junit.xml are uploaded.

What stands in for GitHub: the checkout is the released folder; actions/setup-python is a
throwaway venv that sees the project venv's installed packages through a .pth line (NumPy,
Hypothesis, ... are not downloaded again), and pip is made offline by the environment
(PIP_NO_INDEX, PIP_NO_DEPS, no build isolation). The workflow's own install step,
`python -m pip install -e .`, then runs unchanged and builds and installs the student
repository, so its `grader` command is the released copy, not this project's.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import sysconfig
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from workflow_runner import load, run_job

from grader.course.model import load_course
from grader.course.stubs import strip_markers

ROOT = Path(__file__).resolve().parents[2]
GRADER = ROOT / ".venv" / "bin" / "grader"
TEMPLATES = ROOT / "grader" / "integrations" / "ci" / "templates"
STUDENT = TEMPLATES / "student-autograde.yml"
INSTRUCTOR = TEMPLATES / "instructor-grade.yml"


def test_the_student_workflow_runs_grader_ci_on_every_push_and_needs_no_secret():
    workflow = load(STUDENT)
    assert "push" in workflow["on"]
    assert workflow["permissions"] == {"contents": "read"}
    (job,) = workflow["jobs"].values()
    runs = [step.get("run", "") for step in job["steps"]]
    assert any(run.startswith("grader ci") for run in runs)
    uploads = [s for s in job["steps"] if str(s.get("uses", "")).startswith(
        "actions/upload-artifact")]
    assert len(uploads) == 1 and "always()" in uploads[0]["if"]
    assert {"out/ci/results.json", "out/ci/junit.xml"} <= set(uploads[0]["with"]["path"].split())
    text = STUDENT.read_text()
    for secret in ("secrets.", "solutions/", "checks/hidden", "--hidden"):
        assert secret not in text


def test_the_instructor_workflow_collects_grades_reports_and_uploads():
    workflow = load(INSTRUCTOR)
    assert "workflow_dispatch" in workflow["on"]
    (job,) = workflow["jobs"].values()
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    order = [runs.index(command) for command in
             ("grader collect", "grader grade", "grader report")]
    assert order == sorted(order)
    uploads = [s for s in job["steps"] if str(s.get("uses", "")).startswith(
        "actions/upload-artifact")]
    assert uploads and uploads[-1]["with"]["path"] == "out/grades"
    # The token reaches only the step that clones, the course secret only the step that
    # grades; inputs reach scripts only through env.
    holders = {s.get("name"): sorted(set(re.findall(r"secrets\.(\w+)", json.dumps(s))))
               for s in job["steps"] if "secrets." in json.dumps(s)}
    assert holders == {"Clone student repositories": ["STUDENT_REPOS_TOKEN"],
                       "Grade": ["GRADER_COURSE_SECRET"]}
    assert "secrets." not in json.dumps({k: v for k, v in workflow.items() if k != "jobs"})
    assert "${{" not in runs


@pytest.fixture()
def checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "autograde-ana"
    run = subprocess.run([str(GRADER), "release", "repo", str(repo)], capture_output=True,
                         text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    return repo


def _python_for_the_job(tmp_path: Path) -> Path:
    """A venv standing in for actions/setup-python (see the module docstring)."""
    venv = tmp_path / "setup-python"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    site = subprocess.run([str(venv / "bin" / "python"), "-c",
                           "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "project-packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin"


def _run_student_workflow(checkout: Path, tmp_path: Path):
    bin_dir = _python_for_the_job(tmp_path)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "LANG": "C.UTF-8", "GITHUB_REPOSITORY": "course-org/autograde-ana",
           "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_NO_DEPS": "1",
           # pip's spelling: "0" turns build isolation off (it would download setuptools).
           "PIP_NO_BUILD_ISOLATION": "0"}
    workflow = load(checkout / ".github" / "workflows" / "autograde.yml")
    steps = run_job(workflow, "public-checks", checkout, path_prefix=str(bin_dir), env=env,
                    artifacts=tmp_path / "artifacts")
    by_name = {step.name: step for step in steps}
    install = by_name["Install the course"]
    assert install.status == "success", install.stdout + install.stderr
    which = subprocess.run([str(bin_dir / "python"), "-c", "import grader; print(grader.__file__)"],
                           capture_output=True, text=True, cwd="/", timeout=60)
    assert Path(which.stdout.strip()).is_relative_to(checkout), which.stdout + which.stderr
    return by_name, tmp_path / "artifacts" / "autograde-results"


def _def_line(path: Path, name: str) -> int:
    tree = ast.parse(path.read_text())
    return next(node.lineno for node in tree.body
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name)


def _no_hidden_check_named(*texts: str) -> None:
    hidden = {name for ex in load_course().exercises.values() for name in ex.hidden}
    assert hidden
    for text in texts:
        assert not [name for name in hidden if name in text]


@pytest.mark.slow
def test_student_workflow_on_the_stubs_fails_with_annotations_and_uploads_results(
        checkout, tmp_path):
    steps, artifacts = _run_student_workflow(checkout, tmp_path)
    checks = steps["Run the public checks"]
    assert checks.status == "failure" and checks.returncode == 1
    errors = [line for line in checks.stdout.splitlines() if line.startswith("::error ")]
    assert 1 <= len(errors) <= 10  # GitHub keeps 10 error annotations per step
    line = _def_line(checkout / "exercises" / "softmax_ce.py", "softmax")
    assert any(e.startswith(f"::error file=exercises/softmax_ce.py,line={line},") and
               "Not attempted yet: `softmax`, `softmax_cross_entropy` still raise" in e
               for e in errors)
    assert "## Public checks for autograde-ana: 0/" in checks.summary
    assert "| **total** |" in checks.summary and "not attempted" in checks.summary

    upload = steps["Upload results.json and JUnit"]
    assert upload.status == "success"  # after the failure: `if: always()`
    assert upload.uploaded == {"autograde-results": ["out/ci/results.json", "out/ci/junit.xml"]}
    results = json.loads((artifacts / "results.json").read_text())
    public = sum(len(ex.public) for ex in load_course().exercises.values())
    assert len(results["tests"]) == public and results["score"] == 0
    assert {t["status"] for t in results["tests"]} == {"failed"}
    suites = ET.parse(artifacts / "junit.xml").getroot()
    assert int(suites.get("tests")) == public
    assert int(suites.get("failures")) + int(suites.get("errors")) == public
    _no_hidden_check_named(checks.stdout, checks.summary, json.dumps(results))


@pytest.mark.slow
def test_student_workflow_on_correct_work_passes(checkout, tmp_path):
    for ex_id in load_course().exercises:
        reference = strip_markers((ROOT / "solutions" / f"{ex_id}.py").read_text())
        (checkout / "exercises" / f"{ex_id}.py").write_text(reference)
    steps, artifacts = _run_student_workflow(checkout, tmp_path)
    checks = steps["Run the public checks"]
    assert checks.status == "success", checks.stdout[-3000:] + checks.stderr
    assert "::error" not in checks.stdout
    points = sum(sum(ex.public.values()) for ex in load_course().exercises.values())
    assert f"{points:g}/{points:g} points, all checks passed" in checks.summary
    assert "Checks that did not pass" not in checks.summary
    assert steps["Upload results.json and JUnit"].status == "success"
    results = json.loads((artifacts / "results.json").read_text())
    assert results["score"] == points
    assert {t["status"] for t in results["tests"]} == {"passed"}
    suites = ET.parse(artifacts / "junit.xml").getroot()
    assert (suites.get("failures"), suites.get("errors")) == ("0", "0")
