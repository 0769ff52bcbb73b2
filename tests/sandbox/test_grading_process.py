"""The fresh grading process: no root, nothing that outlives the student, no carried state.

The fresh grading process: no root, nothing writable that outlives the student, no state
carried to the next student, a memory limit of its own, and results checked by the template.

Each scenario runs in a template process of its own (a fresh interpreter that forks the
grading processes), as a grading pool's template does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support import FIXTURE_COURSE, using_course

from grader.authoring.checks import checks_for
from grader.grading.grade_class import _checked_results
from grader.sandbox.grading_process import GRADING_UID_BASE, GradingProcessFailed
from grader.sandbox.isolation import WORKER_UID_BASE

ROOT = Path(__file__).resolve().parents[2]
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="the uid drop needs root")


def _template(tmp_path: Path, body: str) -> dict:
    """Run BODY in a fresh template interpreter; it prints one JSON line, returned here."""
    script = tmp_path / "template.py"
    script.write_text("import json, os, sys\n"
                      "from grader.sandbox import grading_process\n"
                      "from grader.sandbox.launcher import DirectLauncher\n"
                      + textwrap.dedent(body))
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


PROBE = """
def probe(launcher, level):
    import os
    def can(action):
        try:
            action()
            return True
        except OSError:
            return False
    return {
        "uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(),
        "groups": os.getgroups(), "pid": os.getpid(), "level": level,
        "read_course": can(lambda: open(os.path.join(COURSE, "course_config.py")).read(1)),
        "read_checks": can(lambda: os.listdir(os.path.join(COURSE, "tests", "checks"))),
        "write_course": can(lambda: open(os.path.join(COURSE, "course_config.py"), "a")),
        "write_output": can(lambda: open(os.path.join(OUT, "gradebook.csv"), "a")),
        "create_in_output": can(lambda: open(os.path.join(OUT, "new.txt"), "w")),
        "write_cache": can(lambda: open(os.path.join(CACHE, "x.json"), "w")),
        "read_cache": can(lambda: os.listdir(CACHE)),
        "fds": sorted(int(n) for n in os.listdir("/proc/self/fd")),
    }
