"""What a worker prints, kept for instructors within a cap; never part of any feedback.

A worker's stdout and stderr share one pipe. A thread of the grading process reads that pipe
to its end: it keeps the first `limit` bytes, counts the rest and throws it away, so a worker
that floods its output is never blocked by a full pipe, and the grader's memory stays bounded.
The text goes only to instructors (grader grade writes it to OUT/worker-logs/), made printable
(grader.printable); checks never see it, so neither public nor hidden feedback can echo it.

    output = CappedOutput(limit=64 * 1024)
    proc = subprocess.Popen(..., stdout=output.write_fd, stderr=output.write_fd)
    output.child_started()                # the pipe's end is now the child's alone
    ...                                   # kill the worker and everything it started
    text = output.finish()                # the head, and a note of what was dropped
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import threading

from grader.printable import printable

DEFAULT_LIMIT = 64 * 1024
_CHUNK = 1 << 20
_POLL_MS = 100


def output_pipe() -> tuple[int, int]:
    """(read end, write end) of a pipe for a child's output, both close-on-exec."""
    read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
    with contextlib.suppress(OSError):  # fewer wake-ups for a flood; 64 KiB otherwise
        fcntl.fcntl(read_fd, fcntl.F_SETPIPE_SZ, _CHUNK)
    return read_fd, write_fd


def _discard(fd: int, sink: int) -> int:
    try:
        return os.splice(fd, sink, _CHUNK)
    except (AttributeError, OSError):  # no splice (Python < 3.10, another kernel)
        return len(os.read(fd, _CHUNK))


class CappedOutput:
    """A pipe for a child's output, drained by a thread that keeps at most `limit` bytes."""

    def __init__(self, limit: int = DEFAULT_LIMIT, read_fd: int | None = None) -> None:
        """A new pipe; or, with `read_fd`, the read end of one made by whoever started the
        child (grader.sandbox.launcher), whose write end this process never held."""
        self.limit = limit
        if read_fd is None:
            self._read_fd, self.write_fd = output_pipe()
        else:
            self._read_fd, self.write_fd = read_fd, -1
        self._head = bytearray()
        self._total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, name="worker-output", daemon=True)
        self._thread.start()

    def child_started(self) -> None:
        """Close this process's copy of the write end (after Popen, or after it failed), so
        that the reader sees the end of the pipe once the child and its children are gone."""
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1

    def _drain(self) -> None:
        poller = select.poll()
        poller.register(self._read_fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        sink = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
        try:
            while not self._stop.is_set():
                if not poller.poll(_POLL_MS):
                    continue
                room = self.limit - len(self._head)
                if room > 0:
                    chunk = os.read(self._read_fd, _CHUNK)
                    self._head += chunk[:room]
                    n = len(chunk)
                else:  # past the cap: discard in the kernel, without copying it here
                    n = _discard(self._read_fd, sink)
                if n == 0:
                    return  # every writer is gone
                self._total += n
        except OSError:
            return
        finally:
            os.close(sink)
            os.close(self._read_fd)

    def finish(self, timeout_s: float = 1.0) -> str:
        """Wait up to `timeout_s` for the end of the output, stop reading, return the text.
        A writer that outlived the worker (a daemon at a level without pid namespace or
        cgroup) cannot hold the thread: it is told to stop and does within one poll."""
        self.child_started()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join()
        return self.text()

    def text(self) -> str:
        """What was kept so far, decoded leniently and made printable (instructors read the
        log in a terminal: an escape sequence in it is shown, not obeyed), with a note of
        what was dropped."""
        text = printable(bytes(self._head).decode("utf-8", errors="replace"))
        dropped = self._total - len(self._head)
        if dropped > 0:
            text += (f"\n[... {dropped} more bytes of output were dropped: only the first "
                     f"{self.limit} are kept]\n")
        return text
