"""After a worker exits: its cgroups' usage read, leftover processes killed, the cgroups removed.

Trust role: the grader's side of the sandbox (grader.sandbox.isolation describes the levels).
"""

from __future__ import annotations

import errno
import os
import signal
import time

from grader.sandbox.isolation.records import Usage, WorkerSpec


def _rmdir_quietly(d: str) -> bool:
    try:
        os.rmdir(d)
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return False


def _read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _read_pids(procs: str) -> list[int]:
    try:
        with open(procs) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def cleanup(spec: WorkerSpec, *, timeout_s: float = 2.0) -> Usage:
    """After the worker exited (or was killed): kill anything still in its cgroups, read what
    they recorded, remove them. Idempotent; a no-op without cgroups."""
    oom = False
    peak = None
    killed = 0
    for d in spec.cgroups:
        if not os.path.isdir(d):
            continue
        if os.path.exists(os.path.join(d, "memory.oom_control")):
            with open(os.path.join(d, "memory.oom_control")) as f:
                for line in f:
                    k, _, v = line.partition(" ")
                    if k == "oom_kill" and v.strip() not in ("", "0"):
                        oom = True
            peak = _read_int(os.path.join(d, "memory.max_usage_in_bytes"))
        procs = os.path.join(d, "cgroup.procs")
        # A sandbox that was just killed takes a moment to empty by itself (the pid namespace
        # is torn down after its reaper dies): wait for that before counting leftovers.
        grace = time.monotonic() + 0.2
        while _read_pids(procs) and time.monotonic() < grace:
            time.sleep(0.005)
        seen: set[int] = set()
        deadline = time.monotonic() + timeout_s
        while True:
            for pid in _read_pids(procs):
                try:
                    os.kill(pid, signal.SIGKILL)
                    seen.add(pid)
                except ProcessLookupError:
                    pass
            if _rmdir_quietly(d):
                break
            if time.monotonic() > deadline:
                raise OSError(errno.EBUSY, f"cgroup {d} still busy after {timeout_s} s")
            time.sleep(0.01)
        killed = max(killed, len(seen))
    return Usage(oom_killed=oom, memory_peak_bytes=peak, leftovers_killed=killed)
