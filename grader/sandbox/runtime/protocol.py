"""The data-only channel between the grader and a worker that runs student code.

Only plain data crosses: None, bool, int, float, str, list, tuple, dict with str keys,
NumPy arrays and scalars of numeric dtype. Each is written as JSON, with tagged objects for
what JSON lacks, and decoded by exact type, within caps on size and depth. Nothing is
pickled, evaluated or looked up by name on the receiving side.

References stand in for what must not cross: `{"$r": name}` a name in the student's module,
`{"$o": id}` an object living in the worker, `{"$c": id}` a callable of the grader's,
`{"$g": id}` an object of the grader's. Arrays, lists and dicts carry a reference too, so
that the same one sent twice arrives as the same object, and in-place changes made on one
side are copied back ("synced") into the other side's object after every call: that is what
lets `step(params, grads)` update the grader's arrays, and what shows the grader a params
dict that student code rewrote, exactly as in one process.

This module imports nothing of the grader: the worker runs it next to student code.
"""

from __future__ import annotations

import binascii
import json
import math
import struct
from typing import Any

import numpy as np

MAX_FRAME_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 40
MAX_STRING = 1_000_000
_isfinite = math.isfinite
_EMPTY_TUPLE = {"$t": []}  # shared: trees are only ever serialized, never changed
_HEADER = struct.Struct(">I")
_DTYPES = {np.dtype(t).str: np.dtype(t) for t in (
    "?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8")}


class ProtocolError(Exception):
    """A frame that is not well-formed plain data: the sender is broken or hostile."""


class Ref:
    """A reference to something that lives on one side: `kind` is one of r, o, c, g."""

    __slots__ = ("kind", "id")

    def __init__(self, kind: str, ident: str | int) -> None:
        self.kind = kind
        self.id = ident

    def __eq__(self, other: object) -> bool:
        return type(other) is Ref and (other.kind, other.id) == (self.kind, self.id)

    def __hash__(self) -> int:
        return hash((self.kind, self.id))


class Mirror:
    """The arrays this side has sent or received, by reference, so identity survives.

    `side` prefixes the references this side invents ("g" grader, "w" worker).
    """

    def __init__(self, side: str) -> None:
        self._side = side
        self._count = 0
        self._by_ref: dict[str, Any] = {}
        self._ref_by_id: dict[int, str] = {}
        self.agreed: dict[str, Any] = {}  # ref -> fingerprint when it last crossed

    def clear(self) -> None:
        self._by_ref.clear()
        self._ref_by_id.clear()
        self.agreed.clear()

    def ref_for(self, obj: Any) -> str:
        ref = self._ref_by_id.get(id(obj))
        if ref is None:
            self._count += 1
            ref = f"{self._side}{self._count}"
            self._remember(ref, obj)
        return ref

    def resolve(self, ref: str, incoming: Any) -> Any:
        """The local array, list or dict for `ref`, updated in place to the incoming contents."""
        known = self._by_ref.get(ref)
        if type(known) is np.ndarray and type(incoming) is np.ndarray \
                and known.shape == incoming.shape and known.dtype == incoming.dtype:
            if known.flags.writeable:
                np.copyto(known, incoming)
            return known
        if type(known) is list and type(incoming) is list:
            if len(known) != len(incoming) or any(a is not b for a, b in zip(known, incoming)):
                known[:] = incoming
            return known
        if type(known) is dict and type(incoming) is dict:
            if list(known) != list(incoming) or any(known[k] is not incoming[k] for k in known):
                known.clear()
                known.update(incoming)
            return known
        self._remember(ref, incoming)
        return incoming

    def _remember(self, ref: str, obj: Any) -> None:
        self._by_ref[ref] = obj  # kept alive, so id(obj) cannot be reused
        self._ref_by_id[id(obj)] = ref


# ---------------------------------------------------------------------------- encoding


