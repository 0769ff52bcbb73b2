"""The grader's side of the trust boundary: a worker process, and handles that call into it.

`RemoteImplementation` is a `handle.Handle` like `handle.Implementation`, so the same checks run
unchanged in one process (`grader check`) or against a worker (`grader grade`):
  - `impl.softmax(x)` sends the arguments as plain data and decodes the answer by exact type;
  - a callable the check passes in (`f`, `loss_and_grads`, an optimizer class) stays here:
    the worker calls back, and the check can count and inspect those calls. What the worker
    may call is a capability (grader.authoring.capabilities): an opaque number, valid until the
    check's call returns, for a callable or an object with declared methods that the check handed to
    that call. No name the worker sends is ever looked up as an attribute here, except a
    declared public method of such an object;
  - objects the student creates stay in the worker and come back as `RemoteObject` handles;
  - arrays are mirrored, so in-place changes made by student code reach the check's arrays.
Nothing the worker says is trusted: frames are validated (protocol.py), a worker that
breaks the protocol is "forbidden", one that dies is "crashed", and no verdict is ever
taken from it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from grader.authoring.capabilities import exposed_methods
from grader.authoring.failures import CheckFailure, MissingFunction, WorkerFailure, from_description
from grader.engine.handle import NamedHandle
from grader.printable import printable
from grader.sandbox.launcher import DirectLauncher, Launcher, LauncherRefused
from grader.sandbox.output_cap import CappedOutput
from grader.sandbox.runtime import protocol as P
from grader.sandbox.runtime.loading import LoadError

# Per call of a check into student code: far above what any solution needs (an optimizer per
# config, an object per array), far below what costs the grading process real memory.
MAX_CAPABILITIES = 1_000
MAX_HANDLES = 10_000
MAX_OBJECT_TYPES = 256
LOAD_STATUSES = ("error", "bad_file")
class WorkerProcess:
    """One worker: started, spoken to, and killed with everything it started."""

    def __init__(self, spec_for: Callable[[Path, int, int], Any] | None = None, *,
                 launcher: Launcher | None = None) -> None:
        """Start a worker through `launcher` (grader.sandbox.launcher), by default one in this
        process that builds each worker's isolation with `spec_for(runtime_dir, read_fd,
        write_fd)` (an isolation.WorkerSpec), or starts a plain process without it."""
        self._launcher = launcher or DirectLauncher(spec_for)
        started = self._launcher.start()
        self._handle = started.handle
        self.level = started.level
        # Student output is never feedback: a capped log for instructors
        # (grader.sandbox.output_cap).
        self.output = CappedOutput(started.output_limit, read_fd=started.output)
        self.writer = os.fdopen(started.to_worker, "wb")
        self.reader = os.fdopen(started.from_worker, "rb")
        self.mirror = P.Mirror("g")
        self.exercise_name = "exercise"  # set by load()
        # Capabilities handed to the current call: number -> (object, methods student code
        # may call, None for "call it, nothing else"). Numbers are never reused, and the
        # table is emptied when the check's call returns, so a number from an earlier call
        # or another check names nothing.
        self._capabilities: dict[int, tuple[Any, frozenset[str] | None]] = {}
        self._capability_ids: dict[int, int] = {}
        self._next_capability = 0
        self._call_depth = 0
        self._handles_this_call = 0
        self._remote_types: dict[str, type] = {}
        self._raised: dict[int, BaseException] = {}
        self._open_exchanges = 0  # nested when a callback calls student code
        hello = self._read()
        if hello.get("op") != "ready" or hello.get("numpy") != np.__version__ \
                or hello.get("python") != sys.version.split()[0]:
            self.kill()
            raise WorkerFailure("crashed", "The worker runs a different Python or NumPy than "
                                           "the grader; refusing to grade with it.")

    # ---------------------------------------------------------------- lifecycle

    def kill(self) -> None:
        """Kill the worker's whole process group and reap it."""
        try:
            self._launcher.kill(self._handle)
        except (LauncherRefused, OSError):
            pass
        for stream in (self.writer, self.reader):
            try:
                stream.close()
            except OSError:
                pass

    def close(self) -> None:
        self.kill()
        try:
            self._launcher.close(self._handle)  # its cgroups and files too
        except (LauncherRefused, OSError):
            pass
        self.output.finish()  # after cleanup: nothing that could still write is left

    def output_log(self) -> str:
        """What the worker printed (capped), for instructors only: never feedback."""
        return self.output.text()

    def reset(self) -> None:
        """Forget references between checks (arrays, objects, callables)."""
        self.mirror.clear()
        self._end_call_scope()
        self._raised.clear()
        reply = self._exchange({"op": "reset"})
        if reply.get("op") != "ok":
            raise WorkerFailure("forbidden", "The worker answered a reset with something else.")

    # ---------------------------------------------------------------- channel

    def _send(self, message: dict) -> None:
        try:
            P.write_frame(self.writer, message)
        except (BrokenPipeError, OSError):
            raise self._died() from None

    def _read(self) -> dict:
        try:
            return P.read_frame(self.reader)
        except (EOFError, OSError):
            raise self._died() from None
        except MemoryError:  # a frame made to blow up when decoded: this student's loss
            self.kill()
            raise WorkerFailure("memory", "Your code sent back more data than the grader "
                                          "accepts.") from None
        except P.ProtocolError as e:
            self.kill()
            raise WorkerFailure("forbidden", f"The worker broke the grading protocol ({e}): "
                                             "the channel was tampered with.") from None

    def _died(self) -> WorkerFailure:
        try:
            code = self._launcher.wait(self._handle, 2.0)
        except (LauncherRefused, OSError):
            code = None
        self.kill()
        if code is not None and code < 0 and -code == 9:
            return WorkerFailure("memory", "Your code was killed, most likely for using more "
                                           "memory than the exercise allows.")
        what = f"exit code {code}" if code is not None and code >= 0 else f"signal {-(code or 0)}"
        return WorkerFailure("crashed", f"The process running your code ended ({what}), e.g. "
                                        "by os._exit, a crash in native code, or sys.exit at "
                                        "the wrong moment.")

    @property
    def idle(self) -> bool:
        """Alive and not in the middle of an exchange (one cut short leaves it busy)."""
        if self._open_exchanges:
            return False
        try:
            return self._launcher.poll(self._handle) is None
        except (LauncherRefused, OSError):
            return False

    def _exchange(self, message: dict) -> dict:
        self._open_exchanges += 1
        self._send(message)
        while True:
            reply = self._read()
            if reply.get("op") == "callback":
                self._serve_callback(reply)
                continue
            self._open_exchanges -= 1
            return reply

    # ---------------------------------------------------------------- loading

    def load(self, path: Path, exercise: str, cells: list[tuple[int, str]] | None
             ) -> tuple[dict[str, str], list[str]]:
        """Load the exercise in the worker; returns (names it defines, notes). Raises LoadError."""
        self.exercise_name = exercise
        filename = str(path)
        message = {"op": "load", "exercise": exercise, "display": path.name,
                   "filename": filename, "folder": str(Path(filename).parent),
                   "kind": "cells" if cells is not None else "py",
                   "cells": [[i, s] for i, s in cells] if cells is not None else []}
        reply = self._exchange(message)
        if reply.get("op") == "load_error":
            status = reply.get("status")
            # The worker names the status, so only a load error's own statuses are taken.
            raise LoadError(status if status in LOAD_STATUSES else "error",
                            _text(reply.get("message"), 500))
        names, notes = reply.get("names"), reply.get("notes")
        if reply.get("op") != "loaded" or type(names) is not dict or type(notes) is not list:
            raise WorkerFailure("forbidden", "The worker answered the load request with "
                                             "something else.")
        return ({_text(k, 100): _text(v, 10) for k, v in list(names.items())[:1000]},
                [_text(n, 300) for n in notes[:20]])

    # ---------------------------------------------------------------- calls

    def call(self, target: Any, method: str | None, label: str, args: tuple,
             kwargs: dict) -> Any:
        sent: list = []
        self._call_depth += 1
        try:
            try:
                message = {"op": "call", "target": target, "method": method, "label": label,
                           "args": P.encode(tuple(args), self.mirror, self._hand_over, sent),
                           "kwargs": P.encode(tuple(kwargs.items()), self.mirror,
                                              self._hand_over, sent)}
            except TypeError as e:  # the check passed what cannot cross: a check bug
                raise RuntimeError(f"cannot send the arguments of {label}: {e}") from None
            return self._result(self._exchange(message), label)
        finally:
            self._call_depth -= 1
            if self._call_depth == 0:
                self._end_call_scope()

    def _end_call_scope(self) -> None:
        self._capabilities.clear()
        self._capability_ids.clear()
        self._handles_this_call = 0

    def get(self, name: str) -> Any:
        return self._result(self._exchange({"op": "get", "name": name}), name)

    def _result(self, reply: dict, label: str) -> Any:
        try:
            for _ref, tree in reply.get("sync", []):
                P.decode(tree, self.mirror)  # in-place changes reach the check's arrays
            op = reply.get("op")
            if op == "return":
                return P.decode(reply.get("value"), self.mirror, self._resolve)
        except (P.ProtocolError, TypeError, ValueError, KeyError) as e:
            self.kill()
            raise WorkerFailure("forbidden", f"The worker sent malformed data ({e}).") from None
        if op == "raise":
            kind = reply.get("kind")
            if kind == "missing":
                raise MissingFunction(_text(reply.get("name"), 100), self.exercise_name)
            token = reply.get("token")
            if kind == "callback" and type(token) is int and token in self._raised:
                raise self._raised.pop(token)
            if kind == "unsendable":
                raise CheckFailure(f"`{label}` returned a value that cannot be checked "
                                   f"({_text(reply.get('text'), 200)}): return numbers, "
                                   "arrays, lists, tuples or dicts as the exercise asks.")
            if kind in ("error", "not_attempted"):
                failure = from_description({k: reply.get(k) for k in (
                    "kind", "function", "type", "text", "where", "signature_mismatch")})
                if kind == "error" and reply.get("type") == "MemoryError":
                    raise WorkerFailure("memory", f"`{label}` ran out of memory (the exercise "
                                                  "allows a limited amount).")
                raise failure
        self.kill()
        raise WorkerFailure("forbidden", f"The worker answered with an unexpected message "
                                         f"({_text(op, 40)!r}).")

    # ---------------------------------------------------------------- callbacks

    def _serve_callback(self, message: dict) -> None:
        received: list = []
        try:
            fn, refused = self._callback_target(message.get("target"), message.get("method"))
            args = P.decode(message.get("args"), self.mirror, self._resolve, received)
            kwargs = P.decode_kwargs(message.get("kwargs"), self.mirror, self._resolve, received)
            if type(args) is not tuple:
                raise P.ProtocolError("bad callback arguments")
        except (P.ProtocolError, KeyError, ValueError, TypeError) as e:
            self.kill()
            raise WorkerFailure("forbidden", f"The worker made a malformed callback ({e}).") \
                from None
        try:
            if refused is not None:
                raise refused
            result = fn(*args, **kwargs)
            reply = {"op": "callback_return",
                     "value": P.encode(result, self.mirror, self._hand_back)}
        except (Exception, WorkerFailure) as e:  # re-raised in the check if it escapes
            if isinstance(e, WorkerFailure):
                raise
            token = len(self._raised) + 1
            self._raised[token] = e
            reply = {"op": "callback_raise", "token": token}
        try:
            reply["sync"] = [[ref, P.encode(a, self.mirror, self._hand_back)]
                             for ref, a in P.changed(received, self.mirror)]
        except (TypeError, ValueError, RecursionError) as e:
            # Only a worker that sent one reference for two containers gets here: honest
            # arguments changed by a check's callable are plain data or handles.
            self.kill()
            raise WorkerFailure("forbidden", f"The worker made a malformed callback ({e}).") \
                from None
        self._send(reply)

    def _callback_target(self, target: Any, method: Any) -> tuple[Any, Exception | None]:
        """What a callback may call: a capability of the current call, itself or one of its
        declared methods. Anything else is an attack (ProtocolError), except a well-formed
        public method the object does not declare, which is honest code calling what the
        exercise does not offer: an error in the student's code, not a verdict."""
        if type(target) is not dict or len(target) != 1:
            raise P.ProtocolError("bad callback target")
        (tag, ident), = target.items()
        capability = self._capabilities.get(ident) if tag in ("$c", "$g") \
            and type(ident) is int else None
        if capability is None:
            raise P.ProtocolError("a callback that this call was not given")
        obj, methods = capability
        if method is None:
            if methods is not None:
                raise P.ProtocolError("a call of an object that is not callable")
            return obj, None
        if type(method) is not str or methods is None or not method.isidentifier() \
                or method.startswith("_"):
            raise P.ProtocolError("a callback naming an attribute")
        if method not in methods:
            return None, CheckFailure(
                f"Your code called `{method}` on the object the check passed in; it offers "
                f"only {', '.join(f'`{m}`' for m in sorted(methods))}, as the exercise says.")
        return getattr(obj, method), None

    def _hand_over(self, obj: Any) -> P.Ref:
        """A reference for what the check passes to student code (`refer` of encode)."""
        if isinstance(obj, RemoteCallable) and obj._method is None and obj._object is None:
            return P.Ref("r", obj._name)
        if isinstance(obj, RemoteObject):
            return P.Ref("o", obj._ref_id)
        methods = exposed_methods(obj)
        if methods is None and not callable(obj):
            raise TypeError(f"a {type(obj).__name__} object: hand student code a function, "
                            "or an object whose class is marked with "
                            "grader.authoring.capabilities.exposes")
        return self._grant(obj, methods)

    def _hand_back(self, obj: Any) -> P.Ref:
        """A reference for what a callback returns: the student's own objects, what this
        call was given, or an instance of a class that declares its methods (a handed-over
        class constructed by student code). Never any other object of the grader's."""
        if isinstance(obj, (RemoteCallable, RemoteObject)):
            return self._hand_over(obj)
        if id(obj) in self._capability_ids:
            return self._grant(obj, self._capabilities[self._capability_ids[id(obj)]][1])
        methods = exposed_methods(obj)
        if methods is None:
            raise TypeError(f"a callback returned a {type(obj).__name__}, which student code "
                            "may not be handed")
        return self._grant(obj, methods)

    def _grant(self, obj: Any, methods: frozenset[str] | None) -> P.Ref:
        number = self._capability_ids.get(id(obj))
        if number is None:
            if len(self._capabilities) >= MAX_CAPABILITIES:
                raise WorkerFailure("forbidden", "Your code made the grader hand over more "
                                                 "objects in one call than any solution needs.")
            self._next_capability += 1
            number = self._next_capability
            self._capabilities[number] = (obj, methods)
            self._capability_ids[id(obj)] = number
        return P.Ref("c" if methods is None else "g", number)

    def _resolve(self, ref: P.Ref) -> Any:
        if ref.kind in ("c", "g") and type(ref.id) is int and ref.id in self._capabilities:
            return self._capabilities[ref.id][0]
        if ref.kind in ("o", "r"):
            self._handles_this_call += 1
            if self._handles_this_call > MAX_HANDLES:
                raise P.ProtocolError("more handles in one call than any solution needs")
            if ref.kind == "o" and type(ref.id) is str and len(ref.id) <= 100:
                return self._remote_object_type(ref.id.partition(":")[2])(self, ref.id)
            if ref.kind == "r" and type(ref.id) is str and len(ref.id) <= 100:
                return RemoteCallable(self, ref.id, label=ref.id)
        raise P.ProtocolError("unknown reference")

    def _remote_object_type(self, name: str) -> type:
        """A RemoteObject subclass named like the student's class, for feedback messages
        ("a value of type set"); a bounded number of them per worker."""
        name = "".join(c for c in name if c.isalnum() or c == "_")[:60] or "object"
        cls = self._remote_types.get(name)
        if cls is None:
            if len(self._remote_types) >= MAX_OBJECT_TYPES:
                raise P.ProtocolError("more kinds of objects than any solution needs")
            cls = self._remote_types[name] = type(name, (RemoteObject,), {})
        return cls


class RemoteCallable:
    """A student function or class in the worker, or a method of a student object."""

    def __init__(self, worker: WorkerProcess, name: str, label: str,
                 obj: RemoteObject | None = None, method: str | None = None) -> None:
        self._worker, self._name, self._label = worker, name, label
        self._object, self._method = obj, method
        self.__name__ = label

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        target = {"$o": self._object._ref_id} if self._object is not None else self._name
        return self._worker.call(target, self._method, self._label, args, kwargs)

    # A message may show one (e.g. a "shape" that is a method): the default repr's address
    # would make the same submission's message differ from run to run.
    def __repr__(self) -> str:
        return f"<{self._label} of the submission>"


class RemoteObject:
    """An object created by student code; it stays in the worker."""

    def __init__(self, worker: WorkerProcess, ref_id: str) -> None:
        self._worker, self._ref_id = worker, ref_id

    def __repr__(self) -> str:  # no address, as RemoteCallable's
        return f"<{type(self).__name__} object of the submission>"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        label = f"{type(self).__name__}.{name}"
        return RemoteCallable(self._worker, name, label, obj=self, method=name)


class RemoteImplementation(NamedHandle):
    """One exercise loaded in a worker: a handle.Handle whose names the worker listed when
    it loaded the file (name -> kind)."""

    def __init__(self, worker: WorkerProcess, exercise: str, names: dict[str, str],
                 notes: list[str]) -> None:
        super().__init__(exercise, notes)
        self._worker = worker
        self._names = names

    def defines(self, name: str) -> bool:
        return name in self._names

    def _value(self, name: str) -> Any:
        if self._names[name] in ("callable", "class"):
            return RemoteCallable(self._worker, name, label=name)
        return self._worker.get(name)


def _text(value: Any, limit: int) -> str:
    """A string the worker sent, bounded and printable (never formatted with repr)."""
    text = value if type(value) is str else ""
    return printable(text[:limit])
