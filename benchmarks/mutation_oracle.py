"""The mutation benchmark's judge of "does this mutant break the contract?" (SPEC §3).

Independent of the hidden tests on purpose: its own inputs (plain numpy random draws over the
contract's domain, with the corners the contract names), the contract's own tolerances, and for
answers with freedom (a trained network, a hand-set network, a policy) the contract's predicate
instead of equality with the reference.  ``differences(homework, mutant, reference)`` returns
the first difference found as text, or None: "no difference found" labels a mutant equivalent.
"""
from __future__ import annotations

import warnings

import numpy as np

CASES = 60  # random inputs per function (on top of the corners)


class Different(Exception):
    pass


def _close(got, expected, rtol=1e-9, atol=1e-12, what="value") -> None:
    try:
        got_array = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise Different(f"{what}: not numbers ({got!r:.80})") from None
    expected = np.asarray(expected, dtype=float)
    if got_array.shape != expected.shape:
        raise Different(f"{what}: shape {got_array.shape} instead of {expected.shape}")
    with np.errstate(invalid="ignore"):
        same = np.isclose(got_array, expected, rtol=rtol, atol=atol, equal_nan=True)
    if not np.all(same):
        raise Different(f"{what}: {got_array.ravel()[:4]} instead of {expected.ravel()[:4]}")


