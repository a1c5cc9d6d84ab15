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

__all__ = ["enrichment_scores", "GseaResult", "prerank_many"]


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
    ``positions`` of the hit at the peak, the last leading-edge gene for a positive ES).
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
    else:
        bottom = before.min(axis=-1)
        es = np.where(np.abs(top) >= np.abs(bottom), top, bottom)
    if return_peak:
        return es, after.argmax(axis=-1)
    return es


class GseaResult:
    """ES, NES, p-values and the leading-edge size of rankings x sets."""

    def __init__(self, es, nes, pval, peak):
        self.es, self.nes, self.pval, self.peak = es, nes, pval, peak


def prerank_many(values: np.ndarray, sets: list[np.ndarray], *, n_perm: int = 1000, weight: float = 1.0,
                 seed: int = 0, one_sided: bool | None = None, max_elements: int = 2**26) -> GseaResult:
    """Pre-ranked GSEA of each row of ``values`` (rankings x genes) against gene sets (column index arrays).

    P-values follow GSEA's gene-set permutation: for a positive ES, the share of the null's non-negative scores that
    are at least as large, ``(1 + #) / (1 + #null >= 0)`` (negative ES: mirrored); NES divides ES by the mean null
    score of the same sign. ``one_sided`` (default: when no value is negative) tests the positive tail only.
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
    rng = np.random.default_rng(seed)
    sizes = np.array([len(s) for s in sets])
    for k in np.unique(sizes):
        null_pos = np.sort(np.stack([rng.choice(n_genes, size=k, replace=False) for _ in range(n_perm)]), axis=1)
        cols = np.flatnonzero(sizes == k)
        step = max(1, max_elements // (n_perm * k))
        for r0 in range(0, n_rank, step):
            rows = slice(r0, r0 + step)
            null = enrichment_scores(weights_sorted[rows, None, :], null_pos[None, :, :], n_genes, one_sided=one_sided)
            obs = es[rows][:, cols]  # rankings x sets of this size
            n_pos = np.sum(null >= 0, axis=1)[:, None]
            n_neg = np.sum(null < 0, axis=1)[:, None]
            ge = (null[:, None, :] >= obs[:, :, None]).sum(axis=2)
            le = (null[:, None, :] <= obs[:, :, None]).sum(axis=2)
            with np.errstate(invalid="ignore", divide="ignore"):  # no null score of a sign: NES is undefined (NaN)
                mean_pos = np.where(null >= 0, null, 0).sum(axis=1)[:, None] / n_pos
                mean_neg = np.where(null < 0, null, 0).sum(axis=1)[:, None] / n_neg
            positive = obs >= 0
            pval[rows, cols] = np.where(positive, (1 + ge) / (1 + n_pos), (1 + le) / (1 + n_neg))
            nes[rows, cols] = np.where(positive, obs / mean_pos, -obs / mean_neg)
    return GseaResult(es, nes, np.minimum(pval, 1.0), peak)
