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
    assert "Every known-wrong implementation lost points" in run.stdout