def _call(function, *args, **kwargs):
    """The result, the exception's type, and the warnings, of one call."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            return function(*args, **kwargs), None, [str(w.message) for w in caught]
        except Exception as error:  # noqa: BLE001 (any exception is an observable difference)
            return None, type(error).__name__, [str(w.message) for w in caught]


def _same_call(mutant, reference, name, args, kwargs=None, no_warnings=False, **tolerance):
    kwargs = kwargs or {}
    got, got_error, got_warnings = _call(getattr(mutant, name), *args, **kwargs)
    expected, expected_error, _ = _call(getattr(reference, name), *args, **kwargs)
    label = f"{name}{tuple(_short(a) for a in args)}"
    if (got_error is None) != (expected_error is None) or (got_error and got_error != expected_error
                                                            and "ValueError" in (got_error, expected_error)):
        raise Different(f"{label}: raised {got_error} where the reference raised {expected_error}")
    if no_warnings and got_warnings:
        raise Different(f"{label}: warned {got_warnings[0][:60]}")
    if expected_error is None:
        _compare_tree(got, expected, label, **tolerance)
    return got


def _short(value):
    text = repr(value)
    return text if len(text) < 40 else text[:37] + "…"


def _compare_tree(got, expected, what, **tolerance):
    if isinstance(expected, str) or expected is None:
        if got != expected:
            raise Different(f"{what}: {got!r:.60} instead of {expected!r:.60}")
    elif isinstance(expected, (list, tuple)) and expected and not _numeric(expected):
        if not isinstance(got, (list, tuple, np.ndarray)) or len(got) != len(expected):
            raise Different(f"{what}: {len(got) if hasattr(got, '__len__') else got!r} items")
        for index, (a, b) in enumerate(zip(got, expected)):
            _compare_tree(a, b, f"{what}[{index}]", **tolerance)
    else:
        _close(got, expected, what=what, **tolerance)


def _numeric(value) -> bool:
    try:
        return np.asarray(value, dtype=float).dtype.kind == "f"
    except (TypeError, ValueError):
        return False


# -- homework I -------------------------------------------------------------------------------
def _hw1(m, r, rng):
    for name in ("ANSWER_I_1", "ANSWER_I_2"):
        if str(getattr(m, name)).strip().upper() != getattr(r, name):
            raise Different(name)
    corners = [(0, 1), (1, 1), (0, 10), (1, 10), (2, 10), (8, 10), (9, 10), (10, 10), (70, 100),
               (0, 10**6), (10**6, 10**6), (1, 10**6), (500_000, 10**6), (3, 5)]
    counts = corners + [(int(k), int(n)) for n in rng.integers(1, 10**6, CASES)
                        for k in [rng.integers(0, n + 1)]]
    for k, n in counts:
        p = np.concatenate([[0.0, 1.0, 1e-300, 0.5], rng.uniform(size=4)])
        _same_call(m, r, "binomial_log_likelihood", (p, k, n), rtol=0, atol=1e-6)
        _same_call(m, r, "binomial_likelihood", (p, k, n), rtol=1e-6, atol=1e-300)
        _same_call(m, r, "binomial_likelihood", (float(p[-1]), k, n), rtol=1e-6, atol=1e-300)
    for n in range(1, 13):
        for k in range(n + 1):
            _same_call(m, r, "likelihood_stationary_points", (k, n), rtol=0, atol=1e-12)
    for _ in range(CASES):
        draws = list(rng.integers(0, 2, rng.integers(1, 50)))
        _same_call(m, r, "mle_proportion", (draws,), rtol=1e-12)
        _same_call(m, r, "mle_proportion", (draws + [2],))
        _same_call(m, r, "mle_proportion", (draws + [0.5],))
        x = rng.normal(rng.uniform(-100, 100), rng.uniform(0.1, 50), rng.integers(1, 40))
        _same_call(m, r, "gaussian_mle", (x,), rtol=1e-9, atol=1e-9)
    _same_call(m, r, "mle_proportion", ([],))
    _same_call(m, r, "gaussian_mle", ([],))


# -- homework II ------------------------------------------------------------------------------
def _logistic_problem(rng, largest):
    n, d = rng.integers(1, 12), rng.integers(1, 5)
    X = np.column_stack([np.ones(n), rng.normal(0, 2, (n, d - 1))])
    y = rng.integers(0, 2, n).astype(float)
    w = rng.normal(size=d)
    scale = np.max(np.abs(X @ w))
    return (w * largest / scale if scale else w), X, y


def _hw2(m, r, rng):
    z = np.concatenate([[0.0, 36.0, 37.0, 40.0, -40.0, 709.0, 710.0, -745.0, 745.0, 1e4, -1e4, 1e300, -1e300],
                        rng.normal(0, 10, CASES)])
    _same_call(m, r, "sigmoid", (z,), no_warnings=True, rtol=0, atol=1e-12)
    for value in (0.0, -800.0, 800.0, 3.5):
        got = _same_call(m, r, "sigmoid", (value,), no_warnings=True, rtol=0, atol=1e-12)
        if np.ndim(got) != 0:
            raise Different("sigmoid: a scalar in gives an array out")
    for largest in [0.5, 5.0, 30.0, 40.0, 800.0, 1e4] * (CASES // 6):
        w, X, y = _logistic_problem(rng, largest)
        scale = 1e-12 * (1 + np.sum(np.abs(X @ w)))
        _same_call(m, r, "logistic_loss", (w, X, y), rtol=1e-9, atol=scale)
        _same_call(m, r, "log_likelihood_simplified", (w, X, y), rtol=1e-9, atol=scale)
        _same_call(m, r, "logistic_gradient", (w, X, y), rtol=1e-9, atol=1e-12 * (1 + np.sum(np.abs(X))))
        if largest <= 5:
            alpha, steps = rng.uniform(1e-3, 0.5), int(rng.integers(0, 20))
            _same_call(m, r, "gradient_descent", (w, X, y, alpha, steps), rtol=1e-8, atol=1e-10)
            _same_call(m, r, "descent_check", (w, X, y, float(rng.choice([1e-1, 1e-3, 1e-6]))),
                       rtol=1e-7, atol=1e-12)
    for _ in range(CASES // 2):
        d = rng.integers(1, 5)
        A = rng.normal(size=(d, d))
        A, b = A + A.T, rng.normal(size=d)
        f = lambda v, A=A, b=b: float(0.5 * v @ A @ v + b @ v + np.sum(np.sin(3 * v)))  # noqa: E731
        w = rng.normal(size=d)
        for eps in (None, 1e-2, 1e-4):
            kwargs = {} if eps is None else {"eps": eps}
            _same_call(m, r, "numerical_gradient", (f, w), kwargs, rtol=1e-7,
                       atol=1e-9 + 1e-13 * (1 + abs(f(w))) / (eps or 1e-5))


# -- homework III -----------------------------------------------------------------------------
def _separable(rng):
    n, d = rng.integers(1, 8), rng.integers(1, 4)
    X = rng.integers(-5, 6, (n, d)).astype(float)
    w = rng.integers(-3, 4, d)
    w[0] = w[0] or 1
    return X, np.sign(X @ w + rng.integers(-3, 3) + 0.5)


def _hw3(m, r, rng):
    example = (r.X_EXAMPLE, r.Y_EXAMPLE)
    _same_call(m, r, "perceptron_train", example, rtol=0, atol=1e-9)
    for _ in range(CASES):
        X, y = _separable(rng)
        options = {"eta": float(rng.choice([1.0, 0.5, 2.0])), "b0": float(rng.choice([0.0, 1.0, -2.0])),
                   "max_iter": 200}
        if rng.uniform() < 0.5:
            options["w0"] = tuple(rng.integers(-2, 3, X.shape[1]).astype(float))
        _same_call(m, r, "perceptron_train", (X, y), options, rtol=0, atol=1e-9)
        choose = (lambda M, t: list(M)[-1]) if rng.uniform() < 0.5 else (lambda M, t: list(M)[t % len(M)])
        _same_call(m, r, "perceptron_train", (X, y), {"choose": choose, "max_iter": 200}, rtol=0, atol=1e-9)
        X2, y2 = np.vstack([X, X[:1]]), np.append(y, -y[0])
        _same_call(m, r, "perceptron_train", (X2, y2), {"max_iter": int(rng.integers(1, 15))}, rtol=0, atol=1e-9)
    _compare_tree(m.HW3_TRACE, r.HW3_TRACE, "HW3_TRACE", rtol=0, atol=1e-9)
    _compare_tree(m.HW3_FINAL, r.HW3_FINAL, "HW3_FINAL", rtol=0, atol=1e-9)
    policy = lambda M, t: m.choose_m2_at_5(M, t)  # noqa: E731
    trace = _call(r.perceptron_train, *example, choose=policy, max_iter=12)[0]
    expected = r.perceptron_train(*example, choose=r.choose_m2_at_5)[2]
    if trace is None or [row[1] for row in trace[2]] != [row[1] for row in expected]:
        raise Different("choose_m2_at_5 does not steer the perceptron through the HW III run")


# -- homework IV ------------------------------------------------------------------------------
def _network(rng, sizes=None):
    sizes = sizes or list(rng.integers(1, 6, rng.integers(2, 5)))
    params = [(rng.normal(size=(b, a)), rng.normal(size=b)) for a, b in zip(sizes, sizes[1:])]
    return params, rng.normal(size=(rng.integers(1, 5), sizes[0]))


def _xor_right(predict) -> bool:
    grid = np.array([[x, y] for x in np.linspace(-0.199, 0.199, 9) for y in np.linspace(-0.199, 0.199, 9)])
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    for corner, label in zip(corners, (0, 1, 1, 0)):
        if not np.array_equal(np.asarray(predict(corner + grid)).ravel(), np.full(len(grid), label)):
            return False
    return True


def _hw4(m, r, rng):
    z = np.concatenate([[0.0, 40.0, -800.0, 800.0], rng.normal(0, 5, CASES)])
    _same_call(m, r, "sigmoid", (z,), no_warnings=True, rtol=0, atol=1e-12)
    _same_call(m, r, "sigmoid_prime", (z,), rtol=0, atol=1e-12)
    for _ in range(CASES):
        params, X = _network(rng)
        _same_call(m, r, "forward", (params, X), rtol=1e-9, atol=1e-12)
        _same_call(m, r, "forward", (params, X), {"f": np.tanh}, rtol=1e-9, atol=1e-12)
        Y = rng.uniform(size=(len(X), params[-1][0].shape[0]))
        _same_call(m, r, "backprop", (params, X, Y), rtol=1e-7, atol=1e-10)
    if not _xor_right(lambda X: r.forward(m.XOR_PARAMS, X, f=r.step)[1][-1]):
        raise Different("XOR_PARAMS is wrong near a corner")
    if not _xor_right(m.xor_predict):
        raise Different("xor_predict is wrong near a corner")
    for options in ({}, {"seed": 1}, {"hidden": 3, "seed": 2}, {"seed": 5}):
        params = _call(m.train_xor, **options)[0]
        if params is None:
            raise Different(f"train_xor({options}) raised")
        hidden = options.get("hidden", 4)
        if [np.shape(T) for T, _ in params] != [(hidden, 2), (1, hidden)]:
            raise Different(f"train_xor({options}) has the wrong shapes")
        output = r.forward(params, np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float))[1][-1].ravel()
        if not np.array_equal(output > 0.5, [False, True, True, False]):
            raise Different(f"train_xor({options}) does not learn XOR")
    first, again, other = m.train_xor(), m.train_xor(), m.train_xor(seed=1)
    same = lambda a, b: all(np.array_equal(x, y) for p, q in zip(a, b) for x, y in zip(p, q))  # noqa: E731
    if not same(first, again) or same(first, other):
        raise Different("train_xor is not deterministic per seed, or ignores the seed")
    x = np.linspace(0, 1, 4001)
    for n in (1, 2, 5, 17, 40):
        for f, lipschitz in ((np.sin, 1.0), (lambda t: np.abs(t - 0.3) * 4 - 1, 4.0),
                             (lambda t: 3 * np.sin(11 * t) + 5, 33.0)):
            params = _call(m.bump_network, f, n)[0]
            if params is None:
                raise Different(f"bump_network(n={n}) raised")
            error = np.max(np.abs(r.bump_predict(params, x) - f(x)))
            if not error <= lipschitz / n * (1 + 1e-9) + 1e-12:
                raise Different(f"bump_network(n={n}): sup error {error:.4g} > L/n")
    for _ in range(CASES):
        h = int(rng.integers(1, 30))
        steep = rng.choice([1.0, 100.0, 1e5], h) * rng.choice([-1, 1], h)
        params = [(steep.reshape(h, 1), -steep * rng.uniform(size=h)), (rng.normal(size=(1, h)), rng.normal(size=1))]
        _same_call(m, r, "bump_predict", (params, rng.uniform(size=10)), no_warnings=True, rtol=1e-9, atol=1e-9)


# -- homework V -------------------------------------------------------------------------------
def _hw5(m, r, rng, data):
    for _ in range(CASES):
        sizes = [int(s) for s in rng.choice([1, 2, 10, 784, 65536, 10**6], rng.integers(2, 7))]
        for name in ("count_parameters", "forward_macs"):
            got, expected = getattr(m, name)(sizes), getattr(r, name)(sizes)
            if isinstance(got, (bool, float)) or got != expected:
                raise Different(f"{name}({sizes}) = {got!r}")
        args = tuple(int(v) for v in rng.integers(1, 64, 4))
        for kwargs in ({}, {"bias": False}, {"bias": True}):
            got, expected = m.conv2d_parameters(*args, **kwargs), r.conv2d_parameters(*args, **kwargs)
            if isinstance(got, float) or got != expected:
                raise Different(f"conv2d_parameters{args}")
    layers = list(m.CASE_LAYERS)
    if layers[0] != 64 or layers[-1] != 10 or len(layers) < 3:
        raise Different("CASE_LAYERS")
    for name, first in (("ANSWER_V_1", 64), ("ANSWER_V_2", 65536), ("ANSWER_V_3", 784)):
        if getattr(m, name) != r.count_parameters([first] + layers[1:]):
            raise Different(name)
    if [tuple(pair) for pair in m.ANSWER_V_BREAKDOWN] != [tuple(pair) for pair in r.ANSWER_V_BREAKDOWN]:
        raise Different("ANSWER_V_BREAKDOWN")
    params = m.train_digits(data["X_train"], data["y_train"], seed=0)
    shapes = [(np.shape(T), np.shape(b)) for T, b in params]
    if shapes != [((b, a), (b,)) for a, b in zip(layers, layers[1:])]:
        raise Different("train_digits: shapes")
    accuracy = np.mean(np.asarray(m.predict_digits(params, data["X_test"])) == data["y_test"])
    if accuracy < 0.94:
        raise Different(f"train_digits: accuracy {accuracy:.3f}")
    again = m.train_digits(data["X_train"], data["y_train"], seed=0)
    if not np.array_equal(m.predict_digits(again, data["X_test"]), m.predict_digits(params, data["X_test"])):
        raise Different("train_digits: not deterministic")
    rigged = [*params[:-1], (np.zeros_like(params[-1][0]), 10.0 * np.eye(10)[7])]
    if not np.all(np.asarray(m.predict_digits(rigged, data["X_test"][:20])) == 7):
        raise Different("predict_digits does not use its params")


ORACLES = {"hw1_likelihood": _hw1, "hw2_logistic": _hw2, "hw3_perceptron": _hw3, "hw4_xor": _hw4}


def differences(homework: str, mutant, reference, data=None) -> str | None:
    """The first way ``mutant`` breaks the contract that ``reference`` keeps, or None."""
    rng = np.random.default_rng(12345)
    try:
        with np.errstate(all="ignore"):
            if homework == "hw5_mlp":
                _hw5(mutant, reference, rng, data)
            else:
                ORACLES[homework](mutant, reference, rng)
    except Different as difference:
        return str(difference)
    except Exception as error:  # noqa: BLE001 (an answer that raises where the reference does not)
        return f"raised {type(error).__name__}: {str(error)[:80]}"
    return None

