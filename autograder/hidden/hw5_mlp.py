"""Hidden tests of homework V: exact parameter and MAC counts, the answers about the course's
digit network, and the digit network's held-out accuracy."""
from __future__ import annotations

import functools

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from ..compare import Text, call_text, expect_exact_int, fail, numeric_array
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


# -- the digit network ----------------------------------------------------------------------
@functools.lru_cache(maxsize=2)
def digits(data_folder) -> dict:
    with np.load(data_folder / "digits.npz") as data:
        return {key: data[key] for key in ("X_train", "y_train", "X_test", "y_test")}


def _trained_predictions(student, ref) -> np.ndarray:
    """Held-out predictions of a network trained with seed 0 (each part trains its own, so what
    a part is given never depends on which part ran first)."""
    data, slow = digits(ref.course.data), student.slow(TRAINING_CPU_SECONDS)
    model = slow.keep("train_digits", data["X_train"], data["y_train"], seed=0)
    call = "predict_digits(train_digits(X_train, y_train, seed=0), X_test)"
    predicted = numeric_array(slow.predict_digits(model, data["X_test"]), call=call)
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
