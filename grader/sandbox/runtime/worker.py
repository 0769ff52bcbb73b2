"""The worker: holds one student's code and answers the grader's calls over a data channel.

Started as `python -I worker.py IN_FD OUT_FD` from a private folder that holds only this file,
protocol.py and loading.py: nothing of the grader's checks, references or results is
importable here. Everything the grader sends and everything sent back is plain data
(protocol.py); the student's objects stay here and are referred to by number.

After it has run student code nothing this process says can be trusted, and the grader
does not: it validates every frame, computes every verdict itself, and kills this process
when it misbehaves. This file only has to be correct for honest code.
"""

from __future__ import annotations

import os
import sys
from typing import Any

# Run with -I, this folder is not on sys.path: add it. It holds only this file,
# protocol.py and loading.py. Run with -S too (no site module, 40 ms less per start), so
# NumPy's folder comes after the channel's two ends on the command line.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.extend(sys.argv[3:])


def _site_builtins() -> None:
    # exit(), quit(), help() and copyright come from the site module: student code sees
    # them exactly as under `grader check`, whose Python ran site.
    import builtins
    import site

    if not hasattr(builtins, "exit"):
        site.setquit()
        site.setcopyright()
        site.sethelper()


_site_builtins()

import loading  # noqa: E402
import numpy as np  # noqa: E402
import protocol as P  # noqa: E402


class GraderCallbackFailed(Exception):
    """A grader callable raised; the grader re-raises its own exception if this escapes."""

    def __init__(self, token: int) -> None:
        super().__init__("a grader function called by your code failed")
        self.token = token


class _GraderCallable:
    """Stands in, inside the worker, for a callable of the grader's (f, loss_and_grads)."""

    def __init__(self, worker: Worker, ref: P.Ref, method: str | None = None) -> None:
        self._worker, self._ref, self._method = worker, ref, method

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._worker.callback(self._ref, self._method, args, kwargs)


class _GraderObject:
    """Stands in for an object of the grader's (e.g. an optimizer class it passed in)."""

    def __init__(self, worker: Worker, ref: P.Ref) -> None:
        self._worker, self._ref = worker, ref

    def __getattr__(self, name: str) -> Any:
        # Only public methods are ever callable (the grader refuses the rest, and calls
        # only those the check declared).
        if name.startswith("_"):
            raise AttributeError(name)
        return _GraderCallable(self._worker, self._ref, name)


