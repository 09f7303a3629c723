"""Hidden tests of homework IV: forward and back propagation on random networks, the hand-set
XOR network and its robustness, training XOR, and the universal-approximation staircase."""
from __future__ import annotations

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from ..compare import (Text, call_text, expect_close, expect_no_warnings, expect_shape, fail,
                       numeric_array, show)
from ..run.callables import Fn
from . import part, prop
from .strategies import seeds

CORNERS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_LABELS = np.array([0, 1, 1, 0])
EVALUATION_CHUNK = 2**20  # values of one hidden layer evaluated at once: memory stays bounded


def max_hidden(n_bumps: int) -> int:
    """The widest bump network accepted (stated in the notebook): every construction of the
    lecture needs about n_bumps units, and the grader's work must not grow with a width the
    student chooses."""
    return 10 * n_bumps + 10


@st.composite
def networks(draw, max_layers: int = 4, max_width: int = 6):
    """(params, X): 2–4 layers of widths 1–6 (rarely square), a batch of 1–5 rows."""
    rng = np.random.default_rng(draw(seeds()))
    sizes = draw(st.lists(st.integers(1, max_width), min_size=2, max_size=max_layers))
    params = [(rng.normal(size=(after, before)), rng.normal(size=after))
              for before, after in zip(sizes, sizes[1:])]
    X = rng.normal(size=(draw(st.integers(1, 5)), sizes[0]))
    return params, X


def _pairs(got, call: str, what: str) -> list:
    if not isinstance(got, (list, tuple)) or not all(
            isinstance(pair, (list, tuple)) and len(pair) == 2 for pair in got):
        fail(f"{what} 是 (Theta, b) 对的列表", f"{what} is a list of (Theta, b) pairs", call=call,
             expected=Text("[(Theta2, b2), (Theta3, b3), ...]"), got=got)
    return list(got)


# -- forward --------------------------------------------------------------------------------
@part
@prop(examples=20)
@given(network=networks(), activation=st.sampled_from([None, "tanh", "identity"]))
def forward(student, ref, network, activation):
    params, X = network
    options = {} if activation is None else {"f": Fn(activation)}
    call = call_text("forward", (params, X), options)
    got = student.forward(params, X, **options)
    if not isinstance(got, (list, tuple)) or len(got) != 2:
        fail("返回 (zs, activations)", "returns (zs, activations)", call=call,
             expected=Text("(zs, activations)"), got=got)
    zs, activations = got
    expected_zs, expected_activations = ref.forward(params, X, **options)
    for name, values, expected in (("zs", zs, expected_zs), ("activations", activations,
                                                              expected_activations)):
        if not isinstance(values, (list, tuple)) or len(values) != len(expected):
            fail(f"len({name}) 正确", f"len({name}) is right (L-1 zs, L activations)", call=call,
                 expected=Text(f"{len(expected)} arrays"),
                 got=Text(f"{len(values) if isinstance(values, (list, tuple)) else type(values).__name__}"))
        for layer, (value, target) in enumerate(zip(values, expected)):
            expect_close(value, target, call=call, rtol=1e-9, atol=1e-12,
                         property_zh=f"{name}[{layer}]：z = aΘᵀ + b，a = f(z)",
                         property_en=f"{name}[{layer}]: z = aΘᵀ + b, a = f(z)")


# -- backprop -------------------------------------------------------------------------------
def _total_error(ref, params, X, Y) -> float:
    output = ref.forward(params, X)[1][-1]
    return float(np.mean(0.5 * np.sum((Y - output) ** 2, axis=1)))


def _finite_difference(ref, params, X, Y, layer: int, which: int, index, eps: float = 1e-6):
    def shifted(delta):
        copy = [[np.array(T, dtype=float), np.array(b, dtype=float)] for T, b in params]
        copy[layer][which][index] += delta
        return _total_error(ref, copy, X, Y)
    return (shifted(eps) - shifted(-eps)) / (2 * eps)


