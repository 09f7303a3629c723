"""Hidden tests of homework V: exact parameter and MAC counts, the answers about the course's
digit network (one of them counted by hand, layer by layer), and the digit network: an MLP of
``CASE_LAYERS``' shapes with a hidden layer, whose predictions come from its parameters, with a
held-out accuracy of at least 0.94."""
from __future__ import annotations

import functools

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from ..compare import Text, call_text, expect_exact_int, fail, numeric_array, show
from . import part, prop

ACCURACY_NEEDED = 0.94
TRAINING_CPU_SECONDS = 60.0  # CPU seconds for one train_digits call (the reference needs 0.2 s)

widths = st.one_of(st.integers(1, 10), st.integers(1, 10**7), st.sampled_from([1, 784, 65536]))


@st.composite
def layer_lists(draw):
    sizes = draw(st.lists(widths, min_size=2, max_size=8))
    container = draw(st.sampled_from([list, tuple, np.array]))
    return container(sizes)


def _count_matches(student, ref, name: str, sizes) -> None:
    expect_exact_int(getattr(student, name)(sizes), getattr(ref, name)(sizes),
                     call=call_text(name, (sizes,)))


@part
@prop(examples=20)
@given(sizes=layer_lists())
@example(sizes=[2, 2, 1])
@example(sizes=[65536, 1])
def count_parameters(student, ref, sizes):
    _count_matches(student, ref, "count_parameters", sizes)


@part
@prop(examples=20)
@given(sizes=layer_lists())
@example(sizes=[2, 2, 1])
def forward_macs(student, ref, sizes):
    _count_matches(student, ref, "forward_macs", sizes)


@part
@prop(examples=20)
@given(channels=st.tuples(st.integers(1, 512), st.integers(1, 512)),
       kernel=st.tuples(st.integers(1, 11), st.integers(1, 11)),
       bias=st.sampled_from([None, True, False]))
@example(channels=(1, 32), kernel=(3, 3), bias=None)
def conv2d_parameters(student, ref, channels, kernel, bias):
    args = (*channels, *kernel)
    options = {} if bias is None else {"bias": bias}
    expect_exact_int(student.conv2d_parameters(*args, **options), ref.conv2d_parameters(*args, **options),
                     call=call_text("conv2d_parameters", args, options))


# -- the case's answers ---------------------------------------------------------------------
def _case_layers(student) -> list[int]:
    layers = student.constant("CASE_LAYERS")
    if not (isinstance(layers, (list, tuple, np.ndarray)) and len(layers) >= 2
            and all(isinstance(n, (int, np.integer)) and n > 0 for n in layers)
            and layers[0] == 64 and layers[-1] == 10):
        fail("CASE_LAYERS 是以 64 开头、以 10 结尾的正整数列表",
             "CASE_LAYERS is a list of positive ints from 64 to 10", call="CASE_LAYERS",
             expected=Text("[64, ..., 10]"), got=layers)
    return [int(n) for n in layers]


def _answer(student, ref, name: str, first_layer: int | None) -> None:
    layers = _case_layers(student)
    if first_layer is not None:
        layers = [first_layer] + layers[1:]
    expect_exact_int(student.constant(name), ref.count_parameters(layers),
                     call=f"{name} (= count_parameters({layers}))")


@part
def answer_V_1(student, ref):
    _answer(student, ref, "ANSWER_V_1", None)


@part
def answer_V_2(student, ref):
    _answer(student, ref, "ANSWER_V_2", 256 * 256)


@part
def answer_V_3(student, ref):
    _answer(student, ref, "ANSWER_V_3", 28 * 28)


@part
def answer_V_breakdown(student, ref):
    got = student.constant("ANSWER_V_BREAKDOWN")
    expected = ref.ANSWER_V_BREAKDOWN
    rows = list(got) if isinstance(got, (list, tuple, np.ndarray)) else None
    if rows is None or len(rows) != len(expected) or not all(
            isinstance(row, (list, tuple, np.ndarray)) and len(row) == 2 for row in rows):
        fail("每层一对 (权重个数, 偏置个数)", "one (weights, biases) pair per layer of 784 → 128 → 64 → 10",
             call="ANSWER_V_BREAKDOWN", expected=Text(f"{len(expected)} pairs"), got=got)
    for layer, (row, (weights, biases)) in enumerate(zip(rows, expected), start=2):
        for value, target, what in ((row[0], weights, "weights"), (row[1], biases, "biases")):
            expect_exact_int(value, target, call=f"ANSWER_V_BREAKDOWN: the {what} of layer {layer}")


