"""Hypothesis strategies shared by the hidden tests, named after what they produce."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st


def probabilities(open_interval: bool = False) -> st.SearchStrategy[float]:
    """Floats in [0, 1] (or (0, 1)), the ends and tiny values included."""
    interior = st.floats(0.0, 1.0, exclude_min=open_interval, exclude_max=open_interval)
    ends = st.sampled_from([0.0, 1.0]) if not open_interval else st.nothing()
    return st.one_of(ends, st.sampled_from([1e-300, 1e-12, 0.5, 1 - 1e-12]), interior)


@st.composite
def probability_arrays(draw, open_interval: bool = False):
    """A probability as a float, or an array of them of shape (m,) or (m, r)."""
    shape = draw(st.sampled_from([(), (1,), (3,), (2, 3)]))
    values = draw(st.lists(probabilities(open_interval), min_size=int(np.prod(shape)),
                           max_size=int(np.prod(shape))))
    return values[0] if shape == () else np.array(values).reshape(shape)


@st.composite
def counts(draw, min_n: int = 1, max_n: int = 1000):
    """(k, n) with 0 ≤ k ≤ n; the edges k ∈ {0, 1, 2, n−2, n−1, n} (where case rules change)
    and small n drawn often."""
    n = draw(st.one_of(st.integers(min_n, max_n), st.sampled_from(sorted({min_n, max_n})),
                       st.integers(min_n, min_n + 4)))
    edges = sorted({min(max(k, 0), n) for k in (0, 1, 2, n - 2, n - 1, n)})
    k = draw(st.one_of(st.sampled_from(edges), st.integers(0, n)))
    return k, n


def seeds() -> st.SearchStrategy[int]:
    """Seeds for numpy generators: large inputs are drawn from a seed, not element by element."""
    return st.integers(0, 2**32 - 1)
