"""The audit is part of the test suite: every known-wrong implementation must lose points."""

import subprocess
import sys

import pytest


@pytest.mark.slow
def test_audit_proves_the_checks():
    """References full marks x5 and deterministic, stubs zero, no survivor, no false failure."""
    run = subprocess.run([sys.executable, "-m", "grader", "audit"], capture_output=True,
                         text=True, timeout=600)
    print(run.stdout)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "every known-wrong implementation lost points" in run.stdout


@pytest.mark.slow
def test_the_worker_engine_agrees_with_the_in_process_one():
    """The whole audit through workers, the way `grader grade` runs submissions: the proxy
    must change no verdict, neither of honest code nor of a known mistake (a params dict
    rewritten by student code, say, must be as visible as in one process). The engines'
    agreement is shown on the local examples; the in-process audit covers the graded ones."""
    code = (
        "import sys\n"
        "from grader.grading.audit import audit\n"
        "sys.exit(audit(engine='worker', reference_runs=2, graded=False))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=900)
    print(run.stdout)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "engine worker; examples: local" in run.stdout
    assert "every known-wrong implementation lost points" in run.stdout
