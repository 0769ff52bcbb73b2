"""Worker sessions: the exercises of one submission share a worker while it is healthy."""

from __future__ import annotations

import os

import pytest

from grader.engines import SubmissionWorker, WorkerSession
from grader.limits import TimeLimitExceeded, time_limit

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
