"""What a worker's isolation is asked for and what it gives: limits, the machine's
capabilities, the spec to exec, the usage read afterwards.

Trust role: the grader's side of the sandbox (grader.sandbox.isolation describes the levels).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

NOBODY = 65534
# Parallel workers: uid WORKER_UID_BASE + slot (no passwd entry is needed). Outside the ranges
# Debian allocates (system < 1000, users 1000-59999, reserved 60000-65535).
WORKER_UID_BASE = 200_000


@dataclass(frozen=True)
class Limits:
    wall_time_s: float          # enforced by the caller (deadline + kill); recorded here
    memory_mb: int              # RLIMIT_AS of each process; memory cgroup of the whole tree
    max_processes: int = 16     # RLIMIT_NPROC (only for a non-root uid) and pids cgroup
    max_output_bytes: int = 64 * 1024   # kept of what it prints; the rest is read and dropped
    max_file_bytes: int = 10_000_000    # RLIMIT_FSIZE
    cpu_time_s: int | None = None       # RLIMIT_CPU backstop; None: wall time rounded up + 1
    tmp_bytes: int = 64 * 2**20         # size of the private /tmp (bwrap, unshare)
    max_open_files: int = 256           # RLIMIT_NOFILE

    def cpu_limit(self) -> int:
        return self.cpu_time_s if self.cpu_time_s is not None else math.ceil(self.wall_time_s) + 1


@dataclass(frozen=True)
class Capabilities:
    """What this machine offers. Tests build weaker ones with `dataclasses.replace`."""
    root: bool
    bwrap: str | None           # a bwrap that ran a probe sandbox, or None
    unshare: str | None         # util-linux unshare (used only as root)
    setpriv: str | None         # util-linux setpriv (the uid drop inside bwrap and unshare)
    cgroup_memory: str | None   # writable parent folder for per-worker memory cgroups
    cgroup_pids: str | None     # same for pids
    notes: tuple[str, ...] = ()  # why a probe failed, in words
    seccomp: bool = False       # a seccomp filter (grader.sandbox.seccomp) installs and runs here


@dataclass(frozen=True)
class WorkerSpec:
    argv: list[str]
    env: dict[str, str]
    preexec: Callable[[], None] | None
    cwd: str
    level: str
    warnings: list[str]
    pass_fds: tuple[int, ...] = ()
    uid: int | None = None          # the uid the worker runs as, None: the grader's own
    limits: Limits | None = None
    cgroups: tuple[str, ...] = ()   # per-worker cgroup folders; `cleanup` removes them

    def popen_kwargs(self) -> dict:
        """Keyword arguments for subprocess.Popen (add stdin/stdout/stderr)."""
        return dict(args=self.argv, env=self.env, cwd=self.cwd, preexec_fn=self.preexec,
                    pass_fds=self.pass_fds, close_fds=True, start_new_session=True)


@dataclass(frozen=True)
class Usage:
    oom_killed: bool = False            # the memory cgroup's OOM killer fired
    memory_peak_bytes: int | None = None
    leftovers_killed: int = 0           # processes still in the cgroup after the worker exited