def encode(value: Any, mirror: Mirror, refer: Any = None, arrays: list | None = None) -> Any:
    """A JSON-able tree for `value`. `refer(obj)` returns a Ref for what is not plain data
    (or raises TypeError); `arrays` collects (ref, object) of every array, list and dict
    encoded."""
    return _enc(value, mirror, refer, arrays, 0)


def _enc(v: Any, mirror: Mirror, refer: Any, arrays: list | None, depth: int) -> Any:
    # The most frequent types first: every call and callback goes through here.
    if depth > MAX_DEPTH:
        raise TypeError("value nested too deeply")
    t = type(v)
    if t is float:
        return v if _isfinite(v) else {"$f": repr(v)}
    if t is np.ndarray:
        if v.dtype.str in _DTYPES:
            ref = mirror.ref_for(v)
            if arrays is not None:
                arrays.append((ref, v))
            mirror.agreed[ref] = fingerprint(v)
            return {"$a": _array_fields(v), "ref": ref}
    elif v is None or t is bool or t is str:
        return v
    elif t is int:
        return v if -2**63 < v < 2**63 else {"$i": str(v)}
    elif t is tuple:
        if not v:
            return _EMPTY_TUPLE
        depth += 1
        return {"$t": [_enc(x, mirror, refer, arrays, depth) for x in v]}
    elif t is list:
        ref = mirror.ref_for(v)
        if arrays is not None:
            arrays.append((ref, v))
        mirror.agreed[ref] = fingerprint(v)
        return {"$l": [_enc(x, mirror, refer, arrays, depth + 1) for x in v], "ref": ref}
    elif t is dict:
        if not all(type(k) is str for k in v):
            raise TypeError("dict keys must be str")
        ref = mirror.ref_for(v)
        if arrays is not None:
            arrays.append((ref, v))
        mirror.agreed[ref] = fingerprint(v)
        return {"$d": [[k, _enc(x, mirror, refer, arrays, depth + 1)] for k, x in v.items()],
                "ref": ref}
    if isinstance(v, np.generic) and type(v) is v.dtype.type and v.dtype.str in _DTYPES:
        return {"$s": v.dtype.str, "b": _b64encode(v.tobytes())}
    if refer is not None:
        ref = refer(v)
        return {f"${ref.kind}": ref.id}
    raise TypeError(f"cannot send a value of type {t.__name__}")


