"""Step 3 of the pipeline: compare what the student's code returned with the reference.

Every helper raises ``Failed`` with a bilingual message that names the call (the counterexample,
already shrunk by hypothesis when it comes from a property), what was expected, what came back,
and the tolerance; never the test's code or the reference's code.
"""
from __future__ import annotations

import numbers

import numpy as np


class Failed(AssertionError):
    """A property of the student's answer does not hold."""


class Text(str):
    """Words of ours shown as they are (a plain ``str`` from a student is shown with quotes)."""


def show(value, limit: int = 400) -> str:
    """A short, deterministic rendering of a value for messages."""
    if isinstance(value, np.ndarray) and value.ndim > 0:
        with np.printoptions(precision=10, threshold=24, edgeitems=3, linewidth=100):
            text = f"array({np.array2string(value, separator=', ')}, shape={value.shape})"
    elif isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        text = repr(value.item())
    elif isinstance(value, tuple):
        text = "(" + ", ".join(show(v, limit) for v in value) + ("," if len(value) == 1 else "") + ")"
    elif isinstance(value, list):
        text = "[" + ", ".join(show(v, limit) for v in value) + "]"
    elif callable(value) and hasattr(value, "description"):
        text = value.description
    else:
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + " …"


class call_text:
    """``name(args…)`` as a counterexample reads, formatted only if a message needs it."""

    def __init__(self, name: str, args=(), kwargs=None):
        self.name, self.args, self.kwargs = name, args, kwargs or {}

    def __str__(self) -> str:
        parts = [show(a, 160) for a in self.args] + [f"{k}={show(v, 160)}"
                                                     for k, v in self.kwargs.items()]
        return f"{self.name}({', '.join(parts)})"


# ``call`` below is the counterexample: a ``call_text`` (or any text), shown only on failure.
def fail(property_zh: str, property_en: str, *, call: object = None,
         expected=None, got=None, note: str | None = None, show_values: bool = True) -> None:
    lines = [f"性质 / property: {property_zh} / {property_en}"]
    if call:
        lines.append(f"反例 / counterexample: {call}")
    if show_values:
        lines.append(f"期望 / expected: {expected if isinstance(expected, str) else show(expected)}")
        lines.append(f"得到 / got: {got if isinstance(got, Text) else show(got)}")
    if note:
        lines.append(note)
    raise Failed("\n".join(lines))


def numeric_array(got, *, call: object, what: str = "the result") -> np.ndarray:
    """``got`` as a float array, or Failed if it is not numbers (None, strings, ragged lists)."""
    if got is None:
        fail("返回数值", f"{what} is a number or an array of numbers", call=call,
             expected="numbers / 数值", got=got)
    try:
        array = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        fail("返回数值数组", f"{what} is an array of numbers", call=call,
             expected="numbers / 数值", got=got)
    return array


def expect_shape(got, shape: tuple, *, call: object) -> np.ndarray:
    array = numeric_array(got, call=call)
    if array.shape != tuple(shape):
        fail("形状正确", "the result has the right shape", call=call,
             expected=f"shape {tuple(shape)}", got=Text(f"shape {array.shape}"),
             show_values=True)
    return array


def expect_close(got, expected, *, call: object, rtol: float = 0.0, atol: float = 0.0,
                 property_zh: str = "与参考答案一致", property_en: str = "matches the reference",
                 check_shape: bool = True) -> np.ndarray:
    """Elementwise |got − expected| ≤ atol + rtol·|expected|; infinities must match exactly,
    NaN is never close to anything a reference returns."""
    expected = np.asarray(expected, dtype=float)
    array = numeric_array(got, call=call)
    if check_shape and array.shape != expected.shape:
        fail(property_zh, property_en, call=call, expected=expected, got=got,
             note=f"形状不同 / shapes differ: expected {expected.shape}, got {array.shape}")
    if not check_shape:
        try:
            array = np.broadcast_to(array, expected.shape)
        except ValueError:
            fail(property_zh, property_en, call=call, expected=expected, got=got)
    with np.errstate(invalid="ignore", over="ignore"):
        close = np.isclose(array, expected, rtol=rtol, atol=atol, equal_nan=False)
    if not np.all(close):
        tolerance = " + ".join(t for t in (f"{atol:g}" if atol else "",
                                           f"{rtol:g}·|expected|" if rtol else "") if t) or "0"
        fail(property_zh, property_en, call=call, expected=expected, got=got,
             note=f"容差 / tolerance: |got − expected| ≤ {tolerance}")
    return array


def expect_equal(got, expected, *, call: object, property_zh: str = "与参考答案一致",
                 property_en: str = "matches the reference") -> None:
    if not _equal(got, expected):
        fail(property_zh, property_en, call=call, expected=expected, got=got)


def _equal(a, b) -> bool:
    if isinstance(b, (list, tuple)):
        return (isinstance(a, (list, tuple, np.ndarray)) and len(a) == len(b)
                and all(_equal(x, y) for x, y in zip(a, b)))
    if b is None or isinstance(b, str):
        return a is None if b is None else isinstance(a, str) and a == b
    if isinstance(b, numbers.Number):
        return (isinstance(a, (numbers.Number, np.generic)) and not isinstance(a, (bool, np.bool_))
                and a == b)
    return bool(np.array_equal(np.asarray(a), np.asarray(b)))


def expect_exact_int(got, expected: int, *, call: object) -> None:
    """An exact integer count: Python int or a numpy integer, never a float."""
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer)):
        fail("返回精确整数", "returns an exact int", call=call, expected=expected, got=got,
             note="提示 / hint: 参数个数是整数, 不要用浮点数 / counts are ints, not floats")
    if int(got) != expected:
        fail("与参考答案一致", "matches the reference", call=call, expected=expected, got=got)


def expect_no_warnings(warnings: list[str], *, call: object) -> None:
    if warnings:
        fail("不产生警告 (溢出等)", "emits no warning (overflow, division by zero …)", call=call,
             expected="no warning / 无警告", got=Text("; ".join(warnings)), show_values=True)
