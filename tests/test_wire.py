"""Only plain data crosses the process boundary, and it crosses unchanged."""
from __future__ import annotations

import base64
import pickle
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograder.run import wire

plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
    | hnp.arrays(st.sampled_from([np.float64, np.int64, np.bool_, np.complex128]),
                 hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=12)


def same(a, b) -> bool:
    if isinstance(a, np.ndarray) and a.ndim > 0:
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, (np.ndarray, np.generic)):
        return isinstance(b, np.generic) and a.dtype == b.dtype and (a == b or a != a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@settings(max_examples=200, deadline=None)
@given(value=plain)
def test_plain_values_round_trip_exactly(value):
    frame = wire.dumps({"value": wire.encode(value)})
    assert same(value, wire.decode(wire.loads(frame[4:], wire.REQUESTS)["value"]))


def test_nan_and_infinities_cross():
    value = [float("nan"), float("inf"), -float("inf"), np.array([np.nan, np.inf])]
    back = wire.decode(wire.loads(wire.dumps({"v": wire.encode(value)})[4:])["v"])
    assert np.isnan(back[0]) and back[1] == np.inf and back[2] == -np.inf
    assert np.isnan(back[3][0]) and back[3][1] == np.inf


@pytest.mark.parametrize("value", [object(), {1: "int key"}, np.array([object()]), lambda: 0,
                                   np.zeros(3, dtype=[("a", "f8")])])
def test_anything_else_is_refused(value):
    with pytest.raises(wire.WireError):
        wire.encode(value)


@pytest.mark.parametrize("payload", [
    ["|O", [1], base64.b64encode(pickle.dumps([object()])).decode()],  # object arrays: pickles
    ["V8", [1], base64.b64encode(b"\0" * 8).decode()],                  # void / structured
    ["<U1", [1], base64.b64encode(b"\0" * 4).decode()],                 # strings
    ["<f8", [10**9], base64.b64encode(b"\0" * 8).decode()],             # a shape the bytes lack
    ["<f8", [-1], ""], "not a list", ["<f8", [1]],
])
def test_only_plain_arrays_are_ever_rebuilt(payload):
    with pytest.raises(wire.WireError):
        wire.decode({wire.ARRAY: payload})


def test_rebuilt_arrays_are_writable_copies():
    back = wire.decode(wire.loads(wire.dumps({"v": wire.encode(np.arange(3.0))})[4:])["v"])
    back[0] = 5.0  # a student may work in place on an argument
    assert back.flags.owndata or back.base is not None


def test_a_pickle_is_not_json():
    with pytest.raises(ValueError):
        wire.loads(pickle.dumps({"status": "ok"}))


def test_markers_from_a_child_are_not_resolved_by_the_grader():
    for marker in (wire.FUNCTION, wire.STUDENT_FUNCTION, wire.HANDLE):
        with pytest.raises(wire.WireError):
            wire.decode({marker: "anything"})


def test_frames_over_the_limit_are_refused():
    with pytest.raises(wire.WireError):
        wire.encode(np.zeros(wire.REQUESTS.frame_bytes // 8 + 1))
    with pytest.raises(wire.WireError):
        wire.dumps({"text": "x" * (wire.REQUESTS.frame_bytes + 1)})
    with pytest.raises(wire.WireError):
        wire.dumps({"text": "x" * wire.REPLIES.frame_bytes}, wire.REPLIES)


def test_a_frame_that_claims_to_be_huge_is_refused_at_its_header():
    frames = wire.FrameBuffer(wire.REPLIES)
    with pytest.raises(wire.WireError, match="frame too large"):
        frames.feed(struct.pack(">I", wire.REPLIES.frame_bytes + 1))


def test_a_bomb_of_empty_lists_is_refused_before_it_is_decoded():
    """64 MiB of ``[[],[],…]`` became 3.3 GB in the grader when it was decoded first."""
    import tracemalloc

    body = b"[" + b"[]," * (21 * 2**20) + b"[]]"  # just under 64 MiB
    tracemalloc.start()
    with pytest.raises(wire.WireError, match="more than"):
        wire.parse_json(body, wire.REQUESTS)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 2**20, peak  # the scan allocates next to nothing
    with pytest.raises(wire.WireError, match="nested deeper"):
        wire.parse_json(b"[" * 1000 + b"]" * 1000, wire.REPLIES)


@pytest.mark.parametrize("body", [b"[" + b"1" * 5000 + b"]", b'{"a": ', b"\xff", b"NaN]", rb'"\ud800"x'])
def test_any_bad_body_is_a_wire_error(body):
    with pytest.raises(wire.WireError):
        wire.loads(body)


def test_frames_split_anywhere_come_out_whole():
    messages = [{"n": n, "text": "é" * n} for n in range(5)]
    stream = b"".join(wire.dumps(m) for m in messages)
    for step in (1, 3, 7, len(stream)):
        frames, out = wire.FrameBuffer(wire.REPLIES), []
        for start in range(0, len(stream), step):
            frames.feed(stream[start:start + step])
            while (message := frames.take()) is not None:
                out.append(message)
        assert out == messages
