"""Hidden tests of homework II: sigmoid, the logistic loss and its derivation, the gradient,
central differences, gradient descent and the first-order Taylor check."""
from __future__ import annotations

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from ..compare import Failed, Text, call_text, expect_close, expect_no_warnings, fail
from ..run.callables import Fn
from ..run.student import NotDone
from . import part, prop
from .strategies import seeds

HUGE = [37.0, 40.0, 709.0, 710.0, 745.0, 1e4, 1e300, 1.7976931348623157e308]


def loss_tolerance(X, w) -> dict:
    """rel 1e-9 of the value, plus a few ulps of every |wᵀx| (a stable formula such as
    ``logaddexp(0, z) - y z`` cancels there and is still right)."""
    z = np.asarray(X, dtype=float) @ np.asarray(w, dtype=float)
    return {"rtol": 1e-9, "atol": 1e-12 * (1.0 + float(np.sum(np.abs(z))))}


@st.composite
def logistic_problems(draw, min_z: float = 0.0, max_z: float = 10.0):
    """(w, X, y): X with the constant column x₀ = 1, max |wᵀx| drawn from [min_z, max_z]."""
    rng = np.random.default_rng(draw(seeds()))
    n, d = draw(st.integers(1, 12)), draw(st.integers(1, 5))
    X = np.column_stack([np.ones(n), rng.normal(0.0, 2.0, size=(n, d - 1))])
    y = rng.integers(0, 2, size=n).astype(float)
    w = rng.normal(size=d)
    target = draw(st.one_of(st.floats(min_z, max_z), st.sampled_from([min_z, max_z])))
    largest = np.max(np.abs(X @ w))
    return (w * (target / largest) if largest > 0 else w), X, y


moderate_or_huge_problems = st.one_of(logistic_problems(max_z=10.0), logistic_problems(37.0, 1e4))


# -- sigmoid --------------------------------------------------------------------------------
@part
@prop(examples=20)
@given(z=st.floats(-40.0, 40.0), shape=st.sampled_from([(), (4,), (2, 3)]))
@example(z=0.0, shape=())
def sigmoid_values(student, ref, z, shape):
    argument = z if shape == () else np.full(shape, z) + np.linspace(-1, 1, int(np.prod(shape))).reshape(shape)
    call = call_text("sigmoid", (argument,))
    got = student.sigmoid(argument)
    if np.ndim(got) != np.ndim(argument):
        fail("标量进标量出，数组进同形状数组出", "scalar in, scalar out; array in, same shape out",
             call=call, expected=Text(f"ndim {np.ndim(argument)}"), got=Text(f"ndim {np.ndim(got)}"))
    expect_close(got, ref.sigmoid(argument), call=call, atol=1e-12)


@part
@prop(examples=20)
@given(magnitude=st.one_of(st.sampled_from(HUGE), st.floats(37.0, 1e308)),
       sign=st.sampled_from([-1.0, 1.0]), as_array=st.booleans())
@example(magnitude=745.0, sign=-1.0, as_array=False)
def sigmoid_stable(student, ref, magnitude, sign, as_array):
    z = sign * magnitude
    argument = np.array([z, -z, 0.0]) if as_array else z
    call = call_text("sigmoid", (argument,))
    reply = student.call("sigmoid", argument)
    expect_no_warnings(reply.warnings, call=call)
    expect_close(reply.value, ref.sigmoid(argument), call=call, atol=1e-12,
                 property_zh="极端输入下仍在 [0, 1] 且准确", property_en="stays in [0, 1] and accurate")


# -- the loss -------------------------------------------------------------------------------
def _loss_matches(student, ref, problem, name: str, expected) -> None:
    w, X, y = problem
    call = call_text(name, (w, X, y))
    expect_close(getattr(student, name)(w, X, y), expected, call=call, **loss_tolerance(X, w),
                 property_zh="等于讲义的 J(w)（求和）", property_en="equals the slides' J(w) (a sum)")


@part
@prop(examples=20)
@given(problem=logistic_problems(max_z=10.0))
def logistic_loss_values(student, ref, problem):
    _loss_matches(student, ref, problem, "logistic_loss", ref.logistic_loss(*problem))


@part
@prop(examples=15)
@given(problem=logistic_problems(min_z=37.0, max_z=1e4))
def logistic_loss_stable(student, ref, problem):
    _loss_matches(student, ref, problem, "logistic_loss", ref.logistic_loss(*problem))


@part
@prop(examples=20)
@given(problem=moderate_or_huge_problems)
def log_likelihood_simplified(student, ref, problem):
    w, X, y = problem
    call = call_text("log_likelihood_simplified", (w, X, y))
    expect_close(student.log_likelihood_simplified(w, X, y), -ref.logistic_loss(w, X, y),
                 call=call, **loss_tolerance(X, w),
                 property_zh="讲义第三行等于 -J(w)", property_en="the slide's third line equals -J(w)")


# -- gradients ------------------------------------------------------------------------------
@part
@prop(examples=20)
@given(problem=moderate_or_huge_problems)
def logistic_gradient(student, ref, problem):
    w, X, y = problem
    call = call_text("logistic_gradient", (w, X, y))
    expect_close(student.logistic_gradient(w, X, y), ref.logistic_gradient(w, X, y), call=call,
                 rtol=1e-9, atol=1e-12 * (1.0 + float(np.sum(np.abs(X)))),
                 property_zh="∂J/∂w = Σ (p(x_i) - y_i) x_i", property_en="∂J/∂w = Σ (p(x_i) - y_i) x_i")


