"""Pre-ranked GSEA for many rankings at once (radiogx's per-patient engine; gseapy stays the reference).

For a ranking sorted in decreasing order, the weighted Kolmogorov-Smirnov running sum of Subramanian et al. 2005
(weight p = 1) reaches its extremes at the set's genes: just after hit i it is ``cw_i - misses_i / (N - k)`` and
just before it ``cw_{i-1} - misses_i / (N - k)``, where ``cw`` is the cumulative share of the set's weights and
``misses_i`` the genes outside the set ranked above hit i. So one enrichment score costs O(k), not O(N). The null
draws random gene positions once per set size and shares them across all rankings (patients); each ranking applies
its own weights to them, as gene-set permutation does for one ranking.
"""

from __future__ import annotations

import numpy as np

from ._random_sets import random_subsets
from ._sequential_null import sequential_pvalues

__all__ = ["enrichment_scores", "null_scores", "GseaResult", "prerank_many"]


def enrichment_scores(weights_sorted: np.ndarray, positions: np.ndarray, n_genes: int, *, one_sided: bool,
                      return_peak: bool = False):
    """Enrichment scores of gene sets given by their sorted rank positions.

    Parameters
    ----------
    weights_sorted
        ``|value|^p`` of each ranking in rank order, rankings x genes (or a vector).
    positions
        Sorted rank positions of each set's genes, ``... x k`` (broadcast against the rankings).
    n_genes
        Genes in the ranking.
    one_sided
        Keep only the positive deviation (rankings with no negative value).

    Returns
    -------
    ES with the broadcast shape of ``positions`` without its last axis (and, with ``return_peak``, the index in
    ``positions`` of the hit at the peak: for a positive ES the last leading-edge gene, the leading edge being the hits
    up to it; for a negative ES the first, the leading edge being the hits from it to the bottom of the ranking).
    """
    k = positions.shape[-1]
    w = np.take_along_axis(weights_sorted, positions, axis=-1) if weights_sorted.ndim == positions.ndim else weights_sorted[..., positions]
    total = w.sum(axis=-1, keepdims=True)
    cw = np.cumsum(w, axis=-1) / np.where(total > 0, total, 1)
    misses = ((positions - np.arange(k)) / (n_genes - k)).astype(w.dtype)
    after = cw - misses
    before = cw - w / np.where(total > 0, total, 1) - misses
    top = after.max(axis=-1)
    if one_sided:
        es = top
        negative = np.zeros(top.shape, dtype=bool)
    else:
        bottom = before.min(axis=-1)
        negative = np.abs(top) < np.abs(bottom)
        es = np.where(negative, bottom, top)
    if return_peak:
        # the running sum's minimum comes just before a hit: that hit opens the leading edge of a negative ES
        return es, np.where(negative, before.argmin(axis=-1), after.argmax(axis=-1))
    return es


def null_scores(weights_sorted: np.ndarray, positions: np.ndarray, n_genes: int, *, one_sided: bool) -> np.ndarray:
    """:func:`enrichment_scores` of rankings (rows x genes) x random sets (draws x k positions): rows x draws.

    The same arithmetic, in place on one rows x draws x k buffer (no temporaries): the null is most of the engine's
    work, and memory traffic is its cost.
    """
    k = positions.shape[-1]
    w = weights_sorted[:, positions]  # rows x draws x k
    inv = 1.0 / np.maximum(w.sum(axis=-1, keepdims=True), np.finfo(w.dtype).tiny)
    misses = ((positions - np.arange(k)) / (n_genes - k)).astype(w.dtype)[None]
    w *= inv  # each hit's share of the set's weight
    run = np.cumsum(w, axis=-1)
    run -= misses  # the running sum just after each hit
    top = run.max(axis=-1)
    if one_sided:
        return top
    run -= w  # ... and just before it
    bottom = run.min(axis=-1)
    return np.where(np.abs(top) < np.abs(bottom), bottom, top)


class GseaResult:
    """ES, NES, p-values, the leading-edge peak, the null draws each p-value used and whether it was resolved (else
    it is an upper bound at the resolution of the draws), rankings x sets."""

    def __init__(self, es, nes, pval, peak, n_draws=None, resolved=None):
        self.es, self.nes, self.pval, self.peak = es, nes, pval, peak
        self.n_draws, self.resolved = n_draws, resolved


