"""Say what a failed ``assert`` compared: "got … / expected …", as pytest's assertion rewriting
does, for the public checks a student runs with ``nnhw check``.

The failing statement is found in the cell's source and the parts of its condition are
evaluated again in the frame that failed: the first false operand of an ``and``, both sides of
a comparison, the two arrays of ``np.isclose``/``np.allclose``/``np.array_equal``.  Convention of
the checks: the student's value is on the left (or the first argument), the expected one on the
right.  Re-evaluation runs the student's code a second time, so this is only for the self-check,
where the student's own machine runs their own code.
Standalone: stdlib and numpy only (it runs in the child).
"""
from __future__ import annotations

import ast
import traceback

import numpy as np

VALUE_LIMIT = 300  # characters of one shown value
ITEM_LIMIT = 20  # items of a list or tuple shown
CLOSENESS = {"isclose", "allclose", "array_equal", "array_equiv"}
GOT, EXPECTED, VALUE = "得到 / got", "期望 / expected", "值 / value"
TYPE, EXPECTED_TYPE = "类型 / type", "期望类型 / expected type"


def explain(error: AssertionError, sources: dict[str, list[str]]) -> str:
    """Lines "got / expected" for the assert that raised ``error``, or "" when there is nothing
    more to say than its message."""
    frames = [(frame, line) for frame, line in traceback.walk_tb(error.__traceback__)
              if frame.f_code.co_filename in sources]
    if not frames:
        return ""
    frame, line = frames[-1]
    source = "\n".join(sources[frame.f_code.co_filename])
    try:
        statement = _assert_at(ast.parse(source), line)
        if statement is None:
            return ""
        names = {**frame.f_globals, **frame.f_locals}
        lines = []
        for label, value, text in _parts(statement.test, names, source):
            shown = _shown(value)
            lines.append(f"{label}: {shown}" + (f"    ← {text}" if text and text != shown else ""))
        return "\n".join(lines)
    except BaseException:  # an explanation that fails (even by SystemExit) is simply left out
        return ""


def _assert_at(tree: ast.AST, line: int) -> ast.Assert | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and node.lineno <= line <= (node.end_lineno or node.lineno):
            return node
    return None


def _evaluate(node: ast.expr, names: dict):
    return eval(compile(ast.Expression(node), "<check>", "eval"), names)  # noqa: S307 (the check's own code)


def _parts(test: ast.expr, names: dict, source: str) -> list[tuple[str, object, str]]:
    """(label, value, source text) of what the failed condition compared."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        for operand in test.values:
            if not _evaluate(operand, names):
                return _parts(operand, names, source)
        return []
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        left, right = test.left, test.comparators[0]
        if isinstance(test.ops[0], (ast.Eq, ast.Is)):
            return [_part(GOT, left, names, source), _part(EXPECTED, right, names, source)]
        return [_part(VALUE, side, names, source) for side in (left, right)
                if not isinstance(side, ast.Constant)]  # a constant is plain in the line shown
    if (isinstance(test, ast.Call) and _called_name(test.func) in CLOSENESS and len(test.args) >= 2):
        return [_part(GOT, test.args[0], names, source), _part(EXPECTED, test.args[1], names, source)]
    if isinstance(test, ast.Call) and _called_name(test.func) == "isinstance" and len(test.args) == 2:
        got = _part(GOT, test.args[0], names, source)
        return [got, (TYPE, type(got[1]), ""), _part(EXPECTED_TYPE, test.args[1], names, source)]
    if isinstance(test, ast.Call):  # np.isfinite(value) …; a generator or lambda shows nothing useful
        return [_part(VALUE, argument, names, source) for argument in test.args
                if not isinstance(argument, (ast.GeneratorExp, ast.Lambda))]
    return []


def _part(label: str, node: ast.expr, names: dict, source: str) -> tuple[str, object, str]:
    """The value of ``node`` and, unless it is a literal, the expression it came from."""
    try:
        ast.literal_eval(node)
        text = ""
    except ValueError:
        text = " ".join((ast.get_source_segment(source, node) or "").split())
    return label, _evaluate(node, names), text


def _called_name(function: ast.expr) -> str:
    if isinstance(function, ast.Attribute):
        return function.attr
    return function.id if isinstance(function, ast.Name) else ""


def _shown(value) -> str:
    text = _plain(value)
    return text if len(text) <= VALUE_LIMIT else text[:VALUE_LIMIT] + " …"


def _plain(value) -> str:
    """repr without numpy 2's ``np.float64(…)`` wrappers, arrays on one line."""
    if isinstance(value, type):
        return value.__name__
    if isinstance(value, np.generic):
        return repr(value.item())
    if isinstance(value, np.ndarray):
        body = np.array2string(value, separator=", ", threshold=20, max_line_width=10**6,
                               precision=10)
        return f"array({' '.join(body.split())}, shape={value.shape})"
    if isinstance(value, (tuple, list)):
        inner = ", ".join(_plain(item) for item in value[:ITEM_LIMIT])
        inner += ", …" if len(value) > ITEM_LIMIT else ("," if len(value) == 1 and isinstance(value, tuple) else "")
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    return repr(value)
