"""Hidden tests of homework III: the perceptron's update rule, its trace, choice policies,
``max_iter``, and the completed M2 table."""
from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ..compare import Text, call_text, expect_close, expect_equal, fail, show
from ..run.callables import Fn
from ..run.student import Raised
from . import part, prop
from .strategies import seeds

MAX_ITER = 200


@st.composite
def separable_data(draw):
    """(X, y): 1–8 integer points in 1–3 dimensions labelled by a random hyperplane whose
    offset is a half-integer, so no point lies on it (but margins of 0 still occur on the way,
    e.g. at w = 0)."""
    rng = np.random.default_rng(draw(seeds()))
    n, d = draw(st.integers(1, 8)), draw(st.integers(1, 3))
    X = rng.integers(-5, 6, size=(n, d)).astype(float)
    w_true = rng.integers(-3, 4, size=d)
    if not w_true.any():
        w_true[0] = 1
    y = np.sign(X @ w_true + rng.integers(-3, 3) + 0.5)
    return X, y


@st.composite
def inseparable_data(draw):
    """(X, y) that no hyperplane separates: one point appears with both labels."""
    X, y = draw(separable_data())
    return np.vstack([X, X[:1]]), np.append(y, -y[0])


starts = st.fixed_dictionaries({
    "eta": st.sampled_from([1.0, 0.5, 2.0, 0.25]),
    "w0": st.one_of(st.none(), st.integers(-2, 2)),
    "b0": st.sampled_from([0.0, 1.0, -2.0, 0.5]),
})


def _options(start: dict, dimension: int, w0_as=np.array) -> dict:
    w0 = start["w0"]
    return {**start, "w0": None if w0 is None else w0_as(np.full(dimension, float(w0)))}


def _run(student, X, y, options: dict):
    call = call_text("perceptron_train", (X, y), options)
    got = student.perceptron_train(X, y, **options)
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        fail("返回 (w, b, trace)", "returns (w, b, trace)", call=call,
             expected=Text("(w, b, trace)"), got=got)
    w, b, trace = got
    if not isinstance(trace, (list, tuple)) or not all(
            isinstance(row, (list, tuple)) and len(row) == 4 for row in trace):
        fail("trace 是 (t, i, w, b) 行的列表", "trace is a list of (t, i, w, b) rows", call=call,
             expected=Text("[(0, None, w0, b0), (1, i, w, b), ...]"), got=trace)
    return call, w, b, list(trace)


def _expect_points(trace, expected_trace, call: str) -> None:
    expect_equal([row[1] for row in trace], [row[1] for row in expected_trace], call=call,
                 property_zh="每次迭代选中的误分类点（下标，收敛时为 None）",
                 property_en="the misclassified point chosen at each iteration (None when done)")


def _expect_result(w, b, expected, call: str) -> None:
    expect_close(w, expected[0], call=call, atol=1e-9, property_zh="最终的 w", property_en="the final w")
    expect_close(b, expected[1], call=call, atol=1e-9, property_zh="最终的 b", property_en="the final b")


def _expect_rows(trace, expected_trace, call: str) -> None:
    if len(trace) != len(expected_trace):
        fail("轨迹长度正确", "the trace has the right length", call=call,
             expected=Text(f"{len(expected_trace)} rows"), got=Text(f"{len(trace)} rows"))
    for got_row, expected_row in zip(trace, expected_trace):
        if not _same_row(got_row, expected_row):
            fail("每一行 (t, i, w, b) 正确，且保存的是当时 w 的副本",
                 "every row (t, i, w, b) is right and holds a copy of w at that time", call=call,
                 expected=expected_row, got=got_row,
                 note=f"第一处不同在第 {expected_row[0]} 行 / first difference at row {expected_row[0]}")


def _same_row(got, expected) -> bool:
    t, i, w, b = got
    try:
        return (t == expected[0] and i == expected[1] and np.shape(w) == np.shape(expected[2])
                and np.allclose(np.asarray(w, dtype=float), expected[2], atol=1e-9)
                and bool(np.isclose(float(b), expected[3], atol=1e-9)))
    except (TypeError, ValueError):
        return False


def _same_choices_and_result(student, ref, X, y, options: dict) -> None:
    """The student's run picks the same point at every iteration and ends at the same (w, b)
    (rows themselves are judged by perceptron_trace_rows alone)."""
    call, w, b, trace = _run(student, X, y, options)
    expected = ref.perceptron_train(X, y, **options)
    _expect_points(trace, expected[2], call)
    _expect_result(w, b, expected, call)


@part
def perceptron_slide_example(student, ref):
    _same_choices_and_result(student, ref, ref.X_EXAMPLE, ref.Y_EXAMPLE, {})


