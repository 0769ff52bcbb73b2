"""Grading on a real Dask cluster (`--scheduler`) gives the local pool's rows, survives a killed
worker and a killed coordinator, and refuses a worker whose grader differs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from support import (
    GRADER,
    REFERENCE,
    ROOT,
    committed_students,
    course_copy,
    leftover_processes,
    processes,
    run_tmpdir,
    softmax_class,
)

from grader.grading.dask_executor import NO_FIXED_PORT, mismatch, parse_scheduler
from grader.submission.mistakes import UsageError

DASK = ROOT / ".venv" / "bin" / "dask"
ROW = ["student", "exercise", "check", "status", "score", "message"]


def test_scheduler_values():
    assert parse_scheduler("local:2") == 2
    assert parse_scheduler("tcp://head:8786") == "tcp://head:8786"
    for bad in ("local:0", "local:x", "local:", "tcp://a b"):
        with pytest.raises(UsageError):
            parse_scheduler(bad)


def test_a_mismatch_names_what_differs():
    here = {"numpy": "2.1.0", "grader": "0.1.0", "tests/checks/public/test_softmax_ce.py": "a",
            "exercise softmax_ce": "k1", "exercise mlp_backprop": "k2"}
    there = {**here, "numpy": "2.2.0", "tests/checks/public/test_softmax_ce.py": "b",
             "exercise softmax_ce": "k3"}
    line = mismatch("tcp://127.0.0.1:4321", here, there)
    assert line.startswith("Dask worker tcp://127.0.0.1:4321 has another grader: numpy 2.1.0 "
                           "here vs 2.2.0 there, tests/checks/public/test_softmax_ce.py "
                           "differs (so the grader key of exercise softmax_ce differs).")


def _grade(root: Path, out: Path, course: Path, *extra: str, marker: Path | None = None,
           timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRADER_COURSE_ROOT": str(course)}
    if marker is not None:
        env["TMPDIR"] = str(marker)
    return subprocess.run([str(GRADER), "grade", str(root), "--output", str(out), *extra],
                          cwd=course, env=env, capture_output=True, text=True, timeout=timeout)


def _rows(out: Path) -> pd.DataFrame:
    frame = pd.read_csv(out / "gradebook.csv", keep_default_na=False)[ROW]
    return frame.sort_values(ROW[:3]).reset_index(drop=True)


def test_bad_scheduler_values_get_one_line(tmp_path):
    (tmp_path / "class" / "ada").mkdir(parents=True)
    for value, words in (("local:0", "local:N needs a number of workers"),
                         ("local:x", "local:N needs a number of workers")):
        run = _grade(tmp_path / "class", tmp_path / "out", ROOT, "--scheduler", value)
        assert run.returncode == 2
        assert run.stderr.strip().count("\n") == 0 and words in run.stderr, run.stderr


@pytest.mark.slow
def test_an_unreachable_scheduler_gets_one_line(tmp_path):
    (tmp_path / "class" / "ada").mkdir(parents=True)
    run = _grade(tmp_path / "class", tmp_path / "out", ROOT, "--scheduler",
                 f"tcp://127.0.0.1:{_free_port()}")
    assert run.returncode == 2
    assert run.stderr.startswith("grader grade: could not reach the Dask scheduler at "
                                 "tcp://127.0.0.1:"), run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.slow
def test_the_demo_class_and_the_attacks_get_the_local_pools_rows(tmp_path):
    """One class: the demo students (every exercise) and each attack of the attack suite
    (softmax_ce), graded by `--scheduler local:2` and by the local pool."""
    from system.test_attacks import ATTACKS

    # An attack that kills its sandboxed worker in every check (os._exit, a memory bomb)
    # takes about 3.5 s of its exercise's time on an idle machine, wherever it runs: under
    # a 4 s limit its later checks are `timeout` or not by chance, in the local pool too.
    course = course_copy(tmp_path, time_limit_s=12)
    root = tmp_path / "class"
    shutil.copytree(ROOT / "demo" / "submissions", root, symlinks=True)
    for name, (attack, honest) in ATTACKS.items():
        (root / f"attack_{name}").mkdir()
        (root / f"attack_{name}" / "softmax_ce.py").write_text(honest + "\n" + attack)
    (root / "bystander").mkdir()
    (root / "bystander" / "softmax_ce.py").write_text(REFERENCE)
    before = processes()
    marker = run_tmpdir(tmp_path)
    dask = _grade(root, tmp_path / "dask", course, "--scheduler", "local:2", marker=marker)
    assert dask.returncode == 0, dask.stderr[-3000:]
    assert "on 2 Dask worker(s)" in dask.stdout and "students/s" in dask.stdout
    local = _grade(root, tmp_path / "local", course, "--workers", "2", "--quiet")
    assert local.returncode == 0, local.stderr[-3000:]
    dask_rows, local_rows = _rows(tmp_path / "dask"), _rows(tmp_path / "local")
    assert len(dask_rows) > 400
    # The output flood spends about 2 s per check filling the output cap: which of its
    # checks the time limit cuts depends on the machine's speed at that moment, in the local
    # pool too. Deterministic: it earns nothing, each check an error or a timeout.
    for rows in (dask_rows, local_rows):
        flood = (rows.student == "attack_output_flood") & (rows.exercise == "softmax_ce")
        assert set(rows[flood].status) <= {"error", "timeout"} and rows[flood].score.sum() == 0
        rows.loc[flood, ["status", "message"]] = "(timing-dependent)"
    differ = (dask_rows != local_rows).any(axis=1)
    assert not differ.any(), pd.concat([dask_rows[differ], local_rows[differ]]).to_string()[:3000]
    isolation = pd.read_csv(tmp_path / "dask" / "gradebook.csv", keep_default_na=False)
    assert (isolation.isolation != "none").sum() > 0
    assert leftover_processes(before, marker, grace_s=5.0) == []


# ------------------------------------------------------------------ a cluster of our own


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """A `dask scheduler` process on this machine, as a cluster's head node runs it."""
    port = _free_port()
    log = tmp_path_factory.mktemp("scheduler") / "scheduler.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port",
                                str(port), "--no-dashboard"], env=env,
                               stdout=subprocess.DEVNULL, stderr=log.open("w"))
    address = f"tcp://127.0.0.1:{port}"
    _wait_for(lambda: _reachable(port), 30, "the scheduler")
    yield address
    process.terminate()
    process.wait(timeout=30)


