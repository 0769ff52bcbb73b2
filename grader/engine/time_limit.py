"""Limits that keep one submission from holding up the rest, inside the grading process.

`time_limit` bounds the wall time of an exercise (loading plus all its checks) with a
SIGALRM timer. `KeyboardInterrupt` is only honoured when the user really pressed Ctrl-C:
student code that raises it is just an error in that code.
The sandboxed engine replaces these with process-level limits.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

_interrupted = False


class TimeLimitExceeded(BaseException):
    """Raised by the timer; a BaseException so that neither student code nor Hypothesis
    treats it as an ordinary failure and carries on."""


def user_interrupted() -> bool:
    return _interrupted


def _on_sigint(signum: int, frame: object) -> None:
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def watch_for_ctrl_c() -> None:
    """Remember a real Ctrl-C, so a KeyboardInterrupt raised by student code can be told apart."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_sigint)


def _on_alarm(signum: int, frame: object) -> None:
    raise TimeLimitExceeded


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise TimeLimitExceeded in this thread once `seconds` of wall time have passed.

    Only the main thread can receive signals; elsewhere the limit is not enforced.
    """
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
