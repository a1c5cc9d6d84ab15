"""The statistics of attribution stability: the cohort-level score of a gene, top-k selections, Nogueira's Phi with
its confidence interval, pairwise Jaccard and Kendall tau, and the sanity checks' overlap test. Plain numpy/scipy."""

from __future__ import annotations

import itertools

import numpy as np
from scipy import stats

__all__ = ["cohort_scores", "as_shares", "top_selection", "nogueira_phi", "pairwise_agreement", "overlap_pvalue", "SCORES"]

#: How a method's per-patient attributions become one score per gene (higher: more evidence for the target).
SCORES = {
    "contrast": "the mean signed attribution to the target among its patients minus among the others (a continuous "
                "trait: the slope of the attribution on the standardised trait)",
    "mean_abs": "the mean absolute attribution over the labelled patients",
}


def cohort_scores(attr: np.ndarray, y: np.ndarray, *, score: str, target_code: int | None) -> np.ndarray:
    """One score per gene from patients x genes attributions ``attr`` and their labels ``y``.

    ``"contrast"`` suits contributions (input x gradient, integrated gradients, DeepLift: signed, relative to the
    training mean): a gene whose attributions push the target's own patients towards it, and not the others, scores
    high; a gene whose attribution merely varies, with either sign, scores near 0, so that the random part of a
    network's weights on uninformative genes (which gives them large absolute attributions) does not reach the top.
    ``target_code``: the integer label of the target class; ``None``: ``y`` holds a continuous trait's values.
    ``"mean_abs"``: the paper's cohort-level saliency (the magnitude of a gradient carries no direction)."""
    attr = np.asarray(attr, dtype=np.float64)
    if score == "mean_abs":
        return np.abs(attr).mean(axis=0)
    if score != "contrast":
        raise ValueError(f"score must be one of {sorted(SCORES)}, got {score!r}")
    if target_code is None:
        z = np.asarray(y, dtype=np.float64)
        sd = z.std()
        z = (z - z.mean()) / (sd if sd > 0 else 1.0)
        return (attr * z[:, None]).mean(axis=0)
    inside = np.asarray(y) == target_code
    if inside.all() or not inside.any():
        raise ValueError("the class contrast needs patients of the target class and of the others")
    return attr[inside].mean(axis=0) - attr[~inside].mean(axis=0)


def as_shares(scores: np.ndarray) -> np.ndarray:
    """Each row of scores divided by the sum of its positive entries: a gene's share of the evidence for the target.

    The scale of a network's logit (set by the epoch early stopping kept, and the temperature of its softmax) is not a
    property of any gene; without it, the relative SD of a top gene's score over five retrainings of the Verhaak
    subtype network fell from 0.21-0.23 to 0.18-0.22 (median per subtype, ``benchmarks/attribution_quality.py``)."""
    scores = np.asarray(scores, dtype=np.float64)
    total = np.clip(scores, 0, None).sum(axis=-1, keepdims=True)
    return scores / np.where(total > 0, total, 1.0)


def top_selection(scores: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of the ``k`` highest positive scores (fewer where fewer genes score above 0: a gene with no
    evidence for the target is never selected to fill the list); ties broken by gene order."""
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind="stable")[:k]
    keep = order[scores[order] > 0]
    mask = np.zeros(len(scores), dtype=bool)
    mask[keep] = True
    return mask


def _phi(z: np.ndarray) -> float:
    """Nogueira's Phi of ``z`` (repeats x features, True where selected); NaN when every repeat selects nothing or
    everything."""
    m, d = z.shape
    p = z.mean(axis=0)
    kbar = p.sum()
    denom = (kbar / d) * (1 - kbar / d)
    if denom <= 0:
        return float("nan")
    return float(1 - (m / (m - 1)) * np.mean(p * (1 - p)) / denom)


def nogueira_phi(z: np.ndarray, ci: float = 0.95) -> tuple[float, float, float]:
    """Nogueira's stability of feature selection (Nogueira, Sechidis & Brown, JMLR 2018, Definition 4) with a ``ci``
    confidence interval, from ``z``: repeats x features, True where selected.

    1: every repeat selects the same features; 0: no more agreement than random selections of the same sizes. The
    interval covers the stability of the procedure (the expected Phi of repeats on these data), not of another
    cohort's. It is the leave-one-repeat-out jackknife with a t quantile on repeats - 1 degrees of freedom (at least 3
    repeats): at the few repeats a network affords, the paper's asymptotic normal interval (its Theorem 9) covered
    42-82% at 3-10 repeats in our simulations (top 100 of 840 genes), the jackknife 94-97%
    (``tests/test_stability.py``)."""
    z = np.asarray(z, dtype=bool)
    m = len(z)
    if m < 2:
        raise ValueError("Phi needs at least 2 repeats")
    phi = _phi(z)
    if m < 3 or np.isnan(phi):
        return phi, float("nan"), float("nan")
    loo = np.array([_phi(np.delete(z, i, axis=0)) for i in range(m)])
    half = stats.t.ppf(0.5 + ci / 2, m - 1) * np.sqrt((m - 1) / m * np.sum((loo - loo.mean()) ** 2))
    return phi, float(max(phi - half, -1.0)), float(min(phi + half, 1.0))  # Phi lies in [-1, 1]


def pairwise_agreement(selections: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """Mean over pairs of repeats of the top-k Jaccard index and of Kendall's tau-b between their scores on the
    union of the two top-k lists (``selections``, ``scores``: repeats x genes)."""
    jac, tau = [], []
    for a, b in itertools.combinations(range(len(selections)), 2):
        union = selections[a] | selections[b]
        if not union.any():
            continue
        jac.append((selections[a] & selections[b]).sum() / union.sum())
        if union.sum() > 1:
            tau.append(stats.kendalltau(scores[a][union], scores[b][union]).statistic)
    return (float(np.mean(jac)) if jac else float("nan"), float(np.nanmean(tau)) if tau else float("nan"))


def overlap_pvalue(a: np.ndarray, b: np.ndarray) -> tuple[int, float]:
    """Overlap of two selections of the same genes and its hypergeometric p: P(overlap >= observed) when ``b`` is a
    random selection of its size."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    overlap = int((a & b).sum())
    return overlap, float(stats.hypergeom.sf(overlap - 1, len(a), int(a.sum()), int(b.sum())))
