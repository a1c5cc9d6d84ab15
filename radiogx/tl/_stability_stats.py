"""The statistics of attribution stability: the cohort-level score of a gene, top-k selections, Nogueira's Phi with
its confidence interval, pairwise Jaccard and Kendall tau, and the sanity checks' overlap test (under permuted labels,
which keeps the genes' correlation). Plain numpy/scipy."""

from __future__ import annotations

import itertools

import numpy as np
from scipy import stats

__all__ = ["cohort_scores", "as_shares", "top_selection", "nogueira_phi", "pairwise_agreement", "overlap_pvalue",
           "permuted_label_overlaps", "SCORES"]

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


def permuted_label_overlaps(x: np.ndarray, y: np.ndarray, reference: np.ndarray, *, score: str,
                            target_code: int | None, k: int, n_permutations: int = 999,
                            seed: int = 0) -> np.ndarray:
    """The null distribution of a top-k list's overlap with ``reference`` when the labels carry no information and the
    genes keep their correlation: over ``n_permutations`` permutations of the labels ``y``, the overlap of
    ``reference`` with the top ``k`` genes by their own score on the permuted labels.

    A gene's own score is :func:`cohort_scores` of its expression (``x``: patients x genes, standardised here over
    the patients), a class contrast or a slope, or its absolute value for ``score="mean_abs"``: the plainest ranking
    of genes by their association with labels. Permuting the patients' labels keeps every gene's values and their
    correlation, so a co-expressed module enters a random top list together, as it does in the top list of a
    network trained on permuted labels (the phenotype-permutation null of gene-set tests: Subramanian et al., PNAS
    2005; Efron & Tibshirani, Ann Appl Stat 2007). The hypergeometric null instead assumes independent genes: on the
    Verhaak subtypes the class contrast of permuted labels overlaps a subtype's own 129-216-gene signature at
    hypergeometric p <= 0.01 in 26-35% of permutations (``benchmarks/attribution_quality.py``)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    reference = np.asarray(reference, dtype=bool)
    if x.shape != (len(y), len(reference)):
        raise ValueError(f"x must be patients x genes ({len(y)} x {len(reference)}), got {x.shape}")
    if score not in SCORES:
        raise ValueError(f"score must be one of {sorted(SCORES)}, got {score!r}")
    sd = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(sd > 0, sd, np.inf)  # a constant gene scores 0: never selected
    if target_code is None:
        z = y.astype(np.float64)
        z = (z - z.mean()) / (z.std() if z.std() > 0 else 1.0)
        weights = z / len(z)  # the slope on the standardised trait
    else:
        inside = y == target_code
        if inside.all() or not inside.any():
            raise ValueError("the class contrast needs patients of the target class and of the others")
        weights = np.where(inside, 1.0 / inside.sum(), -1.0 / (~inside).sum())
    k = int(min(k, x.shape[1]))
    rng = np.random.default_rng(seed)
    out = np.empty(n_permutations, dtype=np.int64)
    for start in range(0, n_permutations, 256):
        w = np.stack([weights[rng.permutation(len(weights))] for _ in range(min(256, n_permutations - start))])
        scores = w @ x
        if score == "mean_abs":
            scores = np.abs(scores)
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        chosen = np.take_along_axis(scores, top, axis=1) > 0  # as top_selection: no gene without evidence
        out[start:start + len(w)] = (reference[top] & chosen).sum(axis=1)
    return out


def overlap_pvalue(a: np.ndarray, b: np.ndarray, null: np.ndarray) -> tuple[int, float]:
    """Overlap of two selections of the same genes and its permutation p, ``(1 + #{null >= overlap}) / (1 +
    len(null))`` from null overlaps of ``a`` (:func:`permuted_label_overlaps`): a valid p-value, never 0, whose
    smallest value is ``1 / (1 + len(null))``."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    overlap = int((a & b).sum())
    null = np.asarray(null)
    return overlap, float((1 + np.sum(null >= overlap)) / (1 + len(null)))
