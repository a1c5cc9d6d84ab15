"""Random gene sets drawn many at once (the draws of the random-set nulls) are uniform over subsets."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from scipy.stats import chisquare

from radiogx.tl._random_sets import VECTORISED_SIZE, random_subsets


@pytest.mark.parametrize("n_items, size", [(7, 3), (9, 5)])
def test_vectorised_draws_are_uniform_over_subsets(n_items, size):
    """Few items, so that most rows repeat an item at first and are drawn again: every subset equally often
    (chi-square), rows of distinct items in range."""
    draws = random_subsets(np.random.default_rng(0), n_items, size, 40_000)
    assert draws.shape == (40_000, size) and draws.dtype == np.int64
    ordered = np.sort(draws, axis=1)
    assert (np.diff(ordered, axis=1) > 0).all() and ordered.min() >= 0 and ordered.max() < n_items
    index = {s: i for i, s in enumerate(combinations(range(n_items), size))}
    counts = np.bincount([index[tuple(r)] for r in ordered], minlength=len(index))
    assert chisquare(counts).pvalue > 1e-3
    # the check has power: keeping the first draw of a repeated item and redrawing only the later ones is the method;
    # a sampler that keeps the smallest items of a row with repeats (a biased one) fails it
    rng = np.random.default_rng(0)
    raw = rng.integers(0, n_items, size=(40_000, size + 2))
    biased = np.array([np.unique(r)[:size] for r in raw if len(np.unique(r)) >= size])
    counts = np.bincount([index[tuple(r)] for r in biased], minlength=len(index))
    assert chisquare(counts).pvalue < 1e-6


def test_large_sets_and_edge_cases():
    rng = np.random.default_rng(1)
    size = VECTORISED_SIZE + 50  # drawn one Generator.choice call each
    draws = random_subsets(rng, 400, size, 2_000)
    assert all(len(np.unique(r)) == size for r in draws)
    freq = np.bincount(draws.ravel(), minlength=400) / len(draws)
    assert np.abs(freq - size / 400).max() < 0.05  # every item in a set with the same chance
    assert random_subsets(rng, 10, 0, 4).shape == (4, 0)
    assert random_subsets(rng, 10, 10, 3).shape == (3, 10)
    with pytest.raises(ValueError, match="subsets of 11 items out of 10"):
        random_subsets(rng, 10, 11, 1)