def prerank_many(values: np.ndarray, sets: list[np.ndarray], *, n_perm: int = 1000, max_perm: int | None = None,
                 weight: float = 1.0, seed: int = 0, one_sided: bool | None = None,
                 max_elements: int = 2**26) -> GseaResult:
    """Pre-ranked GSEA of each row of ``values`` (rankings x genes) against gene sets (column index arrays).

    P-values follow GSEA's gene-set permutation: for a positive ES, the chance that a random set of the same size
    with a non-negative score scores at least as high (negative ES: mirrored); NES divides ES by the mean null score
    of the same sign over the first ``n_perm`` draws. The random sets of one size are one stream shared by every
    ranking and set of that size; the p-values are Besag & Clifford's sequential Monte Carlo p-values
    (:mod:`radiogx.tl._sequential_null`): ``n_perm`` draws for every test, more only for tests with fewer than 10
    null scores as extreme, up to ``max_perm`` (default ``max(n_perm, 160 * sets)``: about ``80 * sets`` draws of the
    score's sign, so that the smallest reachable p-value is a quarter of what BH over a ranking's sets needs for 0.05). ``one_sided`` (default: when no value is negative) tests the positive tail only.
    """
    values = np.asarray(values, dtype=np.float64)
    n_rank, n_genes = values.shape
    if one_sided is None:
        one_sided = bool((values >= 0).all())
    order = np.argsort(-values, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(n_genes)[None, :].repeat(n_rank, 0), axis=1)
    # float32 for the weights: cumulative sums of at most a few thousand terms, and half the memory traffic of the null
    weights_sorted = (np.abs(np.take_along_axis(values, order, axis=1)) ** weight).astype(np.float32)
    n_sets = len(sets)
    es = np.empty((n_rank, n_sets), dtype=np.float64)
    peak = np.empty((n_rank, n_sets), dtype=np.int64)
    for j, idx in enumerate(sets):
        pos = np.sort(ranks[:, idx], axis=1)
        es[:, j], peak[:, j] = enrichment_scores(weights_sorted, pos, n_genes, one_sided=one_sided, return_peak=True)
    nes = np.full_like(es, np.nan)
    pval = np.full_like(es, np.nan)
    n_draws = np.zeros_like(es, dtype=np.int64)
    resolved = np.zeros_like(es, dtype=bool)
    max_perm = max(n_perm, 160 * n_sets) if max_perm is None else int(max_perm)
    sizes = np.array([len(s) for s in sets])
    for k in np.unique(sizes):
        cols = np.flatnonzero(sizes == k)
        obs = es[:, cols]  # rankings x sets of this size
        positive = obs >= 0
        rng = np.random.default_rng([seed, int(k)])
        head = {"sum_pos": np.zeros(n_rank), "n_pos": np.zeros(n_rank), "sum_neg": np.zeros(n_rank),
                "n_neg": np.zeros(n_rank), "seen": 0}

        def draw(n, rows, sub, k=int(k), obs=obs, positive=positive, rng=rng, head=head):
            null_pos = np.sort(random_subsets(rng, n_genes, k, n), axis=1)
            step = max(1, max_elements // (n * k))
            null = np.concatenate([null_scores(weights_sorted[rows[r0:r0 + step]], null_pos, n_genes, one_sided=one_sided)
                                   for r0 in range(0, len(rows), step)])  # rows x n
            if head["seen"] < n_perm and len(rows) == n_rank:
                first = null[:, : n_perm - head["seen"]]
                head["sum_pos"] += np.where(first >= 0, first, 0).sum(axis=1)
                head["n_pos"] += (first >= 0).sum(axis=1)
                head["sum_neg"] += np.where(first < 0, first, 0).sum(axis=1)
                head["n_neg"] += (first < 0).sum(axis=1)
                head["seen"] += first.shape[1]
            o = obs[np.ix_(rows, sub)][:, :, None]
            pos = positive[np.ix_(rows, sub)][:, :, None]
            nul = null[:, None, :]
            hits = np.where(pos, nul >= o, nul <= o)
            valid = np.where(pos, nul >= 0, nul < 0)
            return hits, valid

        res = sequential_pvalues((n_rank, len(cols)), draw, n_first=n_perm, n_max=max_perm, max_elements=max_elements)
        pval[:, cols], n_draws[:, cols], resolved[:, cols] = res.pval, res.n_draws, res.resolved
        with np.errstate(invalid="ignore", divide="ignore"):  # no null score of a sign: NES is undefined (NaN)
            mean_pos = (head["sum_pos"] / head["n_pos"])[:, None]
            mean_neg = (head["sum_neg"] / head["n_neg"])[:, None]
            nes[:, cols] = np.where(positive, obs / mean_pos, -obs / mean_neg)
    return GseaResult(es, nes, np.minimum(pval, 1.0), peak, n_draws, resolved)