class Worker:
    def __init__(self, reader: Any, writer: Any) -> None:
        self.reader, self.writer = reader, writer
        self.mirror = P.Mirror("w")
        self.objects: dict[str, Any] = {}
        self.object_ids: dict[int, str] = {}
        self.namespace: dict[str, Any] = {}
        self.source_file = ""

    # -------------------------------------------------------------- channel

    def send(self, message: dict) -> None:
        P.write_frame(self.writer, message)

    def serve(self) -> None:
        self.send({"op": "ready", "python": sys.version.split()[0], "numpy": np.__version__})
        while True:
            try:
                message = P.read_frame(self.reader)
            except EOFError:
                return
            op = message["op"]
            if op == "exit":
                return
            reply = self.handle(message)
            _flush_output()
            self.send(reply)

    def handle(self, message: dict) -> dict:
        op = message["op"]
        if op == "load":
            return self.load(message)
        if op == "call":
            return self.call(message)
        if op == "get":
            name = str(message.get("name"))
            if name not in self.namespace:
                return {"op": "raise", "kind": "missing", "name": name}
            try:
                return {"op": "return", "value": P.encode(self.namespace[name], self.mirror,
                                                          self.refer), "sync": []}
            except (TypeError, ValueError, RecursionError) as e:
                return {"op": "raise", "kind": "unsendable", "function": name,
                        "text": loading.short(e), "sync": []}
        if op == "reset":
            self.mirror.clear()
            self.objects.clear()
            self.object_ids.clear()
            return {"op": "ok"}
        return {"op": "protocol_error", "message": f"unknown op {op[:40]!r}"}

    # -------------------------------------------------------------- loading

    def load(self, message: dict) -> dict:
        folder, name = message["folder"], message["display"]
        self.source_file = message["filename"]
        self.namespace = {"__name__": f"submission_{message['exercise']}",
                          "__file__": self.source_file, "__builtins__": __builtins__}
        notes: list[str] = []
        _mark_output(f"=== {message['exercise']} ({name}) ===")
        try:
            with loading.student_import_context(folder):
                if message["kind"] == "cells":
                    cells = [(int(i), str(src)) for i, src in message["cells"]]
                    notes = loading.run_cells(cells, name, self.namespace)
                else:
                    try:
                        with open(self.source_file, "rb") as f:
                            raw = f.read(loading.MAX_SOURCE_BYTES + 1)
                    except OSError as e:
                        raise loading.LoadError("bad_file", f"{name} could not be read: "
                                                         f"{e.strerror}.") from None
                    loading.run_source(raw, self.source_file, name, self.namespace)
        except loading.LoadError as e:
            return {"op": "load_error", "status": e.status, "message": e.message}
        names = {k: ("class" if isinstance(v, type) else "callable" if callable(v) else "value")
                 for k, v in self.namespace.items() if not k.startswith("__")}
        return {"op": "loaded", "names": names, "notes": notes}

    # -------------------------------------------------------------- calls

    def call(self, message: dict) -> dict:
        label = str(message.get("label", "?"))[:200]
        target, method = message.get("target"), message.get("method")
        try:
            if type(target) is str:
                if target not in self.namespace:
                    return {"op": "raise", "kind": "missing", "name": target}
                fn = self.namespace[target]
            else:
                fn = self.objects[str(target["$o"])]
            received: list = []
            args = P.decode(message["args"], self.mirror, self.resolve, received)
            kwargs = P.decode_kwargs(message["kwargs"], self.mirror, self.resolve, received)
            if type(args) is not tuple:
                raise P.ProtocolError("bad arguments")
        except (KeyError, TypeError, ValueError, P.ProtocolError) as e:
            return {"op": "protocol_error", "message": f"bad call: {loading.short(e)}"}
        try:
            if method is not None:
                # Looked up apart from the call: an AttributeError raised inside the method
                # (a typo like self.learning_rate) is an error in it, not a missing method.
                try:
                    fn = getattr(fn, str(method))
                except AttributeError:
                    return {"op": "raise", "kind": "missing", "name": label,
                            "sync": self.sync(received)}
            result = fn(*args, **kwargs)
        except GraderCallbackFailed as e:
            return {"op": "raise", "kind": "callback", "token": e.token,
                    "sync": self.sync(received)}
        except (Exception, SystemExit, GeneratorExit, KeyboardInterrupt) as e:
            return self.failure(label, e, received)
        try:
            value = P.encode(result, self.mirror, self.refer)
        except (TypeError, ValueError, RecursionError) as e:
            return {"op": "raise", "kind": "unsendable", "function": label,
                    "text": loading.short(e), "sync": self.sync(received)}
        return {"op": "return", "value": value, "sync": self.sync(received)}

    def failure(self, label: str, error: BaseException, received: list) -> dict:
        described = loading.describe_exception(label, error, self.source_file, boundary_frames=1)
        return {"op": "raise", **described, "sync": self.sync(received)}

    def sync(self, received: list) -> list:
        """The contents of every array, list and dict that came with the call and that the
        call changed in place."""
        out = []
        for ref, array in P.changed(received, self.mirror):
            try:
                out.append([ref, P.encode(array, self.mirror)])
            except (TypeError, ValueError):
                continue
        return out

    def resolve(self, ref: P.Ref) -> Any:
        if ref.kind == "r":
            return self.namespace[str(ref.id)]
        if ref.kind == "o":
            return self.objects[str(ref.id)]
        if ref.kind == "c":
            return _GraderCallable(self, ref)
        if ref.kind == "g":
            return _GraderObject(self, ref)
        raise P.ProtocolError("unknown reference")

    def refer(self, obj: Any) -> P.Ref:
        if isinstance(obj, _GraderCallable) and obj._method is None:
            return obj._ref
        if isinstance(obj, _GraderObject):
            return obj._ref
        key = id(obj)
        if key not in self.object_ids:
            # The type's name travels with the reference, so that feedback can say
            # "a value of type set" exactly as the in-process engine does.
            name = "".join(c for c in type(obj).__name__ if c.isalnum() or c == "_")[:60]
            self.object_ids[key] = f"{len(self.objects) + 1}:{name or 'object'}"
            self.objects[self.object_ids[key]] = obj
        return P.Ref("o", self.object_ids[key])

    # -------------------------------------------------------------- callbacks

    def callback(self, ref: P.Ref, method: str | None, args: tuple, kwargs: dict) -> Any:
        message = {"op": "callback", "target": {f"${ref.kind}": ref.id}, "method": method,
                   "args": P.encode(args, self.mirror, self.refer),
                   "kwargs": P.encode(tuple(kwargs.items()), self.mirror, self.refer)}
        self.send(message)
        while True:  # the grader may call into student code while it answers
            reply = P.read_frame(self.reader)
            if reply["op"] == "call":
                self.send(self.call(reply))
                continue
            for _ref, tree in reply.get("sync", []):
                P.decode(tree, self.mirror)
            if reply["op"] == "callback_return":
                return P.decode(reply["value"], self.mirror, self.resolve)
            if reply["op"] == "callback_raise":
                raise GraderCallbackFailed(int(reply["token"]))
            raise P.ProtocolError(f"unexpected {reply['op'][:40]!r} during a callback")


def _flush_output() -> None:
    """Push what student code printed to the grader's capped log now: the worker is killed,
    never asked to exit, so whatever stayed in a buffer would be lost."""
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass


def _mark_output(line: str) -> None:
    """A heading in the output log (an exercise's part of it starts here). Written to fd 1
    itself: student code of an earlier exercise may have replaced sys.stdout."""
    _flush_output()  # what was printed before it comes before it
    try:
        os.write(1, f"\n{line}\n".encode("utf-8", "replace"))
    except OSError:
        pass


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # a line printed before a hang is still seen
    reader = os.fdopen(int(sys.argv[1]), "rb")
    writer = os.fdopen(int(sys.argv[2]), "wb")
    Worker(reader, writer).serve()


if __name__ == "__main__":
    main()