def _array_fields(a: np.ndarray) -> dict:
    fields = {"dtype": a.dtype.str, "shape": list(a.shape),
              "b": _b64encode(a.tobytes())}  # C order, views too
    # A non-contiguous view is rebuilt as a view on the other side too (same strides in
    # items), so code that would silently copy it (x.reshape(-1)) behaves the same.
    if a.size > 1 and not a.flags.c_contiguous and all(s > 0 for s in a.strides) \
            and all(s % a.itemsize == 0 for s in a.strides):
        fields["strides"] = [s // a.itemsize for s in a.strides]
    return fields


# ---------------------------------------------------------------------------- decoding


def decode(tree: Any, mirror: Mirror, resolve: Any = None, arrays: list | None = None) -> Any:
    """The value for a tree made by `encode`. `resolve(Ref)` maps references to local
    objects; `arrays` collects (ref, object) of every array, list and dict decoded."""
    return _dec(tree, mirror, resolve, arrays, 0)


def _dec(v: Any, mirror: Mirror, resolve: Any, arrays: list | None, depth: int) -> Any:
    # The most frequent shapes first: every call and callback goes through here.
    if depth > MAX_DEPTH:
        raise ProtocolError("nested too deeply")
    t = type(v)
    if t is float or t is int or v is None or t is bool:
        return v
    if t is dict:
        if "$t" in v:
            body = v["$t"]
            if len(v) != 1 or type(body) is not list:
                raise ProtocolError("malformed tagged value")
            depth += 1
            return tuple([_dec(x, mirror, resolve, arrays, depth) for x in body])
        if "$a" in v or "$l" in v or "$d" in v:
            ref = v.get("ref")
            if len(v) != 2 or type(ref) is not str or len(ref) > 40:
                raise ProtocolError("array, list or dict without a reference")
            if "$a" in v:
                value: Any = _array_from(v["$a"])
            elif "$l" in v:
                if type(v["$l"]) is not list:
                    raise ProtocolError("malformed list")
                value = [_dec(x, mirror, resolve, arrays, depth + 1) for x in v["$l"]]
            else:
                value = _dict_from(v["$d"], mirror, resolve, arrays, depth)
            local = mirror.resolve(ref, value)
            mirror.agreed[ref] = fingerprint(local)
            if arrays is not None:
                arrays.append((ref, local))
            return local
    elif t is str:
        if len(v) > MAX_STRING:
            raise ProtocolError("string too long")
        return v
    elif t is list:
        depth += 1
        return [_dec(x, mirror, resolve, arrays, depth) for x in v]
    if t is not dict or len(v) == 0:
        raise ProtocolError(f"unexpected {t.__name__}")
    if "$s" in v:
        if len(v) != 2 or type(v.get("b")) is not str or v["$s"] not in _DTYPES:
            raise ProtocolError("malformed scalar")
        dtype = _DTYPES[v["$s"]]
        raw = _b64decode(v["b"])
        if len(raw) != dtype.itemsize:
            raise ProtocolError("scalar size does not match its dtype")
        return np.frombuffer(raw, dtype=dtype)[0]
    if len(v) != 1:
        raise ProtocolError("malformed tagged value")
    (tag, body), = v.items()
    if tag == "$f" and body in ("nan", "inf", "-inf"):
        return float(body)
    if tag == "$i" and type(body) is str and len(body) <= 400:
        return int(body)
    if tag in ("$r", "$o", "$c", "$g") and type(body) in (str, int) and resolve is not None:
        return resolve(Ref(tag[1], body))
    raise ProtocolError(f"unknown tag {tag[:20]!r}")


def decode_kwargs(tree: Any, mirror: Mirror, resolve: Any = None,
                  arrays: list | None = None) -> dict:
    """Keyword arguments, sent as a tuple of (name, value) pairs (not a mirrored dict: the
    container is new for every call and nobody else holds it)."""
    pairs = decode(tree, mirror, resolve, arrays)
    if type(pairs) is tuple and not pairs:  # nearly every call
        return {}
    if type(pairs) is not tuple or not all(
            type(p) is tuple and len(p) == 2 and type(p[0]) is str for p in pairs):
        raise ProtocolError("malformed keyword arguments")
    return dict(pairs)


def _dict_from(body: Any, mirror: Mirror, resolve: Any, arrays: list | None,
               depth: int) -> dict:
    if type(body) is not list:
        raise ProtocolError("malformed dict")
    out = {}
    for pair in body:
        if type(pair) is not list or len(pair) != 2 or type(pair[0]) is not str:
            raise ProtocolError("malformed dict entry")
        out[pair[0]] = _dec(pair[1], mirror, resolve, arrays, depth + 1)
    return out


def _b64encode(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def _b64decode(text: str) -> bytes:
    # Strict: only the alphabet and correct padding (base64.b64decode(validate=True) checks
    # the same with a regular expression, at several times the cost).
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        raise ProtocolError("malformed base64") from None


def _array_from(fields: Any) -> np.ndarray:
    if type(fields) is not dict:
        raise ProtocolError("malformed array")
    strides = fields.get("strides")
    if len(fields) != (3 if strides is None else 4):
        raise ProtocolError("malformed array")
    dtype = fields.get("dtype")
    shape = fields.get("shape")
    data = fields.get("b")
    if type(dtype) is not str or type(shape) is not list or type(data) is not str \
            or len(shape) > 32:
        raise ProtocolError("malformed array")
    dtype = _DTYPES.get(dtype)
    count = 1
    for n in shape:
        if type(n) is not int or n < 0:
            raise ProtocolError("malformed array")
        count *= n
    if dtype is None:
        raise ProtocolError("malformed array")
    raw = _b64decode(data)
    if count * dtype.itemsize != len(raw):
        raise ProtocolError("array size does not match its shape")
    array = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    if strides is not None:
        if type(strides) is not list or len(strides) != len(shape) \
                or not all(type(s) is int and 0 < s < 2**31 for s in strides):
            raise ProtocolError("malformed strides")
        extent = sum((n - 1) * s for n, s in zip(shape, strides)) + 1
        if extent > 16 * max(count, 1) + 1024:
            raise ProtocolError("strides too large")
        base = np.zeros(extent, dtype=dtype)
        view = np.lib.stride_tricks.as_strided(
            base, shape=shape, strides=[s * dtype.itemsize for s in strides], writeable=True)
        view[...] = array
        return view
    return array


# ---------------------------------------------------------------------------- syncing


def changed(received: list, mirror: Mirror) -> list:
    """(ref, object) of those received arrays, lists and dicts whose contents differ from
    the last contents both sides agreed on (the last time they crossed, either way): what
    a call changed in place and must sync back."""
    return [(ref, obj) for ref, obj in received if fingerprint(obj) != mirror.agreed.get(ref)]


def fingerprint(obj: Any) -> Any:
    # Contents for arrays (an in-place write or a reshape in place); element identity for
    # lists and dicts (a replaced element is a new object; a changed element array is
    # synced on its own, since it was received too).
    if type(obj) is np.ndarray:
        return obj.shape, obj.strides, obj.tobytes()
    if type(obj) is list:
        return tuple(map(id, obj))
    if type(obj) is dict:
        return tuple((k, id(v)) for k, v in obj.items())
    return id(obj)


# ---------------------------------------------------------------------------- framing


def _no_constants(name: str) -> None:
    raise ProtocolError(f"non-standard JSON constant {name}")


def _unencodable(value: Any) -> Any:
    raise TypeError(f"cannot send a value of type {type(value).__name__}")


# Built once: json.dumps and JSONEncoder.encode build a new C encoder for every frame, a
# tenth of a round trip's cost. No check for cycles (markers=None): every tree is made by
# `encode` or by the grader's and worker's own code, fresh and at most MAX_DEPTH deep.
if json.encoder.c_make_encoder is not None:
    _c_encoder = json.encoder.c_make_encoder(
        None, _unencodable, json.encoder.encode_basestring_ascii, None, ":", ",",
        False, False, False)  # sort_keys, skipkeys, allow_nan

    def _to_json(message: dict) -> str:
        return "".join(_c_encoder(message, 0))
else:  # a Python without the C accelerator
    _to_json = json.JSONEncoder(allow_nan=False, separators=(",", ":")).encode
_DECODER = json.JSONDecoder(parse_constant=_no_constants)


def write_frame(stream: Any, message: dict) -> None:
    payload = _to_json(message).encode()
    if len(payload) > MAX_FRAME_BYTES:
        raise TypeError("message too large to send")
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def read_frame(stream: Any) -> dict:
    header = _read_exactly(stream, _HEADER.size)
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame of {size} bytes is over the limit")
    payload = _read_exactly(stream, size)
    try:
        text = payload.decode("utf-8")
        # raw_decode: write_frame puts no whitespace around the JSON, so nothing to skip
        message, end = _DECODER.raw_decode(text)
    except (ValueError, RecursionError) as e:
        raise ProtocolError(f"frame is not JSON: {e}") from None
    if end != len(text):
        raise ProtocolError("frame is not JSON: data after the message")
    if type(message) is not dict or type(message.get("op")) is not str:
        raise ProtocolError("frame is not a message")
    return message


def _read_exactly(stream: Any, n: int) -> bytes:
    data = stream.read(n)  # a buffered pipe returns all n bytes unless it is closed
    if len(data) == n:
        return data
    chunks = [data]
    n -= len(data)
    while n:
        chunk = stream.read(n)
        if not chunk:
            raise EOFError("channel closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)
