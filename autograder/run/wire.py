"""Plain data across the process boundary: JSON, with numpy arrays as dtype, shape and raw bytes.

Both sides use this module: the grader to send arguments and read results, the child (which may
not import anything else from ``autograder``) to read arguments and send results.  Nothing here
ever unpickles: a student process can send only numbers, strings, arrays of plain numeric dtypes
(bool, int, float, complex; never object or structured) and containers of those.  Frames are
length-prefixed so a print in student code cannot corrupt them, and every frame is read by one
decoder (``FrameBuffer``) that refuses a frame over its ``Limits`` (bytes, then nesting and number
of values) before ``json.loads`` builds a single object: what a child sends cannot make the
grader's memory grow past a bound.  The notebook loader parses submissions with the same limits.
"""
from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import struct

import numpy as np

ARRAY_KINDS = "biufc"  # bool, signed, unsigned, float, complex; never object or structured

# Markers of the values JSON cannot hold directly.
ARRAY, TUPLE, DICT = "$nd", "$tuple", "$dict"
# Markers of arguments the child rebuilds itself: a catalogue function, one of the student's
# own functions, or a value the child kept from an earlier call.
FUNCTION, STUDENT_FUNCTION, HANDLE = "$fn", "$student", "$handle"
MARKERS = (ARRAY, TUPLE, DICT, FUNCTION, STUDENT_FUNCTION, HANDLE)


@dataclasses.dataclass(frozen=True)
class Limits:
    """How much JSON one message may hold, checked before it is decoded."""
    frame_bytes: int
    values: int  # containers and their elements (arrays cross as one string each)
    depth: int


# The grader's requests carry whole data sets (the digits) as raw arrays.
REQUESTS = Limits(frame_bytes=64 * 2**20, values=1_000_000, depth=64)
# Every honest reply is far below this (the largest, a bump network's parameters, is < 1 MiB).
REPLIES = Limits(frame_bytes=8 * 2**20, values=200_000, depth=32)

_TOKENS = {bytes: re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{,\]}]'),
           str: re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{,\]}]')}
_OPENING = {bytes: (b"[", b"{"), str: ("[", "{")}
_CLOSING = {bytes: (b"]", b"}"), str: ("]", "}")}


class WireError(ValueError):
    """A value that cannot cross the boundary, or a frame that is not ours."""


def encode(value):
    """``value`` as a JSON-ready tree, or WireError naming the first unsupported type."""
    if value is None or type(value) in (bool, str):
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int) and not isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float) and not isinstance(value, np.floating):
        return float(value)
    if isinstance(value, (np.ndarray, np.generic)):
        return {ARRAY: _array_to_text(np.asarray(value))}
    if isinstance(value, tuple):
        return {TUPLE: [encode(item) for item in value]}
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise WireError("dict keys must be strings / 字典的键必须是字符串")
        return {DICT: {key: encode(item) for key, item in value.items()}}
    if hasattr(value, "__wire__"):
        return value.__wire__()
    raise WireError(f"unsupported type / 不支持的类型: {type(value).__name__}")


def decode(tree, resolve=None):
    """The value a tree stands for.  ``resolve(marker, payload)`` rebuilds function and handle
    markers (only the child passes one; the grader never accepts them from a child)."""
    if isinstance(tree, list):
        return [decode(item, resolve) for item in tree]
    if not isinstance(tree, dict):
        return tree
    if len(tree) != 1:
        raise WireError("malformed value / 格式错误的值")
    (marker, payload), = tree.items()
    if marker == ARRAY:
        return _array_from_text(payload)
    if marker == TUPLE:
        return tuple(decode(item, resolve) for item in payload)
    if marker == DICT:
        return {str(key): decode(item, resolve) for key, item in payload.items()}
    if marker in (FUNCTION, STUDENT_FUNCTION, HANDLE) and resolve is not None:
        return resolve(marker, payload)
    raise WireError(f"unexpected marker / 意外的标记: {marker!r}")


def _plain_dtype(dtype: np.dtype) -> np.dtype:
    if dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise WireError(f"unsupported array dtype / 不支持的数组类型: {dtype}")
    return dtype


