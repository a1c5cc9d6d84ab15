"""The metrics and multiple-testing helpers of every tool, reader and plot, with no torch: scores of one prediction
(ROC-AUC, average precision, R^2), of many prediction vectors at once (rows = gene sets, columns = patients,
vectorised over rows), and Benjamini-Hochberg adjustment."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata, spearmanr
from sklearn.metrics import average_precision_score, r2_score

__all__ = ["score_auc", "score_pr_auc", "regression_scores", "rows_auc", "rows_average_precision", "rows_loglik", "benjamini_hochberg"]

_EPS = 1e-12


def score_auc(y: np.ndarray, scores: np.ndarray, n_classes: int) -> float:
    """ROC-AUC of ranking scores: binary (one column), or the macro mean of one-vs-rest AUCs over the classes present
    (scikit-learn's ``multi_class="ovr", average="macro"``, the same values). NaN with a single class.

    The Mann-Whitney statistic of :func:`rows_auc`, the columns ranked in one call: scikit-learn's input checks cost
    30 ms per multiclass call, three quarters of a small network's training, which scores its validation patients
    after every epoch (``benchmarks/small_network_training.py``)."""
    scores, y = np.asarray(scores, dtype=np.float64), np.asarray(y)
    present = np.unique(y)
    if len(present) < 2:
        return float("nan")
    if not np.isfinite(scores).all():
        raise ValueError("ROC-AUC of scores with NaN or infinite values")
    ranks = rankdata(scores.reshape(len(y), -1), axis=0).T  # columns x patients
    if n_classes == 2:
        return float(_auc_of_ranks(ranks[0], y == present[-1]))
    return float(np.mean([_auc_of_ranks(ranks[k], y == k) for k in present]))


def score_pr_auc(y: np.ndarray, scores: np.ndarray, n_classes: int) -> float:
    """Average precision of ranking scores: binary, or the macro mean over the classes present, one-vs-rest."""
    scores = np.asarray(scores)
    if n_classes == 2:
        return float(average_precision_score(y, scores.ravel()))
    return float(np.mean([average_precision_score(y == k, scores[:, k]) for k in np.unique(y)]))


def regression_scores(y: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """R^2 (``1 - SSE / SST`` around the mean of ``y``, scikit-learn's ``r2_score``; negative when the prediction is
    worse than that mean), Spearman's rank correlation and the RMSE of predictions of a continuous trait."""
    y, predicted = np.asarray(y, dtype=np.float64), np.asarray(predicted, dtype=np.float64).ravel()
    if len(y) < 2 or np.ptp(y) == 0:
        return {"r2": float("nan"), "spearman": float("nan"), "rmse": float(np.sqrt(np.mean((y - predicted) ** 2)))}
    rho = spearmanr(y, predicted).statistic if np.ptp(predicted) > 0 else float("nan")
    return {"r2": float(r2_score(y, predicted)), "spearman": float(rho),
            "rmse": float(np.sqrt(np.mean((y - predicted) ** 2)))}


def rows_auc(scores: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """ROC-AUC of each row against the boolean labels (Mann-Whitney with average ranks: ties count one half)."""
    return _auc_of_ranks(rankdata(scores, axis=1), positive)


def _auc_of_ranks(ranks: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """ROC-AUC from average ranks over the last axis: the positives' rank sum, less its least value, over the pairs."""
    n1 = int(positive.sum())
    n0 = positive.size - n1
    return (ranks[..., positive].sum(axis=-1) - n1 * (n1 + 1) / 2) / (n1 * n0)


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
