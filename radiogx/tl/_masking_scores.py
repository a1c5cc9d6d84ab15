"""Scores of masked predictions against a trait, observed and under permuted labels (the arithmetic of
``rg.tl.gene_masking`` and its nulls)."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from .._metrics import _EPS, rows_auc, rows_average_precision, rows_loglik

__all__ = ["SCORES", "score_masked", "score_permuted", "is_values", "gaussian_scores"]

#: Scores of a masked prediction: log-likelihood, ROC-AUC and PR-AUC of classes, R^2 of a continuous trait.
SCORES = ("loglik", "auc", "pr_auc", "r2")


def is_values(y: np.ndarray) -> bool:
    """Whether ``y`` holds a continuous trait's values (float) rather than class codes (int)."""
    return np.issubdtype(y.dtype, np.floating)


def gaussian_scores(sse: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """R^2 and the mean Gaussian log-likelihood (residual variance at its maximum-likelihood value, SSE / n) of
    predictions with squared-error sums ``sse`` against the values ``y``; both decrease with the SSE."""
    n = len(y)
    sst = float(np.sum((y - y.mean()) ** 2))
    mse = np.maximum(sse / n, _EPS)
    return {"r2": 1 - sse / sst, "loglik": -0.5 * (np.log(2 * np.pi * mse) + 1)}


def score_masked(probs: np.ndarray, y: np.ndarray, targets: list[int], only: str | None = None) -> dict[str, np.ndarray]:
    """Each score of masked predictions (sets x patients x classes; a continuous trait: x 1) against the labels ``y``
    (class codes; a continuous trait: values), one-vs-rest per target class: targets x sets per score (NaN where a
    score does not apply). ``only``: compute that score alone (the others stay NaN)."""
    out = {s: np.full((len(targets), probs.shape[0]), np.nan) for s in SCORES}
    if is_values(y):  # sets x patients x 1 predicted values
        sse = np.sum((probs[:, :, 0] - y[None, :]) ** 2, axis=1)
        for name, value in gaussian_scores(sse, y).items():
            out[name][0] = value
        return out
    for t, k in enumerate(targets):
        positive = y == k
        p = probs[:, :, k]
        if only in (None, "auc"):
            out["auc"][t] = rows_auc(p, positive)
        if only in (None, "pr_auc"):
            out["pr_auc"][t] = rows_average_precision(p, positive)
        if only in (None, "loglik"):
            out["loglik"][t] = rows_loglik(p, positive)
    return out


def score_permuted(probs: np.ndarray, labels: np.ndarray, k: int, score: str) -> np.ndarray:
    """``score`` of each set's fixed predictions (sets x patients x classes) against each row of permuted labels
    (permutations x patients), target class ``k``: sets x permutations. AUC and log-likelihood as matrix products
    (a continuous trait: permuted values against predicted values, R^2 and Gaussian log-likelihood through the SSE)."""
    if is_values(labels):
        p = probs[:, :, 0]
        sse = (np.sum(labels[0] ** 2) - 2 * p @ labels.T) + np.sum(p ** 2, axis=1)[:, None]  # sets x permutations
        return gaussian_scores(sse, labels[0])[score]
    positive = (labels == k).astype(np.float64)  # permutations x patients
    p = probs[:, :, k]
    if score == "loglik":
        lp, lq = np.log(np.clip(p, _EPS, 1 - _EPS)), np.log1p(-np.clip(p, _EPS, 1 - _EPS))
        return (lq.sum(axis=1)[:, None] + (lp - lq) @ positive.T) / p.shape[1]
    if score == "auc":
        n1 = positive[0].sum()
        n0 = p.shape[1] - n1
        return (rankdata(p, axis=1) @ positive.T - n1 * (n1 + 1) / 2) / (n1 * n0)
    return np.stack([rows_average_precision(p, row.astype(bool)) for row in positive], axis=1)
