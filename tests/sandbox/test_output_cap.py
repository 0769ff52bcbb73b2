"""A worker's output is capped, drained without stalling it, and never hangs the grader.

grader.sandbox.output_cap with real child processes: the head is kept, the rest counted and
dropped, the child never waits on a full pipe, and finishing never hangs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from grader.sandbox.output_cap import CappedOutput


def run_child(code: str, limit: int, timeout: float = 20) -> tuple[str, float]:
    output = CappedOutput(limit)
    start = time.perf_counter()
    try:
        proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL,
                                stdout=output.write_fd, stderr=output.write_fd)
    finally:
        output.child_started()
    try:
        proc.wait(timeout=timeout)
    finally:
        proc.kill()
        proc.wait()
    return output.finish(), time.perf_counter() - start


def test_short_output_is_kept_whole_from_both_streams():
    text, _ = run_child("import sys; print('to stdout', flush=True); "
                        "sys.stderr.write('to stderr\\n')", limit=1024)
    assert text == "to stdout\nto stderr\n"


def test_a_flood_keeps_the_head_counts_the_rest_and_never_blocks_the_child():
    # 50 MiB through a 1 KiB cap: the child finishes (the reader drains everything).
    code = "import os\nfor _ in range(50):\n    os.write(1, b'a' * 2**20)\n"
    text, _ = run_child(code, limit=1024)
    head, _, note = text.partition("\n[... ")
    assert head == "a" * 1024
    assert note.startswith(f"{50 * 2**20 - 1024} more bytes of output were dropped")


def test_undecodable_bytes_do_not_break_the_log():
    text, _ = run_child("import os; os.write(1, b'ok \\xff\\xfe end')", limit=100)
    assert text.startswith("ok ") and text.endswith(" end")


def test_finish_does_not_wait_for_a_daemon_that_keeps_the_pipe():
    """A grandchild that left with the pipe open (no pid namespace or cgroup to kill it)
    cannot hold the grader: finish() gives up after its timeout and stops reading."""
    code = ("import subprocess, sys\n"
            "d = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'],"
            " start_new_session=True)\n"
            "print('daemon', d.pid, flush=True)\n")
    output = CappedOutput(1024)
    try:
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=output.write_fd,
                                stderr=output.write_fd)
    finally:
        output.child_started()
    proc.wait(timeout=20)
    start = time.perf_counter()
    text = output.finish(timeout_s=0.3)
    elapsed = time.perf_counter() - start
    daemon = int(text.split()[1])
    try:
        assert elapsed < 3
        assert text == f"daemon {daemon}\n"
    finally:
        os.kill(daemon, signal.SIGKILL)


def test_a_failed_start_leaves_no_reader_behind():
    output = CappedOutput(1024)
    try:
        subprocess.Popen(["/nonexistent/program"], stdout=output.write_fd)
    except OSError:
        pass
    finally:
        output.child_started()
    start = time.perf_counter()
    assert output.finish(timeout_s=5) == ""
    assert time.perf_counter() - start < 1  # the pipe ended at once: no writer was left