def _reachable(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not come up"
        time.sleep(0.1)


def _worker(address: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    """A `dask worker` process without a nanny: killing it kills the worker itself."""
    return subprocess.Popen([str(DASK), "worker", address, "--nthreads", "1", "--no-nanny",
                             "--no-dashboard"], env={**os.environ, "PYTHONPATH": str(ROOT),
                                                     **env},
                            stdout=subprocess.DEVNULL, stderr=log.open("w"),
                            start_new_session=True)


def _workers_up(address: str, n: int) -> None:
    from distributed import Client

    with Client(address, timeout=30) as client:
        client.wait_for_workers(n, timeout=60)


def _children(pid: int) -> list[int]:
    """The children of every thread of PID (a Dask worker forks from its task thread)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def _stop(*workers: subprocess.Popen) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


@pytest.mark.slow
def test_a_killed_worker_loses_nobody(tmp_path, scheduler):
    course = course_copy(tmp_path)
    root = tmp_path / "class"
    names = softmax_class(root, 8)
    out = tmp_path / "out"
    env = {"GRADER_COURSE": str(course)}
    first = _worker(scheduler, env, tmp_path / "w1.log")
    second = _worker(scheduler, env, tmp_path / "w2.log")
    try:
        _workers_up(scheduler, 2)
        grade = subprocess.Popen(
            [str(GRADER), "grade", str(root), "--output", str(out), "--scheduler", scheduler],
            cwd=course, env={**os.environ, "GRADER_COURSE_ROOT": str(course)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Killed while it grades a student (a grading process of its own is running), with
        # at least one student committed.
        _wait_for(lambda: committed_students(out / "gradebook.sqlite") >= 1
                  and _children(first.pid) or grade.poll() is not None, 120, "grading")
        assert grade.poll() is None, "the kill should land mid-run"
        os.kill(first.pid, signal.SIGKILL)
        stdout, stderr = grade.communicate(timeout=300)
    finally:
        _stop(first, second)
    assert grade.returncode == 0, stderr[-3000:]
    frame = pd.read_csv(out / "gradebook.csv", keep_default_na=False)
    assert sorted(frame.student.unique()) == names
    assert frame.groupby("student").size().nunique() == 1  # every student once, all checks
    assert "crashed" not in set(frame.status)
    softmax = frame[frame.exercise == "softmax_ce"]  # the one exercise they submitted
    full = softmax.groupby("student").max_score.sum().max()
    scores = softmax.groupby("student").score.sum()
    assert all(scores[n] == full for n in names[::2])
    assert all(scores[n] < full for n in names[1::2])
    assert f"Graded {len(names)} student(s)" in stdout


@pytest.mark.slow
def test_a_worker_with_another_grader_is_refused(tmp_path, scheduler):
    course = course_copy(tmp_path / "here")
    other = course_copy(tmp_path / "there")
    check = other / "tests" / "checks" / "public" / "test_softmax_ce.py"
    check.write_text(check.read_text() + "\n# changed on this node\n")
    root = tmp_path / "class"
    softmax_class(root, 2)
    worker = _worker(scheduler, {"GRADER_COURSE": str(other)}, tmp_path / "w.log")
    try:
        _workers_up(scheduler, 1)
        run = _grade(root, tmp_path / "out", course, "--scheduler", scheduler)
    finally:
        _stop(worker)
    assert run.returncode == 2
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("grader grade: Dask worker tcp://127.0.0.1:"), run.stderr[-2000:]
    assert "has another grader: tests/checks/public/test_softmax_ce.py differs" in last
    assert committed_students(tmp_path / "out" / "gradebook.sqlite") == 0


@pytest.mark.slow
def test_kill_9_of_the_coordinator_keeps_what_it_committed(tmp_path):
    course = course_copy(tmp_path)
    root = tmp_path / "class"
    names = softmax_class(root, 8)
    out = tmp_path / "out"
    db = out / "gradebook.sqlite"
    marker = run_tmpdir(tmp_path)
    env = {**os.environ, "GRADER_COURSE_ROOT": str(course), "TMPDIR": str(marker)}
    cmd = [str(GRADER), "grade", str(root), "--output", str(out), "--scheduler", "local:2",
           "--quiet"]
    before = processes()
    first = subprocess.Popen(cmd, cwd=course, env=env, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(lambda: committed_students(db) >= 2 or first.poll() is not None, 120, "grading")
    os.killpg(first.pid, signal.SIGKILL)  # the coordinator and its local cluster, at once
    first.wait(timeout=10)
    kept = committed_students(db)
    assert 2 <= kept < len(names), "the kill should land mid-run"
    assert leftover_processes(before, marker, grace_s=5.0) == []

    second = subprocess.run(cmd[:-1], cwd=course, env=env, capture_output=True, text=True,
                            timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    assert f"Graded {len(names) - kept} student(s)" in second.stdout
    assert f"{kept} unchanged since the last run" in second.stdout
    frame = pd.read_csv(out / "gradebook.csv", keep_default_na=False)
    assert sorted(frame.student.unique()) == names
    assert "crashed" not in set(frame.status)


def _kill_my_worker_for_poison(text: str) -> str:
    """A task that takes its Dask worker down (os._exit, as a crash of the grader's own code
    would) for the job "poison", and answers the others."""
    if text == "poison":
        os._exit(1)
    return f"graded {text}"


@pytest.mark.slow
def test_a_job_that_kills_its_worker_is_crashed_once_after_the_bounded_tries():
    """Student code cannot kill a Dask worker (it runs in sandboxed workers of a grading
    process the Dask worker forks); a job that kills it anyway (a grader bug, the OOM killer)
    is tried on new workers `allowed-failures` times more, then recorded `crashed` once (to
    be tried again by the next run, not forever in this one), and the other students are
    graded."""
    import dask
    from distributed import Client, LocalCluster

    from grader.grading.dask_executor import ONE_JOB_PER_WORKER, DaskExecutor
    from grader.grading.grade_class import Job, lost_job

    jobs = [Job(name, "", "") for name in ("ada", "poison", "ben", "cai")]
    # The scheduler as local:N configures it; one retry instead of three keeps it short.
    with dask.config.set({**ONE_JOB_PER_WORKER, "distributed.scheduler.allowed-failures": 1}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                         dashboard_address=None, scheduler_kwargs=NO_FIXED_PORT
                         ) as cluster, Client(cluster) as client:
        executor = DaskExecutor(
            client, _kill_my_worker_for_poison, encode=lambda job: job.student,
            decode=lambda job, text, worker: {"student": job.student, "text": text},
            lost=lost_job)
        results = list(executor.results(jobs))
        client.wait_for_workers(2, timeout=60)  # their nannies restarted them
    by_student = {r["student"]: r for r in results}
    assert len(results) == len(jobs) and set(by_student) == {j.student for j in jobs}
    assert [by_student[n]["text"] for n in ("ada", "ben", "cai")] == [
        "graded ada", "graded ben", "graded cai"]
    poisoned = by_student["poison"]["rows"]
    assert poisoned and {row["status"] for row in poisoned} == {"crashed"}
    # The reason is the instructor's (the run's log); the row says it is graded next run.
    assert "KilledWorker" in by_student["poison"]["why"], by_student["poison"]["why"]
    assert "graded again on the next run" in poisoned[0]["message"]


TRACER = """
import importlib.abc, sys, threading

late = []

class Record(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in sys.modules and threading.active_count() > 1 \\
                and threading.current_thread() is threading.main_thread():
            late.append(name)

if __name__ == "__main__":
    sys.meta_path.insert(0, Record())
    from grader.cli import main
    code = main(sys.argv[2:])
    open(sys.argv[1], "w").write("\\n".join(late))
    sys.exit(code)
"""


@pytest.mark.slow
def test_the_coordinator_imports_nothing_while_dask_threads_run(tmp_path):
    """Two threads importing one package at once can see it half made (a run once failed on
    "No module named 'numpy.random'"): `grade --scheduler` imports what it needs before
    Dask's threads start, so its main thread imports no module after."""
    course = course_copy(tmp_path)
    softmax_class(tmp_path / "class", 2)
    (tmp_path / "tracer.py").write_text(TRACER)
    late = tmp_path / "late.txt"
    run = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), str(tmp_path / "tracer.py"), str(late),
         "grade", str(tmp_path / "class"), "--output", str(tmp_path / "out"),
         "--scheduler", "local:1", "--quiet"],
        cwd=course, env={**os.environ, "GRADER_COURSE_ROOT": str(course),
                         "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert late.read_text().split() == []


class _RecomputedFuture:
    """A future as_completed gave as done whose result was then lost with its worker (the
    worker died running another job): Dask computes it again, and exception() waits for
    that. WHY is the recomputation's error, or None when it finished."""

    def __init__(self, why: BaseException | None) -> None:
        self.status, self.why = "lost", why

    def exception(self) -> BaseException | None:
        self.status = "error" if self.why else "finished"
        return self.why

    def result(self) -> str:
        if self.why:
            raise self.why
        return json.dumps({"worker": "tcp://10.0.0.7:4242", "result": "graded ada"})


class _RunningClient:
    status = "running"


def test_a_result_lost_with_its_worker_is_waited_for_not_recorded_lost():
    """Seen under load in make test: ada's job finished on a worker that then died running
    another job; her future was no longer finished when its turn came, and she was recorded
    crashed although Dask computed her result again."""
    from grader.grading.dask_executor import DaskExecutor

    executor = DaskExecutor(_RunningClient(), str, encode=str,
                            decode=lambda job, text, worker: ("graded", job, text, worker),
                            lost=lambda job, error: ("lost", job, error), window=1)
    assert executor._result("ada", _RecomputedFuture(None)) == (
        "graded", "ada", "graded ada", "tcp://10.0.0.7:4242")
    assert executor.workers == {"tcp://10.0.0.7:4242"}
    died = RuntimeError("KilledWorker: it died again")
    assert executor._result("ben", _RecomputedFuture(died)) == ("lost", "ben", died)
