"""Plain data across the process boundary: JSON, with numpy arrays as dtype, shape and raw bytes.

Both sides use this module: the grader to send arguments and read results, the child (which may
not import anything else from ``autograder``) to read arguments and send results.  Nothing here
ever unpickles: a student process can send only numbers, strings, arrays of plain numeric dtypes
(bool, int, float, complex; never object or structured) and containers of those.  Frames are length-prefixed so a print in student code cannot corrupt them.
"""
from __future__ import annotations

import base64
import json
import os
import struct

import numpy as np

MAX_FRAME_BYTES = 64 * 2**20
ARRAY_KINDS = "biufc"  # bool, signed, unsigned, float, complex; never object or structured

# Markers of the values JSON cannot hold directly.
ARRAY, TUPLE, DICT = "$nd", "$tuple", "$dict"
# Markers of arguments the child rebuilds itself: a catalogue function, one of the student's
# own functions, or a value the child kept from an earlier call.
FUNCTION, STUDENT_FUNCTION, HANDLE = "$fn", "$student", "$handle"
MARKERS = (ARRAY, TUPLE, DICT, FUNCTION, STUDENT_FUNCTION, HANDLE)


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
    if array.nbytes * 4 // 3 > MAX_FRAME_BYTES:  # base64 grows it by a third: refuse before copying
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


def dumps(message: dict) -> bytes:
    body = json.dumps(message, allow_nan=True, separators=(",", ":")).encode("utf-8")
    if len(body) > MAX_FRAME_BYTES:
        raise WireError(f"too large to send: {len(body)} bytes (limit {MAX_FRAME_BYTES}) / 数据过大")
    return struct.pack(">I", len(body)) + body


def write_frame(fd: int, message: dict) -> None:
    data = dumps(message)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def read_frame(fd: int) -> dict | None:
    """The next message on ``fd``, or None at end of stream (blocking; the child's side)."""
    header = _read_exactly(fd, 4)
    if header is None:
        return None
    (size,) = struct.unpack(">I", header)
    if size > MAX_FRAME_BYTES:
        raise WireError(f"frame too large: {size} bytes")
    return loads(_read_exactly(fd, size) or b"")


def loads(body: bytes) -> dict:
    message = json.loads(body.decode("utf-8"))
    if not isinstance(message, dict):
        raise WireError("a frame must hold a JSON object")
    return message


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks, remaining = [], size
    while remaining:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            if remaining == size:
                return None
            raise WireError("stream ended inside a frame")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