def _array_to_text(array: np.ndarray) -> list:
    dtype = _plain_dtype(array.dtype)
    if array.nbytes * 4 // 3 > REQUESTS.frame_bytes:  # base64 grows it by a third: refuse before copying
        raise WireError(f"too large to send: {array.nbytes} bytes / 数据过大")
    data = base64.b64encode(array.tobytes()).decode("ascii")
    return [dtype.str, list(array.shape), data]


def _array_from_text(payload):
    try:
        dtype_text, shape, data = payload
        dtype = _plain_dtype(np.dtype(str(dtype_text)))
        shape = tuple(int(n) for n in shape)
        if any(n < 0 for n in shape):
            raise ValueError(f"negative dimension in {shape}")
        raw = base64.b64decode(data.encode("ascii"), validate=True)
        array = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()  # writable, its own memory
    except (TypeError, ValueError, AttributeError) as error:
        raise WireError(f"malformed array / 格式错误的数组: {error}") from None
    # A 0-d array stands for a numpy scalar (np.float64 and friends).
    return array[()] if array.ndim == 0 else array


def parse_json(text: bytes | str, limits: Limits):
    """``json.loads(text)``, refused with WireError (never another exception) when the text is
    larger, deeper or holds more values than ``limits`` allow: the structure is counted first,
    by a scan that stops at the first value over the limit, so a bomb costs the reader nothing."""
    if len(text) > limits.frame_bytes:
        raise WireError(f"too large: {len(text)} bytes (limit {limits.frame_bytes}) / 数据过大")
    kind = bytes if isinstance(text, (bytes, bytearray, memoryview)) else str
    opening, closing = _OPENING[kind], _CLOSING[kind]
    values = depth = 0
    for token in _TOKENS[kind].finditer(text):
        symbol = token.group()
        if symbol in opening:
            depth += 1
            if depth > limits.depth:
                raise WireError(f"nested deeper than {limits.depth} levels / 嵌套过深")
        elif symbol in closing:
            depth -= 1
            continue
        elif len(symbol) > 1:  # a string
            continue
        values += 1
        if values > limits.values:
            raise WireError(f"more than {limits.values} values / 值过多")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, a 5000-digit integer …
        raise WireError(f"not valid JSON / 不是有效的 JSON: {str(error)[:200]}") from None


def dumps(message: dict, limits: Limits = REQUESTS) -> bytes:
    body = json.dumps(message, allow_nan=True, separators=(",", ":")).encode("utf-8")
    if len(body) > limits.frame_bytes:
        raise WireError(f"too large to send: {len(body)} bytes (limit {limits.frame_bytes}) / 数据过大")
    return struct.pack(">I", len(body)) + body


def loads(body: bytes, limits: Limits = REPLIES) -> dict:
    message = parse_json(body, limits)
    if not isinstance(message, dict):
        raise WireError("a frame must hold a JSON object")
    return message


class FrameBuffer:
    """The one decoder of incoming frames: bytes go in as they arrive, whole messages come out.
    A frame announced over the limit is refused at its header, before its body is read."""

    def __init__(self, limits: Limits):
        self.limits, self.pending = limits, bytearray()

    def feed(self, data: bytes) -> None:
        self.pending += data
        self._check_header()

    def take(self) -> dict | None:
        """The next whole message, or None until its last byte has arrived."""
        if len(self.pending) < 4:
            return None
        size = self._check_header()
        if len(self.pending) < 4 + size:
            return None
        body = bytes(self.pending[4:4 + size])
        del self.pending[:4 + size]
        return loads(body, self.limits)

    def _check_header(self) -> int:
        if len(self.pending) < 4:
            return 0
        (size,) = struct.unpack(">I", self.pending[:4])
        if size > self.limits.frame_bytes:
            raise WireError(f"frame too large: {size} bytes (limit {self.limits.frame_bytes})")
        return size


def write_frame(fd: int, message: dict, limits: Limits = REQUESTS) -> None:
    data = dumps(message, limits)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def read_frame(fd: int, frames: FrameBuffer) -> dict | None:
    """The next message on ``fd``, or None at end of stream (blocking; the child's side).
    ``frames`` keeps what was read past this message for the next call."""
    while True:
        message = frames.take()
        if message is not None:
            return message
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            if frames.pending:
                raise WireError("stream ended inside a frame")
            return None
        frames.feed(chunk)