@st.composite
def smooth_functions(draw):
    """A scalar function of w ∈ ℝᴰ (quadratic or with sines: curved in every direction)."""
    rng = np.random.default_rng(draw(seeds()))
    d = draw(st.integers(1, 5))
    if draw(st.booleans()):
        A = rng.normal(size=(d, d))
        f = Fn("quadratic", A=A + A.T, b=rng.normal(size=d), c=float(rng.normal()))
    else:
        f = Fn("sines", a=rng.normal(size=d), k=rng.uniform(0.5, 3.0, size=d),
               u=rng.normal(size=d) / d)
    return f, rng.normal(size=d)


@part
@prop(examples=20)
@given(function=smooth_functions(), eps=st.sampled_from([None, 1e-2, 1e-3, 1e-4, 1e-5]))
def numerical_gradient(student, ref, function, eps):
    f, w = function
    options = {} if eps is None else {"eps": eps}
    call = call_text("numerical_gradient", (f, w), options)
    step = 1e-5 if eps is None else eps
    expect_close(student.numerical_gradient(f, w, **options), ref.numerical_gradient(f, w, **options),
                 call=call, rtol=1e-7, atol=1e-9 + 1e-13 * (1.0 + abs(f(w))) / step,
                 property_zh="中心差分 (f(w+εe_j) - f(w-εe_j)) / 2ε，用给定的 ε",
                 property_en="central differences (f(w+εe_j) - f(w-εe_j)) / 2ε with the given ε")


# -- procedures built on the parts above ----------------------------------------------------
class Degenerate(Exception):
    """The student's own loss or gradient is degenerate here (constant, zero): agreeing with
    them proves nothing about the procedure, so only the reference counts."""


def _either(check_reference, check_own) -> None:
    """Pass if the result matches the reference, or matches what the student's own loss and
    gradient imply (so one wrong gradient does not also cost the procedures built on it) —
    but only where those are not degenerate: with a zero gradient and a constant loss, "return
    w0" would agree with them (SPEC §6: no degenerate pass)."""
    try:
        check_reference()
    except Failed:
        try:
            check_own()
        except (Exception, NotDone):
            pass
        else:
            return
        raise


def _own_gradient(student, ref, w, X, y) -> np.ndarray:
    """The student's gradient at ``w``; Degenerate if it is zero (or not finite) where the true
    gradient is not."""
    g = np.asarray(student.logistic_gradient(w, X, y), dtype=float)
    true = ref.logistic_gradient(w, X, y)
    scale = 1e-12 * (1.0 + float(np.sum(np.abs(X))))
    if g.shape != np.shape(w) or not np.all(np.isfinite(g)) or (
            not np.any(g) and float(np.max(np.abs(true), initial=0.0)) > scale):
        raise Degenerate("zero gradient")
    return g


def _own_losses(student, ref, points, X, y) -> np.ndarray:
    """The student's loss at each point; Degenerate if it is constant (or not finite) where the
    true loss is not."""
    own = np.array([float(student.logistic_loss(v, X, y)) for v in points])
    true = np.array([ref.logistic_loss(v, X, y) for v in points])
    constant = np.ptp(own) == 0 and (len(points) > 1 or not own[0])
    if not np.all(np.isfinite(own)) or (constant and (np.ptp(true) > 0 or true[0] > 0)):
        raise Degenerate("constant loss")
    return own


@part
@prop(examples=15)
@given(problem=logistic_problems(max_z=5.0), alpha=st.floats(1e-3, 0.5), n_steps=st.integers(0, 25))
@example(problem=(np.zeros(2), np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([0.0, 1.0])),
         alpha=0.1, n_steps=0)
def gradient_descent(student, ref, problem, alpha, n_steps):
    w0, X, y = problem
    call = call_text("gradient_descent", (w0, X, y, alpha, n_steps))
    got = student.gradient_descent(w0, X, y, alpha, n_steps)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail("返回 (w, losses)", "returns (w, losses)", call=call,
             expected=Text("(w, losses)"), got=got)
    w, losses = got

    def own_trajectory():
        points = [np.array(w0, dtype=float)]
        for _ in range(n_steps):
            points.append(points[-1] - alpha * _own_gradient(student, ref, points[-1], X, y))
        return points[-1], _own_losses(student, ref, points, X, y)

    def compare(expected):
        expect_close(w, expected[0], call=call, rtol=1e-8, atol=1e-10,
                     property_zh="w_{t+1} = w_t - α∇J(w_t)", property_en="w_{t+1} = w_t - α∇J(w_t)")
        expect_close(losses, expected[1], call=call, rtol=1e-8, atol=1e-10,
                     property_zh="losses[t] = J(w_t)，共 n_steps + 1 个",
                     property_en="losses[t] = J(w_t), n_steps + 1 of them")

    _either(lambda: compare(ref.gradient_descent(w0, X, y, alpha, n_steps)),
            lambda: compare(own_trajectory()))


@part
@prop(examples=15)
@given(problem=logistic_problems(max_z=5.0), alpha=st.sampled_from([1e-1, 1e-2, 1e-3, 1e-4, 1e-6]))
def descent_check(student, ref, problem, alpha):
    w, X, y = problem
    call = call_text("descent_check", (w, X, y, alpha))
    got = student.descent_check(w, X, y, alpha)
    tolerance = {"rtol": 1e-7, "atol": 1e-12 * (1.0 + abs(ref.logistic_loss(w, X, y)))}

    def own():
        g = _own_gradient(student, ref, w, X, y)
        before, after = _own_losses(student, ref, [w, w - alpha * g], X, y)
        return after - before, -alpha * float(g @ g)

    def compare(expected):
        expect_close(got, expected, call=call, **tolerance,
                     property_zh="(J(w-α∇J) - J(w), -α‖∇J‖²)",
                     property_en="(J(w-α∇J) - J(w), -α‖∇J‖²)")

    _either(lambda: compare(ref.descent_check(w, X, y, alpha)), lambda: compare(own()))