# -- the digit network ----------------------------------------------------------------------
@functools.lru_cache(maxsize=2)
def digits(data_folder) -> dict:
    with np.load(data_folder / "digits.npz") as data:
        return {key: data[key] for key in ("X_train", "y_train", "X_test", "y_test")}


def _shape(value) -> tuple | None:
    try:
        return np.shape(value)
    except ValueError:  # a ragged list
        return None


def _trained_predictions(student, ref) -> np.ndarray:
    """Held-out predictions of the network ``train_digits`` trains with seed 0, after checking
    that it is the MLP of ``CASE_LAYERS`` (a hidden layer, those shapes) and that
    ``predict_digits`` computes from the parameters it is given.  Each part trains its own."""
    layers = _case_layers(student)
    data, slow = digits(ref.course.data), student.slow(TRAINING_CPU_SECONDS)
    call = "train_digits(X_train, y_train, seed=0)"
    if len(layers) < 3:
        fail("至少一个隐藏层", "CASE_LAYERS has at least one hidden layer", call="CASE_LAYERS",
             expected=Text("[64, hidden…, 10]"), got=layers)
    params = slow.train_digits(data["X_train"], data["y_train"], seed=0)
    expected = [((after, before), (after,)) for before, after in zip(layers, layers[1:])]
    pairs = list(params) if isinstance(params, (list, tuple)) else []
    well_formed = all(isinstance(pair, (list, tuple)) and len(pair) == 2 for pair in pairs)
    shapes = [(_shape(T), _shape(b)) for T, b in pairs] if well_formed else []
    if shapes != expected:
        fail("返回 CASE_LAYERS 形状的 (Θ, b) 列表", "returns [(Θ, b), ...] with the shapes CASE_LAYERS gives",
             call=call, expected=Text(str(expected)), got=Text(str(shapes) if shapes else show(params, 200)))
    params = [(numeric_array(T, call=call), numeric_array(b, call=call)) for T, b in pairs]
    for label in (3, 8):  # an output layer that always says `label`: predictions must follow it
        rigged = [*params[:-1], (np.zeros_like(params[-1][0]), 10.0 * np.eye(10)[label])]
        said = numeric_array(slow.predict_digits(rigged, data["X_test"][:20]), call="predict_digits")
        if said.shape != (20,) or not np.all(said == label):
            fail("predict_digits 由传入的 params 算出", "predict_digits computes from the params it is given",
                 call=f"predict_digits(params with an output layer that always gives {label}, X_test[:20])",
                 expected=Text(f"20 × {label}"), got=said)
    call = "predict_digits(train_digits(X_train, y_train, seed=0), X_test)"
    predicted = numeric_array(slow.predict_digits(params, data["X_test"]), call=call)
    if predicted.shape != data["y_test"].shape or not np.all(np.isin(predicted, np.arange(10))):
        fail("返回形状 (N,) 的标签 0–9", "returns labels 0–9 of shape (N,)", call=call,
             expected=Text(f"shape {data['y_test'].shape}, values 0..9"), got=predicted)
    return predicted


@part
def digits_accuracy(student, ref):
    predicted = _trained_predictions(student, ref)
    accuracy = float(np.mean(predicted == digits(ref.course.data)["y_test"]))
    if accuracy < ACCURACY_NEEDED:
        fail(f"留出集准确率 ≥ {ACCURACY_NEEDED}", f"held-out accuracy ≥ {ACCURACY_NEEDED}",
             call="predict_digits(train_digits(X_train, y_train, seed=0), X_test)",
             expected=Text(f"≥ {ACCURACY_NEEDED}"), got=Text(f"{accuracy:.4f}"))


@part
def digits_deterministic(student, ref):
    first, second = _trained_predictions(student, ref), _trained_predictions(student, ref)
    if not np.array_equal(first, second):
        fail("同一个 seed 训练两次，预测相同", "training twice with the same seed predicts the same",
             call="train_digits(X_train, y_train, seed=0) twice",
             expected=Text("identical predictions"),
             got=Text(f"{int(np.sum(first != second))} predictions differ"))