def _backprop_part(student, ref, network, which: int):
    params, X = network
    Y = np.random.default_rng(len(X)).uniform(size=(len(X), params[-1][0].shape[0]))
    call = call_text("backprop", (params, X, Y))
    grads = _pairs(student.backprop(params, X, Y), call, "grads")
    if len(grads) != len(params):
        fail("每层一对梯度", "one pair of gradients per layer", call=call,
             expected=Text(f"{len(params)} pairs"), got=Text(f"{len(grads)} pairs"))
    name = "dTheta" if which == 0 else "db"
    for layer, (pair, expected, weights) in enumerate(zip(grads, ref.backprop(params, X, Y), params)):
        got = expect_shape(pair[which], np.shape(weights[which]), call=call)
        estimate = np.array([_finite_difference(ref, params, X, Y, layer, which, index)
                             for index in np.ndindex(got.shape)]).reshape(got.shape)
        expect_close(got, expected[which], call=call, rtol=1e-7, atol=1e-10,
                     property_zh=f"{name}{layer + 2} = E_total 的梯度（δ 递推，除以 N）",
                     property_en=f"{name}{layer + 2} is the gradient of E_total (δ recursion, /N)")
        expect_close(got, estimate, call=call, atol=1e-6,
                     property_zh=f"{name}{layer + 2} 与中心差分一致",
                     property_en=f"{name}{layer + 2} agrees with central differences")


@part
@prop(examples=15)
@given(network=networks())
def backprop_weights(student, ref, network):
    _backprop_part(student, ref, network, which=0)


@part
@prop(examples=15)
@given(network=networks())
def backprop_biases(student, ref, network):
    _backprop_part(student, ref, network, which=1)


# -- XOR ------------------------------------------------------------------------------------
# Every corner's square of side 0.4, at its far edges: where a threshold placed on a corner fails.
EDGE_OF_THE_SQUARES = [(corner, dx, dy) for corner in range(4) for dx in (-0.1999, 0.1999)
                       for dy in (-0.1999, 0.1999)]
near_corners = st.tuples(st.integers(0, 3), st.floats(-0.1999, 0.1999), st.floats(-0.1999, 0.1999))


def _near(points) -> tuple[np.ndarray, np.ndarray]:
    X = np.array([CORNERS[corner] + (dx, dy) for corner, dx, dy in points])
    return X, XOR_LABELS[[corner for corner, _, _ in points]]


@prop(examples=20)
@given(points=st.lists(near_corners, min_size=1, max_size=8))
@example(points=[(0, 0.0, 0.0), (1, 0.0, 0.0), (2, 0.0, 0.0), (3, 0.0, 0.0)])
@example(points=EDGE_OF_THE_SQUARES)
def _hand_set_network_is_robust(student, ref, points, params):
    X, labels = _near(points)
    got = ref.forward(params, X, f=ref.step)[1][-1].ravel()
    if not np.array_equal(got, labels):
        fail("XOR_PARAMS（阶跃激活）在离角 L∞ < 0.2 处都正确",
             "XOR_PARAMS with step activations is right within L∞ < 0.2 of every corner",
             call=f"forward(XOR_PARAMS, {show(X)}, f=step)",
             expected=labels, got=got)


@part
def xor_params(student, ref):
    params = _pairs(student.constant("XOR_PARAMS"), "XOR_PARAMS", "XOR_PARAMS")
    shapes = [(np.shape(T), np.shape(b)) for T, b in params]
    if shapes != [((2, 2), (2,)), ((1, 2), (1,))]:
        fail("2-2-1 网络", "a 2-2-1 network", call="XOR_PARAMS",
             expected=Text("[((2, 2), (2,)), ((1, 2), (1,))]"), got=Text(str(shapes)))
    arrays = [(numeric_array(T, call="XOR_PARAMS"), numeric_array(b, call="XOR_PARAMS"))
              for T, b in params]
    _hand_set_network_is_robust(student, ref, params=arrays)