"""


@as_root
def test_the_grading_process_runs_without_root_and_can_write_nothing_that_lasts(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "gradebook.csv").write_text("student\n")
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    (cache / "x.json").write_text("{}")
    got = _template(tmp_path, f"""
        COURSE, OUT, CACHE = {str(ROOT)!r}, {str(out)!r}, {str(cache)!r}
        {textwrap.indent(PROBE, "        ").strip()}
        result, level = grading_process.run(probe, DirectLauncher(), deadline_s=30)
        print(json.dumps(result))
    """)
    assert got["uid"] == got["euid"] == got["gid"] != 0
    assert got["uid"] >= GRADING_UID_BASE and not (
        WORKER_UID_BASE <= got["uid"] < WORKER_UID_BASE + 2**22)
    assert got["groups"] == []
    assert got["read_course"] and got["read_checks"]
    assert not (got["write_course"] or got["write_output"] or got["create_in_output"]
                or got["write_cache"] or got["read_cache"])
    assert got["pid"] == 1 and got["level"] == "fresh+pidns+rlimits+uid"
    # Only its own ends are open: not the template's pool channel, not its files.
    assert len(got["fds"]) <= 7, got["fds"]


def test_nothing_a_grading_process_changes_reaches_the_next_student(tmp_path):
    got = _template(tmp_path, """
        import grader.engine.run_check, numpy
        def tamper(launcher, level):
            grader.engine.run_check.passes_known_examples = lambda *a, **k: True
            numpy.allclose = lambda *a, **k: True
            grading_process.GRADING_UID_BASE = -1
            return {"tampered": True}
        def look(launcher, level):
            return {"replay": grader.engine.run_check.passes_known_examples.__module__,
                    "allclose": numpy.allclose(1.0, 2.0),
                    "base": grading_process.GRADING_UID_BASE}
        launcher = DirectLauncher()
        first, _ = grading_process.run(tamper, launcher, deadline_s=30)
        second, _ = grading_process.run(look, launcher, deadline_s=30)
        print(json.dumps({**first, **second}))
    """)
    assert got == {"tampered": True, "replay": "grader.engine.replay", "allclose": False,
                   "base": GRADING_UID_BASE}


def test_a_grading_process_has_a_memory_limit_of_its_own(tmp_path):
    got = _template(tmp_path, """
        def hog(launcher, level):
            try:
                blob = bytearray(2 * 2**30)
                return {"allocated": len(blob)}
            except MemoryError:
                return {"allocated": 0}
        print(json.dumps(grading_process.run(hog, DirectLauncher(), deadline_s=30)[0]))
    """)
    assert got == {"allocated": 0}


def test_a_grading_process_that_dies_or_overruns_is_reported_not_trusted(tmp_path):
    got = _template(tmp_path, """
        import signal, time
        outcomes = {}
        for name, work in {
                "exits": lambda l, v: os._exit(3),
                "raises": lambda l, v: 1 / 0,
                "not_json": lambda l, v: {"x": float("nan")},
                "overruns": lambda l, v: time.sleep(60)}.items():
            start = time.monotonic()
            try:
                grading_process.run(work, DirectLauncher(), deadline_s=2)
                outcomes[name] = "returned"
            except grading_process.GradingProcessFailed as e:
                outcomes[name] = [str(e)[:60], round(time.monotonic() - start)]
        print(json.dumps(outcomes))
    """)
    assert got["exits"][0] == "the grading process exited with 3"
    assert got["raises"][0].startswith("the grading process failed")
    assert got["not_json"][0].startswith("the grading process failed")
    assert got["overruns"] == ["the grading process overran its time", 2]


def test_workers_are_started_by_the_template_and_die_with_the_grading_process(tmp_path):
    """The grading process asks the template for a worker; when it is killed, the kernel
    kills its worker with it (the worker is in its pid namespace)."""
    got = _template(tmp_path, """
        import time
        from grader.engine.remote import WorkerProcess
        def grade(launcher, level):
            worker = WorkerProcess(launcher=launcher)
            os._exit(5)
        launcher = DirectLauncher()
        try:
            grading_process.run(grade, launcher, deadline_s=30)
        except grading_process.GradingProcessFailed as e:
            why = str(e)
        process = launcher._running[1].process
        deadline = time.monotonic() + 5
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        print(json.dumps({"why": why, "worker_exit": process.poll(),
                          "started": launcher.started}))
    """)
    assert got["started"] == 1
    assert got["why"] == "the grading process exited with 5"
    if os.geteuid() == 0:  # in its pid namespace: killed by the kernel, at once
        assert got["worker_exit"] == -9


# ------------------------------------------------------------ what comes back is checked


# What comes back is checked against the fixture course's checks: a test of the template's
# checking, not of the real course's checks.
EXERCISE = "vector_scale"


@pytest.fixture
def course():
    with using_course(FIXTURE_COURSE) as course:
        yield course


def _honest(exercise: str = EXERCISE) -> list[list]:
    return [[c.exercise, c.name, "failed", "why", 0.01, True, ""]
            for c in checks_for(exercise, include_hidden=True)]


def _out(results: list, **extra) -> dict:
    return {"results": results, "log": "", **extra}


def test_scores_come_from_the_course_not_from_the_grading_process(course):
    reported = _honest()
    reported[0][2] = "passed"
    rows = _checked_results(_out(reported), course)
    by_name = {r.check: r for r in rows}
    first = checks_for(EXERCISE, include_hidden=True)[0]
    assert by_name[first.name].score == first.points
    assert all(r.score == 0 for r in rows if r.check != first.name)
    # Checks it did not report are recorded as crashed, with no points.
    others = [r for r in rows if r.exercise != EXERCISE]
    assert others and all(r.status == "crashed" and r.score == 0 for r in others)


FIRST = "{first}"  # stands for the name of the exercise's first check


@pytest.mark.parametrize("bad", [
    "not a dict", {"results": "x", "log": ""},
    _out([[EXERCISE, "no_such_check", "passed", "", 0.0, True, ""]]),
    _out([["other_course", "x", "passed", "", 0.0, True, ""]]),
    _out([[None, None, "passed", "", 0.0, True, ""]]),
    _out([[EXERCISE, FIRST, "excellent", "", 0.0, True, ""]]),
    _out([[EXERCISE, FIRST, "passed", 3, 0.0, True, ""]]),
    _out([[EXERCISE, FIRST, "passed", "", -1.0, True, ""]]),
    _out([[EXERCISE, FIRST, "passed", "", 0.0, True, "", 22.0]]),
    _out([[EXERCISE, FIRST, "passed", "", 0.0]]),  # no attempted, no function
    _out([[EXERCISE, FIRST, "passed", "", 0.0, 1, ""]]),  # attempted: a bool only
    _out([[EXERCISE, FIRST, "passed", "", 0.0, False, "f"]]),  # a stub cannot pass
    _out([[EXERCISE, FIRST, "failed", "", 0.0, False, None]]),
    _out([[EXERCISE, FIRST, "failed", "", 0.0, True, ""],
          [EXERCISE, FIRST, "passed", "", 0.0, True, ""]]),
    {"results": [], "log": None},
    {"results": None, "log": ""},
])
def test_a_malformed_result_is_refused(course, bad):
    first = checks_for(EXERCISE, include_hidden=True)[0].name
    bad = json.loads(json.dumps(bad).replace(FIRST, first))
    with pytest.raises(GradingProcessFailed):
        _checked_results(bad if type(bad) is dict else {"results": bad}, course)


def test_the_rows_are_those_the_checks_would_have_given(course):
    """Statement, visibility and points come from the check itself."""
    rows = _checked_results(_out(_honest()), course)
    checks = {c.name: c for c in checks_for(EXERCISE, include_hidden=True)}
    for r in rows[:len(checks)]:
        c = checks[r.check]
        assert (r.statement, r.hidden, r.max_score) == (c.statement, c.hidden, c.points)
    assert json.dumps([r.message for r in rows[:len(checks)]]) == json.dumps(
        ["why"] * len(checks))


def test_a_stub_stays_not_attempted_across_the_grading_process(course):
    """`attempted` and `function` are fields of the result that crosses, not read from its
    message: a stub keeps them, and a message that only looks like a stub's does not
    become one."""
    reported = _honest()
    reported[0][2:] = ["failed", "anything", 0.01, False, "scale"]
    reported[1][3] = "Not attempted yet: `scale` still raises NotImplementedError."
    rows = _checked_results(_out(reported), course)
    assert (rows[0].attempted, rows[0].function, rows[0].label) == \
        (False, "scale", "not attempted")
    assert (rows[1].attempted, rows[1].function, rows[1].label) == (True, "", "failed")


def test_a_killed_template_takes_its_grading_process_and_workers_with_it(tmp_path):
    """kill -9 of the template (as when `grader grade` is killed) while the worker is busy in
    student code: the grading process dies by its death signal and the worker with it, by the
    kernel, not by noticing that its channel closed."""
    import signal
    import time

    from support import leftover_processes, processes, run_tmpdir

    marker = run_tmpdir(tmp_path)
    (marker / "spin.py").write_text("def spin():\n    while True:\n        pass\n")
    (marker / "spin.py").chmod(0o644)
    script = tmp_path / "template.py"
    script.write_text(textwrap.dedent(f"""
        from pathlib import Path
        from grader.sandbox import grading_process
        from grader.engine.sessions import WorkerSession
        from grader.sandbox.launcher import DirectLauncher
        from grader.engine.remote import RemoteImplementation, WorkerProcess
        def grade(launcher, level):
            worker = WorkerProcess(launcher=launcher)
            names, notes = worker.load(Path({str(marker / "spin.py")!r}), "spin", None)
            RemoteImplementation(worker, "spin", names, notes).spin()
            return {{}}
        grading_process.run(grade, DirectLauncher(), deadline_s=300,
                            readable=({str(marker)!r},))
    """))
    before = processes()
    template = subprocess.Popen([sys.executable, str(script)], cwd=ROOT,
                                env={**os.environ, "TMPDIR": str(marker)},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not leftover_processes(before, marker) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(leftover_processes(before, marker)) == 1, "the worker should be running"
    assert len(leftover_processes(before, script)) == 2  # the template and its child
    time.sleep(0.5)  # in spin() by now
    os.kill(template.pid, signal.SIGKILL)
    template.wait(timeout=10)
    assert leftover_processes(before, script, grace_s=2.0) == []
    assert leftover_processes(before, marker, grace_s=2.0) == []


def test_a_template_grading_from_another_thread_sees_each_dead_worker(tmp_path):
    """A Dask worker grades in a task thread, not its main one: every worker the submission
    kills (os._exit in each call) is `crashed` each time, as from the main thread, and none
    is waited for until the time limit (pid_for_children is per thread)."""
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "softmax_ce.py").write_text(
        "import os\nimport numpy as np\n"
        "def softmax(z):\n"
        "    e = np.exp(z - z.max(axis=1, keepdims=True))\n"
        "    return e / e.sum(axis=1, keepdims=True)\n"
        "def softmax_cross_entropy(logits, y):\n    os._exit(0)\n")
    out = _template(tmp_path, f"""
        import threading, time
        from pathlib import Path
        from grader.grading.grade_class import (grade_files, prepare_grading_process,
                                                read_submission)
        prepare_grading_process({str(ROOT)!r})
        files, unusable = read_submission(Path({str(submission)!r}), ["softmax_ce"])
        seen = {{}}
        def grade(where):
            start = time.monotonic()
            graded = grade_files(files, unusable, ["softmax_ce"])
            seen[where] = ([r[2] for r in graded["out"]["results"]],
                           time.monotonic() - start)
        grade("main")
        thread = threading.Thread(target=grade, args=("thread",))
        thread.start()
        thread.join()
        print(json.dumps(seen))
    """)
    main, in_main_s = out["main"]
    thread, in_thread_s = out["thread"]
    assert thread == main
    assert main.count("crashed") >= 5 and "timeout" not in main
    assert in_thread_s < 20, f"{in_thread_s:.1f} s: a dead worker was waited for"
