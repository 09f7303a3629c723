"""Functions that hidden tests pass as arguments, rebuilt from a plain description.

A function cannot cross the process boundary, so a test describes it (``Fn("sine", ...)``), the
grader calls the description directly for the reference, and the child rebuilds the very same
function from this module for the student's code.  Standalone: stdlib and numpy only.
"""
from __future__ import annotations

import numpy as np

from . import wire


# -- activations f for forward(params, X, f) ------------------------------------------------
def tanh():
    return np.tanh


def identity():
    return lambda z: np.asarray(z, dtype=float) * 1.0


# -- choose(M, t) policies for perceptron_train ------------------------------------------------
def first():
    return lambda M, t: list(M)[0]


def last():
    return lambda M, t: list(M)[-1]


def cycle():
    """The (t mod |M|)-th misclassified point: visits a different point as t grows."""
    return lambda M, t: list(M)[int(t) % len(list(M))]


def prefer(index, at):
    """Point ``index`` at iteration ``at`` if it is misclassified, else the first (HW III's rule)."""
    def choose(M, t):
        M = [int(i) for i in M]
        return index if int(t) == at and index in M else M[0]
    return choose


def ranked(priority):
    """The misclassified point of highest priority (a fixed, arbitrary order of the data)."""
    def choose(M, t):
        return max((int(i) for i in M), key=lambda i: priority[i])
    return choose


# -- scalar functions on [0, 1] for bump_network(f, n_bumps) -----------------------------------
def piecewise_linear(xs, ys):
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)

    def f(x):
        out = np.interp(np.asarray(x, dtype=float), xs, ys)
        return out[()] if np.ndim(out) == 0 else out
    return f


def sine(amplitude, frequency, phase, offset):
    def f(x):
        return amplitude * np.sin(frequency * np.asarray(x, dtype=float) + phase) + offset
    return f


# -- scalar functions of a vector w for numerical_gradient(f, w) -------------------------------
def quadratic(A, b, c):
    A, b = np.asarray(A, dtype=float), np.asarray(b, dtype=float)

    def f(w):
        v = np.asarray(w, dtype=float)
        return float(0.5 * v @ A @ v + b @ v + c)
    return f


def sines(a, k, u):
    """Σ aᵢ sin(kᵢwᵢ) + (u·w)³/6: curved in every direction, so step errors show."""
    a, k, u = (np.asarray(v, dtype=float) for v in (a, k, u))

    def f(w):
        v = np.asarray(w, dtype=float)
        return float(np.sum(a * np.sin(k * v)) + (u @ v) ** 3 / 6.0)
    return f


def _numbers(values, limit: int = 6) -> str:
    array = np.asarray(values, dtype=float).ravel()
    shown = ", ".join(f"{v:.4g}" for v in array[:limit])
    return f"[{shown}{', …' if array.size > limit else ''}]"


def describe(kind: str, params: dict) -> str:
    """A readable formula for a catalogue function (not the Python that builds it)."""
    p = params
    if kind == "tanh":
        return "f = np.tanh"
    if kind == "identity":
        return "f(z) = z"
    if kind == "first":
        return "choose(M, t) = M[0] (the first misclassified point)"
    if kind == "last":
        return "choose(M, t) = M[-1] (the last misclassified point)"
    if kind == "cycle":
        return "choose(M, t) = M[t mod len(M)]"
    if kind == "prefer":
        return f"choose(M, t) = {p['index']} if t == {p['at']} and {p['index']} in M, else M[0]"
    if kind == "ranked":
        order = sorted(range(len(p["priority"])), key=lambda i: -p["priority"][i])
        return f"choose(M, t) = the index in M that comes first in the order {order}"
    if kind == "piecewise_linear":
        knots = ", ".join(f"({x:.3g}, {y:.3g})" for x, y in zip(np.ravel(p["xs"]), np.ravel(p["ys"])))
        return f"f = the piecewise-linear function through {knots}"
    if kind == "sine":
        return (f"f(x) = {p['amplitude']:.4g}·sin({p['frequency']:.4g}·x + {p['phase']:.4g}) + "
                f"{p['offset']:.4g}")
    if kind == "quadratic":
        return (f"f(w) = ½ wᵀAw + bᵀw + c with A = {_numbers(p['A'], 9)} (row by row), b = {_numbers(p['b'])}, "
                f"c = {float(p['c']):.4g}")
    if kind == "sines":
        return (f"f(w) = Σᵢ aᵢ·sin(kᵢ·wᵢ) + (u·w)³/6 with a = {_numbers(p['a'])}, k = {_numbers(p['k'])}, "
                f"u = {_numbers(p['u'])}")
    return kind


CATALOGUE = {
    function.__name__: function
    for function in (tanh, identity, first, last, cycle, prefer, ranked,
                     piecewise_linear, sine, quadratic, sines)
}


def build(kind: str, params: dict):
    """The function a description stands for (KeyError for an unknown kind)."""
    return CATALOGUE[kind](**params)


class Fn:
    """A described function: callable in the grader (for the reference), sent to a child as
    its description and rebuilt there by ``build`` (for the student's code)."""

    def __init__(self, kind: str, **params):
        self.kind, self.params = kind, params
        self.function = build(kind, params)

    def __call__(self, *args):
        return self.function(*args)

    @property
    def description(self) -> str:
        """The function as a student would write it down (shown in counterexamples)."""
        return describe(self.kind, self.params)

    def __wire__(self):
        return {wire.FUNCTION: {"kind": self.kind, "params": wire.encode(self.params)}}
