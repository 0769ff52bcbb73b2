"""The data-only channel: exact types, identity across the boundary, refusal of the rest."""

from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest

from grader.sandbox.runtime import protocol as P


def _roundtrip(value, sender=None, receiver=None):
    sender = sender or P.Mirror("g")
    receiver = receiver or P.Mirror("w")
    buffer = io.BytesIO()
    P.write_frame(buffer, {"op": "x", "v": P.encode(value, sender)})
    buffer.seek(0)
    return P.decode(P.read_frame(buffer)["v"], receiver)


def test_plain_values_keep_their_exact_types():
    value = {"none": None, "t": True, "i": 3, "big": 10**40, "f": 2.5, "nan": float("nan"),
             "inf": float("-inf"), "s": "é\n", "l": [1, (2, 3)], "f64": np.float64(1.5),
             "i32": np.int32(7), "b": np.bool_(True)}
    back = _roundtrip(value)
    assert type(back["t"]) is bool and type(back["i"]) is int and back["big"] == 10**40
    assert np.isnan(back["nan"]) and back["inf"] == float("-inf")
    assert type(back["l"]) is list and type(back["l"][1]) is tuple
    assert type(back["f64"]) is np.float64 and type(back["i32"]) is np.int32
    assert type(back["b"]) is np.bool_


def test_arrays_arrive_as_plain_arrays_with_dtype_shape_and_layout():
    base = np.arange(24.0).reshape(4, 6)
    for a in (base, base[:, ::2], base.T, np.zeros((0, 3)), np.array(5.0),
              np.arange(6, dtype=np.int16)):
        back = _roundtrip(a)
        assert type(back) is np.ndarray and back.dtype == a.dtype and back.shape == a.shape
        assert np.array_equal(back, a)
        assert back.flags.c_contiguous == a.flags.c_contiguous or a.size <= 1


def test_the_same_object_sent_back_is_the_same_object_updated_in_place():
    grader, worker = P.Mirror("g"), P.Mirror("w")
    x = np.zeros(3)
    params = {"W": x}
    there = _roundtrip(params, grader, worker)
    there["W"][0] = 7.0
    there["extra"] = np.ones(1)
    back = _roundtrip(there, worker, grader)
    assert back is params and back["W"] is x and x[0] == 7.0 and "extra" in params


@pytest.mark.parametrize("value", [object(), {1: 2}, np.array([object()]),
                                   np.array(["a"]), np.zeros(2).view(np.matrix), set()])
def test_what_is_not_plain_data_cannot_be_sent(value):
    with pytest.raises(TypeError):
        P.encode(value, P.Mirror("g"))


@pytest.mark.parametrize("tree", [
    {"$a": {"dtype": "|O", "shape": [1], "b": ""}, "ref": "w1"},
    {"$a": {"dtype": "<f8", "shape": [2], "b": "AAAA"}, "ref": "w1"},
    {"$a": {"dtype": "<f8", "shape": [1], "b": "AAAAAAAAAAA="}},
    {"$x": 1}, {"$t": [1], "extra": 2}, {"$d": [[1, 2]], "ref": "w2"},
    {"$s": "<f8", "b": "AA=="}, {"$f": "1e999"}, {"$i": "9" * 500}, 1 + 2j,
    # base64 outside the alphabet or with wrong padding (the decoder is strict)
    {"$a": {"dtype": "<f8", "shape": [1], "b": "AAAA\nAAAAAAA="}, "ref": "w1"},
    {"$a": {"dtype": "<f8", "shape": [1], "b": "AAAAAAAAAAA"}, "ref": "w1"},
    {"$s": "<f8", "b": "AAAAAAAAAAA*"},
    # array fields: unknown, missing or of the wrong type
    {"$a": {"dtype": "<f8", "shape": [1], "b": "AAAAAAAAAAA=", "junk": 1}, "ref": "w1"},
    {"$a": {"dtype": "<f8", "shape": [1], "junk": "AAAAAAAAAAA="}, "ref": "w1"},
    {"$a": {"dtype": ["<f8"], "shape": [1], "b": "AAAAAAAAAAA="}, "ref": "w1"},
    {"$a": {"dtype": "<f8", "shape": [-1], "b": ""}, "ref": "w1"},
    {"$a": {"dtype": "<f8", "shape": [True], "b": "AAAAAAAAAAA="}, "ref": "w1"},
    {"$a": ["<f8", [1], "AAAAAAAAAAA="], "ref": "w1"}, {"$t": "ab"}, {"$s": "<f8", "x": "A"},
])
def test_malformed_trees_are_refused(tree):
    with pytest.raises(P.ProtocolError):
        P.decode(tree, P.Mirror("g"))


def test_too_deep_nesting_is_refused_both_ways():
    deep: list = []
    for _ in range(P.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(TypeError):
        P.encode(deep, P.Mirror("g"))
    tree: object = 1
    for _ in range(P.MAX_DEPTH + 5):
        tree = {"$t": [tree]}
    with pytest.raises(P.ProtocolError):
        P.decode(tree, P.Mirror("g"))


def test_frames_over_the_limit_or_not_json_are_refused():
    with pytest.raises(P.ProtocolError):
        P.read_frame(io.BytesIO(struct.pack(">I", P.MAX_FRAME_BYTES + 1)))
    bad = b"{not json"
    with pytest.raises(P.ProtocolError):
        P.read_frame(io.BytesIO(struct.pack(">I", len(bad)) + bad))
    nan = json.dumps({"op": "x", "v": float("nan")}).encode()  # NaN is not standard JSON
    with pytest.raises(P.ProtocolError):
        P.read_frame(io.BytesIO(struct.pack(">I", len(nan)) + nan))
    for padded in (b'{"op": "x"} ', b' {"op": "x"}', b'{"op": "x"}{"op": "y"}'):
        with pytest.raises(P.ProtocolError):  # nothing around or after the one message
            P.read_frame(io.BytesIO(struct.pack(">I", len(padded)) + padded))
    with pytest.raises(EOFError):
        P.read_frame(io.BytesIO(b"\x00\x00"))


STUDENT = '''
def perturb_and_restore(f, x):
    old = x[0]
    x[0] = old + 1.0
    seen = f(x)
    x[0] = old
    return seen

def perturb_and_keep(f, x):
    x[0] += 1.0
    return f(x)
'''


@pytest.fixture
def remote(tmp_path):
    from grader.engine.remote import RemoteImplementation, WorkerProcess

    path = tmp_path / "student.py"
    path.write_text(STUDENT)
    worker = WorkerProcess()
    names, notes = worker.load(path, "student", None)
    yield RemoteImplementation(worker, "student", names, notes)
    worker.close()


def test_an_array_restored_after_a_callback_is_restored_for_the_grader_too(remote):
    # The callback showed the grader the perturbed x; the restored contents must follow,
    # although they equal what the worker received with the call.
    x = np.array([0.5, 2.0])
    seen = remote.perturb_and_restore(lambda z: float(z[0]), x)
    assert seen == 1.5
    assert x.tolist() == [0.5, 2.0]


def test_an_array_changed_in_place_is_changed_for_the_grader(remote):
    x = np.array([0.5, 2.0])
    assert remote.perturb_and_keep(lambda z: float(z[0]), x) == 1.5
    assert x.tolist() == [1.5, 2.0]
    assert remote.perturb_and_keep(lambda z: float(z[0]), x) == 2.5
    assert x.tolist() == [2.5, 2.0]
