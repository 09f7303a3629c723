"""Hidden tests of homework I: probability vs likelihood, the binomial likelihood, MLE."""
from __future__ import annotations

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from ..compare import Text, call_text, expect_close, fail, numeric_array
from ..run.student import Raised
from . import part, prop
from .strategies import counts, probability_arrays

# Underflow to 0.0 is fine (SPEC §3): values below this count as zero.
UNDERFLOW = 1e-290


def _choice(student, ref, name: str) -> None:
    got = student.constant(name)
    expected = getattr(ref, name)
    if not isinstance(got, str) or got.strip().upper() != expected:
        fail("选择正确的函数类型", "picks the right kind of function", call=name,
             expected='"A" or "B" (one of them is right)', got=got)


@part
def answer_I_1(student, ref):
    _choice(student, ref, "ANSWER_I_1")


@part
def answer_I_2(student, ref):
    _choice(student, ref, "ANSWER_I_2")


def _same_shape_as_p(got, p, call: str) -> None:
    if np.shape(got) != np.shape(p):
        fail("返回与 p 同形状", "returns the shape of p", call=call,
             expected=f"shape {np.shape(p)}", got=Text(f"shape {np.shape(got)}"))


@part
@prop(examples=15)
@given(p=probability_arrays(), kn=counts(max_n=100))
@example(p=0.7, kn=(70, 100))
def binomial_likelihood_values(student, ref, p, kn):
    k, n = kn
    call = call_text("binomial_likelihood", (p, k, n))
    got = student.binomial_likelihood(p, k, n)
    _same_shape_as_p(got, p, call)
    expect_close(got, ref.binomial_likelihood(p, k, n), call=call, rtol=1e-9, atol=UNDERFLOW)


@part
@prop(examples=15)
@given(p=probability_arrays(), kn=counts(min_n=1000, max_n=10**6))
@example(p=0.5, kn=(1000, 10**6))  # first: C(10⁶, 1000) is quick to build and overflows a float
def binomial_likelihood_large_n(student, ref, p, kn):
    k, n = kn
    call = call_text("binomial_likelihood", (p, k, n))
    got = student.binomial_likelihood(p, k, n)
    _same_shape_as_p(got, p, call)
    expect_close(got, ref.binomial_likelihood(p, k, n), call=call, rtol=1e-6, atol=1e-300)


@part
@prop(examples=15)
@given(p=probability_arrays(open_interval=True), kn=counts(max_n=10**6))
@example(p=0.7, kn=(70, 100))
@example(p=0.1, kn=(500_000, 10**6))
def binomial_log_likelihood_values(student, ref, p, kn):
    k, n = kn
    call = call_text("binomial_log_likelihood", (p, k, n))
    got = student.binomial_log_likelihood(p, k, n)
    _same_shape_as_p(got, p, call)
    expect_close(got, ref.binomial_log_likelihood(p, k, n), call=call, atol=1e-6)


@part
@prop(examples=20)
@given(p=st.sampled_from([0.0, 1.0]), kn=counts(max_n=10**6))
@example(p=0.0, kn=(0, 10))
@example(p=0.0, kn=(3, 10))
def binomial_log_likelihood_edges(student, ref, p, kn):
    k, n = kn
    call = call_text("binomial_log_likelihood", (p, k, n))
    expected = ref.binomial_log_likelihood(p, k, n)
    expect_close(student.binomial_log_likelihood(p, k, n), expected, call=call, atol=1e-6,
                 property_zh="p ∈ {0, 1} 时 0·ln 0 = 0，似然为 0 处为 -inf",
                 property_en="at p ∈ {0, 1}: 0·ln 0 = 0, and -inf where the likelihood is 0")


draws_0_1 = st.lists(st.sampled_from([0, 1]), min_size=1, max_size=200)


@part
@prop(examples=20)
@given(draws=draws_0_1, container=st.sampled_from(["list", "int array", "float array"]))
@example(draws=[1] * 70 + [0] * 30, container="list")
def mle_proportion_values(student, ref, draws, container):
    data = {"list": draws, "int array": np.array(draws),
            "float array": np.array(draws, dtype=float)}[container]
    call = call_text("mle_proportion", (data,))
    expect_close(student.mle_proportion(data), ref.mle_proportion(draws), call=call, rtol=1e-12)


def expect_value_error(student, name: str, args: tuple, why_zh: str, why_en: str) -> None:
    call = call_text(name, args)
    outcome = student.outcome(name, *args)
    if not isinstance(outcome, Raised) or not outcome.is_a("ValueError"):
        got = outcome.value if not isinstance(outcome, Raised) else Text(outcome.kinds[0])
        fail(f"{why_zh}时抛出 ValueError", f"raises ValueError {why_en}", call=call,
             expected="ValueError", got=got)
    if not outcome.message.strip():
        fail("ValueError 带有说明", "the ValueError says what is wrong", call=call,
             expected="a message / 一条说明", got=Text("an empty message"))


@prop(examples=15)
@given(draws=draws_0_1, bad=st.sampled_from([2, -1, 0.5, 3.0, 10]), where=st.integers(0, 199))
def _proportion_rejects_bad_values(student, ref, draws, bad, where):
    draws = list(draws)
    draws.insert(where % (len(draws) + 1), bad)
    expect_value_error(student, "mle_proportion", (draws,), "输入含 0/1 以外的值",
                       "on values other than 0/1")


@part
def mle_proportion_invalid(student, ref):
    expect_value_error(student, "mle_proportion", ([],), "输入为空", "on empty input")
    _proportion_rejects_bad_values(student, ref)


@part
@prop(examples=15)
@given(kn=counts(max_n=1000))
@example(kn=(70, 100))
@example(kn=(2, 10))  # the boundaries of the case rule: 0 is a stationary point only when k ≥ 2,
@example(kn=(8, 10))  # 1 only when n − k ≥ 2
@example(kn=(1, 10))
@example(kn=(9, 10))
def likelihood_stationary_points(student, ref, kn):
    k, n = kn
    call = call_text("likelihood_stationary_points", (k, n))
    expected = ref.likelihood_stationary_points(k, n)
    got = numeric_array(student.likelihood_stationary_points(k, n), call=call).ravel()
    expect_close(got, expected, call=call, atol=1e-12,
                 property_zh="恰好是全部驻点，升序", property_en="exactly the stationary points, sorted")


@part
@prop(examples=20)
@given(x=st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=50))
@example(x=[1.0, 2.0, 3.0, 4.0])
def gaussian_mle(student, ref, x):
    call = call_text("gaussian_mle", (np.array(x),))
    got = student.gaussian_mle(np.array(x))
    expected = ref.gaussian_mle(x)
    if not isinstance(got, (tuple, list, np.ndarray)) or np.shape(got) != (2,):
        fail("返回 (mu, sigma)", "returns (mu, sigma)", call=call, expected=expected, got=got)
    scale = 1e-9 * (1.0 + max(abs(v) for v in x))
    expect_close(got, expected, call=call, rtol=1e-9, atol=scale,
                 property_zh="mu 与 sigma（1/N）与参考一致",
                 property_en="mu and sigma (with 1/N) match the reference")
    expect_value_error(student, "gaussian_mle", ([],), "输入为空", "on empty input")