@part
@prop(examples=20)
@given(data=separable_data(), start=starts)
def perceptron_update_rule(student, ref, data, start):
    X, y = data
    _same_choices_and_result(student, ref, X, y,
                             {**_options(start, X.shape[1]), "max_iter": MAX_ITER})


@part
@prop(examples=15)
@given(data=separable_data(), start=starts)
def perceptron_trace_rows(student, ref, data, start):
    X, y = data
    options = {**_options(start, X.shape[1], w0_as=tuple), "max_iter": MAX_ITER}
    call, _, _, trace = _run(student, X, y, options)
    _expect_rows(trace, ref.perceptron_train(X, y, **options)[2], call)


@st.composite
def policies(draw, n: int):
    kind = draw(st.sampled_from(["last", "cycle", "ranked", "prefer"]))
    if kind == "ranked":
        return Fn("ranked", priority=draw(st.permutations(range(n))))
    if kind == "prefer":
        return Fn("prefer", index=draw(st.integers(0, n - 1)), at=draw(st.integers(1, 6)))
    return Fn(kind)


@part
@prop(examples=20)
@given(data=separable_data(), pick=st.data())
def perceptron_choose_policy(student, ref, data, pick):
    X, y = data
    _same_choices_and_result(student, ref, X, y,
                             {"choose": pick.draw(policies(len(y))), "max_iter": MAX_ITER})


@part
@prop(examples=15)
@given(data=inseparable_data(), max_iter=st.integers(1, 20))
def perceptron_max_iter(student, ref, data, max_iter):
    X, y = data
    options = {"max_iter": max_iter}
    call, w, b, trace = _run(student, X, y, options)
    expected = ref.perceptron_train(X, y, **options)
    if len(trace) != max_iter + 1 or trace[-1][1] is None:
        fail("不可分时做满 max_iter 次更新后停止，最后一行有下标",
             "on inseparable data, stops after max_iter updates; the last row has an index",
             call=call, expected=Text(f"{max_iter + 1} rows, the last with an index"),
             got=Text(f"{len(trace)} rows, the last {show(trace[-1]) if trace else 'missing'}"))
    _expect_points(trace, expected[2], call)
    _expect_result(w, b, expected, call)


@part
def hw3_trace(student, ref):
    got = student.constant("HW3_TRACE")
    if not isinstance(got, (list, tuple)):
        fail("HW3_TRACE 是行的列表", "HW3_TRACE is a list of rows", call="HW3_TRACE",
             expected=ref.HW3_TRACE, got=got)
    _expect_rows(list(got), ref.HW3_TRACE, "HW3_TRACE")


@part
def hw3_final(student, ref):
    got = student.constant("HW3_FINAL")
    if not (isinstance(got, (list, tuple)) and len(got) == 2):
        fail("HW3_FINAL = ((w1, w2), b)", "HW3_FINAL = ((w1, w2), b)", call="HW3_FINAL",
             expected=ref.HW3_FINAL, got=got)
    _expect_result(got[0], got[1], ref.HW3_FINAL, "HW3_FINAL")


# Every state a run on the lecture's three points can be in: each set M of misclassified points
# at each iteration up to the last of the HW III run.  The policy is asked about all of them, so
# nothing it is given comes from (or reveals) the reference run.
EXAMPLE_STATES = [(list(M), t) for t in range(1, 13)
                  for size in (1, 2, 3) for M in itertools.combinations(range(3), size)]


@part
def choose_m2_at_5(student, ref):
    """The student's policy must steer the perceptron through the HW III run."""
    answers = {(tuple(M), t): student.outcome("choose_m2_at_5", M, t) for M, t in EXAMPLE_STATES}

    def decided(M, t):
        call = call_text("choose_m2_at_5", (list(M), t))
        answer = answers.get((tuple(M), t))
        if answer is None:
            fail("在第 12 次迭代前收敛", "the run converges by iteration 12", call=call,
                 expected=Text("no misclassified point left"), got=Text(f"M = {list(M)} at t = {t}"))
        if isinstance(answer, Raised):
            fail("对合法输入不报错", "runs without raising on a valid input", call=call,
                 expected=Text("an index from M"), got=Text(f"{answer.kinds[0]}: {answer.message}"))
        if isinstance(answer.value, (bool, np.bool_)) or not isinstance(answer.value, (int, np.integer)) \
                or int(answer.value) not in M:
            fail("choose 返回 M 中的一个下标", "choose returns one of the indices in M", call=call,
                 expected=Text(f"one of {list(M)}"), got=answer.value)
        return int(answer.value)

    X, y = ref.X_EXAMPLE, ref.Y_EXAMPLE
    _, _, trace = ref.perceptron_train(X, y, choose=decided, max_iter=12)
    call = "perceptron_train(X_EXAMPLE, Y_EXAMPLE, choose=choose_m2_at_5)"
    _expect_points(trace, ref.perceptron_train(X, y, choose=ref.choose_m2_at_5)[2], call)
