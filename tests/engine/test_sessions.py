"""Worker sessions: the exercises of one submission share a worker while it is healthy."""

from __future__ import annotations

import os

import pytest

from grader.engine.sessions import SubmissionWorker, WorkerSession
from grader.engine.time_limit import TimeLimitExceeded, time_limit

SECOND = "import os\ndef pid():\n    return os.getpid()\n"
FIRST = SECOND + "def hang():\n    while True:\n        pass\n"


@pytest.fixture
def files(tmp_path):
    (tmp_path / "first.py").write_text(FIRST)
    (tmp_path / "second.py").write_text(SECOND)
    return tmp_path


def _pid_in(session: WorkerSession) -> int:
    impl = session.open()
    try:
        session.before_check()
        return impl.pid()
    finally:
        session.close()


def test_exercises_of_a_submission_share_a_healthy_worker(files):
    shared = SubmissionWorker()
    try:
        first = _pid_in(WorkerSession(files / "first.py", "first", shared=shared))
        second = _pid_in(WorkerSession(files / "second.py", "second", shared=shared))
        assert first == second
    finally:
        shared.discard()


def test_a_worker_cut_off_mid_call_is_not_passed_on(files):
    shared = SubmissionWorker()
    try:
        session = WorkerSession(files / "first.py", "first", shared=shared)
        impl = session.open()
        session.before_check()
        first = impl.pid()
        with pytest.raises(TimeLimitExceeded), time_limit(0.3):
            impl.hang()
        session.close()
        second = _pid_in(WorkerSession(files / "second.py", "second", shared=shared))
        assert second != first
    finally:
        shared.discard()


def test_a_session_without_a_shared_worker_closes_its_own(files):
    session = WorkerSession(files / "second.py", "second")
    pid = session.open().pid()
    session.close()
    with pytest.raises(ProcessLookupError):  # killed and reaped
        os.kill(pid, 0)


def test_an_attribute_error_inside_a_method_is_an_error_in_it_not_a_missing_method(tmp_path):
    """A typo inside Momentum.step (self.learning_rate) is reported as the AttributeError it
    is, by both engines; only a method that is not there is "missing"."""
    from pathlib import Path

    from grader.course.model import load_course
    from grader.course.stubs import strip_markers
    from grader.engine.run_check import grade_exercise
    from grader.engine.sessions import InProcessSession

    root = Path(__file__).resolve().parents[2]
    reference = strip_markers((root / "solutions" / "optimizers.py").read_text())
    start = reference.index("class Momentum")
    end = reference.index("class Adam")
    momentum = reference[start:end].replace("v -= self.lr * g", "v -= self.learning_rate * g")
    assert momentum != reference[start:end]
    path = tmp_path / "optimizers.py"
    path.write_text(reference[:start] + momentum + reference[end:])
    exercise = load_course().exercise("optimizers")
    for session in (WorkerSession(path, "optimizers"), InProcessSession(path, "optimizers")):
        results = [r for r in grade_exercise(exercise, session=session, include_hidden=False)
                   if r.status != "passed"]
        assert results, type(session).__name__
        assert all(r.status != "missing" for r in results), [r.message for r in results]
        assert any("AttributeError" in r.message and "learning_rate" in r.message
                   for r in results), [r.message for r in results]
