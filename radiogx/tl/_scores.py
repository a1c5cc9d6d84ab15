"""Scores of many prediction vectors at once (rows = gene sets, columns = patients), vectorised over rows."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

__all__ = ["rows_auc", "rows_average_precision", "rows_loglik", "benjamini_hochberg"]

_EPS = 1e-12


def rows_auc(scores: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """ROC-AUC of each row against the boolean labels (Mann-Whitney with average ranks: ties count one half)."""
    n1 = int(positive.sum())
    n0 = positive.size - n1
    ranks = rankdata(scores, axis=1)
    return (ranks[:, positive].sum(axis=1) - n1 * (n1 + 1) / 2) / (n1 * n0)


def rows_average_precision(scores: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """Average precision of each row (scikit-learn's definition: precision at each distinct threshold, weighted by
    the recall gained there, so that tied scores form one step)."""
    order = np.argsort(-scores, axis=1, kind="stable")
    s = np.take_along_axis(scores, order, axis=1)
    hits = positive[order].astype(float)
    tp = np.cumsum(hits, axis=1)
    count = np.arange(1, scores.shape[1] + 1)
    group_end = np.ones_like(s, dtype=bool)
    group_end[:, :-1] = s[:, :-1] != s[:, 1:]
    recall = tp / positive.sum()
    at_ends = np.where(group_end, recall, 0.0)
    previous = np.zeros_like(recall)
    previous[:, 1:] = np.maximum.accumulate(at_ends, axis=1)[:, :-1]
    gained = np.where(group_end, recall - previous, 0.0)
    return np.sum(gained * tp / count, axis=1)


def rows_loglik(prob: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """Mean log-likelihood of the observed (one-vs-rest) labels under each row's probabilities."""
    p = np.clip(prob, _EPS, 1 - _EPS)
    return np.mean(np.where(positive, np.log(p), np.log1p(-p)), axis=1)


def benjamini_hochberg(pvals: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (NaN kept as NaN)."""
    p = np.asarray(pvals, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    n = len(q)
    if n == 0:
        return out
    order = np.argsort(q)
    ranked = q[order] * n / np.arange(1, n + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    res = np.empty(n)
    res[order] = np.minimum(adjusted, 1.0)
    out[ok] = res
    return out
