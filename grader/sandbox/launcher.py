"""Starting, killing and reaping sandboxed workers: the part of grading that keeps root.

Trust role: a grading process that talks to a worker decodes what student code sends, so it
may be breached one day; it must then hold no root. Starting a worker, though, needs root
(bubblewrap with a uid drop, cgroups), and so does killing it (it runs as another uid). So a
grading process does neither itself: it asks a `Launcher`.

- `DirectLauncher` does the work in this process: `grader check --sandbox`, the tests, and
  the trusted side of a fresh grading process.
- `RemoteLauncher` is what a fresh grading process holds after dropping its privileges: it
  forwards five requests (start, poll, wait, kill, close) over a socket to the process that
  forked it, which serves them with a `DirectLauncher` (`serve_request`). A request names a
  worker only by the number `start` returned; nothing else of the serving process can be
  asked for, and the number of workers a student may have started is capped.

A worker comes back as a `Started`: the numbers of its channel's two ends and of the read
end of its output pipe, its isolation level and its output cap.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from grader.sandbox.output_cap import DEFAULT_LIMIT, output_pipe

MAX_REQUEST_BYTES = 4096
# A worker per exercise, and a new one after each check that killed one: far more than an
# honest submission needs, few enough that a breached grading process cannot exhaust the
# machine through its launcher.
MAX_WORKERS_PER_STUDENT = 200


@dataclass(frozen=True)
class Started:
    handle: int
    to_worker: int      # fd: the grader writes requests here
    from_worker: int    # fd: and reads the worker's answers here
    output: int         # fd: the read end of the worker's stdout and stderr
    level: str
    output_limit: int


class Launcher(Protocol):
    def start(self) -> Started: ...
    def poll(self, handle: int) -> int | None: ...
    def wait(self, handle: int, timeout_s: float) -> int | None: ...
    def kill(self, handle: int) -> None: ...
    def close(self, handle: int) -> None: ...


@dataclass
class _Running:
    process: subprocess.Popen
    spec: Any
    runtime: Path


class DirectLauncher:
    """Starts workers from this process. `spec_for(runtime_dir, read_fd, write_fd)` returns
    an isolation.WorkerSpec; without it, a plain process (no isolation)."""

    def __init__(self, spec_for: Callable[[Path, int, int], Any] | None = None) -> None:
        self._spec_for = spec_for
        self._running: dict[int, _Running] = {}
        self.started = 0
        self.levels: set[str] = set()  # the isolation levels of the workers it started

    def start(self) -> Started:
        from grader.sandbox.worker_files import minimal_env, runtime_dir, worker_arguments

        runtime = runtime_dir()
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        out_r, out_w = output_pipe()
        spec = None
        try:
            spec = self._spec_for(runtime, to_worker_r, from_worker_w) \
                if self._spec_for else None
            if spec is not None:
                kwargs = spec.popen_kwargs()
                kwargs["pass_fds"] = tuple({*kwargs.get("pass_fds", ()), to_worker_r,
                                            from_worker_w})
                if _in_new_pid_namespace():
                    kwargs["preexec_fn"] = _with_own_proc(kwargs["preexec_fn"])
            else:
                kwargs = dict(args=[sys.executable, "-I", "-S", str(runtime / "worker.py"),
                                    *worker_arguments(to_worker_r, from_worker_w)],
                              pass_fds=(to_worker_r, from_worker_w), start_new_session=True,
                              cwd=str(runtime), env=minimal_env())
            process = subprocess.Popen(stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w,
                                       **kwargs)
        except BaseException:
            for fd in (to_worker_w, from_worker_r, out_r):
                os.close(fd)
            if spec is not None:
                from grader.sandbox import isolation

                isolation.cleanup(spec)
            shutil.rmtree(runtime, ignore_errors=True)
            raise
        finally:
            for fd in (to_worker_r, from_worker_w, out_w):  # the worker's ends are its own
                os.close(fd)
        self.started += 1
        self._running[self.started] = _Running(process, spec, runtime)
        limits = getattr(spec, "limits", None)
        level = spec.level if spec is not None else "process"
        self.levels.add(level)
        return Started(self.started, to_worker_w, from_worker_r, out_r, level,
                       limits.max_output_bytes if limits else DEFAULT_LIMIT)

    def _process(self, handle: int) -> subprocess.Popen:
        return self._running[handle].process

    def poll(self, handle: int) -> int | None:
        return self._process(handle).poll()

    def wait(self, handle: int, timeout_s: float) -> int | None:
        try:
            return self._process(handle).wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def kill(self, handle: int) -> None:
        """Kill the worker's whole process group and reap it."""
        process = self._process(handle)
        try:
            os.killpg(process.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def close(self, handle: int) -> None:
        """Kill it, remove its cgroups (killing what is left in them) and its files."""
        if handle not in self._running:
            return
        self.kill(handle)
        running = self._running.pop(handle)
        if running.spec is not None:
            from grader.sandbox import isolation

            isolation.cleanup(running.spec)
        shutil.rmtree(running.runtime, ignore_errors=True)

    def reap(self) -> None:
        """Collect the exit status of every worker that has ended (without waiting)."""
        for running in self._running.values():
            running.process.poll()

    def close_all(self) -> None:
        for handle in list(self._running):
            self.close(handle)


def _in_new_pid_namespace() -> bool:
    """Whether the children this thread starts are born into another pid namespace than its
    own (a grading process's, grader.sandbox.grading_process)."""
    # A thread's own view: pid_for_children is per thread (unshare and setns change the
    # calling thread's), and /proc/self shows the main thread's, which differs when a
    # template grades from another thread (a Dask worker's task thread).
    try:
        return os.readlink("/proc/thread-self/ns/pid_for_children") \
            != os.readlink("/proc/thread-self/ns/pid")
    except OSError:
        return False


def _with_own_proc(preexec: Callable[[], None] | None) -> Callable[[], None]:
    """PREEXEC, after giving the child a /proc of its own pid namespace: bubblewrap looks
    itself up in /proc by the pid it sees, which the host's /proc does not show."""
    from grader.sandbox import isolation

    def mount_proc() -> None:
        isolation.private_proc()
        if preexec is not None:
            preexec()

    return mount_proc


# ------------------------------------------------------------------ across a privilege drop


class LauncherRefused(Exception):
    """The serving side refused a request (too many workers, an unknown number)."""


class RemoteLauncher:
    """A launcher in another process, reached over a SOCK_SEQPACKET socket."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def _ask(self, request: dict, fds: int = 0) -> tuple[dict, list[int]]:
        self._sock.send(json.dumps(request).encode())
        data, received, _flags, _addr = socket.recv_fds(self._sock, MAX_REQUEST_BYTES, fds)
        if not data:
            raise LauncherRefused("the launcher is gone")
        reply = json.loads(data)
        if reply.get("op") == "refused":
            for fd in received:
                os.close(fd)
            raise LauncherRefused(str(reply.get("why")))
        return reply, received

    def start(self) -> Started:
        reply, fds = self._ask({"op": "start"}, 3)
        return Started(reply["handle"], *fds, reply["level"], reply["output_limit"])

    def poll(self, handle: int) -> int | None:
        return self._ask({"op": "poll", "handle": handle})[0]["code"]

    def wait(self, handle: int, timeout_s: float) -> int | None:
        return self._ask({"op": "wait", "handle": handle, "timeout_s": timeout_s})[0]["code"]

    def kill(self, handle: int) -> None:
        self._ask({"op": "kill", "handle": handle})

    def close(self, handle: int) -> None:
        self._ask({"op": "close", "handle": handle})


def serve_request(sock: socket.socket, launcher: DirectLauncher) -> bool:
    """Read one request from a grading process and answer it; False when the socket is
    closed. The request is untrusted: anything but the five known ones, with a number this
    launcher gave out, is refused."""
    try:
        data = sock.recv(MAX_REQUEST_BYTES)
    except OSError:
        return False
    if not data:
        return False
    fds: list[int] = []
    try:
        request = json.loads(data)
        op = request["op"]
        handle = request.get("handle")
        if op != "start" and (type(handle) is not int or handle not in launcher._running):
            raise LauncherRefused("no such worker")
        if op == "start":
            if launcher.started >= MAX_WORKERS_PER_STUDENT:
                raise LauncherRefused("too many workers for one student")
            try:
                started = launcher.start()
            except (OSError, subprocess.SubprocessError) as e:  # a full machine, say
                raise LauncherRefused(f"the worker could not be started: {e}") from None
            fds = [started.to_worker, started.from_worker, started.output]
            reply: dict = {"op": "started", "handle": started.handle, "level": started.level,
                           "output_limit": started.output_limit}
        elif op == "poll":
            reply = {"op": "code", "code": launcher.poll(handle)}
        elif op == "wait":
            timeout = request.get("timeout_s")
            if type(timeout) not in (int, float) or not 0 <= timeout <= 5:
                raise LauncherRefused("bad timeout")
            reply = {"op": "code", "code": launcher.wait(handle, float(timeout))}
        elif op == "kill":
            launcher.kill(handle)
            reply = {"op": "done"}
        elif op == "close":
            launcher.close(handle)
            reply = {"op": "done"}
        else:
            raise LauncherRefused("unknown request")
    except (LauncherRefused, ValueError, KeyError, TypeError, AttributeError,
            RecursionError) as e:
        reply = {"op": "refused", "why": str(e)[:200]}
    try:
        socket.send_fds(sock, [json.dumps(reply).encode()], fds) if fds \
            else sock.send(json.dumps(reply).encode())
    except OSError:
        return False
    finally:
        for fd in fds:  # the grading process has its copies now
            os.close(fd)
    return True


__all__ = ["DirectLauncher", "Launcher", "LauncherRefused", "RemoteLauncher", "Started",
           "serve_request"]