@part
@prop(examples=20)
@given(points=st.lists(near_corners, min_size=1, max_size=8))
@example(points=[(0, 0.0, 0.0), (1, 0.0, 0.0), (2, 0.0, 0.0), (3, 0.0, 0.0)])
@example(points=EDGE_OF_THE_SQUARES)
def xor_predict(student, ref, points):
    X, labels = _near(points)
    call = call_text("xor_predict", (X,))
    got = numeric_array(student.xor_predict(X), call=call)
    if got.size != len(labels) or not np.array_equal(got.ravel(), labels):
        fail("离每个角 L∞ < 0.2 的输入都分对（标签 0/1）",
             "labels 0/1, right within L∞ < 0.2 of every corner", call=call, expected=labels,
             got=got)


TRAINING_RUNS = ({}, {"seed": 1}, {"hidden": 3, "seed": 2})


@part
def train_xor(student, ref):
    slow = student.slow(30.0)
    trained = []
    for options in TRAINING_RUNS:
        call = call_text("train_xor", (), options)
        params = _pairs(slow.train_xor(**options), call, "params")
        trained.append(params)
        hidden = options.get("hidden", 4)
        shapes = [(np.shape(T), np.shape(b)) for T, b in params]
        if shapes != [((hidden, 2), (hidden,)), ((1, hidden), (1,))]:
            fail(f"2-{hidden}-1 网络", f"a 2-{hidden}-1 network", call=call,
                 expected=Text(f"[(({hidden}, 2), ({hidden},)), ((1, {hidden}), (1,))]"),
                 got=Text(str(shapes)))
        output = ref.forward([(numeric_array(T, call=call), numeric_array(b, call=call))
                              for T, b in params], CORNERS)[1][-1].ravel()
        if not np.array_equal(output > 0.5, XOR_LABELS == 1):
            fail("训练后四个点都分对（输出 > 0.5 ⇔ 1）", "after training all four points are right "
                 "(output > 0.5 ⇔ 1)", call=call, expected=XOR_LABELS, got=output)
    first, other, again = trained[0], trained[1], slow.train_xor()
    if not all(np.array_equal(a, b) for pa, pb in zip(first, again) for a, b in zip(pa, pb)):
        fail("同一个 seed 结果相同", "the same seed gives the same params", call="train_xor(seed=0)",
             expected=Text("identical params twice"), got=Text("different params"))
    if all(np.array_equal(a, b) for pa, pb in zip(first, other) for a, b in zip(pa, pb)):
        fail("用上了 seed", "the seed is used", call="train_xor(seed=1)",
             expected=Text("params that differ from seed=0"), got=Text("the same params as seed=0"))


# -- universal approximation ----------------------------------------------------------------
@st.composite
def lipschitz_functions(draw):
    """(f, L_f): a piecewise-linear function with random knots, or a sine, far from zero at the
    ends (so half-height steps there show)."""
    offset = draw(st.floats(-10.0, 10.0))
    if draw(st.booleans()):
        knots = sorted(set(draw(st.lists(st.floats(0.02, 0.98), max_size=6))))
        xs = np.array([0.0, *knots, 1.0])
        if np.min(np.diff(xs)) < 0.02:
            xs = np.linspace(0.0, 1.0, len(xs))
        ys = offset + np.array(draw(st.lists(st.floats(-5.0, 5.0), min_size=len(xs),
                                             max_size=len(xs))))
        return Fn("piecewise_linear", xs=xs, ys=ys), float(np.max(np.abs(np.diff(ys) / np.diff(xs))))
    amplitude, frequency = draw(st.floats(0.1, 5.0)), draw(st.floats(0.5, 20.0))
    return (Fn("sine", amplitude=amplitude, frequency=frequency,
               phase=draw(st.floats(0.0, 6.3)), offset=offset), amplitude * frequency)


def _evaluation_points(Theta2, b2) -> np.ndarray:
    """A dense grid plus points around every hidden unit's transition (z = 0)."""
    slope = np.where(Theta2[:, 0] == 0, np.inf, Theta2[:, 0])
    centres = -b2 / slope
    widths = 1.0 / np.abs(slope)
    around = (centres[:, None] + widths[:, None] * np.array([-5, -2, -1, -0.5, 0, 0.5, 1, 2, 5])).ravel()
    points = np.concatenate([np.linspace(0.0, 1.0, 4001), around[np.isfinite(around)]])
    return np.unique(np.clip(points, 0.0, 1.0))


