"""The executor (grader.grading.executor): every job gives one result, a lost job its own only."""

from __future__ import annotations

import math
import os

from grader.grading.executor import InProcess, LocalPool


def _lost(job: float, error: BaseException) -> tuple[str, float, str]:
    return ("lost", job, type(error).__name__)


def test_results_come_for_every_job_and_a_failing_job_gives_its_lost_result():
    for executor in (LocalPool(math.sqrt, 2, lost=_lost), InProcess(math.sqrt, lost=_lost)):
        with executor:
            got = list(executor.results([4.0, -1.0, 9.0]))
        assert sorted(got, key=str) == sorted([2.0, ("lost", -1.0, "ValueError"), 3.0],
                                              key=str)


def test_a_process_that_dies_loses_its_job_and_the_executor_still_closes():
    with LocalPool(os._exit, 1, lost=_lost, start_now=True) as pool:
        processes = list(pool._pool._processes.values())
        assert list(pool.results([3])) == [("lost", 3, "BrokenProcessPool")]
    assert not any(p.is_alive() for p in processes)
