"""Sequential Monte Carlo p-values (Besag & Clifford 1991): null draws continue only for tests still beyond reach.

A test's p-value is the chance that a null draw scores at least as high as the observed score. Monte Carlo estimates
it from ``n`` draws as ``(1 + e) / (1 + n)`` (``e`` draws at least as high), which cannot go below ``1 / (1 + n)``.
Besag & Clifford's sequential test draws until ``h`` exceedances have been seen or ``n_max`` draws were made: the
p-value is ``h / L`` when the ``h``-th exceedance came at draw ``L``, else ``(1 + e) / (1 + n_max)``. Both are valid
p-values (``P(p <= a) <= a`` under the null, for every ``a``) and need about ``h / p`` draws, so that draws are spent
only on the few tests with small p-values. Within one stream of draws, the p-value is monotone in the observed score.

Tests share draws where their nulls are the same (random gene sets of one size, label permutations, random gene
positions of one size); each test reads the stream in the order it was drawn, so the rule above holds for every test
whatever the others need.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import beta, norm

__all__ = ["SequentialPvalues", "sequential_pvalues", "DEFAULT_EXCEEDANCES"]

#: Exceedances after which a test stops drawing (Besag & Clifford's ``h``): the relative standard error of ``h / L``
#: is about ``1 / sqrt(h)``, 32% at 10.
DEFAULT_EXCEEDANCES = 10

# draw(n, rows, cols) -> (hits, valid): booleans rows x cols x n (valid may be None: every draw counts)
DrawFn = Callable[[int, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray | None]]


@dataclass
class SequentialPvalues:
    """P-values of a rows x cols grid of tests, the draws each used, and whether each is resolved or only bounded.

    ``exceedances`` counts the draws at least as high as each test's score among its ``n_draws`` (at most ``h``).
    ``method`` (optional) names how each p-value was reached where some were not counted sequentially (multilevel
    splitting, :mod:`radiogx.tl._multilevel`), and ``log2err`` the standard deviation of ``log2 p`` where one is
    estimated (NaN elsewhere)."""

    pval: np.ndarray
    n_draws: np.ndarray
    resolved: np.ndarray  # h exceedances seen: p = h / L; otherwise p = (1 + e) / (1 + n), a bound at the resolution
    exceedances: np.ndarray
    method: np.ndarray | None = None
    log2err: np.ndarray | None = None
    refined: np.ndarray | None = None  # tests whose p-value a multilevel ruler gave (not the draws counted here)

    def methods(self, resolved: str = "sequential_mc", bounded: str = "mc_bound") -> np.ndarray:
        if self.method is not None:
            return self.method.astype(object)
        return np.where(self.resolved, resolved, bounded).astype(object)

    def errors(self) -> np.ndarray:
        return np.full(self.pval.shape, np.nan) if self.log2err is None else self.log2err

    def confidence(self, risk: float) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds on each test's p-value, each wrong with chance at most ``risk``: Clopper-Pearson
        for ``e`` exceedances in ``n`` draws; for a multilevel estimate, ``p`` times ``2`` to the power of
        ``-/+ z log2err`` (``z`` the normal quantile of ``1 - risk``; the error's normal approximation); for a
        multilevel bound, 0 and the bound."""
        n, e = np.maximum(self.n_draws, 1), self.exceedances
        with np.errstate(invalid="ignore"):
            lo = np.nan_to_num(np.where(e > 0, beta.ppf(risk, np.maximum(e, 1), n - e + 1), 0.0))
            hi = np.nan_to_num(np.where(e < n, beta.ppf(1 - risk, e + 1, np.maximum(n - e, 1)), 1.0), nan=1.0)
        if self.refined is not None and self.refined.any():
            err = self.errors()
            spread = np.exp2(norm.ppf(1 - risk) * np.nan_to_num(err, nan=0.0))
            estimate = self.refined & np.isfinite(err)
            lo = np.where(self.refined, np.where(estimate, self.pval / spread, 0.0), lo)
            hi = np.where(self.refined, np.where(estimate, np.minimum(self.pval * spread, 1.0), self.pval), hi)
        return lo, hi


def sequential_pvalues(
    shape: tuple[int, int],
    draw: DrawFn,
    *,
    n_first: int,
    n_max: int,
    h: int = DEFAULT_EXCEEDANCES,
    max_elements: int = 2**24,
) -> SequentialPvalues:
    """Besag-Clifford sequential p-values of a grid of tests.

    Parameters
    ----------
    shape
        Tests, rows x cols.
    draw
        ``draw(n, rows, cols)`` makes the next ``n`` null draws and returns, for the tests ``rows x cols`` (index
        arrays), whether each draw is at least the observed score (``hits``) and whether it counts as a draw for that
        test (``valid``; ``None``: every draw counts), both booleans ``len(rows) x len(cols) x n``. Draws are
        consumed in order, the same for every test.
    n_first
        Draws made for every test.
    n_max
        Most draws for any test.
    h
        Exceedances at which a test stops.
    max_elements
        Largest ``rows x cols x n`` block asked of ``draw`` at once (memory).
    """
    n_rows, n_cols = shape
    exceed = np.zeros(shape, dtype=np.int64)
    counted = np.zeros(shape, dtype=np.int64)
    stop_at = np.zeros(shape, dtype=np.int64)  # valid draws counted when the h-th exceedance came; 0: not yet
    n_max = max(int(n_max), int(n_first))
    made, batch = 0, int(n_first)
    while made < n_max:
        open_ = stop_at == 0
        rows = np.flatnonzero(open_.any(axis=1))
        cols = np.flatnonzero(open_.any(axis=0))
        if made >= n_first and not len(rows):
            break
        if made < n_first:
            rows, cols = np.arange(n_rows), np.arange(n_cols)
        b = min(batch, n_max - made)
        step = max(1, max_elements // max(1, len(rows) * len(cols)))
        for start in range(0, b, step):
            m = min(step, b - start)
            hits, valid = draw(m, rows, cols)
            if valid is not None:
                hits = hits & valid
                cum_valid = counted[np.ix_(rows, cols)][:, :, None] + np.cumsum(valid, axis=2)
            else:
                cum_valid = counted[np.ix_(rows, cols)][:, :, None] + np.arange(1, m + 1)[None, None, :]
            cum_hits = exceed[np.ix_(rows, cols)][:, :, None] + np.cumsum(hits, axis=2)
            sub_stop = stop_at[np.ix_(rows, cols)]
            reach = cum_hits >= h
            newly = (sub_stop == 0) & reach.any(axis=2)
            first = reach.argmax(axis=2)
            sub_stop[newly] = np.take_along_axis(cum_valid, first[:, :, None], axis=2)[:, :, 0][newly]
            stop_at[np.ix_(rows, cols)] = sub_stop
            exceed[np.ix_(rows, cols)] = cum_hits[:, :, -1]
            counted[np.ix_(rows, cols)] = cum_valid[:, :, -1]
        made += b
        batch = 2 * batch  # doubling: the draws a test needs grow as its p-value shrinks
    resolved = stop_at > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        pval = np.where(resolved, h / np.maximum(stop_at, 1), (1 + np.minimum(exceed, h)) / (1 + counted))
    n_draws = np.where(resolved, stop_at, counted)
    return SequentialPvalues(np.minimum(pval, 1.0), n_draws, resolved, np.minimum(exceed, h))