def _network_output(ref, arrays, x: np.ndarray) -> np.ndarray:
    """The network's output on ``x``, computed a chunk of points at a time."""
    width = max(arrays[0][0].shape[0], 1)
    step = max(EVALUATION_CHUNK // width, 1)
    return np.concatenate([ref.bump_predict(arrays, x[start:start + step])
                           for start in range(0, len(x), step)])


@part
@prop(examples=15)
@given(function=lipschitz_functions(), n_bumps=st.integers(1, 60))
def bump_network(student, ref, function, n_bumps):
    f, lipschitz = function
    call = call_text("bump_network", (f, n_bumps))
    params = _pairs(student.bump_network(f, n_bumps), call, "params")
    shapes = [(np.shape(T), np.shape(b)) for T, b in params]
    hidden = shapes[0][0][0] if shapes and len(shapes[0][0]) == 2 else -1
    widest = max_hidden(n_bumps)
    if not (0 <= hidden <= widest
            and shapes == [((hidden, 1), (hidden,)), ((1, hidden), (1,))]):
        fail("单隐藏层网络 [(Θ2 (h,1), b2 (h,)), (Θ3 (1,h), b3 (1,))]，h ≤ 10·n_bumps + 10",
             "one hidden layer: [(Θ2 (h,1), b2 (h,)), (Θ3 (1,h), b3 (1,))], 0 ≤ h ≤ 10·n_bumps + 10",
             call=call, expected=Text(f"two (Theta, b) pairs of those shapes with h ≤ {widest}"),
             got=Text(str(shapes)))
    arrays = [(numeric_array(T, call=call), numeric_array(b, call=call)) for T, b in params]
    x = _evaluation_points(*arrays[0])
    error = np.abs(_network_output(ref, arrays, x) - f(x))
    worst = int(np.argmax(np.where(np.isnan(error), np.inf, error)))
    bound = lipschitz / n_bumps
    if not error[worst] <= bound * (1 + 1e-9) + 1e-12:
        fail("sup |f - g| ≤ L_f / n", "sup |f - g| ≤ L_f / n", call=call,
             expected=Text(f"error ≤ {bound:.6g} everywhere on [0, 1]"),
             got=Text(f"error {error[worst]:.6g} at x = {x[worst]:.6g}"))


@st.composite
def sigmoid_networks(draw):
    """A network of bump_network's shape made up here (never a reference answer): h sigmoid
    units at random places in [0, 1], some of them steep enough to overflow a naive sigmoid."""
    rng = np.random.default_rng(draw(seeds()))
    hidden = draw(st.integers(1, 40))
    steepness = rng.choice([1.0, 30.0, 1e3, 1e5, 1e8], size=hidden) * rng.choice([-1.0, 1.0], size=hidden)
    centres = rng.uniform(0.0, 1.0, size=hidden)
    return [(steepness.reshape(hidden, 1), -steepness * centres),
            (rng.normal(size=(1, hidden)), rng.normal(size=1))]


@part
@prop(examples=15)
@given(params=sigmoid_networks(), x=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=20))
@example(params=[(np.array([[1e4]]), np.array([-5e3])), (np.array([[2.0]]), np.array([1.0]))],
         x=[0.0, 0.25, 0.5, 0.75, 1.0])
def bump_predict(student, ref, params, x):
    x = np.array(x)
    call = call_text("bump_predict", (params, x))
    reply = student.call("bump_predict", params, x)
    expect_no_warnings(reply.warnings, call=call)
    expected = ref.bump_predict(params, x)
    expect_close(reply.value, expected, call=call, rtol=1e-9,
                 atol=1e-9 * (1.0 + float(np.sum(np.abs(params[1][0])))),
                 property_zh="隐藏层 sigmoid、输出层线性", property_en="sigmoid hidden layer, linear output")
