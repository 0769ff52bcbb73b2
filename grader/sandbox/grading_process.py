"""A fresh grading process for each student, forked from a clean template, without root.

Trust role: the process that runs a student's checks decodes what the student's worker sends
and calls back into check code for it, so it is the first thing a hole in the channel would
breach. It is made so that a breach stays with that one student:

- it is forked for the student from a template that loaded the checks and drew their
  examples, and it exits when the student is graded: nothing it held or changed reaches the
  next student;
- as root, it drops to a uid of its own (neither root nor any worker's) before it runs a
  check, with no_new_privs; the course, checks and references stay readable (folders such as
  /root that the uid could not search are covered, in a mount namespace of its own, by an
  empty tmpfs with only the needed paths bound back read-only), and nothing that outlives
  the student is writable: the gradebook, the output and the example cache belong to root;
- its workers are started and killed by the template (grader.sandbox.launcher), which keeps root;
- its address space is limited, so a flood of data costs only its student;
- it sends back plain JSON through a pipe, within a cap, and the template checks every row
  against the course (known checks, known statuses, scores from the check's own points).

Without root the process is still fresh and limited, and keeps the grader's uid; the level
in force is recorded with every result (`level`).
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import select
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from functools import cache
from typing import Any

from grader.sandbox.launcher import DirectLauncher, RemoteLauncher, serve_request

# Distinct from the workers' uids (isolation.WORKER_UID_BASE + pid, pids < 2**22) and from
# every range Debian allocates.
GRADING_UID_BASE = 10_000_000
# Address space a grading process may add to what its template holds (about 175 MB): many
# times what an honest student needs (tens of MB, thread stacks included), less than one
# hostile frame takes to decode (a 60 MB frame of numbers: about 700 MB).
MEMORY_HEADROOM_MB = 512
# Its own threads (one per worker's output) and nothing else: it has no reason to fork.
MAX_THREADS = 64
MAX_RESULT_BYTES = 32 * 2**20
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_DUMPABLE = 1, 38, 4
CLONE_NEWPID = 0x20000000
_libc = ctypes.CDLL(None, use_errno=True)


class GradingProcessFailed(Exception):
    """The fresh process died or sent nothing usable; says how, in words."""


def grading_uid() -> int:
    return GRADING_UID_BASE + os.getpid()


@cache
def _needed_paths() -> tuple[str, ...]:
    """What a grading process reads while it grades: the Python installation, the venv,
    and the folders of every module it has imported (the course, the checks, the
    references, the grader, NumPy, Hypothesis)."""
    paths = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.executable)}
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file:
            paths.add(os.path.dirname(os.path.realpath(file)))
    for entry in sys.path:
        if entry and os.path.isdir(entry):
            paths.add(os.path.realpath(entry))
    return tuple(sorted(paths))


def _enter(uid: int | None, extra_readable: tuple[str, ...], pid_namespace: bool) -> str:
    """In the fresh child: limits, then (as root) a mount namespace that keeps the needed
    paths searchable, and the uid drop. Returns the level in force."""
    from grader.sandbox.isolation.child import _Cover, _prepare_mounts
    from grader.sandbox.isolation.detect import _searchable_by
    from grader.sandbox.isolation.spec import _under

    parts = ["fresh", *(["pidns"] if pid_namespace else [])]
    with open("/proc/self/statm") as f:
        size = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = size + MEMORY_HEADROOM_MB * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    parts.append("rlimits")
    if uid is not None:
        needed = [*_needed_paths(), *extra_readable]
        covers = {}
        for p in needed:
            blocked = _searchable_by(p, uid, uid)
            if blocked and blocked != p:
                covers.setdefault(blocked, _Cover(blocked, 0o755, 2**20, False))
        kept = sorted(covers.values(), key=lambda c: (c.path.count("/"), c.path))
        kept = [c for c in kept if not any(
            _under(c.path, [o.path]) and o.path != c.path for o in kept)]
        keep = [p for p in needed if _under(p, [c.path for c in kept])]
        keep = sorted({p for p in keep if not any(
            _under(p, [q]) and q != p for q in keep)})
        if kept:
            _prepare_mounts(kept, keep)
        resource.setrlimit(resource.RLIMIT_NPROC, (MAX_THREADS, MAX_THREADS))
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        parts.append("uid")
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "no_new_privs")
    # Not dumpable: nothing of the same uid can read its memory through /proc or ptrace.
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    return "+".join(parts)


@cache
def _own_pid_namespace() -> int:
    return os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)


def _new_pid_namespace_for_children() -> bool:
    """As root: the next child forked becomes pid 1 of a new pid namespace, and so do
    (as its members) the workers started for it. When that child dies, for whatever reason,
    the kernel kills every process of the namespace: no worker can outlive its student's
    grading process, however either of them ends."""
    if os.geteuid() != 0:
        return False
    _own_pid_namespace()
    return _libc.unshare(CLONE_NEWPID) == 0


def _back_to_own_pid_namespace() -> None:
    if _libc.setns(_own_pid_namespace(), CLONE_NEWPID) != 0:
        raise OSError(ctypes.get_errno(), "setns: cannot return to the template's pid namespace")


def _die_with(lifeline: int) -> None:
    """Be killed when the template dies, and die now if it already has: PR_SET_PDEATHSIG
    alone misses a parent that died before it was set (the lifeline's other end is the
    template's alone, so a hang-up on it means the template is gone)."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    poller = select.poll()
    poller.register(lifeline, select.POLLHUP)
    if poller.poll(0):
        os._exit(1)


def run(work: Callable[[RemoteLauncher, str], dict[str, Any]], launcher: DirectLauncher, *,
        deadline_s: float, readable: tuple[str, ...] = ()) -> tuple[dict[str, Any], str]:
    """Run `work(launcher, level)` in a fresh child process and return (what it returned,
    the level the child ran at). The child's workers are started through this process's
    `launcher`, which stays here with root; its result crosses as JSON. Raises
    GradingProcessFailed when the child dies, overruns `deadline_s`, or sends nothing
    usable; the caller then records the student as not graded."""
    uid = grading_uid() if os.geteuid() == 0 else None
    _needed_paths()  # computed here, once per template, not in every child
    parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    result_r, result_w = os.pipe()
    lifeline_r, lifeline_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid_namespace = _new_pid_namespace_for_children()
    try:
        pid = os.fork()
    except OSError:
        if pid_namespace:
            _back_to_own_pid_namespace()
        raise
    if pid == 0:  # the child: never returns
        code = 70
        try:
            _die_with(lifeline_r)
            # Only its own ends survive: the template's other descriptors (the pool's
            # channel to the coordinator among them) are not a breached child's to write.
            keep = sorted({0, child_sock.fileno(), result_w, lifeline_r})
            for low, high in zip(keep, [*keep[1:], 1 << 20]):
                if high > low + 1:
                    os.closerange(low + 1, high)
            # Nothing it prints reaches the instructor's terminal: if it is ever breached,
            # it could print anything.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            if not pid_namespace:
                os.setpgid(0, 0)
            try:
                level = _enter(uid, readable, pid_namespace)
                _die_with(lifeline_r)  # the uid change cleared the death signal
                result = {**work(RemoteLauncher(child_sock), level), "_level": level}
                payload = json.dumps(result, allow_nan=False).encode()
            except BaseException:
                payload = json.dumps({"_failed": traceback.format_exc()[-2000:]}).encode()
            view = memoryview(payload)
            while view:
                view = view[os.write(result_w, view):]
            code = 0
        finally:
            os._exit(code)
    child_sock.close()
    os.close(result_w)
    os.close(lifeline_r)
    try:
        data = _serve(pid, parent_sock, result_r, launcher, time.monotonic() + deadline_s)
    finally:
        parent_sock.close()
        os.close(result_r)
        status = _reap(pid, None if pid_namespace else uid, launcher)
        os.close(lifeline_w)
        if pid_namespace:
            _back_to_own_pid_namespace()
    if status != 0:
        how = (f"was killed by signal {-status}" if status < 0 else f"exited with {status}")
        raise GradingProcessFailed(f"the grading process {how}")
    try:
        result = json.loads(data)
    except (ValueError, RecursionError):
        raise GradingProcessFailed("the grading process sent no readable result") from None
    if type(result) is not dict:
        raise GradingProcessFailed("the grading process sent no readable result")
    if "_failed" in result:
        raise GradingProcessFailed("the grading process failed: "
                                   + ascii(str(result["_failed"]))[-600:])
    return result, str(result.pop("_level", ""))


def _serve(pid: int, sock: socket.socket, result_fd: int, launcher: DirectLauncher,
           deadline: float) -> bytes:
    """Answer the child's launcher requests and collect its result until it closes both."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    poller.register(result_fd, select.POLLIN)
    open_fds = {sock.fileno(), result_fd}
    chunks: list[bytes] = []
    size = 0
    while open_fds:
        left = deadline - time.monotonic()
        if left <= 0:
            raise_after_kill(pid, "overran its time")
        for fd, _event in poller.poll(min(left, 1.0) * 1000):
            if fd == result_fd:
                chunk = os.read(result_fd, 1 << 16)
                if not chunk:
                    poller.unregister(result_fd)
                    open_fds.discard(result_fd)
                    continue
                size += len(chunk)
                if size > MAX_RESULT_BYTES:
                    raise_after_kill(pid, "sent more than the result cap")
                chunks.append(chunk)
            elif not serve_request(sock, launcher):
                poller.unregister(sock)
                open_fds.discard(sock.fileno())
    return b"".join(chunks)


def _kill(pid: int) -> None:
    """Kill the grading process: its pid namespace dies with it; without one, its process
    group (it made its own)."""
    for kill in (os.kill, os.killpg):
        try:
            kill(pid, signal.SIGKILL)
        except OSError:
            pass


def raise_after_kill(pid: int, why: str) -> None:
    _kill(pid)
    raise GradingProcessFailed(f"the grading process {why}")


def _reap(pid: int, uid: int | None, launcher: DirectLauncher) -> int:
    """Wait for the child (killing it if it lingers), then kill anything left with its uid.
    Returns its exit code, or minus the signal that ended it.

    The workers it left are reaped meanwhile: they are this process's children, and the
    init of a pid namespace does not finish exiting before every member has been reaped."""
    deadline = time.monotonic() + 5
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            _kill(pid)
        launcher.reap()
        time.sleep(0.002)
    if uid is not None:
        _kill_uid(uid)
    return os.waitstatus_to_exitcode(status)


def _kill_uid(uid: int) -> None:
    """Kill every process of `uid` (what a breached grading process may have left): a child
    that takes that uid and signals -1 reaches exactly those."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)
        except BaseException:
            pass
        os._exit(0)
    os.waitpid(pid, 0)
